"""lessons_lib.figures.lesson08_training (lesson 08): the progress bar stores no times, the figures draw what the records
hold, the lab redraws on every control and reports divergence and clipping."""

import matplotlib

matplotlib.use("Agg")

import dataclasses  # noqa: E402
import math  # noqa: E402

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessons_lib.figures import lesson08_training as lesson08  # noqa: E402
from lessons_lib.mlp import MLP  # noqa: E402
from lessons_lib.optim import SGD, Adam  # noqa: E402
from lessons_lib.training import TrainingRecord, train  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return MLP((64, 16, 10))


def record(losses=(2.3, 1.0, 0.5), diverged_at=None, steps_per_epoch=4, lr=0.1) -> TrainingRecord:
    """A hand-made record: one value per epoch in ``losses`` (entry 0 before training), 4 steps per epoch."""
    losses = np.asarray(losses, dtype=float)
    steps = steps_per_epoch * (len(losses) - 1)
    return TrainingRecord(
        rule_name="SGD", batch_losses=np.linspace(losses[0], losses[-1], steps), grad_norms=np.linspace(3, 1, steps),
        lrs=np.full(steps, lr), train_loss=losses, train_accuracy=np.linspace(0.1, 0.9, len(losses)),
        val_loss=losses * 1.1, val_accuracy=np.linspace(0.1, 0.8, len(losses)), theta=np.zeros(3), state=None,
        steps_per_epoch=steps_per_epoch, diverged_at=diverged_at, message="made by hand",
    )


def lines_with_label(ax, label):
    return [line for line in ax.get_lines() if line.get_label() == label]


# --- progress ----------------------------------------------------------------------------------


def test_progress_yields_every_item_in_order(capsys):
    assert list(lesson08.progress(range(5), desc="counting")) == [0, 1, 2, 3, 4]
    assert list(lesson08.progress(["a", "b"], desc="letters", unit="letter")) == ["a", "b"]


def test_progress_in_a_notebook_stores_a_fixed_sentence_and_a_bar_without_times(monkeypatch):
    shown = []
    monkeypatch.setattr(lesson08, "_in_notebook", lambda: True)
    monkeypatch.setattr(lesson08, "display", lambda bundle, raw=False: shown.append((bundle, raw)))
    bar = lesson08.progress(range(3), desc="a search", unit="run")
    assert list(bar) == [0, 1, 2]
    ((bundle, raw),) = shown
    assert raw and bundle["text/plain"] == "[a progress bar: a search, 3 runs]"
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == bar.container.model_id
    # What the widget shows at the end: the count, and no elapsed time or rate.
    left, filled, right = bar.container.children
    assert left.value.replace("\u2007", " ") == "a search: 100%" and filled.value == 3
    assert right.value.replace("\u2007", " ").strip() == "3/3 runs"


