"""The claims of lesson 08 (Training a real network), re-checked where they could flip: on other seeds (the
notebook chose and reported with 0, 1 and 2), paired over twelve seeds, over a run four times longer, with the
stricter metric. Each test quotes the sentence of the notebook it checks. The learning rates are the notebook's
choices: the first test checks that its stored outputs still print them, and the next ones that the same search
on other seeds chooses them again. The runs are trained side by side (``train_batched`` of
``tests/claims_batched.py``: ``train`` for many runs at once, held to ``train`` by the second test)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from claims_batched import Run, assert_same_as_train, one_blas_thread, train_batched
from scipy import stats

from lessons_lib.data import load_digits_classification
from lessons_lib.mlp import MLP
from lessons_lib.optim import SGD, AdaGrad, Adam, AdamW, RMSprop
from lessons_lib.schedules import Cosine, Exponential, StepDecay, WarmupCosine
from lessons_lib.training import train

pytestmark = pytest.mark.slow  # about 1500 short training runs, side by side: some 20 seconds in all

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "08_training.ipynb"
DATA = load_digits_classification(seed=0)
MODEL, LINEAR = MLP((64, 32, 10)), MLP((64, 10))
SEEDS, MORE = (3, 4, 5), (6, 7, 8)  # two new triples of seeds: the notebook chose and reported with 0, 1, 2
HELD_OUT = tuple(range(3, 15))  # twelve new seeds, for paired comparisons
EPOCHS, STEPS = 5, 34  # 5 epochs of 34 minibatches of 32: 170 updates

RULES = {
    "SGD": lambda lr: SGD(lr=lr),
    "Momentum": lambda lr: SGD(lr=lr, momentum=0.9, name="Momentum"),
    "Nesterov": lambda lr: SGD(lr=lr, momentum=0.9, nesterov=True, name="Nesterov"),
    "AdaGrad": lambda lr: AdaGrad(lr=lr),
    "RMSprop": lambda lr: RMSprop(lr=lr),
    "Adam": lambda lr: Adam(lr=lr),
    "AdamW": lambda lr: AdamW(lr=lr, weight_decay=0.01),
}
GRID = 10.0 ** np.arange(-3, 0.1, 0.5)  # section 5's grid, half a decade apart
#: Section 5's choices: the lowest mean validation loss of seeds 0, 1 and 2 on GRID.
TUNED = {"SGD": 10**-0.5, "Momentum": 10**-1.5, "Nesterov": 10**-1.5, "AdaGrad": 0.1, "RMSprop": 0.01,
         "Adam": 0.01, "AdamW": 0.01}
ADAPTIVE, PLAIN = ("AdaGrad", "RMSprop", "Adam", "AdamW"), ("SGD", "Momentum", "Nesterov")

SCHEDULES = {  # a schedule for a run of T updates, from its peak η
    "constant": None,  # Adam without a schedule: the same numbers as Constant(lr)
    "step decay": lambda lr, T: StepDecay(lr, step_size=T // 2, gamma=0.1),
    "exponential": lambda lr, T: Exponential(lr, gamma=0.01 ** (1 / T)),
    "cosine": lambda lr, T: Cosine(lr, total_steps=T),
    "warm-up + cosine": lambda lr, T: WarmupCosine(lr, warmup_steps=T // 10, total_steps=T),
}
DECAYING = ("step decay", "exponential", "cosine", "warm-up + cosine")
PEAKS = 10.0 ** np.arange(-2.5, -0.99, 0.25)  # section 6's grid of peaks, a quarter of a decade apart
#: Section 6's choices of peak η: the lowest mean validation loss of seeds 0, 1 and 2 on PEAKS.
PEAK = {"constant": 0.01, "step decay": 10**-1.75, "exponential": 10**-1.5, "cosine": 10**-1.5,
        "warm-up + cosine": 10**-1.75}
SAME = 10**-1.5  # the one peak at which section 6 compares the schedules' last epochs
TOO_LARGE = 0.1  # the largest peak of the search, 10 times the constant's best


# --- the runs -----------------------------------------------------------------------------------

_RECORDS: dict[tuple, object] = {}  # key → record; with its training loss per epoch if the key is in _TRAIN
_TRAIN: set[tuple] = set()


def key(rule: str, lr: float, seed: int, schedule: str | None = None, epochs: int = EPOCHS,
        clip_norm: float | None = None) -> tuple:
    """One run of the notebook's setup: Adam with a schedule is rule "Adam" with schedule set."""
    return rule, float(lr), seed, None if schedule == "constant" else schedule, epochs, clip_norm


