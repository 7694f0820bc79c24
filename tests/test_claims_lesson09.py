"""The claims of lesson 09 (Beyond Adam), re-checked where they could flip: a longer run (five to ten
times the notebook's), the stricter metric ("stays below from step N on", not "touches once"), three
seeds the choice of η never saw, many more for the race of section 5 (paired: the same seeds for every
rule, each rule's loss less Adam's), each rule at its own η where the lesson races two at one shared η,
and an interior best η. Each test names the sentence it checks.

The digits claims need hundreds of training runs. They are run here side by side: an update rule of
the course acts on each coordinate of θ separately, so one rule applied to the stacked parameters of
several networks is that rule applied to each network. ``train_many`` trains every (η, seed) pair of
a sweep at once, with the library's rules, the library's initialisation and batch order, and the
batched ``MLP.loss_and_grad`` of ``tests/claims_batched.py``; ``test_train_many_is_the_librarys_train``
holds it to ``train``.
"""

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest

from lessons_lib.data import load_digits_classification, minibatches
from lessons_lib.figures.lesson09_beyond_adam import VARIANTS, make_rule
from lessons_lib.mlp import MLP
from lessons_lib.optim import Adam, AdaBelief, Adamax, AdamW, AMSGrad, Lion, Lookahead, NAdam, RAdam
from lessons_lib.runner import run
from lessons_lib.schedules import Cosine
from lessons_lib.surfaces import get_surface
from lessons_lib.training import train

from claims_batched import evaluate, losses_and_grads, one_blas_thread

pytestmark = pytest.mark.slow  # 15–20 s of CPU: the sweeps of section 5 at two horizons, batched

MODEL = MLP((64, 32, 10))
RULES = ("Adam", *VARIANTS)
BATCH = 64
SHORT, LONG = 5, 25  # epochs: the notebook's 85 updates, and five times as many
GRID = 10.0 ** np.arange(-3, -0.4, 0.5)  # the notebook's grid
CHOOSE, MEASURE = (0,), (1, 2, 3)  # as the notebook: seed 0 chooses η, seeds 1 2 3 measure
PAIRED_SHORT = tuple(range(1, 21))  # the race paired on more seeds: 85 updates (seed 0 chose η)
PAIRED_LONG = tuple(range(4, 16))  # five times longer (seeds 1 2 3 chose η)


@pytest.fixture(scope="module")
def data():
    return load_digits_classification(seed=0)


# --- many networks at once ------------------------------------------------------------------------


def gradients(thetas, X, y):
    """The gradients of S × L networks (thetas: S × L × P): network (s, l) on the batch (X[s], y[s])."""
    S, L, P = thetas.shape
    _, grads = losses_and_grads(MODEL, thetas.reshape(S * L, P), np.repeat(X, L, axis=0), np.repeat(y, L, axis=0))
    return grads.reshape(S, L, P)


def mean_losses(thetas, X, y):
    """The mean cross-entropy of each of K networks (thetas: K × P) on (X, y); inf for a network that broke."""
    with np.errstate(all="ignore"):
        values, _ = evaluate(MODEL, thetas, X, y)
    return np.where(np.isfinite(values), values, np.inf)


def with_lr(rule, lr):
    """``rule`` with the learning rate ``lr``, a number or an array like θ (one η per coordinate).

    Every rule here takes a step linear in η (θ − η·d, d computed without η), so an array of η's makes
    one rule act as the same rule with a different η on each network. The dataclass refuses arrays,
    whence ``object.__setattr__``; Lookahead's η is its inner rule's."""
    if isinstance(rule, Lookahead):
        return replace(rule, inner=with_lr(rule.inner, lr))
    rule = replace(rule, lr=0.0)  # checked as a number; then the array
    object.__setattr__(rule, "lr", lr)
    return rule


