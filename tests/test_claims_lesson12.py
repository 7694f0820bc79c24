"""The claims of lesson 12 (Tuning in practice), re-checked where they could flip: more seeds, longer runs,
the stricter metric. Each test names the sentence of the notebook it checks. The helpers repeat the
notebook's few lines (the range test, its pick, WSD, the average of the weights) so that a change of the
notebook's numbers cannot pass unnoticed.

The training runs are trained side by side (``train_batched`` of ``tests/claims_batched.py``: ``train`` for many
runs at once); ``test_the_batched_runs_are_trains_and_the_helpers`` holds each batched path to ``train`` and to
the helpers here, on short runs."""

from dataclasses import fields, replace

import numpy as np
import pytest

from lessons_lib.mlp import MLP
from lessons_lib.optim import SGD, Adam
from lessons_lib.runner import ewma
from lessons_lib.schedules import Cosine
from lessons_lib.training import train

from claims_batched import (BatchedAdam, Run, assert_same_as_train, evaluate, losses_and_grads, one_blas_thread,
                            train_batched)

pytestmark = pytest.mark.slow  # a few seconds in all: hundreds of short training runs, batched

MODEL = MLP((64, 32, 10))
SEEDS = (0, 1, 2)
GRID_LR = 10**-1.5  # the grid's best η in section 3 (checked below)


# --- the notebook's helpers, line for line -------------------------------------------------------


def zero_last_layer(theta):
    theta = theta.copy()
    theta[MODEL.layer_slices()[-1][0]] = 0.0
    return theta


def overfit(loss_and_grad, X, y, seed=0, steps=300, lr=0.01):
    rule = Adam(lr=lr)
    theta = MODEL.init(seed)
    state = rule.init(theta)
    losses = []
    with one_blas_thread():  # as train() does: tiny matrices, one BLAS thread is faster
        for _ in range(steps):
            loss, g = loss_and_grad(theta, X, y)
            theta, state = rule.update(theta, g, state)  # rule.step without its argument checks
            losses.append(loss)
    return np.array(losses)


def buggy_loss_and_grad(theta, X, y, rolled=None):
    return MODEL.loss(theta, X, y), MODEL.loss_and_grad(theta, X, np.roll(y, 1) if rolled is None else rolled)[1]


def range_test(data, seed=0, lr_min=1e-5, lr_max=10.0, steps=9 * 34):
    """train(Adam(), MODEL, data, epochs=9, seed=seed, schedule=the exponential ramp), for the three SEEDS at once."""
    def ramp(t):
        return lr_min * (lr_max / lr_min) ** (t / (steps - 1))

    if ("range", seed, lr_min, lr_max, steps) not in CACHE:
        todo = sorted(set(SEEDS) | {seed})
        for s, record in zip(todo, train_batched([Run(Adam(), s, schedule=ramp) for s in todo], MODEL, data, epochs=9)):
            CACHE[("range", s, lr_min, lr_max, steps)] = record
    return CACHE[("range", seed, lr_min, lr_max, steps)]


def pick_lr(lrs, smoothed, rule):
    low = int(np.argmin(smoothed))
    if rule == "minimum":
        return float(lrs[low])
    if rule == "minimum / 10":
        return float(lrs[low]) / 10
    k = 25
    s, log_lr = smoothed[: low + 1], np.log(lrs[: low + 1])
    slope = (s[k:] - s[:-k]) / (log_lr[k:] - log_lr[:-k])
    i = int(np.argmin(slope))
    return float(np.sqrt(lrs[i] * lrs[i + k]))


def update_ratios(data, lr, seed=0, epochs=3):
    """The median over the steps of ‖Δw‖ / ‖w‖ per weight matrix (the ratios are recorded by adam() below)."""
    assert lr in RATIO_LRS
    return np.median(adam(data, seed, epochs, lr)[1], axis=0)


def sharpness(theta, X, y, iterations=30):
    def hvp(v, h=1e-4):
        return (MODEL.loss_and_grad(theta + h * v, X, y)[1] - MODEL.loss_and_grad(theta - h * v, X, y)[1]) / (2 * h)

    v = np.random.default_rng(0).normal(size=theta.size)
    with one_blas_thread():
        for _ in range(iterations):
            v = hvp(v / np.linalg.norm(v))
        u = v / np.linalg.norm(v)
        return float(u @ hvp(u))


def warmup(lr, steps):
    return lambda t: lr * min(1.0, (t + 1) / (steps + 1))


def wsd(lr, total_steps, decay_fraction=0.2):
    decay_start = round(total_steps * (1 - decay_fraction))

    def schedule(t):
        if t < decay_start:
            return lr
        return lr * (1 - min(1.0, (t - decay_start) / (total_steps - decay_start)))
    return schedule


def train_with_average(data, seed, epochs=5, beta=0.998, batch_size=8, lr=0.03, together=range(5)):
    """_train_with_average (below), for the seeds `together` (0-4) at once."""
    if ("average", seed, epochs, beta, batch_size, lr) not in CACHE:
        todo = sorted(set(together) | {seed})
        for s, result in zip(todo, _train_many_with_average(data, todo, epochs, beta, batch_size, lr)):
            CACHE[("average", s, epochs, beta, batch_size, lr)] = result
    return CACHE[("average", seed, epochs, beta, batch_size, lr)]


