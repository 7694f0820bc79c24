"""The notebook checks themselves: each must catch what it is there to catch.

The tests that start kernels or a pytest process are marked ``slow`` (the quick command skips them).
"""

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lessons_lib.tooling.notebooks import execute_in_place, figure_mismatches, hygiene_problems, main

REPO = Path(__file__).resolve().parents[1]


def png_of_line(slope: float, size: tuple[float, float] = (3, 2)) -> str:
    """A small matplotlib figure of y = slope * x, as base64 PNG like a notebook stores it."""
    fig, ax = plt.subplots(figsize=size, dpi=50)
    ax.plot([0, 1], [0, slope])
    ax.set_ylim(0, 1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def figure_output(png: str) -> dict:
    return new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})


def test_identical_figures_match():
    png = png_of_line(0.5)
    assert figure_mismatches([figure_output(png)], [figure_output(png)]) == []


def test_a_changed_plot_is_reported():
    problems = figure_mismatches([figure_output(png_of_line(0.9))], [figure_output(png_of_line(0.5))])
    assert len(problems) == 1 and "figure 1 differs" in problems[0] and "RMS" in problems[0]


def test_a_figure_of_another_size_is_reported():
    problems = figure_mismatches([figure_output(png_of_line(0.5, (4, 2)))], [figure_output(png_of_line(0.5))])
    assert len(problems) == 1 and "figure 1 differs" in problems[0]


def test_a_missing_figure_is_reported():
    problems = figure_mismatches([], [figure_output(png_of_line(0.5))])
    assert problems == ["the cell drew 0 figure(s), the stored notebook has 1"]


def executed_notebook(*sources: str) -> nbformat.NotebookNode:
    cells = [new_code_cell(source, execution_count=n) for n, source in enumerate(sources, start=1)]
    return new_notebook(cells=cells)


def test_hygiene_accepts_a_clean_run():
    assert hygiene_problems(executed_notebook("1 + 1", "print(2)")) == []


def test_hygiene_reports_never_executed_cells():
    notebook = executed_notebook("1 + 1", "print(2)")
    notebook.cells[1].execution_count = None
    assert hygiene_problems(notebook) == ["code cells never executed: [2] (counting code cells from 1)"]


@pytest.mark.parametrize("counts", [[2, 1], [1, 3], [4, 5]])
def test_hygiene_reports_out_of_order_runs(counts):
    notebook = executed_notebook("a = 1", "b = 2")
    for cell, count in zip(notebook.cells, counts):
        cell.execution_count = count
    assert "not executed top to bottom" in hygiene_problems(notebook)[0]


def test_hygiene_reports_unintended_errors_only():
    notebook = executed_notebook("1 / 0", "# NBVAL_RAISES_EXCEPTION\n1 / 0")
    error = new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    notebook.cells[0].outputs = [error]
    notebook.cells[1].outputs = [error]
    assert hygiene_problems(notebook) == [
        "code cell 1 stored an error (ZeroDivisionError) without # NBVAL_RAISES_EXCEPTION"
    ]


@pytest.mark.slow  # starts a kernel
def test_run_executes_in_place(tmp_path):
    path = tmp_path / "demo.ipynb"
    # The last cell prints in three pieces, each flushed to the client apart (the sleeps): stored as one output.
    pieces = "import sys, time\nfor piece in 'abc':\n    print(piece, flush=True)\n    time.sleep(0.05)"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 6 * 7"), new_code_cell("print(x)"),
                                       new_code_cell(pieces)]), path)
    execute_in_place(path, timeout=60)
    notebook = nbformat.read(path, as_version=4)
    assert hygiene_problems(notebook) == []
    assert notebook.cells[1].outputs[0].text == "42\n"
    assert [(o.output_type, o.text) for o in notebook.cells[2].outputs] == [("stream", "a\nb\nc\n")]


@pytest.mark.slow  # starts a kernel
def test_a_failing_run_leaves_the_notebook_untouched(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise RuntimeError('boom')")]), path)
    before = path.read_bytes()
    assert main(["run", str(path), "--timeout", "60"]) == 1
    assert "FAILED, notebook left unchanged" in capsys.readouterr().out
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_check_command_reports_problems(tmp_path, capsys):
    path = tmp_path / "unrun.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), path)
    assert main(["check", str(path)]) == 1
    assert "never executed" in capsys.readouterr().out


@pytest.mark.slow  # starts a kernel, then pytest with nbval and its kernel
def test_nbval_with_the_figure_plugin_fails_on_a_changed_figure(tmp_path):
    """End to end: a notebook whose stored figure was swapped fails the README's test command.

    One run of nbval, with the project's options, over a notebook of two cells that draw the
    same figure, both executed for real: the first keeps its stored figure and must pass, the
    second has its stored figure swapped for another and must fail, saying so.
    """
    path = tmp_path / "figure.ipynb"
    source = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(3, 2))\n"
        "ax.plot([0, 1], [0, 0.5])\n"
        "plt.show()"
    )
    nbformat.write(new_notebook(cells=[new_code_cell(source), new_code_cell(source)]), path)
    execute_in_place(path, timeout=60)
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].outputs == notebook.cells[1].outputs  # the same figure, twice
    notebook.cells[1].outputs[0].data["image/png"] = png_of_line(0.9)
    nbformat.write(notebook, path)

    command = [sys.executable, "-m", "pytest", str(path), "-q", "-rA",
               "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml")]
    # from the course's folder, as the README runs it: the plugin is this folder's, not an installed copy's
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    outcomes = re.findall(r"^(PASSED|FAILED) \S*::(Cell \d+)", report, re.MULTILINE)
    assert outcomes == [("PASSED", "Cell 0"), ("FAILED", "Cell 1")], report  # as stored: passes; swapped: caught
    assert "figure 1 differs" in report and "1 failed, 1 passed" in report, report
