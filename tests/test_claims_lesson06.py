"""The claims of lesson 06 (notebooks/06_bias_correction.ipynb), re-checked where they could flip.

Each test quotes the sentence it checks. The lesson's experiment (section 8) trains 48 settings with the
seeds 0, 1, 2 for 10 epochs; its comparisons are re-checked here paired, on twelve other seeds (20 to 31):
each uncorrected run against its corrected twin with the same start and minibatches, the mean difference
weighed against its standard error. Every learning-rate sweep here has its best η inside its grid (asserted).
The catch-up at η = 0.001 and the cost of the missing correction at a large η (β₁ = 0) meet runs ten and
five times longer (100 and 50 epochs) on four of those seeds. The early spikes meet three other seeds
(3, 4, 5). The averages of sections 1 and 2 meet more seeds and longer signals.

The grids are trained side by side (``train_grid`` below: ``lesson06.train_grid`` with the runs batched by
``tests/claims_batched.py``); ``test_the_batched_grid_is_the_lessons_train_grid`` holds it to the lesson's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from lessons_lib.data import load_digits_classification
from lessons_lib.figures import lesson06_bias_correction as lesson06
from lessons_lib.mlp import MLP
from lessons_lib.optim import Adam
from lessons_lib.runner import ewma
from lessons_lib.sweeps import best_on_grid
from lessons_lib.training import train

import claims_batched
from claims_batched import Run, assert_same_as_train, train_batched

pytestmark = pytest.mark.slow  # a few seconds of training

MODEL = MLP(sizes=(64, 32, 10))
SPIKE_SEEDS = (3, 4, 5)  # the lesson uses 0, 1, 2
PAIRED_SEEDS = tuple(range(20, 32))  # twelve seeds for the paired comparisons
LONG_SEEDS = PAIRED_SEEDS[:4]  # four of them for the runs of 50 and 100 epochs
BETA2S = (0.99, 0.999, 0.9999)
WITH_LRS = (0.001, 0.003, 0.01, 0.03)  # the lesson's grid
# without the correction: the lesson's grid around each sweep's best η (it falls with β₂), 0.0003 added below
# it at β₂ = 0.9999, and 0.03 there for the large fixed η
WITHOUT_LRS = {0.99: (0.001, 0.003, 0.01, 0.03), 0.999: (0.001, 0.003, 0.01),
               0.9999: (0.0003, 0.001, 0.003, 0.03)}


@lru_cache(maxsize=1)
def digits():
    return load_digits_classification(seed=0)


def train_grid(rules, model, data, *, epochs, batch_size=32, seeds=(0,)) -> lesson06.GridRecord:
    """``lesson06.train_grid``, every run of the grid trained at once (``train_batched``)."""
    rules, seeds = tuple(rules), tuple(seeds)
    records = train_batched([Run(rule, seed) for rule in rules for seed in seeds], model, data, epochs=epochs,
                            batch_size=batch_size, evaluate_train=False)
    runs = [records[r * len(seeds):(r + 1) * len(seeds)] for r in range(len(rules))]
    return lesson06.grid_record(rules, seeds, runs, model, data, epochs)


def test_the_short_sums_are_numpys():
    """The batched loss's sum and maximum over the classes are numpy's ``sum`` and ``max`` to the last bit."""
    rng = np.random.default_rng(0)
    for classes in range(8, 16):
        values = np.exp(5 * rng.standard_normal((200, 7, classes)))
        assert np.array_equal(claims_batched._last_axis_sum(values), values.sum(axis=-1)), classes
        assert np.array_equal(claims_batched._last_axis_max(values), values.max(axis=-1)), classes


def test_the_batched_grid_is_the_lessons_train_grid():
    rules = [Adam(lr=0.03, beta2=0.9999, bias_correction=False), Adam(lr=0.001, beta1=0.0), Adam(lr=5.0, eps=1e-300)]
    mine = train_grid(rules, MODEL, digits(), epochs=2, seeds=(3, 5))
    lessons = lesson06.train_grid(rules, MODEL, digits(), epochs=2, seeds=(3, 5))
    for name in ("batch_losses", "start_loss", "val_error", "test_error", "diverged_at"):
        np.testing.assert_allclose(getattr(mine, name), getattr(lessons, name), rtol=1e-10, atol=0, err_msg=name)
    assert mine.rules == lessons.rules and mine.steps_per_epoch == lessons.steps_per_epoch


def test_the_batched_adam_is_trains_when_the_runs_share_a_setting():
    """A setting that all the runs of a batch share is one number in ``train_batched``'s Adam, and a bias
    correction that none of them makes is left out: the same runs as ``train``'s (the grid above mixes them)."""
    for rules in ([Adam(lr=0.01, beta2=0.99)] * 2, [Adam(lr=lr, bias_correction=False) for lr in (0.03, 0.003)]):
        runs = [Run(rule, seed) for rule, seed in zip(rules, (3, 4))]
        for run, batched in zip(runs, train_batched(runs, MODEL, digits(), epochs=2)):
            assert_same_as_train(batched, train(run.rule, MODEL, digits(), epochs=2, seed=run.seed))


