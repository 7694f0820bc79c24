"""Figures and widgets of lesson 08, Training a real network.

The lesson writes its training loop, its search and its clipping by hand; this module keeps the plumbing:

* ``progress``: tqdm's notebook progress bar over a loop, stored the same way on every run
  (no timings in it), so that nbval can compare the stored notebook;
* ``plot_digits``: a few images of a data set with their labels;
* ``final_validation_loss``: the number a learning-rate search ranks runs by;
* ``plot_lr_search``: validation loss after training against the learning rate, one line per optimizer;
* ``plot_loss_curves``: training and validation loss per epoch of several optimizers, on one figure;
* ``plot_schedules``: several learning-rate schedules over the same updates, on one axes;
* ``ScheduleShaper``: pick a schedule and shape it with controls; its curve redraws in place,
  and the title shows the ``lessons_lib.schedules`` call that makes it;
* ``plot_schedule_runs``: the learning rate and the minibatch loss, update by update, of runs with
  different schedules;
* ``plot_clipping``: gradient norm and minibatch loss per step, with and without clipping;
* ``LearningRateLab``: pick an optimizer, a learning rate and a clipping norm; a short
  training run is redrawn live.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from IPython.display import display
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lessons_lib.data import Dataset
from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, draw_lr_sweep, log_axis
from lessons_lib.figures.style import WIDTH
from lessons_lib.mlp import MLP
from lessons_lib.schedules import Constant, Cosine, Exponential, Schedule, StepDecay, WarmupCosine
from lessons_lib.training import TrainingRecord, train

#: The schedules of the shaper's menu: label shown → class.
KINDS: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step decay": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "warm-up + cosine": WarmupCosine,
}

#: The tops of the shaper's linear learning-rate axis, times a power of ten.
AXIS_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)

#: Losses above this are drawn at the top edge of the search figure, as "off the chart".
SEARCH_LOSS_TOP = 10.0

#: Blank rows (in image pixels) above each row of digits in ``plot_digits``, for the labels.
DIGIT_ROW_GAP = 3

#: The clipping choices of ``LearningRateLab`` (None: no clipping).
CLIP_CHOICES = (("off", None), ("3", 3.0), ("1", 1.0), ("0.3", 0.3), ("0.1", 0.1), ("0.05", 0.05))


# --- a progress bar that stores the same output on every run --------------------------------------


def progress(items: Iterable, desc: str, unit: str = "run") -> Iterable:
    """Loop over ``items`` under tqdm's progress bar (its notebook widget, in a kernel): ``for x in progress(...)``.

    The bar shows ``desc``, the percentage and "n/total units", and no times or
    rates: those differ from run to run, and a stored notebook must not. In a
    notebook the stored text of the output is a fixed sentence naming the loop,
    rather than whatever the bar showed when it was first drawn (0 %); the bar
    itself stays, full, once the loop is done. Outside a notebook (a terminal,
    the tests) tqdm's text bar goes to stderr and disappears at the end.
    """
    items = list(items)
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + "s"
    if not _in_notebook():
        from tqdm import tqdm as text_tqdm

        return text_tqdm(items, desc=desc, bar_format=bar_format, leave=False)
    from tqdm.notebook import tqdm as notebook_tqdm  # imported here: only notebooks need it

    bar = notebook_tqdm(items, desc=desc, bar_format=bar_format, display=False)
    bundle = bar.container._repr_mimebundle_()
    bundle["text/plain"] = f"[a progress bar: {desc}, {len(items)} {unit}s]"
    display(bundle, raw=True)
    return bar


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where a widget can be shown), False in a terminal or a test."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


# --- the data ------------------------------------------------------------------------------------


def plot_digits(X: np.ndarray, y: np.ndarray, count: int = 12, per_row: int = 6) -> Figure:
    """The first ``count`` images of ``X`` (rows of 64 pixels, shown as 8 × 8) side by side, labelled;
    ``per_row`` to a row, so that each image is about 1.3 inches wide (legible on a projector).

    The images are pasted into one picture with a blank column between them, and
    ``DIGIT_ROW_GAP`` blank rows between rows of images for the labels (one
    ``imshow``, much faster to draw than an axes per image).
    """
    images = X[:count].reshape(count, 8, 8)
    cols, rows = min(count, per_row), -(-count // per_row)
    picture = np.full((rows * (8 + DIGIT_ROW_GAP) - DIGIT_ROW_GAP, cols * 9 - 1), np.nan)  # NaN is drawn blank
    for i, image in enumerate(images):
        top, left = (i // cols) * (8 + DIGIT_ROW_GAP), (i % cols) * 9
        picture[top:top + 8, left:left + 8] = image
    width = min(WIDTH, 1.4 * cols)
    height = width * (picture.shape[0] + DIGIT_ROW_GAP) / picture.shape[1]
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.imshow(picture, cmap="gray_r")
    for i, label in enumerate(y[:count]):
        ax.text(9 * (i % cols) + 3.5, (i // cols) * (8 + DIGIT_ROW_GAP) - 1.0, str(label), ha="center",
                va="bottom")
    ax.set_ylim(picture.shape[0] - 0.5, -DIGIT_ROW_GAP + 0.2)
    ax.set_axis_off()
    return fig


# --- the learning-rate search --------------------------------------------------------------------


def final_validation_loss(record: TrainingRecord) -> float:
    """The validation loss after the last epoch, or infinity if the run diverged (it has no last epoch)."""
    return math.inf if record.diverged_at is not None else float(record.val_loss[-1])


def mean_validation_loss(runs: TrainingRecord | Sequence[TrainingRecord]) -> float:
    """The mean of ``final_validation_loss`` over runs (one per seed): infinity if any of them diverged. A single
    run's is its own."""
    if isinstance(runs, TrainingRecord):
        return final_validation_loss(runs)
    return float(np.mean([final_validation_loss(r) for r in runs]))


