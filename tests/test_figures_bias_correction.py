"""Lesson 06's figures, widgets and lockstep trainer: the numbers they compute, the pictures they redraw, the input they refuse."""

import matplotlib

matplotlib.use("Agg")

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessons_lib.data import load_diabetes_regression  # noqa: E402
from lessons_lib.figures import lesson06_bias_correction as lesson06  # noqa: E402
from lessons_lib.figures.lesson02_stochastic_gradients import exponential_average  # noqa: E402
from lessons_lib.mlp import MLP  # noqa: E402
from lessons_lib.optim import SGD, Adam  # noqa: E402
from lessons_lib.training import train  # noqa: E402

MODEL = MLP((64, 32, 10))


# --- averages that start at zero -------------------------------------------------------------------


def test_ewma_is_lesson_02s_average_and_the_correction_divides_by_one_minus_beta_t():
    x = np.random.default_rng(0).normal(size=50)
    np.testing.assert_array_equal(lesson06.ewma(x, 0.8), exponential_average(x, 0.8))
    t = np.arange(1, 51)
    np.testing.assert_allclose(lesson06.ewma_corrected(x, 0.8), lesson06.ewma(x, 0.8) / (1 - 0.8**t), rtol=1e-15)
    assert lesson06.ewma_corrected(x, 0.99)[0] == pytest.approx(x[0], rel=1e-12)  # m̂_1 = x_1


def test_the_corrected_average_of_a_constant_is_that_constant_from_the_first_step():
    corrected = lesson06.ewma_corrected(np.full(200, 3.0), 0.99)
    np.testing.assert_allclose(corrected, 3.0, rtol=1e-12)
    plain = lesson06.ewma(np.full(200, 3.0), 0.99)
    np.testing.assert_allclose(plain, 3.0 * (1 - 0.99 ** np.arange(1, 201)), rtol=1e-12)  # E[m_t] = (1 − βᵗ)·x


@pytest.mark.parametrize("values, beta, message", [
    ([], 0.9, "values must be a non-empty 1-D sequence"),
    ([[1.0, 2.0]], 0.9, "values must be a non-empty 1-D sequence"),
    ([1.0, np.nan], 0.9, "values contains NaN"),
    ([1.0, 2.0], 1.0, "beta must be in \\[0, 1\\)"),
    ([1.0, 2.0], "0.9", "beta must be a real number"),
])
def test_ewma_rejects_bad_input(values, beta, message):
    for function in (lesson06.ewma, lesson06.ewma_corrected):
        with pytest.raises(ValueError, match=message):
            function(values, beta)


def test_ewma_figure_draws_one_panel_per_beta_and_refuses_too_many():
    x = np.random.default_rng(1).normal(1.0, 0.5, size=100)
    fig = lesson06.ewma_figure(x, 1.0, (0.5, 0.7, 0.9, 0.99))
    assert sum(ax.get_visible() for ax in fig.axes) == 4
    fig = lesson06.ewma_figure(x, 1.0, (0.5, 0.9, 0.99))
    assert sum(ax.get_visible() for ax in fig.axes) == 3
    with pytest.raises(ValueError, match="betas must hold 1 to 4 values"):
        lesson06.ewma_figure(x, 1.0, (0.1, 0.2, 0.3, 0.4, 0.5))
    with pytest.raises(ValueError, match="mean must be"):
        lesson06.ewma_figure(x, None, (0.9,))


# --- the inflation factor ----------------------------------------------------------------------


@pytest.mark.parametrize("beta2, first", [(0.99, 1.0), (0.999, 0.1 / np.sqrt(0.001)), (0.9999, 10.0)])
def test_the_first_uncorrected_step_is_one_minus_beta1_over_root_one_minus_beta2(beta2, first):
    assert lesson06.inflation_factor(1, 0.9, beta2) == pytest.approx(first, rel=1e-12)


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.0, 0.9999), (0.5, 0.99), (0.9, 0.9)])
def test_inflation_factor_is_the_ratio_of_the_library_steps(beta1, beta2):
    grads = 0.5 + np.random.default_rng(2).normal(size=300)
    corrected = lesson06.step_lengths(Adam(lr=1e-3, beta1=beta1, beta2=beta2), grads)[:, 0]
    plain = lesson06.step_lengths(Adam(lr=1e-3, beta1=beta1, beta2=beta2, bias_correction=False), grads)[:, 0]
    np.testing.assert_allclose(plain / corrected, lesson06.inflation_factor(np.arange(1, 301), beta1, beta2),
                               rtol=1e-4)  # only ε makes them differ


