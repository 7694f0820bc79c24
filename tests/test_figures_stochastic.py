"""Lesson 02's library: minibatch gradients, SGD on shuffled epochs, the moving average, figures and widgets."""

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
from matplotlib.figure import Figure

from lessons_lib.data import minibatches
from lessons_lib.figures.lesson02_stochastic_gradients import (
    AveragingLab,
    BatchSizeLab,
    MinibatchGradients,
    mse_gradient,
    mse_loss,
    per_example_gradients,
    excess_losses,
    plot_gradient_cloud,
    plot_loss_per_epoch,
    plot_noise_band,
    plot_noise_vs_batch_size,
    plot_sgd_runs,
    run_seeds,
    run_sgd,
    running_average,
    sample_minibatch_gradients,
    steps_to_follow,
)
from lessons_lib.optim import SGD, EMAMomentum
from lessons_lib.runner import ewma

N, D = 40, 3


def regression_problem() -> tuple[np.ndarray, np.ndarray]:
    """N points of a noisy linear model in D dimensions (seed 0): the data of the tests here."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=N)
    return X, y


@pytest.fixture
def problem():
    return regression_problem()


# --- the equations -------------------------------------------------------------------------------


def test_full_gradient_matches_finite_differences(problem):
    X, y = problem
    theta = np.array([0.3, -0.1, 2.0])
    h = 1e-6
    numeric = [(mse_loss(theta + h * e, X, y) - mse_loss(theta - h * e, X, y)) / (2 * h) for e in np.eye(D)]
    assert np.allclose(mse_gradient(theta, X, y), numeric, atol=1e-7)
    assert np.array_equal(mse_gradient(theta, X, y), mse_gradient(theta, X, y, np.arange(N)))


def test_minibatch_gradient_is_the_mean_of_per_example_gradients(problem):
    X, y = problem
    theta = np.array([1.0, 0.0, -1.0])
    per_example = per_example_gradients(theta, X, y)
    assert per_example.shape == (N, D)
    assert np.allclose(per_example.mean(axis=0), mse_gradient(theta, X, y), atol=1e-14)
    batch = np.array([3, 7, 7, 20])  # a repeat counts twice
    assert np.allclose(per_example[batch].mean(axis=0), mse_gradient(theta, X, y, batch), atol=1e-14)


def test_sampled_gradients_are_unbiased_and_shrink_with_the_finite_population_correction(problem):
    X, y = problem
    theta = np.zeros(D)
    full = mse_gradient(theta, X, y)
    per_example = per_example_gradients(theta, X, y)
    sigma = np.sqrt(np.mean(np.sum((per_example - full) ** 2, axis=1)))
    rng = np.random.default_rng(1)
    for batch_size in (1, 5, 20):
        for replace, factor in ((True, 1.0), (False, math.sqrt((N - batch_size) / (N - 1)))):
            draws = sample_minibatch_gradients(theta, X, y, batch_size, 4000, rng, replace=replace)
            noise = np.sqrt(np.mean(np.sum((draws - full) ** 2, axis=1)))
            assert noise == pytest.approx(sigma / math.sqrt(batch_size) * factor, rel=0.05)
            assert np.allclose(draws.mean(axis=0), full, atol=4 * noise / math.sqrt(4000))
    whole = sample_minibatch_gradients(theta, X, y, N, 5, rng)
    assert np.allclose(whole, full, atol=1e-12)  # a batch of every example has no noise


def test_sampled_gradients_without_replacement_hold_different_examples():
    X, y = np.eye(6), np.zeros(6)
    # at θ = (1, …, 1) example i has the gradient 2 e_i, so (B/2) ĝ counts how often each row is in the batch
    counts = sample_minibatch_gradients(np.ones(6), X, y, 3, 200, np.random.default_rng(0)) * 3 / 2
    assert np.allclose(counts.sum(axis=1), 3) and np.allclose(counts * (counts - 1), 0)  # three different rows
    counts = sample_minibatch_gradients(np.ones(6), X, y, 3, 200, np.random.default_rng(0), replace=True) * 3 / 2
    assert np.isclose(counts, 2).any() or np.isclose(counts, 3).any()  # with replacement, repeats happen


# --- SGD on shuffled epochs ----------------------------------------------------------------------


def test_minibatch_gradients_walk_through_shuffled_epochs():
    n = 10
    X, y = np.eye(n), np.ones(n)
    gradients = MinibatchGradients(X, y, batch_size=4, seed=5)
    assert gradients.steps_per_epoch == 3
    expected = np.random.default_rng(5)
    for epoch in range(2):
        seen = []
        for batch in minibatches(n, 4, expected):
            g = gradients(np.zeros(n))  # −2/B on the rows of the batch, 0 elsewhere
            rows = np.flatnonzero(g)
            assert np.array_equal(rows, np.sort(batch)) and np.allclose(g[rows], -2 / len(batch))
            seen.extend(rows)
        assert sorted(seen) == list(range(n))
    assert np.allclose(gradients.epochs_after(7), [0, 0.4, 0.8, 1.0, 1.4, 1.8, 2.0, 2.4])


def test_run_sgd_is_the_hand_written_loop(problem):
    X, y = problem
    lr, batch_size, epochs, seed = 0.05, 8, 3, 2
    rng = np.random.default_rng(seed)
    theta, path = np.zeros(D), [np.zeros(D)]
    for _ in range(epochs):
        for batch in minibatches(N, batch_size, rng):
            theta = theta - lr * 2 * X[batch].T @ (X[batch] @ theta - y[batch]) / len(batch)
            path.append(theta)
    result = run_sgd(X, y, batch_size, lr, epochs, seed=seed)
    assert np.abs(result.trajectory.positions - np.array(path)).max() <= 1e-12
    assert np.allclose(result.losses, [mse_loss(p, X, y) for p in path], atol=1e-12)
    assert result.epochs[-1] == epochs and len(result.epochs) == len(path)
    assert result.label == "B = 8"


def test_full_batch_sgd_is_gradient_descent_and_converges(problem):
    X, y = problem
    result = run_sgd(X, y, N, 0.1, 200)
    best = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(result.trajectory.positions[-1], best, atol=1e-8)


def test_a_run_that_blows_up_stops_and_says_so(problem):
    X, y = problem
    result = run_sgd(X, y, 1, 5.0, 5)
    assert result.trajectory.diverged
    assert len(result.epochs) == len(result.losses) == result.trajectory.steps_run + 1


def test_run_seeds_is_run_sgd_for_every_seed(problem):
    X, y = problem
    positions = run_seeds(SGD(lr=0.05), X, y, 8, 3, seeds=[2, 5], start=np.ones(D))
    assert positions.shape == (3 * 5 + 1, 2, D)
    for k, seed in enumerate((2, 5)):
        one = run_sgd(X, y, 8, 0.05, 3, start=np.ones(D), seed=seed).trajectory.positions
        assert np.abs(positions[:, k] - one).max() <= 1e-12


def test_run_seeds_takes_any_rule_and_a_learning_rate_per_step(problem):
    X, y = problem
    lrs = 0.05 / (1 + np.arange(2 * 5))
    scheduled = run_seeds(EMAMomentum(lr=1.0, beta=0.9), X, y, 8, 2, seeds=[0], lrs=lrs)
    rng, rule = np.random.default_rng(0), EMAMomentum(lr=1.0, beta=0.9)
    theta = np.zeros((1, D))
    state, t = rule.init(theta), 0
    for _ in range(2):
        for batch in minibatches(N, 8, rng):
            g = 2 * X[batch].T @ (X[batch] @ theta[0] - y[batch]) / len(batch)
            theta, state = EMAMomentum(lr=lrs[t], beta=0.9).step(theta, g[None], state)
            t += 1
    assert np.abs(scheduled[-1] - theta).max() <= 1e-12


def test_independent_batches_are_drawn_with_replacement_one_epoch_at_a_time(problem):
    X, y = problem
    independent = run_seeds(SGD(lr=0.05), X, y, 8, 2, seeds=[3], independent=True)
    rng, theta, path = np.random.default_rng(3), np.zeros(D), [np.zeros(D)]
    for _ in range(2):
        for batch in rng.integers(0, N, size=(math.ceil(N / 8), 8)):  # B independent draws, repeats allowed
            theta = theta - 0.05 * 2 * X[batch].T @ (X[batch] @ theta - y[batch]) / 8
            path.append(theta)
    assert np.abs(independent[:, 0] - np.array(path)).max() <= 1e-12
    assert not np.allclose(independent, run_seeds(SGD(lr=0.05), X, y, 8, 2, seeds=[3]))


def test_excess_losses_and_running_average(problem):
    X, y = problem
    best = np.linalg.lstsq(X, y, rcond=None)[0]
    min_loss = mse_loss(best, X, y)
    positions = np.stack([best + 0.1, best, best - 0.1])
    np.testing.assert_allclose(excess_losses(positions, X, y, min_loss),
                               [mse_loss(p, X, y) - min_loss for p in positions], atol=1e-12)
    averaged = running_average(positions, 1)
    np.testing.assert_allclose(averaged, [best, best - 0.05])
    assert excess_losses(running_average(positions, 0)[-1], X, y, min_loss) == pytest.approx(0, abs=1e-12)


# --- how long the moving average lags --------------------------------------------------------------------------


@pytest.mark.parametrize("beta, fraction", [(0.5, 0.9), (0.9, 0.9), (0.99, 0.9), (0.9, 0.5)])
def test_steps_to_follow_is_the_first_k_with_beta_to_the_k_below_the_rest(beta, fraction):
    k = steps_to_follow(beta, fraction)
    assert beta**k <= 1 - fraction + 1e-12 and beta ** (k - 1) > 1 - fraction
    assert steps_to_follow(0.9) == 22 and steps_to_follow(0.0) == 1


# --- figures -------------------------------------------------------------------------------------


def test_static_figures_are_made(problem):
    X, y = problem
    draws = sample_minibatch_gradients(np.zeros(D), X, y, 4, 50, np.random.default_rng(0))
    full = mse_gradient(np.zeros(D), X, y)
    assert isinstance(plot_gradient_cloud(draws, full, (0, 2), ["a", "b", "c"], title="t"), Figure)
    sizes = np.array([1, 2, 4])
    assert isinstance(plot_noise_vs_batch_size(sizes, {"m": [3, 2, 1]}, {"p": [3, 2.1, 1.4]}, n=N), Figure)
    runs = [run_sgd(X, y, b, 0.05, 2) for b in (1, N)]
    assert isinstance(plot_sgd_runs(runs, 0.0), Figure)
    assert isinstance(plot_loss_per_epoch(runs, 0.0, labels=["one", "all"]), Figure)
    epochs = np.arange(11) / 5
    band = plot_noise_band(epochs, {"a": np.linspace(0, 1, 11), "b": np.ones(6)}, title="t")
    assert [t.get_text() for t in band.axes[0].get_legend().get_texts()] == ["a", "b"]
    assert band.axes[0].get_lines()[1].get_xdata()[0] == epochs[5]  # a shorter curve ends with the run


def test_sgd_runs_with_few_steps_are_drawn_over_runs_with_many(problem):
    X, y = problem
    runs = [run_sgd(X, y, b, 0.05, 40) for b in (1, 8, N)]  # 1600, 200 and 40 steps
    ax_epochs, ax_steps = plot_sgd_runs(runs, 0.0).axes
    lines = {line.get_label(): line for line in ax_epochs.get_lines()}
    assert lines["B = 1"].get_zorder() < lines["B = 8"].get_zorder() < lines[f"B = {N}"].get_zorder()
    assert lines["B = 1"].get_alpha() < 1 and lines[f"B = {N}"].get_marker() == "."
    assert [t.get_text() for t in ax_steps.get_legend().get_texts()] == ["B = 1", "B = 8", f"B = {N}"]



# --- widgets -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_batch_lab():
    """One lab for the tests below: building one takes about a second, moving a slider a few milliseconds."""
    X, y = regression_problem()
    return BatchSizeLab(X, y, np.zeros(D), 0.0, (0, 1), ["a", "b", "c"], batch_size=4, lr=0.01, epochs=3, draws=50)


@pytest.fixture
def batch_lab(shared_batch_lab):
    """The shared lab at the settings it was built with (B = 4, η = 0.01), whatever the last test left."""
    shared_batch_lab.batch_size.value, shared_batch_lab.lr.value = 4, 0.01
    return shared_batch_lab


def test_batch_size_lab_redraws_when_either_slider_moves(batch_lab):
    assert batch_lab.batch_size.options == (1, 2, 4, 8, 16, 32, 40)
    first = bytes(batch_lab.live.image.value)
    assert first.startswith(b"\x89PNG")
    batch_lab.batch_size.value = 32
    after_batch = bytes(batch_lab.live.image.value)
    assert after_batch != first
    assert "B = 32" in batch_lab.spread.get_text()
    batch_lab.lr.value = 0.05
    assert bytes(batch_lab.live.image.value) != after_batch
    batch_lab.batch_size.value, batch_lab.lr.value = 4, 0.01
    assert bytes(batch_lab.live.image.value) == first  # the same settings give the same picture


def test_batch_size_lab_cloud_narrows_as_the_batch_grows(batch_lab):
    full = batch_lab.full_gradient
    spreads = [np.sqrt(np.mean(np.sum((batch_lab.cloud(b) - full) ** 2, axis=1))) for b in (1, 4, 16, 40)]
    assert spreads == sorted(spreads, reverse=True) and spreads[-1] < 1e-12


def test_batch_size_lab_names_a_run_that_diverged(batch_lab):
    batch_lab.batch_size.value = 1
    batch_lab.lr.value = 1.0
    assert "diverged at step" in batch_lab.note.get_text()
    assert batch_lab.panel.children[2].value == ""  # not an error: the figure says it
    batch_lab.lr.value = 0.01
    assert batch_lab.note.get_text() == ""


def test_batch_size_lab_snapshot_is_the_live_picture(batch_lab):
    assert batch_lab.snapshot().data == batch_lab.live.png()


@pytest.fixture
def averaging_lab():
    rng = np.random.default_rng(0)
    truth = np.concatenate([np.full(100, -1.0), np.zeros(100)])
    return AveragingLab(truth + rng.normal(size=200), truth, beta=0.9)


def test_averaging_lab_redraws_when_beta_moves(averaging_lab):
    first = bytes(averaging_lab.live.image.value)
    assert "β = 0.90" in averaging_lab.text.get_text() and "in 22 steps" in averaging_lab.text.get_text()
    averaging_lab.beta.value = 0.5
    assert bytes(averaging_lab.live.image.value) != first
    assert np.allclose(averaging_lab.line.get_ydata(), ewma(averaging_lab.values, 0.5))
    averaging_lab.beta.value = 0.0
    assert np.allclose(averaging_lab.line.get_ydata(), averaging_lab.values)
    assert averaging_lab.snapshot().data == averaging_lab.live.png()


def test_averaging_lab_noise_falls_as_beta_grows(averaging_lab):
    noises = [averaging_lab.noise(beta) for beta in (0.0, 0.5, 0.9)]
    assert noises == sorted(noises, reverse=True)

