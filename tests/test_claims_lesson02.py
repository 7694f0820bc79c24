"""The claims of lesson 02 (notebooks/02_stochastic_gradients.ipynb), re-checked where they could flip.

Each test names the sentence it checks. The lesson shows one seed (four for the noise band) and one
horizon; here the claims meet other seeds (at least three, never the lesson's own alone), horizons five
to ten times longer, and the strict form of each comparison. Runs of several seeds go side by side
(``run_seeds``), so that a test costs a few numpy steps, not a loop per seed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from lessons_lib.data import load_diabetes_regression
from lessons_lib.figures.lesson02_stochastic_gradients import (excess_losses, per_example_gradients, run_seeds,
                                                               run_sgd, running_average, sample_minibatch_gradients)
from lessons_lib.optim import SGD, EMAMomentum
from lessons_lib.runner import ewma

pytestmark = pytest.mark.slow  # a few seconds of SGD runs

DATA = load_diabetes_regression(seed=0)
X, Y = DATA.X_train, DATA.y_train
N, D = X.shape
THETA_STAR = np.linalg.lstsq(X, Y, rcond=None)[0]
L_MIN = float(np.mean((X @ THETA_STAR - Y) ** 2))
SEEDS = (10, 11, 12)  # not the lesson's seeds
PER_EPOCH_8 = int(np.ceil(N / 8))


def second_half(positions: np.ndarray) -> np.ndarray:
    """Mean of L − L_min over the second half of each run: one number per seed."""
    return excess_losses(positions[len(positions) // 2:], X, Y, L_MIN).mean(axis=0)


# --- minibatch gradients: unbiased, noisy, and the noise law ---------------------------------------


def test_some_minibatch_gradients_point_uphill_and_their_error_is_nearly_the_gradients_size():
    # "the typical error of one estimate is nearly as large as the gradient itself, and some estimates even
    #  point uphill" (1000 draws, B = 10, θ = 0)
    full = per_example_gradients(np.zeros(D), X, Y).mean(axis=0)
    for seed in SEEDS:
        draws = sample_minibatch_gradients(np.zeros(D), X, Y, 10, 4000, np.random.default_rng(seed))
        error = np.sqrt(np.mean(np.sum((draws - full) ** 2, axis=1)))
        assert 0.7 < error / np.linalg.norm(full) < 1.0
        assert 0.002 < np.mean(draws @ full < 0) < 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_with_replacement_follows_the_plain_law_and_without_follows_the_corrected_one(seed):
    # "Batches drawn with replacement follow it at every B ... the corrected formula follows them all the way";
    # "the law overstates the noise, and by a lot near B = N"
    single = per_example_gradients(np.zeros(D), X, Y)
    full = single.mean(axis=0)
    sigma = np.sqrt(np.mean(np.sum((single - full) ** 2, axis=1)))
    rng = np.random.default_rng(seed)
    for batch in (1, 8, 64, 256, 350):
        law = sigma / np.sqrt(batch)
        corrected = law * np.sqrt((N - batch) / (N - 1))
        measured = {}
        for replace in (True, False):
            draws = sample_minibatch_gradients(np.zeros(D), X, Y, batch, 2000, rng, replace=replace)
            measured[replace] = np.sqrt(np.mean(np.sum((draws - full) ** 2, axis=1)))
        assert measured[True] / law == pytest.approx(1, abs=0.05)
        assert measured[False] / corrected == pytest.approx(1, abs=0.05)
    assert measured[False] / law < 0.2  # B = 350


# --- SGD per epoch and per step --------------------------------------------------------------------


@lru_cache(maxsize=None)
def batch_runs(batch: int, epochs: int, lr: float = 0.01) -> np.ndarray:
    """Excess losses of SGD from θ = 0 for the three seeds: shape (steps + 1, 3)."""
    return excess_losses(run_seeds(SGD(lr=lr), X, Y, batch, epochs, SEEDS), X, Y, L_MIN)


def last_epoch(batch: int, epochs: int) -> np.ndarray:
    per_epoch = int(np.ceil(N / batch))
    return batch_runs(batch, epochs)[-per_epoch:].mean(axis=0)


def test_per_epoch_small_batches_win_early():
    # "Small batches win by far early on" (after one epoch: B = 1 and 8 far below B = 64 and the full batch)
    after_one = {b: batch_runs(b, 20)[int(np.ceil(N / b))] for b in (1, 8, 64, N)}
    assert np.all(np.maximum(after_one[1], after_one[8]) < 0.5 * np.minimum(after_one[64], after_one[N]))


def test_within_20_epochs_b8_ends_lowest_and_b1_jitters_above_the_larger_batches():
    # "Here B = 8 ends lowest" (20 epochs: the lesson says the balance depends on the window);
    # "B = 1 drops fastest and then jitters at a level that the larger batches pass"
    ends = {b: last_epoch(b, 20) for b in (1, 8, 64, N)}
    assert np.all(ends[8] < np.minimum.reduce([ends[1], ends[64], ends[N]]))
    assert np.all(ends[1] > ends[8]) and np.all(ends[1] > ends[64])
    first_tenth = {b: batch_runs(b, 20)[int(np.ceil(N / b) * 0.1) or 1] for b in (1, 8)}
    assert np.all(first_tenth[1] < first_tenth[8])  # after a tenth of an epoch, B = 1 is ahead


def test_within_20_epochs_b8_ends_lowest_on_most_of_16_seeds():
    # "Here B = 8 ends lowest (as it does on most other seeds, not every one: the tests)": seeds 0-15, the
    # lesson's window; on one of them (seed 6) B = 64 ends a little lower.
    seeds = tuple(range(16))
    ends = {}
    for b in (1, 8, 64, N):
        losses = excess_losses(run_seeds(SGD(lr=0.01), X, Y, b, 20, seeds), X, Y, L_MIN)
        ends[b] = losses[-int(np.ceil(N / b)):].mean(axis=0)
    assert ends[8].mean() / ends[64].mean() < 0.9  # seen: 0.82
    lowest = ends[8] < np.minimum.reduce([ends[1], ends[64], ends[N]])
    assert lowest.sum() >= 14  # seen: 15 of 16


def test_per_step_the_larger_batch_reaches_a_lower_level():
    # "Larger batches reach a lower level, but 20 epochs are only 120 steps for B = 64 ... so they end before
    #  they get there"; summary: "per step, larger batches make as much at first and then go lower".
    # Per step: after B = 8's 900 steps, and five times that, B = 64 is lower.
    for steps in (900, 4500):
        ends = {b: batch_runs(b, int(np.ceil(steps / np.ceil(N / b))))[steps - 45:steps].mean(axis=0) for b in (8, 64)}
        assert np.all(ends[64] < ends[8])


def test_at_eta_0_1_single_examples_blow_up_and_the_full_batch_does_not():
    # "Raise η to 0.1: full-batch descent is faster, while B = 1 blows up"; "η = 0.1: SGD, B = 1 diverged"
    for seed in SEEDS:
        assert run_sgd(X, Y, 1, 0.1, 20, seed=seed).trajectory.diverged
    full_fast, full_slow = run_sgd(X, Y, N, 0.1, 200), run_sgd(X, Y, N, 0.01, 200)
    assert not full_fast.trajectory.diverged and full_fast.losses[-1] < full_slow.losses[-1]


# --- a constant learning rate: the noise band --------------------------------------------------------


def sgd_rows(batch: int, lrs: tuple[float, ...], epochs: int) -> np.ndarray:
    """Excess losses of SGD from θ* for every (η, seed), side by side: shape (steps + 1, len(lrs), len(SEEDS)).

    The batches of seed s are those of ``run_seeds`` (one shuffle per epoch from default_rng(s)); one numpy
    step moves every (η, seed) row at once.
    """
    rngs = [np.random.default_rng(seed) for seed in SEEDS]
    lr = np.repeat(np.array(lrs), len(SEEDS))[:, None]
    theta = np.tile(THETA_STAR, (len(lr), 1))
    path = [theta]
    for _ in range(epochs):
        orders = np.tile(np.stack([rng.permutation(N) for rng in rngs]), (len(lrs), 1))
        for k in range(0, N, batch):
            rows = orders[:, k:k + batch]
            Xb = X[rows]
            residuals = np.einsum("rbd,rd->rb", Xb, theta) - Y[rows]
            theta = theta - lr * 2 * np.einsum("rb,rbd->rd", residuals, Xb) / rows.shape[1]
            path.append(theta)
    return excess_losses(np.array(path), X, Y, L_MIN).reshape(len(path), len(lrs), len(SEEDS))


def test_sgd_rows_are_run_seeds():
    rows = sgd_rows(4, (0.01, 0.005), 2)
    for i, lr in enumerate((0.01, 0.005)):
        one = excess_losses(run_seeds(SGD(lr=lr), X, Y, 4, 2, SEEDS, start=THETA_STAR), X, Y, L_MIN)
        np.testing.assert_allclose(rows[:, i], one, rtol=1e-9, atol=1e-15)


def test_sgd_from_the_minimum_stays_in_a_band_set_by_eta_and_b():
    # "SGD leaves the minimum within the first epoch and then stays in a band above it ... it does not head back
    #  to the minimum"; "a smaller η lowers it, and so does a larger batch" (10 epochs → 50)
    levels = {}
    for batch in (1, 4):
        excess = sgd_rows(batch, (0.01, 0.005), 50)
        half = len(excess) // 2
        assert excess[half:].min() > 1e-6  # never back near the minimum in the second half
        levels[batch] = excess[half:].mean(axis=0)  # (η, seed)
    for batch in (1, 4):
        assert np.all(levels[batch][1] < levels[batch][0])  # η = 0.005 below η = 0.01
    assert np.all(levels[4] < levels[1])  # B = 4 below B = 1, at each η and seed


# --- averaging gradients over time, and what lowers the floor ---------------------------------------


def test_the_average_cuts_the_gradients_noise_by_the_formula():
    # "The measured reduction matches the formula" √((1−β)/(1+β)), on 5000 gradients at θ = 0
    single = per_example_gradients(np.zeros(D), X, Y)
    full = single.mean(axis=0)
    for seed in SEEDS:
        stream = sample_minibatch_gradients(np.zeros(D), X, Y, 8, 5000, np.random.default_rng(seed))
        raw = np.sqrt(np.mean(np.sum((stream - full) ** 2, axis=1)))
        for beta, tolerance in ((0.5, 0.03), (0.9, 0.05), (0.99, 0.15)):
            averaged = ewma(stream, beta)[1000:]
            ratio = np.sqrt(np.mean(np.sum((averaged - full) ** 2, axis=1))) / raw
            assert ratio == pytest.approx(np.sqrt((1 - beta) / (1 + beta)), rel=tolerance)


MATCHED_EPOCHS = 200  # the lesson's 40, five times


MATCHED_BETAS = (0.0, 0.9, 0.99)  # SGD, and EMA momentum with β = 0.9 and 0.99
DECAYING = 0.01 / (1 + np.arange(MATCHED_EPOCHS * PER_EPOCH_8) / (10 * PER_EPOCH_8))  # η_t, whatever the run's length


def matched(beta: float, independent: bool, epochs: int = MATCHED_EPOCHS) -> np.ndarray:
    """run_seeds(SGD(lr=0.01) if β = 0 else EMAMomentum(lr=0.01, beta=β), X, Y, 8, epochs, SEEDS, start=THETA_STAR,
    independent=independent): positions (steps + 1, seeds, d)."""
    return matched_rows(independent, epochs)[beta]


@lru_cache(maxsize=None)
def matched_rows(independent: bool, epochs: int) -> dict[float | str, np.ndarray]:
    """``matched`` for the three β of MATCHED_BETAS side by side, one numpy step for every (run, seed) row: the
    batches of ``run_seeds`` (seed s draws them from default_rng(s)) and EMA momentum's step, v ← β v + (1 − β) g,
    θ ← θ − η v; with β = 0 it is SGD's step (v = 0·v + 1·g is g). With shuffled epochs, also "decaying":
    run_seeds(SGD(lr=0.01), ..., lrs=DECAYING[:steps]), SGD with η_t = DECAYING[t]. {β or "decaying": positions}."""
    runs = MATCHED_BETAS + (() if independent else ("decaying",))
    rngs = [np.random.default_rng(seed) for seed in SEEDS]
    beta = np.repeat([0.0 if run == "decaying" else run for run in runs], len(SEEDS))[:, None]
    decaying = np.repeat([run == "decaying" for run in runs], len(SEEDS))
    lr = np.full_like(beta, 0.01)
    theta = np.tile(THETA_STAR, (len(beta), 1))
    v = np.zeros_like(theta)
    path = [theta]
    for _ in range(epochs):
        if independent:  # B = 8 examples drawn with replacement for each step
            draws = np.stack([rng.integers(0, N, size=(PER_EPOCH_8, 8)) for rng in rngs], axis=1)
            batches = list(np.tile(draws, (1, len(runs), 1)))
        else:  # one shuffle per epoch, cut into batches of 8
            orders = np.tile(np.stack([rng.permutation(N) for rng in rngs]), (len(runs), 1))
            batches = [orders[:, k:k + 8] for k in range(0, N, 8)]
        for rows in batches:
            lr[decaying] = DECAYING[len(path) - 1]
            Xb = X[rows]
            residuals = np.einsum("sbd,sd->sb", Xb, theta) - Y[rows]
            g = 2 * np.einsum("sb,sbd->sd", residuals, Xb) / rows.shape[1]
            v = beta * v + (1 - beta) * g
            theta = theta - lr * v
            path.append(theta)
    path = np.array(path)
    return {run: path[:, r * len(SEEDS):(r + 1) * len(SEEDS)] for r, run in enumerate(runs)}


def test_matched_rows_are_run_seeds():
    for independent in (False, True):
        for beta in MATCHED_BETAS:
            rule = SGD(lr=0.01) if beta == 0 else EMAMomentum(lr=0.01, beta=beta)
            one = run_seeds(rule, X, Y, 8, 3, SEEDS, start=THETA_STAR, independent=independent)
            np.testing.assert_allclose(matched_rows(independent, 3)[beta], one, rtol=1e-12, atol=0)
    one = run_seeds(SGD(lr=0.01), X, Y, 8, 3, SEEDS, start=THETA_STAR, lrs=DECAYING[:3 * PER_EPOCH_8])
    np.testing.assert_allclose(matched_rows(False, 3)["decaying"], one, rtol=1e-12, atol=0)


def test_with_independent_batches_stepping_along_the_average_ends_as_noisy_as_sgd():
    # "With independent batches, the three bands agree to within a few percent"
    sgd = second_half(matched(0.0, True))
    for beta in (0.9, 0.99):
        ratio = second_half(matched(beta, True)).mean() / sgd.mean()
        assert 0.9 < ratio < 1.05
        assert ratio > 10 * (1 - beta) / (1 + beta)  # nowhere near what the average's own noise would give


def test_with_shuffled_epochs_a_long_memory_lowers_the_band_but_far_less_than_the_formula():
    # "With shuffled epochs a long memory does lower the band (to 0.27 of SGD's at β = 0.99) ... smaller than
    #  that formula suggests"; β = 0.9 gave 0.78
    sgd = second_half(matched(0.0, False))
    ratios = {beta: second_half(matched(beta, False)) / sgd for beta in (0.9, 0.99)}
    assert np.all((0.6 < ratios[0.9]) & (ratios[0.9] < 0.95))
    assert np.all((0.15 < ratios[0.99]) & (ratios[0.99] < 0.4))
    for beta, ratio in ratios.items():
        assert np.all(ratio > 3 * (1 - beta) / (1 + beta))


def test_a_decaying_eta_and_averaged_positions_lower_the_floor_far_more_and_keep_lowering_it():
    # "the decaying η by a factor of 12.2 within these 40 epochs, and it keeps falling as η does; the averaged
    #  positions by 81.5" — both far more than the average of gradients (1.4)
    last = 5 * PER_EPOCH_8
    constant = matched(0.0, False)
    decaying_longest = matched_rows(False, MATCHED_EPOCHS)["decaying"]
    ends = {}
    for epochs in (40, MATCHED_EPOCHS):
        steps = epochs * PER_EPOCH_8
        # run_seeds(SGD(lr=0.01), ..., epochs, ..., lrs=DECAYING[:steps]): the start of the longest run (the same
        # batches, the same η's)
        decaying = decaying_longest[:steps + 1]
        sgd_end = excess_losses(constant[steps - last:steps + 1], X, Y, L_MIN).mean(axis=0)
        decay_end = excess_losses(decaying[-last:], X, Y, L_MIN).mean(axis=0)
        averaged_end = excess_losses(running_average(constant[:steps + 1], steps // 2)[-1], X, Y, L_MIN)
        momentum_end = excess_losses(matched(0.9, False)[steps - last:steps + 1], X, Y, L_MIN).mean(axis=0)
        assert np.all(decay_end < sgd_end / 5) and np.all(averaged_end < sgd_end / 20)
        assert decay_end.mean() < momentum_end.mean() / 3 and averaged_end.mean() < momentum_end.mean() / 10
        ends[epochs] = decay_end
    assert np.all(ends[MATCHED_EPOCHS] < ends[40] / 2)  # it keeps falling as η does
