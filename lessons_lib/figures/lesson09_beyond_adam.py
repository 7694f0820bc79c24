"""Figures and widgets of lesson 09, Beyond Adam, in practice.

The lesson writes the variants' lines itself; this module keeps the plumbing:

* ``DELTAS`` and ``format_delta``: each variant next to Adam, line by line, with
  the lines that differ marked (``≠`` changed, ``+`` added, ``−`` dropped), read
  from the rules themselves (``Adam.LINES`` and each variant's ``DELTA``);
* ``make_rule``: Adam or one of its variants from ``lessons_lib.optim``, with a
  learning rate and a β₂ (so that a race compares like with like);
* ``compare_figure``: Adam and a variant on a surface, paths and loss curves,
  titled with the line that differs;
* ``VariantRace``: the same, live: pick the variant, the surface, η and β₂;
* ``format_table``: rows of text in aligned columns (the memory table);
* ``sweep_figure``: validation loss after training against η, one line per rule;
* ``online_figure``: the points an online rule plays, step by step (Reddi et al.'s counterexample);
* ``troubleshooting_figure``: four training failures on digits, each beside its fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, is_dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lessons_lib import optim
from lessons_lib.checks import check_beta, check_learning_rate, check_positive_int
from lessons_lib.figures.lesson08_training import final_validation_loss
from lessons_lib.figures.plotting import (
    COLORS,
    RACE_FIGSIZE,
    SMALLEST_GAP,
    draw_contours,
    draw_lr_sweep,
    format_table,
    log_axis,
    text_width,
)
from lessons_lib.figures.race import LiveRace
from lessons_lib.figures.style import WIDTH
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import SURFACES, get_surface
from lessons_lib.training import TrainingRecord
from lessons_lib.figures.live import log_slider

#: Adam's variants, in the order of the lesson, and their rules (each carries its ``DELTA`` against Adam).
VARIANT_RULES = {"AMSGrad": optim.AMSGrad, "NAdam": optim.NAdam, "RAdam": optim.RAdam, "AdaBelief": optim.AdaBelief,
                 "Adamax": optim.Adamax, "Lion": optim.Lion, "Lookahead": optim.Lookahead}
VARIANTS = tuple(VARIANT_RULES)

#: The colour of each runner in this lesson's figures: Adam first, then each variant its own
#: (the order of ``VariantRace``'s runners, so that the live race and the static figures agree).
RUNNER_COLORS = dict(zip(("Adam", *VARIANTS), COLORS))


def runner_color(name: str) -> str:
    """The colour of a runner by its rule name ("Lookahead(Adam)" counts as "Lookahead"); grey if unknown."""
    return RUNNER_COLORS.get(str(name).split("(")[0], "tab:gray")


# --- the lines that differ ------------------------------------------------------------------------

#: Adam's step, one line per row, in the course's notation (lessons 05 and 06): ``optim.Adam.LINES``.
ADAM_LINES = optim.Adam.LINES

#: Markers of ``format_delta``: the line is the same, changed, added, or dropped.
SAME, CHANGED, ADDED, DROPPED = " ", "≠", "+", "−"

#: The change of each variant in one line of matplotlib mathtext, for figure titles.
TITLES = {
    "AMSGrad": r"AMSGrad: $v_{\max} \leftarrow \max(v_{\max}, v)$,  "
               r"divide by $\sqrt{\hat v_{\max}}$ instead of $\sqrt{\hat v}$",
    "NAdam": r"NAdam: $\hat m \leftarrow \mu_{t+1}\, m\,/\,(1-\Pi_t\mu_{t+1}) + (1-\mu_t)\, g\,/\,(1-\Pi_t)$",
    "RAdam": r"RAdam: while $\rho_t \leq 5$: $\theta \leftarrow \theta - \eta\,\hat m$;  "
             r"then the adaptive step $\times\, r_t$",
    "AdaBelief": r"AdaBelief: $v \leftarrow \beta_2 v + (1-\beta_2)\,(g - m)^2 + \varepsilon$   (not $g^2$)",
    "Adamax": r"Adamax: $u \leftarrow \max(\beta_2 u,\ |g| + \varepsilon)$,   "
              r"$\theta \leftarrow \theta - \eta\,\hat m\,/\,u$",
    "Lion": r"Lion: $\theta \leftarrow \theta - \eta\,\mathrm{sign}(\beta_1 m + (1-\beta_1)\, g)$,   "
            r"then $m \leftarrow \beta_2 m + (1-\beta_2)\, g$",
    "Lookahead": r"Lookahead(Adam): every $k$ steps, "
                 r"$\mathrm{slow} \leftarrow \mathrm{slow} + \alpha(\theta - \mathrm{slow})$,  "
                 r"$\theta \leftarrow \mathrm{slow}$",
}


@dataclass(frozen=True)
class Delta:
    """A variant written against Adam.

    * ``rows``: (Adam's line, marker, the variant's line), aligned; an empty
      string where one of the two has no line (an added or a dropped line);
    * ``title``: the change in one line of matplotlib mathtext, for figure titles;
    * ``state``: what the variant keeps besides θ (compare Adam: t, m, v).
    """

    name: str
    rows: tuple[tuple[str, str, str], ...]
    title: str
    state: str


def _rows(delta: Mapping[str, Sequence[str]]) -> tuple[tuple[str, str, str], ...]:
    """Adam's lines with a rule's ``DELTA`` (Adam's line -> the rule's lines there; none: dropped) applied."""
    rows = []
    for line in ADAM_LINES:
        new = delta.get(line, (line,))
        if not new:
            rows.append((line, DROPPED, ""))
            continue
        rows.append((line, SAME if new[0] == line else CHANGED, new[0]))
        rows.extend(("", ADDED, extra) for extra in new[1:])
    return tuple(rows)


def _state_names(state: object) -> str:
    """The fields a state holds, by name: "t, m, v"; a state inside (Lookahead's inner) in brackets."""
    return ", ".join(f"{name} ({_state_names(value)})" if is_dataclass(value) else name
                     for name, value in vars(state).items() if value is not None)


def _check_variant(name: object, allowed: Sequence[str] = VARIANTS) -> str:
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"name must be one of {', '.join(allowed)}; got {name!r}")
    return name


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_width(text))


