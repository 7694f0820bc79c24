"""Lesson 06's figures, widgets and grid of training runs: the numbers they compute, the pictures they redraw."""

import matplotlib

matplotlib.use("Agg")

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessons_lib.figures import lesson06_bias_correction as lesson06  # noqa: E402
from lessons_lib.mlp import MLP  # noqa: E402
from lessons_lib.optim import SGD, Adam  # noqa: E402
from lessons_lib.runner import ewma, replay  # noqa: E402
from lessons_lib.training import train  # noqa: E402

MODEL = MLP((64, 32, 10))


# --- averages that start at zero -------------------------------------------------------------------


def test_ewma_figure_draws_one_panel_per_beta():
    x = np.random.default_rng(1).normal(1.0, 0.5, size=100)
    fig = lesson06.ewma_figure(x, 1.0, (0.5, 0.7, 0.9, 0.99))
    assert sum(ax.get_visible() for ax in fig.axes) == 4
    fig = lesson06.ewma_figure(x, 1.0, (0.5, 0.9, 0.99))
    assert sum(ax.get_visible() for ax in fig.axes) == 3


# --- the inflation factor ----------------------------------------------------------------------


@pytest.mark.parametrize("beta2, first", [(0.99, 1.0), (0.999, 0.1 / np.sqrt(0.001)), (0.9999, 10.0)])
def test_the_first_uncorrected_step_is_one_minus_beta1_over_root_one_minus_beta2(beta2, first):
    assert lesson06.inflation_factor(1, 0.9, beta2) == pytest.approx(first, rel=1e-12)


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.0, 0.9999), (0.5, 0.99), (0.9, 0.9)])
def test_inflation_factor_is_the_ratio_of_the_library_steps(beta1, beta2):
    grads = 0.5 + np.random.default_rng(2).normal(size=300)
    corrected = replay(Adam(lr=1e-3, beta1=beta1, beta2=beta2), grads).steps[:, 0]
    plain = replay(Adam(lr=1e-3, beta1=beta1, beta2=beta2, bias_correction=False), grads).steps[:, 0]
    np.testing.assert_allclose(plain / corrected, lesson06.inflation_factor(np.arange(1, 301), beta1, beta2),
                               rtol=1e-4)  # only ε makes them differ


def test_inflation_factor_edge_cases_and_large_t():
    assert lesson06.inflation_factor(5, 0.9, 0.0) == pytest.approx(1 - 0.9**5)  # β₂ = 0: v needs no correction
    assert lesson06.inflation_factor(10**7, 0.9, 0.9999) == pytest.approx(1.0, abs=1e-12)
    peak = lesson06.inflation_factor(np.arange(1, 100), 0.9, 0.9999).max()
    assert 20 < peak < 21


def test_inflation_figure_draws_the_measured_points():
    measured = {(0.9, 0.999): ([1, 10], [3.16, 6.5])}
    fig = lesson06.inflation_figure((0.9, 0.0), (0.99, 0.999), steps=1000, measured=measured)
    assert len(fig.axes) == 2
    dots = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1 and list(dots[0].get_xdata()) == [1, 10]


# --- many runs of a small network -------------------------------------------------------------------------


def test_train_grid_is_train_for_every_rule_and_seed(digits):
    rules = [Adam(lr=0.01), Adam(lr=0.03, beta2=0.9999, bias_correction=False), SGD(lr=0.1, momentum=0.9)]
    record = lesson06.train_grid(rules, MODEL, digits, epochs=2, batch_size=32, seeds=(0, 3))
    assert record.batch_losses.shape == (3, 2, 68)
    assert record.val_error.shape == (3, 2, 3) and record.test_error.shape == (3, 2)
    assert record.steps_per_epoch == 34 and record.epochs == 2
    for r, rule in enumerate(rules):
        for s, seed in enumerate((0, 3)):
            reference = train(rule, MODEL, digits, epochs=2, batch_size=32, seed=seed)
            np.testing.assert_array_equal(record.batch_losses[r, s], reference.batch_losses)
            np.testing.assert_array_equal(record.val_error[r, s], 1 - reference.val_accuracy)
            test_error = 1 - MODEL.accuracy(reference.theta, digits.X_test, digits.y_test)
            assert record.test_error[r, s] == pytest.approx(test_error, abs=1e-12)
            assert record.start_loss[s] == reference.train_loss[0]


def test_early_spike_is_the_largest_first_epoch_loss_over_the_start(digits):
    record = lesson06.train_grid([Adam(lr=0.03, beta2=0.9999, bias_correction=False)], MODEL, digits, epochs=2,
                                 seeds=(0,))
    expected = record.batch_losses[0, 0, :34].max() / record.start_loss[0]
    assert record.early_spike()[0, 0] == pytest.approx(expected)
    assert expected > 10  # this setting spikes


@dataclass(frozen=True)
class _BlowsUp:
    """A rule that sends θ to infinity on its second step (to test divergence handling)."""

    name: str = "blows up"

    def init(self, theta):
        return 0

    def step(self, theta, grad, state):
        return (theta + np.inf if state == 1 else theta - 0.01 * grad), state + 1


