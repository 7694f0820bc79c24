"""Figures and widgets of lesson 09, Beyond Adam, in practice.

The lesson writes the variants' lines itself; this module keeps the plumbing:

* ``DELTAS`` and ``format_delta``: each variant next to Adam, line by line, with
  the lines that differ marked (``≠`` changed, ``+`` added, ``−`` dropped);
* ``make_rule``: Adam or one of its variants from ``lessons_lib.optim``, with a
  learning rate and a β₂ (so that a race compares like with like);
* ``compare_figure``: Adam and a variant on a surface, paths and loss curves,
  titled with the line that differs;
* ``VariantRace``: the same, live: pick the variant, the surface, η and β₂;
* ``format_table``: rows of text in aligned columns (the memory table);
* ``sweep_figure``: validation loss after training against η, one line per rule;
* ``troubleshooting_figure``: four training failures on digits, each beside its fix;
* ``reference_deviations``: replay the stored reference trajectories
  (``tests/fixtures/torch_reference.json``) with ``lessons_lib`` and report the
  largest deviation per variant.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from lessons_lib import optim
from lessons_lib.checks import as_float_array, check_beta, check_learning_rate, check_positive_int
from lessons_lib.figures.lesson08_training import final_validation_loss
from lessons_lib.figures.plotting import (
    RACE_FIGSIZE,
    SMALLEST_GAP,
    check_surface_and_trajectories,
    draw_contours,
    draw_lr_sweep,
)
from lessons_lib.figures.race import COLORS, LiveRace
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import SURFACES, get_surface
from lessons_lib.training import TrainingRecord, check_record
from lessons_lib.figures.live import log_slider

#: Adam's variants, in the order of the lesson.
VARIANTS = ("AMSGrad", "NAdam", "RAdam", "AdaBelief", "Adamax", "Lion", "Lookahead")

#: The colour of each runner in this lesson's figures: Adam first, then each variant its own
#: (the order of ``VariantRace``'s runners, so that the live race and the static figures agree).
RUNNER_COLORS = dict(zip(("Adam", *VARIANTS), COLORS))


def runner_color(name: str) -> str:
    """The colour of a runner by its rule name ("Lookahead(Adam)" counts as "Lookahead"); grey if unknown."""
    return RUNNER_COLORS.get(str(name).split("(")[0], "tab:gray")


# --- the lines that differ ------------------------------------------------------------------------

#: Adam's step, one line per row, in the course's notation (lessons 05 and 06).
ADAM_LINES = (
    "t ← t + 1",
    "m ← β₁ m + (1 − β₁) g",
    "v ← β₂ v + (1 − β₂) g²",
    "m̂ ← m / (1 − β₁ᵗ)",
    "v̂ ← v / (1 − β₂ᵗ)",
    "θ ← θ − η m̂ / (√v̂ + ε)",
)

#: Markers of ``format_delta``: the line is the same, changed, added, or dropped.
SAME, CHANGED, ADDED, DROPPED = " ", "≠", "+", "−"


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


def _rows(changes: Mapping[int, tuple[str, str]],
          added_after: Mapping[int, Sequence[str]] | None = None) -> tuple[tuple[str, str, str], ...]:
    """Adam's lines with ``changes`` (index -> (marker, new line)) and new lines added after index i."""
    rows = []
    for i, line in enumerate(ADAM_LINES):
        marker, new = changes.get(i, (SAME, line))
        rows.append((line, marker, "" if marker == DROPPED else new))
        for extra in (added_after or {}).get(i, ()):
            rows.append(("", ADDED, extra))
    return tuple(rows)