def format_delta(name: str) -> str:
    """Adam and the variant ``name`` side by side, one line of the rule per row, with a marker between.

    ``≠`` the line changed, ``+`` the variant adds it, ``−`` the variant drops it.
    """
    delta = DELTAS[_check_variant(name)]
    adam_state = "state: " + _state_names(optim.Adam().init(np.zeros(())))
    left = max(text_width(adam_state), *(text_width(adam) for adam, _, _ in delta.rows))
    lines = [f"  {_pad('Adam', left)}     {delta.name}", f"  {'-' * left}     {'-' * max(text_width(delta.name), 10)}"]
    for adam, marker, new in (*delta.rows, (adam_state, SAME, f"state: {delta.state}")):
        lines.append(f"  {_pad(adam, left)}  {marker}  {new}".rstrip())
    return "\n".join(lines)


# --- the rules -------------------------------------------------------------------------------------


def make_rule(name: str, lr: float, beta2: float = 0.999) -> object:
    """Adam (``name="Adam"``) or one of ``VARIANTS`` from ``lessons_lib.optim``, with learning rate ``lr``.

    ``beta2`` is the decay of the second moment (Adam, AMSGrad, NAdam, RAdam,
    AdaBelief), of Adamax's maximum, and of the Adam inside Lookahead. Lion
    keeps its own β₂ = 0.99, which plays another role (its momentum's memory).
    Everything else keeps the library's (PyTorch's) defaults; Lookahead has
    k = 5 and α = 0.5.
    """
    name = _check_variant(name, ("Adam", *VARIANTS))
    lr = check_learning_rate(lr)
    beta2 = check_beta(beta2, "beta2")
    if name == "Adam":
        return optim.Adam(lr=lr, beta2=beta2)
    if name == "AMSGrad":
        return optim.AMSGrad(lr=lr, beta2=beta2)
    if name == "Lion":
        return optim.Lion(lr=lr)
    if name == "Lookahead":
        return optim.Lookahead(optim.Adam(lr=lr, beta2=beta2), name="Lookahead")
    return getattr(optim, name)(lr=lr, beta2=beta2)


