"""Lesson 05's figures and widgets: the numbers they compute, the pictures they redraw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessons_lib.figures import lesson05_adam as lesson05  # noqa: E402
from lessons_lib.optim import SGD, Adam, RMSprop  # noqa: E402
from lessons_lib.runner import run  # noqa: E402
from lessons_lib.surfaces import get_surface  # noqa: E402


def numpy_adam_step(theta, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam as the lesson writes it, for replaying a step function."""
    t, m, v = state
    t = t + 1
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    theta = theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return theta, (t, m, v)


# --- replay ----------------------------------------------------------------------------------------


def test_replay_of_a_rule_matches_its_steps_one_by_one():
    grads = np.random.default_rng(5).standard_normal((40, 3))
    rule = Adam(lr=0.01)
    steps = lesson05.replay(rule, grads)
    theta, state = np.zeros(3), rule.init(np.zeros(3))
    for t, g in enumerate(grads):
        new_theta, state = rule.step(theta, g, state)
        np.testing.assert_array_equal(steps[t], new_theta - theta)
        theta = new_theta
    assert steps.shape == (40, 3)


def test_replay_of_a_step_function_agrees_with_the_library_rule():
    grads = np.random.default_rng(6).standard_normal((200, 2)) * [1.0, 1e-6]
    mine = lesson05.replay(numpy_adam_step, grads, (0, np.zeros(2), np.zeros(2)), lr=0.05)
    np.testing.assert_allclose(mine, lesson05.replay(Adam(lr=0.05), grads), rtol=0, atol=1e-15)


def test_under_a_constant_gradient_every_bias_corrected_step_has_length_lr():
    # the crisp check of the lesson: whatever the size of g, each step is η (up to ε / |g|)
    sizes = np.array([1e-3, 1.0, 1e3])
    steps = lesson05.replay(Adam(lr=0.01), np.tile(sizes, (3000, 1)))
    np.testing.assert_allclose(np.abs(steps), 0.01, rtol=1.1e-5)
    uncorrected = np.abs(lesson05.replay(Adam(lr=1.0, bias_correction=False), np.ones(100)))[:, 0]
    assert uncorrected.max() == pytest.approx(6.5685, abs=1e-4) and np.argmax(uncorrected) == 11  # t = 12


def test_a_one_dimensional_sequence_is_one_parameter():
    assert lesson05.replay(SGD(lr=0.5), [1.0, 2.0]).tolist() == [[-0.5], [-1.0]]


# --- figures ---------------------------------------------------------------------------------------


def test_step_length_figure_draws_each_curve_and_the_reference():
    fig = lesson05.step_length_figure({"a": np.ones(10), "b": np.linspace(3, 1, 10)}, title="t",
                                      legend_loc="lower right")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3 and ax.get_xscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), np.arange(1, 11))
    (no_reference,) = lesson05.step_length_figure({"a": np.ones(5)}, reference=None, logy=True).axes
    assert len(no_reference.get_lines()) == 1 and no_reference.get_yscale() == "log"


def test_step_bound_figure_shows_gradients_and_steps_per_coordinate():
    rosenbrock = get_surface("rosenbrock")
    path = run(Adam(lr=0.05), rosenbrock, rosenbrock.start, steps=50)
    ax_g, ax_s = lesson05.step_bound_figure(path, lr=0.05).axes
    assert ax_g.get_yscale() == "log" and len(ax_g.get_lines()) == 2
    dx = ax_s.get_lines()[0].get_ydata()
    np.testing.assert_allclose(dx, np.abs(np.diff(path.positions[:, 0])) / 0.05)
    assert dx.max() <= 1.0 + 1e-9  # Adam's steps on Rosenbrock stay within η


# --- signal to noise ------------------------------------------------------------------------------


def test_noisy_and_steady_gradients_rescale_one_noise_sequence():
    quiet = lesson05.noisy_and_steady_gradients(100, noise=1.0, steady=0.01, seed=3)
    loud = lesson05.noisy_and_steady_gradients(100, noise=4.0, steady=0.01, seed=3)
    assert quiet.shape == (100, 2)
    np.testing.assert_allclose(loud[:, 0] - 1.0, 4.0 * (quiet[:, 0] - 1.0))
    assert (quiet[:, 1] == 0.01).all()


def test_mean_over_rms():
    np.testing.assert_allclose(lesson05.mean_over_rms([[1.0, 3.0], [1.0, -1.0]]), [1.0, 1 / np.sqrt(5)])
    np.testing.assert_allclose(lesson05.mean_over_rms([-2.0, -2.0]), [-1.0])


def test_adam_drifts_by_mean_over_rms_and_sgd_by_the_mean():
    grads = lesson05.noisy_and_steady_gradients(3000, noise=2.0, steady=0.001, seed=1)
    adam_drift = -lesson05.replay(Adam(lr=1.0), grads).mean(axis=0)
    sgd_drift = -lesson05.replay(SGD(lr=1.0), grads).mean(axis=0)
    np.testing.assert_allclose(adam_drift, lesson05.mean_over_rms(grads), atol=0.01)
    np.testing.assert_allclose(sgd_drift, grads.mean(axis=0))


@pytest.fixture(scope="module")
def side_by_side():
    return lesson05.SignalToNoise(noise=5.0, steady=0.01, steps=200)


def test_signal_to_noise_titles_give_the_drifts(side_by_side):
    assert side_by_side.ax_adam.title.get_text().endswith("b 1 η")
    assert side_by_side.ax_sgd.title.get_text().endswith("b 0.01 η")
    assert side_by_side.status.value == ""


