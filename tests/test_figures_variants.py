"""lessons_lib.figures.lesson09_beyond_adam: the deltas, the rules, the figures and the live race of lesson 09."""

import dataclasses

import numpy as np
import pytest
from matplotlib.figure import Figure

from lessons_lib.data import load_digits_classification
from lessons_lib.figures import lesson09_beyond_adam as variants
from lessons_lib.mlp import MLP
from lessons_lib.optim import AdaBelief, Adam, Adamax, Lion, Lookahead, NAdam, RAdam
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface
from lessons_lib.training import train

@pytest.fixture(scope="module")
def tiny_records():
    """Short training runs on a slice of digits: enough to draw every kind of figure."""
    data = load_digits_classification(seed=0)
    small = dataclasses.replace(data, X_train=data.X_train[:64], y_train=data.y_train[:64])
    model = MLP((64, 8, 10))
    return [train(Adam(lr=lr), model, small, epochs=2, batch_size=32) for lr in (1e-3, 1e-2)]


# --- the deltas -------------------------------------------------------------------------------------


def test_every_variant_has_a_delta_that_keeps_adams_lines_in_order():
    assert tuple(variants.DELTAS) == variants.VARIANTS
    for name, delta in variants.DELTAS.items():
        assert delta.name == name
        adam_lines = tuple(adam for adam, _, _ in delta.rows if adam)
        assert adam_lines == variants.ADAM_LINES, name  # every Adam line appears once, in order
        for adam, marker, new in delta.rows:
            assert marker in (variants.SAME, variants.CHANGED, variants.ADDED, variants.DROPPED)
            if marker == variants.SAME:
                assert adam == new
            if marker == variants.ADDED:
                assert adam == "" and new
            if marker == variants.DROPPED:
                assert adam and new == ""


def test_the_deltas_are_read_from_the_rules():
    """The table is not typed in the figure module: Adam's lines and each variant's DELTA live in lessons_lib.optim."""
    assert variants.ADAM_LINES is Adam.LINES
    for name, rule in variants.VARIANT_RULES.items():
        assert set(rule.DELTA) <= set(Adam.LINES), name  # every changed line is one of Adam's, spelled the same
        for adam, new in rule.DELTA.items():
            rows = [row for row in variants.DELTAS[name].rows if row[0] == adam]
            assert rows[0][2] == (new[0] if new else ""), name
    assert variants.DELTAS["Adamax"].state == "t, m, u" and variants.DELTAS["Lion"].state == "m"


@pytest.mark.parametrize("name, changed, added, dropped", [
    ("AMSGrad", 1, 1, 0), ("NAdam", 1, 1, 0), ("RAdam", 1, 1, 1), ("AdaBelief", 1, 0, 0),
    ("Adamax", 2, 0, 1), ("Lion", 2, 1, 4), ("Lookahead", 0, 1, 0),
])
def test_deltas_mark_the_lines_the_library_docstrings_mark(name, changed, added, dropped):
    markers = [marker for _, marker, _ in variants.DELTAS[name].rows]
    assert markers.count(variants.CHANGED) == changed
    assert markers.count(variants.ADDED) == added
    assert markers.count(variants.DROPPED) == dropped


def test_format_delta_shows_both_rules_side_by_side_in_aligned_columns():
    text = variants.format_delta("AdaBelief")
    lines = text.splitlines()
    assert lines[0].split() == ["Adam", "AdaBelief"]
    changed = [line for line in lines if " ≠ " in line]
    assert len(changed) == 1 and "(g − m)²" in changed[0] and "g²" in changed[0]
    assert lines[-1].split("state:")[-1].strip().startswith("t, m, v")
    # the marker sits in the same display column on every row, even after "m̂" (a letter and a combining accent)
    column = 2 + variants.text_width(lines[1].split()[0]) + 2
    for line in lines[2:]:
        chars = [ch for ch in line if variants.text_width(ch)]  # one entry per display column
        assert chars[column] in "≠+− ", line
    assert any(line.count("m̂") == 2 for line in lines)


@pytest.mark.parametrize("bad", ["Adam", "adabelief", "", None, 3])
def test_format_delta_refuses_unknown_names(bad):
    with pytest.raises(ValueError, match="name must be one of AMSGrad"):
        variants.format_delta(bad)


# --- the rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, cls", [
    ("Adam", Adam), ("AMSGrad", Adam), ("NAdam", NAdam), ("RAdam", RAdam), ("AdaBelief", AdaBelief),
    ("Adamax", Adamax), ("Lion", Lion), ("Lookahead", Lookahead),
])
def test_make_rule_builds_the_library_rule_with_lr_and_beta2(name, cls):
    rule = variants.make_rule(name, 0.05, beta2=0.99)
    assert isinstance(rule, cls)
    assert rule.name == name
    inner = rule.inner if name == "Lookahead" else rule
    assert inner.lr == 0.05
    if name == "Lion":
        assert rule.beta2 == 0.99 == Lion().beta2  # Lion keeps its own β₂
    else:
        assert inner.beta2 == 0.99
    assert variants.make_rule("AMSGrad", 0.1).amsgrad and not variants.make_rule("Adam", 0.1).amsgrad


