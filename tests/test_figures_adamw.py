"""Lesson 07's figures and widgets: the numbers they compute, the pictures they redraw."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lessons_lib.figures import lesson07_adamw as lesson07  # noqa: E402
from lessons_lib.figures.live import LiveFigure  # noqa: E402
from lessons_lib.figures.style import WIDTH  # noqa: E402
from lessons_lib.optim import SGD, Adam, AdamW  # noqa: E402
from lessons_lib.runner import Trajectory, run  # noqa: E402

VALLEY = lesson07.SHIFTED_VALLEY


@pytest.fixture
def no_drawing(monkeypatch):
    """For the tests that read runs, artists and text but no pixel: the figures skip drawing and encoding (most of
    a race's time otherwise). The tests that compare pictures draw the same races for real."""
    monkeypatch.setattr(LiveFigure, "redraw_background", lambda self: None)
    monkeypatch.setattr(LiveFigure, "png", lambda self: b"")


# --- the shifted valley --------------------------------------------------------------------------


def test_shifted_valley_gradient_matches_finite_differences_and_minimum():
    points = np.random.default_rng(0).uniform(-4, 5, size=(20, 2))
    step = 1e-6
    for p in points:
        numeric = [(VALLEY.loss(p + step * e) - VALLEY.loss(p - step * e)) / (2 * step) for e in np.eye(2)]
        np.testing.assert_allclose(VALLEY.grad(p), numeric, rtol=1e-6, atol=1e-8)
    assert VALLEY.loss(lesson07.CENTER) == 0.0
    np.testing.assert_array_equal(VALLEY.grad(lesson07.CENTER), [0.0, 0.0])


@pytest.mark.parametrize("lam", [0.0, 0.05, 0.5, 3.0])
def test_l2_optimum_zeroes_the_gradient_of_the_penalised_loss(lam):
    optimum = lesson07.l2_optimum(lam)
    np.testing.assert_allclose(VALLEY.grad(optimum) + lam * optimum, [0.0, 0.0], atol=1e-14)


def test_l2_optimum_is_where_sgd_with_weight_decay_and_adam_with_l2_stop():
    optimum = lesson07.l2_optimum(0.3)
    sgd = run(SGD(lr=0.2, weight_decay=0.3), VALLEY, VALLEY.start, 300)
    adam = run(Adam(lr=0.05, weight_decay=0.3), VALLEY, VALLEY.start, 1500)
    np.testing.assert_allclose(sgd.positions[-1], optimum, atol=1e-10)
    np.testing.assert_allclose(adam.positions[-1], optimum, atol=1e-8)


def test_as_trajectory_fills_in_losses_and_gradients():
    path = run(SGD(lr=0.1), VALLEY, VALLEY.start, 10)
    again = lesson07.as_trajectory(path.positions, "by hand")
    assert isinstance(again, Trajectory) and again.rule_name == "by hand" and again.steps_run == 10
    np.testing.assert_allclose(again.losses, path.losses)
    np.testing.assert_allclose(again.grads, path.grads)


def test_plot_paths_marks_the_points():
    paths = [run(SGD(lr=0.1), VALLEY, VALLEY.start, 20), run(SGD(lr=0.1, weight_decay=0.5), VALLEY, VALLEY.start, 20)]
    fig = lesson07.plot_paths(paths, {"L2 optimum": lesson07.l2_optimum(0.5)})
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "L2 optimum" in labels


# --- noise replay --------------------------------------------------------------------------------


def test_noise_replay_adamw_shrinks_every_group_like_decay_alone():
    lr, lam, steps = 0.01, 0.1, 1000
    means = lesson07.noise_replay(AdamW(lr=lr, weight_decay=lam), [10.0, 1.0, 0.1], steps, per_group=400)
    assert means.shape == (steps + 1, 3)
    np.testing.assert_array_equal(means[0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(means[-1], (1 - lr * lam) ** steps, atol=0.03)


def test_noise_replay_adam_l2_spares_the_noisy_group_and_wipes_out_the_quiet_one():
    lr, lam, steps = 0.01, 0.1, 1000
    means = lesson07.noise_replay(Adam(lr=lr, weight_decay=lam), [10.0, 1.0, 0.1], steps, per_group=400)
    decay_alone = (1 - lr * lam) ** steps
    assert means[-1, 0] > 0.8 > decay_alone  # √v̂ ≈ 10: the decay is divided by 10
    assert abs(means[-1, 1] - decay_alone) < 0.03  # √v̂ ≈ 1: the same as AdamW
    assert abs(means[-1, 2]) < 0.02  # √v̂ small: pulled to 0


def test_noise_replay_uses_the_same_noise_for_every_rule():
    plain = lesson07.noise_replay(Adam(lr=0.01), [1.0], 50, per_group=10, seed=3)
    again = lesson07.noise_replay(Adam(lr=0.01), [1.0], 50, per_group=10, seed=3)
    other = lesson07.noise_replay(Adam(lr=0.01), [1.0], 50, per_group=10, seed=4)
    np.testing.assert_array_equal(plain, again)
    assert not np.array_equal(plain, other)


def test_shrink_figure_draws_one_panel_per_replay():
    scales = [1.0, 0.1]
    replays = {name: lesson07.noise_replay(rule, scales, 30, per_group=5)
               for name, rule in (("L2", Adam(lr=0.01, weight_decay=0.1)), ("W", AdamW(lr=0.01, weight_decay=0.1)))}
    fig = lesson07.shrink_figure(replays, scales, 0.01, 0.1)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == len(scales) + 2  # the groups, (1 − ηλ)ᵗ and the zero line


# --- bins ----------------------------------------------------------------------------------------


def test_rank_bins_are_equal_sized_and_ordered_even_with_ties():
    values = np.concatenate([np.zeros(30), np.random.default_rng(1).uniform(0, 1, 70)])
    bins = lesson07.rank_bins(values, 8)
    counts = np.bincount(bins)
    assert len(counts) == 8 and counts.max() - counts.min() <= 1
    for k in range(7):
        assert values[bins == k].max() <= values[bins == k + 1].min()


def test_rms_by_bin():
    values = np.array([3.0, 4.0, 1.0, -1.0])
    np.testing.assert_allclose(lesson07.rms_by_bin(values, [0, 0, 1, 1]), [np.sqrt(12.5), 1.0])


def test_shrink_by_bin_figure_draws_one_bar_per_bin_and_run():
    fig = lesson07.shrink_by_bin_figure([0.001, 0.01, 0.1], {"a": [0.2, 0.5, 0.7], "b": [0.5, 0.5, 0.5]}, "√v̂")
    (ax,) = fig.axes
    assert len(ax.patches) == 6


# --- matching a norm -----------------------------------------------------------------------------


def test_match_norm_finds_the_lambda_of_a_known_curve():
    def train_with(lam):
        return {"norm": 10.0 / (1 + 50 * lam) ** 0.7}

    match = lesson07.match_norm(train_with, lambda result: result["norm"], 5.0, 0.001, 0.1, rtol=1e-6)
    assert match.result["norm"] == pytest.approx(5.0, rel=1e-6)
    assert match.lam == pytest.approx((2 ** (1 / 0.7) - 1) / 50, rel=1e-5)
    assert match.trials[0][0] == pytest.approx(0.001) and match.trials[1][0] == pytest.approx(0.1)
    assert match.trials[-1][0] == match.lam


def test_match_norm_gives_up_clearly():
    with pytest.raises(RuntimeError, match="no λ found"):
        lesson07.match_norm(lambda lam: lam, lambda result: 1.0, 2.0, 0.01, 0.1)  # the norm never moves
    with pytest.raises(RuntimeError, match="no λ found"):
        lesson07.match_norm(lambda lam: 1 / lam, lambda result: result, 5.0, 0.01, 0.1, max_runs=2)


# --- the race ------------------------------------------------------------------------------------


def test_race_redraws_when_either_slider_changes():
    race = lesson07.DecayRace(steps=100)
    shown = [bytes(race.race.live.image.value)]
    for slider, value in ((race.lam_slider, 0.8), (race.lr_slider, 0.2)):
        slider.value = value
        assert race.status.value == ""
        shown.append(bytes(race.race.live.image.value))
        assert shown[-1] != shown[-2], f"changing {slider.description} did not change the picture"


def test_race_runs_adam_l2_and_adamw_with_the_same_lambda_and_marks_the_l2_optimum(no_drawing):
    race = lesson07.DecayRace(lam=0.3, lr=0.05, steps=1500)
    plain, l2, decoupled = race.rules()
    assert isinstance(l2, Adam) and not isinstance(l2, AdamW) and l2.weight_decay == pytest.approx(0.3)
    assert isinstance(decoupled, AdamW) and decoupled.weight_decay == pytest.approx(0.3)
    assert plain.weight_decay == 0 and plain.lr == l2.lr == decoupled.lr == pytest.approx(0.05)
    optimum = lesson07.l2_optimum(0.3)
    np.testing.assert_allclose(np.ravel(race.optimum.get_data()), optimum, rtol=1e-12)
    l2_end = np.ravel(race.ends[0].get_data())
    np.testing.assert_allclose(l2_end, optimum, atol=1e-6)  # Adam + L2 stops at the L2 optimum
    assert np.abs(np.ravel(race.ends[1].get_data()) - optimum).max() > 0.1  # AdamW does not
    assert "L2 optimum" in race.readout.get_text()


def test_race_snapshot_is_the_current_picture():
    race = lesson07.DecayRace(steps=50)
    assert race.snapshot().data == race.race.live.png()



# --- the box of noiseless AdamW ---------------------------------------------------------------------


@pytest.mark.parametrize("lam, point", [(0.2, (4.0, 2.0)), (0.4, (2.5, 2.0)), (1.0, (1.0, 1.0))])
def test_box_point_is_the_minimum_of_l_inside_the_box(lam, point):
    np.testing.assert_array_equal(lesson07.box_point(lam), point)
    grid = np.stack(np.meshgrid(*[np.linspace(-1 / lam, 1 / lam, 401)] * 2), axis=-1)  # the box, on a grid
    best = grid.reshape(-1, 2)[np.argmin(VALLEY.loss(grid).ravel())]
    np.testing.assert_allclose(best, point, atol=2 / lam / 400)


def test_noiseless_adamw_heads_for_the_box_point():
    end = run(AdamW(lr=0.05, weight_decay=1.0), VALLEY, VALLEY.start, 20_000).positions[-1]
    np.testing.assert_allclose(end, lesson07.box_point(1.0), atol=1e-4)


def test_box_figure_draws_each_path_its_box_and_its_distance():
    paths = {0.4: np.linspace([-3.0, -2.0], [2.5, 2.0], 60), 1.0: np.linspace([-3.0, -2.0], [1.0, 1.0], 60)}
    fig = lesson07.box_figure(paths)
    ax_map, ax_gap = fig.axes
    boxes = [line for line in ax_map.get_lines() if line.get_linestyle() == "--"]
    assert sorted(max(line.get_xdata()) for line in boxes) == [1.0, 2.5]
    assert [line.get_label() for line in ax_gap.get_lines()] == ["λ = 0.4, box 1/λ = 2.5", "λ = 1, box 1/λ = 1"]
    assert ax_gap.get_xscale() == ax_gap.get_yscale() == "log"
    assert fig.get_size_inches()[0] <= WIDTH
