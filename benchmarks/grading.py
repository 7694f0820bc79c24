"""Benchmark the class grader: a synthetic class, graded with 1 worker and with 2, sandbox on.

    python benchmarks/grading.py                 # 100 students x 3 exercises (300 notebooks), two rounds
    python benchmarks/grading.py --students 20   # a quicker look

Each student hands in exercises 01, 04 and 07: a third the instructor's solutions (full marks), a
third the blank student notebooks (every function raises NotImplementedError), a third wrong work
from the test fixtures (ε inside RMSprop's root; a right 01 and 07 written otherwise). Every
notebook runs in its own process under bubblewrap (the first line says so when bwrap is missing).
The worker counts alternate for ``--repeats`` rounds and the best round of each counts (a round
can be slowed by other work on the machine). Prints notebooks per minute for each worker count
and the speed-up from 1 worker to 2; the grades must not depend on the worker count.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lessons_lib.tooling.grade import grade_class, load_exercises  # noqa: E402
from lessons_lib.tooling.sandbox import sandbox_status  # noqa: E402

EXERCISES = ["01_gradient_descent", "04_adagrad_rmsprop", "07_adamw"]
FIXTURES = REPO / "tests" / "fixtures" / "submissions"


def make_class(folder: Path, students: int) -> None:
    """``students`` folders of three notebooks each: right, blank or wrong, in turn."""
    wrong = {"01_gradient_descent": FIXTURES / "ada_correct" / "01_gradient_descent.ipynb",
             "04_adagrad_rmsprop": FIXTURES / "ben_partly_wrong" / "04_adagrad_rmsprop.ipynb",
             "07_adamw": FIXTURES / "ada_correct" / "07_adamw.ipynb"}
    for number in range(students):
        student = folder / f"student{number:03}"
        student.mkdir(parents=True)
        for exercise in EXERCISES:
            source = [REPO / "exercises" / "source" / f"{exercise}.ipynb", REPO / "exercises" / f"{exercise}.ipynb",
                      wrong[exercise]][number % 3]
            shutil.copy(source, student / f"{exercise}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts to time (default 1 2)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds, the worker counts alternating; the best round of each counts (default 2: "
                             "on a machine shared with other work, one round can be slowed by it)")
    args = parser.parse_args()
    exercises = {name: tests for name, tests in load_exercises(REPO / "exercises" / "source").items()
                 if name in EXERCISES}
    print(f"sandbox: {sandbox_status()}")
    best: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as root:
        make_class(Path(root) / "submissions", args.students)
        notebooks = args.students * len(EXERCISES)
        totals = None
        for round_number in range(1, args.repeats + 1):
            for jobs in args.jobs:
                start = time.perf_counter()
                grades, _ = grade_class(Path(root) / "submissions", exercises, timeout=30, jobs=jobs, progress=False)
                seconds = time.perf_counter() - start
                best[jobs] = min(best.get(jobs, seconds), seconds)
                scores = [sum(sum(result.points.values()) for result in grade.notebooks.values()) for grade in grades]
                assert totals is None or scores == totals, "the worker count changed a grade"
                totals = scores
                print(f"round {round_number}, {jobs} worker{'s' if jobs > 1 else ''}: {notebooks} notebooks in "
                      f"{seconds:.1f} s = {notebooks / seconds * 60:.0f} notebooks per minute", flush=True)
    for jobs, seconds in best.items():
        print(f"best of {args.repeats}, {jobs} worker{'s' if jobs > 1 else ''}: {notebooks / seconds * 60:.0f} "
              "notebooks per minute")
    if 1 in best and 2 in best:
        print(f"speed-up from 1 worker to 2: {best[1] / best[2]:.2f}x (target 1.7x)")


if __name__ == "__main__":
    main()