def _run(k: tuple) -> Run:
    rule, lr, seed, schedule, epochs, clip_norm = k
    return Run(RULES[rule](lr), seed=seed, clip_norm=clip_norm,
               schedule=None if schedule is None else SCHEDULES[schedule](lr, STEPS * epochs))


def records(keys: list[tuple], train_loss: bool = False) -> list:
    """The runs of ``keys``, trained side by side (those not trained yet) and kept: the tests share them. The
    training loss after each epoch is measured only if ``train_loss`` (it costs a quarter of the time)."""
    todo = [k for k in dict.fromkeys(keys) if k not in _RECORDS or (train_loss and k not in _TRAIN)]
    for epochs in sorted({k[4] for k in todo}):
        group = [k for k in todo if k[4] == epochs]
        with np.errstate(over="ignore", invalid="ignore"), one_blas_thread():
            _RECORDS.update(zip(group, train_batched([_run(k) for k in group], MODEL, DATA, epochs=epochs,
                                                     evaluate_train=train_loss)))
        if train_loss:
            _TRAIN.update(group)
    return [_RECORDS[k] for k in keys]


def final_val(record) -> float:
    return np.inf if record.diverged_at is not None else float(record.val_loss[-1])


def accuracy_on_test(record, model=MODEL) -> float:
    return 100 * model.accuracy(record.theta, DATA.X_test, DATA.y_test)


def mean_val(rule: str, lr: float, seeds, schedule: str | None = None, epochs: int = EPOCHS) -> float:
    """The mean over ``seeds`` of the final validation loss (infinite if a run diverged): what the notebook's
    searches minimise."""
    return float(np.mean([final_val(r) for r in records([key(rule, lr, s, schedule, epochs) for s in seeds])]))


def best(rule: str, grid, seeds, schedule: str | None = None, epochs: int = EPOCHS) -> float:
    records([key(rule, lr, s, schedule, epochs) for lr in grid for s in seeds])  # in one batch
    return float(grid[int(np.argmin([mean_val(rule, lr, seeds, schedule, epochs) for lr in grid]))])


def column(rule: str, lr: float, seeds, measure, schedule: str | None = None, epochs: int = EPOCHS,
           train_loss: bool = False) -> np.ndarray:
    keys = [key(rule, lr, s, schedule, epochs) for s in seeds]
    return np.array([measure(r) for r in records(keys, train_loss)])


def paired_t(differences) -> float:
    d = np.asarray(differences, dtype=float)
    return float(d.mean() / (d.std(ddof=1) / np.sqrt(len(d))))


def outputs(path: Path = NOTEBOOK) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))


def test_the_batched_runs_are_trains():
    keys = [key("AdaGrad", 0.1, 3, epochs=2), key("Nesterov", 10**-1.5, 4, epochs=2),
            key("Adam", 10**-1.5, 5, "warm-up + cosine", epochs=2), key("SGD", 20.0, 3, epochs=2, clip_norm=0.05)]
    for k, batched in zip(keys, records(keys, train_loss=True)):
        rule, lr, seed, schedule, epochs, clip_norm = k
        run = _run(k)
        assert_same_as_train(batched, train(run.rule, MODEL, DATA, epochs=epochs, seed=seed,
                                            schedule=run.schedule, clip_norm=clip_norm))


# --- the values this file uses are the notebook's ----------------------------------------------


