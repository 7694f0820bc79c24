"""Grading on several machines (--shard K/N, then --merge), --assigned and --feedback files.

A small class (four students, three notebooks to run) graded three ways: on one machine, and as
two shards merged. The merged gradebook must be the one-machine gradebook, byte for byte.
"""

import contextlib
import csv
import io
import shutil
from pathlib import Path

import pytest

from lessons_lib.tooling.grade import main, shard_of

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "submissions"
SOURCES = REPO / "exercises" / "source"
STUDENTS = ["ada_correct", "hal_renamed", "jay_not_a_notebook", "kim_nothing"]


def grade(*arguments: str) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*arguments, "--timeout", "10", "--jobs", "1", "--quiet", "--source", str(SOURCES)]) == 0
    return printed.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    submissions = root / "submissions"
    for student in STUDENTS:
        shutil.copytree(FIXTURES / student, submissions / student)
    printed = {"one": grade(str(submissions), "--out", str(root / "one.csv"), "--assigned", "01",
                            "--feedback", str(root / "feedback"))}
    for number in (1, 2):
        printed[number] = grade(str(submissions), "--out", str(root / f"shard{number}.csv"), "--assigned", "01",
                                "--shard", f"{number}/2")
    printed["merge"] = grade("--merge", str(root / "shard2.csv"), str(root / "shard1.csv"), "--out",
                             str(root / "merged.csv"))
    return root, printed


def rows(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


@pytest.mark.slow
def test_the_merged_shards_are_the_one_machine_gradebook(runs):
    root, printed = runs
    assert (root / "merged.csv").read_bytes() == (root / "one.csv").read_bytes()
    shard1, shard2 = rows(root / "shard1.csv"), rows(root / "shard2.csv")
    assert sorted(shard1) + sorted(shard2) != [] and not set(shard1) & set(shard2)
    assert sorted([*shard1, *shard2]) == STUDENTS
    assert "Shard 1/2" in printed[1] and "Merged 2 gradebooks: 4 students" in printed["merge"]


def test_shards_are_deterministic_and_balanced():
    students = [f"student{number:03}" for number in range(101)]
    shards = [shard_of(list(reversed(students)), (number, 4)) for number in range(1, 5)]
    assert sorted(sum(shards, [])) == students
    assert [len(shard) for shard in shards] == [26, 25, 25, 25]
    assert shards[0] == shard_of(students, (1, 4))


@pytest.mark.slow
def test_only_the_assigned_exercises_are_graded_and_counted(runs):
    root, printed = runs
    gradebook = rows(root / "one.csv")
    assert [column for column in next(iter(gradebook.values())) if column.endswith(":total")] == \
        ["01_gradient_descent:total"]
    assert {row["max"] for row in gradebook.values()} == {"8"}
    assert gradebook["ada_correct"]["total"] == "8"
    assert "07_adamw.ipynb: 07_adamw is not assigned; not graded" in gradebook["ada_correct"]["feedback"]
    assert gradebook["kim_nothing"]["feedback"] == "no notebook submitted: 01_gradient_descent"
    assert "Assigned exercises (only these are graded and count in the maximum of 8): 01_gradient_descent" \
        in printed["one"]


@pytest.mark.slow
def test_a_feedback_file_per_student_outside_the_submissions(runs):
    root, _ = runs
    files = sorted(path.name for path in (root / "feedback").iterdir())
    assert files == [f"{student}.txt" for student in STUDENTS]
    text = (root / "feedback" / "jay_not_a_notebook.txt").read_text(encoding="utf-8")
    assert text.startswith("Feedback for jay_not_a_notebook: 0 of 8 points")
    assert "could not read the notebook" in text
    ada = (root / "feedback" / "ada_correct.txt").read_text(encoding="utf-8")
    assert "✓ gd_step_single_steps: 3/3" in ada and "✓ lr_max: 2/2" in ada
    handed_in = {path.relative_to(FIXTURES).as_posix() for student in STUDENTS for path in (FIXTURES / student).rglob("*")}
    assert {path.relative_to(root / "submissions").as_posix() for path in (root / "submissions").rglob("*")
            if path.is_file()} == handed_in


@pytest.mark.parametrize("options, words", [
    (["--shard", "3/2"], "--shard 3/2: write K/N"),
    (["--assigned", "13"], "no exercise"),
    (["--feedback", "SUBS/ada"], "inside the submissions folder"),
])
def test_bad_sharding_assignment_or_feedback_options_are_refused(tmp_path, capsys, options, words):
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    options = [option.replace("SUBS", str(tmp_path / "subs")) for option in options]
    with pytest.raises(SystemExit):
        main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), "--source", str(SOURCES), *options])
    assert words in capsys.readouterr().err


def test_merging_refuses_a_student_twice(tmp_path, capsys):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("student,total\nada,3\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--merge", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out", str(tmp_path / "m.csv")])
    assert "ada is in two gradebooks" in capsys.readouterr().err
