"""Figures and widgets of lesson 12, Tuning in practice.

The lesson writes its checks (the range test, its pick, the update-to-weight ratio, the average of the
weights) in the notebook; this module only draws them:

* ``plot_losses_per_step``: the minibatch (or reported) loss of several runs, step by step, log scale;
* ``RangeTestLab``: the range test (loss against the growing η, raw and smoothed, the minimum and the pick),
  its smoothing β and its pick rule on controls, redrawn live;
* ``plot_update_ratios``: ‖Δθ‖ / ‖θ‖ of each layer's weights per step, one panel per learning rate;
* ``ClippingLab``: a clipping threshold on a slider over the histogram of a run's gradient norms;
  its percentile and the fraction of steps it clips;
* ``plot_wsd_extension``: WSD runs that share their stable phase, cosine runs that do not;
* ``WSDShaper``: warm-up, decay fraction and decay shape of a WSD schedule, with the run extended;
* ``plot_ema``: validation loss of the last iterate and of the average of the weights, per epoch;
* ``plot_batch_size``: steps to a target loss and the best learning rate against the batch size;
* ``plot_edge_of_stability``: the sharpness of full-batch gradient descent against 2/η, and its loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, log_axis
from lessons_lib.figures.style import WIDTH
from lessons_lib.runner import ewma
from lessons_lib.training import TrainingRecord

#: Losses above this are drawn at the top edge of the per-step figures.
LOSS_TOP = 1e2


def plot_losses_per_step(curves: Mapping[str, np.ndarray], reference: float | None = None,
                         ylabel: str = "minibatch loss", top: float = LOSS_TOP) -> Figure:
    """One line per run: its loss per step (log scale, values above ``top`` drawn at the top edge).

    ``reference`` (e.g. ln 10) is drawn as a dotted horizontal line.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    for (label, values), color in zip(curves.items(), COLORS):
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), np.minimum(values, top), color=color, linewidth=1, label=label)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle=":", linewidth=1)
        longest = max(len(values) for values in curves.values())
        ax.text(longest, reference, f"{reference:.3f} ", ha="right", va="top")
    log_axis(ax)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend(loc="center right")
    return fig


# --- the range test ------------------------------------------------------------------------------


def _draw_range_test(ax, lrs, losses, smoothed, pick_lr, low_lr) -> tuple:
    """The raw and smoothed curves, the minimum and the pick, on ``ax``; returns the changing artists."""
    ax.plot(lrs, losses, color="0.75", linewidth=0.8, label="minibatch loss")
    (line,) = ax.plot(lrs, smoothed, color=COLORS[0], linewidth=2, label="smoothed (bias-corrected EWMA)")
    low = ax.axvline(low_lr, color="black", linestyle=":", linewidth=1, label="minimum of the smoothed curve")
    pick = ax.axvline(pick_lr, color=COLORS[1], linewidth=2, label="the pick")
    return line, low, pick