def test_the_notebook_still_chooses_the_learning_rates_checked_here():
    printed = outputs()
    for name, lr in TUNED.items():
        assert re.search(rf"^{name}\s+η = {lr:.3g}\s+validation loss", printed, re.MULTILINE), name
    for label, lr in PEAK.items():
        assert re.search(rf"^{re.escape(label)}\s+{lr:.3g}\s+\d", printed, re.MULTILINE), label
    assert "on the edge of the grid" not in printed


# --- section 5: every optimizer, tuned the same way ---------------------------------------------


def test_each_rules_choice_holds_on_other_seeds():
    # "each rule ... gets the η whose three runs end with the lowest mean validation loss": the same search on
    # seeds 3, 4, 5 and on seeds 6, 7, 8 chooses the same η for every rule. (On seed 0 alone, Adam and AdamW
    # would take 0.0316, a neighbour: their choice is the mean's.)
    for seeds in (SEEDS, MORE):
        for name in RULES:
            assert best(name, GRID, seeds) == pytest.approx(TUNED[name]), (name, seeds)


@pytest.fixture(scope="module")
def held_out():
    """Each rule at its chosen η on the twelve held-out seeds: test accuracies, validation and training losses
    (one row per rule, one column per seed)."""
    records([key(name, TUNED[name], s) for name in RULES for s in HELD_OUT], train_loss=True)
    return {name: (column(name, TUNED[name], HELD_OUT, accuracy_on_test),
                   column(name, TUNED[name], HELD_OUT, final_val),
                   column(name, TUNED[name], HELD_OUT, lambda r: r.train_loss[-1], train_loss=True))
            for name in RULES}


def test_tuned_the_seven_rules_tie_within_seed_noise(held_out):
    # "Tuned, every rule of the course trains this network to about the same test accuracy. The gap between the
    # best and the worst mean is a few test images, of the same size as the spread between seeds of a single
    # rule." Paired over twelve seeds (the same starting weights and batches for every rule), no rule's test
    # accuracy is told apart from another's, and the gap between the means is at most four test images.
    accuracy = {name: acc for name, (acc, _, _) in held_out.items()}
    means = [acc.mean() for acc in accuracy.values()]
    assert max(means) - min(means) <= 4 * 100 / len(DATA.y_test)
    assert max(means) - min(means) <= np.median([acc.std(ddof=1) for acc in accuracy.values()])
    names = list(accuracy)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert abs(paired_t(accuracy[a] - accuracy[b])) < 3, (a, b)


def test_three_seeds_cannot_rank_the_seven():
    # "Three seeds cannot rank the seven; this table shows a tie, not a winner." On three other seeds, the
    # 95 % intervals of the best and the worst mean test accuracy overlap.
    accuracy = {name: column(name, TUNED[name], SEEDS, accuracy_on_test) for name in RULES}
    means = {name: acc.mean() for name, acc in accuracy.items()}
    top, bottom = max(means, key=means.get), min(means, key=means.get)
    half_width = {name: stats.t.ppf(0.975, len(SEEDS) - 1) * acc.std(ddof=1) / np.sqrt(len(SEEDS))
                  for name, acc in accuracy.items()}
    assert means[top] - half_width[top] < means[bottom] + half_width[bottom]


def test_adaptive_rules_fit_the_training_images_faster_and_only_a_little_carries_over(held_out):
    # "After 5 epochs AdaGrad, RMSprop, Adam and AdamW each have a lower training loss than SGD, Momentum and
    # Nesterov ... On average their validation loss is lower, by 0.022 here and by about half as much on other
    # seeds (the tests), and their test accuracy higher by at most a few tenths of a point: less than the
    # seed-to-seed spread of a typical rule." On the twelve held-out seeds (0.011 and 0.17 points; median
    # spread 0.75 points):
    train_loss = {name: losses.mean() for name, (_, _, losses) in held_out.items()}
    assert max(train_loss[n] for n in ADAPTIVE) < min(train_loss[n] for n in PLAIN)

    def group(names, i):
        return np.mean([held_out[n][i].mean() for n in names])

    assert 0.25 * 0.022 <= group(PLAIN, 1) - group(ADAPTIVE, 1) <= 0.75 * 0.022  # about half the notebook's
    gap = group(ADAPTIVE, 0) - group(PLAIN, 0)  # test accuracy, points
    assert 0 < gap <= 0.5
    assert gap < np.median([held_out[n][0].std(ddof=1) for n in RULES])


