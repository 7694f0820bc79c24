"""Figures, widgets and the digits experiment of lesson 06, bias correction.

The lesson writes the averages and Adam's step itself (the library's are ``lessons_lib.runner.ewma``,
with and without ``bias_correction``, and ``lessons_lib.runner.replay`` feeds a rule given gradients);
this module keeps the plumbing:

* ``ewma_figure``: a noisy signal and both averages, one panel per β;
* ``inflation_factor`` and ``inflation_figure``: (1 − β₁ᵗ)/√(1 − β₂ᵗ), how many times
  longer a step of Adam without bias correction is than the corrected step;
* ``train_grid``: train one small network with many update rules and seeds
  (``lessons_lib.training.train`` for each), the runs of one seed from the same start
  on the same minibatches: the experiment of the lesson (``grid_record`` gathers the runs into one
  record); ``merge_grids`` joins two such records;
* ``experiment_table`` and ``early_loss_figure``: the experiment's table and curves;
* ``EWMAExplorer`` and ``EarlyLossLab``: the lesson's two live figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure

from lessons_lib.data import Dataset
from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, major_ticks_only
from lessons_lib.figures.style import WIDTH
from lessons_lib.mlp import MLP
from lessons_lib.optim import Adam
from lessons_lib.runner import ewma
from lessons_lib.training import TrainingRecord, train

#: Colours of the lesson: the corrected version, the uncorrected one, the raw signal.
CORRECTED, UNCORRECTED, SIGNAL = COLORS[0], COLORS[1], "0.6"

#: One colour per β₂ in the inflation figure (green, purple, red, brown).
BETA2_COLORS = (COLORS[2], COLORS[4], COLORS[3], COLORS[5])

#: The β₂ stops of the live figure on digits.
LAB_BETA2S = (0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999)


# --- averages that start at zero ---------------------------------------------------------------


def ewma_figure(signal: object, mean: float, betas: Sequence[float]) -> Figure:
    """One panel per β: the noisy ``signal`` (grey dots), its plain and corrected averages, and the true mean."""
    t = np.arange(1, len(signal) + 1)
    columns = 2 if len(betas) > 1 else 1
    rows = -(-len(betas) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 3.3 * rows), layout="constrained", sharex=True,
                             sharey=True, squeeze=False)
    low, high = np.percentile(signal, [1, 99])
    for ax, beta in zip(axes.flat, betas):
        ax.plot(t, signal, ".", color=SIGNAL, markersize=3, label="signal x_t")
        ax.axhline(mean, color="black", linestyle="--", linewidth=1, label=f"true mean {mean:g}")
        ax.plot(t, ewma(signal, beta), color=UNCORRECTED, linewidth=2, label="average from 0: m_t")
        ax.plot(t, ewma(signal, beta, bias_correction=True), color=CORRECTED, linewidth=2,
                label="corrected: m_t / (1 − βᵗ)")
        ax.set_title(f"β = {beta:g}\n(about 1/(1 − β) = {1 / (1 - beta):.0f} values averaged)")
        ax.set_ylim(min(low, 0) - 0.2, high + 0.2)
    for ax in axes.flat[len(betas):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step t")
    for ax in axes[:, 0]:
        ax.set_ylabel("value")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


# --- the inflation factor ----------------------------------------------------------------------


def inflation_factor(t: object, beta1: float, beta2: float) -> np.ndarray:
    """(1 − β₁ᵗ) / √(1 − β₂ᵗ): how many times longer Adam's step is without bias correction (ε aside).

    Both versions hold the same m and v; the corrected one divides m by
    1 − β₁ᵗ and v by 1 − β₂ᵗ, so the uncorrected step m/√v is this factor
    times the corrected m̂/√v̂. ``t`` counts steps from 1.
    """
    t = np.asarray(t, dtype=float)
    if beta2 == 0:
        return 1 - beta1**t
    return (1 - beta1**t) / np.sqrt(-np.expm1(t * np.log(beta2)))  # 1 − β₂ᵗ without cancellation


def inflation_figure(beta1s: Sequence[float], beta2s: Sequence[float], steps: int = 100_000,
                     measured: Mapping[tuple[float, float], tuple[object, object]] | None = None) -> Figure:
    """One panel per β₁: the factor (1 − β₁ᵗ)/√(1 − β₂ᵗ) against t for each β₂, on log-log axes.

    ``measured`` maps (β₁, β₂) to (steps, ratios) measured by running the rules;
    they are drawn as dots over the curve they should sit on.
    """
    t = np.unique(np.geomspace(1, steps, 600).round())
    fig, axes = plt.subplots(1, len(beta1s), figsize=(WIDTH, 4.2), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, beta1 in zip(axes[0], beta1s):
        for beta2, color in zip(beta2s, BETA2_COLORS):
            ax.loglog(t, inflation_factor(t, beta1, beta2), color=color, linewidth=2, label=f"β₂ = {beta2:g}")
            if measured and (beta1, beta2) in measured:
                at, ratios = measured[(beta1, beta2)]
                ax.loglog(at, ratios, "o", color="black", markersize=4, markerfacecolor="none")
        ax.axhline(1, color="grey", linewidth=1, linestyle=":")
        ax.set_title(f"β₁ = {beta1:g}")
        ax.set_xlabel("step t")
        ax.grid(True, which="major", alpha=0.3)
        major_ticks_only(ax)
    axes[0, 0].set_ylabel("uncorrected step / corrected step")
    axes[0, 0].legend(loc="upper right")  # where the curves of the first panel have fallen back to 1
    if measured:  # the last panel names the circles only: the colours are those of the first
        (circle,) = axes[0, -1].plot([], [], "o", color="black", markerfacecolor="none",
                                     label="measured with lessons_lib.Adam")
        axes[0, -1].legend(handles=[circle], loc="upper right")
    return fig


# --- many runs of a small network -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GridRecord:
    """What the runs of ``train_grid`` did: entry [r, s] is ``rules[r]`` with ``seeds[s]``.

    * ``batch_losses``, shape (R, S, steps): the minibatch loss before each
      update (NaN once a run has diverged);
    * ``start_loss``, shape (S,): the loss on the whole training part at the
      start θ₀ of each seed;
    * ``val_error``, shape (R, S, epochs + 1): the validation error after each
      epoch, entry 0 before training;
    * ``test_error``, shape (R, S): the test error after the last epoch;
    * ``diverged_at``, shape (R, S): the 1-based step whose loss or gradient was
      not finite, 0 for a run that never diverged.
    """

    rules: tuple
    seeds: tuple
    batch_losses: np.ndarray
    start_loss: np.ndarray
    val_error: np.ndarray
    test_error: np.ndarray
    diverged_at: np.ndarray
    steps_per_epoch: int

    def early_spike(self) -> np.ndarray:
        """Per run, shape (R, S): the largest minibatch loss of the first epoch divided by the loss at the start."""
        first_epoch = self.batch_losses[..., : self.steps_per_epoch]
        return np.where(np.isnan(first_epoch), np.inf, first_epoch).max(axis=-1) / self.start_loss

    def index(self, **hyper: object) -> int:
        """The row r of the one rule whose hyperparameters match ``hyper``.

        For example ``index(beta2=0.999, lr=0.01, bias_correction=False)``.
        """
        matches = [r for r, rule in enumerate(self.rules)
                   if all(getattr(rule, name, object()) == value for name, value in hyper.items())]
        if len(matches) != 1:
            raise ValueError(f"{len(matches)} rules match {hyper}; name hyperparameters that pick exactly one")
        return matches[0]

    def rows(self, **hyper: object) -> list[int]:
        """The rows r of every rule whose hyperparameters match ``hyper``, by increasing learning rate.

        For example ``rows(beta1=0.9, beta2=0.999, bias_correction=False)``: one setting's sweep over η.
        """
        matches = [r for r, rule in enumerate(self.rules)
                   if all(getattr(rule, name, object()) == value for name, value in hyper.items())]
        return sorted(matches, key=lambda r: self.rules[r].lr)

    @property
    def epochs(self) -> int:
        return self.val_error.shape[-1] - 1


def merge_grids(first: GridRecord, second: GridRecord) -> GridRecord:
    """The runs of two ``train_grid`` records with the same seeds, epochs and start, as one record: rules of
    ``first``, then of ``second``."""
    if first.seeds != second.seeds or first.batch_losses.shape[1:] != second.batch_losses.shape[1:]:
        raise ValueError("merge_grids: the two records need the same seeds and the same number of steps")
    return GridRecord(
        rules=first.rules + second.rules, seeds=first.seeds,
        batch_losses=np.concatenate([first.batch_losses, second.batch_losses]), start_loss=first.start_loss,
        val_error=np.concatenate([first.val_error, second.val_error]),
        test_error=np.concatenate([first.test_error, second.test_error]),
        diverged_at=np.concatenate([first.diverged_at, second.diverged_at]), steps_per_epoch=first.steps_per_epoch,
    )


def train_grid(rules: Sequence[object], model: MLP, data: Dataset, *, epochs: int, batch_size: int = 32,
               seeds: Sequence[int] = (0,)) -> GridRecord:
    """Train ``model`` with every rule of ``rules`` and every seed of ``seeds``: ``lessons_lib.training.train`` each.

    The runs of one seed share the start (``model.init(seed)``) and the
    minibatches, and differ only in the rule. A run that diverges stops there:
    its later losses and errors are NaN.
    """
    rules, seeds = tuple(rules), tuple(seeds)
    # The grid keeps only the training loss at the start: measuring it every epoch is over a tenth of a run.
    runs = [[train(rule, model, data, epochs=epochs, batch_size=batch_size, seed=seed, evaluate_train=False)
             for seed in seeds] for rule in rules]
    return grid_record(rules, seeds, runs, model, data, epochs)


def grid_record(rules: Sequence[object], seeds: Sequence[int], runs: Sequence[Sequence[TrainingRecord]],
                model: MLP, data: Dataset, epochs: int) -> GridRecord:
    """The ``GridRecord`` of ``runs``: one row per rule, one ``TrainingRecord`` per seed, of ``epochs`` epochs."""
    rules, seeds = tuple(rules), tuple(seeds)

    def per_run(values_of: Callable[[TrainingRecord], np.ndarray], length: int) -> np.ndarray:
        """One row of ``length`` values per run, NaN after a divergence: shape (R, S, length)."""
        return np.array([[np.pad(values_of(r), (0, length - len(values_of(r))), constant_values=np.nan)
                          for r in row] for row in runs])

    steps_per_epoch = runs[0][0].steps_per_epoch
    with np.errstate(over="ignore", invalid="ignore"):
        test_error = [[np.mean(model.predict(r.theta, data.X_test) != data.y_test) if r.diverged_at is None
                       else np.nan for r in row] for row in runs]
    return GridRecord(
        rules=rules, seeds=seeds, batch_losses=per_run(lambda r: r.batch_losses, epochs * steps_per_epoch),
        start_loss=np.array([r.train_loss[0] for r in runs[0]]),
        val_error=per_run(lambda r: 1 - r.val_accuracy, epochs + 1), test_error=np.array(test_error),
        diverged_at=np.array([[r.diverged_at or 0 for r in row] for row in runs]), steps_per_epoch=steps_per_epoch,
    )


# --- the experiment's table and curves ---------------------------------------------------------


def _spike_text(value: float) -> str:
    return "diverged" if not np.isfinite(value) else (f"{value:.1f}" if value < 10 else f"{value:,.0f}")


def _error_text(errors: np.ndarray) -> str:
    errors = 100 * errors
    if np.isnan(errors).any():
        return f"{np.isnan(errors).sum()} diverged"
    return f"{errors.mean():4.1f} ({errors.min():.1f}–{errors.max():.1f})"


def experiment_table(record: GridRecord, beta1: float) -> str:
    """The runs of ``record`` with this β₁ as a table: one row per (β₂, η), corrected beside uncorrected.

    Early spike: the largest minibatch loss of the first epoch ÷ the loss at the
    start, the worst of the seeds. Test error: in %, the mean over the seeds and
    (lowest–highest).
    """
    cells = sorted({(rule.beta2, rule.lr) for rule in record.rules if getattr(rule, "beta1", None) == beta1})
    spikes = record.early_spike()
    seeds = len(record.seeds)
    lines = [
        f"β₁ = {beta1:g}   ({seeds} seed{'s' * (seeds != 1)}; spike: worst seed; "
        f"test error after {record.epochs} epoch{'s' * (record.epochs != 1)}: mean (range))",
        f"{'':15}{'early spike':^26}{'test error, %':^38}",
        f"{'β₂':>7}{'η':>8}{'with':>12}{'without':>14}{'with':>18}{'without':>20}",
    ]
    for beta2, lr in cells:
        row = f"{beta2:>7g}{lr:>8g}"
        with_, without = (record.index(beta1=beta1, beta2=beta2, lr=lr, bias_correction=flag) for flag in (True, False))
        row += f"{_spike_text(spikes[with_].max()):>12}{_spike_text(spikes[without].max()):>14}"
        row += f"{_error_text(record.test_error[with_]):>20}{_error_text(record.test_error[without]):>20}"
        lines.append(row)
    return "\n".join(lines)


def early_loss_figure(record: GridRecord, cells: Sequence[Mapping[str, float]], steps: int | None = None,
                      lowest: float = 1e-5) -> Figure:
    """One panel per cell ``{"beta1": …, "beta2": …, "lr": …}``: the minibatch losses of its runs.

    The first ``steps`` steps (all when None). Corrected runs in blue,
    uncorrected in orange, one thin line per seed; the dotted line is the
    loss at the start, the grey one the end of the first epoch. Losses below
    ``lowest`` leave the bottom of the log axis.
    """
    total = record.batch_losses.shape[-1]
    steps = total if steps is None else min(steps, total)
    t = np.arange(1, steps + 1)
    fig, axes = plt.subplots(1, len(cells), figsize=(WIDTH, 4.8), layout="constrained", sharey=True, squeeze=False)
    highest = 0.0
    for ax, cell in zip(axes[0], cells):
        for flag, color, name in ((False, UNCORRECTED, "without correction"), (True, CORRECTED, "with correction")):
            r = record.index(bias_correction=flag, **cell)
            highest = max(highest, np.nanmax(record.batch_losses[r, :, :steps]))
            for s in range(len(record.seeds)):
                ax.semilogy(t, record.batch_losses[r, s, :steps], color=color, linewidth=1,
                            label=name if s == 0 else None)
        ax.axhline(record.start_loss.mean(), color="black", linestyle=":", linewidth=1, label="loss at the start")
        if record.steps_per_epoch < steps:
            ax.axvline(record.steps_per_epoch, color="grey", linewidth=1, label="end of epoch 1")
        ax.set_title(f"β₁ = {cell['beta1']:g}, β₂ = {cell['beta2']:g}\nη = {cell['lr']:g}")
        ax.set_xlabel("step t")
        ax.set_xlim(0, steps)
        major_ticks_only(ax)
    axes[0, 0].set_ylim(lowest, 2 * highest if highest > lowest else 10 * lowest)  # the panels share it
    axes[0, 0].set_ylabel("minibatch loss")
    # below the panels, in two rows: inside one, the legend would hide curves
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


# --- the live figures --------------------------------------------------------------------------


class EWMAExplorer:
    """β and the noise on sliders: a noisy signal, its average from zero, the corrected average.

    The signal is ``mean`` plus ``noise`` times fixed standard normal draws
    (seeded), so the noise slider scales the same draws. The dashed orange
    curve is the expected average from zero, (1 − βᵗ)·mean.
    """

    NOISE_MAX = 1.0

    def __init__(self, mean: float = 1.0, noise: float = 0.5, beta: float = 0.9, steps: int = 150,
                 seed: int = 0) -> None:
        self.mean, self.steps = mean, steps
        self.draws = np.random.default_rng(seed).standard_normal(self.steps)
        self.t = np.arange(1, self.steps + 1)

        # Wide and short (a projector shows a live picture at most ~286 px tall below its controls): the
        # readout is one line above the axes, the legend beside them.
        figure = Figure(figsize=(WIDTH, 3.5), layout="constrained")
        ax = figure.subplots()
        ax.axhline(self.mean, color="black", linestyle="--", linewidth=1, label=f"true mean {self.mean:g}")
        (self.dots,) = ax.plot([], [], ".", color=SIGNAL, markersize=4, label="signal x_t")
        (self.expected,) = ax.plot([], [], color=UNCORRECTED, linestyle="--", linewidth=1,
                                   label="expected average\nfrom 0: (1 − βᵗ)·mean")
        (self.plain,) = ax.plot([], [], color=UNCORRECTED, linewidth=2, label="average from 0: m_t")
        (self.corrected,) = ax.plot([], [], color=CORRECTED, linewidth=2, label="corrected:\nm_t / (1 − βᵗ)")
        # the title is the readout: it never hides a curve (its line is reserved: the layout is fixed at the first draw)
        self.readout = figure.suptitle(" ")
        spread = 2.5 * self.NOISE_MAX
        ax.set_xlim(0, self.steps)
        ax.set_ylim(min(0.0, self.mean) - spread, max(0.0, self.mean) + spread)
        ax.set_xlabel("step t")
        ax.set_ylabel("value")
        figure.legend(loc="outside right center")  # beside the axes: inside, it would hide dots at high noise
        self.live = LiveFigure(figure)
        self.live.animate(self.dots, self.expected, self.plain, self.corrected, self.readout)

        self.beta_slider = widgets.FloatSlider(value=beta, min=0.0, max=0.995, step=0.005, description="β",
                                               readout_format=".3f", style={"description_width": "initial"})
        self.noise_slider = widgets.FloatSlider(value=noise, min=0.0, max=self.NOISE_MAX, step=0.05,
                                                description="noise σ", readout_format=".2f",
                                                style={"description_width": "initial"})
        self.panel = self.live.panel([self.beta_slider, self.noise_slider], self.update)

    def signal(self) -> np.ndarray:
        """The signal at the current noise level."""
        return self.mean + self.noise_slider.value * self.draws

    def update(self) -> None:
        """Recompute both averages and the expected curve; say how much weight the zero start still holds."""
        beta = self.beta_slider.value
        signal = self.signal()
        self.dots.set_data(self.t, signal)
        self.expected.set_data(self.t, (1 - beta**self.t) * self.mean)
        self.plain.set_data(self.t, ewma(signal, beta))
        self.corrected.set_data(self.t, ewma(signal, beta, bias_correction=True))
        weights = ",   ".join(f"t = {t}: {beta**t:.2f}" for t in (1, 10, 50))
        self.readout.set_text(f"weight still on the zero start, βᵗ:   {weights}")

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()


class EarlyLossLab:
    """β₁, β₂ and η on controls: Adam with and without bias correction, training the digits network.

    Left: the factor (1 − β₁ᵗ)/√(1 − β₂ᵗ) by which the uncorrected steps are
    longer. Right: the minibatch loss of both runs over the first ``epochs``
    epochs, from the same start on the same minibatches (seed ``seed``).
    """

    LR_RANGE = (1e-4, 0.1)

    def __init__(self, model: MLP, data: Dataset, beta1: float = 0.9, beta2: float = 0.9999, lr: float = 0.01,
                 epochs: int = 2, seed: int = 0) -> None:
        self.model, self.data, self.epochs, self.seed = model, data, epochs, seed
        self.steps = self.epochs * -(-len(data.y_train) // 32)
        t = np.arange(1, self.steps + 1)
        self.t = t

        # Wide and short (a projector shows a live picture at most ~286 px tall below its controls): three-line
        # readouts above the panels, one row of legend below them.
        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
        # the right panel is the wider: its readout has the longer lines
        ax_factor, ax_loss = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.55]})
        ax_factor.axhline(1, color="grey", linewidth=1, linestyle=":")
        (self.factor_line,) = ax_factor.semilogy([], [], color=UNCORRECTED, linewidth=2)
        ax_factor.set_xlim(0, self.steps)
        ax_factor.set_ylim(0.01, 300)
        ax_factor.set_xlabel("step t")
        ax_factor.set_ylabel("(1 − β₁ᵗ) / √(1 − β₂ᵗ)")
        # The titles are the readouts: a title never hides a curve. Their lines are reserved now: the layout is
        # fixed at the first draw.
        self.factor_text = ax_factor.set_title(" \n \n ")
        (self.plain_line,) = ax_loss.semilogy([], [], color=UNCORRECTED, linewidth=1.5, label="without correction")
        (self.corrected_line,) = ax_loss.semilogy([], [], color=CORRECTED, linewidth=1.5, label="with correction")
        self.start_line = ax_loss.axhline(1, color="black", linestyle=":", linewidth=1, label="loss at the start")
        ax_loss.set_xlim(0, self.steps)
        ax_loss.set_ylim(1e-3, 1e5)
        ax_loss.set_xlabel(f"step t   ({self.epochs} epochs of {self.steps // self.epochs} steps, seed {seed})")
        ax_loss.set_ylabel("minibatch loss (digits network)")
        figure.legend(loc="outside lower center", ncols=3)  # below the panels: inside, over the curves
        self.loss_text = ax_loss.set_title(" \n \n ")
        for ax in (ax_factor, ax_loss):
            major_ticks_only(ax)
        self.live = LiveFigure(figure)
        self.live.animate(self.factor_line, self.factor_text, self.plain_line, self.corrected_line, self.start_line,
                          self.loss_text)

        style = {"description_width": "initial"}
        self.beta1_slider = widgets.FloatSlider(value=beta1, min=0.0, max=0.99, step=0.01, description="β₁",
                                                readout_format=".2f", style=style)
        self.beta2_slider = widgets.SelectionSlider(options=list(LAB_BETA2S), value=beta2, description="β₂",
                                                    style=style)
        self.lr_slider = log_slider("η", lr, *self.LR_RANGE)
        self.panel = self.live.panel([self.beta1_slider, self.beta2_slider, self.lr_slider], self.update)

    def rules(self) -> list[Adam]:
        """Adam with and without bias correction at the controls' values."""
        hyper = {"lr": self.lr_slider.value, "beta1": self.beta1_slider.value, "beta2": self.beta2_slider.value}
        return [Adam(**hyper), Adam(**hyper, bias_correction=False)]

    def run(self) -> GridRecord:
        """Train both versions for ``epochs`` epochs from the same start on the same minibatches."""
        return train_grid(self.rules(), self.model, self.data, epochs=self.epochs, seeds=(self.seed,))

    def update(self) -> None:
        """Redraw the factor, re-train both versions, and report their spikes and validation errors."""
        beta1, beta2 = self.beta1_slider.value, self.beta2_slider.value
        factor = inflation_factor(self.t, beta1, beta2)
        self.factor_line.set_data(self.t, factor)
        peak = int(np.argmax(factor))
        self.factor_text.set_text(f"uncorrected step ÷ corrected step\nat t = 1: {factor[0]:.3g},  "
                                  f"at t = {self.steps}: {factor[-1]:.3g}\n"
                                  f"largest: {factor[peak]:.3g} at t = {peak + 1}")
        record = self.run()
        corrected, plain = record.batch_losses[:, 0]
        self.corrected_line.set_data(self.t, corrected)
        self.plain_line.set_data(self.t, plain)
        self.start_line.set_ydata([record.start_loss[0]] * 2)
        spikes = record.early_spike()[:, 0]
        errors = record.val_error[:, 0, -1]
        self.loss_text.set_text(
            f"largest loss in epoch 1:\n{_times(spikes[0])} the start with correction, {_times(spikes[1])} without\n"
            f"validation error: {_percent(errors[0])} with, {_percent(errors[1])} without")

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()


def _times(spike: float) -> str:
    """A spike as a multiple, "86×", so that it does not read like a β."""
    text = _spike_text(spike)
    return text if text == "diverged" else f"{text}×"


def _percent(error: float) -> str:
    return "diverged" if not np.isfinite(error) else f"{100 * error:.1f} %"