def plot_lr_search(lrs: object, search: Mapping[str, Sequence[TrainingRecord | Sequence[TrainingRecord]]],
                   xlabel: str = "learning rate η") -> Figure:
    """For each optimizer, the validation loss after training against the learning rate (log-log).

    ``search`` maps an optimizer's name to its runs, one entry per learning rate of
    ``lrs``: a run, or the runs of several seeds, drawn at their mean (``mean_validation_loss``).
    The lowest point of each line (the chosen learning rate) is
    circled. Losses above ``SEARCH_LOSS_TOP`` and runs that diverged are drawn
    at the top edge, as triangles. ``xlabel`` names what was searched (a peak
    learning rate, for a schedule).
    """
    lrs = np.asarray(lrs, dtype=float)
    fig, ax = plt.subplots(figsize=(WIDTH, 4.8), layout="constrained")
    for (label, records), color in zip(search.items(), COLORS):
        losses = np.array([mean_validation_loss(r) for r in records])
        draw_lr_sweep(ax, lrs, losses, label, color, top=SEARCH_LOSS_TOP)
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_ylim(top=SEARCH_LOSS_TOP * 1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation loss after training")
    ax.set_title(f"the search\n(○ the chosen value; ▲ loss above {SEARCH_LOSS_TOP:g} or diverged)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_loss_curves(runs: Mapping[str, Sequence[TrainingRecord]]) -> Figure:
    """Training loss (left) and validation loss (right) per epoch, one colour per optimizer (legend below both).

    ``runs`` maps an optimizer's name to its runs (one per seed, all with the
    same number of epochs); each line is their mean, on a log scale.
    """
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(WIDTH, 5.0), layout="constrained", sharey=True)
    for (label, records), color in zip(runs.items(), COLORS):
        epochs = np.arange(records[0].epochs_run + 1)
        ax_train.plot(epochs, np.mean([r.train_loss for r in records], axis=0), color=color, label=label)
        ax_val.plot(epochs, np.mean([r.val_loss for r in records], axis=0), color=color, label=label)
    for ax, part in ((ax_train, "training"), (ax_val, "validation")):
        log_axis(ax)
        ax.set_xlabel("epoch")
        ax.set_title(f"{part} loss")
    ax_train.set_ylabel("mean cross-entropy\n(mean over seeds)")
    fig.legend(*ax_val.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    return fig


# --- several schedules on one axes -------------------------------------------------------------


def plot_schedules(
    schedules: Mapping[str, Schedule] | Sequence[Schedule],
    steps: int,
    ax: Axes | None = None,
    log_scale: bool = False,
) -> Axes:
    """Draw the learning rate of updates 0 … ``steps`` − 1 for each schedule, on one axes.

    ``schedules`` is a list (each labelled by its ``name``) or a dict label →
    schedule. Draws into ``ax``, or into a new figure; returns the axes.
    ``log_scale`` puts the learning rate on a log axis (exponential decay
    becomes a straight line; zeros drop off the bottom).
    """
    labelled = list(schedules.items()) if isinstance(schedules, Mapping) else [(s.name, s) for s in schedules]
    curves = [(label, schedule.values(steps)) for label, schedule in labelled]
    top = max(float(values.max()) for _, values in curves)

    if ax is None:
        _, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    t = np.arange(steps)
    for label, values in curves:
        ax.plot(t, values, label=label)
    if log_scale:
        ax.set_yscale("log")
    elif top > 0:
        ax.set_ylim(0, top * 1.08)
    ax.set_xlim(0, steps - 1 if steps > 1 else 1)
    ax.set_xlabel("update t")
    ax.set_ylabel("learning rate η_t")
    ax.legend()
    return ax


# --- the shaper ----------------------------------------------------------------------------------


def _call_text(schedule: Schedule) -> str:
    """The call that makes ``schedule``, e.g. ``Cosine(lr=0.1, total_steps=200, min_lr=0)``."""
    fields = {
        Constant: ("lr",),
        StepDecay: ("lr", "step_size", "gamma"),
        Exponential: ("lr", "gamma"),
        Cosine: ("lr", "total_steps", "min_lr"),
        WarmupCosine: ("lr", "warmup_steps", "total_steps", "min_lr"),
    }[type(schedule)]
    arguments = ", ".join(f"{field}={getattr(schedule, field):.4g}" for field in fields)
    return f"{type(schedule).__name__}({arguments})"


class ScheduleShaper:
    """Choose a schedule and shape it: its learning rate over the updates of a run, redrawn as you move a control.

    Controls: the kind of schedule; η (the base or peak learning rate, log
    slider); the number of updates T; the warm-up steps W; the step size and γ
    of step decay; γ of exponential decay; η_min as a fraction of η (cosine
    schedules); a log scale for the learning rate. Controls that the chosen
    kind does not use are folded away (hidden, not greyed out). The curve shows updates 0 … T − 1, the
    learning rates a run of T updates uses; the title shows the call to
    ``lessons_lib.schedules`` that gives them (``schedule()`` returns it).

    Display ``.panel`` (live, with a kernel) and ``.snapshot()`` (a static
    picture of the current state, for readers without one).
    """

    LR_RANGE = (1e-4, 1.0)
    STEPS_RANGE = (10, 1000)
    WARMUP_RANGE = (0, 500)
    STEP_SIZE_RANGE = (1, 500)
    GAMMA_RANGE = (0.01, 1.0)
    GAMMA_PER_STEP_RANGE = (0.9, 1.0)

    def __init__(
        self,
        kind: str = "warm-up + cosine",
        lr: float = 0.1,
        total_steps: int = 200,
        warmup_steps: int = 20,
        step_size: int = 50,
        gamma: float = 0.5,
        gamma_per_step: float = 0.98,
        min_lr_fraction: float = 0.0,
        log_scale: bool = False,
    ) -> None:
        style = {"description_width": "initial"}
        self.kind = widgets.Dropdown(options=list(KINDS), value=kind, description="schedule", style=style)
        self.lr = log_slider("η (base / peak)", lr, *self.LR_RANGE)
        self.total_steps = widgets.IntSlider(value=total_steps, min=self.STEPS_RANGE[0], max=self.STEPS_RANGE[1],
                                             description="updates T", style=style)
        self.warmup_steps = widgets.IntSlider(value=warmup_steps, min=self.WARMUP_RANGE[0],
                                              max=self.WARMUP_RANGE[1], description="warm-up W", style=style)
        self.step_size = widgets.IntSlider(value=step_size, min=self.STEP_SIZE_RANGE[0],
                                           max=self.STEP_SIZE_RANGE[1], description="step size", style=style)
        self.gamma = widgets.FloatSlider(value=gamma, min=self.GAMMA_RANGE[0], max=self.GAMMA_RANGE[1], step=0.01,
                                         description="γ per step size", readout_format=".2f", style=style)
        self.gamma_per_step = widgets.FloatSlider(value=gamma_per_step, min=self.GAMMA_PER_STEP_RANGE[0],
                                                  max=self.GAMMA_PER_STEP_RANGE[1], step=0.001,
                                                  description="γ per update", readout_format=".3f", style=style)
        self.min_lr_fraction = widgets.FloatSlider(value=min_lr_fraction, min=0.0, max=1.0, step=0.01,
                                                   description="η_min / η", readout_format=".2f", style=style)
        self.log_scale = widgets.Checkbox(value=log_scale, description="log scale", indent=False)
        #: the controls only some kinds use
        self.specific = [self.warmup_steps, self.step_size, self.gamma, self.gamma_per_step, self.min_lr_fraction]
        self.controls = [self.kind, self.lr, self.total_steps, *self.specific, self.log_scale]
        #: which controls each kind uses (the others are folded away)
        self.uses = {
            "constant": (),
            "step decay": (self.step_size, self.gamma),
            "exponential": (self.gamma_per_step,),
            "cosine": (self.min_lr_fraction,),
            "warm-up + cosine": (self.warmup_steps, self.min_lr_fraction),
        }

        # Short: on a projector's column (673 CSS px) the controls take three rows, and the picture must fit
        # under them (tests/test_browser.py).
        figure = Figure(figsize=(WIDTH, 3.2), layout="constrained")
        figure.get_layout_engine().set(w_pad=0.2)
        self.ax = figure.subplots()
        (self.curve,) = self.ax.plot([], [], color=COLORS[0], linewidth=2)
        self.warmup_end = self.ax.axvline(0, color="grey", linestyle=":", linewidth=1)
        self.ax.set_xlabel("update t")
        self.ax.set_ylabel("learning rate η_t")
        # The layout is computed once, at the first draw: the label stands where a log axis's tick labels
        # (10⁻⁹, wider than the linear ones) leave it room, so the layout keeps that room.
        self.ax.yaxis.set_label_coords(-0.085, 0.5)
        # The title shows the call and a few values. It gets two lines now, because the layout is
        # computed once, at the first draw, and must leave room for both.
        # y fixed (not placed by matplotlib at each draw): always above the power of ten at the top left
        # ("1e−2", linear axis), which would otherwise push a long title up, out of the fixed layout.
        self.title = self.ax.set_title("the schedule\n(filled in by update)", y=1.08)
        self.live = LiveFigure(figure)
        self.live.animate(self.curve, self.warmup_end, self.title)
        self.status = widgets.HTML()
        self.panel = self.live.panel(self.controls, self.update, self.status)

    def schedule(self) -> Schedule:
        """The schedule the controls describe (raises ValueError for impossible ones, e.g. W ≥ T)."""
        kind, lr, total = self.kind.value, self.lr.value, self.total_steps.value
        if kind == "constant":
            return Constant(lr=lr)
        if kind == "step decay":
            return StepDecay(lr=lr, step_size=self.step_size.value, gamma=self.gamma.value)
        if kind == "exponential":
            return Exponential(lr=lr, gamma=self.gamma_per_step.value)
        min_lr = self.min_lr_fraction.value * lr
        if kind == "cosine":
            return Cosine(lr=lr, total_steps=total, min_lr=min_lr)
        return WarmupCosine(lr=lr, warmup_steps=self.warmup_steps.value, total_steps=total, min_lr=min_lr)

    def update(self) -> None:
        """Compute the schedule, set the curve, and rescale the axes if they must change."""
        kind = self.kind.value
        for control in self.specific:  # folded away (hidden, never disabled) when this kind does not use it
            control.layout.display = "" if control in self.uses[kind] else "none"
        schedule = self.schedule()
        total = self.total_steps.value
        values = schedule.values(total)
        self.curve.set_data(np.arange(total), values)
        self.warmup_end.set_visible(kind == "warm-up + cosine")
        if kind == "warm-up + cosine":
            self.warmup_end.set_xdata([schedule.warmup_steps, schedule.warmup_steps])
        self.title.set_text(
            f"{_call_text(schedule)}\n"
            f"first update: η₀ = {values[0]:.3g} · last (t = {total - 1}): η = {values[-1]:.3g}"
        )
        self._set_axes(values, total)

    def _set_axes(self, values: np.ndarray, total: int) -> None:
        """New limits or scale only when they change (redrawing the background costs a full draw).

        The top of the learning-rate axis moves in steps (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k;
        on a log axis, whole decades), so that most moves of η only move the curve.
        """
        top = float(values.max())
        if self.log_scale.value:
            scale = "log"
            positive = values[values > 0]
            low = max(float(positive.min()), top * 1e-6) if positive.size else top * 1e-3
            ylim = (10.0 ** np.floor(np.log10(low) - 0.3), 10.0 ** np.ceil(np.log10(top) + 0.2))
        else:
            scale = "linear"
            decade = 10.0 ** np.floor(np.log10(top * 1.05))
            ylim = (0.0, decade * next(step for step in AXIS_STEPS if step * decade >= top * 1.05))
        xlim = (0.0, float(total - 1))
        if self.ax.get_yscale() == scale and self.ax.get_ylim() == ylim and self.ax.get_xlim() == xlim:
            return
        self.ax.set_yscale(scale)
        if scale == "linear":  # mantissas on the ticks, the power of ten once at the top: the labels keep their width
            self.ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        self.ax.set_ylim(*ylim)
        self.ax.set_xlim(*xlim)
        self.live.redraw_background()

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()


# --- schedules and clipping ----------------------------------------------------------------------


def plot_schedule_runs(runs: Mapping[str, TrainingRecord],
                       reference: tuple[str, TrainingRecord] | None = None) -> Figure:
    """Runs with different learning-rate schedules, update by update: η_t (top) and the minibatch loss (below).

    Top: the learning rate of every update, one colour per run (legend above the curves); ``reference`` (a
    label and a run: the constant schedule, which comes first in ``plot_schedules``)
    dashed in black, and the runs in ``plot_schedules``' colours from the second on.
    Below: one panel per run, stacked, its minibatch loss at every update in colour over the
    reference's in grey, on a log scale. The last epoch is shaded, and each
    panel's title gives the spread there (the standard deviation of that epoch's
    minibatch losses), for the run and for the reference.
    """
    records = list(runs.items())
    nrows = len(records)  # one panel a row: a run's one-line title needs the figure's width
    fig = plt.figure(figsize=(WIDTH, 3.0 + 1.9 * nrows), layout="constrained")
    grid = fig.add_gridspec(nrows + 1, 1, height_ratios=(1.5, *[1.0] * nrows))
    ax_lr = fig.add_subplot(grid[0])
    panels: list[Axes] = []
    for i in range(len(records)):
        share = {"sharex": ax_lr} if not panels else {"sharex": ax_lr, "sharey": panels[0]}
        panels.append(fig.add_subplot(grid[1 + i], **share))

    def spread(record: TrainingRecord) -> float:
        return float(np.std(record.batch_losses[-record.steps_per_epoch:]))

    colors = COLORS[1:] if reference is not None else COLORS
    for (label, record), color, ax in zip(records, colors, panels):
        steps = np.arange(record.steps_run)
        ax_lr.plot(steps, record.lrs, color=color, label=label)
        title = f"{label}: spread {spread(record):.3f}"
        if reference is not None:
            ref = reference[1]
            ax.plot(np.arange(ref.steps_run), ref.batch_losses, color="0.65", linewidth=0.8)
            title += f" (grey: {spread(ref):.3f})"
        ax.plot(steps, record.batch_losses, color=color, linewidth=0.9)
        ax.axvspan(record.steps_run - record.steps_per_epoch, record.steps_run - 1, color="0.93", zorder=0)
        ax.set_title(title)
        log_axis(ax)
    if reference is not None:
        ref_label, ref = reference
        ax_lr.plot(np.arange(ref.steps_run), ref.lrs, color="black", linestyle="--", label=ref_label)
    everything = records + ([reference] if reference is not None else [])
    ax_lr.set_ylim(0, 1.6 * max(float(np.max(record.lrs)) for _, record in everything))  # the legend on top
    ax_lr.set_ylabel("learning rate η_t")
    ax_lr.legend(loc="upper center", ncols=3)
    ax_lr.set_title(f"grey in the panels below: {reference[0]}\nshaded: the last epoch" if reference else
                    "shaded below: the last epoch")
    for ax in panels:
        ax.set_ylabel("minibatch loss")
        if ax is not panels[-1]:
            ax.tick_params(labelbottom=False)
    panels[-1].set_xlabel("update t")
    return fig


def plot_clipping(runs: Mapping[str, TrainingRecord], clip_norm: float, ceiling: float = 1e4) -> Figure:
    """Gradient norm ‖g‖ before clipping (left) and minibatch loss (right) per step, on log scales.

    Values above ``ceiling`` leave the picture (a triangle marks where a run
    first does); a run that diverged gets a dashed vertical line at the step
    where its loss or gradient became infinite. ``clip_norm`` is drawn as a
    dotted line on the left.
    """
    records = dict(runs)
    fig, (ax_norm, ax_loss) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), layout="constrained", sharex=True)
    lowest = {ax_norm: clip_norm, ax_loss: ceiling}
    for (label, record), color in zip(records.items(), COLORS):
        steps = np.arange(1, record.steps_run + 1)
        for ax, values in ((ax_norm, record.grad_norms), (ax_loss, record.batch_losses)):
            above = values > ceiling
            ax.plot(steps, np.where(above, np.nan, values), color=color, linewidth=0.8, label=label)
            if above.any():
                ax.plot(steps[above][0], ceiling, marker="^", markersize=8, color=color, clip_on=False)
            if record.diverged_at is not None:
                ax.axvline(record.diverged_at, color=color, linestyle="--", linewidth=1)
            if (values > 0).any():
                lowest[ax] = min(lowest[ax], float(values[values > 0].min()))
    for ax in (ax_norm, ax_loss):
        log_axis(ax)
        ax.set_ylim(lowest[ax] / 2, ceiling)
        ax.set_xlabel("step")
    ax_norm.axhline(clip_norm, color="black", linestyle=":", linewidth=1)
    ax_norm.text(1, clip_norm, f" clip_norm = {clip_norm:g}", va="bottom")
    ax_norm.set_ylabel("‖g‖ before clipping")
    ax_loss.set_ylabel("minibatch loss")
    diverged = [f"{label}: at step {r.diverged_at}" for label, r in records.items() if r.diverged_at is not None]
    note = f"▲ leaves the picture (above {ceiling:g})"
    if diverged:
        note += "\ndashed: the loss became infinite (" + "; ".join(diverged) + ")"
    fig.suptitle(note)
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