def test_inflation_factor_edge_cases_and_large_t():
    assert lesson06.inflation_factor(5, 0.9, 0.0) == pytest.approx(1 - 0.9**5)  # β₂ = 0: v needs no correction
    assert lesson06.inflation_factor(10**7, 0.9, 0.9999) == pytest.approx(1.0, abs=1e-12)
    peak = lesson06.inflation_factor(np.arange(1, 100), 0.9, 0.9999).max()
    assert 20 < peak < 21


@pytest.mark.parametrize("t, beta1, beta2, message", [
    (0, 0.9, 0.999, "t must hold whole step numbers >= 1"),
    (1.5, 0.9, 0.999, "t must hold whole step numbers >= 1"),
    (1, 1.0, 0.999, "beta1 must be in"),
    (1, 0.9, -0.1, "beta2 must be in"),
])
def test_inflation_factor_rejects_bad_input(t, beta1, beta2, message):
    with pytest.raises(ValueError, match=message):
        lesson06.inflation_factor(t, beta1, beta2)


def test_inflation_figure_draws_the_measured_points():
    measured = {(0.9, 0.999): ([1, 10], [3.16, 6.5])}
    fig = lesson06.inflation_figure((0.9, 0.0), (0.99, 0.999), steps=1000, measured=measured)
    assert len(fig.axes) == 2
    dots = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1 and list(dots[0].get_xdata()) == [1, 10]
    with pytest.raises(ValueError, match="beta1s and beta2s must each hold"):
        lesson06.inflation_figure((), (0.999,))


def test_step_lengths_of_corrected_adam_under_a_constant_gradient_are_eta():
    steps = lesson06.step_lengths(Adam(lr=1e-3), np.ones((100, 2)))
    assert steps.shape == (100, 2)
    np.testing.assert_allclose(np.abs(steps), 1e-3, rtol=1e-7)


@pytest.mark.parametrize("rule, grads, message", [
    (Adam, np.ones(3), "rule must be an update rule object"),
    ("adam", np.ones(3), "rule must be an update rule object"),
    (Adam(), np.ones((2, 2, 2)), "grads must have shape"),
    (Adam(), np.ones((0, 2)), "grads must have shape"),
    (Adam(), [1.0, np.inf], "grads contains NaN or infinity"),
])
def test_step_lengths_rejects_bad_input(rule, grads, message):
    with pytest.raises(ValueError, match=message):
        lesson06.step_lengths(rule, grads)


# --- many runs at once -------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [(64, 32, 10), (64, 16, 8, 10)])
def test_batched_loss_and_grad_is_the_models_loss_and_grad(sizes, digits):
    model = MLP(sizes)
    thetas = np.stack([np.stack([model.init(seed) * scale for scale in (1.0, 3.0)]) for seed in range(3)])  # (3, 2, P)
    batches = np.arange(3 * 20).reshape(3, 20)
    losses, grads = lesson06.batched_loss_and_grad(model, thetas, digits.X_train[batches][:, None],
                                                   digits.y_train[batches][:, None])
    assert losses.shape == (3, 2) and grads.shape == thetas.shape
    for s in range(3):
        for r in range(2):
            loss, grad = model.loss_and_grad(thetas[s, r], digits.X_train[batches[s]], digits.y_train[batches[s]])
            assert losses[s, r] == pytest.approx(loss, rel=1e-12)
            np.testing.assert_allclose(grads[s, r], grad, rtol=1e-10, atol=1e-14)


def test_batched_error_is_one_minus_the_models_accuracy(digits):
    thetas = np.stack([MODEL.init(seed) for seed in range(4)])
    errors = lesson06.batched_error(MODEL, thetas, digits.X_val, digits.y_val)
    for theta, error in zip(thetas, errors):
        assert error == pytest.approx(1 - MODEL.accuracy(theta, digits.X_val, digits.y_val), abs=1e-12)