def test_a_diverging_run_stops_and_is_marked_and_the_others_go_on(digits):
    rules = [_BlowsUp(), Adam(lr=0.01)]
    record = lesson06.train_grid(rules, MODEL, digits, epochs=1, seeds=(0,))
    assert record.diverged_at[0, 0] == 2 and record.diverged_at[1, 0] == 0  # θ became infinite at step 2
    assert np.isnan(record.batch_losses[0, 0, 1:]).all() and np.isfinite(record.batch_losses[0, 0, :1]).all()
    assert np.isnan(record.test_error[0, 0]) and np.isfinite(record.test_error[1, 0])
    reference = train(Adam(lr=0.01), MODEL, digits, epochs=1, seed=0)
    np.testing.assert_array_equal(record.batch_losses[1, 0], reference.batch_losses)
    assert record.early_spike()[0, 0] == np.inf


# --- the table and the curves --------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_record(digits):
    rules = [Adam(lr=lr, beta2=beta2, bias_correction=correct)
             for beta2 in (0.99, 0.9999) for lr in (0.001, 0.03) for correct in (True, False)]
    return lesson06.train_grid(rules, MODEL, digits, epochs=1, seeds=(0, 1))


def test_index_finds_exactly_one_rule(small_record):
    r = small_record.index(beta2=0.9999, lr=0.03, bias_correction=False)
    assert small_record.rules[r] == Adam(lr=0.03, beta2=0.9999, bias_correction=False)
    with pytest.raises(ValueError, match="4 rules match"):
        small_record.index(bias_correction=False)
    with pytest.raises(ValueError, match="0 rules match"):
        small_record.index(lr=0.5)


def test_rows_sweep_one_setting_by_increasing_lr(small_record):
    rows = small_record.rows(beta2=0.9999, bias_correction=False)
    assert [small_record.rules[r].lr for r in rows] == [0.001, 0.03]
    assert small_record.rows(lr=0.5) == []


def test_merge_grids_puts_the_second_records_rules_after_the_first(digits, small_record):
    extra = lesson06.train_grid([Adam(lr=0.1, beta2=0.99)], MODEL, digits, epochs=1, seeds=(0, 1))
    merged = lesson06.merge_grids(small_record, extra)
    assert merged.rules == small_record.rules + extra.rules
    np.testing.assert_array_equal(merged.batch_losses[-1], extra.batch_losses[0])
    np.testing.assert_array_equal(merged.test_error[:-1], small_record.test_error)
    assert [merged.rules[r].lr for r in merged.rows(beta2=0.99, bias_correction=True)] == [0.001, 0.03, 0.1]
    other_seeds = lesson06.train_grid([Adam(lr=0.1)], MODEL, digits, epochs=1, seeds=(2, 3))
    with pytest.raises(ValueError, match="same seeds"):
        lesson06.merge_grids(small_record, other_seeds)


def test_experiment_table_has_a_row_per_beta2_and_lr(small_record):
    table = lesson06.experiment_table(small_record, beta1=0.9)
    lines = table.splitlines()
    assert len(lines) == 3 + 4
    assert "2 seeds" in lines[0] and "after 1 epoch:" in lines[0]
    worst = small_record.early_spike()[small_record.index(beta2=0.9999, lr=0.03, bias_correction=False)].max()
    assert lines[-1].split()[:2] == ["0.9999", "0.03"] and f"{worst:,.0f}" in lines[-1]


def test_early_loss_figure_draws_both_versions_for_every_seed(small_record):
    fig = lesson06.early_loss_figure(small_record, [{"beta1": 0.9, "beta2": 0.99, "lr": 0.03},
                                                    {"beta1": 0.9, "beta2": 0.9999, "lr": 0.03}], steps=20)
    assert len(fig.axes) == 2
    curves = [line for line in fig.axes[1].get_lines() if len(line.get_xdata()) == 20]
    assert len(curves) == 2 * 2  # two versions × two seeds
    assert fig.axes[0].get_ylim()[0] == pytest.approx(1e-5)


# --- the live figures ----------------------------------------------------------------------------


def test_ewma_explorer_redraws_when_a_slider_moves():
    explorer = lesson06.EWMAExplorer(beta=0.9, noise=0.5)
    first = explorer.live.image.value
    assert first and "t = 10: 0.35" in explorer.readout.get_text()
    explorer.beta_slider.value = 0.99
    assert explorer.live.image.value != first
    assert "t = 10: 0.90" in explorer.readout.get_text()
    np.testing.assert_allclose(explorer.corrected.get_ydata(), ewma(explorer.signal(), 0.99, bias_correction=True))
    before = explorer.live.image.value
    explorer.noise_slider.value = 0.0
    assert explorer.live.image.value != before
    np.testing.assert_allclose(explorer.corrected.get_ydata(), 1.0, rtol=1e-12)  # no noise: exactly the mean


def test_early_loss_lab_retrains_when_a_control_moves(digits):
    lab = lesson06.EarlyLossLab(MODEL, digits, beta1=0.9, beta2=0.9999, lr=0.03, epochs=1)
    first = lab.live.image.value
    assert "at t = 1: 10" in lab.factor_text.get_text()
    record = lab.run()
    spike = record.early_spike()[1, 0]
    assert f"{spike:,.0f}× without" in lab.loss_text.get_text()
    assert "× the start with correction" in lab.loss_text.get_text()  # a multiple, not a β
    lab.beta2_slider.value = 0.99
    assert lab.live.image.value != first
    assert "at t = 1: 1," in lab.factor_text.get_text()
    np.testing.assert_allclose(lab.plain_line.get_ydata(), lab.run().batch_losses[1, 0])