def _train_many_with_average(data, seeds, epochs, beta, batch_size, lr):
    """_train_with_average for several seeds, batched: the same average, the same validation losses."""
    total = np.zeros((len(seeds), MODEL.n_params))
    val = [[] for _ in seeds]
    per_epoch = -(-len(data.y_train) // batch_size)

    def keep(step, which, before, after, active):
        total[which] = beta * total[which] + (1 - beta) * after
        if (step + 1) % per_epoch == 0:
            losses, _ = evaluate(MODEL, total[which] / (1 - beta ** (step + 1)), data.X_val, data.y_val)
            for i, loss in zip(which, losses):
                val[i].append(loss)

    records = train_batched([Run(Adam(lr=lr), s) for s in seeds], MODEL, data, epochs=epochs,
                            batch_size=batch_size, on_step=keep)
    return [(record.val_loss[1:], np.array(v)) for record, v in zip(records, val)]


def _train_with_average(data, seed, epochs, beta, batch_size, lr):
    state = {"sum": np.zeros(MODEL.n_params), "val": []}
    per_epoch = -(-len(data.y_train) // batch_size)

    def keep(step, before, after, rule_state):
        state["sum"] = beta * state["sum"] + (1 - beta) * after
        if (step + 1) % per_epoch == 0:
            state["val"].append(MODEL.loss(state["sum"] / (1 - beta ** (step + 1)), data.X_val, data.y_val))

    record = train(Adam(lr=lr), MODEL, data, epochs=epochs, batch_size=batch_size, seed=seed, on_step=keep)
    return record.val_loss[1:], np.array(state["val"])


class Reached(Exception):
    """Raised by steps_to_target's check at the first hit: the rest of the run cannot change the answer."""


def steps_to_target(data, rule, batch_size, max_steps, seed=0, target=0.1, give_up_after=np.inf):
    """The first step (checked every `stride`) at which the training loss is below `target`, or inf. With
    `give_up_after`: inf also when no step up to that one reaches the target (the run stops there; a row's
    argmin and min do not need to know by how much a worse η is worse)."""
    per_epoch = -(-len(data.y_train) // batch_size)
    stride = max(1, per_epoch // 8)
    hit = []

    def check(step, before, after, state):
        if not hit and (step + 1) % stride == 0:
            with np.errstate(all="ignore"):
                if MODEL.loss(after, data.X_train, data.y_train) < target:
                    hit.append(step + 1)
                    raise Reached  # only the first hit counts: stop the run here
        if step + 1 >= give_up_after:
            raise Reached

    try:
        train(rule, MODEL, data, epochs=-(-max_steps // per_epoch), batch_size=batch_size, seed=seed, on_step=check)
    except Reached:
        pass
    return hit[0] if hit else np.inf


# --- the same, for several runs at once (held to the helpers above by test_the_batched_runs_are_...) -----


def overfit_many(batches, seeds, steps=300, lr=0.01, buggy=False):
    """overfit(MODEL.loss_and_grad, X, y, seed, steps, lr) for each (X, y) of ``batches`` with its seed, or with
    ``buggy``: overfit(buggy_loss_and_grad with the labels rolled once, ...). Losses: runs × steps."""
    X, y = np.array([X for X, _ in batches]), np.array([y for _, y in batches])
    thetas = np.array([MODEL.init(seed) for seed in seeds])
    adam_ = BatchedAdam([Adam(lr=lr)] * len(seeds), thetas)
    eta = np.full(len(seeds), float(lr))
    losses = []
    with one_blas_thread():
        for _ in range(steps):
            if buggy:  # the loss on y, the gradient on the rolled labels
                loss, g = losses_and_grads(MODEL, thetas, X, np.roll(y, 1, axis=1), y_loss=y)
            else:
                loss, g = losses_and_grads(MODEL, thetas, X, y)
            thetas = adam_.step(thetas, g, eta)
            losses.append(loss)
    return np.array(losses).T


def sharpness_many(thetas, X, y, iterations=30):
    """sharpness(theta, X, y, iterations) for each row of ``thetas``, the power iterations side by side."""
    N = len(thetas)
    Xs, ys = np.broadcast_to(X, (2 * N, *X.shape)), np.broadcast_to(y, (2 * N, len(y)))

    def hvp(v, h=1e-4):
        _, g = losses_and_grads(MODEL, np.concatenate([thetas + h * v, thetas - h * v]), Xs, ys)
        return (g[:N] - g[N:]) / (2 * h)

    def norms(v):
        return np.array([np.linalg.norm(row) for row in v])[:, None]

    v = np.tile(np.random.default_rng(0).normal(size=MODEL.n_params), (N, 1))
    with one_blas_thread():
        for _ in range(iterations):
            v = hvp(v / norms(v))
        u = v / norms(v)
        return [float(a @ b) for a, b in zip(u, hvp(u))]


def steps_to_target_many(data, rules, batch_size, max_steps, seed=0, target=0.1, first_only=False):
    """[steps_to_target(data, rule, batch_size, max_steps, seed, target) for rule in rules], the runs side by
    side: each stops being checked at its first hit, and all stop when all have hit. With ``first_only``, all
    stop at the first check where any has hit: the fewest steps, and which rules took them, are known there
    (the others are inf: they need more)."""
    per_epoch = -(-len(data.y_train) // batch_size)
    stride = max(1, per_epoch // 8)
    hit = np.full(len(rules), np.inf)

    def check(step, which, before, after, active):
        if (step + 1) % stride == 0:
            rows = [j for j, i in enumerate(which) if active[j] and hit[i] == np.inf]
            if rows:
                with np.errstate(all="ignore"):
                    losses, _ = evaluate(MODEL, after[rows], data.X_train, data.y_train)
                for j, loss in zip(rows, losses):
                    if loss < target:
                        hit[which[j]] = step + 1
        done = np.isfinite(hit[which])
        return bool(done.any() if first_only else done.all())

    train_batched([Run(rule, seed) for rule in rules], MODEL, data, epochs=-(-max_steps // per_epoch),
                  batch_size=batch_size, evaluate_train=False, on_step=check)
    return list(hit)


# --- the training runs, each trained once and shared ----------------------------------------------
#
# A run of e epochs is the first e epochs of the same run trained longer (same rule, seed, batch order and
# schedule, when the schedule does not depend on the length): each is trained once, for the longest horizon
# any test asks of it, with θ kept at the end of every epoch and the update-to-weight ratios of every step.

CACHE: dict = {}


def at_epoch(record, epochs, ends, ratios):
    """What train(..., epochs=epochs) returns (and update_ratios sees), read off a longer run of it."""
    if record.epochs_run < epochs:  # it stopped (diverged) within the first `epochs` epochs: the shorter run too
        return record, ratios
    steps = epochs * record.steps_per_epoch
    return replace(record, batch_losses=record.batch_losses[:steps], grad_norms=record.grad_norms[:steps],
                   lrs=record.lrs[:steps], train_loss=record.train_loss[:epochs + 1],
                   train_accuracy=record.train_accuracy[:epochs + 1], val_loss=record.val_loss[:epochs + 1],
                   val_accuracy=record.val_accuracy[:epochs + 1], theta=ends[epochs - 1], diverged_at=None,
                   message=""), ratios[:steps]


ADAM_DEFAULTS = {f.name: f.default for f in fields(Adam)}
#: the longest horizon asked of an Adam run with default β₁, β₂, ε: (lr, seed) -> epochs
#: (test_warmup_...: 25 epochs; test_update_ratios_...: 15)
LONGEST = {**{(lr, seed): 25 for lr in (GRID_LR, 0.1, 0.3) for seed in SEEDS}, (1e-4, 0): 15}


RATIO_LRS = (1e-4, GRID_LR, 0.3)  # the learning rates of test_update_ratios_sit_on_three_levels


def adam(data, seed, epochs, lr, warmup_steps=0, **hyper):
    """train(Adam(lr=lr, **hyper), ..., epochs=epochs, seed=seed), or with warm-up: train(Adam(**hyper),
    schedule=warmup(lr, warmup_steps)) — warmup(lr, 0) is lr at every step, i.e. Adam(lr=lr) unscheduled.
    Returns the record and the update-to-weight ratios of its steps (update_ratios'). The first call trains
    every run the tests below ask for (PLANNED), batched."""
    key, longest = adam_key(lr, seed, warmup_steps, hyper, epochs)
    if key not in CACHE:
        train_adams(data, [(lr, seed, warmup_steps, hyper, epochs)] + PLANNED)
    ran, record, ends, ratios = CACHE[key]
    assert ran >= epochs
    return at_epoch(record, epochs, ends, ratios)


def adam_key(lr, seed, warmup_steps, hyper, epochs):
    """The cache's key of a run, and the horizon it is trained for (the longest any test asks of it)."""
    lr = float(lr)
    hyper = {k: v for k, v in hyper.items() if v != ADAM_DEFAULTS[k]}  # Adam(beta1=0.9) is Adam()
    longest = max(epochs, LONGEST.get((lr, seed), 0) if not hyper else 0)
    return ("adam", lr, seed, warmup_steps, tuple(sorted(hyper.items()))), longest


def train_adams(data, calls):
    """Train every (lr, seed, warmup_steps, hyper, epochs) of ``calls`` not trained yet, those of one horizon
    side by side; keep θ after each epoch, and the update-to-weight ratios of every step where update_ratios
    reads them."""
    todo = {}
    for lr, seed, warmup_steps, hyper, epochs in calls:
        key, longest = adam_key(lr, seed, warmup_steps, hyper, epochs)
        if key not in CACHE:
            todo[key] = max(longest, todo.get(key, 0))
    slices = [w for w, _ in MODEL.layer_slices()]
    for horizon in sorted(set(todo.values())):
        keys = [key for key, longest in todo.items() if longest == horizon]
        runs = []
        for _, lr, seed, warmup_steps, hyper in keys:
            if warmup_steps:
                runs.append(Run(Adam(**dict(hyper)), seed, schedule=warmup(lr, warmup_steps)))
            else:
                runs.append(Run(Adam(lr=lr, **dict(hyper)), seed))
        with_ratios = [not warmup_steps and not hyper and lr in RATIO_LRS for _, lr, _, warmup_steps, hyper in keys]
        ratios = [[] for _ in keys]

        def keep(step, which, before, after, active):
            for j, i in enumerate(which):
                if with_ratios[i] and active[j]:
                    ratios[i].append([np.linalg.norm(after[j, w] - before[j, w]) / np.linalg.norm(before[j, w])
                                      for w in slices])

        records = train_batched(runs, MODEL, data, epochs=horizon, keep_thetas=True, on_step=keep)
        for key, record, r in zip(keys, records, ratios):
            CACHE[key] = (horizon, record, record.epoch_thetas, r)


#: every adam(...) call of the tests below: (lr, seed, warmup_steps, hyper, epochs)
PLANNED = (
    [(0.01, s, 0, {}, 5) for s in SEEDS]  # test_neither_start_...
    + [(lr, s, 0, {}, 5) for s in SEEDS for lr in 10.0 ** np.arange(-3.5, -0.4, 0.5)]  # the grid
    + [(GRID_LR, s, 0, {}, 5) for s in range(5)]  # test_range_test_..., test_the_start_is_...
    + [(lr, s, 0, {}, 3) for lr in RATIO_LRS for s in SEEDS] + [(lr, 0, 0, {}, 15) for lr in RATIO_LRS]
    + [(lr, s, w, {}, 25) for lr in (GRID_LR, 0.1, 0.3) for w in (0, 50) for s in SEEDS]  # warm-up
    + [(GRID_LR, s, 0, {name: value}, 5) for s in SEEDS  # test_eta_matters_most_...
       for name, values in (("beta1", (0.5, 0.9, 0.99)), ("beta2", (0.9, 0.99, 0.999)), ("eps", (1e-8, 1e-6, 1e-4)))
       for value in values]
)


# --- 1. the loss at initialisation ---------------------------------------------------------------


def test_the_start_is_above_ln10_and_a_zeroed_last_layer_gives_ln10_exactly(digits):
    """'The loss starts well above ln 10' (2.80); 'zeroing gives ln 10 exactly' — for every seed, not only 0."""
    for seed in range(5):
        theta = MODEL.init(seed)
        assert MODEL.loss(theta, digits.X_train, digits.y_train) > np.log(10) + 0.2
        zeroed = MODEL.loss(zero_last_layer(theta), digits.X_train, digits.y_train)
        assert zeroed == pytest.approx(np.log(10), abs=1e-12)


def test_neither_start_wins_on_every_seed_after_one_epoch_or_five(digits):
    """'Neither start wins on every seed, after one epoch or after five.'"""
    he = [adam(digits, seed, 5, 0.01)[0] for seed in SEEDS]  # train(Adam(lr=0.01), MODEL, digits, epochs=5, seed=s)
    # train(Adam(lr=0.01), MODEL, digits, epochs=5, seed=seed, theta0=zero_last_layer(MODEL.init(seed))), batched
    zeroed = train_batched([Run(Adam(lr=0.01), seed, theta0=zero_last_layer(MODEL.init(seed))) for seed in SEEDS],
                           MODEL, digits, epochs=5)
    for column, part in ((1, "train_loss"), (-1, "val_loss")):
        he_better = [getattr(a, part)[column] < getattr(b, part)[column] for a, b in zip(he, zeroed)]
        assert any(he_better) and not all(he_better)


# --- 2. overfit one batch ------------------------------------------------------------------------


def test_the_right_wiring_memorises_one_batch_and_the_planted_bug_climbs_far_above_its_start(digits):
    """'The loss falls by more than three orders of magnitude in 300 steps'; with the bug the loss we watch, 'after
    a dip in its first few steps, climbs far above its start and stays there' — three starts and three batches,
    and ten times longer for the bug."""
    batches = [(digits.X_train[first:first + 32], digits.y_train[first:first + 32]) for first in (0, 32, 64)]
    # overfit(MODEL.loss_and_grad, X, y, seed=seed) for the three (seed, batch), side by side
    for right in overfit_many(batches, SEEDS):
        assert right[-1] < right[0] / 1000
    # overfit(buggy_loss_and_grad with the labels rolled once instead of at every step, ..., steps=3000)
    for wrong in overfit_many(batches, SEEDS, steps=3000, buggy=True):
        assert np.argmin(wrong) < 10  # the dip: the lowest loss comes within the first few steps
        assert wrong[100:].min() > 2 * wrong[0]  # from step 100 to step 3000: more than twice the start


# --- 3. the range test ---------------------------------------------------------------------------


def test_the_grid_best_is_interior_and_is_the_notebooks(digits):
    grid = 10.0 ** np.arange(-3.5, -0.4, 0.5)
    losses = [adam(digits, 0, 5, lr)[0].val_loss[-1] for lr in grid]  # train(Adam(lr=lr), ..., epochs=5)
    best = int(np.argmin(losses))
    assert 0 < best < len(grid) - 1 and grid[best] == pytest.approx(GRID_LR)


def test_range_test_picks_min_over_10_and_steepest_land_near_the_grid_and_the_minimum_is_far_too_hot(digits):
    """'Minimum / 10 and the steepest descent land near the grid's choice (here at 0.6 and 0.3 times it; the grid's
    own best moves with the seed, too)' — each seed's range test against the same seed's grid, within a factor of
    five either way; 'do not pick the minimum: it trains much worse' — three seeds of the range test."""
    tuned = adam(digits, 0, 5, GRID_LR)[0].val_loss[-1]  # train(Adam(lr=GRID_LR), MODEL, digits, epochs=5)
    grid = 10.0 ** np.arange(-3.5, -0.4, 0.5)
    minimum, grid_bests = [], []
    for seed in SEEDS:
        grid_best = grid[int(np.argmin([adam(digits, seed, 5, lr)[0].val_loss[-1] for lr in grid]))]
        grid_bests.append(grid_best)
        finder = range_test(digits, seed=seed)
        smoothed = ewma(finder.batch_losses, 0.98, bias_correction=True)
        for rule in ("minimum / 10", "steepest descent"):
            assert 1 / 5 < pick_lr(finder.lrs, smoothed, rule) / grid_best < 5, (seed, rule)
        minimum.append(pick_lr(finder.lrs, smoothed, "minimum"))
    assert len(set(grid_bests)) > 1  # the grid's best moves with the seed
    # train(Adam(lr=the minimum's η), MODEL, digits, epochs=5) for each seed's range test, side by side
    for at_minimum in train_batched([Run(Adam(lr=lr)) for lr in minimum], MODEL, digits, epochs=5):
        assert at_minimum.val_loss[-1] > 5 * tuned


def test_more_smoothing_moves_the_minimum_to_a_larger_learning_rate(digits):
    """'More smoothing moves the minimum to a larger η' (or, from 0.98 to 0.995, at least not to a smaller one)."""
    for seed in SEEDS:
        finder = range_test(digits, seed=seed)
        lows = [finder.lrs[np.argmin(ewma(finder.batch_losses, beta, bias_correction=True))]
                for beta in (0.9, 0.98, 0.995)]
        assert lows[0] < lows[1] <= lows[2]


# --- 4. update-to-weight ratio -------------------------------------------------------------------


def test_update_ratios_sit_on_three_levels(digits):
    """'The tuned η sits near 10⁻², two to four times below the too-large one (a few per cent) and about fifty
    times above the too-small one' — three seeds (medians over the steps, per layer); the order also over 15
    epochs."""
    for seed in SEEDS:
        small, tuned, large = (update_ratios(digits, lr, seed) for lr in (1e-4, GRID_LR, 0.3))
        assert np.all(small < tuned / 20) and np.all((2 < large / tuned) & (large / tuned < 4))
        assert np.all((3e-3 < tuned) & (tuned < 3e-2)) and np.all((0.01 < large) & (large < 0.1))
    small, tuned, large = (update_ratios(digits, lr, 0, epochs=15) for lr in (1e-4, GRID_LR, 0.3))
    assert np.all(small < tuned) and np.all(tuned < large)


# --- 5. clipping ---------------------------------------------------------------------------------


def test_clipping_at_the_90th_percentile_costs_little_and_thirty_times_lower_is_far_behind(digits):
    """'At the 90th percentile clipping acts on about one step in ten and ... the validation loss moves by less
    than 0.01. Thirty times lower it clips every step ... after 5 epochs the run is far behind.' Also seeds 3-5."""
    # train(SGD(lr=0.3), MODEL, digits, epochs=5, seed=s), then with clip_norm=p90 and p90 / 30: batched
    plain_runs = dict(zip(SEEDS + (3, 4, 5), train_batched([Run(SGD(lr=0.3), s) for s in SEEDS + (3, 4, 5)],
                                                           MODEL, digits, epochs=5)))
    p90 = float(np.percentile(plain_runs[0].grad_norms, 90))  # seed 0's plain run
    clipped = train_batched([Run(SGD(lr=0.3), s, clip_norm=c) for c in (p90, p90 / 30) for s in SEEDS + (3, 4, 5)],
                            MODEL, digits, epochs=5)
    clipped = {(c, s): r for (c, s), r in zip([(c, s) for c in ("safety", "harsh") for s in SEEDS + (3, 4, 5)],
                                               clipped)}
    for seeds in (SEEDS, (3, 4, 5)):
        plain = [plain_runs[s] for s in seeds]
        safety = [clipped[("safety", s)] for s in seeds]
        harsh = [clipped[("harsh", s)] for s in seeds]
        mean = lambda runs: np.mean([r.val_loss[-1] for r in runs])  # noqa: E731
        assert abs(mean(safety) - mean(plain)) < 0.01
        assert 0.05 < np.mean([r.grad_norms > p90 for r in safety]) < 0.2
        assert np.mean([r.grad_norms > p90 / 30 for r in harsh]) == 1.0 and mean(harsh) > 5 * mean(plain)


# --- 6. warm-up ----------------------------------------------------------------------------------


def test_the_start_is_several_times_sharper_than_after_training(digits):
    """'On every seed the loss is several times sharper at the start than after training' — five seeds."""
    trained = [adam(digits, seed, 5, GRID_LR)[0].theta for seed in range(5)]  # train(Adam(lr=GRID_LR), ..., seed)
    # sharpness(θ, digits.X_train, digits.y_train) at the five starts and the five trained θ, side by side
    lams = sharpness_many(np.array([MODEL.init(seed) for seed in range(5)] + trained), digits.X_train, digits.y_train)
    for seed in range(5):
        start = lams[seed]
        assert start > 3 * lams[5 + seed]
        assert GRID_LR < 0.2 * 2 / start  # 'the tuned η is far below 2/λ_max at the start'


def test_warmup_does_not_rescue_a_large_learning_rate(digits):
    """'With or without it, η = 0.1 and 0.3 end far above the tuned η on every seed' (5 and 25 epochs), 'and the
    warm-up runs are not consistently better than the runs without' (5 epochs, as in the notebook)."""
    for epochs in (5, 25):
        # train(Adam(), MODEL, digits, epochs=epochs, seed=s, schedule=warmup(lr, w)); 5 epochs: the first of 25
        final = {(lr, w): [adam(digits, s, epochs, lr, warmup_steps=w)[0].val_loss[-1]
                           for s in SEEDS] for lr in (GRID_LR, 0.1, 0.3) for w in (0, 50)}
        tuned = max(final[(GRID_LR, 0)] + final[(GRID_LR, 50)])  # the notebook shows W = 0 only; 50 as well here
        large = min(v for (lr, _), losses in final.items() if lr > GRID_LR for v in losses)
        assert large > 3 * tuned
        if epochs == 5:
            for lr in (0.1, 0.3):
                better = [w < n for w, n in zip(final[(lr, 50)], final[(lr, 0)])]
                assert any(better) and not all(better)


# --- 7. WSD vs cosine ----------------------------------------------------------------------------


def scheduled(data, kind, epochs, seed=0, together=SEEDS):
    """train(Adam(), ..., schedule=wsd(0.03, steps) or Cosine(0.03, steps)) over all its `steps` (34 an epoch)."""
    if (kind, epochs, seed) not in CACHE:  # both kinds and the seeds `together` at this length, side by side
        todo = [(k, s) for k in ("wsd", "cosine") for s in sorted(set(together) | {seed})
                if (k, epochs, s) not in CACHE]
        runs = [Run(Adam(), s, schedule={"wsd": wsd, "cosine": Cosine}[k](0.03, 34 * epochs)) for k, s in todo]
        for (k, s), record in zip(todo, train_batched(runs, MODEL, data, epochs=epochs)):
            CACHE[(k, epochs, s)] = record
    return CACHE[(kind, epochs, seed)]


def test_a_wsd_run_is_the_shorter_wsd_run_until_its_decay_and_cosine_runs_part_at_once(digits):
    short = scheduled(digits, "wsd", 5)  # train(Adam(), MODEL, digits, epochs=5, schedule=wsd(0.03, 170))
    longer = scheduled(digits, "wsd", 10)  # epochs=10, schedule=wsd(0.03, 340)
    np.testing.assert_array_equal(short.batch_losses[:138], longer.batch_losses[:138])
    assert short.lrs[137] != longer.lrs[137]
    cos_short = scheduled(digits, "cosine", 5)  # epochs=5, schedule=Cosine(0.03, 170)
    cos_long = scheduled(digits, "cosine", 10)  # epochs=10, schedule=Cosine(0.03, 340)
    assert cos_short.lrs[1] != cos_long.lrs[1] and cos_short.batch_losses[2] != cos_long.batch_losses[2]


def test_wsd_trains_about_as_well_as_cosine_of_the_same_length(digits):
    """'WSD ends with a lower training loss than the cosine of the same length on four of the six runs, and with at
    most 1.3 times the cosine's on the other two' — checked as: never above 1.5 times, at 170 and 340 steps and
    five times longer (850 steps), three seeds."""
    for epochs in (5, 10, 25):
        for seed in SEEDS:  # schedule=wsd(0.03, 34 * epochs) and Cosine(0.03, 34 * epochs)
            w = scheduled(digits, "wsd", epochs, seed).train_loss[-1]
            c = scheduled(digits, "cosine", epochs, seed).train_loss[-1]
            assert w < 1.5 * c, (epochs, seed, w, c)


def test_wsd_trains_as_well_as_cosine_and_at_340_steps_cosine_generalises_better(digits):
    """'The tests find the same [cosine's validation loss lower] at 340 steps on most of ten seeds'; 'WSD trains as
    well as cosine': its training loss is the lower one on most of ten seeds, at 170 and at 340 steps."""
    for epochs in (5, 10):
        runs = {kind: [scheduled(digits, kind, epochs, seed, together=range(10)) for seed in range(10)]
                for kind in ("wsd", "cosine")}
        wsd_lower = [w.train_loss[-1] < c.train_loss[-1] for w, c in zip(runs["wsd"], runs["cosine"])]
        assert sum(wsd_lower) >= 7, (epochs, wsd_lower)
        if epochs == 10:
            cosine_lower = [c.val_loss[-1] < w.val_loss[-1] for w, c in zip(runs["wsd"], runs["cosine"])]
            assert sum(cosine_lower) >= 7, cosine_lower


# --- 8. the average of the weights ---------------------------------------------------------------


def test_the_average_of_the_weights_has_a_lower_validation_loss_after_every_epoch(digits):
    """'On every seed and after every epoch, the averaged weights have a lower validation loss than the last
    iterate, by a factor of at least 1.55 here (a little less on some other seeds: the tests check ten)' (5 epochs:
    seeds 0-2; more than 1.4 on seeds 3-9); lower, at every epoch, over 20 epochs and 5 seeds."""
    for seed in SEEDS:  # the 5-epoch run is the first 5 epochs of the 20-epoch one (same seed, same steps)
        last, averaged = (values[:5] for values in train_with_average(digits, seed, epochs=20))
        assert len(last) == len(averaged) == 5 and np.all(last > 1.55 * averaged)
    for seed in range(3, 10):
        last, averaged = (values[:5] for values in train_with_average(digits, seed, epochs=20, together=range(10)))
        assert np.all(last > 1.4 * averaged), seed
    for seed in range(5):
        last, averaged = train_with_average(digits, seed, epochs=20)
        assert np.all(last > averaged)


# --- 9. batch size -------------------------------------------------------------------------------

BATCHES = (16, 64, 256)
MAX_STEPS = {16: 128, 64: 48, 256: 24}
ETAS = {"SGD": 10 ** np.arange(-0.75, 0.51, 0.25), "Adam": 10 ** np.arange(-2, -0.74, 0.25)}
RULES = {"SGD": SGD, "Adam": Adam}


def batch_table(data, name, seed):
    """The notebook's table of steps to the target, one row per batch size, one column per η of ETAS[name]; each
    row's runs side by side until the first hit: exact for the η's that took the fewest steps, inf for the others
    (they need more), so a row's argmin (the first η with the fewest steps) and min are those of the full row."""
    if ("batch", name, seed) not in CACHE:
        CACHE[("batch", name, seed)] = np.array([
            steps_to_target_many(data, [RULES[name](lr=eta) for eta in ETAS[name]], b, MAX_STEPS[b], seed=seed,
                                 first_only=True) for b in BATCHES])
    return CACHE[("batch", name, seed)]


@pytest.mark.parametrize("seed", SEEDS)
def test_more_batch_buys_fewer_steps_up_to_64_then_less_and_the_best_lr_grows(digits, seed):
    """'Up to B = 64, four times the batch took about 3.3 times fewer steps; from 64 to 256 only about 2 times'
    (checked as: more than 2.5 times, then less than 2.5 times); 'the best η rose with the batch'; 'SGD's rose
    faster than Adam's from 16 to 64'; Adam's 16-fold batch gave less than the linear 16-fold η. Interior bests."""
    best_lr = {}
    for name, etas in ETAS.items():
        table = batch_table(digits, name, seed)
        best = np.argmin(table, axis=1)
        assert np.all((0 < best) & (best < len(etas) - 1)), (name, best)
        steps = table.min(axis=1)
        assert steps[0] / steps[1] > 2.5 and steps[1] / steps[2] < 2.5, (name, steps)
        best_lr[name] = etas[best]
        assert best_lr[name][0] < best_lr[name][1] <= best_lr[name][2]
    assert best_lr["SGD"][1] / best_lr["SGD"][0] > best_lr["Adam"][1] / best_lr["Adam"][0]
    assert best_lr["Adam"][2] / best_lr["Adam"][0] < 16


def test_on_other_seeds_adams_best_lr_rises_less_than_sgds_and_never_more(digits):
    """'Do not read an exponent from one seed: on most of the other seeds the tests try, Adam's best η rose less than
    SGD's over the 16-fold batch, and below the square-root rule's 4; on none did it rise more' — seeds 1-7."""
    less = []
    for seed in range(1, 8):
        rise = {name: ETAS[name][np.argmin(batch_table(digits, name, seed), axis=1)] for name in ETAS}
        adam_rise, sgd_rise = (rise[name][2] / rise[name][0] for name in ("Adam", "SGD"))
        assert adam_rise <= sgd_rise * (1 + 1e-12), (seed, adam_rise, sgd_rise)
        less.append(adam_rise < sgd_rise and adam_rise < 4)
    assert sum(less) > len(less) / 2, less


# --- 10. the tuning budget -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_eta_matters_most_then_beta1_then_beta2_and_eps(digits, seed):
    """'η moves the validation loss from 0.137 to 11.4; β₁ to at most 0.571, β₂ to 0.306, ε to 0.283'; 'here β₂
    mattered a little more than ε'."""
    def val(lr, **kw):  # train(Adam(lr=lr, **kw), MODEL, digits, epochs=5, seed=seed), each trained once
        return adam(digits, seed, 5, lr, **kw)[0].val_loss[-1]

    eta = [val(lr=lr) for lr in 10.0 ** np.arange(-3.5, -0.4, 0.5)]
    beta1 = [val(lr=GRID_LR, beta1=b) for b in (0.5, 0.9, 0.99)]
    beta2 = [val(lr=GRID_LR, beta2=b) for b in (0.9, 0.99, 0.999)]
    eps = [val(lr=GRID_LR, eps=e) for e in (1e-8, 1e-6, 1e-4)]
    assert max(eta) - min(eta) > 10 * (max(beta1) - min(beta1))
    assert max(beta1) - min(beta1) > max(beta2) - min(beta2) > max(eps) - min(eps)


def below(bound, values) -> bool:
    """min(values) < bound, stopping at the first value that settles it (min only falls from there)."""
    lowest = None
    for value in values:
        if lowest is None or value < lowest:
            lowest = value
        if lowest < bound:
            return True
    return False


def test_with_nine_runs_neither_search_wins_reliably(digits):
    """'Here random search won three of the six searches and lost the other three' (the count the notebook
    prints); 'trained from other seeds (the tests try two more, with twenty searches each), it won more often than
    it lost, but never every time'."""
    def log_uniform(low, high, u):
        return np.exp(np.log(low) + u * np.log(high / low))

    searches = [[(lr, 1 - c) for lr in np.geomspace(1e-3, 1e-1, 3) for c in np.geomspace(1e-2, 0.5, 3)]]
    for seed in range(20):
        u = np.random.default_rng(seed).uniform(size=(9, 2))
        searches.append(list(zip(log_uniform(1e-3, 1e-1, u[:, 0]), 1 - log_uniform(1e-2, 0.5, u[:, 1]))))
    for training_seed in SEEDS:
        # loss(lr, beta1) = train(Adam(lr=lr, beta1=beta1), MODEL, digits, epochs=2, seed=training_seed)
        # .val_loss[-1], every point at once
        records = iter(train_batched([Run(Adam(lr=lr, beta1=beta1), training_seed) for points in searches
                                      for lr, beta1 in points], MODEL, digits, epochs=2, evaluate_train=False))
        losses = [[next(records).val_loss[-1] for _ in points] for points in searches]
        grid = min(losses[0])
        wins = [below(grid, values) for values in losses[1:]]
        if training_seed == 0:
            assert sum(wins[:6]) == 3, wins[:6]
        else:
            assert len(wins) / 2 < sum(wins) < len(wins), (training_seed, sum(wins))


# --- the batched runs are train's and the helpers' ---------------------------------------------------


def test_the_batched_runs_are_trains_and_the_helpers(digits):
    """Short runs of every batched path above against ``train`` and the one-run helpers, to 1e-10."""
    runs = [Run(Adam(), 1, schedule=warmup(0.1, 50)), Run(Adam(lr=0.01, eps=1e-4), 2,
                                                           theta0=zero_last_layer(MODEL.init(2))),
            Run(SGD(lr=0.3), 0, clip_norm=0.5), Run(Adam(), 0, schedule=wsd(0.03, 68)), Run(Adam(lr=0.3, beta1=0.5))]
    for run, record in zip(runs, train_batched(runs, MODEL, digits, epochs=2)):
        assert_same_as_train(record, train(run.rule, MODEL, digits, epochs=2, seed=run.seed, theta0=run.theta0,
                                           schedule=run.schedule, clip_norm=run.clip_norm))
    for seed, (last, averaged) in zip((0, 3), _train_many_with_average(digits, (0, 3), 2, 0.998, 8, 0.03)):
        one = _train_with_average(digits, seed, 2, 0.998, 8, 0.03)
        np.testing.assert_allclose(last, one[0], rtol=1e-10)
        np.testing.assert_allclose(averaged, one[1], rtol=1e-10)
    batches = [(digits.X_train[first:first + 32], digits.y_train[first:first + 32]) for first in (0, 32)]
    for buggy in (False, True):
        for (X, y), seed, losses in zip(batches, (0, 1), overfit_many(batches, (0, 1), steps=30, buggy=buggy)):
            loss_and_grad = ((lambda theta, X, y: buggy_loss_and_grad(theta, X, y, np.roll(y, 1))) if buggy
                             else MODEL.loss_and_grad)
            np.testing.assert_allclose(losses, overfit(loss_and_grad, X, y, seed=seed, steps=30), rtol=1e-10)
    thetas = np.array([MODEL.init(0), adam(digits, 0, 5, GRID_LR)[0].theta])
    for lam, theta in zip(sharpness_many(thetas, digits.X_train, digits.y_train, iterations=3), thetas):
        assert lam == pytest.approx(sharpness(theta, digits.X_train, digits.y_train, iterations=3), rel=1e-10)
    rules = [Adam(lr=0.01), Adam(lr=0.03), Adam(lr=0.1), SGD(lr=1.0), SGD(lr=3.0)]  # two hit, at 30 and 32 steps
    one_by_one = [steps_to_target(digits, rule, 64, 48, seed=1) for rule in rules]
    assert steps_to_target_many(digits, rules, 64, 48, seed=1) == one_by_one
    first = steps_to_target_many(digits, rules, 64, 48, seed=1, first_only=True)
    assert [v if v == min(one_by_one) else np.inf for v in one_by_one] == first


# --- the helpers above are the notebook's --------------------------------------------------------


def test_the_helpers_and_settings_here_are_the_notebooks():
    """The range-test pick, WSD, warm-up and the batch-size settings above behave like the notebook's cells."""
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "12_tuning_in_practice.ipynb"
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    namespace = {"np": np}
    for marker in ("def pick_lr", "def wsd", "def warmup", "MAX_STEPS ="):
        source = next(s for s in cells if marker in s)
        if marker == "MAX_STEPS =":
            keep = ("TARGET", "BATCHES", "MAX_STEPS")
            source = "\n".join(line for line in source.splitlines() if line.startswith(keep))
            source += "\nETAS = " + next(s for s in cells if "ETAS = {" in s).split("ETAS = ", 1)[1].split("\n\n")[0]
        if marker == "def pick_lr":
            source = source.split("smoothed = ewma")[0]
        if marker == "def warmup":
            source = source.split("rows = ")[0]
        exec(source, namespace)
    lrs = np.geomspace(1e-5, 10, 306)
    smoothed = ewma(2.3 - 0.2 * np.log10(lrs / 1e-5) + np.maximum(lrs - 0.1, 0) * 30, 0.98, bias_correction=True)
    for rule in ("minimum", "minimum / 10", "steepest descent"):
        assert namespace["pick_lr"](lrs, smoothed, rule) == pick_lr(lrs, smoothed, rule)
    assert [namespace["wsd"](0.03, 170)(t) for t in range(200)] == [wsd(0.03, 170)(t) for t in range(200)]
    assert [namespace["warmup"](0.1, 50)(t) for t in range(80)] == [warmup(0.1, 50)(t) for t in range(80)]
    assert namespace["MAX_STEPS"] == MAX_STEPS and namespace["BATCHES"] == BATCHES
    for name in ETAS:
        np.testing.assert_array_equal(namespace["ETAS"][name], ETAS[name])
