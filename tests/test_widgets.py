"""Live figures, the live race and the playground: each control change must redraw, quickly and safely."""

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib.figure import Figure

from lessons_lib.optim import SGD, Adam
from lessons_lib.figures.playground import RACERS, Playground, slider_range
from lessons_lib.figures.race import LiveRace
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface
from lessons_lib.figures.live import PICTURE_MAX_HEIGHT, LiveFigure, arrange, guarded, picture_max_height
from lessons_lib.figures.style import DPI


def line_figure() -> tuple[LiveFigure, object]:
    figure = Figure(figsize=(3, 2), dpi=50, layout="constrained")
    ax = figure.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    (line,) = ax.plot([0, 1], [0, 0.5])
    live = LiveFigure(figure)
    live.animate(line)
    return live, line


def test_refresh_shows_the_animated_artists_current_data():
    live, line = line_figure()
    live.refresh()
    before = bytes(live.image.value)
    assert before.startswith(b"\x89PNG")
    line.set_data([0, 1], [0, 0.9])
    live.refresh()
    assert bytes(live.image.value) != before
    line.set_data([0, 1], [0, 0.5])
    live.refresh()
    assert bytes(live.image.value) == before  # same data, same picture: nothing left over from the last frame


def test_snapshot_is_a_png_of_the_current_state():
    live, line = line_figure()
    snapshot = live.snapshot()
    assert snapshot.format == "png" and snapshot.data == live.png()


def test_panel_calls_update_on_every_change_and_shows_errors_in_words():
    live, line = line_figure()
    slider = widgets.FloatSlider(value=0.5, min=0, max=1)

    def update():
        if slider.value > 0.9:
            raise ValueError("too steep")
        line.set_data([0, 1], [0, slider.value])

    panel = live.panel([slider], update)
    status = panel.children[1]
    first = bytes(live.image.value)
    slider.value = 0.8
    assert bytes(live.image.value) != first and status.value == ""
    shown = bytes(live.image.value)
    slider.value = 0.95
    assert "ValueError: too steep" in status.value and bytes(live.image.value) == shown  # the last picture stays
    slider.value = 0.2
    assert status.value == ""


def test_guarded_escapes_html_in_errors():
    status = widgets.HTML()

    def update():
        raise ValueError("<b>x</b>")

    guarded(update, lambda: None, status)()
    assert "&lt;b&gt;x&lt;/b&gt;" in status.value


@pytest.fixture
def no_drawing(monkeypatch):
    """For the tests that read artists, legends and controls but no pixel: the figures skip drawing and encoding."""
    monkeypatch.setattr(LiveFigure, "redraw_background", lambda self: None)
    monkeypatch.setattr(LiveFigure, "png", lambda self: b"")


def test_live_race_draws_paths_and_hides_runners():
    valley = get_surface("valley")
    race = LiveRace(valley, ["SGD", "Adam"], steps=30)
    runs = [run(SGD(lr=0.1), valley, valley.start, 30), run(Adam(lr=0.1), valley, valley.start, 30)]
    race.show(runs)
    both = race.live.png()
    assert race.paths[1].get_visible()
    np.testing.assert_array_equal(race.paths[1].get_xdata(), runs[1].positions[:, 0])
    race.show([runs[0], None])
    assert not race.paths[1].get_visible() and race.live.png() != both


def test_a_runner_shown_again_has_its_line_in_the_legend(no_drawing):
    valley = get_surface("valley")
    race = LiveRace(valley, ["SGD", "Adam"], steps=30)
    runs = [run(SGD(lr=0.1), valley, valley.start, 30), run(Adam(lr=0.1), valley, valley.start, 30)]
    race.show([runs[0], None])
    race.show([None, runs[1]])  # Adam was hidden: its legend entry must not copy that
    assert [handle.get_visible() for handle in race.ax_loss.get_legend().legend_handles] == [True]