def test_train_in_lockstep_repeats_train_for_every_rule_and_seed(digits):
    rules = [Adam(lr=0.01), Adam(lr=0.03, beta2=0.9999, bias_correction=False), SGD(lr=0.1, momentum=0.9)]
    record = lesson06.train_in_lockstep(rules, MODEL, digits, epochs=2, batch_size=32, seeds=(0, 3))
    assert record.batch_losses.shape == (3, 2, 68)
    assert record.val_error.shape == (3, 2, 3) and record.test_error.shape == (3, 2)
    assert record.steps_per_epoch == 34 and record.epochs == 2
    for r, rule in enumerate(rules):
        for s, seed in enumerate((0, 3)):
            reference = train(rule, MODEL, digits, epochs=2, batch_size=32, seed=seed)
            np.testing.assert_allclose(record.batch_losses[r, s], reference.batch_losses, rtol=1e-10)
            np.testing.assert_allclose(record.val_error[r, s], 1 - reference.val_accuracy, atol=1e-12)
            test_error = 1 - MODEL.accuracy(reference.theta, digits.X_test, digits.y_test)
            assert record.test_error[r, s] == pytest.approx(test_error, abs=1e-12)
            assert record.start_loss[s] == pytest.approx(reference.train_loss[0], rel=1e-12)


def test_early_spike_is_the_largest_first_epoch_loss_over_the_start(digits):
    record = lesson06.train_in_lockstep([Adam(lr=0.03, beta2=0.9999, bias_correction=False)], MODEL, digits,
                                        epochs=2, seeds=(0,))
    expected = record.batch_losses[0, 0, :34].max() / record.start_loss[0]
    assert record.early_spike()[0, 0] == pytest.approx(expected)
    assert expected > 10  # this setting spikes


@dataclass(frozen=True)
class _BlowsUp:
    """A rule that sends θ to infinity on its second step (to test divergence handling)."""

    name: str = "blows up"

    def init(self, theta):
        return 0

    def update(self, theta, grad, state):
        return (theta * 1e308 * 10 if state == 1 else theta - 0.01 * grad), state + 1


def test_a_diverging_run_is_frozen_and_marked_and_the_others_go_on(digits):
    rules = [_BlowsUp(), Adam(lr=0.01)]
    record = lesson06.train_in_lockstep(rules, MODEL, digits, epochs=1, seeds=(0,))
    assert record.diverged_at[0, 0] == 3 and record.diverged_at[1, 0] == 0
    assert np.isnan(record.batch_losses[0, 0, 2:]).all() and np.isfinite(record.batch_losses[0, 0, :2]).all()
    assert np.isnan(record.test_error[0, 0]) and np.isfinite(record.test_error[1, 0])
    reference = train(Adam(lr=0.01), MODEL, digits, epochs=1, seed=0)
    np.testing.assert_allclose(record.batch_losses[1, 0], reference.batch_losses, rtol=1e-10)
    assert record.early_spike()[0, 0] == np.inf


@pytest.mark.parametrize("arguments, message", [
    ({"rules": []}, "rules must hold at least one update rule"),
    ({"rules": [Adam]}, "rules must hold update rule objects"),
    ({"model": "mlp"}, "model must be a lessons_lib.mlp.MLP"),
    ({"epochs": 0}, "epochs must be a whole number"),
    ({"seeds": ()}, "seeds must be a non-empty list"),
    ({"seeds": (-1,)}, "seeds must be a non-empty list"),
])
def test_train_in_lockstep_rejects_bad_input(arguments, message, digits):
    call = {"rules": [Adam()], "model": MODEL, "data": digits, "epochs": 1} | arguments
    with pytest.raises(ValueError, match=message):
        lesson06.train_in_lockstep(**call)


def test_train_in_lockstep_needs_a_validation_part():
    with pytest.raises(ValueError, match="data must be a Dataset with a validation part"):
        lesson06.train_in_lockstep([Adam()], MLP((10, 4, 2)), load_diabetes_regression(), epochs=1)


# --- the table and the curves --------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_record(digits):
    rules = [Adam(lr=lr, beta2=beta2, bias_correction=correct)
             for beta2 in (0.99, 0.9999) for lr in (0.001, 0.03) for correct in (True, False)]
    return lesson06.train_in_lockstep(rules, MODEL, digits, epochs=1, seeds=(0, 1))


def test_index_finds_exactly_one_rule(small_record):
    r = small_record.index(beta2=0.9999, lr=0.03, bias_correction=False)
    assert small_record.rules[r] == Adam(lr=0.03, beta2=0.9999, bias_correction=False)
    with pytest.raises(ValueError, match="4 rules match"):
        small_record.index(bias_correction=False)
    with pytest.raises(ValueError, match="0 rules match"):
        small_record.index(lr=0.5)