def test_make_rule_amsgrad_steps_like_adam_with_amsgrad():
    surface = get_surface("rosenbrock")
    ours = run(variants.make_rule("AMSGrad", 0.05, 0.99), surface, surface.start, 50)
    theirs = run(Adam(lr=0.05, beta2=0.99, amsgrad=True), surface, surface.start, 50)
    np.testing.assert_array_equal(ours.positions, theirs.positions)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"name": "SGD", "lr": 0.1}, "name must be one of Adam, AMSGrad"),
    ({"name": "Adam", "lr": -0.1}, "lr must be >= 0"),
    ({"name": "Adam", "lr": 0.1, "beta2": 1.0}, r"beta2 must be in \[0, 1\)"),
])
def test_make_rule_refuses_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        variants.make_rule(**kwargs)


def test_runner_color_follows_the_race_and_greys_out_strangers():
    assert variants.runner_color("Adam") == "tab:blue"
    assert variants.runner_color("Lookahead(Adam)") == variants.RUNNER_COLORS["Lookahead"]
    assert variants.runner_color("SGD") == "tab:gray"


# --- the comparison figure --------------------------------------------------------------------------


def test_compare_figure_draws_paths_and_loss_curves_with_a_title():
    surface = get_surface("valley")
    runs = [run(variants.make_rule(name, 0.05), surface, surface.start, 40) for name in ("Adam", "AdaBelief")]
    fig = variants.compare_figure(surface, runs, title="AdaBelief: one line")
    assert isinstance(fig, Figure)
    ax_map, ax_loss = fig.axes
    labels = [line.get_label() for line in ax_loss.get_lines()]
    assert labels == ["Adam", "AdaBelief"]
    assert [line.get_color() for line in ax_loss.get_lines()] == ["tab:blue", variants.RUNNER_COLORS["AdaBelief"]]
    assert fig._suptitle.get_text() == "AdaBelief: one line"
    assert ax_loss.get_yscale() == "log"


def test_compare_figure_names_a_run_that_diverged():
    surface = get_surface("rosenbrock")
    runs = [run(variants.make_rule(name, 0.05), surface, surface.start, 30) for name in ("Adam", "RAdam")]
    assert runs[1].diverged
    fig = variants.compare_figure(surface, runs)
    ax_map = fig.axes[0]
    assert any("RAdam diverged" in text.get_text() for text in ax_map.texts)
    start_gap = runs[0].losses[0] - surface.min_loss
    assert ax_map.figure.axes[1].get_ylim()[1] <= 100 * start_gap  # the blow-up does not squash the chart


# --- the live race ----------------------------------------------------------------------------------


def test_variant_race_redraws_when_a_control_changes():
    race = variants.VariantRace(variant="AMSGrad", surface="rosenbrock", lr=0.05, beta2=0.99, steps=60)
    first = race.race.live.png()
    assert race.title.get_text() == variants.DELTAS["AMSGrad"].title
    race.variant_menu.value = "Lion"  # the panel's callback re-runs and redraws
    assert race.status.value == ""
    assert race.title.get_text() == variants.DELTAS["Lion"].title
    second = race.race.live.png()
    assert second != first
    race.lr_slider.value = 0.2
    assert race.race.live.png() != second
    race.surface_menu.value = "valley"
    assert race.race.surface.name == "valley"
    assert "Lion:" in race.finals.get_text() and "Adam:" in race.finals.get_text()


def test_variant_race_shows_only_adam_and_the_chosen_variant():
    race = variants.VariantRace(variant="NAdam", surface="bowl", lr=0.1, beta2=0.999, steps=30)
    visible = [label for label, curve in zip(race.race.labels, race.race.curves) if curve.get_visible()]
    assert visible == ["Adam", "NAdam"]
    adam, nadam = race.trajectories()
    assert (adam.rule_name, nadam.rule_name) == ("Adam", "NAdam")
    assert isinstance(race.snapshot().data, bytes)


def test_variant_race_reports_a_divergence_in_its_box():
    race = variants.VariantRace(variant="RAdam", surface="rosenbrock", lr=0.05, beta2=0.999, steps=30)
    assert "RAdam: diverged at step" in race.finals.get_text()
    assert race.status.value == ""


@pytest.mark.parametrize("kwargs, fragment", [
    ({"variant": "SGD"}, "name must be one of AMSGrad"),
    ({"surface": "moon"}, "surface must be one of"),
    ({"lr": 5.0}, "lr must be between"),
    ({"beta2": 0.95}, "beta2 must be one of"),
    ({"steps": 0}, "steps must be a whole number >= 1"),
])
def test_variant_race_refuses_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        variants.VariantRace(**kwargs)


# --- tables and training figures ---------------------------------------------------------------------


