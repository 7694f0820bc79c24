"""Grade a class's exercise notebooks with one command, into one CSV gradebook.

For instructors::

    python -m lessons_lib.tooling.grade submissions/ --out grades.csv [--timeout 30] [--jobs 2]

``submissions/`` holds one folder per student, each with that student's exercise
notebooks (``submissions/ada/01_gradient_descent.ipynb``, ...). Every notebook is

1. matched to an exercise by its ``metadata.course_exercise`` (so a renamed file
   still grades), else by its file name (``01_gradient_descent*.ipynb``, or just ``01*``);
2. copied to a temporary folder and executed there, in a fresh kernel, top to bottom,
   each cell limited to ``--timeout`` seconds, errors allowed (the submission file is
   only ever read, and nothing is written into the submissions folder);
3. followed, in the same kernel, by the graded test cells of the instructor's source
   notebook (``--source``, by default ``exercises/source/`` in the current directory):
   a test scores its points if it runs without error, else 0, with the error's first
   line as the reason.

The gradebook has one row per student: the points of every test
(``01_gradient_descent:gd_step_trajectory``), a total per exercise, the total, the
maximum, and a short feedback text (failed tests with their reasons, cells that
raised or were stopped, notebooks missing or unreadable). A summary is printed.

Student code runs with your permissions: grade in an account or container that
holds nothing else of value.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook

from lessons_lib.tooling.student_notebooks import (EXERCISE_KEY, SOURCE_DIR, GradedTest, graded_tests,
                                                    is_graded_test, missing_folder, source_notebooks)
from lessons_lib.tooling.notebooks import cell_source

#: Longest reason kept for one failed test or cell, and for a student's whole feedback text.
REASON_CHARS, FEEDBACK_CHARS = 240, 2000

NOT_SUBMITTED = "no notebook submitted"

#: Seconds allowed (at most) to the one-line cell that checks the kernel still answers after a timeout.
PROBE_TIMEOUT = 10


@dataclass(frozen=True)
class NotebookGrade:
    """The result of one exercise for one student: points by grade id, and what went wrong.

    ``problems`` are (where, reason) pairs: where is a test ("gd_step_trajectory 0/3"),
    a cell ("code cell 4 (for lr in …)"), or empty for the notebook as a whole.
    """

    exercise: str
    points: dict[str, float]
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class StudentGrade:
    """A student's results: one NotebookGrade per exercise, plus notes about their files."""

    student: str
    notebooks: dict[str, NotebookGrade] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- which notebook is which exercise ------------------------------------------------------


def load_exercises(source_dir: Path = SOURCE_DIR) -> dict[str, list[GradedTest]]:
    """The graded tests of every source notebook, by exercise name (the file stem), in order.

    ``source_dir`` defaults to ``exercises/source`` in the current directory; FileNotFoundError
    with a clear message if it is not a folder.
    """
    exercises = {}
    for path in source_notebooks(source_dir):
        exercises[path.stem] = graded_tests(nbformat.read(path, as_version=4))
    return exercises


def _declared_exercise(path: Path) -> str | None:
    """The exercise named in a notebook's metadata, or None (also for a file that is not JSON)."""
    try:
        metadata = json.loads(path.read_bytes()).get("metadata", {})
        return str(metadata[EXERCISE_KEY])
    except (ValueError, AttributeError, KeyError, TypeError, OSError):
        return None


def match_exercise(path: Path, exercises: list[str]) -> tuple[str | None, int]:
    """(exercise, strength) of a submitted notebook; strength 3 = metadata, 2 = exact name, 1 = prefix, 0 = none."""
    declared = _declared_exercise(path)
    if declared in exercises:
        return declared, 3
    if path.stem in exercises:
        return path.stem, 2
    number = re.match(r"(\d+)", path.stem)
    for exercise in exercises:
        if path.stem.startswith(exercise) or (number and exercise.split("_")[0] == number.group(1)):
            return exercise, 1
    return None, 0


Submission = tuple[str, dict[str, Path], list[str]]  # (student, {exercise: notebook}, notes)