DELTAS: dict[str, Delta] = {
    "AMSGrad": Delta(
        "AMSGrad",
        _rows({4: (CHANGED, "v̂ ← v_max / (1 − β₂ᵗ)")}, {2: ["v_max ← max(v_max, v)"]}),
        r"AMSGrad: $v_{\max} \leftarrow \max(v_{\max}, v)$,  "
        r"divide by $\sqrt{\hat v_{\max}}$ instead of $\sqrt{\hat v}$",
        "t, m, v, v_max",
    ),
    "NAdam": Delta(
        "NAdam",
        _rows({3: (CHANGED, "m̂ ← μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t)")},
              {0: ["μ_t = β₁ (1 − ½ · 0.96^(tψ)),  Π_t = μ₁ μ₂ … μ_t"]}),
        r"NAdam: $\hat m \leftarrow \mu_{t+1}\, m\,/\,(1-\Pi_t\mu_{t+1}) + (1-\mu_t)\, g\,/\,(1-\Pi_t)$",
        "t, m, v and the number Π_t",
    ),
    "RAdam": Delta(
        "RAdam",
        _rows({4: (DROPPED, ""),
               5: (CHANGED, "θ ← θ − η m̂ r_t √(1 − β₂ᵗ) / (√v + ε)  if ρ_t > 5,  else  θ ← θ − η m̂")},
              {3: ["ρ_t = ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ),  r_t = √(…)  (the rectification)"]}),
        r"RAdam: while $\rho_t \leq 5$: $\theta \leftarrow \theta - \eta\,\hat m$;  "
        r"then the adaptive step $\times\, r_t$",
        "t, m, v",
    ),
    "AdaBelief": Delta(
        "AdaBelief",
        _rows({2: (CHANGED, "v ← β₂ v + (1 − β₂) (g − m)² + ε")}),
        r"AdaBelief: $v \leftarrow \beta_2 v + (1-\beta_2)\,(g - m)^2 + \varepsilon$   (not $g^2$)",
        "t, m, v (called s in lessons_lib)",
    ),
    "Adamax": Delta(
        "Adamax",
        _rows({2: (CHANGED, "u ← max(β₂ u, |g| + ε)"), 4: (DROPPED, ""), 5: (CHANGED, "θ ← θ − η m̂ / u")}),
        r"Adamax: $u \leftarrow \max(\beta_2 u,\ |g| + \varepsilon)$,   "
        r"$\theta \leftarrow \theta - \eta\,\hat m\,/\,u$",
        "t, m, u",
    ),
    "Lion": Delta(
        "Lion",
        _rows({0: (DROPPED, ""), 1: (CHANGED, "c = β₁ m + (1 − β₁) g"), 2: (DROPPED, ""), 3: (DROPPED, ""),
               4: (DROPPED, ""), 5: (CHANGED, "θ ← θ − η sign(c)")},
              {5: ["m ← β₂ m + (1 − β₂) g   (β₂ = 0.99: m's own memory)"]}),
        r"Lion: $\theta \leftarrow \theta - \eta\,\mathrm{sign}(\beta_1 m + (1-\beta_1)\, g)$,   "
        r"then $m \leftarrow \beta_2 m + (1-\beta_2)\, g$",
        "m",
    ),
    "Lookahead": Delta(
        "Lookahead",
        _rows({}, {5: ["every k-th step:  slow ← slow + α (θ − slow),  θ ← slow"]}),
        r"Lookahead(Adam): every $k$ steps, $\mathrm{slow} \leftarrow \mathrm{slow} + \alpha(\theta - \mathrm{slow})$,  "
        r"$\theta \leftarrow \mathrm{slow}$",
        "Adam's t, m, v, and the slow weights",
    ),
}


def _check_variant(name: object, allowed: Sequence[str] = VARIANTS) -> str:
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"name must be one of {', '.join(allowed)}; got {name!r}")
    return name