@pytest.fixture(scope="module")
def paired():
    """Ten epochs on the twelve paired seeds: for both β₁ and every β₂, the lesson's η grid with the
    correction, and without it the η around each sweep's best (``WITHOUT_LRS``)."""
    rules = [Adam(lr=lr, beta1=beta1, beta2=beta2, bias_correction=correct)
             for beta1 in (0.9, 0.0) for beta2 in BETA2S
             for correct, lrs in ((True, WITH_LRS), (False, WITHOUT_LRS[beta2])) for lr in lrs]
    return train_grid(rules, MODEL, digits(), epochs=10, batch_size=32, seeds=PAIRED_SEEDS)


@pytest.fixture(scope="module")
def first_epochs():
    """One epoch of every setting of the lesson's grid, on three other seeds: the early spikes."""
    rules = [Adam(lr=lr, beta1=beta1, beta2=beta2, bias_correction=correct)
             for beta1 in (0.9, 0.0) for beta2 in BETA2S for lr in (0.001, 0.003, 0.01, 0.03)
             for correct in (True, False)]
    return train_grid(rules, MODEL, digits(), epochs=1, batch_size=32, seeds=SPIKE_SEEDS)


def long_runs(cells, epochs):
    """{(β₁, β₂, η, correction): the test errors (%) after each epoch, one row per seed of ``LONG_SEEDS``}."""
    keys = [(beta1, beta2, lr, correct) for beta1, beta2, lr in cells for correct in (True, False)]
    records = train_batched([Run(Adam(lr=lr, beta1=beta1, beta2=beta2, bias_correction=correct), seed)
                             for beta1, beta2, lr, correct in keys for seed in LONG_SEEDS],
                            MODEL, digits(), epochs=epochs, evaluate_train=False, keep_thetas=True)
    n = len(LONG_SEEDS)
    return {key: 100 * np.array([[np.mean(MODEL.predict(theta, digits().X_test) != digits().y_test)
                                   for theta in record.epoch_thetas] for record in records[k * n:(k + 1) * n]])
            for k, key in enumerate(keys)}


@pytest.fixture(scope="module")
def catch_up():
    """η = 0.001 for 100 epochs (ten times the lesson's), β₂ = 0.999 with β₁ = 0.9 and β₂ = 0.9999 with
    β₁ = 0, with and without the correction."""
    return long_runs([(0.9, 0.999, 0.001), (0.0, 0.9999, 0.001)], epochs=100)


@pytest.fixture(scope="module")
def fifty_epochs():
    """η = 0.03, β₁ = 0, β₂ = 0.9999 for 50 epochs (five times the lesson's), with and without the correction."""
    return long_runs([(0.0, 0.9999, 0.03)], epochs=50)