class RangeTestLab:
    """The range test's smoothing β and its pick rule on controls, over one recorded range-test run.

    ``pick(lrs, smoothed, rule)`` is the lesson's pick function and ``rules`` its rule names; nothing
    is trained when a control moves: the run is recorded once, only the smoothing and the pick change.
    ``tuned_lr`` (e.g. a grid search's best η) is drawn dashed, for comparison.
    """

    def __init__(self, lrs: np.ndarray, losses: np.ndarray, pick: Callable[[np.ndarray, np.ndarray, str], float],
                 rules: Sequence[str], beta: float = 0.98, rule: str | None = None, top: float = 10.0,
                 tuned_lr: float | None = None) -> None:
        self.lrs, self.losses, self.pick_fn, self.top = lrs, losses, pick, top
        self.beta = widgets.FloatSlider(value=beta, min=0.0, max=0.995, step=0.005, description="smoothing β",
                                        readout_format=".3f", style={"description_width": "initial"})
        self.rule = widgets.Dropdown(options=list(rules), value=rule or rules[0], description="pick",
                                     style={"description_width": "initial"})
        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
        ax = figure.subplots()
        self.line, self.low, self.pick = _draw_range_test(ax, lrs, np.minimum(losses, top), np.minimum(losses, top),
                                                          lrs[0], lrs[0])
        if tuned_lr is not None:
            ax.axvline(tuned_lr, color=COLORS[2], linestyle="--", linewidth=1.5, label="the grid's best η")
        ax.set_xscale("log")
        ax.set_ylim(0, top)
        ax.set_xlabel("learning rate η of the step")
        ax.set_ylabel("loss")
        ax.legend(loc="upper left")
        self.title = ax.set_title("the pick")
        self.live = LiveFigure(figure)
        self.live.animate(self.line, self.low, self.pick, self.title)
        self.panel = self.live.panel([self.beta, self.rule], self.update)

    def update(self) -> None:
        """Smooth with the chosen β, pick with the chosen rule, and move the lines."""
        smoothed = ewma(self.losses, self.beta.value, bias_correction=True)
        low_lr = self.lrs[int(np.argmin(smoothed))]
        pick_lr = self.pick_fn(self.lrs, smoothed, self.rule.value)
        self.line.set_ydata(np.minimum(smoothed, self.top))
        self.low.set_xdata([low_lr, low_lr])
        self.pick.set_xdata([pick_lr, pick_lr])
        self.title.set_text(f"β = {self.beta.value:.3f}: minimum at η = {low_lr:.3g}; "
                            f"{self.rule.value} picks η = {pick_lr:.3g}")

    def snapshot(self) -> StaticImage:
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()


# --- update-to-weight ratios ---------------------------------------------------------------------


def plot_update_ratios(ratios: Mapping[str, np.ndarray], layer_names: Sequence[str],
                       band: tuple[float, float] = (1e-4, 1e-2), beta: float = 0.9) -> Figure:
    """‖Δθ‖/‖θ‖ of each layer per step (smoothed by a bias-corrected EWMA), one panel per run.

    ``ratios`` maps a label to an array (steps, layers). The dotted line is 10⁻³,
    the shaded band ``band``.
    """
    fig, axes = plt.subplots(1, len(ratios), figsize=(WIDTH, 3.2), layout="constrained", sharey=True)
    for ax, (label, values) in zip(np.atleast_1d(axes), ratios.items()):
        steps = np.arange(1, len(values) + 1)
        for column, (name, color) in enumerate(zip(layer_names, COLORS)):
            ax.plot(steps, ewma(values[:, column], beta, bias_correction=True), color=color, label=name)
        ax.axhspan(*band, color="0.9", zorder=0)
        ax.axhline(1e-3, color="black", linestyle=":", linewidth=1)
        log_axis(ax)
        ax.set_title(label)
        ax.set_xlabel("step")
    np.atleast_1d(axes)[0].set_ylabel("‖Δθ_layer‖ / ‖θ_layer‖ per step")
    np.atleast_1d(axes)[min(1, len(ratios) - 1)].legend(loc="upper right")
    return fig


# --- gradient norms and clipping -----------------------------------------------------------------


def _norm_histogram(ax, norms: np.ndarray) -> None:
    bins = np.geomspace(norms.min() * 0.9, norms.max() * 1.1, 40)
    ax.hist(norms, bins=bins, color="0.6")
    ax.set_xscale("log")
    ax.set_xlabel("‖g‖ of a step, before clipping")
    ax.set_ylabel("steps")


class ClippingLab:
    """A clipping threshold on a log slider over the histogram of a run's gradient norms.

    The title gives the threshold's percentile among the norms and the fraction of steps it would
    clip. Nothing is trained: the norms are recorded once.
    """

    def __init__(self, norms: np.ndarray, threshold: float) -> None:
        self.norms = np.sort(norms)
        self.threshold = log_slider("clip_norm", threshold, self.norms[0] / 10, self.norms[-1] * 10)
        figure = Figure(figsize=(WIDTH, 3.4), layout="constrained")
        ax = figure.subplots()
        _norm_histogram(ax, self.norms)
        ax.set_xlim(self.norms[0] / 10, self.norms[-1] * 10)
        self.line = ax.axvline(threshold, color=COLORS[1], linewidth=2)
        self.title = ax.set_title("threshold")
        self.live = LiveFigure(figure)
        self.live.animate(self.line, self.title)
        self.panel = self.live.panel([self.threshold], self.update)

    def update(self) -> None:
        """Move the line; say which percentile it is and how many steps it clips."""
        value = self.threshold.value
        clipped = float(np.mean(self.norms > value))
        self.line.set_xdata([value, value])
        self.title.set_text(f"clip_norm = {value:.3g}: the {100 * (1 - clipped):.0f}th percentile; "
                            f"it clips {clipped:.0%} of the steps")

    def snapshot(self) -> StaticImage:
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()