def _width(text: str) -> int:
    """How many columns ``text`` takes in a monospaced font (combining marks, as in m̂, take none)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_delta(name: str) -> str:
    """Adam and the variant ``name`` side by side, one line of the rule per row, with a marker between.

    ``≠`` the line changed, ``+`` the variant adds it, ``−`` the variant drops it.
    """
    delta = DELTAS[_check_variant(name)]
    left = max(_width("state: t, m, v"), *(_width(adam) for adam, _, _ in delta.rows))
    lines = [f"  {_pad('Adam', left)}     {delta.name}", f"  {'-' * left}     {'-' * max(_width(delta.name), 10)}"]
    for adam, marker, new in (*delta.rows, ("state: t, m, v", SAME, f"state: {delta.state}")):
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
        return optim.Adam(lr=lr, beta2=beta2, amsgrad=True, name="AMSGrad")
    if name == "Lion":
        return optim.Lion(lr=lr)
    if name == "Lookahead":
        return optim.Lookahead(optim.Adam(lr=lr, beta2=beta2), name="Lookahead")
    return getattr(optim, name)(lr=lr, beta2=beta2)


# --- Adam and a variant on a surface ------------------------------------------------------------------


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value: float, _position: object = None) -> str:
    """A tick label such as "10⁻³" in plain text (matplotlib's mathtext labels are slow to lay out)."""
    if value <= 0:
        return ""
    exponent = np.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:g}"
    return "10" + str(int(round(exponent))).translate(_SUPERSCRIPTS)


