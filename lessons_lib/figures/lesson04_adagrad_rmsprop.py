"""Figures and widgets of lesson 04, AdaGrad → RMSprop.

The lesson writes the update rules itself; this module keeps the plumbing:

* ``replay``: feed a scripted sequence of gradients to AdaGrad or RMSprop (with ``lessons_lib.runner.replay``)
  and keep the steps it takes, its accumulator (s or v) and its effective step size η/(√s + ε);
* ``step_size_figure``: those accumulators and step sizes over time, on log-log axes;
* ``steady_step_factor`` and ``epsilon_figure``: how long a step is, in units of η,
  when ε sits outside the square root (PyTorch) or inside it (Keras, optax);
* ``valley_coordinates`` and ``MATCHING_STARTS``: the 45° turn that takes the
  rotated valley to the valley, and two starts that are the same point seen both ways;
* ``steps_to_stay_below`` (``lessons_lib.runner``'s): from which step on a loss stays below a target;
* ``long_run_figure``: loss curves of long runs on a log-log scale, with the band RMSprop hops in;
* ``step_sizes_figure``: the ratio of RMSprop's two step sizes, and the sizes themselves,
  against the stability limit 2/λ;
* ``AdaptiveRace``: gradient descent, AdaGrad and RMSprop racing on the valley or the
  rotated valley, with η, β and the surface on controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure

from lessons_lib.figures.live import log_slider
from lessons_lib.figures.plotting import COLORS, major_ticks_only
from lessons_lib.figures.race import LiveRace, steps_verdict
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD, AdaGrad, AdaGradState, RMSprop, RMSpropState
from lessons_lib.runner import Trajectory, replay as replay_gradients, run
from lessons_lib.runner import steps_to_stay_below  # noqa: F401 (the notebook calls it here)
from lessons_lib.surfaces import get_surface

#: The surfaces of the race: the same valley, along the axes and turned by 45°.
RACE_SURFACES = ("valley", "rotated_valley")


# --- replaying a gradient sequence ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Replay:
    """What AdaGrad or RMSprop did with a scripted gradient sequence g_1 … g_T, from θ_0 = 0.

    * ``steps``: shape (T, n), the step of each update, Δθ_t = θ_t − θ_{t−1};
    * ``accumulators``: shape (T, n), the state after step t: AdaGrad's s_t or RMSprop's v_t;
    * ``step_sizes``: shape (T, n), η / (√s_t + ε), the number that multiplied g_t
      (so ``steps == -step_sizes * grads``).
    """

    label: str
    steps: np.ndarray
    accumulators: np.ndarray
    step_sizes: np.ndarray


def accumulator(state: object) -> np.ndarray:
    """The running average or sum of g² that a state keeps: AdaGrad's s, RMSprop's v."""
    if isinstance(state, AdaGradState):
        return state.s
    if isinstance(state, RMSpropState):
        return state.v
    raise ValueError(f"state must be an AdaGradState or an RMSpropState, got {type(state).__name__}")


def replay(rule: AdaGrad | RMSprop, grads: object, label: str | None = None) -> Replay:
    """Apply plain AdaGrad or RMSprop (no momentum, no weight decay: the step is η g / (√s + ε)) to the
    gradients ``grads`` (shape (T,) or (T, n)), one per step, from θ = 0.

    The gradients are given, not computed: this isolates what the rule does with
    them. ``label`` names the replay in figures (default: the rule's name).
    """
    path = replay_gradients(rule, grads, record_state=True)
    accumulators = np.array([accumulator(state) for state in path.states])
    return Replay(label=label or rule.name, steps=path.steps, accumulators=accumulators,
                  step_sizes=rule.lr / (np.sqrt(accumulators) + rule.eps))


def step_size_figure(
    replays: Sequence[Replay],
    references: Mapping[str, object] | None = None,
    title: str = "",
    accumulators: bool = True,
) -> Figure:
    """Left: the root of each replay's accumulator, √s or √v, per step. Right: its step size η/(√· + ε).

    Both on log-log axes, where a power law t^k is a straight line of slope k.
    ``references`` are extra curves for the step-size panel (label → values per
    step), drawn dashed. With ``accumulators=False`` only the step sizes are
    drawn, in one panel. Replays of one parameter each (n = 1).
    """
    references = dict(references or {})
    if accumulators:
        fig, (ax_acc, ax_step) = plt.subplots(1, 2, figsize=(WIDTH, 4.4), layout="constrained")
    else:
        fig, ax_step = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    for r, color in zip(replays, COLORS):
        t = np.arange(1, len(r.steps) + 1)
        if accumulators:
            ax_acc.loglog(t, np.sqrt(r.accumulators[:, 0]), color=color, label=r.label)
        ax_step.loglog(t, r.step_sizes[:, 0], color=color, label=r.label)
    for (label, values), style in zip(references.items(), ("--", ":", "-.")):
        ax_step.loglog(np.arange(1, len(values) + 1), values, color="black", linestyle=style, linewidth=1,
                       label=label)
    ax_step.set_xlabel("step t")
    ax_step.set_ylabel("η / (√s + ε)   or   η / (√v + ε)")
    ax_step.set_title("the effective step size:\nwhat multiplies g")
    ax_step.legend(loc="lower left")  # fixed places: "best" would scan every point, slowly
    axes = [ax_step]
    if accumulators:
        ax_acc.set_xlabel("step t")
        ax_acc.set_ylabel("√s  or  √v")
        ax_acc.set_title("what the rule remembers\nabout g²")
        ax_acc.legend(loc="upper left")
        axes.append(ax_acc)
    for ax in axes:
        major_ticks_only(ax)
        ax.grid(True, which="major", alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


# --- where ε goes ------------------------------------------------------------------------------


def steady_step_factor(g: object, eps: float, inside: bool) -> np.ndarray:
    """|Δθ| / η once the average of g² has settled at g² (a constant gradient g).

    ε outside the root (PyTorch): |g| / (|g| + ε). ε inside (Keras, optax): |g| / √(g² + ε).
    """
    g = np.abs(np.asarray(g, dtype=float))
    return g / np.sqrt(g**2 + eps) if inside else g / (g + eps)


def epsilon_figure(forms: Sequence[tuple[str, float, bool]], g_range: tuple[float, float] = (1e-12, 1.0),
                   mark: float | None = None) -> Figure:
    """The step, in units of η, against the size of the gradient, one curve per ``(label, eps, inside)``.

    Where the curve is at 1 the step is η whatever the gradient; where it falls,
    ε has taken over. ``mark`` draws a vertical line at one gradient size.
    """
    g = np.geomspace(*g_range, 400)
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    for (label, eps, inside), color, style in zip(forms, COLORS, ("-", "--", "-.", ":")):
        ax.semilogx(g, steady_step_factor(g, eps, inside), color=color, linestyle=style, linewidth=2, label=label)
    if mark is not None:
        ax.axvline(mark, color="grey", linewidth=1, linestyle=":")
        ax.annotate(f"|g| = {mark:g}", (mark, 0.5), textcoords="offset points", xytext=(4, 0),
                    color="dimgrey")
    ax.set_ylim(-0.02, 1.08)
    ax.set_xlabel("|g|, the size of the gradient (constant over time)")
    ax.set_ylabel("step / η")
    ax.set_title("how long a step is once v has settled at g²")
    ax.legend(loc="upper left")
    major_ticks_only(ax)
    ax.grid(True, which="major", alpha=0.3)
    return fig


# --- the valley and the rotated valley ---------------------------------------------------------


def valley_coordinates(p: object) -> np.ndarray:
    """The point of the valley that matches the point ``p`` = (x, y) of the rotated valley.

    (u, v) = ((x + y)/√2, (x − y)/√2): u runs along the rotated valley, v across
    it, and L_valley(u, v) = L_rotated(x, y). The map is its own inverse, so it
    also takes a valley point to its rotated twin.
    """
    p = np.asarray(p, dtype=float)
    x, y = p[..., 0], p[..., 1]
    return np.stack([(x + y) / np.sqrt(2), (x - y) / np.sqrt(2)], axis=-1)


#: Two starts that are the same point of the same problem, seen along the axes and turned by 45°.
MATCHING_STARTS: dict[str, tuple[float, float]] = {
    "rotated_valley": get_surface("rotated_valley").start,
    "valley": tuple(float(c) for c in valley_coordinates(get_surface("rotated_valley").start)),
}


# --- long runs, and RMSprop's two step sizes -----------------------------------------------------

#: Losses below this are drawn at this value in ``long_run_figure``.
LONG_RUN_FLOOR = 1e-20


def long_run_figure(losses: Mapping[str, object], band: float | None = None, target: float | None = None,
                    title: str = "") -> Figure:
    """Loss per step of each run (label → losses L_0 … L_T), step and loss both on log axes.

    A log step axis shows the first hundred steps and the last ten thousand
    side by side. ``band`` draws a dashed line at the loss of RMSprop's hopping
    (it hops between ±η/2 in every coordinate), ``target`` a dotted line.
    Losses below ``LONG_RUN_FLOOR`` sit on the bottom edge.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 5.2), layout="constrained")
    for (label, values), color, style in zip(losses.items(), COLORS, ("-", "-", "-", "--", "-.")):
        values = np.maximum(np.asarray(values, dtype=float), LONG_RUN_FLOOR)
        ax.loglog(np.arange(1, len(values)), values[1:], color=color, linestyle=style, linewidth=1.4,
                  label=label)
    if band is not None:
        ax.axhline(band, color="black", linestyle=(0, (4, 3)), linewidth=0.9,
                   label=f"the band: (λ_x + λ_y)/2 · (η/2)² = {band:.2e}")
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"target {target:g}")
    ax.set_ylim(LONG_RUN_FLOOR / 3, 1e3)
    ax.set_xlabel("step t")
    ax.set_ylabel(f"loss (floor {LONG_RUN_FLOOR:g})")
    ax.set_title(title or "RMSprop on the valley, long runs")
    # below the axes, in two columns: beside them it would take half the width
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncols=2)
    major_ticks_only(ax)
    ax.grid(True, which="major", alpha=0.3)
    return fig


