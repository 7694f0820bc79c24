"""A live race: several runs on one surface, redrawn in place as controls change.

Left, the paths over the contour map; right, loss − minimum per step on a log
scale. Lessons use it with a slider or two; the playground with every knob.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from lessons_lib.figures.live import LiveFigure
from lessons_lib.figures.plotting import COLORS, RACE_FIGSIZE, SMALLEST_GAP, draw_contours
from lessons_lib.runner import Trajectory
from lessons_lib.surfaces import Surface

#: The loss axis spans this many decades below its top.
LOSS_DECADES = 12


class LiveRace:
    """Runs on a surface, as a ``LiveFigure`` whose paths and curves change in place.

    ``labels`` names the runners; ``show`` takes one trajectory per label, or
    None to hide that runner. A run that diverged is drawn up to its last
    finite point and named in a note on the map.

    Colours (``style``): runner k has the k-th colour of ``COLORS`` (the default,
    for up to eight runners: the same colour whatever is shown); with
    ``colors_by_order=True``, the runners shown take the colours in the order
    they are listed, for many runners of which a few race at once (the
    playground). Past the eighth, the colours come round again, dashed.

    The legend of the loss panel goes where no curve and no text is when the
    runners shown change ("best"): a widget's note in that panel is set first.
    """

    def __init__(self, surface: Surface, labels: Sequence[str], steps: int,
                 colors_by_order: bool = False) -> None:
        figure = Figure(figsize=RACE_FIGSIZE, layout="constrained")
        self.ax_map, self.ax_loss = figure.subplots(1, 2)
        self.live = LiveFigure(figure)
        self.labels = list(labels)
        self.colors_by_order = colors_by_order
        self.paths, self.starts, self.curves = [], [], []
        for index, label in enumerate(self.labels):
            color, linestyle = style(index)
            (path,) = self.ax_map.plot([], [], marker=".", markersize=3, linewidth=1.2, color=color,
                                       linestyle=linestyle, label=label)
            (start,) = self.ax_map.plot([], [], marker="o", markersize=5, color=color, linestyle="none")
            (curve,) = self.ax_loss.plot([], [], color=color, linestyle=linestyle, label=label)
            self.paths.append(path)
            self.starts.append(start)
            self.curves.append(curve)
        self.note = self.ax_map.text(0.02, 0.02, "", transform=self.ax_map.transAxes, color="darkred",
                                     verticalalignment="bottom")
        self.live.animate(*self.paths, *self.starts, *self.curves, self.note)
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("loss − minimum")
        self.ax_loss.set_title("how fast the loss falls")
        self._legend_for: list[str] | None = None
        self.surface: Surface | None = None
        self._contour_artists: list = []
        self._loss_top = None
        self.set_surface(surface, steps)

    def set_surface(self, surface: Surface, steps: int) -> None:
        """Draw a new contour map and step axis (the slow part: call it only when they change)."""
        for artist in self._contour_artists:
            artist.remove()
        self.surface = surface
        self._contour_artists = draw_contours(self.ax_map, surface)
        self.ax_loss.set_xlim(0, steps)
        self._loss_top = None  # set by the next show()

    def show(self, trajectories: Sequence[Trajectory | None]) -> None:
        """Put each runner's trajectory (or None: hidden) in the figure.

        The live image changes at the next ``live.refresh()`` (which a panel's
        callback makes); ``live.snapshot()`` shows the new state at once.
        """
        shown = [trajectory for trajectory in trajectories if trajectory is not None]
        if self.colors_by_order:
            self._color_by_order([t is not None for t in trajectories])
        self._fit_loss_axis(shown)
        for trajectory, path, start, curve in zip(trajectories, self.paths, self.starts, self.curves):
            visible = trajectory is not None
            for artist in (path, start, curve):
                artist.set_visible(visible)
            if visible:
                xy = trajectory.positions
                path.set_data(xy[:, 0], xy[:, 1])
                start.set_data(xy[:1, 0], xy[:1, 1])
                gap = np.maximum(trajectory.losses - self.surface.min_loss, SMALLEST_GAP)
                curve.set_data(np.arange(len(gap)), gap)
        # After the visibility: a legend copies its handles' look, visibility included.
        self._update_legend([label for label, t in zip(self.labels, trajectories) if t is not None])
        # One message a diverged run, wrapped to fit the map's width.
        self.note.set_text("\n".join(textwrap.fill(trajectory.message, 30) for trajectory in shown if trajectory.diverged))

    def _color_by_order(self, visible: list[bool]) -> None:
        """The runners shown take the palette in order (before the legend is made: it copies their look)."""
        for order, index in enumerate(i for i, shown in enumerate(visible) if shown):
            color, linestyle = style(order)
            for artist in (self.paths[index], self.curves[index]):
                artist.set_color(color)
                artist.set_linestyle(linestyle)
            self.starts[index].set_color(color)

    def _update_legend(self, labels: list[str]) -> None:
        """A legend of the runners shown (redrawn only when that list changes)."""
        if labels != self._legend_for:
            self._legend_for = labels
            handles = [curve for curve, label in zip(self.curves, self.labels) if label in labels]
            self.ax_loss.legend(handles=handles, labels=labels, loc="best")  # drawn with the background
            self.live.redraw_background()

    def _fit_loss_axis(self, shown: Sequence[Trajectory]) -> None:
        """Fix the loss axis from the starting loss: LOSS_DECADES decades below the next power of 10 above it.

        The axis only moves (a full redraw) when the start loss changes its order of magnitude.
        """
        if not shown:
            top = 1.0 if self._loss_top is None else self._loss_top
        else:
            start_gap = max(max(t.losses[0] - self.surface.min_loss, SMALLEST_GAP) for t in shown)
            top = 10.0 ** (np.ceil(np.log10(start_gap)) + 1)
        if top != self._loss_top:
            self._loss_top = top
            self.ax_loss.set_ylim(top * 10.0**-LOSS_DECADES, top)
            self.live.redraw_background()


def style(index: int) -> tuple[str, str]:
    """The colour and line style of the runner in place ``index``: ``COLORS`` in order, dashed on the second round."""
    return COLORS[index % len(COLORS)], "-" if index < len(COLORS) else "--"


def steps_verdict(trajectory: Trajectory, reached: int | None, not_reached: str) -> str:
    """What a race's counter says of one runner: "diverges", ``not_reached``, or the step it reached its target."""
    if trajectory.diverged:
        return "diverges"
    return not_reached if reached is None else str(reached)
