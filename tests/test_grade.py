"""The class grader: one run over fixture submissions, checked from every side.

The run (module-scoped: once per test run, shared by every test marked ``slow`` here)
grades, in one folder: ``reference`` (the instructor's source notebooks: full marks),
``blank`` (the student notebooks as handed out: 0), and the fixture students of
``tests/fixtures/submissions`` -- right, partly wrong, raising, looping forever,
looping and swallowing every interrupt, a syntax error, a missing function, a
renamed file, megabytes of output, a file that is not a notebook, nothing at all,
cells reordered and duplicated; five cheats that did no work (patched checks and
numpy, an import hook, an input transformer, exec of the instructor's sources, files
written outside the submission), each of which must score 0 and leave no trace; and one
that took its results from the course's own code, which no test can tell: it scores, and
the review column points the instructor at it.
"""

import contextlib
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lessons_lib.tooling import student_notebooks
from lessons_lib.tooling.grade import load_exercises, load_handed_out, main, match_exercise
from lessons_lib.tooling.review import review
from lessons_lib.tooling.sandbox import SANDBOX_ON, bwrap_path
from lessons_lib.tooling.student_notebooks import EXERCISE_KEY

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "submissions"
SOURCES = REPO / "exercises" / "source"
#: Seconds per cell: short, so the endless loops cost little; the slowest cell of a right
#: submission (its imports) takes about 0.3 s, so a busy machine still has room.
TIMEOUT = 2

#: The tests that read the one grading run (the ``graded`` fixture): left out by the quick command.
slow = pytest.mark.slow
#: What only the sandbox guarantees (reading the sources, writing files) is tested where bubblewrap runs;
#: without it (the grader then warns loudly) those two cheats do work, and the tests say so by skipping.
sandboxed = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap cannot run here: no sandbox to test")


