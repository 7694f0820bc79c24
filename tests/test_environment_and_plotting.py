"""The setup check of lesson 00 and the plotting helpers."""

from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lessons_lib.tooling import environment
from lessons_lib.tooling.environment import CORE_PACKAGES, environment_report, pinned_versions
from lessons_lib.optim import SGD, Adam
from lessons_lib.figures.plotting import (
    RACE_FIGSIZE,
    draw_contours,
    format_table,
    log_axis,
    loss_grid,
    plot_race,
    power_of_ten,
)
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


@pytest.mark.parametrize("version, ok", [((3, 11), True), ((3, 13), True), ((3, 10), False), ((3, 14), False)])
def test_report_prints_the_supported_range_not_the_python_at_hand(monkeypatch, version, ok):
    """Lesson 00's stored output must match on every supported Python, so the line is the same on each."""
    monkeypatch.setattr(environment, "sys", SimpleNamespace(version_info=SimpleNamespace(major=version[0], minor=version[1])))
    python = environment_report(REQUIREMENTS)[0]
    if ok:
        assert python.split() == ["python", "3.11–3.13", "ok"]
    else:
        assert f"{version[0]}.{version[1]}" in python and "not supported: use Python 3.11–3.13" in python


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


def test_format_table_aligns_columns():
    text = format_table(["name", "value"], [["a", "1.5"], ["longer", "10.25"]])
    assert text.splitlines() == [
        "name    value",
        "------  -----",
        "a         1.5",
        "longer  10.25",
    ]


def test_format_table_left_aligns_the_first_columns_it_is_told_to_and_counts_combining_marks_as_nothing():
    text = format_table(["rule", "arrays", "bytes"], [["m̂", "(nothing)", "0"], ["Adam", "m, v", "38,560"]], left=2)
    assert text.splitlines() == [
        "rule  arrays      bytes",
        "----  ---------  ------",
        "m̂     (nothing)       0",
        "Adam  m, v       38,560",
    ]


def test_log_axis_puts_one_axis_on_a_log_scale_with_major_ticks_only():
    fig, ax = plt.subplots()
    ax.plot([1, 10, 100], [1, 1000, 1e6])
    log_axis(ax, "x")
    log_axis(ax, "y", powers_as_text=True)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.xaxis.get_minor_locator().tick_values(1, 100)) == 0
    assert ax.yaxis.get_major_formatter()(1e-3) == "10⁻³" and power_of_ten(0.5) == "0.5"
    plt.close(fig)
