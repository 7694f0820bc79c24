"""The course's figure style, in one place: sizes and text that read on a projector.

A notebook's column is about 790 CSS pixels wide on a projector (1280 × 720 at 150 %:
853 × 480 CSS pixels, less JupyterLab's margins) and wider on a laptop. Every figure is
shown at ``DPI`` = 100 CSS pixels per inch of figure (Jupyter's inline default), so a
figure at most ``WIDTH`` = 8.5 inches wide (850 pixels) fits the column with little or
no shrinking, and its 12-pt text is about 16 CSS pixels tall: 24 device pixels at 150 %.

Live pictures (``live.LiveFigure``) are drawn at ``LIVE_DPI`` = 2 × ``DPI`` and shown at
``DPI``, so they stay sharp when the browser zooms in.

Figure code never types a font size: titles, labels, ticks, legends and notes take
theirs from ``RC_PARAMS`` (``use_course_style()``, called when ``lessons_lib.figures``
is imported).
"""

from __future__ import annotations

import matplotlib

#: The widest a figure may be, in inches: 850 CSS pixels at ``DPI``.
WIDTH = 8.5

#: CSS pixels per inch of figure, as a notebook shows it (Jupyter's inline default for static figures).
DPI = 100

#: Pixels per inch at which live pictures are drawn: twice what they are shown at.
LIVE_DPI = 2 * DPI

#: Text sizes in points: everything (labels, ticks, legends, notes), and titles.
TEXT_SIZE = 12
TITLE_SIZE = 13

RC_PARAMS = {
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "font.size": TEXT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": TEXT_SIZE,
    "xtick.labelsize": TEXT_SIZE,
    "ytick.labelsize": TEXT_SIZE,
    "legend.fontsize": TEXT_SIZE,
    "legend.title_fontsize": TEXT_SIZE,
    "figure.titlesize": TITLE_SIZE,
}


def use_course_style() -> None:
    """Make ``RC_PARAMS`` matplotlib's defaults (for every figure drawn after this call)."""
    matplotlib.rcParams.update(RC_PARAMS)
