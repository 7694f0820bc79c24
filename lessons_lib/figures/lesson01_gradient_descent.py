"""Figures and the learning-rate explorer of lesson 01 (gradient descent).

The lesson computes its numbers itself; these helpers only draw them:

* ``plot_steepest_ascent``: the gradient at a point, across the contour through
  it, above the slope of the loss in every direction;
* ``plot_1d_runs``: gradient descent on a curve L(θ), one panel per run;
* ``plot_contraction``: the factor |1 − ηλ| per step, and its powers |1 − ηλ|ᵗ;
* ``plot_zigzag``: several runs on one contour map, drawn so that paths close to each other all show;
* ``plot_starts_and_ends``: many runs on a surface, and which of them found the global minimum;
* ``stability_verdict``: what η does to each direction of a quadratic, in words;
* ``LearningRateExplorer``: a learning-rate slider on a quadratic surface, with
  the path, the loss curve and the factors |1 − ηλ| redrawn in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, RACE_FIGSIZE, SMALLEST_GAP, draw_contours, loss_grid
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import Surface

#: ηλ beyond this is not drawn in the factor plots (divergence is clear long before).
LARGEST_ETA_LAMBDA = 2.6

#: The colour of the direction at right angles to the gradient (it lies along the black contour).
RIGHT_ANGLE = "tab:purple"


def plot_steepest_ascent(surface: Surface, point: object, angles: object, slopes: object) -> Figure:
    """The gradient at ``point`` on the contour map (top) and the slope in every direction (below it).

    ``angles`` (radians) and ``slopes`` are the directions u = (cos a, sin a)
    and the measured slopes of L along them, as the lesson computes them. The
    map has equal axis scales, so that a right angle looks like one.
    """
    p = np.asarray(point, dtype=float)
    g = surface.grad(p)
    fig, (ax_map, ax_slope) = plt.subplots(2, 1, figsize=(WIDTH, 6.0), layout="constrained",
                                           gridspec_kw={"height_ratios": [1, 1.1]})
    draw_contours(ax_map, surface, levels=12)
    x = np.linspace(*surface.xlim, 300)
    y = np.linspace(*surface.ylim, 300)
    X, Y = np.meshgrid(x, y)
    ax_map.contour(X, Y, surface.loss(np.stack([X, Y], axis=-1)), levels=[float(surface.loss(p))],
                   colors="black", linewidths=1.6)
    unit = g / np.linalg.norm(g)
    arrow = 0.25 * (surface.ylim[1] - surface.ylim[0])  # arrow length, in the units of the map
    for sign, color, label in ((1, "tab:red", "∇L (uphill)"), (-1, "tab:blue", "−∇L (the step direction)")):
        ax_map.annotate("", xy=p + sign * arrow * unit, xytext=p,
                        arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": 2})
        ax_map.plot([], [], color=color, linewidth=2, label=label)
    along = np.array([-unit[1], unit[0]])  # at right angles to the gradient
    half = min(0.8 * arrow, 0.95 * room_inside(p, along, surface.xlim, surface.ylim))  # stays on the map
    ax_map.plot(*np.stack([p - half * along, p + half * along]).T, color=RIGHT_ANGLE, linestyle=":",
                linewidth=2.2, label="at right angles to ∇L")
    minimum = np.array(surface.minima[0])
    ax_map.plot(*np.stack([p, minimum]).T, linestyle="--", color="gray", label="straight to the minimum")
    ax_map.plot(*p, marker="o", color="black")
    ax_map.set_aspect("equal")
    ax_map.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the map

    degrees = np.degrees(np.ravel(angles))
    ax_slope.plot(degrees, np.ravel(slopes), color="black")
    gradient_angle = np.degrees(np.arctan2(g[1], g[0]))
    ax_slope.axvline(gradient_angle, color="tab:red", linestyle="--", label="direction of ∇L")
    across = [a for a in (gradient_angle - 90, gradient_angle + 90) if degrees.min() <= a <= degrees.max()]
    for index, angle in enumerate(across):
        ax_slope.axvline(angle, color=RIGHT_ANGLE, linestyle=":", linewidth=2,
                         label="at right angles to ∇L" if index == 0 else None)
    ax_slope.axhline(0, color="gray", linewidth=0.8)
    ax_slope.set_xlabel("direction u, angle in degrees")
    ax_slope.set_ylabel("slope of L along u")
    ax_slope.set_title("slope of L in every direction u")
    ax_slope.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the panel
    return fig


def room_inside(point: np.ndarray, direction: np.ndarray, xlim: tuple[float, float],
                ylim: tuple[float, float]) -> float:
    """The largest s ≥ 0 with point ± s·direction both inside the box xlim × ylim."""
    room = np.inf
    for coordinate, (low, high) in zip(range(2), (xlim, ylim)):
        size = abs(direction[coordinate])
        if size > 0:
            room = min(room, (point[coordinate] - low) / size, (high - point[coordinate]) / size)
    return float(room)


def plot_1d_runs(
    loss: Callable[[np.ndarray], np.ndarray],
    paths: Sequence[object],
    titles: Sequence[str],
    xlim: tuple[float, float],
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Gradient descent on a curve: one panel per path, the iterates θ₀, θ₁, … on L(θ), joined in order.

    ``paths`` holds 1-D arrays of positions (θ₀ first), ``titles`` one title per
    path; ``xlim`` (and ``ylim``, or a window fitted to the curve) are shared by
    every panel, so the panels compare at a glance.
    """
    paths = [np.asarray(path, dtype=float).reshape(-1) for path in paths]
    theta = np.linspace(*xlim, 400)
    curve = np.asarray(loss(theta), dtype=np.float64)
    if ylim is None:
        spread = curve.max() - curve.min()
        ylim = (curve.min() - 0.05 * spread, curve.max() + 0.05 * spread)
    columns = min(len(paths), 2)  # two panels a row: each wide enough for its title
    rows = -(-len(paths) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 0.4 + 2.9 * rows), layout="constrained",
                             sharex=True, sharey=True, squeeze=False)
    for ax in axes.flat[len(paths):]:
        ax.remove()
    for ax, path, title in zip(axes.flat, paths, titles):
        ax.plot(theta, curve, color="lightgray", linewidth=2)
        ax.plot(path, loss(path), marker=".", markersize=6, linewidth=0.8, color="tab:blue")
        ax.plot(path[0], loss(path[0]), marker="o", color="tab:blue", markersize=7)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_title(title)
    for ax in axes[-1]:
        ax.set_xlabel("θ")
    for ax in axes[:, 0]:
        ax.set_ylabel("L(θ)")
    return fig