def step_sizes_figure(sizes: Mapping[str, object], curvatures: tuple[float, float], title_of_sizes: str) -> Figure:
    """Left: r = (η/√v_x) / (η/√v_y) per step, one curve per run (label → sizes, shape (T, 2)).
    Right: the two step sizes η/√v_x and η/√v_y of the run named ``title_of_sizes``, on a log axis,
    with lesson 01's stability limits 2/λ_x and 2/λ_y (``curvatures`` = (λ_x, λ_y)) dashed.
    """
    fig, (ax_ratio, ax_size) = plt.subplots(1, 2, figsize=(WIDTH, 4.2), layout="constrained")
    for (label, values), color in zip(sizes.items(), COLORS):
        values = np.asarray(values, dtype=float)
        t = np.arange(1, len(values) + 1)
        ax_ratio.plot(t, values[:, 0] / values[:, 1], color=color, label=label)
    ax_ratio.axhline(1, color="grey", linewidth=0.8)
    ax_ratio.set_ylim(0, 6)
    ax_ratio.set_xlabel("step t")
    ax_ratio.set_ylabel("r = (η/√v_x) / (η/√v_y)")
    ax_ratio.set_title("the ratio of the two step sizes")
    ax_ratio.legend(loc="upper right")
    values = np.asarray(sizes[title_of_sizes], dtype=float)
    t = np.arange(1, len(values) + 1)
    for k, (name, color) in enumerate((("x", COLORS[2]), ("y", COLORS[3]))):
        ax_size.semilogy(t, values[:, k], color=color, label=f"η/√v_{name}")
        ax_size.axhline(2 / curvatures[k], color=color, linestyle="--", linewidth=1,
                        label=f"2/λ_{name} = {2 / curvatures[k]:g}")
    ax_size.set_xlabel("step t")
    ax_size.set_ylabel("step size")
    ax_size.set_title(f"the step sizes themselves\n({title_of_sizes.lower()})")
    # above the curves, under the line at 2/λ_x: the curves cross 2/λ_y at the lower right
    ax_size.legend(loc="upper left", bbox_to_anchor=(0, 0.93), ncols=2)
    for ax in (ax_ratio, ax_size):
        ax.grid(True, which="major", alpha=0.3)
    return fig