def train_many(name, lrs, seeds, data, epochs, make=make_rule, schedule=None):
    """Rule ``name`` at each η of ``lrs`` with each seed: (final validation loss, final training loss),
    both arrays len(lrs) × len(seeds), as ``train(make(name, η), MODEL, data, seed=s, batch_size=64)``
    would give them (``schedule(step)``, if given, multiplies every η at that step)."""
    n = len(data.y_train)
    lrs = np.asarray(lrs, dtype=float)
    thetas = np.array([[MODEL.init(s)] * len(lrs) for s in seeds])  # S × L × P
    eta = np.broadcast_to(lrs[None, :, None], thetas.shape).ravel()
    rule = with_lr(make(name, 0.0), eta)
    state = rule.init(thetas.ravel())
    rngs = [np.random.default_rng(s) for s in seeds]
    step = 0
    with one_blas_thread(), np.errstate(all="ignore"):
        for _ in range(epochs):
            orders = [list(minibatches(n, BATCH, rng)) for rng in rngs]
            for batches in zip(*orders):
                idx = np.array(batches)
                grads = gradients(thetas, data.X_train[idx], data.y_train[idx])
                stepping = rule if schedule is None else with_lr(rule, eta * schedule(step))
                new, state = stepping.update(thetas.ravel(), grads.ravel(), state)
                thetas = new.reshape(thetas.shape)
                step += 1
    flat = thetas.transpose(1, 0, 2).reshape(-1, MODEL.n_params)  # L × S networks
    val, tr = mean_losses(flat, data.X_val, data.y_val), mean_losses(flat, data.X_train, data.y_train)
    return val.reshape(len(lrs), len(seeds)), tr.reshape(len(lrs), len(seeds))


def test_train_many_is_the_librarys_train(data):
    for name, lr in (("NAdam", 0.0316), ("Lookahead", 0.1), ("Lion", 0.003)):
        val, tr = train_many(name, [lr], (0, 2), data, epochs=2)
        for j, seed in enumerate((0, 2)):
            record = train(make_rule(name, lr), MODEL, data, epochs=2, batch_size=BATCH, seed=seed)
            assert val[0, j] == pytest.approx(record.val_loss[-1], rel=1e-9), name
            assert tr[0, j] == pytest.approx(record.train_loss[-1], rel=1e-9), name


# --- section 5: the sweep behind "which optimizer when" -------------------------------------------


@pytest.fixture(scope="module")
def sweeps(data):
    """{epochs: {rule: (chosen η, its index, the η's tried, validation losses of seeds 1 2 3 at each)}}.

    85 updates: the notebook's grid and protocol (seed 0 chooses, seeds 1 2 3 measure). Five times
    longer: each rule's η from a tenth to √10 times its 85-update choice (Adam's up to ten times, for
    the cost of a too-large η), half a decade apart, chosen on the mean of seeds 1 2 3 (the long runs are
    what costs; seed 0's choice is checked at 85 updates). Longer runs want smaller η, never larger."""
    out = {SHORT: {}, LONG: {}}
    for name in RULES:
        val, _ = train_many(name, GRID, CHOOSE + MEASURE, data, SHORT)
        i = int(np.argmin(val[:, 0]))
        out[SHORT][name] = (GRID[i], i, GRID, val[:, 1:])
        window = GRID[i] * 10.0 ** np.arange(-1, 1.01 if name == "Adam" else 0.51, 0.5)
        val, _ = train_many(name, window, MEASURE, data, LONG)
        j = int(np.argmin(val.mean(axis=1)))
        out[LONG][name] = (window[j], j, window, val)
    return out


@pytest.mark.parametrize("epochs", [SHORT, LONG])
def test_every_chosen_eta_is_inside_the_grid(sweeps, epochs):
    """'No warning: every rule's chosen η lies inside the grid' (and in the longer run, inside its window)."""
    for name, (_, i, lrs, measured) in sweeps[epochs].items():
        assert 0 < i < len(lrs) - 1, (epochs, name, lrs[i])
        # the seeds that did not choose agree that the best η is inside the grid
        assert 0 < int(np.argmin(measured.mean(axis=1))) < len(lrs) - 1, (epochs, name)