def plot_contraction(
    eigenvalues: object,
    lr: float,
    steps: int,
    measured: Mapping[str, object] | None = None,
) -> Figure:
    """Left: the factor |1 − ηλ| that one step multiplies a direction by, against ηλ, with the
    curvatures ``eigenvalues`` marked at learning rate ``lr``. Right: |1 − ηλ|ᵗ for t = 0 … ``steps``.

    ``measured`` maps a label to a measured ratio |θ_t / θ₀| along one direction
    (t = 0, 1, …), drawn as dots over the predicted lines, in the order of ``eigenvalues``.
    A curvature with ηλ beyond the plotted range is marked at the right edge.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float).reshape(-1)
    fig, (ax_factor, ax_power) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), layout="constrained")
    x = np.linspace(0, LARGEST_ETA_LAMBDA, 400)
    ax_factor.plot(x, np.abs(1 - x), color="black")
    ax_factor.axhline(1, color="gray", linestyle="--", linewidth=0.8)
    ax_factor.axvspan(0, 1, color="tab:green", alpha=0.10)
    ax_factor.axvspan(1, 2, color="tab:orange", alpha=0.12)
    ax_factor.axvspan(2, LARGEST_ETA_LAMBDA, color="tab:red", alpha=0.12)
    for x_text, text in ((0.5, "shrinks\nsame sign"), (1.5, "shrinks\nflips sign"), (2.3, "grows")):
        ax_factor.text(x_text, 1.45, text, ha="center", va="top")
    ax_factor.set_xlim(0, LARGEST_ETA_LAMBDA)
    ax_factor.set_ylim(0, 1.6)
    ax_factor.set_xlabel("ηλ")
    ax_factor.set_ylabel("|1 − ηλ|, the factor per step")
    ax_factor.set_title(f"one step multiplies a direction\nby 1 − ηλ   (η = {lr:g})")

    t = np.arange(steps + 1)
    for curvature, color in zip(eigenvalues, COLORS):
        factor = abs(1 - lr * curvature)
        shown = min(lr * curvature, LARGEST_ETA_LAMBDA - 0.05)
        ax_factor.plot(shown, abs(1 - shown), marker="o", markersize=8, color=color, linestyle="none",
                       label=f"λ = {curvature:g}")
        with np.errstate(under="ignore"):
            ax_power.semilogy(t, np.maximum(factor**t, SMALLEST_GAP), color=color,
                              label=f"λ = {curvature:g}")
    for (label, ratio), color in zip((measured or {}).items(), COLORS):
        ratio = np.maximum(np.abs(np.asarray(ratio, dtype=float)).reshape(-1), SMALLEST_GAP)
        ax_power.plot(np.arange(len(ratio)), ratio, marker="o", markersize=3, linestyle="none",
                      color=color, markerfacecolor="none", label=label)
    ax_factor.legend(loc="lower right")  # under the right arm of the V
    ax_power.set_xlim(0, steps)
    ax_power.set_xlabel("step t")
    ax_power.set_ylabel("how much of the start is left")
    ax_power.set_title("after t steps: |1 − ηλ|ᵗ")
    # the lines' colours are the curvatures of the left panel's legend: one entry says so, the rest are the dots
    lines = Line2D([], [], color="black", label="|1 − ηλ|ᵗ, λ as on the left")
    ax_power.legend(handles=[lines, *ax_power.lines[len(eigenvalues):]], loc="lower left")  # under the steepest line
    return fig


def plot_zigzag(surface: Surface, trajectories: Sequence[Trajectory]) -> Figure:
    """Runs on the contour map (left) and their loss curves (right), all visible where they overlap.

    The first run is drawn on top with the thinnest line, each later one under
    it with a wider, lighter line, so a path that runs close to another (η = 0.45
    beside η = 0.476 on the valley) still shows along both of its edges.
    """
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=RACE_FIGSIZE, layout="constrained")
    draw_contours(ax_map, surface)
    count = len(trajectories)
    for index, (trajectory, color) in enumerate(zip(trajectories, COLORS)):
        width, order = 1.0 + 1.2 * index, 2 + count - index  # later runs: wider, underneath
        alpha = 1.0 if index == 0 else 0.8
        xy = trajectory.positions.reshape(len(trajectory.positions), -1)
        ax_map.plot(xy[:, 0], xy[:, 1], color=color, linewidth=width, alpha=alpha, zorder=order, marker=".",
                    markersize=2 + 2 * index, solid_joinstyle="round", label=trajectory.rule_name)
        ax_map.plot(*xy[0], marker="o", color=color, markersize=5, zorder=order)
        gap = np.maximum(trajectory.losses - surface.min_loss, SMALLEST_GAP)
        ax_loss.semilogy(np.arange(len(gap)), gap, color=color, linewidth=width, alpha=alpha, zorder=order,
                         label=trajectory.rule_name)
    ax_map.legend(loc="upper right", framealpha=0.95)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss − minimum")
    ax_loss.set_title("how fast the loss falls")
    return fig


def plot_starts_and_ends(surface: Surface, starts: object, ends: object, tolerance: float = 0.1) -> Figure:
    """Many runs at once on the contour map: each start a gray dot, each end a star if it is within
    ``tolerance`` of a global minimum of ``surface``, else a red cross (a local minimum or a saddle)."""
    starts = np.asarray(starts, dtype=float).reshape(-1, 2)
    ends = np.asarray(ends, dtype=float).reshape(-1, 2)
    minima = np.array(surface.minima).reshape(-1, 2)
    at_global = (np.linalg.norm(ends[:, None, :] - minima[None], axis=-1) < tolerance).any(axis=1)

    fig, ax = plt.subplots(figsize=(WIDTH, 5.4), layout="constrained")
    pale_lines, *_ = draw_contours(ax, surface, levels=15)  # the window, the title and the minimum
    pale_lines.remove()  # on the ripples, shaded bands read better than faint lines
    X, Y, Z = loss_grid(surface, resolution=300)
    shading = ax.contourf(X, Y, Z - surface.min_loss, levels=12, cmap="Greys", alpha=0.6, zorder=0)
    fig.colorbar(shading, ax=ax, location="bottom", shrink=0.8, label="loss − minimum (dark: high)")
    ax.plot(*starts.T, marker=".", color="tab:blue", markersize=4, linestyle="none", label="start")
    ax.plot(*ends[~at_global].T, marker="x", color="tab:red", markersize=7, linestyle="none",
            label=f"end elsewhere ({(~at_global).sum()})")
    ax.plot(*ends[at_global].T, marker="*", color="tab:green", markersize=12, linestyle="none",
            label=f"end at the global minimum ({at_global.sum()})")
    ax.set_aspect("equal")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the map
    return fig


def direction_word(factor: float) -> str:
    """What one direction does when each step multiplies it by ``factor`` = 1 − ηλ."""
    if abs(factor) > 1:
        return "grows, flipping sign" if factor < 0 else "grows"
    if abs(factor) == 1:
        return "neither shrinks nor grows"
    if factor < 0:
        return "shrinks, flipping sign"
    return "shrinks" if factor > 0 else "is done in one step"


def stability_verdict(lr: float, eigenvalues: object) -> str:
    """Gradient descent with learning rate ``lr`` on a quadratic with curvatures ``eigenvalues``, in words.

    One line per direction (its factor 1 − ηλ per step), then the verdict:
    converges (every |1 − ηλ| < 1, i.e. η < 2/λ_max) or diverges, and for a
    converging run how many steps the slowest direction needs to shrink 1000 times.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float).reshape(-1)
    limit = 2 / eigenvalues.max()
    factors = 1 - lr * eigenvalues
    lines = [f"η = {lr:.3g},  limit 2/λ_max = {limit:.3g}"]
    lines += [f"λ = {curvature:g}: 1 − ηλ = {factor:+.4g}, {direction_word(factor)}".replace("-", "−")
              for curvature, factor in zip(eigenvalues, factors)]
    slowest = np.abs(factors).max()
    if slowest > 1:
        lines.append("diverges: η is above the limit")
    elif slowest == 1:
        lines.append("does not converge: η is at the limit")
    elif slowest == 0:
        lines.append("converges in one step")
    else:
        lines.append(f"converges; 1000× closer takes {np.log(1e-3) / np.log(slowest):.0f} steps")
    return "\n".join(lines)