def test_format_table_aligns_columns_with_combining_marks():
    text = variants.format_table(["rule", "bytes"], [["Adam", "38,560"], ["Lion", "19,280"], ["m̂", "1"]])
    lines = text.splitlines()
    assert lines[0].startswith("rule") and set(lines[1]) <= {"-", " "}
    assert {variants.text_width(line) for line in lines} == {variants.text_width(lines[1])}



def test_format_table_left_aligns_the_first_columns_it_is_told_to():
    text = variants.format_table(["rule", "arrays", "bytes"], [["SGD", "(nothing)", "0"], ["Adam", "m, v", "38,560"]],
                                 left=2)
    rows = text.splitlines()[2:]
    assert rows[1].startswith("Adam  m, v     ") and rows[1].endswith("38,560")
    assert rows[0].endswith("     0")


def test_sweep_figure_circles_each_rules_best_learning_rate(tiny_records):
    fig = variants.sweep_figure([1e-3, 1e-2], {"Adam": tiny_records, "Lion": tiny_records})
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "Adam" in [line.get_label() for line in ax.get_lines()]
    assert fig.get_figwidth() <= 9


def _circles(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "o"]


def test_sweep_figure_circles_the_chosen_eta_when_told(tiny_records):
    lrs = [1e-3, 1e-2]
    losses = [variants.final_val_loss(r) for r in tiny_records]
    chosen = int(np.argmax(losses))  # not the lowest: the circle follows the sweep's choice
    fig = variants.sweep_figure(lrs, {"Adam": tiny_records}, chosen={"Adam": chosen})
    (circle,) = _circles(fig.axes[0])
    assert circle.get_xdata()[0] == lrs[chosen]
    legend = fig.axes[0].get_legend()
    assert legend.get_bbox_to_anchor().y1 < fig.axes[0].get_window_extent().y0 + 1  # under the axes


def test_draw_lr_sweep_never_circles_a_nan_and_keeps_lesson_08s_call():
    import matplotlib.pyplot as plt

    from lessons_lib.figures.plotting import draw_lr_sweep

    fig, ax = plt.subplots()
    lrs, losses = np.array([1e-3, 1e-2, 1e-1]), np.array([np.nan, 0.5, np.inf])
    draw_lr_sweep(ax, lrs, losses, "Adam", "tab:blue", 10.0)  # lesson 08's positional call
    (circle,) = _circles(ax)
    assert circle.get_xdata()[0] == 1e-2
    triangles = [line for line in ax.get_lines() if line.get_marker() == "^"]
    assert list(triangles[0].get_xdata()) == [1e-3, 1e-1]  # NaN and inf drawn at the top, as triangles
    plt.close(fig)


def test_online_figure_draws_each_run_and_the_best_point():
    xs = {"Adam": np.linspace(0, 1, 50), "AMSGrad": np.linspace(0, -1, 50)}
    fig = variants.online_figure(xs)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["Adam", "AMSGrad"] and "x = -1" in labels[2]
    assert ax.get_xscale() == "log" and fig.get_figwidth() <= 9


def test_final_val_loss_is_infinite_for_a_run_that_diverged(tiny_records):
    diverged = dataclasses.replace(tiny_records[0], diverged_at=3)
    assert variants.final_val_loss(diverged) == float("inf")
    assert variants.final_val_loss(tiny_records[1]) == tiny_records[1].val_loss[-1]


def test_troubleshooting_figure_has_one_panel_per_failure(tiny_records):
    pair = tuple(tiny_records)
    fig = variants.troubleshooting_figure(pair, pair, pair, pair, labels={"overfits": ("Adam", "AdamW")})
    assert [ax.get_title() for ax in fig.axes] == ["diverges", "too slow",
                                                   "overfits (● lowest validation loss)", "stalls"]
    assert fig.get_figwidth() <= 9
    overfits = fig.axes[2]
    dashed = [line for line in overfits.get_lines() if line.get_linestyle() == "--"]
    marks = [line for line in overfits.get_lines() if line.get_marker() == "o"]
    assert len(dashed) == 2 and len(marks) == 2  # both training curves, and each lowest validation loss
    assert any("AdamW" in text.get_text() for text in overfits.get_legend().get_texts())
    assert overfits.get_yscale() == "linear"  # the validation curves are not flattened by a log axis
    diverges = fig.axes[0]
    assert diverges.get_lines()[0].get_ydata()[0] == pytest.approx(np.log(10))  # the uniform guess
    assert diverges.get_lines()[1].get_ydata()[0] == pytest.approx(pair[0].train_loss[0])  # the start


def test_troubleshooting_legends_sit_under_their_panels(tiny_records):
    pair = tuple(tiny_records)
    fig = variants.troubleshooting_figure(pair, pair, pair, pair)
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        assert legend.y1 <= ax.get_window_extent().y0 + 1, ax.get_title()  # below the plotting area


def test_moving_average_over_a_window():
    np.testing.assert_allclose(variants._moving_average(np.array([2.0, 4.0, 6.0, 8.0]), 2), [2.0, 3.0, 5.0, 7.0])
