"""A live race: several runs on one surface, redrawn in place as controls change.

Left, the paths over the contour map; right, loss − minimum per step on a log
scale. Lessons use it with a slider or two; the playground with every knob.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from lessons_lib.checks import check_positive_int
from lessons_lib.figures.plotting import RACE_FIGSIZE, SMALLEST_GAP, check_surface_and_trajectories, draw_contours
from lessons_lib.runner import Trajectory
from lessons_lib.surfaces import Surface
from lessons_lib.figures.live import LiveFigure

#: One colour per runner, the same in every figure of the course.
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")

#: The loss axis spans this many decades below its top.
LOSS_DECADES = 12


class LiveRace:
    """Up to eight runs on a surface, as a ``LiveFigure`` whose paths and curves change in place.

    ``labels`` names the runners (their colours follow ``COLORS``); ``show``
    takes one trajectory per label, or None to hide that runner. A run that
    diverged is drawn up to its last finite point and named in a note on the map.
    """

    def __init__(self, surface: Surface, labels: Sequence[str], steps: int, dpi: int = 72) -> None:
        if not 1 <= len(labels) <= len(COLORS):
            raise ValueError(f"labels must name 1 to {len(COLORS)} runners, got {len(labels)}")
        figure = Figure(figsize=RACE_FIGSIZE, dpi=dpi, layout="constrained")
        self.ax_map, self.ax_loss = figure.subplots(1, 2)
        self.live = LiveFigure(figure)
        self.labels = list(labels)
        self.paths, self.starts, self.curves = [], [], []
        for label, color in zip(self.labels, COLORS):
            (path,) = self.ax_map.plot([], [], marker=".", markersize=3, linewidth=1.2, color=color, label=label)
            (start,) = self.ax_map.plot([], [], marker="o", markersize=5, color=color, linestyle="none")
            (curve,) = self.ax_loss.plot([], [], color=color, label=label)
            self.paths.append(path)
            self.starts.append(start)
            self.curves.append(curve)
        self.note = self.ax_map.text(0.02, 0.02, "", transform=self.ax_map.transAxes, fontsize=9, color="darkred",
                                     verticalalignment="bottom")
        self.live.animate(*self.paths, *self.starts, *self.curves, self.note)
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("loss − minimum")
        self.ax_loss.set_title("how fast the loss falls", fontsize=10)
        self._legend_for: list[str] | None = None
        self.surface: Surface | None = None
        self._contour_artists: list = []
        self._loss_top = None
        self.set_surface(surface, steps)

    def set_surface(self, surface: Surface, steps: int) -> None:
        """Draw a new contour map and step axis (the slow part: call it only when they change)."""
        check_surface_and_trajectories(surface, [])
        steps = check_positive_int(steps, "steps")
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
        if len(trajectories) != len(self.labels):
            raise ValueError(f"show needs one trajectory (or None) per runner: {len(self.labels)}, got {len(trajectories)}")
        shown = [trajectory for trajectory in trajectories if trajectory is not None]
        check_surface_and_trajectories(self.surface, shown)
        self._fit_loss_axis(shown)
        self._update_legend([label for label, t in zip(self.labels, trajectories) if t is not None])
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
        self.note.set_text("\n".join(trajectory.message for trajectory in shown if trajectory.diverged))

    def _update_legend(self, labels: list[str]) -> None:
        """A legend of the runners shown (redrawn only when that list changes)."""
        if labels != self._legend_for:
            self._legend_for = labels
            handles = [curve for curve, label in zip(self.curves, self.labels) if label in labels]
            self.ax_loss.legend(handles=handles, labels=labels, loc="upper right", fontsize=9)
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
