"""Figures and widgets of lesson 07, AdamW: L2 regularisation vs decoupled weight decay.

The lesson writes the update rules itself; this module keeps the plumbing:

* ``SHIFTED_VALLEY``: the valley of lessons 01-04, moved so that its minimum is
  at (4, 2) and not at 0 (weight decay pulls towards 0, so the minimum must be
  elsewhere to see the pull); ``l2_optimum(lam)`` is the minimum of
  L + (λ/2)‖θ‖² on it; ``plot_paths`` draws runs on it with marked points, and
  ``as_trajectory`` turns a path computed by hand into a run it can draw;
* ``box_point`` and ``box_figure``: where noiseless AdamW ends, the minimum of L inside
  the box ‖θ‖∞ ≤ 1/λ, and long runs heading there;
* ``noise_replay`` and ``shrink_figure``: groups of weights whose gradients are
  pure noise of different sizes, and how fast each group shrinks;
* ``rank_bins``, ``rms_by_bin`` and ``shrink_by_bin_figure``: weights sorted into
  bins of equal size by their gradient history, and how much each bin shrank;
* ``match_norm``: find the λ that gives a run a chosen weight norm (a secant search);
* ``DecayRace``: Adam without decay, Adam + L2 and AdamW on the shifted valley,
  with λ and η on sliders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure

from lessons_lib.figures.live import log_slider
from lessons_lib.figures.plotting import COLORS, RACE_FIGSIZE, draw_contours, plot_race
from lessons_lib.figures.race import LiveRace
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import Adam, AdamW
from lessons_lib.runner import Trajectory, replay, run
from lessons_lib.surfaces import Surface

# --- the shifted valley --------------------------------------------------------------------------

#: Curvatures h (along x, along y) and the minimum c of the shifted valley L = ½ Σ h_i (θ_i − c_i)².
CURVATURES = (0.2, 4.0)
CENTER = (4.0, 2.0)


def _shifted_valley(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.1 * (x - 4.0) ** 2 + 2.0 * (y - 2.0) ** 2


def _shifted_valley_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 0.2 * (x - 4.0), 4.0 * (y - 2.0)


SHIFTED_VALLEY = Surface(
    name="shifted_valley",
    title="Shifted valley",
    formula="0.1 (x − 4)² + 2 (y − 2)²",
    loss_xy=_shifted_valley,
    grad_xy=_shifted_valley_grad,
    minima=(CENTER,),
    saddles=(),
    min_loss=0.0,
    xlim=(-4.0, 5.5),
    ylim=(-3.0, 3.5),
    start=(-3.0, -2.0),
)


def l2_optimum(lam: float) -> np.ndarray:
    """The minimum of L(θ) + (λ/2)‖θ‖² on the shifted valley: θ_i = h_i c_i / (h_i + λ).

    Setting the gradient h_i (θ_i − c_i) + λ θ_i to zero gives it. The flat
    direction (small h) is pulled towards 0 the most.
    """
    h, c = np.array(CURVATURES), np.array(CENTER)
    return h * c / (h + lam)


def as_trajectory(positions: object, name: str) -> Trajectory:
    """A path θ_0 … θ_n on the shifted valley, computed by hand, as a ``Trajectory``.

    Its losses and gradients are filled in. For rules that ``lessons_lib.optim``
    does not have, so that they can be drawn like any run.
    """
    positions = np.asarray(positions, dtype=float)
    return Trajectory(rule_name=str(name), positions=positions, losses=SHIFTED_VALLEY.loss(positions),
                      grads=SHIFTED_VALLEY.grad(positions[:-1]), states=None, diverged_at=None,
                      steps_run=len(positions) - 1)


def plot_paths(trajectories: Sequence[Trajectory], marks: Mapping[str, object] | None = None) -> Figure:
    """``plot_race`` on the shifted valley, with θ = 0 marked (+) and ``marks`` (label → point) as ◆.

    Mark k gets the colour of trajectory k + 1 (the first trajectory is the run without decay).
    The legend goes below both panels (on the map it would hide paths), three to a row, or two
    when there are more than three; the figure grows by its rows.
    """
    fig = plot_race(SHIFTED_VALLEY, trajectories)
    ax = fig.axes[0]
    ax.plot([0], [0], marker="+", color="black", markersize=12, markeredgewidth=1.5, linestyle="none")
    for (label, point), color in zip((marks or {}).items(), COLORS[1:]):
        ax.plot(*point, marker="D", markersize=8, markerfacecolor="none", markeredgewidth=2, color=color,
                linestyle="none", label=label)
    ax.get_legend().remove()
    handles, labels = ax.get_legend_handles_labels()
    columns = 3 if len(labels) <= 3 else 2
    fig.legend(handles, labels, loc="outside lower center", ncols=columns)
    fig.set_size_inches(RACE_FIGSIZE[0], RACE_FIGSIZE[1] + 0.3 * -(-len(labels) // columns))
    return fig


# --- where noiseless AdamW ends: a box ----------------------------------------------------------


def box_point(lam: float) -> np.ndarray:
    """The minimum of L on the shifted valley inside the box ‖θ‖∞ ≤ 1/λ: c clipped to [−1/λ, 1/λ].

    L is a sum of one term per coordinate (the Hessian is diagonal), so the
    minimum in the box is found coordinate by coordinate: θ_i = clip(c_i, −1/λ, 1/λ).
    """
    return np.clip(np.array(CENTER), -1 / lam, 1 / lam)


def box_figure(positions: Mapping[float, object]) -> Figure:
    """Left: AdamW's paths on the shifted valley (λ → positions θ_0 … θ_T), each with its box ‖θ‖∞ ≤ 1/λ
    (dashed) and the box point (◆). Right: max_i |θ_i − box point_i| per step, on log-log axes.

    Long runs are drawn from their first 500 steps and 500 more spaced evenly on a log scale of t.
    """
    fig, (ax_map, ax_gap) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), layout="constrained",
                                         gridspec_kw={"width_ratios": [1.0, 1.15]})
    wide = replace(SHIFTED_VALLEY, xlim=(-5.8, 5.8), ylim=(-5.8, 5.8))  # room for the box of λ = 0.2
    draw_contours(ax_map, wide)  # marks the minimum of L with ★
    ax_map.set_xlim(*wide.xlim)
    ax_map.set_ylim(*wide.ylim)
    ax_map.set_aspect("equal")
    ax_map.plot([0], [0], marker="+", color="black", markersize=12, markeredgewidth=1.5, linestyle="none")
    for (lam, path), color in zip(positions.items(), COLORS[2:]):
        path = np.asarray(path, dtype=float)
        # every one of the first 500 steps, then steps spaced evenly on the log axis: the same picture,
        # drawn from a thousand points instead of tens of thousands
        keep = np.unique(np.concatenate([np.arange(min(len(path), 500)),
                                         np.geomspace(1, len(path) - 1, 500).astype(int)]))
        path = path[keep]
        edge = 1 / lam
        ax_map.plot([-edge, edge, edge, -edge, -edge], [-edge, -edge, edge, edge, -edge], color=color,
                    linestyle="--", linewidth=1)
        ax_map.plot(path[:, 0], path[:, 1], color=color, linewidth=1.3, label=f"AdamW, λ = {lam:g}")
        ax_map.plot(*box_point(lam), marker="D", markersize=8, markerfacecolor="none", markeredgewidth=2,
                    color=color, linestyle="none")
        gap = np.abs(path - box_point(lam)).max(axis=1)
        ax_gap.loglog(keep[1:], gap[1:], color=color, label=f"λ = {lam:g}, box 1/λ = {edge:g}")
    ax_map.set_xlabel("x")
    ax_map.set_ylabel("y")
    ax_map.set_title("paths, boxes ‖θ‖∞ ≤ 1/λ (dashed),\nbox points (◆)")  # λ: the legend on the right
    ax_gap.set_xlabel("step t")
    ax_gap.set_ylabel("max_i |θ_i − box point_i|")
    ax_gap.set_title("distance to the minimum of L\ninside the box")
    ax_gap.legend(loc="lower left")
    ax_gap.grid(True, which="major", alpha=0.3)
    return fig


# --- weights whose gradient is pure noise --------------------------------------------------------


def noise_replay(rule: Adam, scales: object, steps: int, per_group: int = 500, seed: int = 0) -> np.ndarray:
    """Run ``rule`` on groups of weights that all start at θ = 1 and whose loss gradient is pure noise.

    Group k has ``per_group`` weights; at every step each of them gets a fresh
    gradient drawn from N(0, scales[k]²), the same draws for any rule (seeded).
    The loss does not pull them anywhere on average: only the decay does.
    Returns the mean θ of each group after every step, shape (steps + 1, groups),
    row 0 being the start. The gradients are drawn first, then ``lessons_lib.runner.replay`` feeds them to the rule.
    """
    size = np.repeat(scales, per_group)
    grads = size * np.random.default_rng(seed).standard_normal((steps, size.size))
    positions = replay(rule, grads, start=np.ones(size.size)).positions
    return positions.reshape(steps + 1, len(scales), per_group).mean(axis=2)


def shrink_figure(replays: Mapping[str, np.ndarray], scales: Sequence[float], lr: float, lam: float) -> Figure:
    """One panel per replay (label → ``noise_replay`` output): the mean θ of each group per step.

    The dashed line is (1 − ηλ)^t, what decoupled decay alone does to a weight.
    """
    fig, axes = plt.subplots(1, len(replays), figsize=(WIDTH, 4.2), layout="constrained", sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (label, means) in zip(axes, replays.items()):
        t = np.arange(len(means))
        for k, (scale, color) in enumerate(zip(scales, COLORS)):
            ax.plot(t, means[:, k], color=color, label=f"gradient noise of size {scale:g}")
        ax.plot(t, (1 - lr * lam) ** t, color="black", linestyle="--", linewidth=1, label="(1 − ηλ)ᵗ")
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_xlabel("step t")
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("mean θ of the group (all start at 1)")
    # in the last panel, at the top right: every curve there has fallen from 1 by then
    axes[-1].legend(*axes[0].get_legend_handles_labels(), loc="upper right")
    return fig


# --- weights binned by their gradient history ----------------------------------------------------


def rank_bins(values: object, n_bins: int) -> np.ndarray:
    """The bin 0 … n_bins − 1 of each value, by rank: bin 0 holds the smallest values.

    Bins have equal sizes (to within one), also when many values are tied
    (ties are split in their order of appearance).
    """
    values = np.asarray(values)
    bins = np.empty(values.size, dtype=int)
    bins[np.argsort(values, kind="stable")] = np.arange(values.size) * n_bins // values.size
    return bins


def rms_by_bin(values: object, bins: object) -> np.ndarray:
    """The root-mean-square of ``values`` in each bin: √mean(values²) over the entries with bins == k."""
    values = np.asarray(values)
    counts = np.bincount(bins)
    return np.sqrt(np.bincount(bins, weights=values**2) / counts)


def shrink_by_bin_figure(history: object, ratios: Mapping[str, object], history_label: str) -> Figure:
    """Bars: for each bin (labelled by the median gradient history of its weights), decayed / undecayed RMS weight.

    ``history`` gives one number per bin for the x labels; ``ratios`` maps a
    label to one ratio per bin. A ratio of 0.5 means the bin's weights ended
    half as large as without any decay.
    """
    history = np.asarray(history, dtype=float)
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    width = 0.8 / len(ratios)
    x = np.arange(history.size)
    for k, ((label, values), color) in enumerate(zip(ratios.items(), COLORS[1:])):
        ax.bar(x + (k - (len(ratios) - 1) / 2) * width, values, width=width, color=color, label=label)
    ax.axhline(1, color="grey", linewidth=0.8)
    ax.set_xticks(x, [f"{k + 1}\n{h:.2g}" for k, h in enumerate(history)])
    ax.set_xlabel(f"bin (1 = smallest gradient history) and its median {history_label}")
    ax.set_ylabel("RMS weight: decayed / no decay")
    ax.set_ylim(0, 1.1)
    ax.set_title("how much each bin of first-layer weights shrank, at matched total norm")
    ax.legend(loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


# --- matching a weight norm ----------------------------------------------------------------------

R = TypeVar("R")


@dataclass(frozen=True, eq=False)
class NormMatch(Generic[R]):
    """The λ found by ``match_norm``, the result of the run with it, and every (λ, norm) tried, in order."""

    lam: float
    result: R
    trials: list[tuple[float, float]]


def match_norm(
    train_with: Callable[[float], R],
    norm_of: Callable[[R], float],
    target: float,
    lam_low: float,
    lam_high: float,
    rtol: float = 1e-3,
    max_runs: int = 8,
) -> NormMatch[R]:
    """The λ for which ``norm_of(train_with(λ))`` equals ``target`` to a relative ``rtol``.

    A secant search on log λ against log norm, starting from ``lam_low`` and
    ``lam_high``: each trial is one full run of ``train_with``. The norm
    should fall as λ grows. Raises RuntimeError if ``max_runs`` runs do not get there.
    """
    trials: list[tuple[float, float]] = []

    def miss(log_lam: float) -> tuple[float, R]:
        result = train_with(float(np.exp(log_lam)))
        norm = float(norm_of(result))
        trials.append((float(np.exp(log_lam)), norm))
        return np.log(norm) - np.log(target), result

    x0, x1 = np.log(lam_low), np.log(lam_high)
    f0, _ = miss(x0)
    f1, result = miss(x1)
    while abs(f1) > rtol and len(trials) < max_runs:
        if f1 == f0:
            break
        x0, x1, f0 = x1, x1 - f1 * (x1 - x0) / (f1 - f0), f1
        f1, result = miss(x1)
    if abs(f1) > rtol:
        raise RuntimeError(f"no λ found with norm {target:.4g} (rtol {rtol:g}) in {len(trials)} runs; tried {trials}")
    return NormMatch(lam=trials[-1][0], result=result, trials=trials)


# --- the race ------------------------------------------------------------------------------------

RACE_LABELS = ("Adam, no decay", "Adam(weight_decay=λ): L2", "AdamW(weight_decay=λ): decoupled")


class DecayRace:
    """Adam without decay, Adam + L2 and AdamW with the same λ and η, on the shifted valley.

    Sliders: λ and η (log scales). On the map: the paths, the origin (+), the
    minimum of L (★), the minimum of L + (λ/2)‖θ‖², the L2 optimum (◆), and the
    ends of the decayed runs (■). The title above both panels names these marks
    and gives where each decayed run ends after ``steps`` steps; a legend below
    both panels names the runners.
    """

    LAM_RANGE = (0.01, 1.0)
    LR_RANGE = (0.005, 0.5)

    def __init__(self, lam: float = 0.2, lr: float = 0.05, steps: int = 500) -> None:
        self.steps = steps
        self.lam_slider = log_slider("weight decay λ", lam, *self.LAM_RANGE)
        self.lr_slider = log_slider("learning rate η", lr, *self.LR_RANGE)

        self.race = LiveRace(SHIFTED_VALLEY, list(RACE_LABELS), self.steps)
        figure, ax = self.race.live.figure, self.race.ax_map
        ax.plot([0], [0], marker="+", color="black", markersize=12, markeredgewidth=1.5, linestyle="none")
        (self.optimum,) = ax.plot([], [], marker="D", markersize=8, markerfacecolor="none", markeredgewidth=2,
                                  color=COLORS[1], linestyle="none")
        self.ends = [ax.plot([], [], marker="s", markersize=7, color=color, linestyle="none")[0]
                     for color in COLORS[1:3]]
        # Wide and short (a projector shows a live picture at most ~286 px tall below its controls): no panel
        # titles; the title above both panels names the marks (★, +, ■, ◆ as text) and gives the end points (two
        # lines reserved), and the runners are named below both panels. Both are made before the first draw,
        # which fixes the layout.
        ax.set_title("")
        self.race.ax_loss.set_title("")
        figure.legend(self.race.curves, RACE_LABELS, loc="outside lower center", ncols=2)
        figure.set_size_inches(WIDTH, 3.6)
        self.readout = figure.suptitle("after … steps:\n(filled in by update)")
        self.race.live.animate(self.optimum, *self.ends, self.readout)
        self.status = widgets.HTML()
        self.panel = self.race.live.panel([self.lam_slider, self.lr_slider], self.update, self.status)

    def rules(self) -> list[Adam]:
        """The three rules at the sliders' values."""
        lam, lr = self.lam_slider.value, self.lr_slider.value
        return [Adam(lr=lr, name=RACE_LABELS[0]),
                Adam(lr=lr, weight_decay=lam, name=RACE_LABELS[1]),
                AdamW(lr=lr, weight_decay=lam, name=RACE_LABELS[2])]

    def trajectories(self) -> list[Trajectory]:
        """Run the three rules from the shifted valley's start."""
        return [run(rule, SHIFTED_VALLEY, SHIFTED_VALLEY.start, self.steps) for rule in self.rules()]

    def update(self) -> None:
        """Re-run, redraw the paths, move the L2 optimum and the end marks, write where the runs end."""
        trajectories = self.trajectories()
        self.race.show(trajectories)
        legend = self.race.ax_loss.get_legend()  # the race's own, over the curves: the figure's names them
        if legend is not None:
            legend.remove()
            self.race.live.redraw_background()
        optimum = l2_optimum(self.lam_slider.value)
        self.optimum.set_data([optimum[0]], [optimum[1]])
        parts = []
        for trajectory, end, name in zip(trajectories[1:], self.ends, ("Adam + L2", "AdamW")):
            x, y = trajectory.positions[-1]
            end.set_data([x], [y])
            parts.append(f"■ {name} at ({x:.2f}, {y:.2f})")
        parts.append(f"◆ L2 optimum ({optimum[0]:.2f}, {optimum[1]:.2f})")
        lam, lr = self.lam_slider.value, self.lr_slider.value
        self.readout.set_text(f"★ minimum of L,  + θ = 0;  after {self.steps} steps with λ = {lam:.3g}, η = {lr:.3g}:\n"
                              + ",  ".join(parts))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