def find_submissions(folder: Path, exercises: list[str]) -> tuple[list[Submission], list[str]]:
    """For each student folder: (student, {exercise: notebook}, notes); and notes about the folder itself."""
    students, folder_notes = [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            folder_notes.append(f"ignored {entry.name}: not in a student folder")
            continue
        chosen: dict[str, tuple[Path, int]] = {}
        notes = []
        notebooks = [path for path in sorted(entry.rglob("*.ipynb"))  # not in .ipynb_checkpoints and the like
                     if not any(part.startswith(".") for part in path.relative_to(entry).parts)]
        for path in notebooks:
            name = path.relative_to(entry).as_posix()
            exercise, strength = match_exercise(path, exercises)
            if exercise is None:
                notes.append(f"{name}: matches no exercise (no {EXERCISE_KEY} in its metadata, and its name "
                             f"does not start like {exercises[0]}.ipynb); not graded")
            elif exercise in chosen:
                kept, kept_strength = chosen[exercise]
                if strength > kept_strength:
                    chosen[exercise] = (path, strength)
                ignored = kept if strength > kept_strength else path
                notes.append(f"{ignored.relative_to(entry).as_posix()}: a second notebook for {exercise}; ignored")
            else:
                chosen[exercise] = (path, strength)
        students.append((entry.name, {exercise: path for exercise, (path, _) in chosen.items()}, notes))
    return students, folder_notes


# --- running one notebook ------------------------------------------------------------------


def _reason(content: dict) -> str:
    """The first line of an error reply, as 'Name: message' (a check's AssertionError: the message), shortened."""
    message = (str(content.get("evalue", "")).strip().splitlines() or [""])[0]
    message = re.sub(r"\(\S+\.py, line (\d+)\)", r"(line \1)", message)  # the kernel's temporary file name
    ename = content.get("ename", "Error")
    reason = message if (ename == "AssertionError" and message) else f"{ename}: {message}".rstrip(": ")
    if content.get("ename") == "NameError":
        reason += " (is it defined, with this name, in a cell that runs without error?)"
    return _shorten(reason, REASON_CHARS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReplyOnlyClient(NotebookClient):
    """An nbclient that keeps no cell outputs: a submission printing megabytes costs time, not memory.

    Whether a cell failed, and why, is read from the kernel's execute reply instead.
    """

    def output(self, outs, msg, display_id, cell_index):
        """nbclient calls this for every output message; keep nothing."""
        return None


def _make_client(notebook: nbformat.NotebookNode, work: str, timeout: int, replies: dict) -> ReplyOnlyClient:
    """A client that records each cell's execute reply in ``replies`` and stops a cell after ``timeout``."""

    def remember(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    return ReplyOnlyClient(
        notebook,
        timeout=timeout,
        timeout_func=lambda cell: min(PROBE_TIMEOUT, timeout) if cell.metadata.get("probe") else timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": f"stopped after {timeout} s (an endless loop?)"},
        on_cell_executed=remember,
        record_timing=False,
        # No output is kept, so there is nothing to wait for on IOPub once a cell's reply is in; after a
        # timeout, nbclient would otherwise wait 4 s more for a kernel that may be looping still.
        iopub_timeout=1,
        shutdown_kernel="immediate",  # a kernel stuck in a loop would not shut down politely
        resources={"metadata": {"path": work}},
    )


def grade_notebook(path: Path, exercise: str, tests: list[GradedTest], timeout: int = 30) -> NotebookGrade:
    """Execute one submitted notebook (a copy of it, in a fresh kernel) and then the exercise's tests."""
    points = {test.grade_id: 0.0 for test in tests}
    with tempfile.TemporaryDirectory(prefix="grade-") as work:
        copy = Path(work) / "submission.ipynb"
        shutil.copyfile(path, copy)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. missing cell ids: not the student's problem
                submission = nbformat.read(copy, as_version=4)
            sources = [cell_source(c) for c in submission.cells if c.cell_type == "code" and not is_graded_test(c)]
        except Exception as error:  # not JSON, not a notebook, ...
            return NotebookGrade(exercise, points, [("", f"could not read the notebook ({_shorten(str(error), 120)})")])

        cells = [new_code_cell(source) for source in sources] + [new_code_cell(test.source) for test in tests]
        notebook, replies, problems = new_notebook(cells=list(cells)), {}, []  # probes go only in notebook
        client = _make_client(notebook, work, timeout, replies)

        def run(index: int) -> dict:
            client.execute_cell(notebook.cells[index], index)
            return (replies.get(index) or {}).get("content", {})

        try:
            with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                for index, cell in enumerate(cells):
                    if not cell.source.strip():
                        continue
                    content = run(index)
                    test = tests[index - len(sources)] if index >= len(sources) else None
                    if content.get("status") == "error":
                        first_line = _shorten(cell.source.strip().splitlines()[0], 30)
                        cell_name = f"code cell {index + 1} ({first_line})"
                        where = f"{test.grade_id} 0/{test.points:g}" if test else cell_name
                        problems.append((where, _reason(content)))
                    elif test:
                        points[test.grade_id] = test.points
                    if content.get("ename") == "Timeout":  # does the kernel still answer after the interrupt?
                        notebook.cells.append(new_code_cell("pass", metadata={"probe": True}))
                        if run(len(notebook.cells) - 1).get("status") != "ok":
                            problems.append(("", "the kernel stopped answering after a timeout; the rest was not run"))
                            break
        except DeadKernelError:
            problems.append(("", "the kernel died (exit() called, or out of memory?); the rest was not run"))
        except Exception as error:  # the kernel would not start, ...: grade 0, say why, go on with the class
            problems.append(("", f"could not run the notebook: {_shorten(f'{type(error).__name__}: {error}', 160)}"))
    reported = {where for where, _ in problems}
    for test in tests:
        where = f"{test.grade_id} 0/{test.points:g}"
        if not points[test.grade_id] and where not in reported:
            problems.append((where, "not run"))
    problems.sort(key=lambda problem: problem[0].startswith("code cell"))  # tests first, then cells
    return NotebookGrade(exercise, points, problems)


def _grade_job(job: tuple[str, str, Path, list[GradedTest], int]) -> tuple[str, NotebookGrade]:
    """One unit of work for the process pool: (student, exercise, path, tests, timeout) -> (student, grade)."""
    student, exercise, path, tests, timeout = job
    return student, grade_notebook(path, exercise, tests, timeout)


# --- a class -------------------------------------------------------------------------------


def grade_class(folder: Path, exercises: dict[str, list[GradedTest]], timeout: int = 30, jobs: int = 1,
                progress: bool = True) -> tuple[list[StudentGrade], list[str]]:
    """Grade every student folder in ``folder``; returns the grades (sorted by student) and folder notes."""
    submissions, folder_notes = find_submissions(folder, list(exercises))
    grades = {student: StudentGrade(student, notes=notes) for student, _, notes in submissions}
    work = []
    for student, found, _ in submissions:
        for exercise, tests in exercises.items():
            if exercise in found:
                work.append((student, exercise, found[exercise], tests, timeout))
            else:
                zero = {test.grade_id: 0.0 for test in tests}
                grades[student].notebooks[exercise] = NotebookGrade(exercise, zero, [("", NOT_SUBMITTED)])

    def record(student: str, grade: NotebookGrade, done: int) -> None:
        grades[student].notebooks[grade.exercise] = grade
        if progress:
            earned, most = sum(grade.points.values()), sum(test.points for test in exercises[grade.exercise])
            print(f"[{done}/{len(work)}] {student}, {grade.exercise}: {earned:g}/{most:g}", flush=True)

    if jobs <= 1:
        for done, job in enumerate(work, start=1):
            record(*_grade_job(job), done)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_job, job): job for job in work}
            for done, future in enumerate(as_completed(futures), start=1):
                student, exercise, _, tests, _ = futures[future]
                try:
                    record(*future.result(), done)
                except Exception as error:  # the worker itself failed (killed?): 0 with the reason, go on
                    reason = f"the grader failed on this notebook: {type(error).__name__}: {error}"
                    record(student, NotebookGrade(exercise, {t.grade_id: 0.0 for t in tests}, [("", reason)]), done)
    for grade in grades.values():  # exercises in course order
        grade.notebooks = {exercise: grade.notebooks[exercise] for exercise in exercises}
    return [grades[student] for student in sorted(grades)], folder_notes


def describe_problems(problems: list[tuple[str, str]]) -> str:
    """Problems in one line, tests with the same reason together: 'a 0/3, b 0/2: reason; ...'."""
    by_reason: dict[str, list[str]] = {}
    for where, reason in problems:
        by_reason.setdefault(reason, []).append(where)
    return "; ".join(f"{', '.join(w for w in wheres if w)}: {reason}" if any(wheres) else reason
                     for reason, wheres in by_reason.items())


def feedback(grade: StudentGrade, exercises: dict[str, list[GradedTest]]) -> str:
    """A short text for one student: per exercise with problems, its score and what went wrong."""
    parts, missing = [], []
    for exercise, result in grade.notebooks.items():
        if result.problems == [("", NOT_SUBMITTED)]:
            missing.append(exercise)
        elif result.problems:
            earned, most = sum(result.points.values()), sum(test.points for test in exercises[exercise])
            parts.append(f"{exercise} {earned:g}/{most:g}: " + describe_problems(result.problems))
    if missing:
        parts.append(f"{NOT_SUBMITTED}: {', '.join(missing)}")
    parts.extend(grade.notes)
    text = " | ".join(parts) if parts else "all tests passed"
    return _shorten(text, FEEDBACK_CHARS)


def write_gradebook(path: Path, grades: list[StudentGrade], exercises: dict[str, list[GradedTest]]) -> None:
    """The CSV gradebook: student, points per test, total per exercise, total, max, feedback."""
    header = ["student"]
    for exercise, tests in exercises.items():
        header += [f"{exercise}:{test.grade_id}" for test in tests] + [f"{exercise}:total"]
    header += ["total", "max", "feedback"]
    most = sum(test.points for tests in exercises.values() for test in tests)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for grade in grades:
            row: list[object] = [grade.student]
            for exercise, tests in exercises.items():
                points = grade.notebooks[exercise].points
                row += [f"{points[test.grade_id]:g}" for test in tests] + [f"{sum(points.values()):g}"]
            total = sum(sum(result.points.values()) for result in grade.notebooks.values())
            writer.writerow(row + [f"{total:g}", f"{most:g}", feedback(grade, exercises)])


def summary(grades: list[StudentGrade], exercises: dict[str, list[GradedTest]], folder_notes: list[str],
            seconds: float) -> str:
    """What a grading run found, for the terminal."""
    most = sum(test.points for tests in exercises.values() for test in tests)
    totals = [sum(sum(r.points.values()) for r in grade.notebooks.values()) for grade in grades]
    lines = [f"Graded {len(grades)} students on {len(exercises)} exercises "
             f"({sum(map(len, exercises.values()))} tests, {most:g} points) in {seconds:.1f} s."]
    if totals:
        lines.append(f"Totals: mean {statistics.mean(totals):.1f}, median {statistics.median(totals):g}, "
                     f"min {min(totals):g}, max {max(totals):g} (of {most:g}).")
        lines.append("Tests passed:")
        width = max(len(f"{exercise}:{test.grade_id}") for exercise, tests in exercises.items() for test in tests)
        for exercise, tests in exercises.items():
            for test in tests:
                passed = sum(grade.notebooks[exercise].points[test.grade_id] > 0 for grade in grades)
                lines.append(f"  {f'{exercise}:{test.grade_id}':<{width}}  {passed}/{len(grades)}")
    problems = folder_notes + [f"{grade.student}: {note}" for grade in grades for note in grade.notes]
    problems += [f"{grade.student}, {exercise}: {describe_problems(result.problems)}" for grade in grades
                 for exercise, result in grade.notebooks.items()
                 if result.problems and result.problems != [("", NOT_SUBMITTED)]]
    missing = sum(r.problems == [("", NOT_SUBMITTED)] for grade in grades for r in grade.notebooks.values())
    if missing:
        lines.append(f"Notebooks not submitted: {missing}.")
    if problems:
        lines.append(f"Problems ({len(problems)}; each student's are in the feedback column):")
        lines += [f"  {_shorten(problem, 160)}" for problem in problems[:25]]
        if len(problems) > 25:
            lines.append(f"  ... and {len(problems) - 25} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: grade a submissions folder into a CSV gradebook."""
    parser = argparse.ArgumentParser(prog="python -m lessons_lib.tooling.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="folder with one subfolder of notebooks per student")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV gradebook (default grades.csv)")
    parser.add_argument("--timeout", type=int, default=30, help="whole seconds allowed per cell (default 30)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks graded at the same time (default: the number of CPUs)")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR,
                        help="the instructor's source notebooks, with the graded tests "
                             "(default: exercises/source, in the current directory)")
    parser.add_argument("--quiet", action="store_true", help="no progress line per notebook")
    args = parser.parse_args(argv)

    folder, out = args.submissions.resolve(), args.out.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if out == folder or folder in out.parents:
        parser.error(f"--out {args.out} is inside the submissions folder; grading never writes there")
    if not out.parent.is_dir():
        parser.error(f"the folder of --out {args.out} does not exist")
    if args.timeout < 1 or args.jobs < 1:
        parser.error("--timeout and --jobs must be at least 1")
    problem = missing_folder(args.source, "the source notebooks' folder", "--source")
    if problem:
        parser.error(problem)
    exercises = load_exercises(args.source)
    if not exercises:
        parser.error(f"no source notebooks in {args.source}")

    start = time.perf_counter()
    grades, folder_notes = grade_class(folder, exercises, args.timeout, args.jobs, progress=not args.quiet)
    write_gradebook(out, grades, exercises)
    print(summary(grades, exercises, folder_notes, time.perf_counter() - start))
    print(f"Gradebook: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