def test_by_their_ranges_on_three_seeds_seven_look_tied(sweeps):
    """'Compared by their ranges over the three seeds, seven of the eight look tied: each overlaps Adam's
    range' (the notebook's protocol, 85 updates). What the ranges hide is checked paired, below."""
    tuned = {name: measured[i] for name, (_, i, _, measured) in sweeps[SHORT].items()}
    low, high = tuned["Adam"].min(), tuned["Adam"].max()
    overlap = [n for n in RULES if tuned[n].min() <= high and tuned[n].max() >= low]
    assert overlap == [n for n in RULES if n != "Lion"], overlap


@pytest.fixture(scope="module")
def paired(sweeps, data):
    """{epochs: {rule: validation losses at its chosen η, on the paired seeds}}: the same seeds for every
    rule. 85 updates: seeds 1–20 (seed 0 chose η). Five times longer: seeds 4–15, which the choice of η
    (seeds 1 2 3) never saw."""
    seeds = {SHORT: PAIRED_SHORT, LONG: PAIRED_LONG}
    return {epochs: {name: train_many(name, [sweeps[epochs][name][0]], seeds[epochs], data, epochs)[0][0]
                     for name in RULES}
            for epochs in (SHORT, LONG)}


def differences(paired, epochs):
    """rule − Adam, seed by seed, for the seven others."""
    adam = paired[epochs]["Adam"]
    return {name: paired[epochs][name] - adam for name in RULES if name != "Adam"}


def test_paired_nadam_and_lookahead_come_out_ahead_of_adam_the_others_stay_close(paired):
    """'... paired on many more seeds (the claims test), NAdam and Lookahead come out ahead of Adam on nearly
    every seed, and the other four stay closer to Adam, at less than half those leads' (85 updates)."""
    d = differences(paired, SHORT)
    n = len(PAIRED_SHORT)
    leads = {}
    for name in ("NAdam", "Lookahead"):
        assert (d[name] < 0).sum() >= 0.9 * n, (name, d[name].round(3))  # saw 20 of 20 for each
        assert d[name].mean() < -0.01, (name, d[name].mean())  # saw −0.032 and −0.023
        leads[name] = -d[name].mean()
    for name in ("AMSGrad", "RAdam", "AdaBelief", "Adamax"):
        assert abs(d[name].mean()) < 0.5 * min(leads.values()), (name, d[name].mean())  # saw at most 0.006


def test_the_leads_are_far_less_than_a_wrong_eta_costs(sweeps, paired):
    """'A factor of 10 either way from Adam's chosen η raises its validation loss by 0.911 or 0.814: ... more
    than ten times the largest lead of a variant over Adam (paired)' — the largest mean paired difference of
    the seven on the paired seeds, under a tenth of either cost."""
    _, i, lrs, adam = sweeps[SHORT]["Adam"]
    tenth, ten = (int(np.flatnonzero(np.isclose(lrs, lrs[i] * f))[0]) for f in (0.1, 10))
    cost = min(adam[tenth].mean(), adam[ten].mean()) - adam[i].mean()  # saw 0.81
    largest = max(abs(d.mean()) for name, d in differences(paired, SHORT).items() if name != "Lion")
    assert largest < 0.1 * cost, (largest, cost)  # saw 0.032


def test_in_longer_runs_the_leads_shrink_and_the_order_changes(paired):
    """'Those leads are small, and they shrink ... In runs five times longer, with η chosen again, the claims
    test finds NAdam and Lookahead ahead of Adam on only about half the seeds, and AdaBelief and Adamax
    slightly above Adam: which variant leads, by a few thousandths, depends on the length of the run.'"""
    short, long = differences(paired, SHORT), differences(paired, LONG)
    n = len(PAIRED_LONG)
    for name in ("NAdam", "Lookahead"):
        assert abs(long[name].mean()) < abs(short[name].mean()) / 3, name  # saw 0.003 and 0.001
        assert 0.3 * n <= (long[name] < 0).sum() <= 0.65 * n, (name, long[name].round(3))  # saw 7, 6 of 12
    for name in ("AdaBelief", "Adamax"):  # below Adam on average in 85 updates, above it here
        assert short[name].mean() < 0, (name, short[name].mean())  # saw −0.006 and −0.004
        assert long[name].mean() > 0 and (long[name] > 0).sum() >= 0.7 * n, (name, long[name].round(3))
    assert max(abs(long[name].mean()) for name in long if name != "Lion") < 0.01  # saw 0.008