# --- the race ----------------------------------------------------------------------------------


class AdaptiveRace:
    """Gradient descent (fixed η), AdaGrad and RMSprop (η and β on sliders) on the valley or the rotated valley.

    Both surfaces start from ``MATCHING_STARTS``, the same point of the same
    problem, so gradient descent takes the same path on both (turned by 45°):
    only the rules that scale each coordinate see a difference. A box counts
    the steps each needs until its loss stays below ``target``.
    """

    LR_RANGE = (1e-3, 3.0)
    BETA_MAX = 0.999

    def __init__(self, surface: str = "valley", lr: float = 0.1, beta: float = 0.99, gd_lr: float = 0.45,
                 steps: int = 200, target: float = 1e-6) -> None:
        self.gd_lr, self.steps, self.target = gd_lr, steps, target

        self.surface_menu = widgets.Dropdown(options=list(RACE_SURFACES), value=surface, description="surface")
        self.lr_slider = log_slider("η (AdaGrad, RMSprop)", lr, *self.LR_RANGE)
        self.beta_slider = widgets.FloatSlider(value=beta, min=0.0, max=self.BETA_MAX, step=0.001,
                                               description="β (RMSprop)", readout_format=".3f",
                                               style={"description_width": "initial"})
        self.labels = [f"gradient descent, η = {self.gd_lr:g}", "AdaGrad", "RMSprop"]
        self.race = LiveRace(get_surface(surface), self.labels, self.steps)
        # AdaGrad and RMSprop start along the same curve, AdaGrad's path under RMSprop's: draw AdaGrad's
        # as a wide pale band beneath, RMSprop's thin on top, so both show where they overlap.
        adagrad_path, rmsprop_path = self.race.paths[1], self.race.paths[2]
        adagrad_path.set(linewidth=6, alpha=0.45, markersize=0, zorder=2.1)
        rmsprop_path.set(linewidth=1.2, zorder=2.3)
        # one row below both panels, made before the first draw, which fixes the layout
        self.race.live.figure.legend(self.race.curves, self.labels, loc="outside lower center", ncols=3)
        self.race.ax_loss.plot([0, self.steps], [self.target, self.target], color="grey", linestyle=":",
                               linewidth=1, scalex=False, scaley=False)
        # top right of the map: the paths of both surfaces start at the lower left and end in the middle
        self.counts = self.race.ax_map.text(
            0.98, 0.97, "", transform=self.race.ax_map.transAxes, verticalalignment="top",
            horizontalalignment="right", multialignment="left",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        self.race.live.animate(self.counts)
        self.status = widgets.HTML()
        self.panel = self.race.live.panel([self.surface_menu, self.lr_slider, self.beta_slider], self.update,
                                          self.status)

    def rules(self) -> list[SGD | AdaGrad | RMSprop]:
        """The three rules at the controls' values."""
        return [SGD(lr=self.gd_lr, name=self.labels[0]),
                AdaGrad(lr=self.lr_slider.value),
                RMSprop(lr=self.lr_slider.value, beta=self.beta_slider.value)]

    def trajectories(self) -> list[Trajectory]:
        """Run the three rules on the chosen surface from its matching start."""
        surface = get_surface(self.surface_menu.value)
        start = MATCHING_STARTS[surface.name]
        return [run(rule, surface, start, self.steps) for rule in self.rules()]

    def update(self) -> None:
        """Re-run, redraw (a new contour map only when the surface changed), count the steps."""
        surface = get_surface(self.surface_menu.value)
        if surface is not self.race.surface:
            self.race.set_surface(surface, self.steps)
        trajectories = self.trajectories()
        self.race.show(trajectories)
        # the race puts its legend at the top right, over AdaGrad's slowly falling curve: the figure's legend,
        # in one row below both panels, names the runners instead. The legend is part of the blitted background.
        legend = self.race.ax_loss.get_legend()
        if legend is not None:
            legend.remove()
            self.race.live.redraw_background()
        lines = [f"steps until the loss stays < {self.target:g}:"]
        for label, trajectory in zip(["gradient descent", "AdaGrad", "RMSprop"], trajectories):
            reached = steps_to_stay_below(trajectory.losses - surface.min_loss, self.target)
            lines.append(f"{label}: {steps_verdict(trajectory, reached, f'not within {self.steps}')}")
        self.counts.set_text("\n".join(lines))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
