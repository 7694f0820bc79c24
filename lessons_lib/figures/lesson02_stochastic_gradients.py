"""Lesson 02, stochastic gradients: minibatch gradients of a linear regression, their figures and widgets.

Linear regression with the mean-squared error, on N examples (rows of X, targets y)::

    L(θ)     = (1/N) Σ_i (x_iᵀθ − y_i)²
    ∇L(θ)    = (2/N) Σ_i (x_iᵀθ − y_i) x_i             the full gradient
    ĝ_𝓑(θ)   = (2/B) Σ_{i ∈ 𝓑} (x_iᵀθ − y_i) x_i       on a minibatch 𝓑 of B examples

Pieces, in the order of the lesson:

* ``mse_loss``, ``mse_gradient``, ``per_example_gradients``: the equations above;
* ``sample_minibatch_gradients``: many minibatch gradients at one θ, drawn at once;
* ``MinibatchGradients``: a gradient function for ``runner.run`` that walks
  through shuffled epochs; ``run_sgd`` runs SGD with it;
* ``run_seeds``: any rule on minibatch gradients, several seeds side by side
  (optionally with a learning rate per step, or with batches drawn independently);
  ``excess_losses`` and ``running_average`` read the runs;
* ``steps_to_follow``: how long the exponential average m_t = β m_{t−1} + (1 − β) v_t
  (``lessons_lib.runner.ewma``), which Momentum and Adam keep, lags behind a change;
* figures: ``plot_gradient_cloud``, ``plot_noise_vs_batch_size``, ``plot_sgd_runs``,
  ``plot_loss_per_epoch``, ``plot_noise_band``;
* widgets: ``BatchSizeLab`` (batch size and learning rate) and ``AveragingLab`` (β).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lessons_lib.data import minibatches
from lessons_lib.figures.live import LiveFigure, log_slider
from lessons_lib.figures.plotting import COLORS, log_axis
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD
from lessons_lib.runner import Trajectory, ewma, run

#: Excess losses below this are drawn at this value on log axes (0 cannot be shown).
SMALLEST_EXCESS = 1e-12


# --- the equations -------------------------------------------------------------------------------


def mse_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """L(θ) = (1/N) Σ_i (x_iᵀθ − y_i)², the mean-squared error over all rows of X."""
    return float(np.mean((X @ theta - y) ** 2))


def mse_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray, batch: object = None) -> np.ndarray:
    """ĝ_𝓑(θ) = (2/B) Σ_{i ∈ 𝓑} (x_iᵀθ − y_i) x_i; with ``batch=None``, the full gradient ∇L(θ).

    ``batch`` holds the row indices of the minibatch (repeats allowed: a batch
    drawn with replacement counts a row as often as it was drawn).
    """
    if batch is not None:
        X, y = X[batch], y[batch]
    return 2 * X.T @ (X @ theta - y) / len(y)


def per_example_gradients(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of each example's own loss (x_iᵀθ − y_i)², one row each: 2 (x_iᵀθ − y_i) x_i, shape (N, d).

    Their mean over the rows is the full gradient ∇L(θ); their mean over a
    minibatch is that minibatch's gradient.
    """
    return 2 * (X @ theta - y)[:, None] * X


def sample_minibatch_gradients(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    draws: int,
    rng: np.random.Generator,
    replace: bool = False,
) -> np.ndarray:
    """``draws`` minibatch gradients at θ, each from a fresh random batch: shape (draws, d).

    Without replacement (the default) a batch holds ``batch_size`` different
    examples, as when an epoch is shuffled and cut; with ``replace=True`` each
    of its examples is drawn independently of the others and may repeat.
    """
    per_example = per_example_gradients(theta, X, y)
    n = len(per_example)
    if replace:
        rows = rng.integers(0, n, size=(draws, batch_size))
    else:  # the first batch_size entries of a random permutation, one permutation per draw
        rows = rng.permuted(np.tile(np.arange(n), (draws, 1)), axis=1)[:, :batch_size]
    return per_example[rows].mean(axis=1)