@pytest.mark.parametrize("epochs", [SHORT, LONG])
def test_lion_is_behind_adam_on_every_paired_seed(paired, epochs):
    """'Lion is behind: paired, its validation loss is above Adam's on each seed ... (the claims test: on
    every one of many seeds, in 85 updates and in runs five times longer)', by about 0.1 on average."""
    d = differences(paired, epochs)["Lion"]
    assert (d > 0).all(), (epochs, d.round(3))
    assert d.mean() > 0.05, (epochs, d.mean())  # saw 0.108 and 0.111


def test_radam_needs_a_larger_eta_than_adam_less_so_in_a_longer_run(sweeps):
    """'RAdam's r_t stays between 0.03 and 0.2 over all 85 updates, so ... it needs a larger η: on this grid,
    ten times Adam's ... In a longer run r_t rises and RAdam's best η moves down towards Adam's.'"""
    r = [RAdam().rectification(t) for t in range(6, 86)]
    assert 0.025 < min(r) and max(r) < 0.2
    ratio = {e: sweeps[e]["RAdam"][0] / sweeps[e]["Adam"][0] for e in (SHORT, LONG)}
    assert ratio[SHORT] == pytest.approx(10.0)
    assert 1.0 < ratio[LONG] < ratio[SHORT]
    # tuned, RAdam is as good as Adam: the seed ranges overlap (above); and not from the edge of the grid


def test_lion_and_radam_choose_their_own_eta(sweeps):
    """'Lion's is the smallest, RAdam's the largest' (and Lion's a third of Adam's), in both runs."""
    for epochs in (SHORT, LONG):
        eta = {name: chosen for name, (chosen, _, _, _) in sweeps[epochs].items()}
        assert eta["Lion"] == min(eta.values()) and eta["Lion"] < eta["Adam"] / 3, epochs
        assert eta["RAdam"] == max(eta.values()), epochs


def test_eta_matters_more_than_the_rule(sweeps):
    """'A factor of 10 either way from Adam's chosen η raises its validation loss by more than the whole
    spread between the tuned rules, Lion included. (In longer runs the too-small η catches up partly,
    the too-large one does not.)'"""
    cost = {}
    for epochs in (SHORT, LONG):
        _, i, lrs, adam = sweeps[epochs]["Adam"]
        means = {name: measured[j].mean() for name, (_, j, _, measured) in sweeps[epochs].items()}
        spread = max(means.values()) - min(means.values())
        tenth, ten = np.flatnonzero(np.isclose(lrs, lrs[i] / 10)), np.flatnonzero(np.isclose(lrs, lrs[i] * 10))
        assert tenth.size and ten.size, (epochs, lrs[i])  # both neighbours were run
        cost[epochs] = [(adam[k].mean() - means["Adam"]) / spread for k in (tenth[0], ten[0])]
    assert cost[SHORT][0] > 1 and cost[SHORT][1] > 1
    assert cost[LONG][1] > 1  # too large: still worse than any switch of rule
    assert cost[LONG][0] < cost[SHORT][0] / 2  # too small: catches up, at least halfway


def test_amsgrad_is_adam_on_digits(sweeps):
    """'AMSGrad is Adam here: the same validation loss to three decimals at every η up to 0.0316'."""
    for epochs, limit in ((SHORT, 5e-4), (LONG, 5e-3)):  # in the longer run they drift apart, a little
        _, _, lrs, adam = sweeps[epochs]["Adam"]
        _, _, tried, amsgrad = sweeps[epochs]["AMSGrad"]
        both = lrs[:len(tried)]
        assert np.allclose(both, tried)  # the same η's, Adam's window one longer
        upto = both <= 0.0317
        assert np.abs(adam[:len(tried)][upto] - amsgrad[upto]).max() < limit, epochs


# --- section 2: the surfaces ---------------------------------------------------------------------