# --- WSD and cosine ------------------------------------------------------------------------------


def plot_wsd_extension(runs: Mapping[str, TrainingRecord], branch_step: int) -> Figure:
    """η per step (top) and the training loss per epoch (bottom) of WSD and cosine runs.

    The WSD runs (labels starting with "WSD") are solid, the cosine runs dashed;
    ``branch_step`` (where the shorter WSD run starts its decay) is marked.
    """
    fig, (ax_lr, ax_loss) = plt.subplots(2, 1, figsize=(WIDTH, 5.4), layout="constrained", sharex=True,
                                         height_ratios=(1, 1.3))
    for (label, record), color in zip(runs.items(), COLORS):
        style = {"color": color, "linestyle": "-" if label.startswith("WSD") else "--"}
        ax_lr.plot(np.arange(record.steps_run), record.lrs, label=label, **style)
        ends = np.arange(record.epochs_run + 1) * record.steps_per_epoch
        ax_loss.plot(ends, record.train_loss, marker=".", **style)
    for ax in (ax_lr, ax_loss):
        ax.axvline(branch_step, color="0.5", linestyle=":", linewidth=1)
    ax_lr.set_ylabel("learning rate η_t")
    ax_lr.set_ylim(bottom=0)
    ax_lr.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    log_axis(ax_loss)
    ax_loss.set_xlabel("update t")
    ax_loss.set_ylabel("training loss (after each epoch)")
    return fig


class WSDShaper:
    """A warm-up–stable–decay schedule on controls, drawn for a run of T steps and the same run extended.

    ``wsd(lr, total_steps, warmup_steps, decay_fraction, shape)`` is the lesson's schedule function
    (it returns a function of the step) and ``shapes`` its decay shapes. The extended run (2T) keeps
    the first run's warm-up and stable phase; the cosine of 2T (dashed) differs from the cosine of T
    (dotted) from the first step.
    """

    def __init__(self, wsd: Callable[..., Callable[[int], float]], shapes: Sequence[str], lr: float,
                 total_steps: int, warmup_steps: int = 20, decay_fraction: float = 0.2, shape: str | None = None):
        self.wsd, self.lr_value, self.total = wsd, lr, total_steps
        style = {"description_width": "initial"}
        self.warmup = widgets.IntSlider(value=warmup_steps, min=0, max=total_steps // 2, description="warm-up steps",
                                        style=style)
        self.decay = widgets.FloatSlider(value=decay_fraction, min=0.05, max=0.8, step=0.05,
                                         description="decay fraction", readout_format=".2f", style=style)
        self.shape = widgets.Dropdown(options=list(shapes), value=shape or shapes[0], description="decay shape",
                                      style=style)
        figure = Figure(figsize=(WIDTH, 3.4), layout="constrained")
        ax = figure.subplots()
        t = np.arange(2 * total_steps)
        (self.short,) = ax.plot([], [], color=COLORS[0], linewidth=2.5, label=f"WSD, T = {total_steps}")
        (self.long,) = ax.plot([], [], color=COLORS[1], linewidth=1.2, label=f"WSD, extended to {2 * total_steps}")
        self._cosine(ax, t)
        ax.set_xlim(0, 2 * total_steps)
        ax.set_ylim(0, 1.45 * lr)  # room for the legend above the curves
        ax.set_xlabel("update t")
        ax.set_ylabel("learning rate η_t")
        ax.legend(loc="upper right", ncols=2)
        self.title = ax.set_title("shape")
        self.live = LiveFigure(figure)
        self.live.animate(self.short, self.long, self.title)
        self.panel = self.live.panel([self.warmup, self.decay, self.shape], self.update)

    def _cosine(self, ax, t) -> None:
        for total, style in ((self.total, ":"), (2 * self.total, "--")):
            values = self.lr_value * (1 + np.cos(np.pi * np.minimum(t, total) / total)) / 2
            ax.plot(t, values, color="0.5", linestyle=style, linewidth=1, label=f"cosine, T = {total}")

    def update(self) -> None:
        """Redraw both WSD curves for the controls' values."""
        args = (self.warmup.value, self.decay.value, self.shape.value)
        curves = []
        for line, total in ((self.short, self.total), (self.long, 2 * self.total)):
            schedule = self.wsd(self.lr_value, total, *args)
            curves.append(np.array([schedule(t) for t in range(total)]))
            line.set_data(np.arange(total), curves[-1])
        differ = curves[0] != curves[1][: self.total]
        shared = int(np.argmax(differ)) if differ.any() else self.total
        self.title.set_text(f"the two WSD runs agree for the first {shared} steps: "
                            "the checkpoint to continue from")

    def snapshot(self) -> StaticImage:
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()