def tuned(record: lesson06.GridRecord, **hyper) -> tuple[float, np.ndarray]:
    """The η picked by the lowest mean validation error (an interior one: asserted) and the test errors there."""
    rows = record.rows(**hyper)
    lrs = [record.rules[r].lr for r in rows]
    scores = [record.val_error[r, :, -1].mean() for r in rows]
    (best,) = best_on_grid(scores, η=lrs)
    assert 0 < best < len(lrs) - 1, f"best η {lrs[best]} on the edge of {lrs} for {hyper}"
    return lrs[best], 100 * record.test_error[rows[best]]


def difference(record: lesson06.GridRecord, first: dict, second: dict) -> tuple[float, float]:
    """The mean over the seeds of (test error of ``first`` − that of ``second``), in points of %, paired seed
    by seed, and its standard error."""
    d = 100 * (record.test_error[record.index(**first)] - record.test_error[record.index(**second)])
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def without_minus_with(record: lesson06.GridRecord, **hyper) -> tuple[float, float]:
    """``difference`` of the uncorrected run and its corrected twin: > 0 when the correction is ahead."""
    return difference(record, dict(hyper, bias_correction=False), dict(hyper, bias_correction=True))


# --- sections 1 and 2: the average from zero ----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_with_beta_099_the_plain_average_is_still_well_short_after_100_values(seed):
    """'With β = 0.99 it is still well short of 1 after 100 values', and the corrected one is not."""
    x = 1.0 + 0.5 * np.random.default_rng(seed).standard_normal(200)
    plain, corrected = ewma(x, 0.99), ewma(x, 0.99, bias_correction=True)
    assert plain[99] < 0.75 and abs(corrected[99] - 1) < 0.2


def test_the_mean_of_the_average_from_zero_is_one_minus_beta_to_the_t():
    """'Measured and predicted agree to the third digit' (20 000 signals, 100 steps): here on three other
    seeds and five times the steps, E[m_t] = (1 − βᵗ)·E[x] to within 0.003 at every step."""
    beta = 0.9
    for seed in (7, 8, 9):
        signals = np.random.default_rng(seed).standard_normal((500, 20_000))
        signals *= 0.5  # 1 + 0.5 · noise, in place: the same numbers without two more arrays of 80 MB
        signals += 1.0
        means = ewma(signals, beta).mean(axis=1)
        assert np.abs(means - (1 - beta ** np.arange(1, 501))).max() < 0.003


# --- section 7: the popular rule ------------------------------------------------------------------------


def test_without_the_correction_the_first_epoch_jumps_and_with_it_the_loss_falls():
    """'The popular rule makes the loss jump to several times its starting value in the first epoch and
    blows the weights up to three or four times the size Adam gives them, while Adam's loss goes down from
    the first step. Adam with only the correction switched off … jumps as well.' Five seeds (the lesson:
    three), η = 0.03."""
    def popular_step(theta, g, state, lr=0.03, beta1=0.9, beta2=0.999, eps=1e-8):
        m, v = state
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        return theta - lr * m / np.sqrt(v + eps), (m, v)

    class Popular:
        lr = 0.03

        def init(self, theta):
            return (np.zeros_like(theta), np.zeros_like(theta))

        def step(self, theta, g, state):
            return popular_step(theta, g, state)

    for seed in (0, 1, 2, 3, 4):
        runs = {label: train(rule, MODEL, digits(), epochs=1, seed=seed)
                for label, rule in (("popular", Popular()), ("uncorrected", Adam(lr=0.03, bias_correction=False)),
                                    ("adam", Adam(lr=0.03)))}
        jump = {label: r.batch_losses.max() / r.train_loss[0] for label, r in runs.items()}
        norm = {label: np.linalg.norm(r.theta) for label, r in runs.items()}
        assert jump["popular"] > 2.5 and jump["uncorrected"] > 2.5 and jump["adam"] < 1.1  # seed 3: 2.8, 5.3
        assert 2.5 < norm["popular"] / norm["adam"] < 4.5
        assert runs["adam"].batch_losses[1] < runs["adam"].batch_losses[0] * 1.2


