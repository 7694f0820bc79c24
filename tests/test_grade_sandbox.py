"""The sandbox that runs student code (lessons_lib.tooling.sandbox), checked from inside it.

One runner process: its cells try what a hostile notebook would, and store what they saw in
variables that the test reads back as data (the grader's own channel).
"""

import csv
from pathlib import Path

import pytest

from lessons_lib.tooling import sandbox
from lessons_lib.tooling.grade import main
from lessons_lib.tooling.hidden_tests import decode_output

REPO = Path(__file__).resolve().parents[1]

PROBES = {
    "sources_visible": f"import os\nsources_visible = os.path.exists({str(REPO / 'exercises' / 'source')!r})",
    "repo_visible": f"repo_visible = os.path.exists({str(REPO / 'README.md')!r})",
    "home_visible": "home_visible = os.path.exists('/root/.bash_history') or os.path.exists('/root/.ssh')",
    "course_package": "import lessons_lib\ncourse_package = lessons_lib.__file__",
    "write_package": "def attempt(path):\n    try:\n        open(path, 'w').write('x')\n        return 'written'\n"
                     "    except OSError as error:\n        return type(error).__name__\n"
                     "write_package = attempt(lessons_lib.__file__)",
    "write_root": "write_root = attempt('/written-by-a-test')",
    "write_work": "write_work = attempt('here.txt')",
    "network": "import socket\ndef connect():\n    try:\n        socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
               "        return 'connected'\n    except OSError as error:\n        return type(error).__name__\n"
               "network = connect()",
    "environment": "environment = sorted(os.environ)",
    "processes": "processes = len([name for name in os.listdir('/proc') if name.isdigit()])",
}


#: Each test here starts a sandboxed process (about a second): left to the full command.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seen():
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed here")
    requests = [{"kind": "answer", "name": name} for name in PROBES]
    report = sandbox.run_student_code(list(PROBES.values()), requests, timeout=10)
    assert report.finished and not report.problem
    assert all(reply["status"] == "ok" for reply in report.cells.values()), report.cells
    return {name: decode_output(report.values[number]["value"]) for number, name in enumerate(PROBES)}


def test_student_code_cannot_see_the_instructors_sources_or_the_course_folder(seen):
    assert seen["sources_visible"] is False
    assert seen["repo_visible"] is False
    assert seen["home_visible"] is False


def test_student_code_can_import_the_course_package_but_not_change_it(seen):
    assert seen["course_package"] == "/opt/course/lessons_lib/__init__.py"
    assert seen["write_package"] == "OSError"  # a read-only file system
    assert seen["write_root"] == "OSError"
    assert seen["write_work"] == "written"  # its own work folder, deleted afterwards


def test_student_code_has_no_network_no_other_processes_and_a_clean_environment(seen):
    assert seen["network"] == "OSError"
    assert seen["processes"] <= 3  # bwrap's init and the runner
    assert "PYTHONPATH" in seen["environment"]
    assert not [name for name in seen["environment"] if "TOKEN" in name or "SSH" in name]


def test_without_bubblewrap_the_grader_grades_and_says_so_loudly(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LESSONS_NO_SANDBOX", "1")
    assert sandbox.sandbox_status().startswith("NOT SANDBOXED")
    argv, environment, cwd = sandbox.command(tmp_path)
    assert "bwrap" not in argv[0] and environment["HOME"] == cwd == str(tmp_path)
    report = sandbox.run_student_code(["x = 2 + 2"], [{"kind": "answer", "name": "x"}], timeout=10)
    assert report.finished and decode_output(report.values[0]["value"]) == 4

    (tmp_path / "subs" / "kim").mkdir(parents=True)  # no notebook: nothing to run, the run is quick
    assert main([str(tmp_path / "subs"), "--out", str(tmp_path / "grades.csv"), "--quiet",
                 "--source", str(REPO / "exercises" / "source")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("WARNING -- NOT SANDBOXED") and printed.count("NOT SANDBOXED") == 2  # first, last
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as file:
        row = next(csv.DictReader(file))
    assert row["sandbox"].startswith("NOT SANDBOXED: bubblewrap (bwrap) is not installed or cannot run here")


def test_a_process_that_dies_loses_the_rest_and_says_why():
    """os._exit, a segfault or the out-of-memory killer: the runner is gone; what it reported stays."""
    report = sandbox.run_student_code(["x = 1", "import os\nos._exit(3)", "y = 2"],
                                      [{"kind": "answer", "name": "x"}], timeout=10)
    assert report.cells[0]["status"] == "ok" and 2 not in report.cells
    assert not report.finished and report.values == {}
    assert "the notebook's process ended early" in report.problem
