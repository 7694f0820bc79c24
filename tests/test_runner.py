"""Tests of lessons_lib.runner: the loop, the trajectory, divergence and argument checks."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from lessons_lib.optim import SGD, Adam, AdamState, RMSprop
from lessons_lib.runner import Trajectory, ewma, replay, run
from lessons_lib.surfaces import get_surface

BOWL = get_surface("bowl")
VALLEY = get_surface("valley")


def bowl_grad(theta: np.ndarray) -> np.ndarray:
    """∇(x² + y²) = 2θ, as a plain gradient function."""
    return 2 * theta


def bowl_loss(theta: np.ndarray) -> float:
    return float(theta @ theta)


class NaNAfter:
    """A rule that behaves like plain gradient descent for ``good_steps`` steps, then returns NaN."""

    name = "Broken"

    def __init__(self, good_steps: int) -> None:
        self.good_steps = good_steps

    def init(self, theta):
        return 0

    def step(self, theta, grad, state):
        if state >= self.good_steps:
            return theta * np.nan, state + 1
        return theta - 0.1 * grad, state + 1


def test_gradient_descent_on_the_bowl_follows_the_closed_form():
    lr, steps = 0.1, 30
    start = np.array([1.5, -0.5])
    path = run(SGD(lr=lr), BOWL, start, steps)

    t = np.arange(steps + 1)[:, None]
    expected = (1 - 2 * lr) ** t * start  # θ_t = (1 − 2η)ᵗ θ₀ for L = x² + y²
    np.testing.assert_allclose(path.positions, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(path.losses, (expected**2).sum(axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(path.grads, 2 * expected[:-1], rtol=1e-12, atol=1e-15)


def test_trajectory_shapes_and_message():
    path = run(Adam(lr=0.05), get_surface("rosenbrock"), (-1.2, 1.0), 50)
    assert isinstance(path, Trajectory)
    assert path.rule_name == "Adam"
    assert path.positions.shape == (51, 2)
    assert path.losses.shape == (51,)
    assert path.grads.shape == (50, 2)
    assert path.states is None
    assert path.steps_run == 50
    assert path.diverged_at is None and not path.diverged and path.reason is None
    assert path.message == "Adam ran 50 steps"
    np.testing.assert_array_equal(path.positions[0], [-1.2, 1.0])


def test_one_step_message_and_frozen_trajectory():
    path = run(SGD(lr=0.1), BOWL, BOWL.start, 1)
    assert path.message == "SGD ran 1 step"
    assert path.positions.shape == (2, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        path.steps_run = 5


def test_losses_are_the_surface_loss_at_every_position():
    surface = get_surface("himmelblau")
    path = run(RMSprop(lr=0.01), surface, surface.start, 40)
    np.testing.assert_allclose(path.losses, surface.loss(path.positions), rtol=1e-14)
    np.testing.assert_allclose(path.grads, surface.grad(path.positions[:-1]), rtol=1e-14)


def test_recorded_states_are_the_states_after_each_step():
    rule = Adam(lr=0.1)
    path = run(rule, BOWL, BOWL.start, 5, record_state=True)
    assert len(path.states) == 5
    assert all(isinstance(state, AdamState) for state in path.states)
    assert [state.t for state in path.states] == [1, 2, 3, 4, 5]

    # replaying the steps by hand gives the same states and positions
    theta, state = np.array(BOWL.start), rule.init(np.array(BOWL.start))
    for t in range(5):
        theta, state = rule.step(theta, BOWL.grad(theta), state)
        np.testing.assert_array_equal(path.states[t].m, state.m)
        np.testing.assert_array_equal(path.states[t].v, state.v)
        np.testing.assert_array_equal(path.positions[t + 1], theta)


def test_a_gradient_function_gives_the_same_path_as_the_surface():
    on_surface = run(SGD(lr=0.1, momentum=0.9), BOWL, BOWL.start, 20)
    with_loss = run(SGD(lr=0.1, momentum=0.9), bowl_grad, BOWL.start, 20, loss=bowl_loss)
    without_loss = run(SGD(lr=0.1, momentum=0.9), bowl_grad, BOWL.start, 20)

    np.testing.assert_array_equal(with_loss.positions, on_surface.positions)
    np.testing.assert_allclose(with_loss.losses, on_surface.losses, rtol=1e-14)
    np.testing.assert_array_equal(without_loss.positions, on_surface.positions)
    assert without_loss.losses is None


def test_a_gradient_function_of_any_shape():
    # L(θ) = ½ Σ aᵢ θᵢ² on five parameters: gradient descent multiplies θᵢ by (1 − η aᵢ) each step
    a = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    start = np.ones(5)
    path = run(SGD(lr=0.1), lambda theta: a * theta, start, 10)
    assert path.positions.shape == (11, 5)
    np.testing.assert_allclose(path.positions[-1], (1 - 0.1 * a) ** 10, rtol=1e-12)


def test_a_batch_of_starts_runs_side_by_side():
    starts = np.array([[1.0, 1.0], [-1.5, 0.5], [0.2, -1.8]])
    path = run(Adam(lr=0.1), BOWL, starts, 25)
    assert path.positions.shape == (26, 3, 2)
    assert path.losses.shape == (26, 3)
    assert path.grads.shape == (25, 3, 2)
    for k, start in enumerate(starts):
        # Adam acts on each coordinate separately, so the batch is three independent runs
        single = run(Adam(lr=0.1), BOWL, start, 25)
        np.testing.assert_allclose(path.positions[:, k], single.positions, rtol=1e-14, atol=1e-15)


def first_step_past(value: float, factor: float, limit: float) -> int:
    """The first t with |value · factorᵗ| > limit."""
    t = 0
    while abs(value * factor**t) <= limit:
        t += 1
    return t


def test_gradient_descent_above_the_stability_limit_diverges_on_the_valley():
    lambda_max = np.linalg.eigvalsh(VALLEY.hessian).max()  # 4
    lr = 0.6  # above 2 / λ_max = 0.5: y is multiplied by (1 − 4η) = −1.4 each step
    assert lr > 2 / lambda_max
    x0, y0 = VALLEY.start
    expected_step = first_step_past(y0, 1 - lr * lambda_max, 1e8)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = run(SGD(lr=lr), VALLEY, VALLEY.start, 500)

    assert path.diverged and path.diverged_at == expected_step
    assert path.steps_run == expected_step - 1
    assert path.positions.shape == (expected_step, 2)
    assert path.losses.shape == (expected_step,)
    assert path.grads.shape == (expected_step - 1, 2)
    assert path.message == f"SGD diverged at step {expected_step} (|θ| passed 1e+08)"
    assert np.isfinite(path.positions).all() and np.isfinite(path.losses).all()
    assert np.abs(path.positions).max() <= 1e8
    t = np.arange(expected_step)
    np.testing.assert_allclose(path.positions[:, 1], y0 * (1 - 4 * lr) ** t, rtol=1e-10)
    np.testing.assert_allclose(path.positions[:, 0], x0 * (1 - 0.2 * lr) ** t, rtol=1e-10)


def test_max_abs_sets_where_divergence_is_declared():
    path = run(SGD(lr=0.6), VALLEY, VALLEY.start, 500, max_abs=1e3)
    assert path.diverged_at == first_step_past(VALLEY.start[1], -1.4, 1e3)
    assert path.message.endswith("(|θ| passed 1000)")


def test_gradient_descent_just_below_the_stability_limit_converges():
    path = run(SGD(lr=0.45), VALLEY, VALLEY.start, 500)
    assert not path.diverged
    assert np.abs(path.positions[-1]).max() < 1e-6


def test_overflow_far_away_is_reported_without_any_warning():
    surface = get_surface("rosenbrock")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # with a huge max_abs, x⁴ overflows to inf before |θ| can pass the limit
        path = run(SGD(lr=1.0), surface, surface.start, 50, max_abs=1e300)
    assert path.diverged
    assert path.message == f"SGD diverged at step {path.diverged_at} (the loss became NaN or infinite)"
    assert np.isfinite(path.positions).all() and np.isfinite(path.losses).all()
    assert len(path.positions) == path.diverged_at


def test_a_nan_gradient_is_reported_at_its_step():
    calls = []

    def gradient_that_breaks(theta):
        calls.append(1)
        return 2 * theta if len(calls) <= 4 else np.array([np.nan, 0.0])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = run(Adam(lr=0.1), gradient_that_breaks, BOWL.start, 100, loss=bowl_loss)
    # the fifth gradient, used by step 5, is NaN
    assert path.diverged_at == 5
    assert path.message == "Adam diverged at step 5 (the gradient became NaN or infinite)"
    assert path.positions.shape == (5, 2)
    assert path.grads.shape == (4, 2)
    assert path.losses.shape == (5,)
    assert np.isfinite(path.positions).all()


def test_a_gradient_that_is_nan_at_the_start_diverges_at_step_1_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = run(SGD(lr=0.1), lambda theta: theta / (theta - theta), [1.0, 2.0], 10)  # 0/0
    assert path.diverged_at == 1 and path.steps_run == 0
    np.testing.assert_array_equal(path.positions, [[1.0, 2.0]])
    assert path.grads.shape == (0, 2)


def test_a_nan_position_from_the_rule_is_reported():
    path = run(NaNAfter(good_steps=3), BOWL, BOWL.start, 10, record_state=True)
    assert path.diverged_at == 4
    assert path.message == "Broken diverged at step 4 (θ became NaN or infinite)"
    assert path.positions.shape == (4, 2) and np.isfinite(path.positions).all()
    assert path.states == [1, 2, 3]


def test_a_non_finite_loss_is_reported_at_its_step():
    # log(θ·θ − 0.5) is NaN once θ enters the circle θ·θ < 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = run(
            SGD(lr=0.1, momentum=0.5), bowl_grad, [1.0, 1.0], 20,
            loss=lambda theta: np.log(theta @ theta - 0.5), record_state=True,
        )
    full = run(SGD(lr=0.1, momentum=0.5), bowl_grad, [1.0, 1.0], 20, record_state=True)
    t = int(np.argmax((full.positions**2).sum(axis=1) < 0.5))  # the first θ_t inside the circle
    assert path.diverged_at == t
    assert path.message == f"SGD diverged at step {t} (the loss became NaN or infinite)"
    assert path.losses.shape == (t,) and np.isfinite(path.losses).all()
    np.testing.assert_array_equal(path.positions, full.positions[:t])
    np.testing.assert_array_equal(path.grads, full.grads[: t - 1])
    assert len(path.states) == t - 1
    for kept, reference in zip(vars(path.states[-1]).values(), vars(full.states[t - 2]).values()):
        np.testing.assert_array_equal(kept, reference)  # the state after step t − 1, field by field
    assert path.steps_run == t - 1


def test_one_diverging_start_stops_the_whole_batch():
    starts = np.array([[0.5, 0.1], [1.0, 2.0]])
    path = run(SGD(lr=0.6), VALLEY, starts, 500)
    assert path.diverged_at == first_step_past(2.0, -1.4, 1e8)
    assert path.positions.shape == (path.diverged_at, 2, 2)


def test_a_rule_without_a_name_is_called_by_its_class():
    class PlainDescent:
        def init(self, theta):
            return None

        def step(self, theta, grad, state):
            return theta - 0.1 * grad, state

    assert run(PlainDescent(), BOWL, BOWL.start, 3).message == "PlainDescent ran 3 steps"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"rule": object()}, "rule"),
        ({"rule": "adam"}, "rule"),
        ({"rule": Adam}, "rule"),  # the class, not an instance
        ({"problem": "bowl"}, "problem"),
        ({"problem": 3.0}, "problem"),
        ({"problem": None}, "problem"),
        ({"start": [np.nan, 1.0]}, "start"),
        ({"start": [np.inf, 1.0]}, "start"),
        ({"start": "here"}, "start"),
        ({"start": [1.0, 2.0, 3.0]}, "start"),  # a surface needs (..., 2)
        ({"start": [1e9, 0.0]}, "start"),  # beyond max_abs
        ({"steps": 0}, "steps"),
        ({"steps": -5}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": "10"}, "steps"),
        ({"loss": bowl_loss}, "loss"),  # a surface brings its own loss
        ({"record_state": 1}, "record_state"),
        ({"record_state": "yes"}, "record_state"),
        ({"max_abs": 0}, "max_abs"),
        ({"max_abs": -1.0}, "max_abs"),
        ({"max_abs": np.nan}, "max_abs"),
        ({"max_abs": np.inf}, "max_abs"),
        ({"max_abs": "big"}, "max_abs"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(kwargs, argument):
    arguments = {"rule": SGD(lr=0.1), "problem": BOWL, "start": BOWL.start, "steps": 10} | kwargs
    with pytest.raises(ValueError, match=argument):
        run(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"loss": "x² + y²"}, "loss"),
        ({"loss": lambda theta: None}, "loss"),
        ({"loss": lambda theta: "low"}, "loss"),
        ({"loss": lambda theta: np.inf}, "loss"),  # already infinite at the start
        ({"problem": lambda theta: None}, "problem"),  # forgot to return the gradient
        ({"problem": lambda theta: "down"}, "problem"),
        ({"problem": lambda theta: np.ones(3)}, "problem"),  # wrong shape
        ({"start": [[1.0, 2.0], [3.0, np.nan]]}, "start"),
    ],
)
def test_bad_gradient_functions_and_losses_raise_value_error(kwargs, argument):
    arguments = {"rule": SGD(lr=0.1), "problem": bowl_grad, "start": [1.0, 2.0], "steps": 10} | kwargs
    with pytest.raises(ValueError, match=argument):
        run(**arguments)


def test_the_start_array_is_not_changed():
    start = np.array([1.0, -1.0])
    run(Adam(lr=0.1), BOWL, start, 10)
    np.testing.assert_array_equal(start, [1.0, -1.0])


# --- a fixed gradient sequence, and the exponential average ----------------------------------------


def test_replay_feeds_the_rule_the_given_gradients_and_keeps_its_steps():
    grads = np.random.default_rng(3).standard_normal((50, 3))
    rule = Adam(lr=0.05)
    path = replay(rule, grads, record_state=True)
    theta, state = np.zeros(3), rule.init(np.zeros(3))
    for t, g in enumerate(grads):
        new_theta, state = rule.step(theta, g, state)
        np.testing.assert_array_equal(path.steps[t], new_theta - theta)
        theta = new_theta
    assert path.steps.shape == (50, 3) and path.losses is None and len(path.states) == 50
    np.testing.assert_array_equal(path.grads, grads)
    assert path.message == "Adam ran 50 steps"


def test_replay_of_one_parameter_from_a_start_and_corrected_adam_under_a_constant_gradient():
    path = replay(Adam(lr=1e-3), np.ones(100), start=[2.0])
    assert path.positions.shape == (101, 1) and path.positions[0, 0] == 2.0
    np.testing.assert_allclose(np.abs(path.steps), 1e-3, rtol=1e-7)  # a bias-corrected step is η long


@pytest.mark.parametrize("rule, grads, start, message", [
    (Adam, np.ones(3), None, "rule must be an update rule object"),
    ("adam", np.ones(3), None, "rule must be an update rule"),
    (Adam(), np.ones((0, 2)), None, "grads must hold one gradient per step"),
    (Adam(), 1.0, None, "grads must hold one gradient per step"),
    (Adam(), [1.0, np.inf], None, "grads contains NaN or infinity"),
    (Adam(), np.ones((4, 2)), [0.0, 0.0, 0.0], "start has shape \\(3,\\), but each gradient has shape \\(2,\\)"),
])
def test_replay_refuses_bad_input_in_words(rule, grads, start, message):
    with pytest.raises(ValueError, match=message):
        replay(rule, grads, start)


def test_ewma_is_the_recursion_from_zero_and_the_correction_divides_by_one_minus_beta_t():
    x = np.random.default_rng(0).normal(size=(50, 2))
    m, expected = np.zeros(2), []
    for value in x:
        m = 0.8 * m + (1 - 0.8) * value
        expected.append(m)
    np.testing.assert_array_equal(ewma(x, 0.8), expected)
    t = np.arange(1, 51)[:, None]
    np.testing.assert_allclose(ewma(x, 0.8, bias_correction=True), ewma(x, 0.8) / (1 - 0.8**t), rtol=1e-15)
    assert ewma(x[:, 0], 0.99, bias_correction=True)[0] == pytest.approx(x[0, 0], rel=1e-12)  # m̂_1 = x_1


def test_the_corrected_average_of_a_constant_is_that_constant_from_the_first_step():
    np.testing.assert_allclose(ewma(np.full(200, 3.0), 0.99, bias_correction=True), 3.0, rtol=1e-12)
    plain = ewma(np.full(200, 3.0), 0.99)
    np.testing.assert_allclose(plain, 3.0 * (1 - 0.99 ** np.arange(1, 201)), rtol=1e-12)  # E[m_t] = (1 − βᵗ)·x


@pytest.mark.parametrize("values, beta, message", [
    ([], 0.9, "values must be a non-empty sequence"),
    (2.0, 0.9, "values must be a non-empty sequence"),
    ([1.0, np.nan], 0.9, "values contains NaN"),
    ([1.0, 2.0], 1.0, "beta must be in \\[0, 1\\)"),
    ([1.0, 2.0], "0.9", "beta must be a real number"),
])
def test_ewma_refuses_bad_input_in_words(values, beta, message):
    with pytest.raises(ValueError, match=message):
        ewma(values, beta)
    with pytest.raises(ValueError, match="bias_correction must be True or False"):
        ewma([1.0, 2.0], 0.9, bias_correction=1)


def test_ewma_of_a_constant_approaches_it_from_zero_and_beta_zero_keeps_the_values():
    np.testing.assert_allclose(ewma(np.ones(30), 0.8), 1 - 0.8 ** np.arange(1, 31), atol=1e-14)
    values = np.random.default_rng(0).normal(size=(12, 2))
    np.testing.assert_array_equal(ewma(values, 0.0), values)


def test_ewma_cuts_independent_noise_by_the_known_factor():
    beta = 0.9
    averaged = ewma(np.random.default_rng(3).normal(size=200_000), beta)[100:]
    assert averaged.std() == pytest.approx(np.sqrt((1 - beta) / (1 + beta)), rel=0.03)
