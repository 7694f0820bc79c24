"""Figures of lesson 11, The optimizers of 2025–26.

The lesson writes the rules themselves (Newton–Schulz, Muon, Adafactor's factored v, 8-bit
states, Schedule-Free AdamW, ADOPT, the cautious mask); this module keeps the drawing:

* ``scalar_map``: what k Newton–Schulz steps do to one singular value;
* ``muon_figure``: the singular values of a momentum update before and after orthogonalising,
  and the map σ ↦ aσ + bσ³ + cσ⁵ applied 1 … k times (the band it lands in);
* ``schedule_free_figure``: learning rate per step and training loss per epoch of several runs;
* ``counterexample_figure``: the iterate x_t of several rules on Reddi et al.'s online problem;
* ``race_figure``: the fair race, each rule's validation loss and test accuracy, one dot a seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from lessons_lib.figures.plotting import COLORS, log_axis
from lessons_lib.figures.style import WIDTH
from lessons_lib.training import TrainingRecord

#: Where the default quintic lands every singular value in [0.05, 1] after 5 steps (lesson 11, section 1).
BAND = (0.68, 1.2)


def scalar_map(sigma: np.ndarray, coefficients: Sequence[float], steps: int) -> np.ndarray:
    """σ after ``steps`` applications of σ ↦ aσ + bσ³ + cσ⁵ (Newton–Schulz on each singular value)."""
    a, b, c = coefficients
    sigma = np.asarray(sigma, dtype=float)
    for _ in range(steps):
        sigma = a * sigma + b * sigma**3 + c * sigma**5
    return sigma


def muon_figure(before: np.ndarray, after: np.ndarray, quintic: Sequence[float], cubic: Sequence[float],
                steps: int = 5) -> Figure:
    """Top: singular values of a matrix (``before``) and of its orthogonalised version (``after``),
    each divided by its largest, in decreasing order. Below: the scalar map of ``quintic`` applied
    1 … ``steps`` times, on singular values from 10⁻³ to 1, with ``cubic`` after ``steps`` steps dashed
    and the band ``BAND`` shaded (its legend beside the axes)."""
    fig, (ax_sv, ax_map) = plt.subplots(2, 1, figsize=(WIDTH, 7.0), layout="constrained")
    index = np.arange(1, len(before) + 1)
    ax_sv.plot(index, np.sort(before)[::-1] / before.max(), "o-", ms=3, color=COLORS[0], label="momentum update B")
    ax_sv.plot(index, np.sort(after)[::-1] / after.max(), "o-", ms=3, color=COLORS[1], label="NS(B), 5 steps")
    log_axis(ax_sv, "y")
    ax_sv.set_xlabel("singular value number i")
    ax_sv.set_ylabel("σᵢ / σ₁")
    ax_sv.set_title("a few directions dominate B; NS(B) evens them out")
    ax_sv.legend(loc="lower left")

    sigma = np.logspace(-3, 0, 300)
    ax_map.axhspan(*BAND, color="0.9", label=f"band {BAND[0]}–{BAND[1]}")
    for k in range(1, steps + 1):
        ax_map.plot(sigma, scalar_map(sigma, quintic, k), color=plt.cm.viridis(k / (steps + 1)), lw=1.2,
                    label=f"quintic, {k} step{'s' * (k > 1)}")
    ax_map.plot(sigma, scalar_map(sigma, cubic, steps), "k--", lw=1.2, label=f"cubic, {steps} steps")
    ax_map.set_xscale("log")
    ax_map.set_xlabel("singular value σ / ‖B‖_F at the start")
    ax_map.set_ylabel("σ after k steps")
    ax_map.set_ylim(0, 1.4)
    ax_map.set_title("each step: σ ↦ aσ + bσ³ + cσ⁵")
    ax_map.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def schedule_free_figure(records: Mapping[str, TrainingRecord]) -> Figure:
    """Top: the learning rate of every update; below: the training loss per epoch (log scale), its
    legend beside it; one colour per run (Schedule-Free's learning rate is its constant η)."""
    fig, (ax_lr, ax_loss) = plt.subplots(2, 1, figsize=(WIDTH, 6.6), layout="constrained")
    for (label, record), color in zip(records.items(), COLORS):
        ax_lr.plot(np.arange(1, record.steps_run + 1), record.lrs, color=color, label=label)
        ax_loss.plot(np.arange(record.epochs_run + 1), record.train_loss, "o-", ms=3, color=color, label=label)
    ax_lr.set_xlabel("update")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_title("the schedules")
    log_axis(ax_loss, "y")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("training loss (Schedule-Free evaluated at x)")
    ax_loss.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def counterexample_figure(paths: Mapping[str, np.ndarray]) -> Figure:
    """The iterate x_t of each rule on the online problem (x ∈ [−1, 1]; the best point is −1)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0), layout="constrained")
    for (label, path), color in zip(paths.items(), COLORS):
        ax.plot(np.arange(len(path)), path, color=color, lw=1.2, label=label)
    ax.axhline(-1, color="k", lw=0.8, ls=":")
    ax.axhline(1, color="k", lw=0.8, ls=":")
    ax.set_ylim(-1.1, 1.1)
    ax.set_xlabel("step t")
    ax.set_ylabel("x_t")
    ax.set_title("f_t(x) = 3x at t = 1, 4, 7, …, −x otherwise: the best x is −1")
    ax.legend(loc="center right")
    return fig


def race_figure(val_losses: Mapping[str, Sequence[float]], test_accuracies: Mapping[str, Sequence[float]]) -> Figure:
    """The fair race: each rule's final validation loss (left) and test accuracy in % (right),
    one small dot a seed and a bar at their mean."""
    names = list(val_losses)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(WIDTH, 4.4), layout="constrained", sharey=True)
    for ax, values in ((ax_loss, val_losses), (ax_acc, test_accuracies)):
        for row, name in enumerate(names):
            seeds = np.asarray(values[name], dtype=float)
            ax.plot(seeds, np.full(len(seeds), row), "o", ms=4, color=COLORS[row % len(COLORS)], alpha=0.7)
            ax.plot([seeds.mean()] * 2, [row - 0.3, row + 0.3], color="k", lw=1.5)
        ax.grid(axis="x", alpha=0.3)
    ax_loss.set_yticks(range(len(names)), names)
    ax_loss.invert_yaxis()
    ax_loss.set_xlabel("validation loss after training")
    ax_acc.set_xlabel("test accuracy (%)")
    ax_loss.set_title("each at its own tuned η\n(dots: seeds; bar: mean)")
    ax_acc.set_title("the same runs\non the test images")
    return fig
