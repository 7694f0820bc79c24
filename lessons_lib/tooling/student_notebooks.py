"""Make the student exercise notebooks from the instructor's source notebooks.

For instructors and maintainers. The sources in ``exercises/source/`` hold the
solutions and the hidden tests, marked the way nbgrader marks them:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is a solution;
* code between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is a hidden test;
* a graded test cell carries nbgrader's cell metadata
  ``{"nbgrader": {"grade": true, "solution": false, "grade_id": "...", "points": 2, ...}}``.

The student version of a source notebook (``student_version``):

* a solution block becomes ``raise NotImplementedError("write your code here")``
  at the block's indentation -- or, for a block of top-level assignments such as
  ``lr_max = 0.5``, ``lr_max = None  # your answer``;
* graded test cells are dropped (their visible ``check(...).assert_ok()`` lines are for
  nbgrader's Validate button; the course's notebooks have the student's own check cells),
  and hidden-test blocks anywhere else are removed;
* outputs and execution counts are cleared, nbgrader metadata removed, and
  ``metadata.course_exercise`` names the exercise (the grader matches
  submissions by it, so a renamed file still grades).

Cell ids are kept from the source, so the result is byte-for-byte stable::

    python -m lessons_lib.tooling.student_notebooks generate          # exercises/source/*.ipynb -> exercises/*.ipynb
    python -m lessons_lib.tooling.student_notebooks generate --check  # exit 1 if a committed student notebook is stale

The exercises folder is ``exercises/`` in the current directory (the course's
folder), or the one given with ``--exercises``; nothing here looks for it
relative to where the package is installed.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lessons_lib.tooling.notebooks import cell_source

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

#: What a student sees in place of a solution (nbgrader writes ``raise NotImplementedError()``).
CODE_STUB = 'raise NotImplementedError("write your code here")'
ANSWER_STUB = "{name} = None  # your answer"
MARKDOWN_STUB = "YOUR ANSWER HERE"

#: The notebook metadata key that names the exercise of a notebook.
EXERCISE_KEY = "course_exercise"

#: Where the exercises are, relative to the current directory: the student notebooks, and the
#: instructor's sources in its ``source/`` folder. Every command takes another folder as an argument.
EXERCISES_DIR = Path("exercises")
SOURCE_DIR = EXERCISES_DIR / "source"

_ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)\s*=[^=]")


@dataclass(frozen=True)
class GradedTest:
    """A graded test cell of a source notebook: its id, its points and its code."""

    grade_id: str
    points: float
    source: str


def _blocks(lines: list[str], begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """(begin index, end index) of each marked block; raise ValueError on unmatched markers."""
    blocks, start = [], None
    for number, line in enumerate(lines):
        marker = line.strip()
        if marker == begin:
            if start is not None:
                raise ValueError(f"{where}: {begin!r} inside another {begin!r} (line {number + 1})")
            start = number
        elif marker == end:
            if start is None:
                raise ValueError(f"{where}: {end!r} without {begin!r} (line {number + 1})")
            blocks.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"{where}: {begin!r} on line {start + 1} is never closed by {end!r}")
    return blocks


def _stub(block: list[str], indent: str, cell_type: str) -> list[str]:
    """What replaces a solution block in the student version."""
    if cell_type == "markdown":
        return [MARKDOWN_STUB]
    code = [line for line in block if line.strip() and not line.strip().startswith("#")]
    names = [match.group(1) for line in code if (match := _ASSIGNMENT.match(line))]
    if not indent and code and len(names) == len(code):  # top-level answers such as `lr_max = 0.5`
        return [ANSWER_STUB.format(name=name) for name in dict.fromkeys(names)]
    return [indent + CODE_STUB]


def strip_solutions(source: str, cell_type: str = "code", where: str = "cell") -> str:
    """The text of a cell with every solution block replaced by a stub."""
    lines = source.split("\n")
    for start, end in reversed(_blocks(lines, BEGIN_SOLUTION, END_SOLUTION, where)):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        lines[start : end + 1] = _stub(lines[start + 1 : end], indent, cell_type)
    return "\n".join(lines)


def remove_hidden_tests(source: str, where: str = "cell") -> str:
    """The text of a cell without its hidden-test blocks (markers included)."""
    lines = source.split("\n")
    for start, end in reversed(_blocks(lines, BEGIN_HIDDEN, END_HIDDEN, where)):
        del lines[start : end + 1]
    return "\n".join(lines).strip("\n")


def is_graded_test(cell: dict) -> bool:
    """True for an autograded test cell (nbgrader: ``grade`` true, ``solution`` false)."""
    marks = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(marks.get("grade")) and not marks.get("solution")


def graded_tests(source: dict) -> list[GradedTest]:
    """The graded test cells of a source notebook, in order; grade ids must be unique."""
    tests = []
    for cell in source["cells"]:
        if is_graded_test(cell):
            marks = cell["metadata"]["nbgrader"]
            tests.append(GradedTest(str(marks["grade_id"]), float(marks.get("points", 0)), cell_source(cell)))
    ids = [test.grade_id for test in tests]
    duplicates = sorted({grade_id for grade_id in ids if ids.count(grade_id) > 1})
    if duplicates:
        raise ValueError(f"grade ids used twice: {duplicates}")
    return tests


def student_version(source: nbformat.NotebookNode, exercise: str) -> nbformat.NotebookNode:
    """The student notebook of a source notebook (see the module docstring for what changes)."""
    notebook = copy.deepcopy(source)
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        where = f"{exercise}, cell {number}"
        if is_graded_test(cell):
            continue  # the grader's (and nbgrader's), not the student's: see the module docstring
        text = remove_hidden_tests(cell_source(cell), where)
        text = strip_solutions(text, cell.cell_type, where)
        cell.source = text
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    notebook.cells = cells
    notebook.metadata[EXERCISE_KEY] = exercise
    return notebook


def missing_folder(folder: Path, what: str, option: str) -> str | None:
    """A sentence saying that ``folder`` is missing and how to fix it, or None if it is a folder."""
    if Path(folder).is_dir():
        return None
    where = "" if Path(folder).is_absolute() else f" (looked in {Path.cwd()})"
    return (f"{what} {folder} is not a folder{where}: run this from the course's folder, "
            f"or give the folder with {option}")


def source_notebooks(source_dir: Path = SOURCE_DIR) -> list[Path]:
    """The source notebooks, in lesson order; FileNotFoundError if ``source_dir`` is not a folder."""
    problem = missing_folder(source_dir, "the source notebooks' folder", "an argument")
    if problem:
        raise FileNotFoundError(problem)
    return sorted(Path(source_dir).glob("*.ipynb"))


def generated_text(source_path: Path) -> str:
    """The student notebook of a source file, as the exact text that ``generate`` writes."""
    source = nbformat.read(source_path, as_version=4)
    text = nbformat.writes(student_version(source, source_path.stem))
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write does


def generate(source_dir: Path = SOURCE_DIR, out_dir: Path = EXERCISES_DIR) -> list[Path]:
    """Write the student version of every source notebook into ``out_dir``; return the paths written."""
    written = []
    for path in source_notebooks(source_dir):
        target = Path(out_dir) / path.name
        target.write_text(generated_text(path), encoding="utf-8")
        written.append(target)
    return written


def stale_notebooks(source_dir: Path = SOURCE_DIR, out_dir: Path = EXERCISES_DIR) -> list[str]:
    """The student notebooks that are missing or differ from what ``generate`` would write."""
    stale = []
    for path in source_notebooks(source_dir):
        target = Path(out_dir) / path.name
        if not target.is_file() or target.read_text(encoding="utf-8") != generated_text(path):
            stale.append(target.name)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Command line: ``generate`` writes the student notebooks (``--check`` only compares)."""
    parser = argparse.ArgumentParser(prog="python -m lessons_lib.tooling.student_notebooks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["generate"])
    parser.add_argument("--exercises", type=Path, default=EXERCISES_DIR,
                        help="the exercises folder (default: exercises, in the current directory)")
    parser.add_argument("--source", type=Path, help="the source notebooks (default: EXERCISES/source)")
    parser.add_argument("--out", type=Path, help="where the student notebooks go (default: EXERCISES)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student notebook is stale")
    args = parser.parse_args(argv)
    source = args.source or args.exercises / "source"
    out = args.out or args.exercises

    for folder, what, option in [(source, "the source notebooks' folder", "--source or --exercises"),
                                 (out, "the student notebooks' folder", "--out or --exercises")]:
        problem = missing_folder(folder, what, option)
        if problem:
            parser.error(problem)
    if not source_notebooks(source):
        print(f"no source notebooks in {source}")
        return 1
    if args.check:
        stale = stale_notebooks(source, out)
        for name in stale:
            print(f"{out / name}: differs from its source; "
                  "run python -m lessons_lib.tooling.student_notebooks generate")
        return 1 if stale else 0
    for path in generate(source, out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
