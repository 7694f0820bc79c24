"""lessons_lib.figures.lesson08_training, the schedules: the shaper draws what the library computes and redraws on
every control; plot_schedules draws each schedule's values."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessons_lib.figures.live import LiveFigure  # noqa: E402
from lessons_lib.figures.lesson08_training import KINDS, ScheduleShaper, plot_schedules  # noqa: E402
from lessons_lib.schedules import Constant, Cosine, Exponential, StepDecay, WarmupCosine  # noqa: E402


@pytest.fixture(scope="module")
def shaper():
    return ScheduleShaper()


@pytest.fixture
def no_drawing(monkeypatch):
    """For the tests that read the curve, the axes and the controls but no pixel: the figure skips drawing and
    encoding (most of a shaper's time otherwise). The tests that compare pictures draw for real."""
    monkeypatch.setattr(LiveFigure, "redraw_background", lambda self: None)
    monkeypatch.setattr(LiveFigure, "png", lambda self: b"")


def image(shaper: ScheduleShaper) -> bytes:
    return bytes(shaper.live.image.value)


def all_widgets(widget: widgets.Widget) -> list[widgets.Widget]:
    """The widget and every widget inside it."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += all_widgets(child)
    return found


# --- the shaper ----------------------------------------------------------------------------------


def test_the_shaper_starts_with_a_picture_and_no_error(shaper):
    assert image(shaper).startswith(b"\x89PNG") and shaper.status.value == ""
    assert shaper.title.get_text().startswith("WarmupCosine(lr=0.1, warmup_steps=20, total_steps=200, min_lr=0)")


def test_the_panel_holds_the_controls_and_the_image_and_no_output_widget(shaper):
    inside = all_widgets(shaper.panel)
    assert all(control in inside for control in shaper.controls)
    assert shaper.live.image in inside
    assert not any(isinstance(widget, widgets.Output) for widget in inside)


@pytest.mark.parametrize("kind, settings, expected", [
    ("constant", {"lr": 0.05}, Constant(lr=0.05)),
    ("step decay", {"lr": 0.2, "step_size": 30, "gamma": 0.3}, StepDecay(lr=0.2, step_size=30, gamma=0.3)),
    ("exponential", {"lr": 0.01, "gamma_per_step": 0.95}, Exponential(lr=0.01, gamma=0.95)),
    ("cosine", {"lr": 0.5, "total_steps": 150, "min_lr_fraction": 0.1},
     Cosine(lr=0.5, total_steps=150, min_lr=0.05)),
    ("warm-up + cosine", {"lr": 0.3, "total_steps": 400, "warmup_steps": 40, "min_lr_fraction": 0.25},
     WarmupCosine(lr=0.3, warmup_steps=40, total_steps=400, min_lr=0.075)),
])
def test_the_controls_give_the_schedule_the_library_computes(kind, settings, expected, no_drawing):
    shaper = ScheduleShaper(kind=kind, **settings)
    total = shaper.total_steps.value
    assert type(shaper.schedule()) is type(expected)
    np.testing.assert_allclose(shaper.schedule().values(total), expected.values(total), rtol=1e-15, atol=0)
    x, y = shaper.curve.get_data()
    np.testing.assert_array_equal(x, np.arange(total))
    np.testing.assert_allclose(y, expected.values(total), rtol=1e-15, atol=0)
    assert shaper.ax.get_xlim() == (0, total - 1)
    assert 0 < y.max() <= shaper.ax.get_ylim()[1]  # the whole curve is in view
    assert shaper.title.get_text().startswith(type(expected).__name__ + "(")


def test_moving_the_controls_afterwards_changes_the_curve_as_the_library_says(no_drawing):
    shaper = ScheduleShaper(kind="constant")
    shaper.kind.value = "step decay"
    shaper.lr.value = 0.02
    shaper.step_size.value = 10
    shaper.gamma.value = 0.5
    shaper.total_steps.value = 55
    np.testing.assert_array_equal(shaper.curve.get_ydata(), StepDecay(lr=0.02, step_size=10, gamma=0.5).values(55))
    assert shaper.ax.get_xlim() == (0, 54) and shaper.status.value == ""


def assert_only_the_used_controls_are_shown(shaper: ScheduleShaper) -> None:
    """The controls the chosen kind uses are shown and enabled; the others are folded away (hidden), not
    greyed out: a control is never disabled."""
    used = [shaper.kind, shaper.lr, shaper.total_steps, *shaper.uses[shaper.kind.value], shaper.log_scale]
    for control in shaper.controls:
        assert not control.disabled, control.description
        if control in used:
            assert control.layout.display in (None, ""), control.description
        else:
            assert control.layout.display == "none", control.description


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_control_a_kind_uses_changes_the_picture_and_the_others_are_folded_away(kind):
    shaper = ScheduleShaper(kind=kind, min_lr_fraction=0.1)
    used = [shaper.lr, shaper.total_steps, *shaper.uses[kind], shaper.log_scale]
    assert_only_the_used_controls_are_shown(shaper)
    other_values = {shaper.lr: 0.5, shaper.total_steps: 300, shaper.warmup_steps: 50, shaper.step_size: 7,
                    shaper.gamma: 0.2, shaper.gamma_per_step: 0.93, shaper.min_lr_fraction: 0.4}
    for control in used:
        before, default = image(shaper), control.value
        control.value = (not default) if isinstance(control, widgets.Checkbox) else other_values[control]
        assert control.value != default
        assert shaper.status.value == "", control.description
        assert image(shaper) != before, control.description
        control.value = default
        assert image(shaper) == before, control.description  # back to the same picture, nothing left over


def test_choosing_another_kind_shows_its_controls_and_folds_the_others_away(no_drawing):
    shaper = ScheduleShaper(kind="constant")
    for kind in [*KINDS, *reversed(list(KINDS))]:  # every choice, reached from a neighbour on both sides
        shaper.kind.value = kind
        assert_only_the_used_controls_are_shown(shaper)
        assert shaper.status.value == "", kind


def test_the_log_scale_switches_the_axis_and_keeps_the_curve(no_drawing):
    shaper = ScheduleShaper(kind="exponential", gamma_per_step=0.95)
    values = shaper.curve.get_ydata().copy()
    shaper.log_scale.value = True
    assert shaper.ax.get_yscale() == "log"
    low, high = shaper.ax.get_ylim()
    assert low <= values.min() and values.max() <= high
    np.testing.assert_array_equal(shaper.curve.get_ydata(), values)
    shaper.log_scale.value = False
    assert shaper.ax.get_yscale() == "linear" and shaper.ax.get_ylim()[0] == 0


def test_the_warm_up_line_marks_w_and_only_for_warm_up(no_drawing):
    shaper = ScheduleShaper(kind="warm-up + cosine", warmup_steps=35)
    assert shaper.warmup_end.get_visible() and list(shaper.warmup_end.get_xdata()) == [35, 35]
    shaper.kind.value = "cosine"
    assert not shaper.warmup_end.get_visible()


def test_an_impossible_schedule_is_reported_and_the_picture_kept():
    shaper = ScheduleShaper(kind="warm-up + cosine", total_steps=100, warmup_steps=20)
    shown = image(shaper)
    shaper.warmup_steps.value = 150
    assert "warmup_steps must be &lt; total_steps" in shaper.status.value
    assert image(shaper) == shown
    shaper.warmup_steps.value = 30
    assert shaper.status.value == "" and image(shaper) != shown


def test_snapshot_is_a_png_of_the_current_state(shaper):
    snapshot = shaper.snapshot()
    assert snapshot.format == "png" and snapshot.data == shaper.live.png()
    assert snapshot.data.startswith(b"\x89PNG")


# --- plot_schedules ------------------------------------------------------------------------------


def test_plot_schedules_draws_each_schedules_values_with_its_name():
    schedules = [Constant(lr=0.1), Exponential(lr=0.1, gamma=0.97), WarmupCosine(lr=0.1, warmup_steps=5,
                                                                              total_steps=60)]
    ax = plot_schedules(schedules, 60)
    assert isinstance(ax.figure, Figure) and len(ax.lines) == 3
    for line, schedule in zip(ax.lines, schedules):
        np.testing.assert_array_equal(line.get_ydata(), schedule.values(60))
        assert line.get_label() == schedule.name
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 0.1


def test_plot_schedules_takes_labels_an_axes_and_a_log_scale():
    _, ax = plt.subplots()
    labelled = {"η = 0.1": Cosine(lr=0.1, total_steps=30), "η = 0.01": Cosine(lr=0.01, total_steps=30)}
    returned = plot_schedules(labelled, 30, ax=ax, log_scale=True)
    assert returned is ax and ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines] == ["η = 0.1", "η = 0.01"]