def below_from(losses, target=1e-3):
    """The step from which the loss stays below target to the end of the run (None: it ends above)."""
    above = np.flatnonzero(~(losses < target))
    if above.size == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < len(losses) else None


@lru_cache(maxsize=None)
def losses(rule, surface, steps):
    s = get_surface(surface)
    return run(rule, s, s.start, steps).losses - s.min_loss


@pytest.mark.parametrize("steps", [300, 3000])
def test_the_surface_comparisons_hold_with_the_stricter_metric(steps):
    """At the notebook's shared η: §2.3 'at the same η the warm-up costs time' (bowl), §2.4 'below 10⁻³ for
    good in about a third of Adam's steps' (valley), §2.5 Adamax behind Adam, §2.7 Lookahead sooner on
    Himmelblau, later on the valley."""
    bowl = [below_from(losses(r, "bowl", steps)) for r in (Adam(lr=0.05), RAdam(lr=0.05))]
    assert bowl[0] < bowl[1]
    adam, adabelief = (below_from(losses(r, "valley", steps)) for r in (Adam(lr=0.05), AdaBelief(lr=0.05)))
    assert adabelief < adam / 2.5
    adamax = losses(Adamax(lr=0.05), "valley", steps)
    assert below_from(adamax) is None or below_from(adamax) > adam
    if steps == 300:
        assert adamax[-1] > 20 * losses(Adam(lr=0.05), "valley", steps)[-1]
    for surface, sooner in (("himmelblau", True), ("valley", False)):
        a = below_from(losses(Adam(lr=0.2), surface, steps))
        la = below_from(losses(Lookahead(Adam(lr=0.2)), surface, steps))
        assert (la < a) is sooner, surface
    a, la = (below_from(losses(r, "valley", steps)) for r in (Adam(lr=0.2), Lookahead(Adam(lr=0.2))))
    assert 1.4 < la / a < 2


SURFACE_GRID = 10.0 ** np.arange(-1, 0.76, 0.125)  # η from 0.1 to 5.6, an eighth of a decade apart


def own_best(make, surface, steps=300):
    """A rule at its own best η of SURFACE_GRID: (the grid index, the step from which it stays below 10⁻³)."""
    settled = [below_from(losses(make(lr), surface, steps)) for lr in SURFACE_GRID]
    settled = [np.inf if b is None else b for b in settled]
    i = int(np.argmin(settled))
    return i, settled[i]


def test_each_rule_at_its_own_eta_on_the_surfaces():
    """Section 2: 'Each race in this section runs the variant and Adam at the same η ... It does not tell which
    rule is faster when each has an η of its own'. Each at its own best η (an eighth of a decade apart, 300
    steps, every best inside the grid): §2.3 'each with an η of its own, RAdam settles as soon as Adam or
    sooner' (bowl); §2.4 'each at its own best η, Adam, with a larger one, settles about as soon as AdaBelief'
    (valley); §2.5 'each at its own best η, Adamax settles on the valley a little sooner than Adam'; §2.7
    'each at its own best η (a larger one for both), the order turns: Lookahead settles on the valley sooner
    than Adam too'; on Himmelblau NAdam's and Lookahead's leads hold (in under half Adam's steps); and the
    guide's 'NAdam's best η there was below Adam's'."""
    best = {
        ("bowl", "Adam"): own_best(lambda lr: Adam(lr=lr), "bowl"),
        ("bowl", "RAdam"): own_best(lambda lr: RAdam(lr=lr), "bowl"),
        ("valley", "Adam"): own_best(lambda lr: Adam(lr=lr), "valley"),
        ("valley", "AdaBelief"): own_best(lambda lr: AdaBelief(lr=lr), "valley"),
        ("valley", "Adamax"): own_best(lambda lr: Adamax(lr=lr), "valley"),
        ("valley", "Lookahead"): own_best(lambda lr: Lookahead(Adam(lr=lr)), "valley"),
        ("himmelblau", "Adam"): own_best(lambda lr: Adam(lr=lr), "himmelblau"),
        ("himmelblau", "NAdam"): own_best(lambda lr: NAdam(lr=lr), "himmelblau"),
        ("himmelblau", "Lookahead"): own_best(lambda lr: Lookahead(Adam(lr=lr)), "himmelblau"),
    }
    for key, (i, _) in best.items():
        assert 0 < i < len(SURFACE_GRID) - 1, (key, SURFACE_GRID[i])
    lr = {key: SURFACE_GRID[i] for key, (i, _) in best.items()}
    assert lr["valley", "Adam"] > lr["valley", "AdaBelief"]  # 'Adam, with a larger one': saw 1.78 and 0.24
    assert min(lr["valley", "Adam"], lr["valley", "Lookahead"]) > 0.2  # 'a larger one for both' than §2.7's
    step = {key: settled for key, (_, settled) in best.items()}
    assert step["bowl", "RAdam"] <= step["bowl", "Adam"]  # saw 36 and 67
    assert abs(step["valley", "AdaBelief"] - step["valley", "Adam"]) < 0.1 * step["valley", "Adam"]  # 78, 81
    assert step["valley", "Adamax"] < step["valley", "Adam"]  # saw 69 and 81
    assert step["valley", "Lookahead"] < step["valley", "Adam"]  # saw 35 and 81
    for name in ("NAdam", "Lookahead"):
        assert step["himmelblau", name] < step["himmelblau", "Adam"] / 2, name  # saw 36, 35 and 103
    # NAdam's best η is below Adam's (the guide: 'with its own η sweep')
    assert SURFACE_GRID[best["himmelblau", "NAdam"][0]] < SURFACE_GRID[best["himmelblau", "Adam"][0]]