def test_each_signal_to_noise_slider_changes_the_picture(side_by_side):
    for slider, value in ((side_by_side.noise_slider, 0.0), (side_by_side.steady_slider, 1e-3)):
        before, default = bytes(side_by_side.live.image.value), slider.value
        slider.value = value
        assert bytes(side_by_side.live.image.value) != before, f"{slider.description} did not change the picture"
        slider.value = default
        assert bytes(side_by_side.live.image.value) == before


def test_without_noise_adam_moves_both_parameters_by_lr_per_step(side_by_side):
    side_by_side.noise_slider.value = 0.0
    try:
        path_a, _ = side_by_side.lines[side_by_side.ax_adam, "a"]
        path_b, _ = side_by_side.lines[side_by_side.ax_adam, "b"]
        np.testing.assert_allclose(path_a.get_ydata(), np.arange(201), rtol=1e-7)
        np.testing.assert_allclose(path_b.get_ydata(), np.arange(201), rtol=1e-6)
    finally:
        side_by_side.noise_slider.value = 5.0


# --- the race --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def race():
    return lesson05.AdamRace("rosenbrock", steps=100)


def test_race_reports_each_runners_largest_step_in_units_of_its_lr(race):
    lines = race.readout.get_text().splitlines()
    assert lines[0] == "largest step in one coordinate, in units of its own η:"
    assert lines[1] == "SGD 216 · Momentum 216 · RMSprop 10.0 · Adam 1.00"  # three significant digits each
    assert race.status.value == ""
    largest = race.largest_steps()
    assert list(largest) == ["SGD", "Momentum", "RMSprop", "Adam"]
    assert largest["SGD"] == pytest.approx(215.6) and largest["Adam"] == pytest.approx(1.0)


@pytest.mark.parametrize("value, text", [(215.6, "216"), (9.99999, "10.0"), (10.04, "10.0"), (0.99999, "1.00"),
                                         (1.384, "1.38"), (99.96, "100")])
def test_times_eta_keeps_three_significant_digits(value, text):
    assert lesson05.times_eta(value) == text


def test_race_paths_lie_wide_under_thin_and_end_in_squares(race):
    paths = dict(zip(lesson05.RACE_LABELS, race.race.paths))
    order = [race.race.live.animated.index(paths[label]) for label in ("Adam", "RMSprop", "Momentum", "SGD")]
    assert order == sorted(order)  # drawn first: underneath
    assert paths["Adam"].get_linewidth() > paths["RMSprop"].get_linewidth() > paths["SGD"].get_linewidth()
    for label, trajectory in zip(lesson05.RACE_LABELS, race.trajectories()):
        np.testing.assert_array_equal(np.ravel(race.ends[label].get_xydata()), trajectory.positions[-1])


def test_race_legend_sits_at_the_lower_left(race):
    assert race.race.ax_loss.get_legend()._loc == 3  # matplotlib's code for "lower left"


def test_each_race_control_changes_the_picture(race):
    controls = [*race.lr_sliders.values(), *race.beta_sliders.values()]
    values = [3e-4, 3e-4, 0.003, 0.2, 0.5, 0.5, 0.5, 0.99]
    for control, value in zip(controls, values):
        before, default = bytes(race.race.live.image.value), control.value
        control.value = value
        assert race.status.value == ""
        assert bytes(race.race.live.image.value) != before, f"{control.description} did not change the picture"
        control.value = default


def test_race_rules_follow_the_controls(race):
    sgd, momentum, rmsprop, adam = race.rules()
    assert (sgd.momentum, momentum.momentum, momentum.lr) == (0.0, 0.9, 1e-3)
    assert isinstance(rmsprop, RMSprop) and rmsprop.beta == 0.99
    assert isinstance(adam, Adam) and (adam.lr, adam.beta1, adam.beta2) == (0.05, 0.9, 0.999)


def test_switching_surface_redraws_the_map_and_runs_from_its_start(race):
    race.surface_menu.value = "himmelblau"
    try:
        assert race.race.surface.name == "himmelblau"
        np.testing.assert_array_equal(race.trajectories()[0].positions[0], get_surface("himmelblau").start)
        assert "Himmelblau" in race.race.ax_map.get_title()
    finally:
        race.surface_menu.value = "rosenbrock"


def test_a_diverging_runner_is_named_not_raised(race):
    race.lr_sliders["SGD"].value = 0.01
    try:
        assert "SGD diverges" in race.readout.get_text()
        assert "SGD diverged at step" in race.race.note.get_text()
        assert race.status.value == ""
    finally:
        race.lr_sliders["SGD"].value = 1e-3


def test_race_refuses_an_unknown_surface():
    with pytest.raises(ValueError, match="name must be one of"):  # the message of lessons_lib.surfaces.get_surface
        lesson05.AdamRace(surface="moon")


def test_snapshots_are_pngs_of_the_current_picture(race, side_by_side):
    for widget in (race, side_by_side):
        assert widget.snapshot().data.startswith(b"\x89PNG")
    assert race.snapshot().data == race.race.live.png()


def test_live_figures_are_not_pyplot_figures():
    # pyplot would display them a second time, under the widget, at the end of the cell
    plt.close("all")
    lesson05.AdamRace(steps=10)
    lesson05.SignalToNoise(steps=10)
    assert plt.get_fignums() == []