#: Each variant against Adam, read from the rules: their ``DELTA``, their state, and ``TITLES``.
DELTAS: dict[str, Delta] = {
    name: Delta(name, _rows(VARIANT_RULES[name].DELTA), TITLES[name],
                _state_names(make_rule(name, 0.01).init(np.zeros(()))))
    for name in VARIANTS
}


# --- Adam and a variant on a surface ------------------------------------------------------------------


def compare_figure(surface: object, trajectories: Sequence[Trajectory], title: str = "") -> Figure:
    """Paths over the contour map (left) and loss − minimum per step (right); ``title`` above both.

    Each run is drawn in its runner's colour (``RUNNER_COLORS``, by the
    trajectory's rule name; grey for other names). A run that diverged ends at
    its last finite point, and the map says so.
    """
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=RACE_FIGSIZE, layout="constrained")  # as the live race
    draw_contours(ax_map, surface)
    notes = []
    for trajectory in trajectories:
        color = runner_color(trajectory.rule_name)
        xy = trajectory.positions
        ax_map.plot(xy[:, 0], xy[:, 1], marker=".", markersize=3, linewidth=1.2, color=color,
                    label=trajectory.rule_name)
        ax_map.plot(xy[0, 0], xy[0, 1], marker="o", markersize=5, color=color)
        gap = np.maximum(trajectory.losses - surface.min_loss, SMALLEST_GAP)
        ax_loss.plot(np.arange(len(gap)), gap, color=color, label=trajectory.rule_name)
        if trajectory.diverged:
            notes.append(trajectory.message.replace(" (", "\n(", 1))  # two short lines: the map is narrow
    if notes:
        ax_map.text(0.02, 0.02, "\n".join(notes), transform=ax_map.transAxes, color="darkred",
                    verticalalignment="bottom")
    ax_map.legend(loc="upper right")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss − minimum")
    ax_loss.set_title("how fast the loss falls")
    log_axis(ax_loss, "y", powers_as_text=True)
    ax_loss.set_xlim(0, max(t.steps_run for t in trajectories) or 1)
    # as in LiveRace: one decade above the largest starting gap, so that a run that blows up leaves the chart
    start_gap = max(max(t.losses[0] - surface.min_loss, SMALLEST_GAP) for t in trajectories)
    ax_loss.set_ylim(top=10.0 ** (np.ceil(np.log10(start_gap)) + 1))
    if title:
        fig.suptitle(title)
    return fig