def _log_axis(ax, which: str = "y") -> None:
    """Put one axis on a log scale: major ticks only, labelled 10ⁿ in plain text."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(_power_of_ten))


def compare_figure(surface: object, trajectories: Sequence[Trajectory], title: str = "") -> Figure:
    """Paths over the contour map (left) and loss − minimum per step (right); ``title`` above both.

    Each run is drawn in its runner's colour (``RUNNER_COLORS``, by the
    trajectory's rule name; grey for other names). A run that diverged ends at
    its last finite point, and the map says so.
    """
    check_surface_and_trajectories(surface, trajectories)
    if not trajectories:
        raise ValueError("trajectories must hold at least one run")
    if not isinstance(title, str):
        raise ValueError(f"title must be a string, got {title!r}")
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=RACE_FIGSIZE, dpi=72, layout="constrained")  # as the live race
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
            notes.append(trajectory.message)
    if notes:
        ax_map.text(0.02, 0.02, "\n".join(notes), transform=ax_map.transAxes, fontsize=9, color="darkred",
                    verticalalignment="bottom")
    ax_map.legend(loc="upper right", fontsize=9)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss − minimum")
    ax_loss.set_title("how fast the loss falls", fontsize=10)
    _log_axis(ax_loss, "y")
    ax_loss.set_xlim(0, max(t.steps_run for t in trajectories) or 1)
    # as in LiveRace: one decade above the largest starting gap, so that a run that blows up leaves the chart
    start_gap = max(max(t.losses[0] - surface.min_loss, SMALLEST_GAP) for t in trajectories)
    ax_loss.set_ylim(top=10.0 ** (np.ceil(np.log10(start_gap)) + 1))
    if title:
        fig.suptitle(title, fontsize=11)
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
        self.title = self.race.live.figure.suptitle(DELTAS[variant].title, fontsize=11)
        self.finals = self.race.ax_loss.text(
            0.03, 0.03, "", transform=self.race.ax_loss.transAxes, fontsize=9, verticalalignment="bottom",
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
        self.race.show(shown)
        self.title.set_text(DELTAS[self.variant_menu.value].title)
        lines = [f"loss − minimum after {self.steps} steps:"]
        for trajectory in (adam, variant):
            if trajectory.diverged:
                lines.append(f"{trajectory.rule_name}: diverged at step {trajectory.diverged_at}")
            else:
                lines.append(f"{trajectory.rule_name}: {max(trajectory.losses[-1] - surface.min_loss, 0.0):.2g}")
        self.finals.set_text("\n".join(lines))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()


# --- tables ------------------------------------------------------------------------------------


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """``header`` and ``rows`` as text in aligned columns: the first ``left`` columns left-aligned (names,
    words), the others right-aligned (numbers)."""
    header = [str(h) for h in header]
    if not header:
        raise ValueError("header must name at least one column")
    if isinstance(left, bool) or not isinstance(left, int) or not 0 <= left <= len(header):
        raise ValueError(f"left must be a whole number of columns between 0 and {len(header)}, got {left!r}")
    table = [header]
    for i, row in enumerate(rows):
        row = [str(cell) for cell in row]
        if len(row) != len(header):
            raise ValueError(f"rows[{i}] has {len(row)} cells, but the header has {len(header)} columns")
        table.append(row)
    widths = [max(_width(row[j]) for row in table) for j in range(len(header))]

    def line(row: list[str]) -> str:
        cells = [_pad(cell, w) if j < left else " " * (w - _width(cell)) + cell
                 for j, (cell, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(table[0]), rule, *(line(row) for row in table[1:])])


# --- training on digits ---------------------------------------------------------------------------


def final_val_loss(record: TrainingRecord) -> float:
    """The validation loss after the last epoch; infinity for a run that diverged (lesson 08's measure)."""
    return final_validation_loss(check_record(record, "record"))


def sweep_figure(lrs: object, sweep: Mapping[str, Sequence[TrainingRecord]], top: float = 10.0) -> Figure:
    """Validation loss after training against η (log-log), one line per rule; each rule's best η circled.

    ``sweep`` maps a rule's name to its runs, one per learning rate of ``lrs``.
    Losses above ``top`` (and diverged runs) are drawn at ``top`` as triangles.
    """
    lrs = as_float_array(lrs, "lrs")
    if lrs.ndim != 1 or len(lrs) < 2 or (lrs <= 0).any() or (np.diff(lrs) <= 0).any():
        raise ValueError(f"lrs must be at least two learning rates > 0 in increasing order, got {lrs}")
    if not isinstance(sweep, Mapping) or not sweep:
        raise ValueError("sweep must be a non-empty dict: rule name -> one TrainingRecord per learning rate")
    if not top > 0:
        raise ValueError(f"top must be > 0, got {top}")
    fig, ax = plt.subplots(figsize=(8.5, 4.0), layout="constrained")
    for label, records in sweep.items():
        if isinstance(records, TrainingRecord) or not isinstance(records, Sequence) or len(records) != len(lrs):
            raise ValueError(f"sweep[{label!r}] must hold one TrainingRecord per learning rate ({len(lrs)})")
        losses = np.array([final_val_loss(check_record(r, f"sweep[{label!r}]")) for r in records])
        draw_lr_sweep(ax, lrs, losses, label, runner_color(label), top)
    _log_axis(ax, "x")
    _log_axis(ax, "y")
    ax.set_ylim(top=top * 1.4)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("validation loss after training")
    ax.set_title("the same network and data, one η sweep per rule (◯ its best η, ▲ off the chart)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, ncol=2, loc="lower left")
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

    * diverges: the minibatch loss per step, and ln(classes), the loss of a uniform guess;
    * too slow: the training loss per epoch;
    * overfits: training (dashed) and validation (solid) loss per epoch, the lowest validation loss marked;
    * stalls late: the minibatch loss per step, averaged over one epoch.

    ``labels`` may name the two runs of a panel ("diverges", "too slow",
    "overfits", "stalls"), default "problem" and "fix".
    """
    panels = {"diverges": diverges, "too slow": too_slow, "overfits": overfits, "stalls": stalls}
    classes = check_positive_int(classes, "classes")
    labels = dict(labels or {})
    unknown = sorted(set(labels) - set(panels))
    if unknown:
        raise ValueError(f"labels has unknown panels {unknown}; the panels are {', '.join(panels)}")
    for key, pair in panels.items():
        if isinstance(pair, TrainingRecord) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"{key.replace(' ', '_')} must be a pair (problem, fix) of TrainingRecords")
        for record in pair:
            check_record(record, key.replace(" ", "_"))
        if len(labels.get(key, ("problem", "fix"))) != 2:
            raise ValueError(f"labels[{key!r}] must name the two runs (problem, fix)")

    fig, axes = plt.subplots(2, 2, figsize=(10.5, 6.4), layout="constrained")
    colors = ("tab:red", "tab:green")
    for ax, (key, pair) in zip(axes.ravel(), panels.items()):
        names = labels.get(key, ("problem", "fix"))
        if key == "diverges":
            ax.axhline(np.log(classes), color="grey", linestyle=":", linewidth=1,
                       label=f"ln {classes}: a uniform guess")
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
                ax.set_ylabel("minibatch loss, mean of one epoch")
            else:
                epochs = np.arange(record.epochs_run + 1)
                if key == "overfits":
                    ax.plot(epochs, record.train_loss, color=color, linestyle="--", linewidth=1)
                    ax.plot(epochs, record.val_loss, color=color, label=f"{name} (validation; dashed: training)")
                    low = int(np.argmin(record.val_loss))
                    ax.plot(epochs[low], record.val_loss[low], marker="o", color=color, markersize=5)
                else:
                    ax.plot(epochs, record.train_loss, color=color, label=name)
                ax.set_xlabel("epoch")
                ax.set_ylabel("loss")
        _log_axis(ax, "y")
        ax.set_title(key, fontsize=10)
        ax.legend(fontsize=8, loc="upper right" if key != "overfits" else "lower left")
        ax.grid(True, which="major", alpha=0.3)
    return fig


# --- the reference trajectories ---------------------------------------------------------------------


def _build(rule: str, hyperparameters: Mapping[str, object]) -> object:
    """A lessons_lib rule from its class name and hyperparameters (a Lookahead's ``inner`` first)."""
    hyperparameters = dict(hyperparameters)
    if "inner" in hyperparameters:
        inner = hyperparameters["inner"]
        hyperparameters["inner"] = _build(inner["rule"], inner["hyperparameters"])
    return getattr(optim, rule)(**hyperparameters)


def _variant_of(case: Mapping[str, object]) -> str | None:
    """Which of ``VARIANTS`` a stored case checks (AMSGrad: Adam or AdamW with amsgrad), or None."""
    rule = case["rule"]
    if rule in ("Adam", "AdamW") and case["hyperparameters"].get("amsgrad", False):
        return "AMSGrad"
    return rule if rule in VARIANTS else None


def reference_deviations(path: str | Path) -> dict[str, tuple[str, int, float]]:
    """For each variant: (its references, the number of stored cases, the largest |θ − θ_reference|).

    ``path`` is the fixture written by ``tests/make_torch_fixtures.py``: for each
    case a rule, its hyperparameters, a start θ₀, the gradients of each step and
    the reference's θ after each step. The cases are replayed here with the
    ``lessons_lib`` rule, step by step from the stored gradients.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be the reference fixture (tests/fixtures/torch_reference.json); "
                         f"no file at {path}")
    cases = json.loads(path.read_text())["cases"]
    found: dict[str, tuple[set[str], int, float]] = {}
    for case in cases:
        variant = _variant_of(case)
        if variant is None:
            continue
        rule = _build(case["rule"], case["hyperparameters"])
        theta = np.array(case["theta0"], dtype=np.float64)
        state = rule.init(theta)
        deviation = 0.0
        for grad, expected in zip(case["grads"], case["thetas"]):
            theta, state = rule.step(theta, np.array(grad, dtype=np.float64), state)
            deviation = max(deviation, float(np.max(np.abs(theta - np.array(expected)))))
        references, count, largest = found.get(variant, (set(), 0, 0.0))
        found[variant] = (references | {case["torch_optimizer"]}, count + 1, max(largest, deviation))
    return {name: (_join_references(found[name][0]), found[name][1], found[name][2])
            for name in VARIANTS if name in found}


def _join_references(references: set[str]) -> str:
    """The references of one variant in one line: "p.Wrapper(a.X)", "p.Wrapper(a.Y)" -> "p.Wrapper (around X, Y)"."""
    wrappers = {ref.split("(", 1)[0] for ref in references}
    if len(references) > 1 and len(wrappers) == 1 and all("(" in ref for ref in references):
        inner = sorted(ref.split("(", 1)[1].rstrip(")").rsplit(".", 1)[-1] for ref in references)
        return f"{wrappers.pop()} (around {', '.join(inner)})"
    return ", ".join(sorted(references))
