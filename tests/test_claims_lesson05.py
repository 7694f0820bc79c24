"""The claims of lesson 05 (notebooks/05_adam.ipynb), re-checked where they could flip.

Each test quotes the sentence it checks. The lesson shows one run per claim; here the claims meet runs
five to ten times longer, the stricter metric ("from then on", "never"), five seeds for the noisy
gradients, and every surface of the course for the race.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # a few seconds of runs: the longest is 30 000 steps of Adam on the valley

from lessons_lib.figures import lesson05_adam as lesson05
from lessons_lib.optim import SGD, Adam, RMSprop
from lessons_lib.runner import replay, run
from lessons_lib.surfaces import SURFACES, get_surface

VALLEY = get_surface("valley")
ROSENBROCK = get_surface("rosenbrock")
SEEDS = range(5)


def flips(values: np.ndarray) -> np.ndarray:
    """Where a sequence of steps reverses its direction: step t + 1 against step t."""
    steps = np.diff(values)
    return np.sign(steps[1:]) * np.sign(steps[:-1]) < 0


# --- section 1: "Its path has no zig-zag" --------------------------------------------------------------


def test_adam_does_not_zigzag_where_gradient_descent_does():
    """'Gradient descent … bounces from wall to wall. … [Adam's] path has no zig-zag. It overshoots the
    minimum and swings back.' Ten times the 200 steps: gradient descent (η = 0.465) reverses its y step at
    every step; Adam without the correction (η = 0.1) in fewer than one step in seven, and crosses x = 0."""
    adam = run(Adam(lr=0.1, bias_correction=False), VALLEY, VALLEY.start, steps=2000).positions
    descent = run(SGD(lr=0.465), VALLEY, VALLEY.start, steps=2000).positions
    assert flips(descent[:, 1]).all()
    assert flips(adam[:, 1]).mean() < 1 / 7 and flips(adam[:51, 1]).sum() <= 5
    assert (np.sign(adam[1:, 0]) != np.sign(adam[:-1, 0])).any()  # it overshoots x = 0 and comes back


# --- section 3: "needs 9854 steps to bring x within 0.1" -----------------------------------------------


def test_adam_with_its_defaults_keeps_x_within_a_tenth_from_step_9854_on():
    """The run of section 3 brings |x| below 0.1 at step 9854 and keeps it there for good (here over
    30 000 steps, not 11 000), with no step longer than η."""
    x = run(Adam(), VALLEY, VALLEY.start, steps=30_000).positions[:, 0]
    assert np.flatnonzero(np.abs(x) >= 0.1)[-1] + 1 == 9854
    assert np.abs(np.diff(x)).max() <= 1e-3


# --- section 4: "no step is longer than η", the scale, the bound 7.27 -----------------------------------


def test_no_adam_step_on_rosenbrock_is_longer_than_eta_over_ten_times_the_steps():
    """'The gradient spans more than five orders of magnitude, and no step is longer than η.' (500 steps
    in the lesson, 5000 here.) And gradient descent's first step in x is 215.6 η."""
    path = run(Adam(lr=0.05), ROSENBROCK, ROSENBROCK.start, steps=5000)
    assert np.abs(path.steps).max() <= 0.05 * (1 + 1e-9)
    sizes = np.abs(path.grads[:500])
    assert sizes.max() / sizes.min() > 1e5
    assert abs(path.grads[0, 0]) == pytest.approx(215.6)


def test_adam_ignores_the_scale_of_the_loss_over_ten_times_the_steps():
    """'The paths agree to within 10⁻⁴ … while SGD with the same η on 1000 × L diverges at once.'"""
    base = run(Adam(lr=0.05), VALLEY.grad, VALLEY.start, steps=3000).positions
    for scale in (1e-3, 1e3):
        scaled = run(Adam(lr=0.05), lambda theta: scale * VALLEY.grad(theta), VALLEY.start, steps=3000)
        assert np.abs(scaled.positions - base).max() < 1e-4
    sgd = run(SGD(lr=0.05), lambda theta: 1e3 * VALLEY.grad(theta), VALLEY.start, steps=3000)
    assert sgd.diverged and sgd.diverged_at <= 5


