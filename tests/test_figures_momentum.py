"""Lesson 03's figures and widgets: the numbers they compute, the pictures they redraw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessons_lib.figures import lesson03_momentum as lesson03  # noqa: E402
from lessons_lib.optim import SGD  # noqa: E402
from lessons_lib.runner import run  # noqa: E402
from lessons_lib.surfaces import get_surface  # noqa: E402

VALLEY = get_surface("valley")


# --- first_step_below and steps_to_reach ----------------------------------------------------------


def test_first_step_below_finds_the_first_crossing_or_none():
    assert lesson03.first_step_below([5.0, 1.0, 1e-7, 1.0, 1e-9], 1e-6) == 2
    assert lesson03.first_step_below([5.0, 1.0], 1e-6) is None


@pytest.mark.parametrize("lr, beta, nesterov", [(0.465, 0.0, False), (0.2, 0.7, False), (0.1, 0.9, False),
                                                (0.1, 0.9, True), (0.27, 0.77, True)])
def test_steps_to_reach_agrees_with_real_runs(lr, beta, nesterov):
    rule = SGD(lr=lr, momentum=beta, nesterov=nesterov) if beta > 0 else SGD(lr=lr)
    path = run(rule, VALLEY, VALLEY.start, steps=300)
    expected = lesson03.first_step_below(path.losses, 1e-6)
    assert lesson03.steps_to_reach(VALLEY, lr, beta, max_steps=300, nesterov=nesterov) == expected


def test_steps_to_reach_runs_a_grid_and_marks_failures_inf():
    lrs, betas = np.meshgrid([0.01, 0.2, 1.0], [0.0, 0.7])
    counts = lesson03.steps_to_reach(VALLEY, lrs, betas, max_steps=100)
    assert counts.shape == (2, 3)
    assert np.isinf(counts[0, 0])  # gradient descent with η = 0.01: far too slow for 100 steps
    assert np.isinf(counts[0, 2])  # gradient descent with η = 1 > 2/λ_max: diverges
    assert counts[1, 1] == 42  # momentum, η = 0.2, β = 0.7


def test_steps_to_stay_below_is_the_step_after_the_last_one_above():
    assert lesson03.steps_to_stay_below([5.0, 1e-7, 1.0, 1e-8, 1e-9], 1e-6) == 3
    assert lesson03.steps_to_stay_below([1e-7, 1e-8], 1e-6) == 0
    assert lesson03.steps_to_stay_below([5.0, 1e-7, 1.0], 1e-6) is None  # above at the end: not arrived
    assert lesson03.steps_to_stay_below([5.0, np.nan], 1e-6) is None  # NaN is not below anything


@pytest.mark.parametrize("lr, beta, nesterov", [(0.465, 0.0, False), (0.2, 0.7, False), (0.1, 0.9, False),
                                                (0.1, 0.9, True), (0.27, 0.77, True), (0.65, 0.43, False),
                                                (0.31, 0.63, True), (0.6, 0.0, False)])
def test_steps_to_reach_with_stay_agrees_with_real_runs(lr, beta, nesterov):
    rule = SGD(lr=lr, momentum=beta, nesterov=nesterov) if beta > 0 else SGD(lr=lr)
    path = run(rule, VALLEY, VALLEY.start, steps=300)
    expected = lesson03.steps_to_stay_below(path.losses, 1e-6)
    count = lesson03.steps_to_reach(VALLEY, lr, beta, max_steps=300, nesterov=nesterov, stay=True)
    assert count == (np.inf if expected is None else expected)


def test_stay_is_stricter_than_first_touch_where_the_loss_bounces():
    touch = lesson03.steps_to_reach(VALLEY, 0.27, 0.77, max_steps=100, nesterov=True)
    stay = lesson03.steps_to_reach(VALLEY, 0.27, 0.77, max_steps=100, nesterov=True, stay=True)
    assert (touch, stay) == (10, 49)


def test_steps_to_reach_works_on_the_rotated_valley_too():
    rotated = get_surface("rotated_valley")
    path = run(SGD(lr=0.2, momentum=0.7), rotated, rotated.start, steps=200)
    assert lesson03.steps_to_reach(rotated, 0.2, 0.7, max_steps=200) == lesson03.first_step_below(path.losses, 1e-6)


# --- the regimes ---------------------------------------------------------------------------------


def test_iteration_matrix_reproduces_a_run_of_momentum():
    lr_lambda, beta = 0.7, 0.6
    path = lesson03.heavy_ball_1d(lr_lambda, beta, steps=20).positions[:, 0]
    A = lesson03.iteration_matrix(lr_lambda, beta)
    state = np.array([path[0], path[0]])  # PyTorch's first buffer b = g makes θ_{−1} = θ_0
    for t in range(1, 21):
        state = A @ state
        assert state[0] == pytest.approx(path[t], abs=1e-12)


def test_heavy_ball_1d_is_sgd_on_a_unit_quadratic():
    path = lesson03.heavy_ball_1d(0.5, 0.5, steps=10, theta0=2.0)
    reference = run(SGD(lr=0.5, momentum=0.5), lambda theta: theta, np.array([2.0]), 10)
    np.testing.assert_array_equal(path.positions, reference.positions)


@pytest.mark.parametrize("lr_lambda, beta, regime", [
    (0.1, 0.3, "monotone"), (0.5, 0.5, "ripples"), (1.9, 0.1, "flips sign"), (2.5, 0.2, "diverges"),
    (0.5, 0.0, "monotone"), (1.5, 0.0, "flips sign"), (2.1, 0.0, "diverges"),  # gradient descent
    (3.7, 0.9, "ripples"), (3.9, 0.9, "diverges"),  # the stable band ends at ηλ = 2(1 + β) = 3.8
])
def test_classify_regimes_at_known_points(lr_lambda, beta, regime):
    assert lesson03.REGIMES[int(lesson03.classify_regimes(lr_lambda, beta))] == regime


@pytest.mark.parametrize("nesterov", [False, True])
def test_largest_modulus_is_that_of_the_eigenvalues(nesterov):
    a, beta = np.meshgrid(np.linspace(0.0, 4.2, 43), np.linspace(0.0, 0.99, 12))
    moduli = np.abs(np.linalg.eigvals(lesson03.iteration_matrix(a, beta, nesterov=nesterov))).max(axis=-1)
    np.testing.assert_allclose(lesson03.largest_modulus(a, beta, nesterov=nesterov), moduli, rtol=1e-9, atol=1e-12)


def test_nesterov_iteration_matrix_reproduces_a_run_from_its_second_step():
    lr_lambda, beta = 0.3, 0.6
    rule = SGD(lr=lr_lambda, momentum=beta, nesterov=True)
    path = run(rule, lambda theta: theta, np.array([1.0]), 20, loss=lambda theta: 0.5 * theta**2).positions[:, 0]
    A = lesson03.iteration_matrix(lr_lambda, beta, nesterov=True)
    for t in range(1, 20):
        assert (A @ path[[t, t - 1]])[0] == pytest.approx(path[t + 1], abs=1e-12)


def test_kinked_loss_is_continuous_with_its_gradient_and_minimum_at_zero():
    edges = np.array([1.0, 2.0])
    for x in edges:  # the pieces meet: value and slope agree from both sides
        assert lesson03.kinked_loss(x - 1e-9) == pytest.approx(lesson03.kinked_loss(x + 1e-9), abs=1e-6)
        assert lesson03.kinked_grad(x - 1e-9) == pytest.approx(lesson03.kinked_grad(x + 1e-9), abs=1e-6)
    x = np.linspace(-3, 4, 71)
    h = 1e-6
    numeric = (lesson03.kinked_loss(x + h) - lesson03.kinked_loss(x - h)) / (2 * h)
    away = np.min(np.abs(x[:, None] - edges), axis=1) > 1e-3
    np.testing.assert_allclose(lesson03.kinked_grad(x)[away], numeric[away], atol=1e-4)
    assert lesson03.kinked_loss(0.0) == 0 and np.all(lesson03.kinked_loss(x) >= 0)


def test_in_the_ripple_region_every_eigenvalue_has_modulus_root_beta():
    a, beta = np.meshgrid(np.linspace(0.05, 3.5, 30), np.linspace(0.1, 0.95, 20))
    ripples = lesson03.classify_regimes(a, beta) == 1
    moduli = np.abs(np.linalg.eigvals(lesson03.iteration_matrix(a, beta)))
    np.testing.assert_allclose(moduli[ripples], np.sqrt(beta[ripples])[:, None].repeat(2, axis=1), rtol=1e-12)


# --- static figures --------------------------------------------------------------------------------


def test_weight_window_figure_draws_one_curve_per_beta():
    fig = lesson03.weight_window_figure([0.5, 0.9], k_max=30, cumulative_betas=[0.9, 0.99, 0.999])
    ax_weights, ax_total = fig.axes
    assert len(ax_weights.get_legend().get_texts()) == 2
    assert len(ax_total.get_legend().get_texts()) == 3
    first = ax_weights.get_lines()[0]
    np.testing.assert_allclose(first.get_ydata(), 0.5 * 0.5 ** np.arange(31))


def test_lookahead_figure_puts_each_step_where_its_rule_says():
    theta, v, lr, beta = np.array([-6.6, 0.0]), np.array([0.26, -1.2]), 0.1, 0.9
    fig = lesson03.lookahead_figure(VALLEY, theta, v, lr, beta)
    points = {line.get_label(): line.get_xydata()[0] for line in fig.axes[0].get_lines() if len(line.get_xdata())}
    ahead = theta + beta * v
    heavy = next(xy for label, xy in points.items() if label.startswith("heavy ball"))
    nesterov = next(xy for label, xy in points.items() if label.startswith("Nesterov"))
    np.testing.assert_allclose(heavy, ahead - lr * VALLEY.grad(theta))
    np.testing.assert_allclose(nesterov, ahead - lr * VALLEY.grad(ahead))


def test_lookahead_map_has_equal_axis_scales():
    fig = lesson03.lookahead_figure(VALLEY, [-6.6, 0.0], [0.26, -1.2], 0.1, 0.9, xlim=(-7.9, -4.9), ylim=(-2.0, 0.6))
    assert fig.axes[0].get_aspect() == 1.0


def test_race_figure_has_room_for_every_path():
    path = run(SGD(lr=0.65, momentum=0.43), VALLEY, VALLEY.start, steps=30)  # swings to y = −3.2
    ax_map = lesson03.race_figure(VALLEY, [path]).axes[0]
    (x0, x1), (y0, y1) = ax_map.get_xlim(), ax_map.get_ylim()
    xy = path.positions
    assert x0 < xy[:, 0].min() and xy[:, 0].max() < x1 and y0 < xy[:, 1].min() and xy[:, 1].max() < y1
    assert (x0, x1) == VALLEY.xlim  # only the side that needed it grew


def test_old_velocity_legend_is_math():
    path = np.zeros((5, 2))
    labels = [t.get_text() for t in lesson03.old_velocity_figure(path, path).axes[0].get_legend().get_texts()]
    assert len(labels) == 2 and all(label.count("$") == 2 and "v_" in label for label in labels)


def test_cycle_figure_draws_each_run():
    paths = [run(SGD(lr=1 / 9, momentum=4 / 9, name="heavy"), lesson03.kinked_grad, np.array([3.3]), 30,
                 loss=lesson03.kinked_loss)]
    ax_f, ax_loss = lesson03.cycle_figure(paths, steps_shown=20).axes
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["heavy"]
    assert len(ax_loss.get_lines()[0].get_xdata()) == 21


# --- widgets -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def race():
    return lesson03.MomentumRace("valley", lr=0.1, beta=0.9, steps=150)


def test_race_counts_the_steps_until_each_runner_stays_below_the_target(race):
    title = race.counts.get_text()
    assert title.splitlines() == ["steps until the loss stays < 1e-06",
                                  "gradient descent > 150 · momentum 149 · Nesterov 123"]
    assert race.status.value == ""


def test_each_slider_changes_the_picture(race):
    for slider, value in ((race.beta_slider, 0.5), (race.lr_slider, 0.3)):
        before, default = bytes(race.race.live.image.value), slider.value
        slider.value = value
        assert bytes(race.race.live.image.value) != before
        slider.value = default
        assert bytes(race.race.live.image.value) == before


def test_beta_zero_makes_all_three_runners_gradient_descent(race):
    race.beta_slider.value = 0.0
    try:
        paths = [np.asarray(path.get_xydata()) for path in race.race.paths]
        assert all(np.array_equal(paths[0], other) for other in paths[1:])
    finally:
        race.beta_slider.value = 0.9


def test_diverging_runs_are_named_not_raised(race):
    race.lr_slider.value = 1.0
    try:
        assert "momentum diverges" in race.counts.get_text() and "Nesterov diverges" in race.counts.get_text()
        assert "momentum diverged at step" in race.race.note.get_text()
        assert race.status.value == ""
    finally:
        race.lr_slider.value = 0.1


def test_race_refuses_an_unknown_surface():
    with pytest.raises(ValueError, match="name must be one of"):  # the message of lessons_lib.surfaces.get_surface
        lesson03.MomentumRace(surface="moon")


@pytest.fixture(scope="module")
def explorer():
    x, y = np.linspace(0, 4.2, 43), np.linspace(0, 0.99, 12)
    return lesson03.RegimeExplorer(x, y, lesson03.classify_regimes(x[None, :], y[:, None]), value=(0.5, 0.5))


def test_explorer_names_the_regime_and_redraws(explorer):
    assert explorer.readout.get_text().startswith("ripples: largest |eigenvalue| = 0.707")
    before = bytes(explorer.live.image.value)
    explorer.lr_slider.value = 2.5
    explorer.beta_slider.value = 0.2
    assert explorer.readout.get_text().startswith("diverges")
    assert bytes(explorer.live.image.value) != before
    np.testing.assert_array_equal(explorer.marker.get_xydata(), [[2.5, 0.2]])


def test_snapshots_are_pngs(race, explorer):
    for widget in (race, explorer):
        assert widget.snapshot().data.startswith(b"\x89PNG")


def test_live_figures_are_not_pyplot_figures():
    # pyplot would display them a second time, under the widget, at the end of the cell
    plt.close("all")
    lesson03.MomentumRace(steps=10)
    x, y = np.linspace(0, 4, 5), np.linspace(0, 0.9, 4)
    lesson03.RegimeExplorer(x, y, lesson03.classify_regimes(x[None, :], y[:, None]))
    assert plt.get_fignums() == []


def test_explorer_labels_its_marks():
    x, y = np.linspace(0, 4, 5), np.linspace(0, 0.9, 4)
    regimes = lesson03.classify_regimes(x[None, :], y[:, None])
    explorer = lesson03.RegimeExplorer(x, y, regimes, value=(1.0, 0.5), marks={"valley, across": (2.6, 0.44)})
    assert "valley, across" in [text.get_text() for text in explorer.ax_map.texts]