def test_at_adams_eta_nadam_settles_later_from_another_start():
    """The guide: 'at Adam's η, NAdam settled later than Adam from some other starts on Himmelblau' —
    from (4, −1), η = 0.2, 300 steps."""
    s = get_surface("himmelblau")
    adam, nadam = (below_from(run(rule, s, np.array([4.0, -1.0]), 300).losses - s.min_loss)
                   for rule in (Adam(lr=0.2), NAdam(lr=0.2)))
    assert adam is not None and nadam is not None and nadam > adam  # saw 239 and 88


def test_nadam_leads_in_300_steps_then_leaves_the_minimum_and_adam_leaves_later():
    """§2.2 'In these 300 steps NAdam gets below 10⁻³ for good in about a third of Adam's steps ... NAdam
    does not stay at the minimum ... Adam stays through these 3000 steps, but not for ever.'"""
    nadam, adam = losses(NAdam(lr=0.2), "himmelblau", 3000), losses(Adam(lr=0.2), "himmelblau", 7000)
    assert below_from(nadam[:301]) < below_from(adam[:301]) / 2.5
    assert nadam[:301].min() < 1e-16 and nadam[2000:].min() > 1e-3  # reached the bottom, then hops
    assert adam[300:3001].max() < 1e-3  # Adam stays, within 3000 steps
    assert adam[3001:].max() > 1e-3  # and leaves later


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.2, 0.3])
def test_lion_never_settles_its_loss_keeps_coming_back_up(lr):
    """§2.6 'It never settles: along y it hops across 0, exactly η at every step, so at one of any two
    consecutive steps it is at least η/2 from 0 and its loss at least 2(η/2)² = η²/2 ... From this start it
    is back at y = ±η every other step, at a loss of 0.08 (2η²); at other η's or from other starts its loss
    can touch 0 between two hops, but it does not stay there' — over ten times the notebook's run (the last
    100 of 3000 steps), at four η's, from the notebook's start and three others."""
    s = get_surface("valley")
    assert tuple(s.start) == (-7.0, 2.0)
    for start in (s.start, (7.03, 2.01), (6.9, 1.95), (3.3, -0.77)):
        tail = (run(Lion(lr=lr), s, np.array(start), 3000).losses - s.min_loss)[-100:]
        every_other = np.maximum(tail[:-1], tail[1:])  # the larger loss of each two consecutive steps
        assert every_other.min() >= 0.5 * lr**2 * (1 - 1e-9), start  # saw ≥ 0.6 η²
        if start == s.start and lr == 0.2:  # the notebook's run: every other step at 2η²
            assert np.allclose(every_other, 2 * lr**2), every_other
        if start == s.start and lr == 0.1:  # it can touch the minimum: saw 8e-30
            assert tail.min() < 1e-20


