"""Every course notebook stores the outputs of one clean, top-to-bottom run.

nbval (part of the test command) re-runs the notebooks and compares outputs, but
it passes a notebook that was never executed. These tests close that gap.

They also keep every code line short enough to read on a projector
(``test_code_lines_fit_the_column``).
"""

import re
from pathlib import Path

import nbformat
import pytest

from lessons_lib.tooling.notebooks import hygiene_problems

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: The longest code line a notebook may hold: 88 characters fit an 850-px column.
MAX_CODE_LINE = 88

#: The notebooks whose code lines are checked: the lessons, the student exercises and
#: the instructor's exercise sources (solutions and hidden tests included).
LINE_LENGTH_PATTERNS = ("notebooks/*.ipynb", "exercises/*.ipynb", "exercises/source/*.ipynb")
LINE_LENGTH_NOTEBOOKS = sorted(path for pattern in LINE_LENGTH_PATTERNS for path in ROOT.glob(pattern))


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


def long_code_lines(notebook: nbformat.NotebookNode, limit: int = MAX_CODE_LINE) -> list[str]:
    """Every code line longer than ``limit`` characters, as "cell C, line L (N characters): text"."""
    found = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        for line_number, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > limit:
                found.append(f"cell {number}, line {line_number} ({len(line)} characters): {line.strip()[:60]}")
    return found


def test_long_code_lines_are_found():
    cell = nbformat.v4.new_code_cell("x = 1\n" + "y = " + "1 + " * 30 + "1")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x " * 60), cell])
    assert long_code_lines(notebook) == [f"cell 2, line 2 ({4 + 4 * 30 + 1} characters): " + ("y = " + "1 + " * 30)[:60]]


@pytest.mark.parametrize(
    "path", LINE_LENGTH_NOTEBOOKS, ids=[str(path.relative_to(ROOT)) for path in LINE_LENGTH_NOTEBOOKS]
)
def test_code_lines_fit_the_column(path):
    """Code lines of the lessons and the exercises are at most 88 characters.

    Longer lines are cut at the right edge of a notebook column on a projector (issue 18).
    The exercises are checked twice over: the student notebooks (``exercises/``) and the
    instructor's sources (``exercises/source/``, solutions and hidden tests included), so
    wrap a long line in the source, then regenerate the student notebooks
    (``python -m lessons_lib.tooling.student_notebooks generate``).
    """
    long_lines = long_code_lines(nbformat.read(path, as_version=4))
    assert not long_lines, f"{path.relative_to(ROOT)}: code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(
        long_lines
    )


#: The widest printed table: 84 characters fit the output column on a projector (673 CSS pixels at
#: 853 × 480, measured by tests/test_browser.py); a wider row wraps, often in the middle of a number.
MAX_TABLE_LINE = 84

TABLE_RULE = re.compile(r"^ *-{2,}( +-{2,})+ *$")  # the rule under a header, as format_table prints it


def wide_printed_tables(notebook: nbformat.NotebookNode, limit: int = MAX_TABLE_LINE) -> list[str]:
    """Printed tables (an output with a rule of dashes under its header) with a line over ``limit`` characters."""
    found = []
    for number, cell in enumerate(notebook.cells, start=1):
        text = "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("name") == "stdout")
        for rule in (line for line in text.splitlines() if TABLE_RULE.match(line)):
            if len(rule.rstrip()) > limit:  # the rule spans the table's width
                found.append(f"cell {number}: a printed table {len(rule.rstrip())} characters wide")
    return found


def test_wide_printed_tables_are_found():
    table = "name" + " " * 88 + "  value\n" + "-" * 92 + "  -----\n" + "a" * 92 + "  1\n"
    cell = nbformat.v4.new_code_cell("print(table)", outputs=[nbformat.v4.new_output("stream", name="stdout", text=table)])
    assert wide_printed_tables(nbformat.v4.new_notebook(cells=[cell])) == ["cell 1: a printed table 99 characters wide"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_printed_tables_fit_the_column(path):
    assert wide_printed_tables(nbformat.read(path, as_version=4)) == []
