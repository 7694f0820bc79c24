"""Figures and widgets of lesson 08, Training a real network.

The lesson writes its training loop, its search and its clipping by hand; this module keeps the plumbing:

* ``progress``: tqdm's notebook progress bar over a loop, stored the same way on every run
  (no timings in it), so that nbval can compare the stored notebook;
* ``plot_digits``: a few images of a data set with their labels;
* ``final_validation_loss``: the number a learning-rate search ranks runs by;
* ``plot_lr_search``: validation loss after training against the learning rate, one line per optimizer;
* ``plot_loss_curves``: training and validation loss per epoch of several optimizers, on one figure;
* ``format_table``: rows of text in aligned columns (the accuracy table);
* ``plot_schedule_runs``: the learning rate and the training loss of runs with different schedules;
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
from matplotlib.ticker import NullLocator

from lessons_lib.checks import as_float_array, check_learning_rate, check_positive, check_positive_int
from lessons_lib.data import Dataset
from lessons_lib.mlp import MLP
from lessons_lib.figures.plotting import draw_lr_sweep
from lessons_lib.figures.race import COLORS
from lessons_lib.training import TrainingRecord, check_record, train
from lessons_lib.figures.live import LiveFigure, log_slider

#: Losses above this are drawn at the top edge of the search figure, as "off the chart".
SEARCH_LOSS_TOP = 10.0

#: The clipping choices of ``LearningRateLab`` (None: no clipping).
CLIP_CHOICES = (("off", None), ("3", 3.0), ("1", 1.0), ("0.3", 0.3), ("0.1", 0.1), ("0.05", 0.05))


def _log_axis(ax: Axes, axis: str = "y") -> None:
    """Put ``axis`` ("x" or "y") on a log scale, with major ticks only (minor ticks are slow to draw)."""
    if axis == "x":
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())


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
    if not isinstance(desc, str) or not desc:
        raise ValueError(f"desc must be a non-empty string naming the loop, got {desc!r}")
    if not isinstance(unit, str) or not unit:
        raise ValueError(f"unit must be a non-empty string such as 'run', got {unit!r}")
    try:
        items = list(items)
    except TypeError:
        raise ValueError(f"items must be something to loop over (a list, a range...), got {items!r}") from None
    if not items:
        raise ValueError("items is empty: nothing to show progress for")
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


def plot_digits(X: np.ndarray, y: np.ndarray, count: int = 12) -> Figure:
    """The first ``count`` images of ``X`` (rows of 64 pixels, shown as 8 × 8) side by side, labelled.

    The images are pasted into one picture with a blank column between them
    (one ``imshow``, much faster to draw than an axes per image).
    """
    X = as_float_array(X, "X")
    y = np.asarray(y)
    count = check_positive_int(count, "count")
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"X must hold one 8 × 8 image per row, shape (n, 64); got shape {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must give one label per image ({len(X)}), got shape {y.shape}")
    if count > len(X):
        raise ValueError(f"count must be at most the number of images ({len(X)}), got {count}")
    images = X[:count].reshape(count, 8, 8)
    gap = np.full((count, 8, 1), np.nan)  # NaN is drawn blank
    strip = np.concatenate([images, gap], axis=2).transpose(1, 0, 2).reshape(8, count * 9)[:, :-1]
    fig, ax = plt.subplots(figsize=(0.7 * count, 1.1), layout="constrained")
    ax.imshow(strip, cmap="gray_r")
    for i, label in enumerate(y[:count]):
        ax.text(9 * i + 3.5, -1.0, str(label), ha="center", va="bottom", fontsize=10)
    ax.set_ylim(7.5, -2.8)
    ax.set_axis_off()
    return fig


# --- the learning-rate search --------------------------------------------------------------------


def final_validation_loss(record: TrainingRecord) -> float:
    """The validation loss after the last epoch, or infinity if the run diverged (it has no last epoch)."""
    record = check_record(record, "record")
    if record.diverged_at is not None:
        return math.inf
    loss = float(record.val_loss[-1])
    if math.isnan(loss):
        raise ValueError("record has no validation loss: train on a data set with a validation part")
    return loss


def _check_grid(lrs: object) -> np.ndarray:
    lrs = as_float_array(lrs, "lrs")
    if lrs.ndim != 1 or len(lrs) < 2 or (lrs <= 0).any() or (np.diff(lrs) <= 0).any():
        raise ValueError(f"lrs must be at least two learning rates > 0 in increasing order, got {lrs}")
    return lrs


def _check_runs_per_name(runs: object, name: str, length: int | None = None) -> dict[str, list[TrainingRecord]]:
    """A dict optimizer name -> list of records, checked (all lists of ``length``, if given)."""
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError(f"{name} must be a non-empty dict: optimizer name -> list of TrainingRecords")
    if len(runs) > len(COLORS):
        raise ValueError(f"{name} can hold at most {len(COLORS)} optimizers (one colour each), got {len(runs)}")
    checked = {}
    for label, records in runs.items():
        if isinstance(records, TrainingRecord) or not isinstance(records, Sequence) or not records:
            raise ValueError(f"{name}[{label!r}] must be a non-empty list of TrainingRecords")
        if length is not None and len(records) != length:
            raise ValueError(f"{name}[{label!r}] must hold one run per learning rate ({length}), got {len(records)}")
        checked[str(label)] = [check_record(r, f"{name}[{label!r}]") for r in records]
    return checked


def plot_lr_search(lrs: object, search: Mapping[str, Sequence[TrainingRecord]]) -> Figure:
    """For each optimizer, the validation loss after training against the learning rate (log-log).

    ``search`` maps an optimizer's name to its runs, one per learning rate of
    ``lrs``. The lowest point of each line (the chosen learning rate) is
    circled. Losses above ``SEARCH_LOSS_TOP`` and runs that diverged are drawn
    at the top edge, as triangles.
    """
    lrs = _check_grid(lrs)
    search = _check_runs_per_name(search, "search", len(lrs))
    fig, ax = plt.subplots(figsize=(8.0, 4.2), layout="constrained")
    for (label, records), color in zip(search.items(), COLORS):
        losses = np.array([final_validation_loss(r) for r in records])
        draw_lr_sweep(ax, lrs, losses, label, color, top=SEARCH_LOSS_TOP)
    _log_axis(ax, "x")
    _log_axis(ax, "y")
    ax.set_ylim(top=SEARCH_LOSS_TOP * 1.4)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("validation loss after training")
    ax.set_title(f"the learning-rate search (○ the chosen η; ▲ loss above {SEARCH_LOSS_TOP:g} or diverged)",
                 fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return fig


def plot_loss_curves(runs: Mapping[str, Sequence[TrainingRecord]]) -> Figure:
    """Training loss (left) and validation loss (right) per epoch, one colour per optimizer.

    ``runs`` maps an optimizer's name to its runs (one per seed, all with the
    same number of epochs); each line is their mean, on a log scale.
    """
    runs = _check_runs_per_name(runs, "runs")
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(11.0, 4.0), layout="constrained", sharey=True)
    for (label, records), color in zip(runs.items(), COLORS):
        if len({r.epochs_run for r in records}) != 1 or any(r.diverged_at is not None for r in records):
            raise ValueError(f"runs[{label!r}] must be runs of the same length that did not diverge")
        epochs = np.arange(records[0].epochs_run + 1)
        ax_train.plot(epochs, np.mean([r.train_loss for r in records], axis=0), color=color, label=label)
        ax_val.plot(epochs, np.mean([r.val_loss for r in records], axis=0), color=color, label=label)
    for ax, part in ((ax_train, "training"), (ax_val, "validation")):
        _log_axis(ax)
        ax.set_xlabel("epoch")
        ax.set_title(f"{part} loss", fontsize=10)
    ax_train.set_ylabel("mean cross-entropy (mean over seeds)")
    ax_val.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return fig


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows of cells as text in aligned columns: the first column left-aligned, the others right-aligned."""
    if isinstance(header, str) or not header:
        raise ValueError(f"header must be a list of column names, got {header!r}")
    if not rows or any(isinstance(row, str) or len(row) != len(header) for row in rows):
        raise ValueError(f"rows must be a non-empty list of rows with {len(header)} cells each")
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


