"""lessons_lib.figures.lesson11_modern_optimizers: the scalar map of Newton–Schulz and the figures of lesson 11."""

import dataclasses

import numpy as np
import pytest
from matplotlib.figure import Figure

from lessons_lib.figures import lesson11_modern_optimizers as lesson11
from lessons_lib.mlp import MLP
from lessons_lib.optim import AdamW, AdamWScheduleFree, newton_schulz
from lessons_lib.optim.muon import QUINTIC
from lessons_lib.schedules import Cosine
from lessons_lib.training import train

CUBIC = (1.5, -0.5, 0.0)


@pytest.fixture(scope="module")
def tiny_runs(digits):
    """Two short runs on a slice of digits: a constant η and a cosine."""
    small = dataclasses.replace(digits, X_train=digits.X_train[:128], y_train=digits.y_train[:128])
    model = MLP((64, 8, 10))
    return {"Schedule-Free": train(AdamWScheduleFree(lr=0.01), model, small, epochs=2, batch_size=32),
            "cosine": train(AdamW(), model, small, epochs=2, batch_size=32, schedule=Cosine(0.01, 8))}


# --- the scalar map ---------------------------------------------------------------------------------


def test_scalar_map_is_what_newton_schulz_does_to_the_singular_values():
    rng = np.random.default_rng(3)
    G = rng.normal(size=(6, 9))
    sigma = np.linalg.svd(G, compute_uv=False) / np.linalg.norm(G)
    for steps in (1, 3, 5):
        after = np.linalg.svd(newton_schulz(G, steps=steps), compute_uv=False)
        assert np.allclose(np.sort(np.abs(lesson11.scalar_map(sigma, QUINTIC, steps))), np.sort(after), atol=1e-10)


def test_scalar_map_lands_the_quintic_in_the_band_and_the_cubic_at_one():
    sigma = np.linspace(0.05, 1.0, 200)
    quintic = lesson11.scalar_map(sigma, QUINTIC, 5)
    assert lesson11.BAND[0] <= quintic.min() and quintic.max() <= lesson11.BAND[1]
    assert np.allclose(lesson11.scalar_map(np.linspace(0.3, 1.0, 50), CUBIC, 12), 1.0, atol=1e-6)


def test_scalar_map_with_zero_steps_changes_nothing():
    sigma = np.array([0.1, 0.5])
    assert np.array_equal(lesson11.scalar_map(sigma, QUINTIC, 0), sigma)


# --- the figures ------------------------------------------------------------------------------------


def test_muon_figure_draws_both_spectra_and_every_step_of_the_map():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(8, 12)) * np.logspace(0, -2, 12)
    before = np.linalg.svd(B, compute_uv=False)
    after = np.linalg.svd(newton_schulz(B), compute_uv=False)
    fig = lesson11.muon_figure(before, after, QUINTIC, CUBIC, steps=4)
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert len(left.lines) == 2
    assert np.isclose(left.lines[0].get_ydata()[0], 1.0) and np.isclose(left.lines[1].get_ydata()[0], 1.0)
    assert len(right.lines) == 4 + 1  # one curve per quintic step, and the cubic
    assert fig.get_size_inches()[0] <= 9.0


def test_schedule_free_figure_draws_one_learning_rate_and_one_loss_curve_per_run(tiny_runs):
    fig = lesson11.schedule_free_figure(tiny_runs)
    ax_lr, ax_loss = fig.axes
    assert len(ax_lr.lines) == len(ax_loss.lines) == 2
    assert np.allclose(ax_lr.lines[1].get_ydata(), tiny_runs["cosine"].lrs)
    assert ax_loss.get_yscale() == "log"
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == list(tiny_runs)


def test_counterexample_figure_draws_each_path_between_the_two_ends():
    paths = {"up": np.linspace(0, 1, 30), "down": np.linspace(0, -1, 30)}
    fig = lesson11.counterexample_figure(paths)
    ax = fig.axes[0]
    drawn = [line for line in ax.lines if len(line.get_xdata()) == 30]
    assert len(drawn) == 2
    assert np.array_equal(drawn[1].get_ydata(), paths["down"])
    assert ax.get_ylim() == (-1.1, 1.1)


def test_race_figure_puts_each_rule_on_its_own_row_with_its_mean():
    losses = {"A": [0.2, 0.3, 0.25], "B": [0.1, 0.12, 0.11]}
    accuracies = {"A": [95.0, 96.0, 95.5], "B": [97.0, 97.5, 96.5]}
    fig = lesson11.race_figure(losses, accuracies)
    ax_loss, ax_acc = fig.axes
    assert [t.get_text() for t in ax_loss.get_yticklabels()] == ["A", "B"]
    means = [line for line in ax_loss.lines if len(line.get_xdata()) == 2]
    assert [line.get_xdata()[0] for line in means] == pytest.approx([0.25, 0.11])
    dots_b = [line for line in ax_acc.lines if len(line.get_xdata()) == 3][1]
    assert np.array_equal(dots_b.get_xdata(), accuracies["B"]) and set(dots_b.get_ydata()) == {1}
