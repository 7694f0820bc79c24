"""Figures and widgets of lesson 04, AdaGrad → RMSprop.

The lesson writes the update rules itself; this module keeps the plumbing:

* ``replay``: feed a scripted sequence of gradients to AdaGrad or RMSprop and keep
  the steps it takes, its accumulator (s or v) and its effective step size η/(√s + ε);
* ``step_size_figure``: those accumulators and step sizes over time, on log-log axes;
* ``steady_step_factor`` and ``epsilon_figure``: how long a step is, in units of η,
  when ε sits outside the square root (PyTorch) or inside it (Keras, optax);
* ``valley_coordinates`` and ``MATCHING_STARTS``: the 45° turn that takes the
  rotated valley to the valley, and two starts that are the same point seen both ways;
* ``steps_to_stay_below``: from which step on a loss stays below a target;
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
from matplotlib.ticker import NullLocator

from lessons_lib.checks import (
    as_float_array,
    check_beta,
    check_flag,
    check_learning_rate,
    check_number,
    check_positive,
    check_positive_int,
)
from lessons_lib.optim import SGD, AdaGrad, AdaGradState, RMSprop, RMSpropState
from lessons_lib.figures.race import COLORS, LiveRace
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import check_points, get_surface
from lessons_lib.figures.live import log_slider

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
        return state.sum_of_squares
    if isinstance(state, RMSpropState):
        return state.square_avg
    raise ValueError(f"state must be an AdaGradState or an RMSpropState, got {type(state).__name__}")


def _check_adaptive_rule(rule: object) -> AdaGrad | RMSprop:
    """``rule`` if it is AdaGrad or plain RMSprop (whose step is η g / (√v + ε)); else a ValueError."""
    if isinstance(rule, RMSprop):
        if rule.centered or rule.momentum > 0 or rule.weight_decay > 0:
            raise ValueError("rule must be plain RMSprop here: centered=False, momentum=0, weight_decay=0")
        return rule
    if isinstance(rule, AdaGrad):
        if rule.weight_decay > 0:
            raise ValueError("rule must be AdaGrad without weight_decay here")
        return rule
    raise ValueError(f"rule must be AdaGrad(...) or RMSprop(...) from lessons_lib.optim, got {rule!r}")


def replay(rule: AdaGrad | RMSprop, grads: object, label: str | None = None) -> Replay:
    """Apply ``rule`` to the gradients ``grads`` (shape (T,) or (T, n)), one per step, from θ = 0.

    The gradients are given, not computed: this isolates what the rule does with
    them. ``label`` names the replay in figures (default: the rule's name).
    """
    rule = _check_adaptive_rule(rule)
    grads = as_float_array(grads, "grads")
    if grads.ndim == 1:
        grads = grads[:, None]
    if grads.ndim != 2 or len(grads) == 0:
        raise ValueError(f"grads must have shape (T,) or (T, n) with T >= 1, got {grads.shape}")

    theta = np.zeros(grads.shape[1])
    state = rule.init(theta)
    steps, accumulators = [], []
    for g in grads:  # grads are checked finite above; update() is the rule without its checks
        new_theta, state = rule.update(theta, g, state)
        steps.append(new_theta - theta)
        accumulators.append(accumulator(state))
        theta = new_theta
    accumulators = np.array(accumulators)
    return Replay(
        label=label or rule.name,
        steps=np.array(steps),
        accumulators=accumulators,
        step_sizes=rule.lr / (np.sqrt(accumulators) + rule.eps),
    )


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
    replays = list(replays)
    if not replays or not all(isinstance(r, Replay) for r in replays):
        raise ValueError("replays must be a non-empty list of Replay objects, as returned by replay()")
    for r in replays:
        if r.steps.shape[1] != 1:
            raise ValueError(f"{r.label}: only replays of one parameter can be drawn, got {r.steps.shape[1]}")
    references = dict(references or {})
    accumulators = check_flag(accumulators, "accumulators")

    if accumulators:
        fig, (ax_acc, ax_step) = plt.subplots(1, 2, figsize=(11.0, 3.8), layout="constrained")
    else:
        fig, ax_step = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    for r, color in zip(replays, COLORS):
        t = np.arange(1, len(r.steps) + 1)
        if accumulators:
            ax_acc.loglog(t, np.sqrt(r.accumulators[:, 0]), color=color, label=r.label)
        ax_step.loglog(t, r.step_sizes[:, 0], color=color, label=r.label)
    for (label, values), style in zip(references.items(), ("--", ":", "-.")):
        values = as_float_array(values, f"references[{label!r}]").reshape(-1)
        ax_step.loglog(np.arange(1, len(values) + 1), values, color="black", linestyle=style, linewidth=1,
                       label=label)
    ax_step.set_xlabel("step t")
    ax_step.set_ylabel("η / (√s + ε)   or   η / (√v + ε)")
    ax_step.set_title("the effective step size: what multiplies g", fontsize=10)
    ax_step.legend(fontsize=9, loc="lower left")  # fixed places: "best" would scan every point, slowly
    axes = [ax_step]
    if accumulators:
        ax_acc.set_xlabel("step t")
        ax_acc.set_ylabel("√s  or  √v")
        ax_acc.set_title("what the rule remembers about g²", fontsize=10)
        ax_acc.legend(fontsize=9, loc="upper left")
        axes.append(ax_acc)
    for ax in axes:
        _major_ticks_only(ax)
        ax.grid(True, which="major", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# --- where ε goes ------------------------------------------------------------------------------


def steady_step_factor(g: object, eps: float, inside: bool) -> np.ndarray:
    """|Δθ| / η once the average of g² has settled at g² (a constant gradient g).

    ε outside the root (PyTorch): |g| / (|g| + ε). ε inside (Keras, optax): |g| / √(g² + ε).
    """
    g = np.abs(as_float_array(g, "g"))
    eps = check_positive(eps, "eps")
    inside = check_flag(inside, "inside")
    return g / np.sqrt(g**2 + eps) if inside else g / (g + eps)


def epsilon_figure(forms: Sequence[tuple[str, float, bool]], g_range: tuple[float, float] = (1e-12, 1.0),
                   mark: float | None = None) -> Figure:
    """The step, in units of η, against the size of the gradient, one curve per ``(label, eps, inside)``.

    Where the curve is at 1 the step is η whatever the gradient; where it falls,
    ε has taken over. ``mark`` draws a vertical line at one gradient size.
    """
    if not forms:
        raise ValueError("forms must name at least one (label, eps, inside)")
    low, high = (check_number("g_range", value) for value in g_range)
    if not 0 < low < high:
        raise ValueError(f"g_range must be (low, high) with 0 < low < high, got {g_range}")
    g = np.geomspace(low, high, 400)
    fig, ax = plt.subplots(figsize=(8.0, 3.6), layout="constrained")
    for (label, eps, inside), color, style in zip(forms, COLORS, ("-", "--", "-.", ":")):
        ax.semilogx(g, steady_step_factor(g, eps, inside), color=color, linestyle=style, linewidth=2, label=label)
    if mark is not None:
        mark = check_number("mark", mark)
        ax.axvline(mark, color="grey", linewidth=1, linestyle=":")
        ax.annotate(f"|g| = {mark:g}", (mark, 0.5), textcoords="offset points", xytext=(4, 0), fontsize=9,
                    color="dimgrey")
    ax.set_ylim(-0.02, 1.08)
    ax.set_xlabel("|g|, the size of the gradient (constant over time)")
    ax.set_ylabel("step / η")
    ax.set_title("how long a step is once v has settled at g²", fontsize=10)
    ax.legend(fontsize=9, loc="upper left")
    _major_ticks_only(ax)
    ax.grid(True, which="major", alpha=0.3)
    return fig


def _major_ticks_only(ax) -> None:
    """No minor ticks on log axes: they add nothing at a glance and take half the drawing time."""
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())


# --- the valley and the rotated valley ---------------------------------------------------------


def valley_coordinates(p: object) -> np.ndarray:
    """The point of the valley that matches the point ``p`` = (x, y) of the rotated valley.

    (u, v) = ((x + y)/√2, (x − y)/√2): u runs along the rotated valley, v across
    it, and L_valley(u, v) = L_rotated(x, y). The map is its own inverse, so it
    also takes a valley point to its rotated twin.
    """
    p = check_points(p, "p")
    x, y = p[..., 0], p[..., 1]
    return np.stack([(x + y) / np.sqrt(2), (x - y) / np.sqrt(2)], axis=-1)


#: Two starts that are the same point of the same problem, seen along the axes and turned by 45°.
MATCHING_STARTS: dict[str, tuple[float, float]] = {
    "rotated_valley": get_surface("rotated_valley").start,
    "valley": tuple(float(c) for c in valley_coordinates(get_surface("rotated_valley").start)),
}


def steps_to_stay_below(losses: object, target: float) -> int | None:
    """The first step t from which on every loss is below ``target``; None if the last one is not.

    Stricter than the first time the loss dips below the target: a run that
    dips and bounces back up has not arrived.
    """
    losses = as_float_array(losses, "losses")
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"losses must be a non-empty 1-D array of losses per step, got shape {losses.shape}")
    target = check_number("target", target)
    above = np.flatnonzero(losses >= target)
    if above.size == 0:
        return 0
    last_above = int(above[-1])
    return None if last_above == len(losses) - 1 else last_above + 1


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
        if surface not in RACE_SURFACES:
            raise ValueError(f"surface must be one of {', '.join(RACE_SURFACES)}; got {surface!r}")
        lr = check_learning_rate(lr)
        if not self.LR_RANGE[0] <= lr <= self.LR_RANGE[1]:
            low, high = self.LR_RANGE
            raise ValueError(f"lr must be between {low:g} and {high:g} (the slider's range), got {lr}")
        beta = check_beta(beta, "beta")
        if beta > self.BETA_MAX:
            raise ValueError(f"beta must be at most {self.BETA_MAX} (the slider's range), got {beta}")
        self.gd_lr = check_learning_rate(gd_lr, "gd_lr")
        self.steps = check_positive_int(steps, "steps")
        self.target = check_number("target", target)

        self.surface_menu = widgets.Dropdown(options=list(RACE_SURFACES), value=surface, description="surface")
        self.lr_slider = log_slider("η (AdaGrad, RMSprop)", lr, *self.LR_RANGE)
        self.beta_slider = widgets.FloatSlider(value=beta, min=0.0, max=self.BETA_MAX, step=0.001,
                                               description="β (RMSprop)", readout_format=".3f",
                                               style={"description_width": "initial"})
        self.labels = [f"gradient descent, η = {self.gd_lr:g}", "AdaGrad", "RMSprop"]
        self.race = LiveRace(get_surface(surface), self.labels, self.steps)
        self._moved_legend = None
        self.race.ax_loss.plot([0, self.steps], [self.target, self.target], color="grey", linestyle=":",
                               linewidth=1, scalex=False, scaley=False)
        # top left of the map: the paths of both surfaces head right, away from that corner
        self.counts = self.race.ax_map.text(
            0.02, 0.97, "", transform=self.race.ax_map.transAxes, fontsize=9, verticalalignment="top",
            horizontalalignment="left", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
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
        # the race puts its legend at the top right, over AdaGrad's slowly falling curve: lay it out in one row
        # along the top edge, above every curve. The legend is part of the blitted background, so redo it only
        # when the race made a new one.
        legend = self.race.ax_loss.get_legend()
        if legend is not None and legend is not self._moved_legend:
            self._moved_legend = self.race.ax_loss.legend(
                handles=legend.legend_handles, labels=[text.get_text() for text in legend.get_texts()],
                loc="upper center", ncol=3, fontsize=8, borderaxespad=0.2, columnspacing=1.0, handlelength=1.5)
            self.race.live.redraw_background()
        lines = [f"steps until the loss stays < {self.target:g}:"]
        for label, trajectory in zip(["gradient descent", "AdaGrad", "RMSprop"], trajectories):
            reached = steps_to_stay_below(trajectory.losses - surface.min_loss, self.target)
            if trajectory.diverged:
                verdict = "diverges"
            elif reached is None:
                verdict = f"not within {self.steps}"
            else:
                verdict = str(reached)
            lines.append(f"{label}: {verdict}")
        self.counts.set_text("\n".join(lines))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