def test_without_the_correction_the_weights_and_outputs_blow_up_but_most_answers_stay_right():
    """'Without the correction the weights end the epoch about ten times larger, and the network's outputs
    about sixty times larger … Yet most answers are right (on this seed 87.5 % …, against 95.6 % with the
    correction).' One epoch, η = 0.03, β₂ = 0.9999, on five seeds (the lesson: seed 0): more than 70 % of the
    training images right without the correction, fewer than with it."""
    for seed in range(5):
        runs = {correct: train(Adam(lr=0.03, beta2=0.9999, bias_correction=correct), MODEL, digits(), epochs=1,
                               seed=seed) for correct in (True, False)}
        norm = {c: np.linalg.norm(r.theta) for c, r in runs.items()}
        logit = {c: np.median(np.abs(MODEL.logits(r.theta, digits().X_train)).max(axis=1)) for c, r in runs.items()}
        assert 8 < norm[False] / norm[True] < 13
        assert 40 < logit[False] / logit[True] < 80
        assert 0.7 < runs[False].train_accuracy[-1] < runs[True].train_accuracy[-1]


# --- section 8: the experiment --------------------------------------------------------------------------


def test_only_uncorrected_runs_spike_on_other_seeds(first_epochs):
    """'Every spike belongs to a run without the correction' (η ≤ 0.03), 'the spikes grow with β₂ and
    with η, and are worse with β₁ = 0'. On seeds 3–5: no corrected run's first-epoch loss passes 1.5 × the
    start; the uncorrected ones at β₂ = 0.9999, η = 0.03 pass 10 × on every seed, and more with β₁ = 0."""
    spikes = first_epochs.early_spike()
    corrected = np.array([rule.bias_correction for rule in first_epochs.rules])
    assert spikes[corrected].max() < 1.5
    worst = {beta1: spikes[first_epochs.index(beta1=beta1, beta2=0.9999, lr=0.03, bias_correction=False)]
             for beta1 in (0.9, 0.0)}
    assert worst[0.9].min() > 10 and worst[0.0].min() > worst[0.9].max()
    for beta1 in (0.9, 0.0):  # at η = 0.03, the worst seed's spike grows with β₂
        by_beta2 = [spikes[first_epochs.index(beta1=beta1, beta2=b2, lr=0.03, bias_correction=False)].max()
                    for b2 in BETA2S]
        assert by_beta2 == sorted(by_beta2)
    assert (first_epochs.diverged_at == 0).all()


def test_at_eta_01_the_corrected_runs_spike_too():
    """'At η = 0.1, in the extended sweeps, the corrected runs spike too (on these three seeds to 2.1 times
    the start), as any rule does at too large a learning rate.' The extended sweeps' two settings (β₁ = 0.9,
    β₂ = 0.999 and 0.9999, with the correction), one epoch on the twelve paired seeds: for each, the median
    seed's early spike above 1.5 (no corrected run at η ≤ 0.03 reaches it, above) and the worst above 2."""
    rules = [Adam(lr=0.1, beta1=0.9, beta2=beta2) for beta2 in (0.999, 0.9999)]
    spikes = train_grid(rules, MODEL, digits(), epochs=1, seeds=PAIRED_SEEDS).early_spike()
    assert (np.median(spikes, axis=1) > 1.5).all() and (spikes.max(axis=1) > 2).all(), spikes  # 1.9, 4.4


