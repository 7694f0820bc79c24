"""Figures of the course: loss surfaces as contour maps, trajectories drawn on them, loss curves.

Every function takes the axes to draw on (or makes a figure of a fixed size),
so notebooks stay short and their stored figures are the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lessons_lib.runner import Trajectory
from lessons_lib.surfaces import Surface

#: Size of the two-panel figure (map left, loss curves right), in inches.
RACE_FIGSIZE = (11.0, 4.2)

#: Loss gaps below this are drawn at this value on log axes (0 cannot be shown).
SMALLEST_GAP = 1e-16


def check_surface_and_trajectories(surface: object, trajectories: object) -> None:
    """Raise a clear ValueError unless we have a Surface and a list of 2-D trajectories with losses."""
    if not isinstance(surface, Surface):
        raise ValueError(f"surface must be a Surface (e.g. get_surface('valley')), got {surface!r}")
    if isinstance(trajectories, Trajectory) or not all(isinstance(t, Trajectory) for t in trajectories):
        raise ValueError("trajectories must be a list of Trajectory objects, as returned by runner.run")
    for trajectory in trajectories:
        if trajectory.positions.shape[1:] != (2,) or trajectory.losses is None:
            raise ValueError(
                f"{trajectory.rule_name}: only runs of one 2-D point on a surface can be drawn here, "
                f"got positions of shape {trajectory.positions.shape}"
            )


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
    ax.set_title(f"{surface.title}: {surface.formula}", fontsize=10)
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


def draw_lr_sweep(ax: Axes, lrs: np.ndarray, losses: np.ndarray, label: str, color: str, top: float) -> None:
    """One optimizer's learning-rate search: its loss after training against η, the lowest point circled.

    Losses above ``top`` (infinite for a run that diverged) are drawn at ``top``,
    as triangles, so that one bad run does not stretch the axis.
    """
    off = losses > top
    shown = np.where(off, top, losses)
    ax.plot(lrs, shown, marker=".", color=color, label=label)
    ax.plot(lrs[off], shown[off], marker="^", linestyle="none", color=color)
    best = int(np.argmin(losses))
    ax.plot(lrs[best], losses[best], marker="o", markersize=10, markerfacecolor="none", color=color, markeredgewidth=1.5)


def plot_race(surface: Surface, trajectories: Sequence[Trajectory]) -> Figure:
    """Trajectories over the contour map (left) and their loss curves (right), in one fixed-size figure."""
    check_surface_and_trajectories(surface, trajectories)
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=RACE_FIGSIZE, layout="constrained")
    draw_contours(ax_map, surface)
    for trajectory in trajectories:
        line = draw_trajectory(ax_map, trajectory)
        draw_loss_curve(ax_loss, trajectory, surface.min_loss, color=line.get_color())
    ax_map.legend(loc="upper right", fontsize=9)
    ax_loss.set_title("how fast the loss falls", fontsize=10)
    return fig