def test_adamw_and_adam_behave_alike_in_so_short_a_run(held_out):
    # "AdamW and Adam behave alike here."
    (acc_adam, val_adam, _), (acc_adamw, val_adamw, _) = held_out["Adam"], held_out["AdamW"]
    assert abs(acc_adam.mean() - acc_adamw.mean()) <= 0.5
    assert abs(val_adam.mean() - val_adamw.mean()) <= 0.05 * val_adam.mean()


def test_a_linear_model_does_about_as_well(held_out):
    # "even a linear model, a network without a hidden layer, does about as well on it as the tuned networks"
    linear = np.mean([accuracy_on_test(train(Adam(lr=TUNED["Adam"]), LINEAR, DATA, epochs=EPOCHS, seed=seed), LINEAR)
                      for seed in SEEDS])
    networks = [held_out[name][0][:len(SEEDS)].mean() for name in RULES]
    assert min(networks) - 1.0 <= linear <= max(networks) + 1.0


def test_the_setup_flips_the_headline_on_every_seed(held_out):
    # 'at η = 0.001: "Adam beats SGD by 64 points"', 'at η = 1: "SGD beats Adam by 7 points"', and "The learning
    # rate matters far more than the choice of rule."
    def accuracy(name, lr):
        return column(name, lr, SEEDS, lambda r: 100 * r.val_accuracy[-1])

    assert np.all(accuracy("Adam", 1e-3) - accuracy("SGD", 1e-3) >= 50)
    assert np.all(accuracy("SGD", 1.0) - accuracy("Adam", 1.0) >= 2)  # 7 points on seed 0
    means = [acc.mean() for acc, _, _ in held_out.values()]
    assert held_out["SGD"][0].mean() - accuracy("SGD", 1e-3).mean() >= 10 * (max(means) - min(means))


def test_the_best_learning_rates_span_a_factor_of_several_tens_up_to_100():
    # "The best learning rates span a factor of 32 on this grid ... Its steps are themselves ×3.2, so the factor
    # is only known to within a step, between 10 and 100; on a grid twice as fine and other seeds, the tests
    # find several tens, up to 100": on a quarter-decade grid, seeds 3, 4, 5 and 6, 7, 8, the largest best η
    # over the smallest is between 20 and 100 (56 and 100), and SGD's best η lies inside that grid.
    fine = 10.0 ** np.arange(-3, 0.26, 0.25)
    for seeds in (SEEDS, MORE):
        chosen = {name: best(name, fine, seeds) for name in RULES}
        assert 20 <= max(chosen.values()) / min(chosen.values()) <= 100 * (1 + 1e-9), seeds
        assert fine[0] < chosen["SGD"] < fine[-1]


def test_sgds_best_learning_rate_is_inside_the_grid_on_other_seeds_too():
    # SGD's chosen η, 10^-0.5, is next to the top of the grid (1): on the new seeds too, both neighbours do worse.
    for seeds in (SEEDS, MORE):
        val = {lr: mean_val("SGD", lr, seeds) for lr in (0.1, 10**-0.5, 1.0)}
        assert val[10**-0.5] < val[0.1] and val[10**-0.5] < val[1.0]


# --- section 6: schedules -----------------------------------------------------------------------


def test_the_decaying_schedules_best_peaks_are_at_least_the_constants():
    # "the decaying schedules' best peaks are somewhat larger than the constant's ... on other seeds the tests find
    # each at least the constant's, and the exponential's above it": the same search of the peak on seeds 3, 4, 5
    # and on 6, 7, 8 (there step decay and cosine tie the constant's, the other two are above it).
    for seeds in (SEEDS, MORE):
        peak = {label: best("Adam", PEAKS, seeds, label) for label in SCHEDULES}
        assert all(peak[label] >= peak["constant"] for label in DECAYING), (seeds, peak)
        assert peak["exponential"] > peak["constant"], (seeds, peak)