# --- SGD on shuffled epochs ----------------------------------------------------------------------


class MinibatchGradients:
    """A gradient function θ ↦ ĝ_𝓑(θ) for ``runner.run``: each call uses the next minibatch.

    Every epoch puts the N examples in a fresh random order and cuts it into
    batches of ``batch_size`` (the last one smaller if ``batch_size`` does not
    divide N), with ``lessons_lib.data.minibatches`` and the generator
    ``np.random.default_rng(seed)``. So one epoch is ⌈N / B⌉ steps and sees
    every example once.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size
        self.rng = np.random.default_rng(seed)
        self._batches = iter(())  # the batches left in the current epoch

    @property
    def steps_per_epoch(self) -> int:
        """⌈N / B⌉: how many minibatches make one pass over the data."""
        return math.ceil(len(self.y) / self.batch_size)

    def epochs_after(self, steps: int) -> np.ndarray:
        """The number of epochs done (examples seen / N) after 0, 1, …, ``steps`` steps: shape (steps + 1,)."""
        n, b = len(self.y), self.batch_size
        batch_sizes = np.array([min(b, n - start) for start in range(0, n, b)])
        seen = np.resize(batch_sizes, steps)  # the pattern of one epoch, repeated
        return np.concatenate([[0.0], np.cumsum(seen) / n])

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """ĝ_𝓑(θ) on the next minibatch 𝓑 (θ is not checked here: ``runner.run`` has checked it)."""
        batch = next(self._batches, None)
        if batch is None:  # a new epoch: a new order
            self._batches = minibatches(len(self.y), self.batch_size, self.rng)
            batch = next(self._batches)
        Xb, yb = self.X[batch], self.y[batch]
        return 2 * Xb.T @ (Xb @ theta - yb) / len(batch)


@dataclass(frozen=True, eq=False)
class SGDRun:
    """One SGD run on a regression problem: its settings, its ``trajectory`` and
    ``epochs`` (examples seen / N after each step, for the x-axis)."""

    batch_size: int
    lr: float
    epochs: np.ndarray
    trajectory: Trajectory

    @property
    def label(self) -> str:
        return f"B = {self.batch_size}"

    @property
    def losses(self) -> np.ndarray:
        return self.trajectory.losses


def run_sgd(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    lr: float,
    epochs: int,
    start: np.ndarray | None = None,
    seed: int = 0,
) -> SGDRun:
    """SGD, θ ← θ − η ĝ_𝓑(θ), for ``epochs`` passes over the data, from ``start`` (zeros by default).

    Uses ``lessons_lib.optim.SGD`` and ``runner.run``; the loss recorded after
    every step is the full training loss L(θ). A run that blows up stops early
    (``trajectory.diverged``).
    """
    gradients = MinibatchGradients(X, y, batch_size, seed)
    start = np.zeros(X.shape[1]) if start is None else start
    trajectory = run(SGD(lr=lr, name=f"SGD, B = {batch_size}"), gradients, start,
                     steps=epochs * gradients.steps_per_epoch)
    # The losses of all positions in one go (much faster than one call per step). The runner
    # stopped the run before any |θ| passed 1e8, so they are finite.
    with np.errstate(over="ignore"):
        losses = np.mean((trajectory.positions @ X.T - y) ** 2, axis=1)
    trajectory = replace(trajectory, losses=losses)
    return SGDRun(batch_size, lr, gradients.epochs_after(trajectory.steps_run), trajectory)


def run_seeds(
    rule: object,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    epochs: int,
    seeds: Sequence[int],
    start: np.ndarray | None = None,
    lrs: Sequence[float] | None = None,
    independent: bool = False,
) -> np.ndarray:
    """Positions θ_0 … θ_T of ``rule`` on minibatch gradients, one run per seed, side by side: (T + 1, S, d).

    Every run makes ⌈N / B⌉ steps per epoch for ``epochs`` epochs from ``start``
    (zeros by default). Seed s draws its batches from ``np.random.default_rng(s)``:
    shuffled epochs, the same batches as ``run_sgd(..., seed=s)``; with
    ``independent=True``, each batch holds B examples drawn independently (with
    replacement), so that the noise of successive gradients is independent.
    ``lrs`` (optional) gives the learning rate of every step, a schedule: step t
    uses the rule with ``lr = lrs[t]``. The rule's arrays broadcast, so the S
    runs are one numpy computation per step.
    """
    n, d = X.shape
    rngs = [np.random.default_rng(seed) for seed in seeds]
    steps_per_epoch = math.ceil(n / batch_size)
    theta = np.zeros((len(rngs), d)) if start is None else np.tile(np.asarray(start, dtype=float), (len(rngs), 1))
    state = rule.init(theta)
    positions = [theta]
    for _ in range(epochs):
        if independent:
            draws = np.stack([rng.integers(0, n, size=(steps_per_epoch, batch_size)) for rng in rngs], axis=1)
            batches = list(draws)  # steps_per_epoch arrays of shape (S, B)
        else:  # one permutation per seed, cut into batches: lessons_lib.data.minibatches, S at once
            orders = np.stack([rng.permutation(n) for rng in rngs])
            batches = [orders[:, k:k + batch_size] for k in range(0, n, batch_size)]
        for rows in batches:
            Xb, yb = X[rows], y[rows]  # (S, B, d), (S, B)
            residuals = np.einsum("sbd,sd->sb", Xb, theta) - yb
            g = 2 * np.einsum("sb,sbd->sd", residuals, Xb) / rows.shape[1]
            step_rule = rule if lrs is None else replace(rule, lr=float(lrs[len(positions) - 1]))
            theta, state = step_rule.step(theta, g, state)
            positions.append(theta)
    return np.array(positions)


def excess_losses(positions: np.ndarray, X: np.ndarray, y: np.ndarray, min_loss: float) -> np.ndarray:
    """L(θ) − L(θ*) at every position (any leading shape, last axis the d weights).

    Expanded, L(θ) = θᵀAθ − 2bᵀθ + c with A = XᵀX/N, b = Xᵀy/N, c = yᵀy/N: three
    small sums computed once, instead of N residuals for every position.
    """
    n = len(y)
    A, b, c = X.T @ X / n, X.T @ y / n, y @ y / n
    positions = np.asarray(positions, dtype=float)
    return np.einsum("...i,ij,...j->...", positions, A, positions) - 2 * positions @ b + c - min_loss


def running_average(positions: np.ndarray, first: int) -> np.ndarray:
    """The Polyak–Ruppert average θ̄_t = mean of θ_first … θ_t, for t = first … T (time on the first axis)."""
    tail = positions[first:]
    counts = np.arange(1, len(tail) + 1).reshape(-1, *[1] * (tail.ndim - 1))
    return np.cumsum(tail, axis=0) / counts


# --- averaging over time -------------------------------------------------------------------------


def steps_to_follow(beta: float, fraction: float = 0.9) -> int:
    """After a sudden change of the averaged value, the steps the average needs to cover ``fraction`` of it.

    The old value keeps the weight β^k after k steps, so: the smallest k with β^k ≤ 1 − fraction.
    """
    if beta == 0:
        return 1
    return math.ceil(math.log(1 - fraction) / math.log(beta) - 1e-9)


# --- static figures ------------------------------------------------------------------------------


def draw_gradient_cloud(ax: Axes, estimates: np.ndarray, full_gradient: np.ndarray, coords: tuple[int, int],
                        names: Sequence[str]) -> tuple:
    """Two coordinates of many minibatch gradients as dots, the full gradient as a star, their mean as ×.

    Returns the dots, the mean marker and the star (the first two change in the widget).
    """
    i, j = coords
    dots = ax.scatter(estimates[:, i], estimates[:, j], s=9, alpha=0.35, color="tab:blue", linewidths=0,
                      label="minibatch gradients ĝ")
    (star,) = ax.plot([full_gradient[i]], [full_gradient[j]], marker="*", color="black", markersize=16,
                      linestyle="none", label="full gradient ∇L")
    (mean,) = ax.plot([estimates[:, i].mean()], [estimates[:, j].mean()], marker="x", color="tab:red",
                      markersize=9, markeredgewidth=2, linestyle="none", label="mean of the ĝ shown", zorder=3)
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set_xlabel(f"∂L/∂θ  for  {names[i]}")
    ax.set_ylabel(f"∂L/∂θ  for  {names[j]}")
    ax.legend(loc="lower right")
    return dots, mean, star


def plot_gradient_cloud(estimates: object, full_gradient: object, coords: tuple[int, int], names: Sequence[str],
                        title: str = "") -> Figure:
    """A figure of ``draw_gradient_cloud``: the spread of minibatch gradients around the full gradient."""
    fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained")
    draw_gradient_cloud(ax, estimates, full_gradient, coords, names)
    ax.set_title(title)
    return fig


def plot_noise_vs_batch_size(batch_sizes: object, measured: dict[str, object], predicted: dict[str, object],
                             n: int) -> Figure:
    """Gradient noise against batch size on log-log axes: ``measured`` as markers, ``predicted`` as lines.

    Each dict maps a label to one value per batch size. ``n`` (the number of
    examples) is marked with a dotted line: there a batch without replacement
    is the whole data set and has no noise at all.
    """
    fig, ax = plt.subplots(figsize=(7.0, 5.0), layout="constrained")
    for (label, values), style in zip(predicted.items(), ["-", "--", ":"]):
        ax.loglog(batch_sizes, values, style, color="0.3", label=label)
    for (label, values), marker, color in zip(measured.items(), "os", COLORS):
        ax.loglog(batch_sizes, values, marker=marker, color=color, linestyle="none", markerfacecolor="none",
                  markersize=7, markeredgewidth=1.5, label=label)
    log_axis(ax, "x")  # fewer ticks: much faster to draw
    ax.axvline(n, color="0.5", linestyle=":", linewidth=1)
    ax.text(n, ax.get_ylim()[1], f" N = {n}", va="top", ha="right", color="0.35", rotation=90)
    ax.set_xlabel("batch size B")
    ax.set_ylabel("noise: RMS of ‖ĝ − ∇L‖")
    ax.legend(loc="lower left")
    return fig


def draw_excess_loss(ax: Axes, x: np.ndarray, losses: np.ndarray, min_loss: float, **style) -> object:
    """L(θ) − L(θ*) against ``x`` on a log scale (values below ``SMALLEST_EXCESS`` are drawn at it)."""
    (line,) = ax.semilogy(x, np.maximum(losses - min_loss, SMALLEST_EXCESS), **style)
    return line


def plot_sgd_runs(runs: Sequence[SGDRun], min_loss: float, labels: Sequence[str] | None = None) -> Figure:
    """Two panels of the same runs: excess training loss per epoch (left) and per step (right, log scale).

    Runs with many steps are drawn first, thin and pale, so that they do not
    hide the runs with few steps, which are drawn on top with a dot per step.
    """
    labels = labels or [r.label for r in runs]
    fig, (ax_epochs, ax_steps) = plt.subplots(1, 2, figsize=(WIDTH, 4.6), layout="constrained", sharey=True)
    colors = dict(zip(range(len(runs)), COLORS))
    order = sorted(range(len(runs)), key=lambda k: -len(runs[k].losses))  # most steps first: at the bottom
    for rank, k in enumerate(order):
        r, label = runs[k], labels[k]
        many = len(r.losses) > 1000
        style = {"color": colors[k], "label": label, "zorder": 2 + rank,
                 "linewidth": 0.5 if many else 1.4, "alpha": 0.55 if many else 1.0,
                 "marker": None if len(r.losses) > 200 else ".", "markersize": 4}
        draw_excess_loss(ax_epochs, r.epochs, r.losses, min_loss, **style)
        steps = np.arange(1, len(r.losses))  # the start (step 0) has no place on a log axis
        draw_excess_loss(ax_steps, steps, r.losses[1:], min_loss, **style)
    ax_epochs.set_xlabel("epochs (examples seen / N)")
    ax_epochs.set_ylabel("training loss − minimum")
    ax_epochs.set_title("per epoch: the same number\nof example gradients")
    log_axis(ax_steps, "x")  # fewer ticks: much faster to draw
    ax_steps.set_xlabel("steps, log scale\n(minibatch gradients evaluated)")
    ax_steps.set_title("per step: the same number\nof updates")
    handles, names = ax_steps.get_legend_handles_labels()
    by_name = dict(zip(names, handles))
    # lower left of the per-step panel: every curve starts high there
    ax_steps.legend([by_name[label] for label in labels], labels, loc="lower left")
    return fig


def plot_loss_per_epoch(runs: Sequence[SGDRun], min_loss: float, labels: Sequence[str] | None = None,
                        title: str = "") -> Figure:
    """Excess training loss L(θ) − L(θ*) per epoch for each run, from the first step on, on one log-scale panel.

    (The start is left out: a run that starts at the minimum starts at 0, which a log scale cannot show.)
    """
    labels = labels or [r.label for r in runs]
    fig, ax = plt.subplots(figsize=(WIDTH, 4.4), layout="constrained")
    for r, label in zip(runs, labels):
        draw_excess_loss(ax, r.epochs[1:], r.losses[1:], min_loss, label=label, linewidth=0.8)
    ax.set_xlabel("epochs (examples seen / N)")
    ax.set_ylabel("training loss − minimum")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_noise_band(epochs: np.ndarray, curves: dict[str, np.ndarray], title: str = "",
                    bottom: float = 1e-6) -> Figure:
    """Excess loss per epoch of several runs on one log-scale panel: ``curves`` maps a label to its values.

    Meant for runs that start at the minimum: their excess loss is the noise band alone. The
    start (0, which a log axis cannot show) is left out, and the axis begins at ``bottom``.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 5.0), layout="constrained")
    for (label, values), color in zip(curves.items(), COLORS):
        offset = len(epochs) - len(values)  # a running average starts later than the run
        x, values = epochs[offset:], np.asarray(values)
        ax.semilogy(x[x > 0], np.maximum(values[x > 0], bottom), color=color, linewidth=0.8, label=label)
    ax.set_ylim(bottom=bottom)
    ax.set_xlabel("epochs (examples seen / N)")
    ax.set_ylabel("training loss − minimum")
    ax.set_title(title)
    # under the axis label (3.5 text heights below the axes): long labels, and the full width for the curves
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=3.5, ncols=2)
    return fig