def fingerprints(folder: Path) -> dict[str, str]:
    """Every file under a folder, by relative path, with the SHA-256 of its bytes."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the fixtures, the reference solutions and the blank notebooks in one run."""
    root = tmp_path_factory.mktemp("grading")
    submissions = root / "submissions"
    shutil.copytree(FIXTURES, submissions, ignore=shutil.ignore_patterns("conftest.py", "__pycache__"))
    for student, folder in [("reference", SOURCES), ("blank", REPO / "exercises")]:
        (submissions / student).mkdir()
        for path in folder.glob("*.ipynb"):
            shutil.copy(path, submissions / student / path.name)
    before = fingerprints(submissions)
    out = root / "gradebook" / "grades.csv"
    out.parent.mkdir()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([str(submissions), "--out", str(out), "--timeout", str(TIMEOUT), "--jobs", "2", "--quiet",
                     "--source", str(SOURCES)])
    with open(out, newline="", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    return {"code": code, "rows": rows, "out": out, "printed": printed.getvalue(), "submissions": submissions,
            "before": before, "exercises": load_exercises(SOURCES), "root": root}


def points(row: dict, exercise: str) -> dict[str, float]:
    """The points of one exercise's tests in a gradebook row, by grade id."""
    prefix = f"{exercise}:"
    return {key[len(prefix):]: float(value) for key, value in row.items()
            if key.startswith(prefix) and key != f"{exercise}:total"}


@slow
def test_the_run_succeeds_and_prints_a_summary(graded):
    assert graded["code"] == 0
    printed = graded["printed"]
    assert f"Graded 20 students on {len(graded['exercises'])} exercises" in printed
    assert "Totals: mean" in printed and "median" in printed
    assert "Tests passed:" in printed and "01_gradient_descent:gd_step_trajectory" in printed
    assert f"Gradebook: {graded['out']}" in printed


@slow
def test_the_gradebook_columns(graded):
    exercises = graded["exercises"]
    header = list(next(iter(graded["rows"].values())))
    expected = ["student"]
    for exercise, tests in exercises.items():
        expected += [f"{exercise}:{test.grade_id}" for test in tests] + [f"{exercise}:total"]
    assert header == expected + ["total", "max", "feedback", "review", "sandbox"]
    most = sum(test.points for tests in exercises.values() for test in tests)
    for row in graded["rows"].values():
        assert float(row["max"]) == most
        exercise_totals = [float(row[f"{exercise}:total"]) for exercise in exercises]
        assert float(row["total"]) == sum(exercise_totals)
        for exercise in exercises:
            assert float(row[f"{exercise}:total"]) == sum(points(row, exercise).values())


@slow
def test_the_reference_solutions_score_full_marks(graded):
    row = graded["rows"]["reference"]
    assert row["total"] == row["max"]
    assert row["feedback"] == "all tests passed"


@slow
def test_the_blank_student_notebooks_score_zero(graded):
    row = graded["rows"]["blank"]
    assert row["total"] == "0"
    assert "not written yet" in row["feedback"] and "not answered yet" in row["feedback"]


@slow
def test_a_right_submission_gets_full_marks_for_what_it_handed_in(graded):
    row = graded["rows"]["ada_correct"]
    assert row["01_gradient_descent:total"] == "8" and row["07_adamw:total"] == "8"
    assert row["total"] == "16"
    assert "no notebook submitted: 02_stochastic_gradients, 03_momentum" in row["feedback"]


@slow
def test_a_partly_wrong_submission_loses_only_the_wrong_parts(graded):
    row = graded["rows"]["ben_partly_wrong"]
    scores = points(row, "04_adagrad_rmsprop")
    assert scores["adagrad_step_single_steps"] == 2 and scores["adagrad_step_epsilon"] == 2
    assert scores["adagrad_step_size"] == 2
    assert scores["rmsprop_step_single_steps"] == scores["rmsprop_step_epsilon"] == 0
    assert "ε is inside your square root" in row["feedback"]


@slow
def test_a_raising_function_scores_zero_with_the_error(graded):
    row = graded["rows"]["cleo_raises"]
    scores = points(row, "03_momentum")
    assert scores["momentum_step_single_steps"] == scores["momentum_step_trajectory"] == 0
    assert scores["ema_momentum_step_single_steps"] == 2 and scores["ema_lr"] == 2
    assert "your function raised TypeError" in row["feedback"]


@slow
def test_an_endless_loop_is_stopped_and_the_rest_graded(graded):
    row = graded["rows"]["dan_infinite_loop"]
    assert row["01_gradient_descent:total"] == "8"  # a stray experiment cell looped: stopped, nothing lost
    scores = points(row, "02_stochastic_gradients")  # the function itself never returns
    assert scores["minibatch_gradient_small_batches"] == scores["minibatch_gradient_full_batch"] == 0
    assert scores["batch_noise"] == 2
    assert f"Timeout: stopped after {TIMEOUT} s (an endless loop?)" in row["feedback"]


@slow
def test_a_process_that_ignores_every_interrupt_is_given_up(graded):
    row = graded["rows"]["eve_stubborn_loop"]
    assert row["total"] == "0"
    assert "the kernel stopped answering after a timeout" in row["feedback"]


@slow
def test_a_syntax_error_costs_the_function_not_the_answers(graded):
    row = graded["rows"]["fay_syntax_error"]
    scores = points(row, "02_stochastic_gradients")
    assert scores["minibatch_gradient_small_batches"] == 0 and scores["batch_noise"] == 2
    assert "SyntaxError: expected ':' (line 1)" in row["feedback"]


@slow
def test_a_missing_function_is_named(graded):
    row = graded["rows"]["gus_missing_function"]
    assert row["05_adam:total"] == "2"
    assert "NameError: name 'adam_step' is not defined" in row["feedback"]


@slow
def test_a_renamed_notebook_is_matched_by_its_metadata(graded):
    row = graded["rows"]["hal_renamed"]
    assert row["01_gradient_descent:total"] == "8"
    assert "scratch.ipynb: matches no exercise" in row["feedback"]


@slow
def test_megabytes_of_output_cost_nothing_but_time(graded):
    row = graded["rows"]["ivy_prints_megabytes"]
    assert row["01_gradient_descent:total"] == "8"
    assert "ValueError: yyyy" in row["feedback"]
    assert graded["out"].stat().st_size < 50_000


@slow
def test_a_file_that_is_not_a_notebook_gets_a_reason(graded):
    row = graded["rows"]["jay_not_a_notebook"]
    assert row["total"] == "0"
    assert "could not read the notebook" in row["feedback"]


@slow
def test_a_student_with_no_notebook_is_listed_with_zero(graded):
    row = graded["rows"]["kim_nothing"]
    assert row["total"] == "0"
    assert row["feedback"].startswith("no notebook submitted: 01_gradient_descent")


@slow
def test_grading_changes_no_submission_and_writes_nothing_there(graded):
    after = fingerprints(graded["submissions"])
    if bwrap_path() is None:  # unsandboxed, quinn's files are expected (see test_student_code_leaves_no_file...)
        after = {path: digest for path, digest in after.items() if not path.endswith("written-by-quinn.txt")}
    assert after == graded["before"]


#: The cheats of tests/fixtures/submissions: each hands in the blank notebook 01 plus one cell.
CHEATS = ["mia_patches_checks", "ned_import_hook", "ola_input_transformer", "pam_execs_sources",
          "quinn_writes_outside"]


@slow
@pytest.mark.parametrize("student", [pytest.param(student, marks=sandboxed if student == "pam_execs_sources" else ())
                                     for student in CHEATS])
def test_a_cheat_that_did_no_work_scores_nothing(graded, student):
    """Under the kernel-based grader each of the first four scored 8/8 (see the fixtures' conftest)."""
    row = graded["rows"][student]
    assert row["01_gradient_descent:total"] == "0" and row["total"] == "0"
    assert "gd_step: not written yet" in row["feedback"] and "lr_max: not answered yet" in row["feedback"]


@slow
@sandboxed
def test_the_instructors_sources_are_out_of_the_students_reach(graded):
    assert "IndexError: list index out of range" in graded["rows"]["pam_execs_sources"]["feedback"]


@slow
@sandboxed
def test_student_code_leaves_no_file_outside_the_gradebook(graded):
    """quinn writes wherever it can: home, /tmp, the working folder, next to its submission and the gradebook."""
    created = {path.relative_to(graded["root"]).as_posix() for path in graded["root"].rglob("*")
               if path.is_file() and graded["submissions"] not in path.parents}
    assert created == {"gradebook/grades.csv"}
    assert not list(graded["root"].rglob("written-by-quinn.txt"))
    assert not (Path("/tmp") / "written-by-quinn.txt").exists()
    assert not (Path.home() / "written-by-quinn.txt").exists()


@slow
@sandboxed
def test_every_row_says_the_code_ran_sandboxed(graded):
    assert {row["sandbox"] for row in graded["rows"].values()} == {SANDBOX_ON}
    assert "NOT SANDBOXED" not in graded["printed"]


@slow
def test_the_feedback_has_one_entry_per_exercise_and_each_mistake_once(graded):
    ben = graded["rows"]["ben_partly_wrong"]["feedback"]  # three RMSprop tests fail for one mistake
    assert ben.count("ε is inside your square root") == 1
    assert ben.count("rmsprop_step_single_steps 0/2, rmsprop_step_epsilon 0/1") == 1
    assert "expected [" in ben and "got [" in ben  # the evidence, once
    for row in graded["rows"].values():
        entries = [entry.split(" ")[0] for entry in row["feedback"].split(" | ")]
        assert len(entries) == len(set(entries)), row["feedback"]


@slow
def test_a_student_with_every_exercise_wrong_hears_about_every_one(graded):
    text = graded["rows"]["blank"]["feedback"]
    for exercise, tests in graded["exercises"].items():
        assert f"{exercise} 0/{sum(test.points for test in tests):g}: " in text
        for test in tests:
            assert f"{test.grade_id} 0/" in text
    assert "cut here" not in text


@slow
def test_cells_reordered_duplicated_or_deleted_grade_the_same(graded):
    clean, edited = graded["rows"]["ada_correct"], graded["rows"]["rex_reordered"]
    assert points(edited, "01_gradient_descent") == points(clean, "01_gradient_descent")
    assert edited["01_gradient_descent:total"] == "8"


@slow
def test_code_that_takes_its_results_from_the_course_scores_and_is_named_for_review(graded):
    """sam's gd_step calls lessons_lib.optim.SGD and his lr_max was found by trying values with check_answer:
    right numbers, so full marks (no test can tell), and both cells in the review column and the summary."""
    row = graded["rows"]["sam_calls_the_course_code"]
    assert row["01_gradient_descent:total"] == "8"
    assert row["review"] == ("01_gradient_descent: code cell 2: uses lessons_lib (the course's reference code); "
                             "01_gradient_descent: code cell 5: calls check_answer in code of its own (an answer "
                             "found by trying?)")
    assert "To read by hand" in graded["printed"] and "sam_calls_the_course_code: 01_gradient_descent: code cell 2"\
        in graded["printed"]


@slow
def test_honest_work_and_the_notebooks_as_handed_out_are_not_named_for_review(graded):
    """The solutions, the blank notebooks, right work written differently, reordered and duplicated cells."""
    for student in ("reference", "blank", "ada_correct", "rex_reordered", "ben_partly_wrong", "cleo_raises"):
        assert graded["rows"][student]["review"] == "", student


def test_review_reads_only_the_lines_the_student_wrote():
    """Lines of the notebook as handed out are left alone wherever they are; the same line indented (inside a
    loop of the student's) is the student's; each sign once a cell."""
    handed_out = load_handed_out(SOURCES)["01_gradient_descent"]
    assert "from lessons_lib.tooling.self_checks import check, check_answer" in handed_out
    cells = ["import numpy as np\n\nfrom lessons_lib.tooling.self_checks import check, check_answer",
             'check_answer("lr_max", lr_max)',
             'for x in range(9):\n    check_answer("lr_max", x)\n    check_answer("lr_max", -x)',
             "import torch\nfrom lessons_lib.optim import SGD",
             "import lessons_lib.tooling.self_checks as s\ns.check.__globals__"]
    assert review(cells, handed_out) == [
        "code cell 3: calls check_answer in code of its own (an answer found by trying?)",
        "code cell 4: uses lessons_lib (the course's reference code)",
        "code cell 4: imports an optimizer library",
        "code cell 5: uses lessons_lib (the course's reference code)",
        "code cell 5: reaches into modules"]


@slow  # starts a Python process: the command line, as an instructor types it
def test_out_inside_the_submissions_folder_is_refused(tmp_path):
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    result = subprocess.run([sys.executable, "-m", "lessons_lib.tooling.grade", str(tmp_path / "subs"),
                             "--out", str(tmp_path / "subs" / "ada" / "grades.csv")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "inside the submissions folder; grading never writes there" in result.stderr
    assert fingerprints(tmp_path / "subs") == {}


def write_notebook(path: Path, metadata: dict | None = None) -> Path:
    notebook = {"cells": [], "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


@pytest.mark.parametrize("name, metadata, expected", [
    ("anything.ipynb", {EXERCISE_KEY: "03_momentum"}, ("03_momentum", 3)),
    ("03_momentum.ipynb", None, ("03_momentum", 2)),
    ("03_momentum-Copy1.ipynb", None, ("03_momentum", 1)),
    ("03 my momentum.ipynb", None, ("03_momentum", 1)),
    ("notes.ipynb", {EXERCISE_KEY: "99_unknown"}, (None, 0)),
])
def test_which_exercise_a_notebook_is(tmp_path, name, metadata, expected):
    exercises = list(load_exercises(SOURCES))
    assert match_exercise(write_notebook(tmp_path / name, metadata), exercises) == expected


def test_nbval_leaves_the_fixture_submissions_alone():
    """They loop forever or are not notebooks at all: the project's nbval run must not collect them
    (without this conftest, ``python -m pytest`` fails at collection)."""
    namespace: dict = {}
    exec((FIXTURES / "conftest.py").read_text(encoding="utf-8"), namespace)
    assert namespace["collect_ignore_glob"] == ["*"]


@pytest.mark.parametrize("options", [["--timeout", "0"], ["--timeout", "2.5"], ["--jobs", "0"]])
def test_bad_options_are_refused(tmp_path, options, capsys):
    (tmp_path / "subs").mkdir()
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), *options])
    assert error.value.code == 2
    assert not (tmp_path / "grades.csv").exists()


def test_the_commands_say_where_they_looked_for_the_exercises(tmp_path, monkeypatch, capsys):
    """Both commands read exercises/ in the current directory (not next to the installed package)."""
    (tmp_path / "subs").mkdir()
    monkeypatch.chdir(tmp_path)  # a folder without exercises/
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv")])
    assert error.value.code == 2
    message = capsys.readouterr().err
    assert f"exercises/source is not a folder (looked in {tmp_path})" in message and "--source" in message
    with pytest.raises(SystemExit) as error:
        student_notebooks.main(["generate", "--check"])
    assert error.value.code == 2
    assert f"exercises/source is not a folder (looked in {tmp_path})" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="run this from the course's folder"):
        student_notebooks.stale_notebooks()

    monkeypatch.chdir(REPO)  # the course's folder: the defaults find everything
    assert list(load_exercises()) == [path.stem for path in sorted(SOURCES.glob("*.ipynb"))]
    assert student_notebooks.main(["generate", "--check"]) == 0
    assert student_notebooks.main(["generate", "--check", "--exercises", str(REPO / "exercises")]) == 0