# --- schedules and clipping ----------------------------------------------------------------------


def plot_schedule_runs(runs: Mapping[str, TrainingRecord],
                       reference: tuple[str, TrainingRecord] | None = None) -> Figure:
    """Runs with different learning-rate schedules: η per update (top) and the training loss (bottom).

    The training loss is measured on the whole training part after each epoch,
    and drawn at the update where that epoch ends. The runs take the colours of
    ``lessons_lib.figures.lesson08_schedules.plot_schedules`` in the same order;
    ``reference`` (a label and a run) is drawn dashed in black.
    """
    if not isinstance(runs, Mapping) or not runs or len(runs) > len(COLORS):
        raise ValueError(f"runs must be a dict: label -> TrainingRecord, with 1 to {len(COLORS)} runs")
    if reference is not None and (not isinstance(reference, tuple) or len(reference) != 2):
        raise ValueError(f"reference must be a pair (label, TrainingRecord) or None, got {reference!r}")
    styles = [(label, record, {"color": color}) for (label, record), color in zip(runs.items(), COLORS)]
    if reference is not None:
        styles.append((reference[0], reference[1], {"color": "black", "linestyle": "--"}))
    fig, (ax_lr, ax_loss) = plt.subplots(2, 1, figsize=(8.0, 5.6), layout="constrained", sharex=True,
                                         height_ratios=(1, 1.4))
    for label, record, style in styles:
        record = check_record(record, f"the run {label!r}")
        ax_lr.plot(np.arange(record.steps_run), record.lrs, label=label, **style)
        epoch_ends = np.minimum(np.arange(record.epochs_run + 1) * record.steps_per_epoch, record.steps_run)
        ax_loss.plot(epoch_ends, record.train_loss, marker=".", label=label, **style)
    ax_lr.set_ylabel("learning rate η_t")
    ax_lr.set_ylim(bottom=0)
    ax_lr.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    _log_axis(ax_loss)
    ax_loss.set_xlabel("update t")
    ax_loss.set_ylabel("training loss (after each epoch)")
    return fig


