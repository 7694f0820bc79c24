"""lessons_lib.figures.lesson04_adagrad_rmsprop: the replays, ε factors, the 45° map and the race of lesson 04."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from lessons_lib.figures import lesson04_adagrad_rmsprop as adaptive
from lessons_lib.figures.live import LiveFigure
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD, AdaGrad, Adam, RMSprop
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface


@pytest.fixture
def no_drawing(monkeypatch):
    """For the tests that read runs, artists and text but no pixel: the figures skip drawing and encoding (most of
    a race's time otherwise). The tests that compare pictures draw the same races for real."""
    monkeypatch.setattr(LiveFigure, "redraw_background", lambda self: None)
    monkeypatch.setattr(LiveFigure, "png", lambda self: b"")


# --- replay ----------------------------------------------------------------------------------


def test_adagrad_under_a_constant_gradient_has_step_size_lr_over_root_t():
    lr, steps = 0.1, 400
    replay = adaptive.replay(AdaGrad(lr=lr, eps=1e-10), np.ones(steps))
    t = np.arange(1, steps + 1)
    np.testing.assert_allclose(replay.accumulators[:, 0], t)  # s_t = t g² = t
    np.testing.assert_allclose(replay.step_sizes[:, 0], lr / (np.sqrt(t) + 1e-10), rtol=1e-15)
    np.testing.assert_allclose(replay.steps[:, 0], -replay.step_sizes[:, 0])  # g = 1


def test_rmsprop_first_step_is_lr_over_root_one_minus_beta_then_levels_off_at_lr():
    lr, beta = 0.01, 0.99
    replay = adaptive.replay(RMSprop(lr=lr, beta=beta), np.full(3000, 2.0))
    # rel=1e-7: ε = 1e-8 in the denominator next to √v ≥ 0.2
    assert abs(replay.steps[0, 0]) == pytest.approx(lr / np.sqrt(1 - beta), rel=1e-7)
    assert abs(replay.steps[-1, 0]) == pytest.approx(lr, rel=1e-7)  # v → g², so the step → η
    np.testing.assert_allclose(replay.accumulators[-1, 0], 4.0, rtol=1e-9)


def test_replay_matches_the_rule_step_by_step_for_several_parameters():
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((50, 3))
    rule = RMSprop(lr=0.05, beta=0.9)
    replay = adaptive.replay(rule, grads, label="mine")
    theta, state = np.zeros(3), rule.init(np.zeros(3))
    for t, g in enumerate(grads):
        new_theta, state = rule.step(theta, g, state)
        np.testing.assert_array_equal(replay.steps[t], new_theta - theta)
        np.testing.assert_array_equal(replay.accumulators[t], adaptive.accumulator(state))
        theta = new_theta
    np.testing.assert_allclose(replay.steps, -replay.step_sizes * grads, rtol=1e-12)
    assert replay.label == "mine" and replay.steps.shape == (50, 3)


def test_accumulator_reads_s_or_v_and_refuses_other_states():
    assert adaptive.accumulator(AdaGrad(initial_accumulator_value=0.5).init(np.zeros(2)))[0] == 0.5
    assert adaptive.accumulator(RMSprop().init(np.zeros(2))).shape == (2,)
    with pytest.raises(ValueError, match="state must be an AdaGradState or an RMSpropState"):
        adaptive.accumulator(Adam().init(np.zeros(2)))


def test_step_size_figure_draws_one_curve_per_replay_and_reference():
    replays = [adaptive.replay(AdaGrad(lr=0.1), np.ones(20)), adaptive.replay(RMSprop(lr=0.1), np.ones(20))]
    fig = adaptive.step_size_figure(replays, references={"η/√t": 0.1 / np.sqrt(np.arange(1, 21))})
    assert isinstance(fig, Figure)
    ax_acc, ax_step = fig.axes
    assert len(ax_acc.get_lines()) == 2 and len(ax_step.get_lines()) == 3
    assert ax_step.get_xscale() == ax_step.get_yscale() == "log"
    (only_steps,) = adaptive.step_size_figure(replays, accumulators=False).axes
    assert len(only_steps.get_lines()) == 2 and "step size" in only_steps.get_title()


# --- where ε goes ------------------------------------------------------------------------------


def test_steady_step_factor_outside_and_inside_the_root():
    g = np.array([1.0, 1e-6, 0.0])
    outside = adaptive.steady_step_factor(g, 1e-8, inside=False)
    inside = adaptive.steady_step_factor(g, 1e-8, inside=True)
    np.testing.assert_allclose(outside, [1 / (1 + 1e-8), 1e-6 / (1e-6 + 1e-8), 0.0])
    np.testing.assert_allclose(inside, [1 / np.sqrt(1 + 1e-8), 1e-6 / np.sqrt(1e-12 + 1e-8), 0.0])
    assert inside[1] < 0.011 < 0.98 < outside[1]  # a gradient of 1e-6: a hundredfold difference
    np.testing.assert_allclose(adaptive.steady_step_factor(-g, 1e-8, inside=False), outside)  # |g|, not g


def test_steady_step_factor_agrees_with_the_rule_once_v_has_settled():
    rule = RMSprop(lr=1.0, beta=0.9, eps=1e-8)
    replay = adaptive.replay(rule, np.full(2000, 3e-6))
    assert abs(replay.steps[-1, 0]) == pytest.approx(adaptive.steady_step_factor(3e-6, 1e-8, False), rel=1e-9)


def test_epsilon_figure_draws_each_form():
    fig = adaptive.epsilon_figure([("outside", 1e-8, False), ("inside", 1e-8, True)], mark=1e-6)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3  # two forms and the mark


# --- the valley and the rotated valley ---------------------------------------------------------


def test_valley_coordinates_match_the_two_losses_and_are_their_own_inverse():
    valley, rotated = get_surface("valley"), get_surface("rotated_valley")
    points = np.random.default_rng(0).uniform(-5, 5, size=(100, 2))
    np.testing.assert_allclose(valley.loss(adaptive.valley_coordinates(points)), rotated.loss(points), rtol=1e-13)
    np.testing.assert_allclose(adaptive.valley_coordinates(adaptive.valley_coordinates(points)), points, atol=1e-14)


def test_matching_starts_give_gradient_descent_the_same_path_turned():
    valley, rotated = get_surface("valley"), get_surface("rotated_valley")
    starts = adaptive.MATCHING_STARTS
    assert valley.loss(starts["valley"]) == pytest.approx(rotated.loss(starts["rotated_valley"]), rel=1e-14)
    on_valley = run(SGD(lr=0.4), valley, starts["valley"], 50)
    on_rotated = run(SGD(lr=0.4), rotated, starts["rotated_valley"], 50)
    np.testing.assert_allclose(adaptive.valley_coordinates(on_rotated.positions), on_valley.positions, atol=1e-12)


@pytest.mark.parametrize("losses, expected", [
    ([5.0, 0.5, 2.0, 0.1, 0.01], 3),  # dips at step 1, bounces, stays from step 3
    ([0.1, 0.2], 0),
    ([5.0, 0.1, 2.0], None),
    ([5.0, 4.0], None),
])
def test_steps_to_stay_below(losses, expected):
    assert adaptive.steps_to_stay_below(losses, 1.0) == expected


# --- the race ----------------------------------------------------------------------------------


def test_race_redraws_when_any_control_changes():
    race = adaptive.AdaptiveRace(steps=60)
    shown = [bytes(race.race.live.image.value)]
    for control, value in ((race.lr_slider, 0.5), (race.beta_slider, 0.9), (race.surface_menu, "rotated_valley")):
        control.value = value
        assert race.status.value == ""
        shown.append(bytes(race.race.live.image.value))
        assert shown[-1] != shown[-2], f"changing {control.description} did not change the picture"
    assert race.race.surface.name == "rotated_valley"


def test_race_runs_from_the_matching_starts_and_counts_steps(no_drawing):
    race = adaptive.AdaptiveRace(lr=0.15, beta=0.99, gd_lr=0.465, steps=200)
    assert "steps until the loss stays < 1e-06" in race.counts.get_text()
    gd, adagrad, rmsprop = race.trajectories()
    np.testing.assert_array_equal(gd.positions[0], adaptive.MATCHING_STARTS["valley"])
    valley_counts = race.counts.get_text()
    race.surface_menu.value = "rotated_valley"
    gd_turned = race.trajectories()[0]
    np.testing.assert_allclose(adaptive.valley_coordinates(gd_turned.positions), gd.positions, atol=1e-12)
    gd_line = [line for line in valley_counts.splitlines() if line.startswith("gradient descent")]
    assert gd_line and gd_line[0] in race.counts.get_text()  # gradient descent does not care about the turn


def test_race_snapshot_is_the_current_picture():
    race = adaptive.AdaptiveRace(steps=30)
    assert race.snapshot().data == race.race.live.png()



# --- long runs and the two step sizes ------------------------------------------------------------


def test_long_run_figure_draws_each_run_the_band_and_the_target_above_the_floor():
    losses = {"a": np.geomspace(1.0, 1e-40, 101), "b": np.full(101, 5e-3)}
    fig = adaptive.long_run_figure(losses, band=5.25e-3, target=1e-6)
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    curves = [line for line in ax.get_lines() if line.get_label() in losses]
    assert len(curves) == 2 and len(ax.get_lines()) == 4  # two runs, the band, the target
    assert curves[0].get_ydata().min() == adaptive.LONG_RUN_FLOOR  # below the floor: drawn on it
    assert len(curves[0].get_xdata()) == 100  # steps 1 … T (step 0 has no place on a log axis)
    assert "5.25e-03" in " ".join(text.get_text() for text in ax.get_legend().get_texts())
    assert fig.get_size_inches()[0] <= WIDTH


def test_step_sizes_figure_draws_the_ratios_and_the_sizes_against_the_limits():
    sizes = {"Valley": np.column_stack([np.linspace(1, 3, 50), np.linspace(0.4, 1.2, 50)]),
             "Rotated valley": np.ones((50, 2))}
    fig = adaptive.step_sizes_figure(sizes, (0.2, 4.0), "Valley")
    ax_ratio, ax_size = fig.axes
    np.testing.assert_allclose(ax_ratio.get_lines()[0].get_ydata(), 2.5)  # (1/0.4, …, 3/1.2): all 2.5
    assert ax_size.get_yscale() == "log"
    limits = sorted(line.get_ydata()[0] for line in ax_size.get_lines() if line.get_linestyle() == "--")
    assert limits == [0.5, 10.0]  # 2/λ_y and 2/λ_x
    assert fig.get_size_inches()[0] <= WIDTH


def test_race_draws_adagrads_path_under_rmsprops_and_both_visible(no_drawing):
    race = adaptive.AdaptiveRace(steps=30)
    _, adagrad, rmsprop = race.race.paths
    assert adagrad.get_linewidth() > 3 * rmsprop.get_linewidth()  # a wide band under a thin line
    assert adagrad.get_zorder() < rmsprop.get_zorder() and 0 < adagrad.get_alpha() < 1