def test_the_cauchy_schwarz_bound_holds_and_is_approached_by_a_growing_gradient():
    """'never more than 7.3 η with the default β's'; 'approached only by gradients that grow by the factor
    β₂/β₁ … for thousands of steps' (2000 steps give 6.76 η). 20 000 steps of such growth, and two hundred
    random sequences whose size grows by e⁸, stay under the bound."""
    b1, b2 = 0.9, 0.999
    worst = np.sqrt((1 - b1) ** 2 / ((1 - b2) * (1 - b1**2 / b2)))
    growing = (b2 / b1) ** np.arange(-19_999.0, 1.0)
    longest = np.abs(replay(Adam(lr=1.0), growing).steps).max()
    assert 7.2 < longest <= worst * (1 + 1e-9) < 7.3
    random = np.random.default_rng(0).standard_normal((300, 200)) * np.exp(np.linspace(0, 8, 300))[:, None]
    assert np.abs(replay(Adam(lr=1.0), random).steps).max() <= worst


# --- section 5: cautious and bold ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drifts():
    """Adam's drift per step (η = 1) of parameter a, for σ in the lesson's table and five seeds, over
    10 000 steps (the lesson: 2000, one seed), beside E[g]/√E[g²] of the same gradients; and the first
    500 steps of σ = 5 with b, as in the lesson's first cell."""
    sigmas = (0.5, 1.0, 2.0, 5.0)
    grads = np.column_stack([lesson05.noisy_and_steady_gradients(10_000, noise=sigma, steady=0.01, seed=seed)[:, 0]
                             for seed in SEEDS for sigma in sigmas])
    drift = -replay(Adam(lr=1.0), grads).steps.mean(axis=0)
    first = [lesson05.noisy_and_steady_gradients(500, noise=5.0, steady=0.01, seed=seed) for seed in SEEDS]
    first_drift = [-replay(Adam(lr=1.0), g).steps.mean(axis=0) for g in first]
    return sigmas, drift.reshape(len(SEEDS), -1), lesson05.mean_over_rms(grads).reshape(len(SEEDS), -1), first_drift


def test_adam_drift_follows_the_signal_to_noise_ratio_on_every_seed(drifts):
    """'The measured drift follows E[g]/√E[g²] of the gradients it saw … the longer the run, the closer.'
    On five seeds and 10 000 steps: within 0.003, and within 0.02 of the ideal 1/√(1 + σ²)."""
    sigmas, drift, predicted, _ = drifts
    assert np.abs(drift - predicted).max() < 0.003
    assert np.abs(drift - 1 / np.sqrt(1 + np.array(sigmas) ** 2)).max() < 0.02


def test_the_steady_small_gradient_moves_boldly_and_the_noisy_large_one_cautiously(drifts):
    """'Adam turns that around: b moves a full η per step, a about a fifth of it.' On five seeds, 500 steps:
    b moves η, a between a seventh and a quarter of it, and under SGD a is more than 50 times faster."""
    *_, first_drift = drifts
    for seed, (a, b) in zip(SEEDS, first_drift):
        assert b == pytest.approx(1.0, abs=1e-6)
        assert 1 / 7 < a < 1 / 4
        grads = lesson05.noisy_and_steady_gradients(500, noise=5.0, steady=0.01, seed=seed)
        sgd = -replay(SGD(lr=1.0), grads).steps.mean(axis=0)
        assert sgd[0] > 50 * sgd[1]


# --- section 7: "Adam = Momentum + AdaGrad" taken literally -------------------------------------------------