# --- widgets -------------------------------------------------------------------------------------


class BatchSizeLab:
    """Batch size and learning rate on sliders, over two live pictures.

    Left: ``draws`` minibatch gradients at ``theta`` (two coordinates) around
    the full gradient, for the chosen batch size. Right: the training loss of
    SGD from θ = 0 with that batch size and learning rate, per epoch, beside
    full-batch gradient descent with the same learning rate.

    ``panel`` holds the controls and the live picture; ``snapshot()`` is the
    current picture as a static image.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, theta: np.ndarray, min_loss: float, coords: tuple[int, int],
                 names: Sequence[str], batch_size: int = 8, lr: float = 0.01, epochs: int = 20, draws: int = 300,
                 seed: int = 0) -> None:
        self.X, self.y, self.theta = X, y, theta
        n = len(self.y)
        self.coords, self.names = coords, list(names)
        self.min_loss, self.epochs, self.draws, self.seed = float(min_loss), epochs, draws, seed
        options = sorted({*(2**k for k in range(int(math.log2(n)) + 1)), n})
        self.batch_size = widgets.SelectionSlider(options=options, value=batch_size, description="batch size B",
                                                  style={"description_width": "initial"})
        self.lr = log_slider("learning rate η", lr, 1e-3, 1.0)
        self.full_gradient = mse_gradient(self.theta, self.X, self.y)
        self._clouds: dict[int, np.ndarray] = {}
        self._full_batch: dict[float, SGDRun] = {}

        figure = Figure(figsize=(WIDTH, 4.6), layout="constrained")
        ax_cloud, self.ax_loss = figure.subplots(1, 2)
        widest = self.cloud(1)
        self.dots, self.mean, _ = draw_gradient_cloud(ax_cloud, widest, self.full_gradient, coords, names)
        i, j = coords
        for axis_set, k in ((ax_cloud.set_xlim, i), (ax_cloud.set_ylim, j)):
            low, high = np.percentile(widest[:, k], [1, 99])
            axis_set(low, high)
        ax_cloud.set_title(f"{self.draws} minibatch gradients\nat the start θ = 0")
        self.spread = ax_cloud.text(0.02, 0.97, "", transform=ax_cloud.transAxes, va="top")

        self.sgd_line = draw_excess_loss(self.ax_loss, [0], np.array([1.0]), 0.0, color="tab:blue", linewidth=1,
                                         label="SGD with the chosen B")
        self.gd_line = draw_excess_loss(self.ax_loss, [0], np.array([1.0]), 0.0, color="black", linestyle="--",
                                        linewidth=1.5, label=f"full batch (B = {n})")
        self.note = self.ax_loss.text(0.02, 0.02, "", transform=self.ax_loss.transAxes, va="bottom",
                                      color="darkred")
        self.ax_loss.set_xlim(0, self.epochs)
        self.ax_loss.set_ylim(1e-3, 10)
        self.ax_loss.set_xlabel("epochs (examples seen / N)")
        self.ax_loss.set_ylabel("training loss − minimum")
        self.ax_loss.set_title("SGD from θ = 0\n(curves leaving the top have diverged)")
        self.ax_loss.legend(loc="upper right")

        self.live = LiveFigure(figure)
        self.live.animate(self.dots, self.mean, self.spread, self.sgd_line, self.gd_line, self.note)
        self.panel = self.live.panel([self.batch_size, self.lr], self.update)

    def cloud(self, batch_size: int) -> np.ndarray:
        """The minibatch gradients drawn for this batch size (the same ones every time: seeded by B)."""
        if batch_size not in self._clouds:
            rng = np.random.default_rng([self.seed, batch_size])
            self._clouds[batch_size] = sample_minibatch_gradients(self.theta, self.X, self.y, batch_size,
                                                                  self.draws, rng)
        return self._clouds[batch_size]

    def update(self) -> None:
        """Read the sliders; redraw the cloud and the two runs."""
        b, lr = self.batch_size.value, self.lr.value
        estimates = self.cloud(b)
        i, j = self.coords
        self.dots.set_offsets(estimates[:, [i, j]])
        self.mean.set_data([estimates[:, i].mean()], [estimates[:, j].mean()])
        noise = np.sqrt(np.mean(np.sum((estimates - self.full_gradient) ** 2, axis=1)))
        self.spread.set_text(f"B = {b}: RMS of ‖ĝ − ∇L‖ = {noise:.2f}\n"
                             f"(all {len(self.full_gradient)} coordinates)")
        if lr not in self._full_batch:  # it does not depend on B: run it once per learning rate
            self._full_batch[lr] = run_sgd(self.X, self.y, len(self.y), lr, self.epochs)
        runs = [run_sgd(self.X, self.y, b, lr, self.epochs, seed=self.seed), self._full_batch[lr]]
        for line, r in zip((self.sgd_line, self.gd_line), runs):
            line.set_data(r.epochs, np.maximum(r.losses - self.min_loss, SMALLEST_EXCESS))
        names = (f"SGD (B = {b})", "full batch")
        self.note.set_text("\n".join(f"{name} diverged at step {r.trajectory.diverged_at}"
                                     for name, r in zip(names, runs) if r.trajectory.diverged))

    def snapshot(self):
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()


class AveragingLab:
    """A β slider over a stream of noisy gradient values and their exponential average.

    ``values`` are noisy estimates, one per step (say one coordinate of
    successive minibatch gradients); ``truth`` the exact values they estimate,
    one per step. The picture shows the noisy values as dots, the truth as a
    black line and m_t = β m_{t−1} + (1 − β) v_t in colour; beside the plot, under its legend, a few
    lines of text give the measured noise of the average and how many steps it needs to follow a change.
    """

    def __init__(self, values: object, truth: object, beta: float = 0.9, title: str = "") -> None:
        self.values, self.truth = np.asarray(values, dtype=float), np.asarray(truth, dtype=float)
        self.beta = widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01,
                                        description="β", readout_format=".2f")
        steps = np.arange(1, len(self.values) + 1)
        # wide and short, so that a projector shows it without shrinking its text: the plot on the left,
        # a column on the right, as tall as the figure, for the legend (top) and the numbers (bottom)
        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")
        left, notes = figure.subfigures(1, 2, width_ratios=[1, 0.41])
        ax = left.subplots()
        ax.plot(steps, self.values, ".", color="0.55", markersize=3, label="minibatch gradient\nĝ_t (noisy)")
        ax.plot(steps, self.truth, color="black", linewidth=1.5, label="full gradient\n∇L (exact)")
        (self.line,) = ax.plot(steps, self.values, color="tab:orange", linewidth=2,
                               label="average\nm_t = β m_{t−1}\n+ (1 − β) ĝ_t")
        low, high = np.percentile(self.values, [0.5, 99.5])
        ax.set_ylim(low - 0.1 * (high - low), high + 0.1 * (high - low))
        ax.set_xlim(0, len(self.values) + 1)
        ax.set_xlabel("step t")
        ax.set_ylabel("one gradient coordinate")
        ax.set_title(title)
        notes.legend(*ax.get_legend_handles_labels(), loc="upper left", borderaxespad=0.3, frameon=False)
        self.text = notes.text(0.03, 0.03, "", va="bottom")
        self.live = LiveFigure(figure)
        self.live.animate(self.line, self.text)
        self.panel = self.live.panel([self.beta], self.update)

    def noise(self, beta: float) -> float:
        """RMS of the noise left in the average: m_t minus the same average of the exact values.

        The first steps are left out, until the zero start has faded to 5 % (or
        half the steps, if that comes first): there the noise is still building up.
        """
        skip = min(steps_to_follow(beta, 0.95), len(self.values) // 2)
        noise = ewma(self.values - self.truth, beta)[skip:]
        return float(np.sqrt(np.mean(noise**2)))

    def update(self) -> None:
        """Read β; redraw the average and its numbers."""
        beta = self.beta.value
        self.line.set_data(np.arange(1, len(self.values) + 1), ewma(self.values, beta))
        raw = float(np.sqrt(np.mean((self.values - self.truth) ** 2)))
        self.text.set_text(
            f"β = {beta:.2f}: averages about\n1/(1 − β) = {1 / (1 - beta):.0f} gradients;\n"
            f"noise left {self.noise(beta):.3f}\n(ĝ alone: {raw:.3f});\n"
            f"follows a change to 90%\nin {steps_to_follow(beta)} steps"
        )

    def snapshot(self):
        """The current picture as a static image to ``display``."""
        return self.live.snapshot()

