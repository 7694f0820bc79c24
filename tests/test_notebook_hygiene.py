"""Every course notebook stores the outputs of one clean, top-to-bottom run.

nbval (part of the test command) re-runs the notebooks and compares outputs, but
it passes a notebook that was never executed. These tests close that gap.
"""

from pathlib import Path

import nbformat
import pytest

from lessons_lib.tooling.notebooks import hygiene_problems

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_course_has_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
    assert NOTEBOOKS[0].name == "00_welcome.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_was_executed_cleanly(path):
    problems = hygiene_problems(nbformat.read(path, as_version=4))
    assert not problems, (
        f"{path.name}: " + "; ".join(problems) + "\nRe-run it: python -m lessons_lib.tooling.notebooks run " + str(path)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_has_no_warnings_in_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                assert "Warning" not in output.get("text", ""), f"{path.name}, cell {number}: {output['text']}"