def test_live_race_can_colour_the_runners_shown_in_order(no_drawing):
    valley = get_surface("valley")
    labels = [f"runner {index}" for index in range(10)]
    race = LiveRace(valley, labels, steps=10, colors_by_order=True)
    sgd = run(SGD(lr=0.1), valley, valley.start, 10)
    race.show([None, None, sgd, None, None, None, None, None, None, sgd])
    assert [race.paths[index].get_color() for index in (2, 9)] == ["tab:blue", "tab:orange"]
    race.show([sgd] * 10)  # more than eight: the colours come round again, dashed
    assert race.paths[8].get_color() == "tab:blue" and race.paths[8].get_linestyle() == "--"


def test_live_race_names_a_diverged_run_on_the_map(no_drawing):
    valley = get_surface("valley")
    race = LiveRace(valley, ["SGD"], steps=200)
    diverged = run(SGD(lr=0.6), valley, valley.start, 200)  # above 2 / λ_max = 0.5
    race.show([diverged])
    assert diverged.diverged and " ".join(race.note.get_text().split()) == diverged.message  # wrapped to fit


@pytest.fixture(scope="module")
def playground():
    return Playground(surface="himmelblau", steps=100)


def test_playground_starts_with_a_picture_and_the_default_racers(playground):
    assert bytes(playground.race.live.image.value).startswith(b"\x89PNG")
    racing = [racer.label for racer, box in zip(playground.racers, playground.racing) if box.value]
    assert racing == [racer.label for racer in RACERS if racer.racing]
    assert playground.status.value == ""


def test_every_knob_and_start_slider_moves_its_racers_path(playground, monkeypatch):
    # Only the paths' data is read here, never the pixels: no drawing or PNG per move (most of the time otherwise).
    monkeypatch.setattr(playground.race.live, "redraw_background", lambda: None)
    monkeypatch.setattr(playground.race.live, "png", lambda: b"")

    def paths() -> list[np.ndarray]:
        return [np.asarray(path.get_xydata()) for path in playground.race.paths]

    def moves(slider, racing: list[int]) -> list[int]:
        """The racers among ``racing`` whose path changes when ``slider`` goes to an end of its range."""
        before, default = paths(), slider.value
        moved = set()
        for end in slider_range(slider)[::-1]:  # one end may leave a path as it was (Lion's β₁ → 0.999: same signs)
            if end != default:
                slider.value = end
                after = paths()
                moved |= {i for i in racing if not np.array_equal(before[i], after[i])}  # False for other shapes too
        slider.value = default
        return sorted(moved)

    labels = [racer.label for racer in playground.racers]
    playground.race_only(*labels)
    everyone = list(range(len(labels)))
    for slider in (playground.start_x, playground.start_y):
        assert moves(slider, everyone) == everyone, slider.description
    for first in range(0, len(labels), 2):  # racers in pairs: each with a neighbour, which must not move
        pair = sorted({first, (first + 1) % len(labels)})
        playground.race_only(*(labels[i] for i in pair))
        for index in pair:
            for slider in playground.knobs[index]:
                assert moves(slider, pair) == [index], f"{slider.description}: racer {labels[index]}"


def test_a_diverging_run_is_reported_not_raised(playground):
    sgd_lr = playground.knobs[0][0]
    playground.racing[0].value = True
    sgd_lr.value = sgd_lr.max
    assert "SGD diverged at step" in playground.status.value
    assert "SGD diverged at step" in playground.race.note.get_text()


def test_switching_surface_moves_the_start_sliders_into_the_new_window(playground):
    playground.surface.value = "rosenbrock"
    rosenbrock = get_surface("rosenbrock")
    assert (playground.start_x.min, playground.start_x.max) == rosenbrock.xlim
    assert (playground.start_x.value, playground.start_y.value) == pytest.approx(rosenbrock.start)
    assert playground.race.surface is rosenbrock


def test_changing_steps_changes_the_loss_axis(playground):
    playground.steps.value = 300
    assert playground.race.ax_loss.get_xlim() == (0, 300)
    assert all(len(line.get_xdata()) <= 301 for line in playground.race.curves)