class VariantRace:
    """Adam against one of its variants on a surface, live: the variant, the surface, η and β₂ on controls.

    Both runners start at the surface's default start and take ``steps`` steps
    with the same η and β₂ (Lion keeps its own β₂, see ``make_rule``). The
    title names the line that differs; a box gives both final losses.
    """

    LR_RANGE = (1e-3, 1.0)
    BETA2_CHOICES = (0.9, 0.99, 0.999)

    def __init__(self, variant: str = "AMSGrad", surface: str = "rosenbrock", lr: float = 0.05,
                 beta2: float = 0.99, steps: int = 300) -> None:
        variant = _check_variant(variant)
        if not isinstance(surface, str) or surface not in SURFACES:
            raise ValueError(f"surface must be one of {', '.join(SURFACES)}; got {surface!r}")
        lr = check_learning_rate(lr)
        low, high = self.LR_RANGE
        if not low <= lr <= high:
            raise ValueError(f"lr must be between {low:g} and {high:g} (the slider's range), got {lr}")
        if beta2 not in self.BETA2_CHOICES:
            raise ValueError(f"beta2 must be one of {self.BETA2_CHOICES} (the menu's choices), got {beta2!r}")
        self.steps = check_positive_int(steps, "steps")

        self.variant_menu = widgets.Dropdown(options=list(VARIANTS), value=variant, description="variant")
        self.surface_menu = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")
        self.lr_slider = log_slider("η (both)", lr, low, high)
        self.beta2_menu = widgets.Dropdown(options=list(self.BETA2_CHOICES), value=beta2,
                                           description="β₂ (not Lion's)", style={"description_width": "initial"})
        self.race = LiveRace(get_surface(surface), ["Adam", *VARIANTS], self.steps)
        self.title = self.race.live.figure.suptitle(DELTAS[variant].title)
        self.finals = self.race.ax_loss.text(
            0.03, 0.03, "", transform=self.race.ax_loss.transAxes, verticalalignment="bottom",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        self.race.live.animate(self.title, self.finals)
        self.status = widgets.HTML()
        controls = [self.variant_menu, self.surface_menu, self.lr_slider, self.beta2_menu]
        self.panel = self.race.live.panel(controls, self.update, self.status)

    def trajectories(self) -> tuple[Trajectory, Trajectory]:
        """Run Adam and the chosen variant with the controls' values."""
        surface = get_surface(self.surface_menu.value)
        lr, beta2 = self.lr_slider.value, self.beta2_menu.value
        return tuple(run(make_rule(name, lr, beta2), surface, surface.start, self.steps)
                     for name in ("Adam", self.variant_menu.value))

    def update(self) -> None:
        """Re-run both and redraw (a new contour map only when the surface changed)."""
        surface = get_surface(self.surface_menu.value)
        if surface is not self.race.surface:
            self.race.set_surface(surface, self.steps)
        adam, variant = self.trajectories()
        shown: list[Trajectory | None] = [None] * len(self.race.labels)
        shown[0] = adam
        shown[self.race.labels.index(self.variant_menu.value)] = variant
        self.title.set_text(DELTAS[self.variant_menu.value].title)
        lines = [f"loss − minimum after {self.steps} steps:"]
        for trajectory in (adam, variant):
            if trajectory.diverged:
                lines.append(f"{trajectory.rule_name}: diverged at step {trajectory.diverged_at}")
            else:
                lines.append(f"{trajectory.rule_name}: {max(trajectory.losses[-1] - surface.min_loss, 0.0):.2g}")
        self.finals.set_text("\n".join(lines))  # before the race: its legend avoids this note
        self.race.show(shown)

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()


# --- training on digits ---------------------------------------------------------------------------


def final_val_loss(record: TrainingRecord) -> float:
    """The validation loss after the last epoch; infinity for a run that diverged (lesson 08's measure)."""
    return final_validation_loss(record)


def sweep_figure(lrs: object, sweep: Mapping[str, Sequence[TrainingRecord]], top: float = 10.0,
                 chosen: Mapping[str, int] | None = None) -> Figure:
    """Validation loss after training against η (log-log), one line per rule; each rule's chosen η circled.

    ``sweep`` maps a rule's name to its runs, one per learning rate of ``lrs``;
    ``chosen`` maps it to the index of its chosen η (default: its lowest loss).
    Losses above ``top`` (and diverged runs) are drawn at ``top`` as triangles.
    """
    lrs = np.asarray(lrs, dtype=float)
    chosen = dict(chosen or {})
    fig, ax = plt.subplots(figsize=(WIDTH, 5.2), layout="constrained")
    for label, records in sweep.items():
        losses = np.array([final_val_loss(r) for r in records])
        draw_lr_sweep(ax, lrs, losses, label, runner_color(label), top, best=chosen.get(label))
    log_axis(ax, "x", powers_as_text=True)
    log_axis(ax, "y", powers_as_text=True)
    ax.set_ylim(top=top * 1.4)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("validation loss after training")
    ax.set_title("the same network and data, one η sweep per rule\n(◯ its chosen η, ▲ off the chart)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return fig


def online_figure(positions: Mapping[str, np.ndarray], best: float = -1.0) -> Figure:
    """The point x_t an online rule plays at each step t (log-scaled t), one line per rule; ``best`` dotted.

    For lesson 09's counterexample of Reddi et al.: ``positions`` maps a label
    to the points x_1, x_2, … of a run on [−1, 1].
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0), layout="constrained")
    for (label, xs), color in zip(positions.items(), ("tab:red", "tab:green", "tab:blue", "tab:orange")):
        ax.plot(np.arange(1, len(xs) + 1), xs, color=color, linewidth=1.2, label=label)
    ax.axhline(best, color="grey", linestyle=":", linewidth=1, label=f"the best fixed point, x = {best:g}")
    log_axis(ax, "x", powers_as_text=True)
    ax.set_ylim(-1.1, 1.1)
    ax.set_xlabel("step t")
    ax.set_ylabel("x_t (after the projection)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of each ``window`` consecutive values (shorter at the start)."""
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(values) + 1) - counts]) / counts


