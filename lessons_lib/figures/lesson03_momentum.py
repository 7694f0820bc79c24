"""Figures and widgets of lesson 03, Momentum.

The lesson writes the update rules itself; this module keeps the plumbing:

* ``first_step_below``: the first step whose loss is below a target;
  ``steps_to_stay_below`` (``lessons_lib.runner``'s): the step from which on it stays below (the stricter count);
* ``steps_to_reach``: how many steps momentum needs on a quadratic surface, for
  a whole grid of learning rates and β at once (a grid search in milliseconds);
* ``race_figure``: a race whose map has room for every path;
* ``weight_window_figure``: how much weight momentum gives to each past gradient;
* ``iteration_matrix`` and ``classify_regimes``: the (η, β) regimes of momentum on
  a one-dimensional quadratic, from the eigenvalues of its 2×2 iteration matrix;
  ``draw_regime_map`` colours them, and ``heavy_ball_1d`` runs one point of the map;
  ``largest_modulus``: how much a step shrinks θ in the long run (heavy ball or Nesterov);
* ``old_velocity_figure``: the right classical rule beside the one that adds the old velocity;
* ``lookahead_figure``: one step of heavy ball and of Nesterov from the same point;
* ``kinked_loss`` and ``kinked_grad``: a convex loss made of three quadratic pieces
  (Lessard, Recht & Packard, 2016), on which tuned heavy ball cycles; ``cycle_figure``;
* ``MomentumRace``: gradient descent, momentum and Nesterov racing on a surface,
  with η and β on sliders;
* ``RegimeExplorer``: a point on the regime map and the path θ_t it gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, draw_contours, plot_race
from lessons_lib.figures.race import LiveRace, steps_verdict
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD
from lessons_lib.runner import Trajectory, run, steps_to_stay_below  # noqa: F401 (the notebook calls it here)
from lessons_lib.surfaces import Surface, get_surface

#: The four behaviours of momentum on a quadratic, in the order of ``classify_regimes``' codes 0-3.
REGIMES = ("monotone", "ripples", "flips sign", "diverges")

#: One colour per regime (light, so that lines drawn over the map stay readable).
REGIME_COLORS = ("#cfe8cf", "#cfe0f5", "#f9ddb8", "#f2c4c4")

#: The three runners of ``MomentumRace``.
RACE_LABELS = ("gradient descent", "momentum", "Nesterov")


# --- counting steps on a quadratic -------------------------------------------------------------


def first_step_below(losses: object, target: float) -> int | None:
    """The first step t with ``losses[t] < target``, or None if the loss never gets there."""
    below = np.flatnonzero(np.asarray(losses) < target)
    return int(below[0]) if below.size else None


def steps_to_reach(
    surface: Surface,
    lr: object,
    beta: object = 0.0,
    target: float = 1e-6,
    max_steps: int = 1000,
    nesterov: bool = False,
    start: object = None,
    stay: bool = False,
) -> np.ndarray:
    """Steps PyTorch's momentum needs to bring the loss of a quadratic ``surface`` below ``target``.

    ``lr`` and ``beta`` are numbers or arrays (broadcast together, e.g. a grid
    made with ``np.meshgrid``); every pair is run at once, as
    ``SGD(lr, momentum=beta, nesterov=nesterov)`` from ``start`` (default: the
    surface's start). β = 0 is plain gradient descent.

    Returns a float array of the broadcast shape: the first step t with
    L(θ_t) − L_min < ``target`` (with ``stay=True``: the first step from which
    on it stays below, up to step ``max_steps``), or ``inf`` where that does not
    happen within ``max_steps`` steps (too slow, or diverging).
    """
    start = np.asarray(surface.start if start is None else start, dtype=float)
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=float), np.asarray(beta, dtype=float))
    hessian = np.asarray(surface.hessian)
    lr, beta = lr[..., None], beta[..., None]  # one column per coordinate
    theta = np.broadcast_to(start, lr.shape[:-1] + (2,)).copy()
    steps = np.full(lr.shape[:-1], np.inf)
    last_above = np.zeros(lr.shape[:-1])  # the start counts as above the target
    buffer = None
    g = theta @ hessian  # the gradient of ½ θᵀHθ (H is symmetric)
    with np.errstate(all="ignore"):  # diverging runs overflow to inf/NaN; their count stays inf
        for t in range(1, max_steps + 1):
            buffer = g if buffer is None else beta * buffer + g
            theta = theta - lr * (g + beta * buffer if nesterov else buffer)
            g = theta @ hessian  # the next gradient, Hθ; and the gap ½ θᵀHθ from it
            gap = 0.5 * np.sum(theta * g, axis=-1)
            if stay:
                last_above[~(gap < target)] = t  # NaN counts as above
            else:
                steps[(gap < target) & np.isinf(steps)] = t
                if np.isfinite(steps).all():
                    break
    if stay:
        steps = np.where(last_above < max_steps, last_above + 1, np.inf)
    return steps


def race_figure(surface: Surface, trajectories: Sequence[Trajectory], margin: float = 0.3) -> Figure:
    """``plot_race``, with the map widened where a path leaves the surface's window (by ``margin``),
    and its legend under the map (the paths of a race fill the map), in a figure taller for it."""
    points = np.concatenate([t.positions.reshape(len(t.positions), -1) for t in trajectories])
    low, high = points.min(axis=0) - margin, points.max(axis=0) + margin
    xlim = (min(surface.xlim[0], low[0]), max(surface.xlim[1], high[0]))
    ylim = (min(surface.ylim[0], low[1]), max(surface.ylim[1], high[1]))
    fig = plot_race(replace(surface, xlim=xlim, ylim=ylim), trajectories)
    fig.set_figheight(fig.get_figheight() + 1.0)
    fig.axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=3.5)  # under the axis label
    return fig


# --- how far back momentum remembers -----------------------------------------------------------


def weight_window_figure(
    betas: Sequence[float], k_max: int = 60, cumulative_betas: Sequence[float] | None = None
) -> Figure:
    """Left: the weight (1 − β) β^k that momentum's average gives the gradient k steps back, for each β,
    with the horizon k = 1/(1 − β) marked. Right: the total weight 1 − β^n of the last n gradients,
    with n counted in horizons; every β gives nearly the same curve, 1 − e^(−n(1−β)).

    ``cumulative_betas`` (default: ``betas``) are the β drawn on the right.
    """
    cumulative_betas = betas if cumulative_betas is None else cumulative_betas
    colors = dict(zip(sorted(set(betas) | set(cumulative_betas)), COLORS))  # one colour per β, in both panels

    fig, (ax_weights, ax_total) = plt.subplots(1, 2, figsize=(WIDTH, 4.8), layout="constrained")
    k = np.arange(k_max + 1)
    for beta in betas:
        color = colors[beta]
        horizon = 1 / (1 - beta)
        ax_weights.plot(k, (1 - beta) * beta**k, marker=".", markersize=3, color=color,
                        label=f"β = {beta:g}")
        if horizon <= k_max:
            ax_weights.axvline(horizon, color=color, linestyle="--", linewidth=1)
    ax_weights.set_xlabel("k: how many steps back")
    ax_weights.set_ylabel("weight (1 − β) β^k")
    ax_weights.set_title("weight of the gradient k steps back\n(dashed: k = 1/(1−β))")
    ax_weights.legend(loc="upper right")  # right of the dashed lines, above the tails

    for beta in cumulative_betas:
        color = colors[beta]
        horizon = 1 / (1 - beta)
        n = np.arange(0, int(np.ceil(4 * horizon)) + 1)
        ax_total.plot(n / horizon, 1 - beta**n, color=color, label=f"β = {beta:g}")
    ax_total.axhline(1 - np.exp(-1), color="black", linestyle=":", linewidth=1)
    ax_total.axvline(1, color="black", linestyle="--", linewidth=1)
    ax_total.text(1.05, 0.05, "one horizon,\nn = 1/(1−β)")
    ax_total.text(2.4, 1 - np.exp(-1) - 0.08, "1 − 1/e ≈ 0.632")
    ax_total.set_xlim(0, 4)
    ax_total.set_ylim(0, 1.02)
    ax_total.set_xlabel("n (1 − β): the last n gradients,\ncounted in horizons")
    ax_total.set_ylabel("total weight of the last n gradients")
    ax_total.set_title("in units of the horizon,\nevery β remembers alike")
    ax_total.legend(loc="lower right")
    return fig


# --- the (η, β) regimes on a one-dimensional quadratic ------------------------------------------


def iteration_matrix(lr_times_curvature: object, beta: object, nesterov: bool = False) -> np.ndarray:
    """The matrices A with (θ_{t+1}, θ_t) = A (θ_t, θ_{t−1}) for momentum on L = λθ²/2.

    Heavy ball: A = [[1 + β − ηλ, −β], [1, 0]]. Nesterov (PyTorch's form, from
    its second step on): A = [[(1 + β)(1 − ηλ), −β(1 − ηλ)], [1, 0]]. Inputs
    broadcast, the result has shape (..., 2, 2).
    """
    a, beta = np.broadcast_arrays(np.asarray(lr_times_curvature, dtype=float), np.asarray(beta, dtype=float))
    matrix = np.empty(a.shape + (2, 2))
    if nesterov:
        matrix[..., 0, 0] = (1 + beta) * (1 - a)
        matrix[..., 0, 1] = -beta * (1 - a)
    else:
        matrix[..., 0, 0] = 1 + beta - a
        matrix[..., 0, 1] = -beta
    matrix[..., 1, 0] = 1
    matrix[..., 1, 1] = 0
    return matrix


def largest_modulus(lr_times_curvature: object, beta: object, nesterov: bool = False) -> np.ndarray:
    """The largest |eigenvalue| of ``iteration_matrix``: the factor a step shrinks θ by in the long run.

    From the trace τ and determinant δ of A: the eigenvalues are (τ ± √(τ² − 4δ))/2,
    so the largest modulus is √δ when they are complex, (|τ| + √(τ² − 4δ))/2 when real.
    (Closed form: fast enough for grids of millions of points.)
    """
    a, beta = np.broadcast_arrays(np.asarray(lr_times_curvature, dtype=float), np.asarray(beta, dtype=float))
    if nesterov:
        trace, det = (1 + beta) * (1 - a), beta * (1 - a)
    else:
        trace, det = 1 + beta - a, beta
    disc = trace**2 - 4 * det
    with np.errstate(invalid="ignore"):
        return np.where(disc < 0, np.sqrt(np.abs(det)), (np.abs(trace) + np.sqrt(np.maximum(disc, 0))) / 2)


def classify_regimes(lr_times_curvature: object, beta: object) -> np.ndarray:
    """The regime of momentum at each (ηλ, β), as codes into ``REGIMES``.

    From the eigenvalues of ``iteration_matrix``: 3 (diverges) if the largest
    has modulus >= 1; else 1 (ripples) if they are complex; else 2 (flips sign)
    if the largest in modulus is negative; else 0 (monotone).
    """
    eigenvalues = np.linalg.eigvals(iteration_matrix(lr_times_curvature, beta))
    largest = np.take_along_axis(eigenvalues, np.abs(eigenvalues).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    regimes = np.zeros(largest.shape, dtype=int)
    regimes[largest.real < 0] = 2
    regimes[np.abs(eigenvalues.imag).max(axis=-1) > 0] = 1
    regimes[np.abs(largest) >= 1] = 3
    return regimes


def draw_regime_map(ax: Axes, lr_times_curvature: object, beta: object, regimes: object) -> None:
    """Colour the (ηλ, β) plane by regime (codes into ``REGIMES``), with a legend.

    ``lr_times_curvature`` and ``beta`` are the 1-D axes of the grid; ``regimes``
    has shape (len(beta), len(lr_times_curvature)).
    """
    x, y = lr_times_curvature, beta
    colormap = ListedColormap(REGIME_COLORS)
    ax.pcolormesh(x, y, regimes, cmap=colormap, norm=BoundaryNorm(np.arange(-0.5, 4), 4), shading="nearest")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_xlabel("ηλ: learning rate × curvature")
    ax.set_ylabel("β")
    handles = [Patch(facecolor=color, edgecolor="grey", label=name) for name, color in zip(REGIMES, REGIME_COLORS)]
    ax.legend(handles=handles, loc="lower right", framealpha=0.9)


def heavy_ball_1d(lr_times_curvature: float, beta: float, steps: int, theta0: float = 1.0) -> Trajectory:
    """Run ``SGD(lr=ηλ, momentum=β)`` on L = θ²/2 (curvature 1, so η = ηλ) from θ₀; a 1-D trajectory."""
    rule = SGD(lr=lr_times_curvature, momentum=beta, name="momentum")
    return run(rule, lambda theta: theta, np.array([theta0]), steps, loss=lambda theta: 0.5 * theta**2)


class RegimeExplorer:
    """Sliders for ηλ and β: a marker on the regime map (left) and the path θ_t it gives (right).

    ``lr_times_curvature``, ``beta`` and ``regimes`` are the map, as for
    ``draw_regime_map``; ``value`` is where the marker starts; ``marks`` are
    fixed points to label on the map, ``{"label": (ηλ, β)}``, drawn as ★.
    """

    def __init__(
        self,
        lr_times_curvature: object,
        beta: object,
        regimes: object,
        value: tuple[float, float] = (0.5, 0.5),
        steps: int = 40,
        marks: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        x, y, self.steps = lr_times_curvature, beta, steps
        figure = Figure(figsize=(WIDTH, 4.4), layout="constrained")
        self.ax_map, self.ax_path = figure.subplots(1, 2)
        draw_regime_map(self.ax_map, x, y, regimes)
        for label, point in (marks or {}).items():
            self.ax_map.plot(*point, marker="*", color="black", markersize=12, linestyle="none")
            self.ax_map.annotate(label, point, textcoords="offset points", xytext=(7, -15))
        (self.marker,) = self.ax_map.plot([], [], marker="o", color="black", markersize=8, linestyle="none")
        self.ax_path.axhline(0, color="grey", linewidth=0.8)
        (self.path,) = self.ax_path.plot([], [], marker=".", color="tab:orange")
        self.ax_path.set_xlim(0, self.steps)
        self.ax_path.set_ylim(-1.5, 1.5)
        self.ax_path.set_xlabel("step t")
        self.ax_path.set_ylabel("θ_t")
        self.readout = self.ax_path.text(0.98, 0.03, "", transform=self.ax_path.transAxes, ha="right",
                                         bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9})
        self.ax_path.set_title("momentum on L = λθ²/2 from θ₀ = 1")
        self.live = LiveFigure(figure)
        self.live.animate(self.marker, self.path, self.readout)

        self.lr_slider = widgets.FloatSlider(value=value[0], min=x[0], max=x[-1], step=0.01, description="ηλ",
                                             readout_format=".2f", style={"description_width": "initial"})
        self.beta_slider = widgets.FloatSlider(value=value[1], min=max(y[0], 0.0), max=min(y[-1], 0.99), step=0.01,
                                               description="β", readout_format=".2f",
                                               style={"description_width": "initial"})
        self.panel = self.live.panel([self.lr_slider, self.beta_slider], self.update)

    def update(self) -> None:
        """Move the marker, re-run momentum and say which regime the eigenvalues predict."""
        a, beta = self.lr_slider.value, self.beta_slider.value
        self.marker.set_data([a], [beta])
        path = heavy_ball_1d(a, beta, self.steps)
        self.path.set_data(np.arange(len(path.positions)), path.positions[:, 0])
        eigenvalues = np.linalg.eigvals(iteration_matrix(a, beta))
        regime = REGIMES[int(classify_regimes(a, beta))]
        self.readout.set_text(f"{regime}: largest |eigenvalue| = {np.abs(eigenvalues).max():.3f}")

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()


# --- adding the old velocity ------------------------------------------------------------------


def old_velocity_figure(right: object, wrong: object) -> Figure:
    """The y coordinate (across the valley) of the right classical rule and of the rule that adds the old velocity.

    ``right`` and ``wrong`` are paths of shape (steps + 1, 2). The wrong rule
    leaves the plot once it swings past |y| = 8.
    """
    right, wrong = np.asarray(right), np.asarray(wrong)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8), layout="constrained")
    ax.plot(right[:, 1], marker=".", label=r"$\theta_{t+1} = \theta_t + v_{t+1}$  (right)")
    ax.plot(wrong[:, 1], marker=".", label=r"$\theta_{t+1} = \theta_t + v_t$  (old velocity: wrong)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$y_t$, across the valley")
    ax.set_ylim(-8, 8)
    ax.legend(loc="upper left")
    return fig


# --- Nesterov's look-ahead -----------------------------------------------------------------------


def lookahead_figure(surface: Surface, theta: object, velocity: object, lr: float, beta: float,
                     xlim: tuple[float, float] | None = None, ylim: tuple[float, float] | None = None) -> Figure:
    """One step of heavy ball and one of Nesterov from the same point θ with the same velocity v.

    Both first coast by βv to the look-ahead point θ + βv. Heavy ball then steps
    by −η∇L(θ), the gradient where it *was*; Nesterov by −η∇L(θ + βv), the
    gradient where it is *going* (the classical form v ← βv − ηg, θ ← θ + v).
    """
    theta, velocity = np.asarray(theta, dtype=float), np.asarray(velocity, dtype=float)
    ahead = theta + beta * velocity
    heavy = ahead - lr * surface.grad(theta)
    nesterov = ahead - lr * surface.grad(ahead)

    fig, ax = plt.subplots(figsize=(WIDTH, 4.6), layout="constrained")
    draw_contours(ax, surface)
    ax.set_xlim(*(xlim or surface.xlim))
    ax.set_ylim(*(ylim or surface.ylim))
    ax.set_aspect("equal")  # a unit of x looks as long as a unit of y, as in lesson 01's maps

    def arrow(tail: np.ndarray, head: np.ndarray, color: str) -> None:
        ax.annotate("", xy=head, xytext=tail, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2})

    arrow(theta, ahead, "grey")
    arrow(ahead, heavy, "tab:orange")
    arrow(ahead, nesterov, "tab:green")
    ax.plot(*theta, "o", color="black")
    ax.plot(*ahead, "o", color="grey")
    ax.plot(*heavy, "o", color="tab:orange", label="heavy ball: then −η∇L(θ),\nthe gradient where it was")
    ax.plot(*nesterov, "o", color="tab:green",
            label="Nesterov: then −η∇L(θ + βv),\nthe gradient where it is going")
    ax.plot([], [], color="grey", lw=2, label="both: first coast by βv\nto θ + βv")
    ax.annotate("θ", theta, textcoords="offset points", xytext=(-12, 6))
    ax.annotate("θ + βv", ahead, textcoords="offset points", xytext=(-48, -14))
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), labelspacing=1.0)  # beside the map
    ax.set_title("one step from the same θ and v")
    return fig


# --- beyond quadratics: a loss on which tuned heavy ball cycles -----------------------------------


def kinked_loss(x: object) -> np.ndarray:
    """A convex loss of one variable, made of three quadratic pieces (Lessard, Recht & Packard, 2016)::

        f(x) = 25 x²/2               for x < 1
               x²/2 + 24 x − 12      for 1 ≤ x < 2
               25 x²/2 − 24 x + 36   for x ≥ 2

    Its curvature is 25 or 1 (so μ = 1, L = 25, κ = 25), its gradient is
    continuous, and its minimum is f(0) = 0.
    """
    x = np.asarray(x, dtype=float)
    return np.where(x < 1, 12.5 * x**2, np.where(x < 2, 0.5 * x**2 + 24 * x - 12, 12.5 * x**2 - 24 * x + 36))


def kinked_grad(x: object) -> np.ndarray:
    """The gradient of ``kinked_loss``: 25x, x + 24, 25x − 24 on the three pieces."""
    x = np.asarray(x, dtype=float)
    return np.where(x < 1, 25 * x, np.where(x < 2, x + 24, 25 * x - 24))


def cycle_figure(trajectories: Sequence[Trajectory], steps_shown: int = 60) -> Figure:
    """Left: ``kinked_loss`` and the last three points of each 1-D run. Right: each run's loss per step (log)."""
    fig, (ax_f, ax_loss) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), layout="constrained")
    x = np.linspace(-2.5, 3.5, 400)
    ax_f.plot(x, kinked_loss(x), color="black", linewidth=1)
    for edge in (1, 2):
        ax_f.axvline(edge, color="grey", linestyle=":", linewidth=1)
    for trajectory, color in zip(trajectories, COLORS[1:]):
        last = trajectory.positions[-3:, 0]
        ax_f.plot(last, kinked_loss(last), "o", color=color, markersize=8,
                  label=trajectory.rule_name)
        losses = np.maximum(trajectory.losses[: steps_shown + 1], 1e-16)
        ax_loss.semilogy(np.arange(len(losses)), losses, marker=".", markersize=3, color=color,
                         label=trajectory.rule_name)
    ax_f.set_xlabel("x")
    ax_f.set_ylabel("f(x)")
    ax_f.set_title("three quadratic pieces\n(dotted: where they meet)")
    ax_f.legend(loc="upper center", title="last 3 points")  # above the bottom of the curve
    ax_loss.set_ylim(1e-16, 1e4)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("f(x_t) − f(0)\n(below 1e-16 drawn at 1e-16)")
    ax_loss.set_title(f"the first {steps_shown} steps")
    ax_loss.legend(loc="lower left")
    return fig