def test_at_a_large_fixed_eta_and_beta2_near_1_the_missing_correction_costs_accuracy(paired, fifty_epochs):
    """'At a large fixed η and β₂ close to 1, the missing correction costs accuracy. With β₂ = 0.9999 and
    η = 0.03 the uncorrected runs end at 4.5 % test error against 3.1 % (β₁ = 0.9), and 6.3 % against 3.2 %
    (β₁ = 0), on these three seeds. (The course's tests pair a dozen other seeds: it holds for both β₁, and
    with β₁ = 0 after five times as many epochs too.)' Paired on twelve other seeds, for both β₁: the
    uncorrected runs end worse on average by more than half a point and by more than two standard errors.
    β₁ = 0 after 50 epochs (four of those seeds): the same. (With β₁ = 0.9 the 50-epoch gap is about a point
    on average but goes either way on single seeds: not claimed.)"""
    for beta1 in (0.9, 0.0):
        mean, se = without_minus_with(paired, beta1=beta1, beta2=0.9999, lr=0.03)
        assert mean > 0.5 and mean > 2 * se, (beta1, mean, se)  # β₁ = 0.9: +1.28 ± 0.40, β₁ = 0: +1.60 ± 0.53
    late = fifty_epochs[(0.0, 0.9999, 0.03, False)][:, -1] - fifty_epochs[(0.0, 0.9999, 0.03, True)][:, -1]
    se = late.std(ddof=1) / np.sqrt(late.size)
    assert late.mean() > 0.5 and late.mean() > 2 * se, late  # +1.73 ± 0.59


def test_with_beta2_099_the_uncorrected_runs_do_as_well_or_better_at_that_eta(paired):
    """'With β₂ = 0.99 the uncorrected runs do as well at that η, or better.' Paired on twelve seeds, η = 0.03,
    both β₁: the uncorrected runs' test error is on average at most a quarter of a point above the corrected
    ones' (the old claim, that a large η alone makes the missing correction cost accuracy, fails here)."""
    for beta1 in (0.9, 0.0):
        mean, se = without_minus_with(paired, beta1=beta1, beta2=0.99, lr=0.03)
        assert mean < 0.25, (beta1, mean, se)  # β₁ = 0.9: −1.69 ± 0.37, β₁ = 0: −0.28 ± 0.56


def test_a_larger_learning_rate_in_disguise_helps_at_eta_0001_after_10_epochs(paired):
    """'At η = 0.001 every uncorrected setting ends with a lower test error than its corrected twin after
    these 10 epochs.' Paired on twelve seeds, all six (β₁, β₂): lower on average, by more than three standard
    errors."""
    for beta1 in (0.9, 0.0):
        for beta2 in BETA2S:
            mean, se = without_minus_with(paired, beta1=beta1, beta2=beta2, lr=0.001)
            assert mean < -3 * se, (beta1, beta2, mean, se)  # from −0.88 ± 0.16 to −3.57 ± 0.40


def test_given_many_more_epochs_the_corrected_runs_catch_up(catch_up):
    """'Given more epochs the corrected runs catch up. The gap, 3 to 4 points after these 10 epochs with
    β₂ = 0.999 or 0.9999, is down to a few tenths of a point after five times as many epochs and is gone
    after ten times as many.' η = 0.001, four seeds paired, β₂ = 0.999 (β₁ = 0.9) and 0.9999 (β₁ = 0):
    after 10 epochs the uncorrected runs lead by more than 2 points in each; over both, after 50 epochs the
    mean gap is under 0.6 points and a fifth of the 10-epoch one, after 100 under 0.5 and a tenth of it
    (+2.4 and +3.1; −0.35; −0.18)."""
    gaps = np.concatenate([runs[True] - runs[False] for runs in
                           ({c: catch_up[(b1, b2, 0.001, c)] for c in (True, False)}
                            for b1, b2 in ((0.9, 0.999), (0.0, 0.9999)))])  # with − without, per seed
    n = len(LONG_SEEDS)
    early = gaps[:, 9]
    assert early[:n].mean() > 2 and early[n:].mean() > 2, early  # +2.4 and +3.1
    for epochs, points, share in ((50, 0.6, 5), (100, 0.5, 10)):
        late = gaps[:, epochs - 1].mean()
        assert abs(late) < points and abs(late) < early.mean() / share, (epochs, late, early.mean())