# --- the average of the weights ------------------------------------------------------------------


def plot_ema(last: Sequence[np.ndarray], averaged: Sequence[np.ndarray], label: str) -> Figure:
    """Validation loss per epoch of the last iterate (solid) and of the averaged weights (dashed), one colour a seed."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6), layout="constrained")
    for seed, (plain, ema), color in zip(range(len(last)), zip(last, averaged), COLORS):
        epochs = np.arange(1, len(plain) + 1)
        ax.plot(epochs, plain, color=color, marker=".", label=f"seed {seed}: last θ")
        ax.plot(epochs, ema, color=color, linestyle="--", marker=".", label=f"seed {seed}: {label}")
    ax.set_ylim(0, None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    return fig


# --- batch size ----------------------------------------------------------------------------------


def plot_batch_size(batch_sizes: Sequence[int], results: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Left: steps to the target loss at the best η, against the batch; right: that best η (log-log).

    ``results`` maps an optimizer's name to (steps, best η), one entry per batch size.
    """
    fig, (ax_steps, ax_lr) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for (name, (steps, best)), color in zip(results.items(), COLORS):
        ax_steps.plot(batch_sizes, steps, marker="o", color=color, label=name)
        ax_lr.plot(batch_sizes, best, marker="o", color=color, label=name)
    b = np.asarray(batch_sizes, dtype=float)
    for ax in (ax_steps, ax_lr):
        ax.set_xscale("log", base=2)
        ax.set_xticks(b, [f"{size:g}" for size in b])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yscale("log")
        ax.set_xlabel("batch size B")
    ref = results[next(iter(results))][0][0]
    ax_steps.plot(b, ref * b[0] / b, color="0.6", linestyle=":", label="perfect scaling (∝ 1/B)")
    ax_steps.set_ylabel("steps to the target loss")
    ax_lr.set_ylabel("best η on the grid")
    ax_steps.legend()
    return fig


# --- the edge of stability -----------------------------------------------------------------------


def plot_edge_of_stability(runs: Mapping[float, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Figure:
    """Full-batch gradient descent at several η. Left: the sharpness λ_max against the step, with 2/η
    dotted in the same colour; right: the loss (log scale).

    ``runs`` maps η to (losses per step, the steps where the sharpness was measured, the sharpness there).
    """
    fig, (ax_sharp, ax_loss) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for (lr, (losses, steps, sharpness)), color in zip(runs.items(), COLORS):
        ax_sharp.plot(steps, sharpness, color=color, label=f"η = {lr:g} (dotted: 2/η)")
        ax_sharp.axhline(2 / lr, color=color, linestyle=":", linewidth=1.5)
        ax_loss.plot(np.arange(len(losses)), losses, color=color, linewidth=1, label=f"η = {lr:g}")
    ax_sharp.set_xlabel("step")
    ax_sharp.set_ylabel("sharpness λ_max")
    ax_sharp.legend(loc="center right")
    log_axis(ax_loss)
    ax_loss.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss (full batch)")
    ax_loss.legend(loc="upper right")
    return fig