def test_the_literal_momentum_plus_adagrad_rule_stays_behind_adam_over_ten_times_the_steps():
    """'The literal rule's step size only falls … Adam's step size grows … and the loss keeps falling'
    over the lesson's 1000 steps. 10 000 steps here: the literal rule's η/√s_x never grows and its loss
    stays above 10⁻⁶, and Adam's loss ends far below it; but Adam's does not keep falling for good: once
    its gradients are far below ε it jumps back up for a while (the lesson says so), so "keeps falling" is
    checked on the lesson's window only, where it stays below the literal rule's from step 100 on."""
    lr, beta1 = 0.1, 0.9
    theta, m, s = np.array(VALLEY.start), np.zeros(2), np.zeros(2)
    literal_losses, sizes = [VALLEY.loss(theta)], []
    for _ in range(10_000):
        g = VALLEY.grad(theta)
        m = beta1 * m + (1 - beta1) * g
        s = s + g**2
        theta = theta - lr * m / (np.sqrt(s) + 1e-8)
        literal_losses.append(VALLEY.loss(theta))
        sizes.append(lr / np.sqrt(s[0]))
    literal_losses = np.array(literal_losses)
    adam = run(Adam(lr=lr), VALLEY, VALLEY.start, steps=10_000).losses
    assert (np.diff(sizes) <= 0).all()
    assert literal_losses.min() > 1e-6
    assert (adam[100:1001] < literal_losses[100:1001]).all()
    assert adam[-1] < 1e-20 < literal_losses[-1]
    assert adam[5000:].max() > 1e-6 > adam[1000]  # the late jump: why the lesson says "over these 1000 steps"


# --- section 8: the race ------------------------------------------------------------------------------------


def test_on_rosenbrock_sgd_diverges_at_a_tenth_of_what_adam_survives_over_ten_times_the_steps():
    """'SGD's η up to 0.01 on Rosenbrock: it diverges. Then Adam's η up to 0.3, or even 1: it does not
    diverge.' 3000 steps here, 300 in the lesson."""
    assert run(SGD(lr=0.01), ROSENBROCK, ROSENBROCK.start, steps=3000).diverged
    for lr in (0.05, 0.3, 1.0):
        path = run(Adam(lr=lr), ROSENBROCK, ROSENBROCK.start, steps=3000)
        assert not path.diverged and np.isfinite(path.losses).all()


def test_on_ordinary_runs_adams_steps_stay_under_twice_eta():
    """'On ordinary runs the steps stay near η: here at η or a little above it …, and on the other ordinary
    runs the tests try, under twice η (the longest, nearly twice, again on Himmelblau, at a smaller η).' Every
    surface of the course at η = 0.01, 0.05 and 0.1 for 3000 steps (ten times the lesson's), and pure noise
    on fifty seeds for 10 000 steps: every step under 2 η; the longest, on Himmelblau at η = 0.01, above 1.5 η
    (1.70 η: more than the lesson's 1.38 η, 'a little above' alone would understate it)."""
    largest = {}
    for name in SURFACES:
        surface = get_surface(name)
        for lr in (0.01, 0.05, 0.1):
            path = run(Adam(lr=lr), surface, surface.start, steps=3000)
            assert not path.diverged, (name, lr)
            largest[name, lr] = np.abs(path.steps).max() / lr
    noise = np.column_stack([np.random.default_rng(seed).standard_normal(10_000) for seed in range(50)])
    largest["noise", 1.0] = np.abs(replay(Adam(lr=1.0), noise).steps).max()
    assert max(largest.values()) < 2, largest
    assert max(largest, key=largest.get) == ("himmelblau", 0.01) and largest["himmelblau", 0.01] > 1.5, largest


def test_adams_largest_step_stays_about_eta_on_every_surface_while_sgds_follows_the_ground():
    """'Switch surfaces and keep the learning rates. SGD's largest step, in units of its η, changes from
    surface to surface …; Adam's stays about 1.' Every surface of the course, at the race's defaults
    (the rules of ``AdamRace``, run without drawing)."""
    rules = {"SGD": SGD(lr=1e-3), "RMSprop": RMSprop(lr=0.01, beta=0.99), "Adam": Adam(lr=0.05)}
    largest = {}
    for name in SURFACES:
        surface = get_surface(name)
        paths = {label: run(rule, surface, surface.start, steps=300) for label, rule in rules.items()}
        largest[name] = {label: np.inf if path.diverged else np.abs(path.steps).max() / rules[label].lr
                         for label, path in paths.items()}
    adam = [steps["Adam"] for steps in largest.values()]
    sgd = [steps["SGD"] for steps in largest.values() if np.isfinite(steps["SGD"])]
    assert max(adam) < 1.5 and min(adam) > 0.99
    assert max(sgd) / min(sgd) > 10
    assert largest["rosenbrock"]["SGD"] == pytest.approx(215.6)
    assert largest["rosenbrock"]["RMSprop"] == pytest.approx(10)
