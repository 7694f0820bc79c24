"""Figures of the course: loss surfaces as contour maps, trajectories drawn on them, loss curves,
and what every lesson's figures share: the palette ``COLORS``, log axes (``log_axis``,
``major_ticks_only``) and tables of text (``format_table``).

Every function takes the axes to draw on (or makes a figure of a fixed size),
so notebooks stay short and their stored figures are the same on every run.
These helpers are called by the course's own notebooks: they do not check their arguments.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullLocator

from lessons_lib.figures.style import WIDTH
from lessons_lib.runner import Trajectory
from lessons_lib.surfaces import Surface

#: The palette: one colour per runner (or curve), in this order, the same in every figure of the course.
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")

#: Size of the two-panel figure (map left, loss curves right), in inches.
RACE_FIGSIZE = (WIDTH, 3.4)

#: Loss gaps below this are drawn at this value on log axes (0 cannot be shown).
SMALLEST_GAP = 1e-16


def major_ticks_only(ax: Axes) -> None:
    """No minor ticks on either axis: on log axes they add little at a glance and take half the drawing time."""
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(value: float, _position: object = None) -> str:
    """A tick label such as "10⁻³" in plain text (matplotlib's mathtext labels are slow to lay out)."""
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPTS)


def log_axis(ax: Axes, which: str = "y", powers_as_text: bool = False) -> None:
    """Put one axis ("x" or "y") on a log scale, major ticks only; ``powers_as_text``: labelled 10ⁿ in plain text."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_minor_locator(NullLocator())
    if powers_as_text:
        axis.set_major_formatter(FuncFormatter(power_of_ten))


def text_width(text: str) -> int:
    """How many columns ``text`` takes in a monospaced font (combining marks, as in m̂, take none)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """``header`` and ``rows`` as text in aligned columns, a rule under the header: the first ``left``
    columns left-aligned (names, words), the others right-aligned (numbers)."""
    table = [[str(cell) for cell in row] for row in (header, *rows)]
    widths = [max(text_width(row[j]) for row in table) for j in range(len(header))]

    def line(row: list[str]) -> str:
        pads = [" " * (w - text_width(cell)) for cell, w in zip(row, widths)]
        cells = [cell + pad if j < left else pad + cell for j, (cell, pad) in enumerate(zip(row, pads))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(table[0]), "  ".join("-" * w for w in widths), *(line(row) for row in table[1:])])


def loss_grid(surface: Surface, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on a ``resolution`` × ``resolution`` grid over the surface's window: X, Y, Z."""
    x = np.linspace(*surface.xlim, resolution)
    y = np.linspace(*surface.ylim, resolution)
    X, Y = np.meshgrid(x, y)
    return X, Y, surface.loss(np.stack([X, Y], axis=-1))


def draw_contours(ax: Axes, surface: Surface, levels: int = 25) -> list[Artist]:
    """Contour lines of L − L_min, spaced evenly on a log scale (so flat floors and steep walls both show).

    Minima are marked ★, known saddle points ✕. Returns the artists drawn, so a
    live figure can remove them when the surface changes.
    """
    X, Y, Z = loss_grid(surface)
    gap = np.maximum(Z - surface.min_loss, SMALLEST_GAP)
    top = gap.max()
    contours = ax.contour(X, Y, gap, levels=np.geomspace(top * 1e-5, top, levels), norm=LogNorm(),
                          cmap="viridis", linewidths=0.8, alpha=0.8)
    minima = np.array(surface.minima).reshape(-1, 2)
    saddles = np.array(surface.saddles).reshape(-1, 2)
    (minima_marks,) = ax.plot(minima[:, 0], minima[:, 1], marker="*", color="black", markersize=11, linestyle="none")
    (saddle_marks,) = ax.plot(saddles[:, 0], saddles[:, 1], marker="x", color="black", markersize=8, linestyle="none")
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{surface.title}: {surface.formula}")
    return [contours, minima_marks, saddle_marks]


def draw_trajectory(ax: Axes, trajectory: Trajectory, label: str | None = None, color: str | None = None) -> Line2D:
    """The path of a 2-D trajectory: a line through every position, a dot at the start."""
    xy = trajectory.positions.reshape(len(trajectory.positions), -1)
    (line,) = ax.plot(xy[:, 0], xy[:, 1], marker=".", markersize=3, linewidth=1.2,
                      label=label or trajectory.rule_name, color=color)
    ax.plot(xy[0, 0], xy[0, 1], marker="o", color=line.get_color(), markersize=5)
    return line


def draw_loss_curve(ax: Axes, trajectory: Trajectory, min_loss: float = 0.0, label: str | None = None,
                    color: str | None = None) -> Line2D:
    """Loss minus the minimum, per step, on a log scale."""
    gap = np.maximum(trajectory.losses - min_loss, SMALLEST_GAP)
    (line,) = ax.semilogy(np.arange(len(gap)), gap, label=label or trajectory.rule_name, color=color)
    ax.set_xlabel("step")
    ax.set_ylabel("loss − minimum")
    return line


def draw_lr_sweep(ax: Axes, lrs: np.ndarray, losses: np.ndarray, label: str, color: str, top: float,
                  best: int | None = None) -> None:
    """One optimizer's learning-rate search: its loss after training against η, the chosen point circled.

    Losses above ``top`` (infinite for a run that diverged) are drawn at ``top``,
    as triangles, so that one bad run does not stretch the axis. ``best`` is the
    index to circle (the sweep's choice, e.g. from ``lessons_lib.sweeps.best_on_grid``);
    by default the lowest finite loss (a NaN never wins).
    """
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    off = ~(losses <= top)  # above the top, infinite or NaN
    shown = np.where(off, top, losses)
    ax.plot(lrs, shown, marker=".", color=color, label=label)
    ax.plot(lrs[off], shown[off], marker="^", linestyle="none", color=color)
    if best is None:
        best = int(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))
    ax.plot(lrs[best], shown[best], marker="o", markersize=10, markerfacecolor="none", color=color,
            markeredgewidth=1.5)


def plot_race(surface: Surface, trajectories: Sequence[Trajectory]) -> Figure:
    """Trajectories over the contour map (left) and their loss curves (right), in one fixed-size figure."""
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=RACE_FIGSIZE, layout="constrained")
    draw_contours(ax_map, surface)
    for trajectory in trajectories:
        line = draw_trajectory(ax_map, trajectory)
        draw_loss_curve(ax_loss, trajectory, surface.min_loss, color=line.get_color())
    ax_map.legend(loc="best")  # where no path goes
    ax_loss.set_title("how fast the loss falls")
    return fig