def differences(label, measure, seeds=HELD_OUT, epochs=EPOCHS, peak=PEAK):
    """Paired over seeds: ``measure`` of the schedule at its peak minus that of the constant η at its own."""
    return (column("Adam", peak[label], seeds, measure, label, epochs)
            - column("Adam", peak["constant"], seeds, measure, None, epochs))


def test_in_5_epochs_no_schedule_beats_a_tuned_constant_and_they_end_behind_it():
    # "Tuned, no schedule beats a tuned constant η in 5 epochs; on the validation loss they all end behind it ...
    # by a few hundredths at most, the exponential's clearly". Paired over the twelve held-out seeds, each at the
    # notebook's peak: behind on the validation loss (by 0.012 to 0.032, paired t 3.1 to 7.8), not ahead on the
    # test accuracy (the exponential 0.6 points behind there too).
    records([key("Adam", PEAK[label], s, label) for label in SCHEDULES for s in HELD_OUT])
    for label in DECAYING:
        val, acc = differences(label, final_val), differences(label, accuracy_on_test)
        assert 0 < val.mean() <= 0.04 and paired_t(val) >= 2, label
        assert acc.mean() <= 0.25, label
    val = differences("exponential", final_val)
    assert val.mean() >= 0.015 and paired_t(val) >= 5


def test_over_a_four_times_longer_run_the_tuned_schedules_catch_up():
    # "Over a run four times longer, each tuned again, step decay, cosine and warm-up + cosine tie with it, and
    # the exponential ends only a little behind": 20 epochs, each peak chosen on seeds 3, 4, 5 (on the grid's
    # lower five values: it lies inside them), then paired over seeds 6 to 13.
    epochs, grid, seeds = 4 * EPOCHS, PEAKS[:5], tuple(range(6, 14))
    records([key("Adam", lr, s, label, epochs) for label in SCHEDULES for lr in grid for s in SEEDS])
    peak = {label: best("Adam", grid, SEEDS, label, epochs) for label in SCHEDULES}
    assert all(grid[0] < p < grid[-1] for p in peak.values()), peak
    records([key("Adam", peak[label], s, label, epochs) for label in SCHEDULES for s in seeds])
    for label in DECAYING:
        val = differences(label, final_val, seeds, epochs, peak)
        acc = differences(label, accuracy_on_test, seeds, epochs, peak)
        assert abs(acc.mean()) <= 0.5, label
        if label == "exponential":
            assert 0 < val.mean() <= 0.02, label  # 0.011 behind (at 5 epochs: 0.031)
        else:
            assert abs(val.mean()) <= 0.005 and abs(paired_t(val)) < 3, label


def last_epoch_spread(record):
    return float(np.std(record.batch_losses[-record.steps_per_epoch:]))


def test_at_the_same_peak_step_decay_and_cosine_end_quieter_at_a_training_loss_as_low():
    # "At the same peak η, step decay and cosine end quieter ... the minibatch loss jumps from batch to batch about
    # half as much as with the constant η or less (the cosine several times less), at a training loss as low"
    # (peak 0.0316), over the twelve held-out seeds (spread ratios 0.48 and 0.28).
    def train_loss(record):
        return record.train_loss[-1]

    constant_spread = column("Adam", SAME, HELD_OUT, last_epoch_spread).mean()
    constant_loss = column("Adam", SAME, HELD_OUT, train_loss, train_loss=True).mean()
    for label, at_most in (("step decay", 0.6), ("cosine", 0.35)):
        assert column("Adam", SAME, HELD_OUT, last_epoch_spread, label).mean() <= at_most * constant_spread, label
        assert column("Adam", SAME, HELD_OUT, train_loss, label, train_loss=True).mean() <= 1.2 * constant_loss