def plot_clipping(runs: Mapping[str, TrainingRecord], clip_norm: float, ceiling: float = 1e4) -> Figure:
    """Gradient norm ‖g‖ before clipping (left) and minibatch loss (right) per step, on log scales.

    Values above ``ceiling`` leave the picture (a triangle marks where a run
    first does); a run that diverged gets a dashed vertical line at the step
    where its loss or gradient became infinite. ``clip_norm`` is drawn as a
    dotted line on the left.
    """
    clip_norm = check_positive(clip_norm, "clip_norm")
    ceiling = check_positive(ceiling, "ceiling")
    if not isinstance(runs, Mapping) or not runs or len(runs) > len(COLORS):
        raise ValueError(f"runs must be a dict: label -> TrainingRecord, with 1 to {len(COLORS)} runs")
    records = {label: check_record(record, f"runs[{label!r}]") for label, record in runs.items()}
    fig, (ax_norm, ax_loss) = plt.subplots(1, 2, figsize=(11.0, 3.8), layout="constrained", sharex=True)
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
        _log_axis(ax)
        ax.set_ylim(lowest[ax] / 2, ceiling)
        ax.set_xlabel("step")
    ax_norm.axhline(clip_norm, color="black", linestyle=":", linewidth=1)
    ax_norm.text(1, clip_norm, f" clip_norm = {clip_norm:g}", va="bottom", fontsize=9)
    ax_norm.set_ylabel("‖g‖ before clipping")
    ax_loss.set_ylabel("minibatch loss")
    diverged = [f"{label}: at step {r.diverged_at}" for label, r in records.items() if r.diverged_at is not None]
    note = f"▲ leaves the picture (above {ceiling:g})"
    if diverged:
        note += ";  dashed: the loss became infinite (" + "; ".join(diverged) + ")"
    fig.suptitle(note, fontsize=10)
    ax_loss.legend(loc="lower left", fontsize=9)
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
        if not isinstance(model, MLP):
            raise ValueError(f"model must be a lessons_lib.mlp.MLP, got {type(model).__name__}")
        if not isinstance(data, Dataset) or data.X_val is None:
            raise ValueError("data must be a lessons_lib.data.Dataset with a validation part "
                             "(load_digits_classification())")
        if not isinstance(rules, Mapping) or not rules or not all(callable(make) for make in rules.values()):
            raise ValueError("rules must be a non-empty dict: optimizer name -> function lr -> rule")
        if not isinstance(tuned, Mapping) or set(tuned) != set(rules):
            raise ValueError(f"tuned must give one learning rate for each of {list(rules)}, got {tuned!r}")
        if rule not in rules:
            raise ValueError(f"rule must be one of {list(rules)}, got {rule!r}")
        choices = dict(CLIP_CHOICES)
        if clip not in choices:
            raise ValueError(f"clip must be one of {list(choices)}, got {clip!r}")
        lr = check_learning_rate(lr)
        if not self.LR_RANGE[0] <= lr <= self.LR_RANGE[1]:
            raise ValueError(f"lr must be between {self.LR_RANGE[0]:g} and {self.LR_RANGE[1]:g} (the slider's range), "
                             f"got {lr:g}")
        self.model, self.data, self.rules = model, data, dict(rules)
        self.tuned = {name: check_learning_rate(value, f"tuned[{name!r}]") for name, value in tuned.items()}
        self.epochs = check_positive_int(epochs, "epochs")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.seed = seed
        self._reference: dict[str, TrainingRecord] = {}

        style = {"description_width": "initial"}
        self.rule = widgets.Dropdown(options=list(self.rules), value=rule, description="optimizer", style=style)
        self.lr = log_slider("learning rate η", lr, *self.LR_RANGE)
        self.clip = widgets.Dropdown(options=list(choices), value=clip, description="clip_norm", style=style)

        steps = self.epochs * -(-len(data.y_train) // self.batch_size)
        figure = Figure(figsize=(9.0, 3.8), dpi=72, layout="constrained")
        ax = figure.subplots()
        (self.reference_line,) = ax.plot([], [], color="0.6", linewidth=1, label="at the tuned η")
        (self.line,) = ax.plot([], [], color="tab:orange", linewidth=1, label="at the chosen η")
        (self.end,) = ax.plot([], [], marker="x", markersize=9, markeredgewidth=2, color="tab:orange",
                              linestyle="none")
        _log_axis(ax)
        ax.set_ylim(*self.LOSS_LIMITS)
        ax.set_xlim(0, steps + 1)
        ax.set_xlabel("step")
        ax.set_ylabel(f"minibatch loss (above {self.LOSS_LIMITS[1]:g}: drawn at the top)")
        ax.legend(loc="upper right", fontsize=9)
        # Two lines: the settings, then the result. The layout is computed once, at the first draw,
        # so the title must have both lines from the start.
        self.title = ax.set_title("settings\nresult", fontsize=10)
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
        if clip_norm is not None and record.steps_run:
            result += f";  clipping acted on {np.mean(record.grad_norms > clip_norm):.0%} of the steps"
        self.title.set_text(f"{settings}\n{result}")

    def snapshot(self) -> StaticImage:
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()

