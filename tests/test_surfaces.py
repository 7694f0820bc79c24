"""Tests of lessons_lib.surfaces: gradients, known points, shapes and argument checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lessons_lib.surfaces import SURFACES, Surface, get_surface

NAMES = ["bowl", "valley", "rotated_valley", "rosenbrock", "beale", "himmelblau", "saddle", "rastrigin"]
QUADRATICS = ["bowl", "valley", "rotated_valley"]


def random_points(surface: Surface, count: int, seed: int) -> np.ndarray:
    """``count`` points drawn uniformly from the surface's plotting window."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(*surface.xlim, size=count)
    y = rng.uniform(*surface.ylim, size=count)
    return np.stack([x, y], axis=-1)


def finite_difference_grad(surface: Surface, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences (L(p + h eᵢ) − L(p − h eᵢ)) / 2h, one coordinate at a time."""
    grad = np.zeros(2)
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        grad[i] = (surface.loss(p + step) - surface.loss(p - step)) / (2 * h)
    return grad


def finite_difference_hessian(surface: Surface, p: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of the analytic gradient; column i is ∂∇L/∂pᵢ."""
    hessian = np.zeros((2, 2))
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        hessian[:, i] = (surface.grad(p + step) - surface.grad(p - step)) / (2 * h)
    return hessian


def test_the_eight_surfaces_are_there_under_their_names():
    assert set(NAMES) <= set(SURFACES)
    for name, surface in SURFACES.items():
        assert surface.name == name
        assert get_surface(name) is surface
        assert isinstance(surface.title, str) and surface.title
        assert isinstance(surface.formula, str) and surface.formula


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_analytic_gradient_matches_central_differences(name, seed):
    surface = get_surface(name)
    for p in random_points(surface, count=5, seed=seed):
        analytic = surface.grad(p)
        numeric = finite_difference_grad(surface, p)
        # relative error, measured against max(|∇L|, 1) so that tiny gradients are not divided by ~0
        error = np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic), 1.0)
        assert error < 1e-6, f"{name} at {p}: analytic {analytic}, finite differences {numeric}"


@pytest.mark.parametrize("name", NAMES)
def test_gradient_is_zero_and_loss_is_minimal_at_every_listed_minimum(name):
    surface = get_surface(name)
    assert len(surface.minima) >= 1
    for minimum in surface.minima:
        assert np.abs(surface.grad(minimum)).max() <= 1e-8, f"{name}: ∇L{minimum} = {surface.grad(minimum)}"
        assert surface.loss(minimum) == pytest.approx(surface.min_loss, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_minimum_is_lowest_on_a_grid_over_the_window(name):
    surface = get_surface(name)
    X, Y = np.meshgrid(np.linspace(*surface.xlim, 201), np.linspace(*surface.ylim, 201))
    Z = surface.loss(np.stack([X, Y], axis=-1))
    assert Z.min() >= surface.min_loss - 1e-12


@pytest.mark.parametrize("name", [name for name in NAMES if SURFACES[name].saddles])
def test_listed_saddles_have_zero_gradient_and_curvature_of_both_signs(name):
    surface = get_surface(name)
    for saddle in surface.saddles:
        assert np.abs(surface.grad(saddle)).max() <= 1e-8
        eigenvalues = np.linalg.eigvalsh(finite_difference_hessian(surface, np.array(saddle)))
        assert eigenvalues[0] < -1e-3 < 1e-3 < eigenvalues[1], f"{name} at {saddle}: {eigenvalues}"


def test_known_saddles():
    assert get_surface("saddle").saddles == ((0.0, 0.0),)
    assert get_surface("beale").saddles == ((0.0, 1.0),)
    assert len(get_surface("himmelblau").saddles) == 4


def test_himmelblau_has_its_four_minima():
    minima = np.array(get_surface("himmelblau").minima)
    expected = np.array([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)])
    np.testing.assert_allclose(minima, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "point", "value"),
    [
        ("bowl", (1.0, -2.0), 5.0),
        ("valley", (1.0, 1.0), 2.1),
        ("rosenbrock", (0.0, 0.0), 1.0),
        ("beale", (0.0, 0.0), 1.5**2 + 2.25**2 + 2.625**2),
        ("himmelblau", (0.0, 0.0), 121.0 + 49.0),
        ("saddle", (0.0, 0.0), 0.0),
        ("saddle", (1.0, 2.0), 1.0 + 4.0 - 2.0),
        ("rastrigin", (1.0, 1.0), 2.0),
        ("rastrigin", (0.5, 0.0), 20.25),
    ],
)
def test_loss_values_by_hand(name, point, value):
    assert get_surface(name).loss(point) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("name", QUADRATICS)
def test_quadratic_hessian_matches_differences_of_the_gradient(name):
    surface = get_surface(name)
    assert surface.hessian.shape == (2, 2)
    np.testing.assert_allclose(surface.hessian, surface.hessian.T)
    for p in random_points(surface, count=3, seed=7):
        np.testing.assert_allclose(finite_difference_hessian(surface, p), surface.hessian, atol=1e-6)
        # L(p) = ½ pᵀ H p and ∇L(p) = H p
        assert surface.loss(p) == pytest.approx(0.5 * p @ surface.hessian @ p, rel=1e-12)
        np.testing.assert_allclose(surface.grad(p), surface.hessian @ p, rtol=1e-12, atol=1e-12)