def test_a_decaying_schedule_forgives_a_too_large_peak():
    # "A decaying schedule forgives a too-large peak η. At η = 0.1 ... the run ends far better than the constant η"
    constant = column("Adam", TOO_LARGE, HELD_OUT, final_val).mean()
    for label in DECAYING:
        assert column("Adam", TOO_LARGE, HELD_OUT, final_val, label).mean() <= constant / 2, label


def confidence(record):
    """Validation loss, accuracy, mean loss of the wrong images and the mean confidence in their wrong class."""
    z = MODEL.logits(record.theta, DATA.X_val)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    wrong = p.argmax(axis=1) != DATA.y_val
    cost = -np.log(p[np.arange(len(p)), DATA.y_val])
    return cost.mean(), 100 * (1 - wrong.mean()), cost[wrong].mean(), p.max(axis=1)[wrong].mean()


def test_a_worse_validation_loss_with_about_the_same_accuracy_is_overconfidence():
    # "step decay, cosine and warm-up + cosine at peak η = 0.1 end with validation losses several times their tuned
    # runs', yet with validation accuracies only a point or two lower" -- because the wrong answers become
    # confident.
    for label in ("step decay", "cosine", "warm-up + cosine"):
        tuned = np.array(column("Adam", PEAK[label], SEEDS, confidence, label)).mean(axis=0)
        hot = np.array(column("Adam", TOO_LARGE, SEEDS, confidence, label)).mean(axis=0)
        assert hot[0] >= 2 * tuned[0], label  # the loss, at least twice as high
        assert tuned[1] - hot[1] <= 2.5, label  # the accuracy, a point or two lower at most
        assert hot[2] >= 2 * tuned[2] and hot[3] > tuned[3], label  # wrong answers cost more, given more surely


# --- section 7: clipping ------------------------------------------------------------------------


def test_clipping_rescues_the_run_that_diverges_on_every_seed():
    # "SGD, η = 20: diverged"; "With clipping ... the run trains, though not as well as the tuned run";
    # "over the first 8 steps the gradient norm grows by a factor of 9.4 to 23 from each step to the next";
    # "Clipping acted on almost every step." On each of the twelve held-out seeds, and the validation loss
    # ratio, clipped / tuned, over them: above 1 on most seeds, 1.3 or more at the median.
    blown = records([key("SGD", 20.0, s) for s in HELD_OUT])
    rescued = records([key("SGD", 20.0, s, clip_norm=0.05) for s in HELD_OUT])
    tuned = records([key("SGD", TUNED["SGD"], s) for s in HELD_OUT])
    for b, r in zip(blown, rescued):
        assert b.diverged_at is not None
        growth = b.grad_norms[1:8] / b.grad_norms[:7]
        assert growth.min() >= 2 and np.median(growth) >= 8
        assert r.diverged_at is None
        assert np.mean(r.grad_norms > 0.05) >= 0.9
    ratio = np.array([final_val(r) / final_val(t) for r, t in zip(rescued, tuned)])
    assert np.median(ratio) >= 1.3 and np.mean(ratio > 1) >= 0.75


def test_the_clipped_run_keeps_training_over_a_five_times_longer_run():
    # "the feedback loop is cut, and the run trains, though not as well as the tuned run": over 25 epochs it never
    # diverges, its validation loss stays below 3 times the tuned 5-epoch run's at every epoch from 5 on (the
    # stricter metric: every epoch, not the last), settles (its last 5 epochs within 0.01) and ends worse than
    # the tuned run, by less than half.
    for seed in SEEDS:
        (rescued,) = records([key("SGD", 20.0, seed, epochs=5 * EPOCHS, clip_norm=0.05)])
        tuned = mean_val("SGD", TUNED["SGD"], (seed,))
        assert rescued.diverged_at is None
        assert rescued.val_loss[EPOCHS:].max() <= 3 * tuned
        assert np.ptp(rescued.val_loss[-5:]) <= 0.01
        assert tuned < rescued.val_loss[-1] <= 1.5 * tuned
