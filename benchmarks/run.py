"""Speed figures for the course, measured on the machine this runs on.

    python benchmarks/run.py              # everything, each test command once (about four minutes)
    python benchmarks/run.py --runs 3     # each test command three times: every time, median and spread
    python benchmarks/run.py --quick      # skip the test commands

Run it from the course's folder. Prints, as tables:

1. widget latency: from a changed control to a new PNG in the live image, in the
   kernel (the playground: one optimizer, then six racing, 200 steps each);
2. the execution time of every notebook (fresh kernel, top to bottom);
3. the README's two test commands, read from the README itself (between its
   ``quick test command`` and ``test command`` markers, as CI reads the latter):
   wall-clock seconds of each run, and the CPU seconds they used;
4. Adam step throughput on 1e6 float64 parameters: lessons_lib's Adam (pure, new
   arrays each step) vs a plain-numpy in-place reference, and torch.optim.Adam
   if torch is installed.

These are figures, not tests: nothing here passes or fails (a test command that
fails is reported as such, with its time).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

try:
    import resource  # CPU seconds of the test commands (POSIX only)
except ImportError:  # pragma: no cover - Windows
    resource = None

README = Path("README.md")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def widget_latency(racers: int, changes: int = 30) -> tuple[float, float]:
    """Median and 90th percentile (ms) from a learning-rate change to a new image, with ``racers`` racing."""
    from lessons_lib.figures.playground import Playground

    playground = Playground(surface="himmelblau", steps=200)
    for index, box in enumerate(playground.racing):
        box.value = index < racers
    slider = playground.knobs[0][0]  # SGD's learning rate: SGD always races
    values = np.geomspace(0.002, 0.02, changes)
    timings = []
    for value in values:
        before = playground.race.live.image.value
        started = time.perf_counter()
        slider.value = float(value)
        timings.append(1000 * (time.perf_counter() - started))
        assert playground.race.live.image.value is not before
    return statistics.median(timings), percentile(timings, 0.9)


def notebook_times() -> list[tuple[str, float]]:
    """Seconds to execute each notebook of notebooks/ in a fresh kernel (the files are not changed)."""
    from lessons_lib.tooling.notebooks import execute

    results = []
    for path in sorted(Path("notebooks").glob("*.ipynb")):
        started = time.perf_counter()
        execute(path, timeout=300)
        results.append((path.name, time.perf_counter() - started))
    return results


def readme_command(marker: str, readme: Path = README) -> str:
    """The one command line between ``<!-- {marker}: begin -->`` and ``<!-- {marker}: end -->`` in the README."""
    text = readme.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {re.escape(marker)}: begin -->(.*?)<!-- {re.escape(marker)}: end -->", text, re.DOTALL)
    if not found:
        raise SystemExit(f"{readme}: no '{marker}' markers")
    lines = [line.strip() for line in found.group(1).splitlines()
             if line.strip() and not line.strip().startswith(("```", "<!--"))]
    if len(lines) != 1:
        raise SystemExit(f"{readme}: expected one command line between the '{marker}' markers, got {lines}")
    return lines[0]


def time_command(command: str) -> tuple[float, float, bool]:
    """(wall-clock seconds, CPU seconds of it and its children, passed?) of one run of a shell-free command.

    ``python`` at its start is this interpreter; the output is thrown away.
    """
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    def children_cpu() -> float:
        if resource is None:
            return float("nan")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_before, started = children_cpu(), time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    return wall, cpu, result.returncode == 0


def test_command_times(runs: int) -> list[tuple[str, str, list[tuple[float, float, bool]]]]:
    """(name, command, [(wall, cpu, passed) per run]) for the README's quick and full test commands."""
    results = []
    for name, marker in [("quick", "quick test command"), ("full", "test command")]:
        command = readme_command(marker)
        results.append((name, command, [time_command(command) for _ in range(runs)]))
    return results