def loss_window(start_gap: float, eigenvalues: object, steps: int) -> tuple[float, float]:
    """The loss axis of the explorer: from a decade below the lowest gap any fixed η reaches in ``steps``
    steps, start_gap·((κ − 1)/(κ + 1))^(2·steps) at the best η, to a decade above the start.

    A diverging run leaves the top (the map says it diverged); nothing can leave the bottom.
    """
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    kappa = eigenvalues.max() / eigenvalues.min()
    lowest = max(start_gap * ((kappa - 1) / (kappa + 1)) ** (2 * steps), SMALLEST_GAP)
    return 10.0 ** (np.floor(np.log10(lowest)) - 1), 10.0 ** (np.ceil(np.log10(start_gap)) + 1)


class LearningRateExplorer:
    """A learning-rate slider for gradient descent on a quadratic surface, redrawn in place.

    Three panels side by side (a wide, short picture, which a projector shows without shrinking
    its text): the path on the contour map, the loss gap per step (log scale, ``loss_window``),
    and the factor |1 − ηλ| of each curvature of the surface (one dot each: blue for the
    smallest λ, then orange), with the words of ``stability_verdict`` in two lines under the
    figure. All axis limits are fixed, so a change of η redraws only the moving artists.

    ``panel`` holds the slider above the live picture; ``snapshot()`` is the
    same picture as a static image.
    """

    def __init__(self, surface: Surface, lr: float = 0.45, steps: int = 100,
                 low: float = 1e-3, high: float = 1.0, start: object | None = None) -> None:
        self.surface, self.steps = surface, steps
        self.start = np.asarray(surface.start if start is None else start, dtype=float)
        self.eigenvalues = np.linalg.eigvalsh(surface.hessian)
        self.slider = log_slider("learning rate η", lr, low, high)

        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
        figure.get_layout_engine().set(rect=(0, 0.14, 1, 0.86))  # the bottom strip holds the verdict
        panels = figure.subplot_mosaic([["map", "loss", "factor"]], width_ratios=[1.45, 1, 1])
        self.ax_map, self.ax_loss, self.ax_factor = panels["map"], panels["loss"], panels["factor"]
        draw_contours(self.ax_map, surface, levels=15)
        (self.path,) = self.ax_map.plot([], [], marker=".", markersize=3, linewidth=1.2, color="tab:blue")
        self.ax_map.plot(*self.start, marker="o", markersize=5, color="tab:blue")
        self.stopped = self.ax_map.text(0.04, 0.04, "", transform=self.ax_map.transAxes, color="darkred",
                                        verticalalignment="bottom",
                                        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})

        start_gap = float(surface.loss(self.start)) - surface.min_loss
        (self.curve,) = self.ax_loss.semilogy([], [], color="tab:blue")
        self.ax_loss.set_xlim(0, self.steps)
        self.ax_loss.set_ylim(*loss_window(start_gap, self.eigenvalues, self.steps))
        self.ax_loss.axhline(start_gap, color="gray", linestyle=":", linewidth=0.8)
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("loss − minimum")
        self.ax_loss.set_title("loss (dotted: start)")

        x = np.linspace(0, LARGEST_ETA_LAMBDA, 200)
        self.ax_factor.plot(x, np.abs(1 - x), color="black")
        self.ax_factor.axhline(1, color="gray", linestyle="--", linewidth=0.8)
        self.ax_factor.axvspan(2, LARGEST_ETA_LAMBDA, color="tab:red", alpha=0.12)
        self.ax_factor.set_xlim(0, LARGEST_ETA_LAMBDA)
        self.ax_factor.set_ylim(0, 1.6)
        self.ax_factor.set_xlabel("ηλ  (red: diverges)")
        self.ax_factor.set_ylabel("|1 − ηλ|")
        self.ax_factor.set_title("factor per step")
        # one dot per curvature, coloured as in plot_contraction (smallest λ first: blue, orange, ...)
        self.dots = [self.ax_factor.plot([], [], marker="o", markersize=8, color=color, linestyle="none",
                                         label=f"λ = {curvature:g}")[0]
                     for curvature, color in zip(self.eigenvalues, COLORS)]
        self.ax_factor.legend(loc="upper center")
        self.verdict = figure.text(0.01, 0.01, "", verticalalignment="bottom")

        self.live = LiveFigure(figure)
        self.live.animate(self.path, self.curve, *self.dots, self.verdict, self.stopped)
        self.panel = self.live.panel([self.slider], self.update)

    def update(self) -> None:
        """Run gradient descent with the slider's η and move the path, the curve, the dots and the words."""
        lr = self.slider.value
        trajectory = run(SGD(lr=lr, name="gradient descent"), self.surface, self.start, self.steps)
        xy = trajectory.positions
        self.path.set_data(xy[:, 0], xy[:, 1])
        gap = np.maximum(trajectory.losses - self.surface.min_loss, SMALLEST_GAP)
        self.curve.set_data(np.arange(len(gap)), gap)
        eta_lambda = np.minimum(lr * self.eigenvalues, LARGEST_ETA_LAMBDA - 0.05)  # off the chart: at its edge
        for dot, x in zip(self.dots, eta_lambda):
            dot.set_data([x], [abs(1 - x)])
        first, *directions, conclusion = stability_verdict(lr, self.eigenvalues).split("\n")
        self.verdict.set_text(f"{first}.   {conclusion[0].upper()}{conclusion[1:]}.\n"
                              + ";   ".join(directions) + ".")
        # three short lines: the map is a third of the figure's width
        self.stopped.set_text(trajectory.message.replace(" at step", "\nat step").replace(" (", "\n(")
                              if trajectory.diverged else "")

    def snapshot(self) -> Image:
        """The picture as it is now, as a static image to ``display``."""
        return self.live.snapshot()
