"""Grade a class's exercise notebooks with one command, into one CSV gradebook.

For instructors::

    python -m lessons_lib.tooling.grade submissions/ --out grades.csv [--timeout 30] [--jobs 2]
        [--assigned 01,03,05,07] [--feedback feedback/] [--shard K/N]
    python -m lessons_lib.tooling.grade --merge shard-*.csv --out grades.csv

``submissions/`` holds one folder per student, each with that student's exercise
notebooks (``submissions/ada/01_gradient_descent.ipynb``, ...). Every notebook is

1. matched to an exercise by its ``metadata.course_exercise`` (so a renamed file
   still grades), else by its file name (``01_gradient_descent*.ipynb``, or just ``01*``);
2. run in a fresh process in a sandbox (``sandbox``: bubblewrap, no network, a read-only
   file system without the instructor's sources, the submissions or the gradebook), its code
   cells top to bottom, each limited to ``--timeout`` seconds, errors allowed (the submission
   file is only ever read, and nothing is written into the submissions folder);
3. asked, in that process, for the values the graded tests need: the student's functions are
   called -- by name, whatever the cells' order -- on the hidden inputs, and the answers'
   variables read; only data comes back (arrays, numbers, strings);
4. judged here, in the grader's process (``hidden_tests``): the graded test cells of the
   instructor's source notebook (``--source``, by default ``exercises/source/``) are read, not
   run, and each ``check(...)`` / ``check_answer(...)`` compares what came back with the
   reference computed here. A test scores its points if every check in it passes, else 0,
   with the mistake as the reason. Student code never runs in the process that judges it.

The gradebook has one row per student: the points of every test
(``01_gradient_descent:gd_step_trajectory``), a total per exercise, the total, the
maximum, a feedback text (one entry per exercise: each mistake once with the tests it cost
and the first case that showed it; cells that raised or were stopped; notebooks missing or
unreadable), a review column (code cells that use the course's reference code, import an optimizer
library, or call ``check_answer`` in code of their own: for the instructor to read, see ``review``; they
cost no points) and the sandbox column (``bubblewrap``, or a loud NOT SANDBOXED warning).
``--assigned`` grades and counts only the exercises named; ``--feedback FOLDER`` writes one
plain-text file per student to hand back; ``--shard K/N`` grades every N-th student (sorted
by folder name) from the K-th, and ``--merge`` combines the shards' gradebooks into the one a
single machine would have written. A summary is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lessons_lib.tooling.hidden_tests import HiddenCheck, failure, judge, parse_test
from lessons_lib.tooling.hidden_tests import request as hidden_request
from lessons_lib.tooling.notebooks import cell_source
from lessons_lib.tooling.review import handed_out_lines, review
from lessons_lib.tooling.sandbox import SANDBOX_ON, run_student_code, sandbox_status
from lessons_lib.tooling.student_notebooks import (EXERCISE_KEY, SOURCE_DIR, GradedTest, graded_tests,
                                                    is_graded_test, missing_folder, source_notebooks)

#: Longest reason kept for one failed test or cell (a mistake's hint is shorter), and longest evidence
#: (the case, what was expected and what came back: in full in the feedback files).
REASON_CHARS, EVIDENCE_CHARS, GRADEBOOK_EVIDENCE_CHARS = 600, 4000, 300
#: A spreadsheet cell holds at most 32,767 characters: a longer feedback text is cut there, and says so.
FEEDBACK_CHARS = 30_000

NOT_SUBMITTED = "no notebook submitted"

#: Seconds allowed (at most) to the one-line cell that checks the kernel still answers after a timeout.
PROBE_TIMEOUT = 10


@dataclass(frozen=True)
class NotebookGrade:
    """The result of one exercise for one student: points by grade id, and what went wrong.

    ``problems`` are (where, reason) pairs: where is a test ("gd_step_trajectory 0/3"),
    a cell ("code cell 4 (for lr in …)"), or empty for the notebook as a whole; the reason of a
    test is its mistake (a hint, or the error raised), shared by the tests that fail for it.
    ``evidence`` holds, by where, the first failed case of a test: what was expected and what came back.
    ``review`` lists the cells the instructor may want to read ("code cell 4: uses lessons_lib ...").
    """

    exercise: str
    points: dict[str, float]
    problems: list[tuple[str, str]] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)


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
        for test in exercises[path.stem]:
            parse_test(test.source, f"{path.name}, graded test {test.grade_id}")  # refuse what cannot be judged
    return exercises


def load_handed_out(source_dir: Path = SOURCE_DIR) -> dict[str, frozenset[str]]:
    """The code lines of each exercise's student notebook as handed out (see ``review``), by exercise name."""
    return {path.stem: handed_out_lines(nbformat.read(path, as_version=4), path.stem)
            for path in source_notebooks(source_dir)}


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
    message = re.sub(r"\([^()]*, line (\d+)\)", r"(line \1)", message)  # the shell's name for the cell
    ename = str(content.get("ename", "Error"))
    reason = message if (ename == "AssertionError" and message) else f"{ename}: {message}".rstrip(": ")
    if ename == "NameError":
        reason += " (is it defined, with this name, in a cell that runs without error?)"
    return _shorten(reason, REASON_CHARS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hidden_checks(tests: list[GradedTest]) -> dict[str, list[HiddenCheck]]:
    """The checks of each graded test, by grade id (ValueError for a test the grader cannot run)."""
    return {test.grade_id: parse_test(test.source, f"graded test {test.grade_id}") for test in tests}


def grade_notebook(path: Path, exercise: str, tests: list[GradedTest], timeout: int = 30,
                   handed_out: frozenset[str] | None = None) -> NotebookGrade:
    """Run one submitted notebook's code in the sandbox, then judge what its functions return.

    The student's code cells run in order (graded test cells of an nbgrader release version
    are skipped); then the sandbox calls the functions the tests need on the hidden inputs and
    reads the answers' variables -- by name, wherever the cells defined them. The verdicts
    are reached here, in the grader's process, from those values alone. ``handed_out``: the lines of
    the notebook as handed out, which ``review`` leaves alone (None: no review).
    """
    points = {test.grade_id: 0.0 for test in tests}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. missing cell ids: not the student's problem
            submission = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        sources = [cell_source(c) for c in submission.cells if c.cell_type == "code" and not is_graded_test(c)]
    except Exception as error:  # not JSON, not a notebook, ...
        return NotebookGrade(exercise, points, [("", f"could not read the notebook ({_shorten(str(error), 120)})")])

    checks = hidden_checks(tests)
    flat = [check for test in tests for check in checks[test.grade_id]]
    unique = list(dict.fromkeys(flat))  # the same check in two tests is run once
    cells = [source for source in sources if source.strip()]
    numbers = [index for index, source in enumerate(sources) if source.strip()]
    report = run_student_code(cells, [hidden_request(check) for check in unique], timeout,
                              grace=min(PROBE_TIMEOUT, timeout))

    problems: list[tuple[str, str]] = []
    evidence: dict[str, str] = {}
    for test in tests:
        for check in checks[test.grade_id]:
            failed = failure(judge(check, report.values.get(unique.index(check))))
            if failed:
                where = f"{test.grade_id} 0/{test.points:g}"
                problems.append((where, _shorten(failed[0], REASON_CHARS)))
                if failed[1]:
                    evidence[where] = _shorten(failed[1], EVIDENCE_CHARS)
                break
        else:
            points[test.grade_id] = test.points
    for position, reply in sorted(report.cells.items()):
        if reply.get("status") == "error" and 0 <= position < len(cells):
            first_line = _shorten(cells[position].strip().splitlines()[0], 30)
            problems.append((f"code cell {numbers[position] + 1} ({first_line})", _reason(reply)))
    if report.problem:
        problems.append(("", report.problem))
    looked_at = [] if handed_out is None else review(sources, handed_out)
    return NotebookGrade(exercise, points, problems, evidence, looked_at)


def _grade_job(job: tuple[str, str, Path, list[GradedTest], int, frozenset[str] | None]) -> tuple[str, NotebookGrade]:
    """One unit of work for the process pool: (student, exercise, path, tests, timeout, handed-out lines) ->
    (student, grade)."""
    student, exercise, path, tests, timeout, handed_out = job
    return student, grade_notebook(path, exercise, tests, timeout, handed_out)


# --- a class -------------------------------------------------------------------------------


def shard_of(students: list[str], shard: tuple[int, int]) -> list[str]:
    """The students of shard K of N: every N-th of the sorted names, from the K-th (deterministic, balanced)."""
    number, count = shard
    return [student for index, student in enumerate(sorted(students)) if index % count == number - 1]


def grade_class(folder: Path, exercises: dict[str, list[GradedTest]], timeout: int = 30, jobs: int = 1,
                progress: bool = True, shard: tuple[int, int] = (1, 1),
                known: list[str] | None = None,
                handed_out: dict[str, frozenset[str]] | None = None) -> tuple[list[StudentGrade], list[str]]:
    """Grade every student folder in ``folder`` (or shard K of N of them); the grades (sorted) and folder notes.

    ``exercises`` are the ones graded (the assigned ones); ``known`` all the course's exercises (default: the
    same), so that a notebook of an exercise not assigned is recognised, noted and left out; ``handed_out``
    the lines of each exercise's notebook as handed out (``load_handed_out``), left alone by the review
    (without them, no review).
    """
    handed_out = handed_out or {}
    submissions, folder_notes = find_submissions(folder, known or list(exercises))
    chosen = set(shard_of([student for student, _, _ in submissions], shard))
    submissions = [submission for submission in submissions if submission[0] in chosen]
    grades = {student: StudentGrade(student, notes=notes) for student, _, notes in submissions}
    work = []
    for student, found, _ in submissions:
        for exercise in found:
            if exercise not in exercises:
                grades[student].notes.append(f"{found[exercise].relative_to(folder / student).as_posix()}: "
                                             f"{exercise} is not assigned; not graded")
        for exercise, tests in exercises.items():
            if exercise in found:
                work.append((student, exercise, found[exercise], tests, timeout,
                             handed_out.get(exercise)))
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
                student, exercise, _, tests, _, _ = futures[future]
                try:
                    record(*future.result(), done)
                except Exception as error:  # the worker itself failed (killed?): 0 with the reason, go on
                    reason = f"the grader failed on this notebook: {type(error).__name__}: {error}"
                    record(student, NotebookGrade(exercise, {t.grade_id: 0.0 for t in tests}, [("", reason)]), done)
    for grade in grades.values():  # exercises in course order
        grade.notebooks = {exercise: grade.notebooks[exercise] for exercise in exercises}
    return [grades[student] for student in sorted(grades)], folder_notes


def describe_problems(problems: list[tuple[str, str]], evidence: dict[str, str] | None = None,
                      limit: int = GRADEBOOK_EVIDENCE_CHARS) -> str:
    """Problems in one line, each mistake once with the tests it cost: 'a 0/3, b 0/2: reason [evidence]; ...'.

    The evidence (the first failed case, expected and got) of the first test of each mistake follows
    it in brackets, shortened to ``limit`` characters (with '…': the feedback files have it in full).
    """
    evidence = evidence or {}
    by_reason: dict[str, list[str]] = {}
    for where, reason in problems:
        by_reason.setdefault(reason, []).append(where)
    parts = []
    for reason, wheres in by_reason.items():
        text = f"{', '.join(w for w in wheres if w)}: {reason}" if any(wheres) else reason
        shown = next((evidence[w] for w in wheres if evidence.get(w)), "")
        parts.append(text + (f" [{_shorten(shown, limit)}]" if shown else ""))
    return "; ".join(parts)


def feedback(grade: StudentGrade, exercises: dict[str, list[GradedTest]]) -> str:
    """A short text for one student: per exercise with problems, its score and what went wrong."""
    parts, missing = [], []
    for exercise, result in grade.notebooks.items():
        if result.problems == [("", NOT_SUBMITTED)]:
            missing.append(exercise)
        elif result.problems:
            earned, most = sum(result.points.values()), sum(test.points for test in exercises[exercise])
            described = describe_problems(result.problems, result.evidence)
            parts.append(f"{exercise} {earned:g}/{most:g}: {described}")
    if missing:
        parts.append(f"{NOT_SUBMITTED}: {', '.join(missing)}")
    parts.extend(grade.notes)
    text = " | ".join(parts) if parts else "all tests passed"
    if len(text) > FEEDBACK_CHARS:  # said, not silent: the feedback files have it all
        text = text[: FEEDBACK_CHARS - 120] + (" … [cut here: a spreadsheet cell holds no more; the whole text "
                                               "is in the student's feedback file (--feedback FOLDER)]")
    return text


def feedback_file(grade: StudentGrade, exercises: dict[str, list[GradedTest]]) -> str:
    """One student's feedback to hand back, in plain text: every test, its points, and why it failed."""
    total = sum(sum(result.points.values()) for result in grade.notebooks.values())
    most = sum(test.points for tests in exercises.values() for test in tests)
    lines = [f"Feedback for {grade.student}: {total:g} of {most:g} points", ""]
    for exercise, tests in exercises.items():
        result = grade.notebooks[exercise]
        earned, top = sum(result.points.values()), sum(test.points for test in tests)
        lines.append(f"{exercise}: {earned:g}/{top:g}")
        if result.problems == [("", NOT_SUBMITTED)]:
            lines += [f"  {NOT_SUBMITTED}", ""]
            continue
        reasons = dict(result.problems)
        for test in tests:
            where = f"{test.grade_id} 0/{test.points:g}"
            mark = "✓" if result.points[test.grade_id] else "✗"
            lines.append(f"  {mark} {test.grade_id}: {result.points[test.grade_id]:g}/{test.points:g}")
            if where in reasons:
                lines.append(f"      why: {reasons[where]}")
            if where in result.evidence:
                lines.append(f"      where it showed: {result.evidence[where]}")
        for where, reason in result.problems:
            if where.startswith("code cell") or not where:
                lines.append(f"  note: {where + ': ' if where else ''}{reason}")
        lines.append("")
    lines += [f"note: {note}" for note in grade.notes]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback_files(folder: Path, grades: list[StudentGrade], exercises: dict[str, list[GradedTest]]) -> None:
    """One ``<student>.txt`` per student in ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for grade in grades:
        (folder / f"{grade.student}.txt").write_text(feedback_file(grade, exercises), encoding="utf-8")


def write_gradebook(path: Path, grades: list[StudentGrade], exercises: dict[str, list[GradedTest]],
                    sandbox: str | None = None) -> None:
    """The CSV gradebook: student, points per test, total per exercise, total, max, feedback, review, sandbox.

    ``sandbox`` (default: this machine's ``sandbox_status()``) fills the last column of every row:
    ``bubblewrap``, or the loud warning that student code ran unsandboxed.
    """
    sandbox = sandbox_status() if sandbox is None else sandbox
    header = ["student"]
    for exercise, tests in exercises.items():
        header += [f"{exercise}:{test.grade_id}" for test in tests] + [f"{exercise}:total"]
    header += ["total", "max", "feedback", "review", "sandbox"]
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
            writer.writerow(row + [f"{total:g}", f"{most:g}", feedback(grade, exercises), to_review(grade), sandbox])


def to_review(grade: StudentGrade) -> str:
    """The review column of one student: 'exercise: code cell N: what it shows; ...', or empty."""
    return "; ".join(f"{exercise}: {item}" for exercise, result in grade.notebooks.items() for item in result.review)


def summary(grades: list[StudentGrade], exercises: dict[str, list[GradedTest]], folder_notes: list[str],
            seconds: float, sandbox: str | None = None, assigned: bool = False, shard: tuple[int, int] = (1, 1)) -> str:
    """What a grading run found, for the terminal (a first line in capitals when it ran unsandboxed)."""
    sandbox = sandbox_status() if sandbox is None else sandbox
    most = sum(test.points for tests in exercises.values() for test in tests)
    totals = [sum(sum(r.points.values()) for r in grade.notebooks.values()) for grade in grades]
    warning = [] if sandbox == SANDBOX_ON else [f"WARNING -- {sandbox}"]
    lines = warning + [f"Graded {len(grades)} students on {len(exercises)} exercises "
             f"({sum(map(len, exercises.values()))} tests, {most:g} points) in {seconds:.1f} s."]
    if assigned:
        lines.append(f"Assigned exercises (only these are graded and count in the maximum of {most:g}): "
                     + ", ".join(exercises))
    if shard != (1, 1):
        lines.append(f"Shard {shard[0]}/{shard[1]}: these students only; combine the shards' gradebooks with --merge.")
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
    flagged = [f"{grade.student}: {to_review(grade)}" for grade in grades if to_review(grade)]
    if flagged:
        lines.append(f"To read by hand ({len(flagged)}; the review column: code that may take its results "
                     "from elsewhere, which no test can tell; no points were taken):")
        lines += [f"  {_shorten(item, 160)}" for item in flagged[:25]]
        if len(flagged) > 25:
            lines.append(f"  ... and {len(flagged) - 25} more")
    lines += warning
    return "\n".join(lines)


def parse_assigned(text: str, exercises: list[str]) -> list[str]:
    """The exercises named in ``--assigned`` ('01,03' or '01_gradient_descent 07_adamw'), in course order."""
    wanted = [item for item in re.split(r"[,\s]+", text) if item]
    unknown = [item for item in wanted if not any(exercise == item or exercise.split("_")[0] == item.split("_")[0]
                                                  and exercise.startswith(item) for exercise in exercises)]
    if unknown or not wanted:
        raise ValueError(f"--assigned {text!r}: no exercise {unknown or text!r}; "
                         f"the exercises are {', '.join(exercises)}")
    return [exercise for exercise in exercises if any(exercise == item or exercise.startswith(item)
                                                      and exercise.split("_")[0] == item.split("_")[0]
                                                      for item in wanted)]


def merge_gradebooks(paths: list[Path], out: Path) -> int:
    """Combine the gradebooks of the shards into one, rows sorted by student as a one-machine run writes them.

    Refuses gradebooks with other columns (other exercises or another --assigned) and a student twice.
    Returns the number of students.
    """
    header, rows = None, {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            this = next(reader, None)
            if this is None:
                raise ValueError(f"{path} is empty")
            if header is not None and this != header:
                raise ValueError(f"{path} has other columns than {paths[0]} (other exercises or --assigned?)")
            header = this
            for row in reader:
                if row[0] in rows:
                    raise ValueError(f"{row[0]} is in two gradebooks (the same shard twice?); not merged")
                rows[row[0]] = row
    with open(out, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows[student] for student in sorted(rows))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: grade a submissions folder (or a shard of it) into a CSV gradebook, or merge shards."""
    parser = argparse.ArgumentParser(prog="python -m lessons_lib.tooling.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, nargs="?", help="folder with one subfolder of notebooks per student")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV gradebook (default grades.csv)")
    parser.add_argument("--timeout", type=int, default=30, help="whole seconds allowed per cell (default 30)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks graded at the same time (default: the number of CPUs)")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR,
                        help="the instructor's source notebooks, with the graded tests "
                             "(default: exercises/source, in the current directory)")
    parser.add_argument("--assigned", help="the exercises assigned, e.g. '01,03,05,07' (default: all)")
    parser.add_argument("--shard", help="K/N: grade only shard K of N of the students (for several machines)")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="CSV",
                        help="combine the shards' gradebooks into --out, instead of grading")
    parser.add_argument("--feedback", type=Path, metavar="FOLDER",
                        help="also write one feedback file per student (FOLDER/<student>.txt) to hand back")
    parser.add_argument("--quiet", action="store_true", help="no progress line per notebook")
    args = parser.parse_args(argv)

    out = args.out.resolve()
    if not out.parent.is_dir():
        parser.error(f"the folder of --out {args.out} does not exist")
    if args.merge:
        if args.submissions:
            parser.error("--merge combines gradebooks: give no submissions folder")
        try:
            count = merge_gradebooks(args.merge, out)
        except (OSError, ValueError, IndexError) as error:
            parser.error(str(error))
        print(f"Merged {len(args.merge)} gradebooks: {count} students. Gradebook: {args.out}")
        return 0
    if args.submissions is None:
        parser.error("give the submissions folder (or --merge CSV ...)")
    folder = args.submissions.resolve()
    if not folder.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    for option, path in [("--out", out), ("--feedback", args.feedback.resolve() if args.feedback else None)]:
        if path and (path == folder or folder in path.parents):
            parser.error(f"{option} {path} is inside the submissions folder; grading never writes there")
    if args.timeout < 1 or args.jobs < 1:
        parser.error("--timeout and --jobs must be at least 1")
    shard = (1, 1)
    if args.shard:
        match = re.fullmatch(r"(\d+)/(\d+)", args.shard)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            parser.error(f"--shard {args.shard}: write K/N with 1 <= K <= N, e.g. --shard 2/4")
        shard = (int(match.group(1)), int(match.group(2)))
    problem = missing_folder(args.source, "the source notebooks' folder", "--source")
    if problem:
        parser.error(problem)
    known = load_exercises(args.source)
    if not known:
        parser.error(f"no source notebooks in {args.source}")
    exercises = known
    if args.assigned:
        try:
            exercises = {exercise: known[exercise] for exercise in parse_assigned(args.assigned, list(known))}
        except ValueError as error:
            parser.error(str(error))

    start, sandbox = time.perf_counter(), sandbox_status()
    grades, folder_notes = grade_class(folder, exercises, args.timeout, args.jobs, progress=not args.quiet,
                                       shard=shard, known=list(known), handed_out=load_handed_out(args.source))
    write_gradebook(out, grades, exercises, sandbox)
    if args.feedback:
        write_feedback_files(args.feedback, grades, exercises)
    seconds = time.perf_counter() - start
    print(summary(grades, exercises, folder_notes, seconds, sandbox, bool(args.assigned), shard))
    print(f"Gradebook: {args.out}" + (f"; feedback files in {args.feedback}" if args.feedback else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