# --- the race ---------------------------------------------------------------------------------


class MomentumRace:
    """Gradient descent, momentum (PyTorch's heavy ball) and Nesterov on one surface, all with the same η.

    Sliders: η (log scale) and β. Left, the paths; right, the loss curves; above both, the figure's title
    counts the steps each needs until its loss stays below ``target`` (within the ``steps`` shown).
    """

    def __init__(self, surface: str = "valley", lr: float = 0.1, beta: float = 0.9, steps: int = 150,
                 target: float = 1e-6) -> None:
        self.surface = get_surface(surface)
        self.steps, self.target = steps, target
        self.lr_slider = log_slider("learning rate η", lr, 0.001, 1.0)
        self.beta_slider = widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01, description="momentum β",
                                               readout_format=".2f", style={"description_width": "initial"})
        self.race = LiveRace(self.surface, list(RACE_LABELS), self.steps)
        # the target as a dotted line (plot, not axhline: autoscaling an empty log axis would warn)
        self.race.ax_loss.plot([0, self.steps], [self.target, self.target], color="grey", linestyle=":",
                               linewidth=1, scalex=False, scaley=False)
        # The figure's title counts the steps (a title never hides a curve; over both panels, three counts fit on
        # a line). It gets two lines now, because the layout is computed once, at the first draw, and must leave
        # room for both.
        self.counts = self.race.live.figure.suptitle("steps to the target\n(filled in by update)")
        self.race.live.animate(self.counts)
        self.status = widgets.HTML()
        self.panel = self.race.live.panel([self.lr_slider, self.beta_slider], self.update, self.status)

    def rules(self) -> list[SGD]:
        """The three rules at the sliders' values."""
        lr, beta = self.lr_slider.value, self.beta_slider.value
        if beta == 0:  # momentum = 0 is gradient descent; Nesterov needs momentum > 0
            return [SGD(lr=lr, name=label) for label in RACE_LABELS]
        return [SGD(lr=lr, name=RACE_LABELS[0]),
                SGD(lr=lr, momentum=beta, name=RACE_LABELS[1]),
                SGD(lr=lr, momentum=beta, nesterov=True, name=RACE_LABELS[2])]

    def trajectories(self) -> list[Trajectory]:
        """Run the three rules from the surface's start."""
        return [run(rule, self.surface, self.surface.start, self.steps) for rule in self.rules()]

    def update(self) -> None:
        """Re-run, redraw, and count the steps to the target."""
        trajectories = self.trajectories()
        self.race.show(trajectories)
        verdicts = []
        for trajectory in trajectories:
            reached = steps_to_stay_below(trajectory.losses - self.surface.min_loss, self.target)
            verdicts.append(f"{trajectory.rule_name} {steps_verdict(trajectory, reached, f'> {self.steps}')}")
        self.counts.set_text(f"steps until the loss stays < {self.target:g}\n" + " · ".join(verdicts))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