def test_configure_sets_knobs_from_code_and_checks_them(no_drawing):
    playground = Playground(surface="valley", steps=50)
    playground.configure("Adam", lr=0.3, beta1=0.5)
    adam = [racer.label for racer in playground.racers].index("Adam")
    assert [slider.value for slider in playground.knobs[adam][:2]] == pytest.approx([0.3, 0.5])
    with pytest.raises(ValueError, match="outside the slider's range"):
        playground.configure("Adam", lr=10.0, beta1=0.9)
    assert playground.knobs[adam][1].value == pytest.approx(0.5)  # nothing changed by the refused call
    with pytest.raises(ValueError, match="Adam has no knob beta"):
        playground.configure("Adam", beta=0.5)
    with pytest.raises(ValueError, match="label must be one of"):
        playground.configure("adam")


# --- fitting a projector (1280 × 720 at 150 %: 853 × 480 CSS pixels) --------------------------------------------


def test_a_panel_wraps_its_controls_and_scales_its_picture_to_the_column():
    live, line = line_figure()  # 3 inches wide
    panel = live.panel([widgets.FloatSlider(), widgets.FloatSlider()], lambda: None)
    assert panel.layout.flex_flow == "row wrap"  # controls side by side, in rows that wrap
    look = live.image.layout
    assert (look.width, look.height) == ("auto", "auto")  # the browser keeps the picture's proportions
    assert look.max_width == f"min(100%, {3 * DPI}px)"  # the column's width, never beyond natural size
    assert look.max_height == PICTURE_MAX_HEIGHT  # room for the picture and two rows of controls


def test_arranging_a_panel_leaves_the_start_of_its_text_form_unchanged():
    """nbval compares a widget's stored text/plain, its repr's first 110 characters (ipywidgets 8):
    arranging changes only layouts that come after them, so stored notebooks stay valid."""
    picture = widgets.Image(value=b"\x89PNG" * 50)  # a picture's bytes: a long repr, as in a notebook
    slider, status, image = widgets.FloatSlider(value=0.9, description="β"), widgets.HTML(), picture
    before = repr(widgets.VBox([slider, status, image]))[:110]
    box = widgets.VBox([slider, status, image])
    arrange(box)
    assert repr(box)[:110] == before and repr(box) != repr(widgets.VBox([slider, status, image]))
    inner = widgets.VBox([widgets.Dropdown(options=[f"surface {i}" for i in range(20)], description="surface")])
    outer = widgets.HBox([inner])
    before = repr(widgets.VBox([outer]))[:110]
    arrange(outer, inner)
    assert repr(widgets.VBox([outer]))[:110] == before and inner.layout.display == "contents"


def test_the_schedule_shaper_folds_away_the_controls_a_kind_does_not_use(no_drawing):
    from lessons_lib.figures.lesson08_training import KINDS, ScheduleShaper

    shaper = ScheduleShaper()
    for kind in KINDS:
        shaper.kind.value = kind
        for control in shaper.specific:
            assert (control.layout.display == "none") == (control not in shaper.uses[kind]), (kind, control.description)
        shown = [control for control in shaper.controls if control.layout.display != "none"]
        assert len(shown) <= 6  # three rows of two on a projector's column


def test_the_adam_race_lays_its_two_columns_out_as_one_wrapping_grid(no_drawing):
    from lessons_lib.figures.lesson05_adam import AdamRace

    race = AdamRace()
    columns = race.panel.children[0]
    assert columns.layout.flex_flow == "row wrap"
    assert all(column.layout.display == "contents" for column in columns.children)
    sliders = [*race.lr_sliders.values(), *race.beta_sliders.values()]
    assert all(slider.layout.width.startswith("max(215px") for slider in sliders)  # three to a row at 673 px
    assert race.race.live.image.layout.max_height == picture_max_height(4) != PICTURE_MAX_HEIGHT  # four rows above


def test_the_playground_shows_its_picture_above_the_tabs(playground):
    tabs = next(child for child in playground.panel.children if isinstance(child, widgets.Tab))
    image = playground.race.live.image
    assert image in playground.panel.children and tabs.layout.order == "1" and image.layout.order is None
    top_row = playground.panel.children[0]
    assert top_row.layout.flex_flow == "row wrap" and all(box.layout.display == "contents" for box in top_row.children)
