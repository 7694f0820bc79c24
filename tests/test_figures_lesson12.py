"""lessons_lib.figures.lesson12_tuning (lesson 12): the figures draw what they are given, and the three widgets
redraw on every control without training anything."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessons_lib.figures import lesson12_tuning as lesson12  # noqa: E402
from lessons_lib.runner import ewma  # noqa: E402
from lessons_lib.training import TrainingRecord  # noqa: E402


def record(steps=20, epochs=4, lr=0.1, label="SGD") -> TrainingRecord:
    losses = np.linspace(2.3, 0.1, epochs + 1)
    return TrainingRecord(
        rule_name=label, batch_losses=np.linspace(2.3, 0.1, steps), grad_norms=np.linspace(3, 1, steps),
        lrs=np.full(steps, lr), train_loss=losses, train_accuracy=np.linspace(0.1, 0.9, epochs + 1),
        val_loss=losses * 1.1, val_accuracy=np.linspace(0.1, 0.8, epochs + 1), theta=np.zeros(3), state=None,
        steps_per_epoch=steps // epochs, diverged_at=None, message="made by hand",
    )


def pick(lrs, smoothed, rule):
    low = int(np.argmin(smoothed))
    return float(lrs[low]) / (10 if rule == "minimum / 10" else 1)


@pytest.fixture()
def range_run():
    lrs = np.geomspace(1e-5, 10, 200)
    losses = 2.3 - np.log10(lrs / 1e-5) * 0.3 + np.where(lrs > 0.1, 50 * (lrs - 0.1), 0)
    losses += np.random.default_rng(0).normal(0, 0.05, size=200)
    return lrs, losses


def test_losses_per_step_draws_each_curve_capped_at_the_top():
    fig = lesson12.plot_losses_per_step({"a": [3.0, 2.0, 1e5], "b": [1.0, 0.5, 0.1]}, reference=np.log(10))
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["a"].get_ydata()[-1] == lesson12.LOSS_TOP
    np.testing.assert_array_equal(lines["b"].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log"


def test_range_test_lab_smooths_with_the_bias_corrected_ewma_and_moves_the_pick(range_run):
    lrs, losses = range_run
    lab = lesson12.RangeTestLab(lrs, losses, pick, ("minimum / 10", "minimum"), beta=0.9, tuned_lr=0.01)
    np.testing.assert_allclose(lab.line.get_ydata(), np.minimum(ewma(losses, 0.9, bias_correction=True), 10.0))
    low = lrs[np.argmin(ewma(losses, 0.9, bias_correction=True))]
    assert lab.low.get_xdata()[0] == low and lab.pick.get_xdata()[0] == pytest.approx(low / 10)
    lab.rule.value = "minimum"
    assert lab.pick.get_xdata()[0] == low
    before = lab.live.image.value
    lab.beta.value = 0.98
    assert lab.live.image.value != before and "0.980" in lab.title.get_text()
    assert lab.snapshot().data[:4] == b"\x89PNG"


def test_update_ratios_one_panel_per_run_with_a_line_per_layer():
    ratios = {"slow": np.full((30, 2), 1e-4), "fast": np.full((30, 2), 1e-1)}
    fig = lesson12.plot_update_ratios(ratios, ("W1", "W2"))
    assert len(fig.axes) == 2 and [ax.get_title() for ax in fig.axes] == ["slow", "fast"]
    w1 = [line for line in fig.axes[1].get_lines() if line.get_label() == "W1"][0]
    np.testing.assert_allclose(w1.get_ydata(), 1e-1)  # the bias-corrected EWMA of a constant is the constant


def test_clipping_lab_reports_percentile_and_fraction_clipped():
    norms = np.arange(1.0, 101.0)
    lab = lesson12.ClippingLab(norms, threshold=90.0)
    assert "90th percentile" in lab.title.get_text() and "clips 10%" in lab.title.get_text()
    lab.threshold.value = 50.0
    assert lab.line.get_xdata()[0] == pytest.approx(50.0, rel=0.03)
    assert "clips 5" in lab.title.get_text()


def wsd(lr, total_steps, warmup_steps=0, decay_fraction=0.2, shape="linear"):
    start = round(total_steps * (1 - decay_fraction))

    def schedule(t):
        if t < warmup_steps:
            return lr * (t + 1) / (warmup_steps + 1)
        return lr if t < start else lr * (1 - (t - start) / (total_steps - start))
    return schedule


def test_wsd_shaper_draws_both_runs_sharing_their_stable_phase():
    shaper = lesson12.WSDShaper(wsd, ("linear",), lr=0.1, total_steps=100, warmup_steps=10)
    short_x, short_y = shaper.short.get_data()
    long_x, long_y = shaper.long.get_data()
    assert len(short_x) == 100 and len(long_x) == 200
    np.testing.assert_array_equal(short_y[:81], long_y[:81])
    assert short_y[81] < long_y[81] and "first 81 steps" in shaper.title.get_text()
    shaper.decay.value = 0.5
    assert "first 51 steps" in shaper.title.get_text()


def test_wsd_extension_marks_the_branch_and_draws_wsd_solid_and_cosine_dashed():
    runs = {"WSD, short": record(), "cosine, short": record(lr=0.05)}
    fig = lesson12.plot_wsd_extension(runs, branch_step=12)
    ax_lr = fig.axes[0]
    styles = {line.get_label(): line.get_linestyle() for line in ax_lr.get_lines()}
    assert styles["WSD, short"] == "-" and styles["cosine, short"] == "--"
    assert any(list(line.get_xdata()) == [12, 12] for line in ax_lr.get_lines())


def test_ema_figure_has_a_solid_and_a_dashed_line_per_seed():
    fig = lesson12.plot_ema([np.array([1.0, 0.8]), np.array([0.9, 0.7])],
                            [np.array([0.5, 0.4]), np.array([0.45, 0.35])], "average")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["seed 0: last θ", "seed 0: average", "seed 1: last θ", "seed 1: average"]


def test_batch_size_figure_plots_steps_and_best_lr_with_the_perfect_scaling_line():
    results = {"SGD": (np.array([100, 30, 15]), np.array([0.3, 1.0, 1.8]))}
    fig = lesson12.plot_batch_size((16, 64, 256), results)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    perfect = [line for line in fig.axes[0].get_lines() if "perfect" in line.get_label()][0]
    np.testing.assert_allclose(perfect.get_ydata(), [100, 25, 6.25])