def troubleshooting_figure(diverges: Sequence[TrainingRecord], too_slow: Sequence[TrainingRecord],
                           overfits: Sequence[TrainingRecord], stalls: Sequence[TrainingRecord],
                           labels: Mapping[str, Sequence[str]] | None = None, classes: int = 10) -> Figure:
    """Four training failures on digits, each as (problem, fix): two runs per panel.

    * diverges: the minibatch loss per step (log axis), the starting training loss, and ln(classes),
      the loss of a uniform guess;
    * too slow: the training loss per epoch (log axis);
    * overfits: training (dashed) and validation (solid) loss per epoch on a linear axis, so that
      the gap between them and the validation loss's slow rise show; the lowest validation loss marked;
    * stalls late: the minibatch loss per step, averaged over one epoch (log axis).

    ``labels`` may name the two runs of a panel ("diverges", "too slow",
    "overfits", "stalls"), default "problem" and "fix". Each legend sits under
    its panel, off the data.
    """
    panels = {"diverges": diverges, "too slow": too_slow, "overfits": overfits, "stalls": stalls}
    labels = dict(labels or {})

    fig, axes = plt.subplots(2, 2, figsize=(WIDTH, 9.4), layout="constrained")
    colors = ("tab:red", "tab:green")
    for ax, (key, pair) in zip(axes.ravel(), panels.items()):
        names = labels.get(key, ("problem", "fix"))
        if key == "diverges":
            ax.axhline(np.log(classes), color="grey", linestyle=":", linewidth=1,
                       label=f"ln {classes} = {np.log(classes):.2f}: a uniform guess")
            ax.axhline(pair[0].train_loss[0], color="black", linestyle="--", linewidth=0.8,
                       label=f"the start: training loss {pair[0].train_loss[0]:.2f}")
        for record, name, color in zip(pair, names, colors):
            if key == "diverges":
                ax.plot(np.arange(1, record.steps_run + 1), record.batch_losses, color=color, label=name,
                        linewidth=0.8)
                ax.set_xlabel("step")
                ax.set_ylabel("minibatch loss")
            elif key == "stalls":
                smooth = _moving_average(record.batch_losses, record.steps_per_epoch)
                ax.plot(np.arange(1, record.steps_run + 1), smooth, color=color, label=name)
                ax.set_xlabel("step")
                ax.set_ylabel("minibatch loss,\nmean of one epoch")
            else:
                epochs = np.arange(record.epochs_run + 1)
                if key == "overfits":
                    ax.plot(epochs, record.train_loss, color=color, linestyle="--", linewidth=1)
                    ax.plot(epochs, record.val_loss, color=color, label=f"{name}: validation")
                    low = int(np.argmin(record.val_loss))
                    ax.plot(epochs[low], record.val_loss[low], marker="o", color=color, markersize=5)
                else:
                    ax.plot(epochs, record.train_loss, color=color, label=name)
                ax.set_xlabel("epoch")
                ax.set_ylabel("loss")
        if key == "overfits":
            # linear: the validation curves sit within a factor of two of each other, flat on a log axis
            val_after_start = np.concatenate([r.val_loss[1:] for r in pair])
            ax.set_ylim(0.0, 1.6 * float(np.nanmax(val_after_start)))
            ax.set_title("overfits (● lowest validation loss)")
        else:
            log_axis(ax, "y", powers_as_text=True)
            ax.set_title(key)
        handles, _ = ax.get_legend_handles_labels()
        if key == "overfits":  # one entry says what the dashed curves are, rather than a longer label on each
            handles.append(Line2D([], [], color="grey", linestyle="--", linewidth=1, label="dashed: training"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        ax.grid(True, which="major", alpha=0.3)
    return fig
