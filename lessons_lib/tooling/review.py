"""What an instructor may want to read in a submission: code that reaches for the results instead of computing them.

The grader judges what a student's functions return, so a function that calls the course's own reference
code (``lessons_lib``), another library's optimizer (``torch.optim``, optax, ...), or that finds an answer
by trying values with ``check_answer``, scores like honest work. ``review`` lists such lines for the
gradebook's ``review`` column: a pointer for a person to read, not a verdict (it costs no points), and it
catches the plain ways, not a determined cheat who hides them.

Only lines the student wrote count: the lines of the student notebook as handed out (its imports of
the self-checks, its ``check(...)`` cells) are left alone, wherever the student moved them.
"""

from __future__ import annotations

import re

import nbformat

from lessons_lib.tooling.notebooks import cell_source
from lessons_lib.tooling.student_notebooks import student_version

#: A sign, and what the review column says of a cell that shows it.
SIGNS = {
    "uses lessons_lib (the course's reference code)": re.compile(r"\blessons_lib\b"),
    "imports an optimizer library": re.compile(r"^\s*(from|import)\s+(torch|optax|jax|tensorflow|keras)\b"),
    "calls check_answer in code of its own (an answer found by trying?)": re.compile(r"\bcheck_answer\b"),
    "reaches into modules": re.compile(r"__globals__|__import__|\bimportlib\b|\bsys\.modules\b"),
}


def handed_out_lines(source: nbformat.NotebookNode, exercise: str) -> frozenset[str]:
    """Every line (right-stripped) of the code cells of the student notebook made from ``source``."""
    student = student_version(source, exercise)
    return frozenset(line.rstrip() for cell in student.cells if cell.cell_type == "code"
                     for line in cell_source(cell).splitlines())


def review(sources: list[str], handed_out: frozenset[str]) -> list[str]:
    """'code cell N: what it shows' for each code cell (N counts from 1) with a line of the student's own that
    shows a sign of ``SIGNS``; each sign once a cell."""
    found = []
    for number, source in enumerate(sources, start=1):
        own = [line for line in source.splitlines() if line.rstrip() not in handed_out]
        found += [f"code cell {number}: {sign}" for sign, pattern in SIGNS.items()
                  if any(pattern.search(line) for line in own)]
    return found
