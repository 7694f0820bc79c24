"""A pytest plugin (loaded with ``-p lessons_lib.tooling.nbval_figures``) for the notebook checks.

1. Every kernel that nbval starts inherits ``PYTHONHASHSEED=0``, so the printing
   order of sets is the same on every run.
2. nbval compares text outputs only (stdout, text/plain, text/html). Here its
   comparison is extended so that each stored figure is also compared with a
   fresh rendering, with a small tolerance (``notebooks.figure_mismatches``).
"""

import os

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
