"""The setup check of lesson 00 and the plotting helpers."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lessons_lib.tooling import environment
from lessons_lib.tooling.environment import CORE_PACKAGES, environment_report, pinned_versions
from lessons_lib.optim import SGD, Adam
from lessons_lib.figures.plotting import RACE_FIGSIZE, draw_contours, loss_grid, plot_race
from lessons_lib.runner import run
from lessons_lib.surfaces import SURFACES, get_surface

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"


def test_every_core_package_is_pinned_exactly():
    pins = pinned_versions(REQUIREMENTS)
    for package in CORE_PACKAGES + ("pytest", "nbclient", "nbformat", "ipykernel"):
        assert package in pins, f"{package} is not pinned with == in requirements.txt"


def test_report_says_ok_for_the_pinned_environment():
    lines = environment_report(REQUIREMENTS)
    assert len(lines) == 1 + len(CORE_PACKAGES)
    assert all(line.endswith("ok") for line in lines[1:]), lines


def test_report_names_a_version_mismatch_and_a_missing_package(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==0.0.1  # too old\nnbval==0.11.0\n")
    real_version = environment.installed_version
    monkeypatch.setattr(environment, "installed_version", lambda name: None if name == "nbval" else real_version(name))
    lines = {line.split()[0]: line for line in environment_report(requirements)}
    assert "differs from the tested 0.0.1" in lines["numpy"]
    assert lines["nbval"].endswith("MISSING: pip install nbval==0.11.0")


def test_loss_grid_covers_the_window():
    valley = get_surface("valley")
    X, Y, Z = loss_grid(valley, resolution=50)
    assert X.shape == Y.shape == Z.shape == (50, 50)
    assert (X.min(), X.max()) == valley.xlim and (Y.min(), Y.max()) == valley.ylim
    np.testing.assert_allclose(Z, 0.1 * X**2 + 2 * Y**2)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_surface_draws_without_warnings(name):
    fig, ax = plt.subplots()
    draw_contours(ax, get_surface(name))
    assert ax.get_xlim() == get_surface(name).xlim
    plt.close(fig)


def test_race_figure_has_a_fixed_size_and_one_curve_per_rule():
    valley = get_surface("valley")
    trajectories = [run(rule, valley, valley.start, steps=20) for rule in (SGD(lr=0.1), Adam(lr=0.1))]
    fig = plot_race(valley, trajectories)
    assert tuple(fig.get_size_inches()) == RACE_FIGSIZE
    ax_map, ax_loss = fig.axes
    assert [line.get_label() for line in ax_loss.get_lines()] == ["SGD", "Adam"]
    assert len(ax_loss.get_lines()[0].get_xdata()) == 21
    plt.close(fig)


@pytest.mark.parametrize(
    "surface, trajectories, message",
    [
        ("valley", [], "surface must be a Surface"),
        (get_surface("valley"), run(SGD(lr=0.1), get_surface("valley"), [1.0, 1.0], steps=3), "list of Trajectory"),
        (get_surface("valley"), [np.zeros((3, 2))], "list of Trajectory"),
        (get_surface("valley"), [run(SGD(lr=0.1), get_surface("valley"), [[1.0, 1.0], [2.0, 2.0]], steps=3)],
         "only runs of one 2-D point"),
    ],
)
def test_race_figure_rejects_bad_input(surface, trajectories, message):
    with pytest.raises(ValueError, match=message):
        plot_race(surface, trajectories)