def test_experiment_table_has_a_row_per_beta2_and_lr(small_record):
    table = lesson06.experiment_table(small_record, beta1=0.9)
    lines = table.splitlines()
    assert len(lines) == 3 + 4
    assert "2 seeds" in lines[0] and "after 1 epoch:" in lines[0]
    worst = small_record.early_spike()[small_record.index(beta2=0.9999, lr=0.03, bias_correction=False)].max()
    assert lines[-1].split()[:2] == ["0.9999", "0.03"] and f"{worst:,.0f}" in lines[-1]
    with pytest.raises(ValueError, match="no Adam runs with beta1 = 0.5"):
        lesson06.experiment_table(small_record, beta1=0.5)
    with pytest.raises(ValueError, match="record must be a LockstepRecord"):
        lesson06.experiment_table({}, beta1=0.9)


def test_early_loss_figure_draws_both_versions_for_every_seed(small_record):
    fig = lesson06.early_loss_figure(small_record, [{"beta1": 0.9, "beta2": 0.99, "lr": 0.03},
                                                    {"beta1": 0.9, "beta2": 0.9999, "lr": 0.03}], steps=20)
    assert len(fig.axes) == 2
    curves = [line for line in fig.axes[1].get_lines() if len(line.get_xdata()) == 20]
    assert len(curves) == 2 * 2  # two versions × two seeds
    assert fig.axes[0].get_ylim()[0] == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="cells must name at least one setting"):
        lesson06.early_loss_figure(small_record, [])
    with pytest.raises(ValueError, match="lowest must be > 0"):
        lesson06.early_loss_figure(small_record, [{"beta1": 0.9, "beta2": 0.99, "lr": 0.03}], lowest=0)


# --- the live figures ----------------------------------------------------------------------------


def test_ewma_explorer_redraws_when_a_slider_moves():
    explorer = lesson06.EWMAExplorer(beta=0.9, noise=0.5)
    first = explorer.live.image.value
    assert first and "t = 10: 0.35" in explorer.readout.get_text()
    explorer.beta_slider.value = 0.99
    assert explorer.live.image.value != first
    assert "t = 10: 0.90" in explorer.readout.get_text()
    np.testing.assert_allclose(explorer.corrected.get_ydata(), lesson06.ewma_corrected(explorer.signal(), 0.99))
    before = explorer.live.image.value
    explorer.noise_slider.value = 0.0
    assert explorer.live.image.value != before
    np.testing.assert_allclose(explorer.corrected.get_ydata(), 1.0, rtol=1e-12)  # no noise: exactly the mean


@pytest.mark.parametrize("kwargs, message", [
    ({"noise": 1.5}, "noise must be at most 1.0"),
    ({"noise": -0.1}, "noise must be >= 0"),
    ({"beta": 0.999}, "beta must be at most 0.995"),
    ({"beta": 1.0}, "beta must be in"),
    ({"steps": 0}, "steps must be a whole number"),
])
def test_ewma_explorer_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lesson06.EWMAExplorer(**kwargs)


def test_early_loss_lab_retrains_when_a_control_moves(digits):
    lab = lesson06.EarlyLossLab(MODEL, digits, beta1=0.9, beta2=0.9999, lr=0.03, epochs=1)
    first = lab.live.image.value
    assert "at t = 1: 10" in lab.factor_text.get_text()
    record = lab.run()
    spike = record.early_spike()[1, 0]
    assert f"without {spike:,.0f}" in lab.loss_text.get_text()
    lab.beta2_slider.value = 0.99
    assert lab.live.image.value != first
    assert "at t = 1: 1," in lab.factor_text.get_text()
    np.testing.assert_allclose(lab.plain_line.get_ydata(), lab.run().batch_losses[1, 0])


@pytest.mark.parametrize("kwargs, message", [
    ({"beta2": 0.998}, "beta2 must be one of"),
    ({"beta1": 0.995}, "beta1 must be at most 0.99"),
    ({"lr": 0.5}, "lr must be between"),
    ({"epochs": 0}, "epochs must be a whole number"),
])
def test_early_loss_lab_rejects_bad_input(kwargs, message, digits):
    with pytest.raises(ValueError, match=message):
        lesson06.EarlyLossLab(MODEL, digits, **kwargs)
    with pytest.raises(ValueError, match="model must be a lessons_lib.mlp.MLP"):
        lesson06.EarlyLossLab("mlp", digits)