def test_hessian_eigenvalues_and_condition_numbers():
    np.testing.assert_allclose(np.linalg.eigvalsh(get_surface("bowl").hessian), [2.0, 2.0])
    for name in ("valley", "rotated_valley"):
        eigenvalues = np.linalg.eigvalsh(get_surface(name).hessian)
        np.testing.assert_allclose(eigenvalues, [0.2, 4.0], rtol=1e-12)
        assert eigenvalues[1] / eigenvalues[0] == pytest.approx(20.0)


def test_rotated_valley_is_the_valley_turned_by_45_degrees():
    valley, rotated = get_surface("valley"), get_surface("rotated_valley")
    c = s = np.sqrt(0.5)
    R = np.array([[c, -s], [s, c]])
    np.testing.assert_allclose(rotated.hessian, R @ valley.hessian @ R.T, atol=1e-12)
    for q in random_points(valley, count=5, seed=3):
        assert rotated.loss(R @ q) == pytest.approx(valley.loss(q), rel=1e-12)


def test_non_quadratic_surfaces_have_no_hessian():
    for name in set(NAMES) - set(QUADRATICS):
        assert get_surface(name).hessian is None


def test_hessian_cannot_be_changed_by_accident():
    with pytest.raises(ValueError):
        get_surface("valley").hessian[0, 0] = 100.0


def test_surfaces_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_surface("bowl").start = (9.0, 9.0)


@pytest.mark.parametrize("name", NAMES)
def test_single_point_batch_and_grid_shapes_agree_with_pointwise_values(name):
    surface = get_surface(name)
    points = random_points(surface, count=12, seed=5)

    assert surface.loss(points[0]).shape == ()
    assert surface.grad(points[0]).shape == (2,)

    batch_loss, batch_grad = surface.loss(points), surface.grad(points)
    assert batch_loss.shape == (12,)
    assert batch_grad.shape == (12, 2)

    grid = points.reshape(3, 4, 2)
    grid_loss, grid_grad = surface.loss(grid), surface.grad(grid)
    assert grid_loss.shape == (3, 4)
    assert grid_grad.shape == (3, 4, 2)

    for k, p in enumerate(points):
        assert batch_loss[k] == pytest.approx(surface.loss(p), rel=1e-14)
        np.testing.assert_allclose(batch_grad[k], surface.grad(p), rtol=1e-14)
        assert grid_loss[k // 4, k % 4] == pytest.approx(surface.loss(p), rel=1e-14)
        np.testing.assert_allclose(grid_grad[k // 4, k % 4], surface.grad(p), rtol=1e-14)


def test_meshgrid_for_a_contour_plot():
    surface = get_surface("rosenbrock")
    X, Y = np.meshgrid(np.linspace(*surface.xlim, 30), np.linspace(*surface.ylim, 20))
    Z = surface.loss(np.stack([X, Y], axis=-1))
    assert Z.shape == (20, 30)
    np.testing.assert_allclose(Z, (1 - X) ** 2 + 100 * (Y - X**2) ** 2)


def test_plain_lists_and_integers_are_accepted():
    assert get_surface("bowl").loss([1, 2]) == 5.0
    np.testing.assert_array_equal(get_surface("bowl").grad([[1, 2], [0, 0]]), [[2.0, 4.0], [0.0, 0.0]])


@pytest.mark.parametrize("name", NAMES)
def test_start_and_minima_lie_inside_the_window(name):
    surface = get_surface(name)
    assert surface.xlim[0] < surface.xlim[1] and surface.ylim[0] < surface.ylim[1]
    for x, y in (surface.start, *surface.minima, *surface.saddles):
        assert surface.xlim[0] <= x <= surface.xlim[1]
        assert surface.ylim[0] <= y <= surface.ylim[1]
    # a start at a minimum would show nothing
    assert surface.loss(surface.start) > surface.min_loss + 1e-3


def test_get_surface_with_an_unknown_name_lists_the_valid_names():
    for bad in ["rosenbrok", "", "Bowl", 3, None]:
        with pytest.raises(ValueError) as info:
            get_surface(bad)
        message = str(info.value)
        assert "name" in message
        for name in NAMES:
            assert name in message


@pytest.mark.parametrize("method", ["loss", "grad"])
@pytest.mark.parametrize(
    "bad",
    [
        [1.0, 2.0, 3.0],  # last axis is not (x, y)
        [[1.0], [2.0]],
        3.0,  # a number, not a point
        [1.0, np.nan],
        [[0.0, 0.0], [np.inf, 1.0]],
        "a point",
        ["x", "y"],
        None,
    ],
)
def test_bad_points_raise_a_clear_value_error(method, bad):
    surface = get_surface("himmelblau")
    with pytest.raises(ValueError, match=r"\bp\b"):
        getattr(surface, method)(bad)


def test_far_away_points_overflow_quietly_to_inf_instead_of_raising():
    surface = get_surface("rosenbrock")
    with np.errstate(all="ignore"):
        assert not np.isfinite(surface.grad([1e200, 1e200])).all()
        assert not np.isfinite(surface.loss([1e200, 1e200]))
