"""A pytest plugin (loaded with ``-p lessons_lib.tooling.nbval_figures``) for the notebook checks.

1. It sets ``PYTHONHASHSEED=0`` and ``OPENBLAS_NUM_THREADS=1`` in the environment as soon as
   pytest loads it, before any worker or kernel starts: every kernel that nbval starts,
   and every pytest-xdist worker (``-n 2``), inherits them, so the printing order of sets,
   and the order in which tests are collected, is the same on every run and every worker.
2. nbval compares text outputs only (stdout, text/plain, text/html). Here its
   comparison is extended so that each stored figure is also compared with a
   fresh rendering, with a small tolerance (``notebooks.figure_mismatches``).
3. Every notebook cell nbval checks is marked ``notebooks`` and ``slow`` (markers
   registered in pyproject.toml), so ``-m "not slow"`` leaves the notebooks out.
4. Importing it imports ``lessons_lib.tooling`` first, which keeps jsonschema from
   building a parser it never uses here (1.3 s in every pytest process: see that package).
"""

import os

import pytest
from nbval.plugin import IPyNbCell

from lessons_lib.tooling.notebooks import DETERMINISTIC_ENV, figure_mismatches

os.environ.update(DETERMINISTIC_ENV)

_compare_text_outputs = IPyNbCell.compare_outputs


def compare_text_and_figures(self: IPyNbCell, test: list, ref: list, skip_compare: tuple | None = None) -> bool:
    """nbval's text comparison, then the figures; a failure report lists both kinds of difference."""
    text_ok = _compare_text_outputs(self, test, ref, skip_compare)
    problems = figure_mismatches(test, ref)
    self.comparison_traceback.extend(problems)
    return text_ok and not problems


IPyNbCell.compare_outputs = compare_text_and_figures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark nbval's notebook cells ``notebooks`` and ``slow``."""
    for item in items:
        if isinstance(item, IPyNbCell):
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.slow)