def adam_throughput(size: int = 1_000_000, steps: int = 50) -> dict[str, float]:
    """Adam steps per second on ``size`` float64 parameters, three ways."""
    from lessons_lib.optim import Adam

    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(size)
    grads = [rng.standard_normal(size) for _ in range(4)]
    lr, beta1, beta2, eps = 1e-3, 0.9, 0.999, 1e-8
    results = {}

    rule = Adam(lr=lr)
    theta, state = theta0, rule.init(theta0)
    started = time.perf_counter()
    for t in range(steps):
        theta, state = rule.step(theta, grads[t % 4], state)
    results["lessons_lib Adam.step (checked, new arrays)"] = steps / (time.perf_counter() - started)

    theta, state = theta0, rule.init(theta0)
    started = time.perf_counter()
    for t in range(steps):
        theta, state = rule.update(theta, grads[t % 4], state)
    results["lessons_lib Adam.update (no checks)"] = steps / (time.perf_counter() - started)

    theta, m, v = theta0.copy(), np.zeros(size), np.zeros(size)
    scratch = np.empty(size)
    started = time.perf_counter()
    for t in range(1, steps + 1):
        g = grads[(t - 1) % 4]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch /= np.sqrt(1 - beta2**t)
        scratch += eps
        np.divide(m, scratch, out=scratch)
        theta -= lr / (1 - beta1**t) * scratch
    results["plain numpy, in place"] = steps / (time.perf_counter() - started)

    try:
        import torch
    except ImportError:
        results["torch.optim.Adam"] = float("nan")
    else:
        parameter = torch.nn.Parameter(torch.from_numpy(theta0.copy()))
        optimizer = torch.optim.Adam([parameter], lr=lr)
        torch_grads = [torch.from_numpy(g) for g in grads]
        started = time.perf_counter()
        for t in range(steps):
            parameter.grad = torch_grads[t % 4]
            optimizer.step()
        results["torch.optim.Adam"] = steps / (time.perf_counter() - started)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the test commands")
    parser.add_argument("--runs", type=int, default=1, help="runs of each test command (default 1; 3 for a spread)")
    args = parser.parse_args()
    if not README.is_file():
        parser.error(f"no {README} here: run this from the course's folder")

    import platform

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"python {platform.python_version()}; numpy {np.__version__}")

    print("\n1. Widget latency, control change -> new image in the kernel (30 changes, 200 steps)")
    for racers in (1, 6):
        median, p90 = widget_latency(racers)
        print(f"   {racers} optimizer{'s' if racers > 1 else ''} racing: "
              f"median {median:5.1f} ms, 90th percentile {p90:5.1f} ms")

    print("\n2. Notebook execution time (fresh kernel, top to bottom, includes kernel start)")
    for name, seconds in notebook_times():
        print(f"   {name:<34} {seconds:5.1f} s")

    if not args.quick:
        print(f"\n3. The README's test commands ({args.runs} run{'s' if args.runs > 1 else ''} each; "
              f"wall-clock seconds, and CPU seconds in all processes)")
        for name, command, runs in test_command_times(args.runs):
            walls = [wall for wall, _, _ in runs]
            each = ", ".join(f"{wall:.0f} s{'' if passed else ' (FAILED)'}" for wall, _, passed in runs)
            spread = (f"; median {statistics.median(walls):.0f} s, spread {min(walls):.0f}-{max(walls):.0f} s"
                      if len(runs) > 1 else "")
            cpu = statistics.median(cpu for _, cpu, _ in runs)
            print(f"   {name:<5} {command}\n         {each}{spread}; CPU {cpu:.0f} s")

    print("\n4. Adam steps per second on 1e6 float64 parameters (50 steps)")
    for name, rate in adam_throughput().items():
        print(f"   {name:<44} {rate:7.1f} steps/s" if rate == rate else f"   {name:<44} (torch not installed)")


if __name__ == "__main__":
    main()
