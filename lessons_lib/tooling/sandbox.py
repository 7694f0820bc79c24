"""Run a student's notebook code in a sandbox, and bring back only data.

``run_student_code(cells, requests, timeout)`` starts ``grade_runner.py`` in a fresh process,
under bubblewrap (``bwrap``, Debian's ``bubblewrap`` package) when it is installed:

* the file system is read-only and shows only what Python needs: the system's ``/usr``,
  ``/lib*``, ``/bin``, a few files of ``/etc``, Python's own folders, and the course's
  ``lessons_lib`` package (at ``/opt/course/lessons_lib``) -- not the instructor's sources,
  not the submissions, not the gradebook, not the home folders;
* the only writable places are an empty work folder (``/home/student``, a temporary folder
  of the grader's, deleted afterwards) and an empty ``/tmp`` that vanishes with the process;
* no network (a new, empty network namespace), no other processes (a new PID namespace),
  a new session (no typing into the grader's terminal), and the process dies with the grader;
* a clean environment: no variable of the grader's (tokens, paths) is passed on.

Without bubblewrap the runner is an ordinary process of the grader's account, in a temporary
work folder: ``SANDBOX_MISSING`` says so, and the grader prints it in its summary and in
every row of the CSV. Verdicts are safe either way (they are reached in the grader's process);
what the sandbox adds is that student code cannot read or write anything else.

The runner reports on a pipe, one JSON line per event. A watchdog here stops the whole
process group when no line arrives for ``timeout`` + ``grace`` seconds (a loop that
swallows the runner's own timeout), and at most ``MAX_REPORT_BYTES`` are read.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import lessons_lib

RUNNER = Path(__file__).with_name("grade_runner.py")
PACKAGE = Path(lessons_lib.__file__).resolve().parent
SANDBOX_HOME, SANDBOX_COURSE = "/home/student", "/opt/course"

#: What the grader says, loudly, when it cannot sandbox.
SANDBOX_MISSING = ("NOT SANDBOXED: bubblewrap (bwrap) is not installed or cannot run here (it needs user "
                   "namespaces), so student code ran with the grader's permissions (it could read the hidden tests "
                   "and write files). Scores are still judged outside the student's process. Install it: "
                   "apt-get install bubblewrap")
SANDBOX_ON = "bubblewrap"

#: The most bytes read from one runner (a student's code can write on the report pipe too).
MAX_REPORT_BYTES = 20_000_000
MAX_LINE_BYTES = 5_000_000


def bwrap_path() -> str | None:
    """The bubblewrap executable if it is installed and works here, else None.

    ``LESSONS_NO_SANDBOX=1`` pretends it is missing (for tests).
    """
    if os.environ.get("LESSONS_NO_SANDBOX"):
        return None
    path = shutil.which("bwrap")
    return path if path and _works(path) else None


@functools.lru_cache(maxsize=None)
def _works(bwrap: str) -> bool:
    """Whether bubblewrap can make a sandbox here (a container may forbid the namespaces it needs)."""
    try:
        return subprocess.run([bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def sandbox_status() -> str:
    """``bubblewrap`` when student code will be sandboxed, else the loud warning."""
    return SANDBOX_ON if bwrap_path() else SANDBOX_MISSING


def _python_folders() -> list[str]:
    """The folders Python and its packages live in (read-only binds), outside /usr."""
    import numpy
    import IPython

    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parents[1])}
    folders |= {str(Path(module.__file__).resolve().parents[1]) for module in (numpy, IPython)}
    folders |= {path for path in sys.path if path and Path(path).is_dir() and "site-packages" in path}
    keep = sorted({folder for folder in folders if not folder.startswith(("/usr/", "/lib", "/bin"))})
    return [folder for folder in keep if not any(folder.startswith(other + "/") for other in keep)]


def _environment(home: str, course: str) -> dict[str, str]:
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp",
            "PYTHONPATH": course, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "IPYTHONDIR": f"{home}/.ipython",
            "MPLCONFIGDIR": f"{home}/.matplotlib", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8"}


def command(work: Path) -> tuple[list[str], dict[str, str] | None, str | None]:
    """(argv, environment, cwd) that runs the runner on ``work``, sandboxed if bubblewrap is there."""
    python = sys.executable  # not resolved: a virtual environment is known by its own bin/python
    bwrap = bwrap_path()
    if not bwrap:
        environment = _environment(str(work), str(PACKAGE.parent))
        return [python, "-P", str(RUNNER)], environment, str(work)
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for folder in ["/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"]:
        if Path(folder).exists():
            argv += ["--ro-bind", folder, folder] if not Path(folder).is_symlink() else \
                ["--symlink", os.readlink(folder), folder]
    for name in ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group",
                 "nsswitch.conf"]:
        if Path("/etc", name).exists():
            argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for folder in _python_folders():
        argv += ["--ro-bind", folder, folder]
    argv += ["--ro-bind", str(PACKAGE), f"{SANDBOX_COURSE}/lessons_lib",
             "--bind", str(work), SANDBOX_HOME, "--remount-ro", "/", "--chdir", SANDBOX_HOME]
    for key, value in _environment(SANDBOX_HOME, SANDBOX_COURSE).items():
        argv += ["--setenv", key, value]
    runner = f"{SANDBOX_COURSE}/lessons_lib/tooling/{RUNNER.name}"
    return argv + [python, "-P", runner], None, None


@dataclass
class RunReport:
    """What came back from one run: per-cell replies, harvested values per request, and problems."""

    cells: dict[int, dict] = field(default_factory=dict)
    values: dict[int, dict] = field(default_factory=dict)
    problem: str = ""  # the run as a whole: killed, ended early, could not start
    finished: bool = False


def _reader(stream, lines: "queue.Queue[bytes | None]") -> None:
    """Put each line of ``stream`` in ``lines`` (at most MAX_REPORT_BYTES in all); None at the end."""
    total = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES)
        if not line:
            break
        total += len(line)
        if total > MAX_REPORT_BYTES:
            lines.put(b"")  # a sign that the report was too long
            break
        if line.endswith(b"\n"):
            lines.put(line)
    lines.put(None)


def run_student_code(cells: list[str], requests: list[dict], timeout: int, grace: int = 10) -> RunReport:
    """Run ``cells`` then the ``requests`` in a fresh (sandboxed) runner; return what it reported."""
    report = RunReport()
    with tempfile.TemporaryDirectory(prefix="grade-") as work:
        argv, environment, cwd = command(Path(work))
        job = json.dumps({"cells": cells, "timeout": timeout, "requests": requests}) + "\n"
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                       env=environment, cwd=cwd, start_new_session=True)
        except OSError as error:
            report.problem = f"could not start the notebook's process: {error}"
            return report
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
        try:
            process.stdin.write(job.encode())
            process.stdin.close()
        except OSError:
            pass
        try:
            while True:
                try:
                    line = lines.get(timeout=timeout + grace)
                except queue.Empty:
                    report.problem = "the kernel stopped answering after a timeout; the rest was not run"
                    break
                if line is None:
                    report.problem = ("the notebook's process ended early (exit, os._exit or out of memory?); "
                                      "the rest was not run")
                    break
                if line == b"":
                    report.problem = "the notebook wrote too much on the grader's channel; the rest was not run"
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # a student's stray write on the channel
                if not isinstance(message, dict):
                    continue
                event = message.get("event")
                if event == "cell" and isinstance(message.get("cell"), int):
                    report.cells[message["cell"]] = message
                elif event == "values" and isinstance(message.get("request"), int):
                    report.values[message["request"]] = message.get("result")
                elif event == "done":
                    report.finished = True
                    break
        finally:
            _stop(process)
    return report


def _stop(process: subprocess.Popen) -> None:
    """End the runner and everything it started (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    if process.stdout:
        process.stdout.close()