def test_the_bar_format_has_no_time_fields():
    # Checked on tqdm's formatter directly: with our format, elapsed time and rate never appear.
    from tqdm import tqdm

    text = tqdm.format_meter(n=2, total=5, elapsed=123.4, prefix="search",
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs")
    assert text.startswith("search:  40%|") and text.endswith("2/5 runs")
    assert "02:03" not in text and "/s" not in text


# --- figures -----------------------------------------------------------------------------------


def test_plot_digits_shows_the_images_side_by_side_with_their_labels(digits):
    fig = lesson08.plot_digits(digits.X_train, digits.y_train, count=5)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (image,) = ax.get_images()
    strip = image.get_array()
    assert strip.shape == (8, 5 * 9 - 1)
    np.testing.assert_array_equal(strip[:, 9:17], digits.X_train[1].reshape(8, 8))
    assert [t.get_text() for t in ax.texts] == [str(label) for label in digits.y_train[:5]]


def test_final_validation_loss_is_the_last_one_or_infinity_after_divergence():
    assert lesson08.final_validation_loss(record((2.3, 1.0, 0.5))) == pytest.approx(0.55)
    assert lesson08.final_validation_loss(record((2.3, 1.0), diverged_at=7)) == math.inf
    no_validation = dataclasses.replace(record(), val_loss=np.full(3, np.nan))


def test_plot_lr_search_draws_one_line_per_rule_and_circles_the_lowest_loss():
    lrs = [0.01, 0.1, 1.0]
    search = {
        "A": [record((2, 0.9)), record((2, 0.3)), record((2, 50.0))],  # 50 * 1.1 is off the chart
        "B": [record((2, 0.2)), record((2, 0.4)), record((2, 1.0), diverged_at=3)],
    }
    fig = lesson08.plot_lr_search(lrs, search)
    (ax,) = fig.axes
    (line_a,) = lines_with_label(ax, "A")
    np.testing.assert_allclose(line_a.get_ydata(), [0.99, 0.33, lesson08.SEARCH_LOSS_TOP])
    (line_b,) = lines_with_label(ax, "B")
    np.testing.assert_allclose(line_b.get_ydata(), [0.22, 0.44, lesson08.SEARCH_LOSS_TOP])
    circles = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sorted((float(c.get_xdata()[0]), float(c.get_ydata()[0])) for c in circles) == [
        (0.01, pytest.approx(0.22)), (0.1, pytest.approx(0.33))]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate η"
    assert lesson08.plot_lr_search(lrs, search, xlabel="peak η").axes[0].get_xlabel() == "peak η"


def test_mean_validation_loss_is_the_mean_over_seeds_or_infinity_if_one_diverged():
    assert lesson08.mean_validation_loss(record((2, 0.2))) == pytest.approx(0.22)
    assert lesson08.mean_validation_loss([record((2, 0.2)), record((2, 0.4))]) == pytest.approx(0.33)
    assert lesson08.mean_validation_loss([record((2, 0.2)), record((2, 1.0), diverged_at=3)]) == math.inf


def test_plot_lr_search_draws_the_mean_over_seeds_when_given_several_runs_per_value():
    lrs = [0.01, 0.1]
    search = {"A": [[record((2, 0.9)), record((2, 0.5))], [record((2, 0.3)), record((2, 0.1))]]}
    (ax,) = lesson08.plot_lr_search(lrs, search).axes
    (line,) = lines_with_label(ax, "A")
    np.testing.assert_allclose(line.get_ydata(), [0.77, 0.22])
    (circle,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert float(circle.get_xdata()[0]) == 0.1


def test_plot_loss_curves_draws_the_mean_over_seeds_per_epoch():
    fig = lesson08.plot_loss_curves({"A": [record((2.0, 1.0, 0.4)), record((2.0, 0.6, 0.2))]})
    ax_train, ax_val = fig.axes
    (train_line,) = lines_with_label(ax_train, "A")
    np.testing.assert_allclose(train_line.get_ydata(), [2.0, 0.8, 0.3])
    np.testing.assert_array_equal(train_line.get_xdata(), [0, 1, 2])
    (val_line,) = lines_with_label(ax_val, "A")
    np.testing.assert_allclose(val_line.get_ydata(), [2.2, 0.88, 0.33])


def test_plot_schedule_runs_draws_each_rate_and_every_minibatch_loss_over_the_reference():
    warm = dataclasses.replace(record((2.0, 1.0, 0.5), lr=0.2), batch_losses=np.linspace(2.0, 0.1, 8))
    cold = record((2.0, 0.9, 0.4), lr=0.1)
    tuned = record((2.0, 0.8, 0.3))
    fig = lesson08.plot_schedule_runs({"warm": warm, "cold": cold}, reference=("tuned", tuned))
    ax_lr, ax_warm, ax_cold = fig.axes
    (lr_line,) = lines_with_label(ax_lr, "warm")
    np.testing.assert_array_equal(lr_line.get_ydata(), warm.lrs)
    (reference,) = lines_with_label(ax_lr, "tuned")
    assert reference.get_color() == "black" and reference.get_linestyle() == "--"
    # each run's panel: every minibatch loss, update by update (not one point per epoch), over the reference's
    grey, loss = ax_warm.get_lines()
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(8))
    np.testing.assert_array_equal(loss.get_ydata(), warm.batch_losses)
    np.testing.assert_array_equal(grey.get_ydata(), tuned.batch_losses)
    assert loss.get_color() == lr_line.get_color() == "tab:orange"  # plot_schedules' colour for the second
    assert ax_warm.get_yscale() == "log" and ax_cold.get_shared_y_axes().joined(ax_warm, ax_cold)
    # the last epoch is shaded, and the title gives its spread, for the run and the reference
    (shade,) = ax_warm.patches
    assert shade.get_x() == 4
    spreads = np.std(warm.batch_losses[-4:]), np.std(tuned.batch_losses[-4:])
    assert ax_warm.get_title() == "warm: spread {:.3f} (grey: {:.3f})".format(*spreads)


def test_plot_clipping_handles_a_run_that_blew_up_to_1e300_without_warnings():
    blown = dataclasses.replace(record((2.0, 1.0)), grad_norms=np.array([2.0, 40.0, 1e150, 1e300]),
                                batch_losses=np.array([2.0, 30.0, 1e200, 1e306]), diverged_at=5)
    # pyproject turns RuntimeWarnings into errors: overflowing axis limits would fail here.
    fig = lesson08.plot_clipping({"tuned": record(), "blown": blown}, clip_norm=0.5, ceiling=1e4)
    ax_norm, ax_loss = fig.axes
    fig.canvas.draw()
    for ax in (ax_norm, ax_loss):
        assert ax.get_ylim()[1] == 1e4
        (line,) = lines_with_label(ax, "blown")
        assert np.isnan(line.get_ydata()[2:]).all()  # left the picture
        assert any(float(l.get_xdata()[0]) == 5 for l in ax.get_lines() if l.get_linestyle() == "--")
    assert "at step 5" in fig.texts[0].get_text()


# --- the lab -----------------------------------------------------------------------------------


RULES = {"SGD": lambda lr: SGD(lr=lr), "Adam": lambda lr: Adam(lr=lr)}
TUNED = {"SGD": 0.3, "Adam": 0.03}


@pytest.fixture(scope="module")
def lab(digits, model):
    return lesson08.LearningRateLab(model, digits, RULES, TUNED, rule="Adam", lr=0.3, epochs=1)


def image(lab) -> bytes:
    return bytes(lab.live.image.value)


def test_the_lab_starts_with_a_picture_of_the_run_it_describes(lab, digits, model):
    assert image(lab).startswith(b"\x89PNG") and lab.status.value == ""
    expected = train(Adam(lr=0.3), model, digits, epochs=1)
    np.testing.assert_array_equal(lab.line.get_ydata(), np.minimum(expected.batch_losses, 1e3))
    reference = train(Adam(lr=0.03), model, digits, epochs=1)
    np.testing.assert_array_equal(lab.reference_line.get_ydata(), np.minimum(reference.batch_losses, 1e3))
    title = lab.title.get_text()
    assert title.startswith("Adam: η = 0.3 (tuned η = 0.03), clip_norm = off, 1 epochs")
    assert f"validation accuracy {100 * expected.val_accuracy[-1]:.1f} %" in title


def test_the_lab_panel_holds_the_controls_and_the_image_and_no_output_widget(lab):
    assert list(lab.panel.children[:3]) == [lab.rule, lab.lr, lab.clip]
    assert lab.live.image in lab.panel.children
    assert not any(isinstance(child, widgets.Output) for child in lab.panel.children)


@pytest.mark.parametrize("control, value", [("lr", 0.01), ("rule", "SGD"), ("clip", "0.3")])
def test_every_control_changes_the_picture(digits, model, control, value):
    lab = lesson08.LearningRateLab(model, digits, RULES, TUNED, rule="Adam", lr=0.3, epochs=1)
    before = image(lab)
    setattr(getattr(lab, control), "value", value)
    assert image(lab) != before and lab.status.value == ""


def test_the_lab_reports_divergence_and_clipping(digits, model):
    lab = lesson08.LearningRateLab(model, digits, RULES, TUNED, rule="SGD", lr=30.0, epochs=4)
    expected = train(SGD(lr=30.0), model, digits, epochs=4)
    assert expected.diverged_at is not None
    assert f"diverged at step {expected.diverged_at}" in lab.title.get_text()
    assert len(lab.end.get_xdata()) == 1  # the cross at the last step
    lab.clip.value = "0.05"
    clipped = train(SGD(lr=30.0), model, digits, epochs=4, clip_norm=0.05)
    assert clipped.diverged_at is None
    assert f"clipping acted on {np.mean(clipped.grad_norms > 0.05):.0%} of the steps" in lab.title.get_text()
    assert len(lab.end.get_xdata()) == 0


def test_the_lab_snapshot_is_the_current_picture(lab):
    assert lab.snapshot().data == lab.live.png()

