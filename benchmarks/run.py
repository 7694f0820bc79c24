"""Speed figures for the course, measured on the machine this runs on.

    python benchmarks/run.py            # everything (about two minutes)
    python benchmarks/run.py --quick    # skip the full test command

Prints, as tables:

1. widget latency: from a changed control to a new PNG in the live image, in the
   kernel (the playground: one optimizer, then six racing, 200 steps each);
2. the execution time of every notebook (fresh kernel, top to bottom) and of the
   README's test command;
3. Adam step throughput on 1e6 float64 parameters: lessons_lib's Adam (pure, new
   arrays each step) vs a plain-numpy in-place reference, and torch.optim.Adam
   if torch is installed.

These are figures, not tests: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


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
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        started = time.perf_counter()
        execute(path, timeout=300)
        results.append((path.name, time.perf_counter() - started))
    return results


def test_command_time() -> float:
    """Seconds for the README's test command, ``python -m pytest``, run from the repository."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


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
    parser.add_argument("--quick", action="store_true", help="skip the full test command")
    args = parser.parse_args()

    import platform

    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; python {platform.python_version()}; "
          f"numpy {np.__version__}")

    print("\n1. Widget latency, control change -> new image in the kernel (30 changes, 200 steps)")
    for racers in (1, 6):
        median, p90 = widget_latency(racers)
        print(f"   {racers} optimizer{'s' if racers > 1 else ''} racing: median {median:5.1f} ms, 90th percentile {p90:5.1f} ms")

    print("\n2. Notebook execution time (fresh kernel, top to bottom, includes kernel start)")
    for name, seconds in notebook_times():
        print(f"   {name:<34} {seconds:5.1f} s")
    if not args.quick:
        print(f"   README test command (python -m pytest): {test_command_time():.0f} s")

    print("\n3. Adam steps per second on 1e6 float64 parameters (50 steps)")
    for name, rate in adam_throughput().items():
        print(f"   {name:<44} {rate:7.1f} steps/s" if rate == rate else f"   {name:<44} (torch not installed)")


if __name__ == "__main__":
    main()
