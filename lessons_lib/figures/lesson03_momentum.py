"""Figures and widgets of lesson 03, Momentum.

The lesson writes the update rules itself; this module keeps the plumbing:

* ``first_step_below``: the first step whose loss is below a target;
* ``steps_to_reach``: how many steps momentum needs on a quadratic surface, for
  a whole grid of learning rates and β at once (a grid search in milliseconds);
* ``weight_window_figure``: how much weight momentum gives to each past gradient;
* ``iteration_matrix`` and ``classify_regimes``: the (η, β) regimes of momentum on
  a one-dimensional quadratic, from the eigenvalues of its 2×2 iteration matrix;
  ``draw_regime_map`` colours them, and ``heavy_ball_1d`` runs one point of the map;
* ``lookahead_figure``: one step of heavy ball and of Nesterov from the same point;
* ``MomentumRace``: gradient descent, momentum and Nesterov racing on a surface,
  with η and β on sliders;
* ``RegimeExplorer``: a point on the regime map and the path θ_t it gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, draw_contours
from lessons_lib.figures.race import LiveRace, steps_verdict
from lessons_lib.optim import SGD
from lessons_lib.runner import Trajectory, run
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
) -> np.ndarray:
    """Steps PyTorch's momentum needs to bring the loss of a quadratic ``surface`` below ``target``.

    ``lr`` and ``beta`` are numbers or arrays (broadcast together, e.g. a grid
    made with ``np.meshgrid``); every pair is run at once, as
    ``SGD(lr, momentum=beta, nesterov=nesterov)`` from ``start`` (default: the
    surface's start). β = 0 is plain gradient descent.

    Returns a float array of the broadcast shape: the first step t with
    L(θ_t) − L_min < ``target``, or ``inf`` where that does not happen within
    ``max_steps`` steps (too slow, or diverging).
    """
    start = np.asarray(surface.start if start is None else start, dtype=float)
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=float), np.asarray(beta, dtype=float))
    hessian = np.asarray(surface.hessian)
    lr, beta = lr[..., None], beta[..., None]  # one column per coordinate
    theta = np.broadcast_to(start, lr.shape[:-1] + (2,)).copy()
    steps = np.full(lr.shape[:-1], np.inf)
    buffer = None
    with np.errstate(all="ignore"):  # diverging runs overflow to inf/NaN; their count stays inf
        for t in range(1, max_steps + 1):
            g = theta @ hessian  # the gradient of ½ θᵀHθ (H is symmetric)
            buffer = g if buffer is None else beta * buffer + g
            theta = theta - lr * (g + beta * buffer if nesterov else buffer)
            gap = 0.5 * np.einsum("...i,ij,...j->...", theta, hessian, theta)
            steps[(gap < target) & np.isinf(steps)] = t
            if np.isfinite(steps).all():
                break
    return steps


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

    fig, (ax_weights, ax_total) = plt.subplots(1, 2, figsize=(11.0, 3.8), layout="constrained")
    k = np.arange(k_max + 1)
    for beta in betas:
        color = colors[beta]
        horizon = 1 / (1 - beta)
        ax_weights.plot(k, (1 - beta) * beta**k, marker=".", markersize=3, color=color,
                        label=f"β = {beta:g}  (1/(1−β) = {horizon:g})")
        if horizon <= k_max:
            ax_weights.axvline(horizon, color=color, linestyle="--", linewidth=1)
    ax_weights.set_xlabel("k: how many steps back")
    ax_weights.set_ylabel("weight (1 − β) β^k")
    ax_weights.set_title("weight of the gradient from k steps back (dashed: k = 1/(1−β))", fontsize=10)
    ax_weights.legend(fontsize=9)

    for beta in cumulative_betas:
        color = colors[beta]
        horizon = 1 / (1 - beta)
        n = np.arange(0, int(np.ceil(4 * horizon)) + 1)
        ax_total.plot(n / horizon, 1 - beta**n, color=color, label=f"β = {beta:g}")
    ax_total.axhline(1 - np.exp(-1), color="black", linestyle=":", linewidth=1)
    ax_total.axvline(1, color="black", linestyle="--", linewidth=1)
    ax_total.text(1.05, 0.05, "one horizon,\nn = 1/(1−β)", fontsize=9)
    ax_total.text(2.6, 1 - np.exp(-1) - 0.08, "1 − 1/e ≈ 0.632", fontsize=9)
    ax_total.set_xlim(0, 4)
    ax_total.set_ylim(0, 1.02)
    ax_total.set_xlabel("n (1 − β): the last n gradients, counted in horizons")
    ax_total.set_ylabel("total weight of the last n gradients")
    ax_total.set_title("in units of the horizon, every β remembers alike", fontsize=10)
    ax_total.legend(fontsize=9, loc="lower right")
    return fig


# --- the (η, β) regimes on a one-dimensional quadratic ------------------------------------------


def iteration_matrix(lr_times_curvature: object, beta: object) -> np.ndarray:
    """The matrices A with (θ_{t+1}, θ_t) = A (θ_t, θ_{t−1}) for momentum on L = λθ²/2.

    A = [[1 + β − ηλ, −β], [1, 0]]; inputs broadcast, the result has shape (..., 2, 2).
    """
    a, beta = np.broadcast_arrays(np.asarray(lr_times_curvature, dtype=float), np.asarray(beta, dtype=float))
    matrix = np.empty(a.shape + (2, 2))
    matrix[..., 0, 0] = 1 + beta - a
    matrix[..., 0, 1] = -beta
    matrix[..., 1, 0] = 1
    matrix[..., 1, 1] = 0
    return matrix


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
    ax.legend(handles=handles, loc="lower right", fontsize=9, framealpha=0.9)


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
        figure = Figure(figsize=(11.0, 3.8), dpi=72, layout="constrained")
        self.ax_map, self.ax_path = figure.subplots(1, 2)
        draw_regime_map(self.ax_map, x, y, regimes)
        for label, point in (marks or {}).items():
            self.ax_map.plot(*point, marker="*", color="black", markersize=12, linestyle="none")
            self.ax_map.annotate(label, point, textcoords="offset points", xytext=(7, -13), fontsize=9)
        (self.marker,) = self.ax_map.plot([], [], marker="o", color="black", markersize=8, linestyle="none")
        self.ax_path.axhline(0, color="grey", linewidth=0.8)
        (self.path,) = self.ax_path.plot([], [], marker=".", color="tab:orange")
        self.ax_path.set_xlim(0, self.steps)
        self.ax_path.set_ylim(-1.5, 1.5)
        self.ax_path.set_xlabel("step t")
        self.ax_path.set_ylabel("θ_t")
        self.readout = self.ax_path.text(0.98, 0.03, "", transform=self.ax_path.transAxes, ha="right", fontsize=10,
                                         bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9})
        self.ax_path.set_title("momentum on L = λθ²/2 from θ₀ = 1", fontsize=10)
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

    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    draw_contours(ax, surface)
    ax.set_xlim(*(xlim or surface.xlim))
    ax.set_ylim(*(ylim or surface.ylim))

    def arrow(tail: np.ndarray, head: np.ndarray, color: str) -> None:
        ax.annotate("", xy=head, xytext=tail, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2})

    arrow(theta, ahead, "grey")
    arrow(ahead, heavy, "tab:orange")
    arrow(ahead, nesterov, "tab:green")
    ax.plot(*theta, "o", color="black")
    ax.plot(*ahead, "o", color="grey")
    ax.plot(*heavy, "o", color="tab:orange", label="heavy ball: then −η∇L(θ), the gradient where it was")
    ax.plot(*nesterov, "o", color="tab:green",
            label="Nesterov: then −η∇L(θ + βv), the gradient where it is going")
    ax.plot([], [], color="grey", lw=2, label="both: first coast by βv to θ + βv")
    ax.annotate("θ", theta, textcoords="offset points", xytext=(-12, 6))
    ax.annotate("θ + βv", ahead, textcoords="offset points", xytext=(-48, -14))
    ax.legend(loc="lower left", fontsize=8.5, framealpha=0.95)
    ax.set_title("one step from the same θ and v", fontsize=10)
    return fig


# --- the race ---------------------------------------------------------------------------------


class MomentumRace:
    """Gradient descent, momentum (PyTorch's heavy ball) and Nesterov on one surface, all with the same η.

    Sliders: η (log scale) and β. Left, the paths; right, the loss curves, titled
    with the number of steps each needs to get the loss below ``target``.
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
        # The loss panel's title counts the steps (a title never hides a curve). It gets two lines now,
        # because the layout is computed once, at the first draw, and must leave room for both.
        self.counts = self.race.ax_loss.title
        self.counts.set_text("steps to the target\n(filled in by update)")
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
            reached = first_step_below(trajectory.losses - self.surface.min_loss, self.target)
            verdicts.append(f"{trajectory.rule_name} {steps_verdict(trajectory, reached, f'> {self.steps}')}")
        self.counts.set_text(f"steps to loss < {self.target:g}\n" + " · ".join(verdicts))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