@pytest.mark.parametrize("steps", [300, 3000])
def test_amsgrad_falls_behind_adam_with_beta2_099(steps):
    """§2.1 'With β₂ = 0.99 ... in these 300 steps it falls behind' — and still at ten times that."""
    adam, amsgrad = (losses(r, "rosenbrock", steps)[-1]
                     for r in (Adam(lr=0.05, beta2=0.99), AMSGrad(lr=0.05, beta2=0.99)))
    assert amsgrad > 3 * adam


# --- §2.1: Reddi et al.'s counterexample ----------------------------------------------------------


def online_run(amsgrad, C=3.0, steps=3000, starts=(-1.0, 0.0, 1.0), lr=0.1, beta1=0.0, beta2=None):
    """The notebook's online_run, for several starts at once (one coordinate each), with η_t = lr/√t.

    The rule runs with η = 1 and its step is scaled by η_t: Adam's step is linear in η, and this
    skips a ``replace`` per step (the notebook's loop, five times longer, would take seconds)."""
    beta2 = 1 / (1 + C**2) if beta2 is None else beta2
    rule = Adam(lr=1.0, beta1=beta1, beta2=beta2, amsgrad=amsgrad)
    x = np.array(starts)
    state = rule.init(x)
    played = np.empty((steps, len(x)))
    grads = np.empty(steps)
    kick, steady = np.full_like(x, C), np.full_like(x, -1.0)  # the two gradients, one array each
    for t in range(1, steps + 1):
        g = C if t % 3 == 1 else -1.0
        played[t - 1], grads[t - 1] = x, g
        new, state = rule.update(x, kick if t % 3 == 1 else steady, state)
        x = np.minimum(np.maximum(x + lr / np.sqrt(t) * (new - x), -1.0), 1.0)  # np.clip, without its overhead
    return played, grads[:, None] * (played + 1)


def test_online_run_is_the_notebooks_loop():
    played, regret = online_run(False, steps=200, starts=(0.0,))
    x, state, rule = np.array([0.0]), None, Adam(beta1=0.0, beta2=0.1)
    state = rule.init(x)
    for t in range(1, 201):
        assert played[t - 1, 0] == pytest.approx(x[0], abs=1e-12)
        x, state = replace(rule, lr=0.1 / np.sqrt(t)).step(x, np.array([3.0 if t % 3 == 1 else -1.0]), state)
        x = np.clip(x, -1.0, 1.0)