def test_the_best_eta_moves_with_beta2_only_without_the_correction(paired):
    """'With the correction … the validation choice is 0.01 or 0.03 in all six. Without it, the best η
    falls as β₂ grows, down to 0.003 or 0.001 at β₂ = 0.9999.' Chosen by the mean validation error of twelve
    seeds, both β₁, each sweep with its best η inside its grid."""
    for beta1 in (0.9, 0.0):
        with_ = [tuned(paired, beta1=beta1, beta2=b2, bias_correction=True)[0] for b2 in BETA2S]
        without = [tuned(paired, beta1=beta1, beta2=b2, bias_correction=False)[0] for b2 in BETA2S]
        assert set(with_) <= {0.01, 0.03}, with_
        assert without == sorted(without, reverse=True) and without[-1] in (0.001, 0.003), without
        assert without[0] > without[-1], without


def test_near_the_best_eta_the_three_beta2_give_the_same_test_error(paired):
    """'With the correction, the three β₂ give nearly the same test error near the best η (0.01; further
    from it they part)' and, of the tuned runs, 'the corrected runs do about equally well for all three β₂'.
    Paired on twelve seeds, η = 0.01, both β₁: every two β₂ within 0.3 points of each other on average. At
    η = 0.03 they part: β₂ = 0.99 ends behind 0.9999 by more than half a point (β₁ = 0.9)."""
    for beta1 in (0.9, 0.0):
        for k, first in enumerate(BETA2S):
            for second in BETA2S[k + 1:]:
                mean, se = difference(paired, dict(beta1=beta1, beta2=first, lr=0.01, bias_correction=True),
                                      dict(beta1=beta1, beta2=second, lr=0.01, bias_correction=True))
                assert abs(mean) < 0.3, (beta1, first, second, mean, se)
    mean, se = difference(paired, dict(beta1=0.9, beta2=0.99, lr=0.03, bias_correction=True),
                          dict(beta1=0.9, beta2=0.9999, lr=0.03, bias_correction=True))
    assert mean > 0.5 and mean > 2 * se, (mean, se)  # +1.69 ± 0.48


def test_with_eta_retuned_the_two_versions_tie(paired):
    """'With η re-tuned on the validation part, the uncorrected versions reach test errors within about half
    a point of the corrected ones on these three seeds … paired over many more seeds (the tests: a dozen,
    each η chosen by their mean validation error), the two tie to within half a point for all six (β₁, β₂).'
    Each η chosen by the mean validation error of twelve seeds (20–31), inside its sweep: for all six, the
    mean paired difference is under 0.5 points and under 2.5 standard errors (the largest: +0.21 ± 0.24)."""
    for beta1 in (0.9, 0.0):
        for beta2 in BETA2S:
            _, with_ = tuned(paired, beta1=beta1, beta2=beta2, bias_correction=True)
            _, without = tuned(paired, beta1=beta1, beta2=beta2, bias_correction=False)
            d = without - with_
            mean, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
            assert abs(mean) < 0.5 and abs(mean) < 2.5 * se, (beta1, beta2, mean, se)


def test_no_run_diverges_or_gets_stuck(paired, first_epochs):
    """'No run diverged or got stuck: on these three seeds, after the first epoch even the worst spiking run
    misclassifies only 17.2 % of the validation images (guessing misses 90 %), and after ten epochs no
    uncorrected run has a test error above 6.7 % …; on other seeds the worst runs differ, still far from
    chance (the tests).' On the twelve paired seeds and on seeds 3–5 (first epoch): no divergence, every
    spiking run (early spike above 2) below 35 % validation error after its first epoch (27.2 % at worst;
    the old bound, 25 %, fails on them), and after ten epochs every uncorrected run below 12 % test error."""
    assert (paired.diverged_at == 0).all() and (first_epochs.diverged_at == 0).all()
    for record in (paired, first_epochs):
        spiky = record.early_spike() > 2
        assert spiky.any() and (record.val_error[..., 1][spiky] < 0.35).all()
    corrected = np.array([rule.bias_correction for rule in paired.rules])
    assert paired.test_error[~corrected].max() < 0.12  # 7.5 %