# --- the live lab --------------------------------------------------------------------------------


class LearningRateLab:
    """One optimizer, one learning rate, an optional clipping norm: a short training run, redrawn live.

    ``rules`` maps an optimizer's name to a function ``lr -> rule`` (as in the
    lesson); ``tuned`` gives each optimizer's learning rate from the search. The
    picture shows the minibatch loss per step of ``epochs`` epochs at the chosen
    η (in colour) and at the tuned η (grey, for comparison); the title gives the
    validation accuracy after the run, whether it diverged, and how often
    clipping acted.

    ``panel`` holds the controls and the live picture; ``snapshot()`` is the
    current picture as a static image.
    """

    LR_RANGE = (1e-4, 30.0)
    LOSS_LIMITS = (1e-3, 1e3)

    def __init__(self, model: MLP, data: Dataset, rules: Mapping[str, Callable[[float], object]],
                 tuned: Mapping[str, float], rule: str, lr: float, clip: str = "off", epochs: int = 3,
                 batch_size: int = 32, seed: int = 0) -> None:
        choices = dict(CLIP_CHOICES)
        self.model, self.data, self.rules, self.tuned = model, data, dict(rules), dict(tuned)
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed
        self._reference: dict[str, TrainingRecord] = {}

        style = {"description_width": "initial"}
        self.rule = widgets.Dropdown(options=list(self.rules), value=rule, description="optimizer", style=style)
        self.lr = log_slider("learning rate η", lr, *self.LR_RANGE)
        self.clip = widgets.Dropdown(options=list(choices), value=clip, description="clip_norm", style=style)

        steps = self.epochs * -(-len(data.y_train) // self.batch_size)
        # On a projector's column (673 CSS px) the controls take two rows; the picture fits under them.
        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
        ax = figure.subplots()
        (self.reference_line,) = ax.plot([], [], color="0.6", linewidth=1, label="at the tuned η")
        (self.line,) = ax.plot([], [], color="tab:orange", linewidth=1, label="at the chosen η")
        (self.end,) = ax.plot([], [], marker="x", markersize=9, markeredgewidth=2, color="tab:orange",
                              linestyle="none")
        log_axis(ax)
        ax.set_ylim(*self.LOSS_LIMITS)
        ax.set_xlim(0, steps + 1)
        ax.set_xlabel("step")
        ax.set_ylabel(f"minibatch loss\n(drawn at {self.LOSS_LIMITS[1]:g} if above)")
        ax.legend(loc="lower left")  # free: the first steps' losses are far above 10⁻², at any η
        # Three lines: the settings, the result, the clipping. The layout is computed once, at the first
        # draw, so the title must have all three from the start.
        self.title = ax.set_title("settings\nresult\nclipping")
        self.live = LiveFigure(figure)
        self.live.animate(self.reference_line, self.line, self.end, self.title)
        self.status = widgets.HTML()
        self.panel = self.live.panel([self.rule, self.lr, self.clip], self.update, self.status)

    def run(self, name: str, lr: float, clip_norm: float | None) -> TrainingRecord:
        """A run of ``epochs`` epochs of optimizer ``name`` at learning rate ``lr``."""
        with np.errstate(over="ignore"):  # a blown-up run may overflow on its way to infinity: that is the point
            return train(self.rules[name](lr), self.model, self.data, epochs=self.epochs,
                         batch_size=self.batch_size, seed=self.seed, clip_norm=clip_norm)

    def reference(self, name: str) -> TrainingRecord:
        """The run at the tuned learning rate, without clipping (made once per optimizer)."""
        if name not in self._reference:
            self._reference[name] = self.run(name, self.tuned[name], None)
        return self._reference[name]

    def update(self) -> None:
        """Read the controls, run, and set the curves and the text."""
        name, lr, clip_norm = self.rule.value, self.lr.value, dict(CLIP_CHOICES)[self.clip.value]
        record = self.run(name, lr, clip_norm)
        top = self.LOSS_LIMITS[1]
        reference = self.reference(name)
        self.reference_line.set_data(np.arange(1, reference.steps_run + 1), np.minimum(reference.batch_losses, top))
        steps = np.arange(1, record.steps_run + 1)
        self.line.set_data(steps, np.minimum(record.batch_losses, top))
        diverged = record.diverged_at is not None
        self.end.set_data(steps[-1:] if diverged else [], np.minimum(record.batch_losses[-1:], top) if diverged else [])
        settings = (f"{name}: η = {lr:.3g} (tuned η = {self.tuned[name]:.3g}), "
                    f"clip_norm = {self.clip.value}, {self.epochs} epochs")
        if diverged:
            result = f"diverged at step {record.diverged_at}"
        else:
            result = (f"validation accuracy {100 * record.val_accuracy[-1]:.1f} % "
                      f"(tuned η: {100 * reference.val_accuracy[-1]:.1f} %)")
        clipping = "no clipping"
        if clip_norm is not None and record.steps_run:
            clipping = f"clipping acted on {np.mean(record.grad_norms > clip_norm):.0%} of the steps"
        self.title.set_text(f"{settings}\n{result}\n{clipping}")

    def snapshot(self) -> StaticImage:
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()