def test_adam_goes_to_the_wrong_end_and_amsgrad_converges():
    """§2.1 'With the paper's β's, Adam drifts to the wrong end, x = +1, and stays there: its regret per step
    ... goes to 2(C − 2)/3. AMSGrad ... goes to x = −1 and its mean regret shrinks towards 0.' The
    notebook's 3000 steps ×5, from three starts, and the stricter metric: every point of the last tenth."""
    steps = 15_000
    adam, adam_regret = online_run(False, steps=steps)
    amsgrad, amsgrad_regret = online_run(True, steps=steps)
    tail = slice(-steps // 10, None)
    assert adam[tail].min() > 0.99 and amsgrad[tail].max() < -0.99
    assert adam_regret[tail].mean(axis=0) == pytest.approx(2 / 3, abs=0.01)  # the price of x = +1
    means = [amsgrad_regret[:n].mean() for n in (300, 3000, steps)]
    assert means[0] > means[1] > means[2] and means[2] < means[0] / 5  # falling towards 0
    # with the usual β's Adam solves this problem
    usual, _ = online_run(False, steps=steps, beta1=0.9, beta2=0.999)
    assert usual[tail].max() < -0.99


# --- section 6: troubleshooting, each fix against its problem --------------------------------------


def adam_or_adamw(name, lr):
    return AdamW(lr=lr, weight_decay=1.0) if name == "AdamW" else Adam(lr=lr)


@pytest.mark.parametrize("epochs", [60, 300])
def test_weight_decay_fixes_the_overfit_small_set(data, epochs):
    """'200 images: validation loss 0.72 with Adam, 0.46 with AdamW (λ = 1)' — on three other seeds,
    and five times longer, where Adam has had longer to overfit."""
    small = replace(data, X_train=data.X_train[:200], y_train=data.y_train[:200])
    adam, adam_train = train_many("Adam", [1e-2], MEASURE, small, epochs, make=adam_or_adamw)
    adamw, _ = train_many("AdamW", [1e-2], MEASURE, small, epochs, make=adam_or_adamw)
    assert adamw.max() < adam.min()  # every AdamW seed below every Adam seed
    assert adam.mean() - adamw.mean() > 0.1  # and by far on average
    assert adam_train.max() < 0.01  # Adam fits the 200 images: the gap is overfitting


def test_overfitting_adam_creeps_up_and_adamw_is_more_accurate(data):
    """The overfit row: 'validation loss stops falling, then creeps up' (Adam, 200 images) and 'accuracy
    82 % → 86 %' (AdamW above Adam) — on three other seeds, 60 epochs as the notebook."""
    small = replace(data, X_train=data.X_train[:200], y_train=data.y_train[:200])
    for seed in MEASURE:
        adam = train(Adam(lr=1e-2), MODEL, small, epochs=60, batch_size=BATCH, seed=seed)
        adamw = train(AdamW(lr=1e-2, weight_decay=1.0), MODEL, small, epochs=60, batch_size=BATCH, seed=seed)
        assert adam.val_loss[-1] - adam.val_loss.min() > 0.01, seed  # saw 0.035 to 0.047
        assert np.argmin(adam.val_loss) < len(adam.val_loss) - 10, seed  # its lowest point well before the end
        assert adamw.val_accuracy[-1] > adam.val_accuracy[-1], seed


@pytest.mark.parametrize("epochs", [10, 50])
def test_cosine_fixes_the_late_stall(data, epochs):
    """'constant η = 0.1: training loss between 0.12 and 0.37 from the fourth epoch on; cosine: 5·10⁻⁴'
    — on three other seeds; and 'in longer runs a constant η = 0.1 sometimes finds its way down anyway
    (on some of the claims test's seeds, not all ...); the cosine gets there on every seed', with a run
    (and a cosine) five times longer. Which seeds come down depends on the last bits of the arithmetic
    (one of three with the library's own, two with another batching), so the test asks for some, not all."""
    total = epochs * -(-len(data.y_train) // BATCH)
    _, constant = train_many("Adam", [0.1], MEASURE, data, epochs)
    _, cosine = train_many("Adam", [0.1], MEASURE, data, epochs, schedule=Cosine(1.0, total))
    if epochs == 10:
        assert cosine.max() < constant.min() / 10
    else:
        assert cosine.max() < 1e-4 and 0 < np.sum(constant > 1e-2) < len(MEASURE)


def test_the_learning_rate_fixes_divergence_and_slow_progress(data):
    """'Adam, η = 1: training loss between 12 and 40 after every epoch' (above its start): on three other
    seeds, above the start after every one of the first five epochs (the notebook shows three); and 'in
    longer runs it wanders and can fall back below its start for a while, without training': over fifteen
    epochs, still above the start at some epoch of the last five on every seed. And 'η = 10⁻⁴: from 2.80
    to 2.49 in 5 epochs' against η = 0.01 — three other seeds, five times longer."""
    for seed in MEASURE:
        record = train(make_rule("Adam", 1.0), MODEL, data, epochs=15, batch_size=BATCH, seed=seed)
        start = record.train_loss[0]
        assert (record.train_loss[1:6] > start).all(), (seed, record.train_loss)
        assert record.train_loss[-5:].max() > start, (seed, record.train_loss)
    _, losses = train_many("Adam", [1e-4, 1e-2], MEASURE, data, 25)
    assert losses[0].min() > 10 * losses[1].max() and losses[0].min() > 1.0  # still slow
