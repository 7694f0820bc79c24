"""Lesson 01's figures and learning-rate explorer: they draw what they are given and say the right thing."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from lessons_lib.figures.lesson01_gradient_descent import (
    LearningRateExplorer,
    direction_word,
    plot_1d_runs,
    plot_contraction,
    plot_starts_and_ends,
    loss_window,
    plot_steepest_ascent,
    plot_zigzag,
    room_inside,
    stability_verdict,
)
from lessons_lib.optim import SGD
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface

VALLEY = get_surface("valley")


# --- stability_verdict: the words under the explorer ---------------------------------


def test_verdict_converges_below_the_limit_and_diverges_above_it():
    below = stability_verdict(0.99 * 0.5, [0.2, 4.0])
    above = stability_verdict(1.01 * 0.5, [0.2, 4.0])
    assert "limit 2/λ_max = 0.5" in below
    assert below.splitlines()[-1].startswith("converges")
    assert above.splitlines()[-1].startswith("diverges")


def test_verdict_names_each_direction_with_its_factor():
    lines = stability_verdict(0.45, [0.2, 4.0]).splitlines()
    assert lines[1] == "λ = 0.2: 1 − ηλ = +0.91, shrinks"
    assert lines[2] == "λ = 4: 1 − ηλ = −0.8, shrinks, flipping sign"


def test_verdict_counts_the_steps_of_the_slowest_direction():
    # the slowest factor at η = 0.45 is 0.91: 1000× closer needs ln(1e-3) / ln(0.91) ≈ 73 steps
    assert stability_verdict(0.45, [0.2, 4.0]).endswith("1000× closer takes 73 steps")


def test_verdict_at_the_limit_and_at_one_step():
    assert stability_verdict(0.5, [4.0]).endswith("does not converge: η is at the limit")
    assert stability_verdict(0.25, [4.0]).endswith("converges in one step")


@pytest.mark.parametrize(
    "factor, word",
    [(0.5, "shrinks"), (-0.5, "shrinks, flipping sign"), (0.0, "is done in one step"),
     (1.0, "neither shrinks nor grows"), (-1.0, "neither shrinks nor grows"),
     (-1.5, "grows, flipping sign"), (1.5, "grows")],
)
def test_direction_word(factor, word):
    assert direction_word(factor) == word


# --- static figures -------------------------------------------------------------------


def test_plot_1d_runs_draws_one_panel_per_path():
    paths = [np.array([1.0, 0.5, 0.25]), np.array([1.0, -0.8, 0.64])]
    fig = plot_1d_runs(lambda t: t**2, paths, ["a", "b"], xlim=(-2, 2))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    path_line = fig.axes[1].lines[1]
    assert np.allclose(path_line.get_xdata(), paths[1]) and np.allclose(path_line.get_ydata(), paths[1] ** 2)


def test_plot_contraction_draws_the_powers_and_the_measured_dots():
    fig = plot_contraction([0.2, 4.0], lr=0.45, steps=10, measured={"x": 0.91 ** np.arange(11)})
    ax_factor, ax_power = fig.axes
    dots = [line for line in ax_factor.lines if line.get_marker() == "o"]
    assert np.allclose([d.get_xdata()[0] for d in dots], [0.09, 1.8])
    assert np.allclose([d.get_ydata()[0] for d in dots], [0.91, 0.8])
    predicted, measured = ax_power.lines[0], ax_power.lines[-1]
    assert np.allclose(predicted.get_ydata(), 0.91 ** np.arange(11))
    assert np.allclose(measured.get_ydata(), predicted.get_ydata())


def test_plot_steepest_ascent_marks_the_gradient_and_the_right_angle():
    angles = np.linspace(-np.pi, np.pi, 9)
    slopes = np.zeros(9)
    fig = plot_steepest_ascent(VALLEY, [-7.0, 0.8], angles, slopes)
    ax_map, ax_slope = fig.axes
    gradient_angle = np.degrees(np.arctan2(3.2, -1.4))
    vertical = [line.get_xdata()[0] for line in ax_slope.lines if len(line.get_xdata()) == 2]
    assert np.isclose(vertical[0], gradient_angle) and np.isclose(vertical[1], gradient_angle - 90)
    assert ax_map.get_aspect() == 1.0


def test_the_right_angle_segment_stays_on_the_map():
    angles = np.linspace(-np.pi, np.pi, 9)
    fig = plot_steepest_ascent(VALLEY, [-7.0, 0.8], angles, np.zeros(9))
    segment = next(line for line in fig.axes[0].lines if line.get_label() == "at right angles to ∇L")
    x, y = segment.get_data()
    assert VALLEY.xlim[0] <= min(x) and max(x) <= VALLEY.xlim[1]
    assert VALLEY.ylim[0] <= min(y) and max(y) <= VALLEY.ylim[1]


def test_room_inside_is_the_distance_to_the_nearest_edge_along_a_direction():
    assert room_inside(np.array([-7.0, 0.0]), np.array([1.0, 0.0]), (-8, 8), (-3, 3)) == pytest.approx(1.0)
    assert room_inside(np.array([0.0, 0.0]), np.array([0.6, 0.8]), (-8, 8), (-3, 3)) == pytest.approx(3.75)


def test_plot_zigzag_draws_later_runs_wider_and_underneath():
    runs = [run(SGD(lr=lr, name=f"η = {lr}"), VALLEY, VALLEY.start, steps=20) for lr in (0.1, 0.45, 0.476)]
    fig = plot_zigzag(VALLEY, runs)
    ax_map, ax_loss = fig.axes
    paths = [line for line in ax_map.lines if line.get_label().startswith("η")]
    assert [p.get_label() for p in paths] == ["η = 0.1", "η = 0.45", "η = 0.476"]
    widths, orders = [p.get_linewidth() for p in paths], [p.get_zorder() for p in paths]
    assert widths == sorted(widths) and orders == sorted(orders, reverse=True)
    np.testing.assert_array_equal(paths[1].get_xydata(), runs[1].positions)
    assert len([line for line in ax_loss.lines if line.get_label().startswith("η")]) == 3


def test_the_explorers_loss_axis_spans_the_reachable_losses_only():
    low, high = loss_window(12.9, [0.2, 4.0], 100)
    assert (low, high) == (1e-9, 1e3)  # the best η reaches 2.7e-8 in 100 steps; the start is 12.9
    assert loss_window(1.0, [1.0, 1.0], 10)[0] == pytest.approx(1e-17)  # κ = 1: one step to 0, floored


def test_plot_starts_and_ends_counts_the_runs_that_found_the_global_minimum():
    rastrigin = get_surface("rastrigin")
    starts = np.array([[0.2, 0.1], [1.2, 0.9], [2.9, -3.2]])
    ends = np.array([[0.0, 0.01], [1.0, 1.0], [3.0, -3.0]])
    fig = plot_starts_and_ends(rastrigin, starts, ends)
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["start", "end elsewhere (2)", "end at the global minimum (1)"]
    assert fig.axes[0].collections, "the surface is shaded, not only outlined"


# --- the live explorer ----------------------------------------------------------------


def test_explorer_redraws_when_the_slider_moves():
    explorer = LearningRateExplorer(VALLEY, lr=0.45, steps=30)
    first = bytes(explorer.live.image.value)
    assert first.startswith(b"\x89PNG")
    explorer.slider.value = 0.1
    assert bytes(explorer.live.image.value) != first
    assert np.allclose([dot.get_xdata()[0] for dot in explorer.dots], [0.02, 0.4])
    explorer.slider.value = 0.45
    assert bytes(explorer.live.image.value) == first  # same η, same picture


def test_explorer_says_diverges_above_the_limit_and_names_the_step():
    explorer = LearningRateExplorer(VALLEY, lr=0.45, steps=100)
    assert "Converges" in explorer.verdict.get_text() and explorer.stopped.get_text() == ""
    explorer.slider.value = 1.0  # y grows 3× per step: |θ| passes 1e8 within 100 steps
    assert "Diverges: η is above the limit" in explorer.verdict.get_text()
    # in three short lines on the map
    assert explorer.stopped.get_text().replace("\n", " ").startswith("gradient descent diverged at step")
    x, y = explorer.path.get_data()
    assert np.isfinite(x).all() and np.isfinite(y).all()


def test_explorer_snapshot_is_the_current_picture():
    explorer = LearningRateExplorer(VALLEY, lr=0.3, steps=20)
    assert explorer.snapshot().data == explorer.live.png()

