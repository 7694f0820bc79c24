"""The claims of lesson 03 (notebooks/03_momentum.ipynb), re-checked where they could flip.

Each test names the sentence it checks. The lesson counts steps within 100–300 steps; here the same
counts meet horizons five to ten times longer, the strict count ("stays below", never "touches"), and the
interior of every grid. Everything is deterministic (no noise in this lesson), so one run is the truth.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from lessons_lib.figures import lesson03_momentum as lesson03
from lessons_lib.optim import SGD
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface
from lessons_lib.sweeps import EDGE_FLAG, best_on_grid

pytestmark = pytest.mark.slow  # about 3 s: grids of 15 000 runs over 500 steps

VALLEY = get_surface("valley")
TARGET = 1e-6
LONG = 10  # the horizons of the lesson, times this
GRID_LONG = 5  # for the big batches of runs (section 5's grid of 14 850 pairs, 401 starts): five times
GRID_LR, GRID_BETA = np.meshgrid(np.arange(1, 151) / 100, np.arange(0, 99) / 100)  # section 5's grid


def stays(lr: float, beta: float = 0.0, nesterov: bool = False, steps: int = 1500) -> int | None:
    rule = SGD(lr=lr, momentum=beta, nesterov=nesterov) if beta > 0 else SGD(lr=lr)
    return lesson03.steps_to_stay_below(run(rule, VALLEY, VALLEY.start, steps).losses, TARGET)


@lru_cache(maxsize=None)
def grid_winner(nesterov: bool, max_steps: int, stay: bool = True) -> tuple[float, float, float]:
    counts = lesson03.steps_to_reach(VALLEY, GRID_LR, GRID_BETA, target=TARGET, max_steps=max_steps,
                                     nesterov=nesterov, stay=stay)
    i, j = best_on_grid(counts, β=GRID_BETA[:, 0], η=GRID_LR[0])
    return GRID_LR[i, j], GRID_BETA[i, j], counts[i, j]


def test_gradient_descent_at_its_best_stays_below_from_step_79_and_its_best_eta_is_interior(capsys):
    # "best η for gradient descent: 0.465 ... stays < 1e-06 from step 79" (sections 1 and 5)
    lrs = np.arange(1, 500) / 1000
    counts = lesson03.steps_to_reach(VALLEY, lrs, target=TARGET, max_steps=200 * LONG, stay=True)
    (i,) = best_on_grid(counts, η=lrs)
    assert EDGE_FLAG not in capsys.readouterr().out
    assert (lrs[i], counts[i]) == (0.465, 79)
    assert stays(0.465, steps=150 * LONG) == 79


def test_guessed_momentum_beats_the_best_gradient_descent():
    # "it gets there in 45 steps instead of 79, with η and β that were only guessed" (section 2)
    assert stays(0.2, 0.7) == 45 < stays(0.465) == 79


@pytest.mark.parametrize("nesterov, expected", [(False, (0.65, 0.43, 19)), (True, (0.31, 0.63, 24))])
def test_grid_winners_are_interior_and_hold_over_a_five_times_longer_horizon(capsys, nesterov, expected):
    # "heavy ball at its best (η = 0.65, β = 0.43): 19 ... Nesterov at its best (η = 0.31, β = 0.63): 24"
    assert grid_winner(nesterov, 100) == pytest.approx(expected)
    assert grid_winner(nesterov, 100 * GRID_LONG) == pytest.approx(expected)
    assert EDGE_FLAG not in capsys.readouterr().out
    lr, beta, count = expected
    assert stays(lr, beta, nesterov) == count


def test_tuned_heavy_ball_beats_tuned_nesterov_and_gradient_descent():
    # "Tuned heavy ball wins on this valley, by 19 steps to 24"; "about a quarter of the steps (24%)"
    heavy, nesterov = grid_winner(False, 100 * GRID_LONG)[2], grid_winner(True, 100 * GRID_LONG)[2]
    assert heavy < nesterov
    assert 0.2 < heavy / stays(0.465) < 0.3


def test_the_first_touch_count_crowns_a_pair_that_bounces_back():
    # "Nesterov's best on the first-touch count: η = 0.27, β = 0.77 ... loss 5.2e-08 at step 10,
    #  back up to 3.4e-02 at step 14, stays < 1e-06 only from step 49"
    lr, beta, touch = grid_winner(True, 100, stay=False)
    assert (lr, beta, touch) == pytest.approx((0.27, 0.77, 10))
    losses = run(SGD(lr=lr, momentum=beta, nesterov=True), VALLEY, VALLEY.start, 150 * LONG).losses
    assert losses[10] < TARGET < 1e-2 < losses[14]
    assert lesson03.steps_to_stay_below(losses, TARGET) == 49 > grid_winner(True, 100 * GRID_LONG)[2]


def test_grid_winner_sits_near_the_long_run_best_pair():
    # "The grid's winner sits near this pair but not on it" (η = 0.668, β = 0.403)
    lr, beta, _ = grid_winner(False, 100 * GRID_LONG)
    kappa = 20.0
    root = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    assert abs(lr - (1 + root) ** 2 / 4) < 0.05 and abs(beta - root**2) < 0.05


def test_on_a_quadratic_tuned_heavy_ball_contracts_faster_than_tuned_nesterov():
    # "heavy ball: shrinks by 0.635 per step at best ...; Nesterov: 0.744" and the two formulas
    lam_min, lam_max = 0.2, 4.0
    kappa = lam_max / lam_min
    s = np.sqrt(3 * kappa + 1)
    root = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    best_pairs = {False: (4 / (np.sqrt(lam_max) + np.sqrt(lam_min)) ** 2, root**2),
                  True: (4 / (lam_min + 3 * lam_max), (s - 2) / (s + 2))}
    formulas = {False: (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1), True: 1 - 2 / s}

    def factor(lr, beta, nesterov):
        return np.maximum(lesson03.largest_modulus(lr * lam_min, beta, nesterov),
                          lesson03.largest_modulus(lr * lam_max, beta, nesterov))

    etas, betas = np.meshgrid(np.linspace(0.001, 1.2, 600), np.linspace(0, 0.999, 500))
    for nesterov in (False, True):
        assert factor(*best_pairs[nesterov], nesterov) == pytest.approx(formulas[nesterov], abs=1e-9)
        assert factor(etas, betas, nesterov).min() >= formulas[nesterov] - 1e-9  # nothing on a grid does better
    assert formulas[False] < formulas[True]
    # and the long-run factor decides long runs: at their best pairs, heavy ball ends lower
    heavy = run(SGD(lr=best_pairs[False][0], momentum=best_pairs[False][1]), VALLEY, VALLEY.start, 300).losses
    nesterov = run(SGD(lr=best_pairs[True][0], momentum=best_pairs[True][1], nesterov=True), VALLEY,
                   VALLEY.start, 300).losses
    assert heavy[100] < nesterov[100] and heavy[300] < nesterov[300]


MU, L = 1.0, 25.0
ROOT = (np.sqrt(L / MU) - 1) / (np.sqrt(L / MU) + 1)
S = np.sqrt(3 * L / MU + 1)
KINKED_RULES = {"heavy ball, tuned": SGD(lr=4 / (np.sqrt(L) + np.sqrt(MU)) ** 2, momentum=ROOT**2),
                "Nesterov, tuned": SGD(lr=4 / (3 * L + MU), momentum=(S - 2) / (S + 2), nesterov=True),
                "Nesterov, η = 1/L": SGD(lr=1 / L, momentum=ROOT, nesterov=True)}


def kinked_run(name: str, starts: np.ndarray, steps: int):
    return run(KINKED_RULES[name], lesson03.kinked_grad, starts, steps, loss=lesson03.kinked_loss)


def test_tuned_heavy_ball_cycles_forever_on_the_kinked_loss():
    # "Heavy ball never arrives from x₀ = 3.3: it hops between three points ... for as long as we let it run"
    path = kinked_run("heavy ball, tuned", np.array([3.3]), 300 * LONG)
    x = path.positions[:, 0]
    assert lesson03.steps_to_stay_below(path.losses, 1e-12) is None
    np.testing.assert_allclose(x[-3:], x[-6:-3], atol=1e-9)  # period three, to the end
    assert len({round(v, 6) for v in x[-3:]}) == 3 and path.losses[-30:].min() > 1
    # "it falls into the same cycle from other starts too (the 10 % of the 201 ...)"
    many = kinked_run("heavy ball, tuned", np.linspace(-10, 10, 201)[:, None], 300 * GRID_LONG)
    assert 0.05 < np.mean(many.losses[-1] > 1e-12) < 0.15


@pytest.mark.parametrize("name", ["Nesterov, tuned", "Nesterov, η = 1/L"])
def test_nesterov_converges_on_the_kinked_loss_from_every_start(name):
    # "Nesterov converges from every start tried, with its quadratic tuning and with the proven one"
    starts = np.linspace(-50, 50, 401)[:, None]  # a wider range, more starts, five times longer
    path = kinked_run(name, starts, 300 * GRID_LONG)
    assert np.all(path.losses[-1] < 1e-12)
    assert np.all(kinked_run(name, np.linspace(-10, 10, 201)[:, None], 300).losses[-1] < 1e-12)


@lru_cache(maxsize=None)
def beta_09_counts(max_steps: int) -> dict[bool, np.ndarray]:
    return {nesterov: lesson03.steps_to_reach(VALLEY, np.arange(1, 100) / 100, 0.9, target=TARGET,
                                              max_steps=max_steps, nesterov=nesterov, stay=True)
            for nesterov in (False, True)}


def test_at_beta_0_9_nesterov_is_faster_wherever_both_arrive_within_300_steps():
    # "At β = 0.9, from this start, Nesterov is faster at every η where both arrive within 300 steps"
    counts = beta_09_counts(300)
    both = np.isfinite(counts[False]) & np.isfinite(counts[True])
    assert both.sum() > 25 and np.all(counts[True][both] < counts[False][both])


def test_at_beta_0_9_the_comparison_flips_only_at_the_smallest_eta_over_a_longer_window():
    # "... in a ten times longer window, η = 0.01 arrives too, and there heavy ball is first (303 against 311)"
    counts = beta_09_counts(300 * LONG)
    both = np.isfinite(counts[False]) & np.isfinite(counts[True])
    sweep = np.arange(1, 100) / 100
    heavy_first = sweep[both & (counts[False] <= counts[True])]
    assert list(heavy_first) == [0.01]
    assert (counts[False][0], counts[True][0]) == (303, 311)


#: other starts: the loss of the lesson's start (12.9), at these angles around the valley
OTHER_ANGLES = (10, 20, 35, 50, 70, 110, 130, 160, 175)


def other_start(angle: float) -> np.ndarray:
    a = np.radians(angle)
    level = 2 * VALLEY.loss(np.array(VALLEY.start)) / np.diag(VALLEY.hessian)
    return np.sqrt(level) * np.array([np.cos(a), np.sin(a)])


@lru_cache(maxsize=None)
def beta_09_counts_from(angle: float) -> dict[bool, np.ndarray]:
    return {nesterov: lesson03.steps_to_reach(VALLEY, np.arange(1, 100) / 100, 0.9, target=TARGET, max_steps=300,
                                              nesterov=nesterov, start=other_start(angle), stay=True)
            for nesterov in (False, True)}


@pytest.mark.parametrize("angle", OTHER_ANGLES)
def test_at_beta_0_9_nesterov_is_faster_from_eta_0_04_up_from_other_starts(angle):
    """'At β = 0.9, from this start, Nesterov is faster at every η where both arrive within 300 steps ...
    From other starts it is too, except at the smallest η, where the order depends on the start': from
    η = 0.04 up Nesterov is faster from every start."""
    counts, sweep = beta_09_counts_from(angle), np.arange(1, 100) / 100
    both = np.isfinite(counts[False]) & np.isfinite(counts[True])
    larger = both & (sweep >= 0.04)
    assert larger.sum() > 25 and np.all(counts[True][larger] < counts[False][larger])


def test_at_beta_0_9_heavy_ball_is_first_at_the_smallest_eta_from_some_other_starts():
    """'at the smallest η ... the order depends on the start': from (10.67, 0.87) heavy ball is first at
    η = 0.02 (143 steps against 146)."""
    counts = beta_09_counts_from(20)
    assert (counts[False][1], counts[True][1]) == (143, 146)
    flips = [angle for angle in OTHER_ANGLES
             if np.any((beta_09_counts_from(angle)[False] <= beta_09_counts_from(angle)[True])[:3])]
    assert len(flips) >= 5


def test_at_beta_0_9_heavy_ball_takes_a_larger_eta():
    # "heavy ball keeps converging up to an η 2.8 times larger" (0.94 against 0.33)
    sweep = np.arange(1, 100) / 100
    for max_steps in (300, 300 * LONG):
        counts = beta_09_counts(max_steps)
        assert [sweep[np.isfinite(counts[n])].max() for n in (False, True)] == [0.94, 0.33]
    # the same edges as the eigenvalues' stability limits, so no horizon will move them
    assert lesson03.largest_modulus(0.94 * 4, 0.9) < 1 <= lesson03.largest_modulus(0.95 * 4, 0.9) + 1e-12
    assert lesson03.largest_modulus(0.33 * 4, 0.9, nesterov=True) < 1 < lesson03.largest_modulus(0.34 * 4, 0.9,
                                                                                                  nesterov=True)


def test_in_the_race_nesterov_stays_below_first_and_gradient_descent_is_far_behind():
    # "At the same η and β, ... [Nesterov] stays below the target sooner" (η = 0.1, β = 0.9)
    heavy, nesterov, gd = stays(0.1, 0.9), stays(0.1, 0.9, nesterov=True), stays(0.1)
    assert (nesterov, heavy) == (123, 149)
    assert gd is not None and gd > 2 * heavy  # "far behind"


def test_the_old_velocity_rule_diverges_where_the_right_rule_converges():
    # "it diverges where the right rule converges" (η = 0.1, β = 0.9, 60 steps in the lesson)
    steps = 60 * LONG
    right = run(SGD(lr=0.1, momentum=0.9), VALLEY, VALLEY.start, steps)
    assert not right.diverged and right.losses[-1] < 1e-12
    theta, v = np.array(VALLEY.start), np.zeros(2)
    for t in range(steps):
        theta, v = theta + v, 0.9 * v - 0.1 * VALLEY.grad(theta)  # θ_{t+1} = θ_t + v_t: the old velocity
        if np.abs(theta).max() > 1e8:
            break
    assert np.abs(theta).max() > 1e8 and t < 200


def test_halving_eta_parts_the_classical_and_pytorch_paths_then_both_reach_the_minimum():
    # "The two paths part by up to 3.9e-02 a few steps after the change ... the gap closes again"
    lr, beta = 0.2, 0.7
    theta_c, v = np.array(VALLEY.start), np.zeros(2)
    theta_p, b = np.array(VALLEY.start), None
    gaps = []
    for t in range(150 * LONG):
        lr_t = lr if t < 20 else lr / 2
        v = beta * v - lr_t * VALLEY.grad(theta_c)
        theta_c = theta_c + v
        g = VALLEY.grad(theta_p)
        b = g if b is None else beta * b + g
        theta_p = theta_p - lr_t * b
        gaps.append(np.abs(theta_c - theta_p).max())
    assert max(gaps[:20]) < 1e-14
    assert int(np.argmax(gaps)) + 1 == 26 and round(max(gaps), 3) == 0.039
    assert gaps[149] < 1e-5 and gaps[-1] < 1e-12 and np.abs(theta_p).max() < 1e-12
