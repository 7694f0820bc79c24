"""Two-dimensional loss surfaces with analytic gradients, for watching optimizers move.

Each surface is a ``Surface``: a name, the formula, the loss and its gradient
written out by hand, the points we know (minima, saddles), a plotting window
and a default start.

Points are arrays whose last axis holds (x, y)::

    surface.loss(p)   # p of shape (..., 2)  ->  shape (...)
    surface.grad(p)   # p of shape (..., 2)  ->  shape (..., 2)

So the same call works for one point (2,), a batch of points (K, 2), and a
grid stacked to (H, W, 2) for a contour plot::

    X, Y = np.meshgrid(np.linspace(*surface.xlim, 200), np.linspace(*surface.ylim, 200))
    Z = surface.loss(np.stack([X, Y], axis=-1))   # shape (200, 200)

The surfaces (``SURFACES``, or ``get_surface(name)``):

* ``bowl``            x² + y²                                 round; every method is happy
* ``valley``          0.1 x² + 2 y²                           ill-conditioned (condition number 20)
* ``rotated_valley``  the valley turned by 45°                the same, but not along the axes
* ``rosenbrock``      (1 − x)² + 100 (y − x²)²                a long curved valley
* ``beale``           three squared terms                     flat plateaus, steep walls
* ``himmelblau``      (x² + y − 11)² + (x + y² − 7)²          four minima
* ``saddle``          x² + y⁴/4 − y²/2                        a saddle point between two minima
* ``rastrigin``       20 + x² + y² − 10 (cos 2πx + cos 2πy)   many local minima
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import as_float_array

Point = tuple[float, float]


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface L(x, y) on the plane.

    Fields:

    * ``name``: the short key (``"rosenbrock"``); ``title``: for plots (``"Rosenbrock"``);
    * ``formula``: the loss as readable text;
    * ``loss_xy(x, y)`` and ``grad_xy(x, y) -> (∂L/∂x, ∂L/∂y)``: the math itself,
      on arrays x and y of any (equal) shape, without checks -- call ``loss(p)``
      and ``grad(p)`` instead, which check ``p`` first;
    * ``minima``: the global minima (every one has loss ``min_loss``);
    * ``xlim``, ``ylim``: a plotting window (low, high) holding the minima and the start;
    * ``start``: a default start that shows something interesting;
    * ``saddles``: known saddle points (none by default);
    * ``min_loss``: the loss at the minima (0 by default);
    * ``hessian``: for the quadratic surfaces, the constant 2×2 Hessian H with
      L(p) = ½ pᵀ H p (read-only); None for the others.

    Methods: ``loss(p)`` and ``grad(p)`` check ``p`` and evaluate;
    ``loss_unchecked(p)`` and ``grad_unchecked(p)`` skip the check, for inner
    loops (``runner.run``) that already know ``p`` is a finite float array.
    """

    name: str
    title: str
    formula: str
    loss_xy: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad_xy: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    minima: tuple[Point, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: Point
    saddles: tuple[Point, ...] = ()
    min_loss: float = 0.0
    hessian: np.ndarray | None = None

    def loss(self, p: object) -> np.ndarray:
        """The loss at points ``p`` of shape (..., 2); returns shape (...)."""
        return self.loss_unchecked(check_points(p))

    def grad(self, p: object) -> np.ndarray:
        """The gradient (∂L/∂x, ∂L/∂y) at points ``p`` of shape (..., 2); returns shape (..., 2).

        Far from the minimum the gradient may overflow to inf or NaN (with a
        numpy RuntimeWarning); ``runner.run`` treats that as divergence.
        """
        return self.grad_unchecked(check_points(p))

    def loss_unchecked(self, p: np.ndarray) -> np.ndarray:
        """``loss(p)`` without checking ``p``: for loops that already know p is a finite (..., 2) array."""
        return self.loss_xy(p[..., 0], p[..., 1])

    def grad_unchecked(self, p: np.ndarray) -> np.ndarray:
        """``grad(p)`` without checking ``p``: for loops that already know p is a finite (..., 2) array."""
        grad = np.empty_like(p)
        grad[..., 0], grad[..., 1] = self.grad_xy(p[..., 0], p[..., 1])
        return grad


def check_points(p: object, name: str = "p") -> np.ndarray:
    """Return ``p`` as a finite float64 array whose last axis has length 2 (x, y)."""
    p = as_float_array(p, name)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(
            f"{name} must have shape (..., 2), the last axis holding (x, y); got shape {p.shape}"
        )
    return p


def _read_only(matrix: list[list[float]]) -> np.ndarray:
    """A float64 array that cannot be changed by accident (surfaces are shared)."""
    array = np.array(matrix, dtype=np.float64)
    array.setflags(write=False)
    return array


# --- bowl: L = x² + y² ----------------------------------------------------------


def _bowl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x**2 + y**2


def _bowl_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 2 * x, 2 * y


BOWL = Surface(name="bowl", title="Bowl", formula="x² + y²", loss_xy=_bowl, grad_xy=_bowl_grad, minima=((0.0, 0.0),),
               xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), start=(-1.5, 1.0), hessian=_read_only([[2.0, 0.0], [0.0, 2.0]]))


# --- valley: L = 0.1 x² + 2 y² ----------------------------------------------------
# Hessian diag(0.2, 4): the curvature across the valley (y) is 20 times the
# curvature along it (x). Gradient descent is stable only for η < 2/4 = 0.5,
# and at that η it crawls along x.


def _valley(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.1 * x**2 + 2 * y**2


def _valley_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 0.2 * x, 4 * y


VALLEY = Surface(name="valley", title="Valley", formula="0.1 x² + 2 y²", loss_xy=_valley, grad_xy=_valley_grad,
                 minima=((0.0, 0.0),), xlim=(-8.0, 8.0), ylim=(-3.0, 3.0), start=(-7.0, 2.0),
                 hessian=_read_only([[0.2, 0.0], [0.0, 4.0]]))


# --- rotated valley: the valley turned by 45° -------------------------------------
# With u = (x + y)/√2 along the valley and v = (x − y)/√2 across it,
# L = 0.1 u² + 2 v² = 0.05 (x + y)² + (x − y)².
# Hessian R diag(0.2, 4) Rᵀ = [[2.1, −1.9], [−1.9, 2.1]]: the same eigenvalues
# as the valley, but the axes of the valley are no longer the x and y axes,
# so per-coordinate step sizes (AdaGrad, RMSprop, Adam) cannot fix it.


def _rotated_valley(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.05 * (x + y) ** 2 + (x - y) ** 2


def _rotated_valley_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = 0.1 * (x + y) + 2 * (x - y)
    dy = 0.1 * (x + y) - 2 * (x - y)
    return dx, dy


ROTATED_VALLEY = Surface(name="rotated_valley", title="Rotated valley", formula="0.05 (x + y)² + (x − y)²",
                         loss_xy=_rotated_valley, grad_xy=_rotated_valley_grad, minima=((0.0, 0.0),),
                         xlim=(-6.0, 6.0), ylim=(-6.0, 6.0), start=(-5.0, -3.0),
                         hessian=_read_only([[2.1, -1.9], [-1.9, 2.1]]))


# --- Rosenbrock: L = (1 − x)² + 100 (y − x²)² ---------------------------------------
# A narrow curved valley along y = x²; easy to find, slow to follow to (1, 1).


def _rosenbrock(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = -2 * (1 - x) - 400 * x * (y - x**2)
    dy = 200 * (y - x**2)
    return dx, dy


ROSENBROCK = Surface(name="rosenbrock", title="Rosenbrock", formula="(1 − x)² + 100 (y − x²)²", loss_xy=_rosenbrock,
                     grad_xy=_rosenbrock_grad, minima=((1.0, 1.0),), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0),
                     start=(-1.2, 1.0))


# --- Beale: L = a² + b² + c² ---------------------------------------------------------
# with a = 1.5 − x + xy, b = 2.25 − x + xy², c = 2.625 − x + xy³;
# all three vanish at (3, 0.5). On the line x = 0 the loss does not depend on y,
# and (0, 1) is a saddle point (Hessian [[0, 27.75], [27.75, 0]]). Flat in the
# middle, very steep in the corners.


def _beale(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    return a**2 + b**2 + c**2


def _beale_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    dx = 2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1)
    dy = 2 * a * x + 2 * b * (2 * x * y) + 2 * c * (3 * x * y**2)
    return dx, dy


BEALE = Surface(name="beale", title="Beale", formula="(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
                loss_xy=_beale, grad_xy=_beale_grad, minima=((3.0, 0.5),), saddles=((0.0, 1.0),), xlim=(-4.5, 4.5),
                ylim=(-4.5, 4.5), start=(1.0, 1.5))


# --- Himmelblau: L = (x² + y − 11)² + (x + y² − 7)² -----------------------------------
# Four minima, all with L = 0, four saddles between them and a local maximum
# near (−0.2708, −0.9230). Apart from (3, 2), the points were found with
# Newton's method to double precision (tests/test_surfaces.py checks ∇L = 0).
# Which minimum you reach depends on the start and the method.


def _himmelblau(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = x**2 + y - 11
    b = x + y**2 - 7
    dx = 4 * x * a + 2 * b
    dy = 2 * a + 4 * y * b
    return dx, dy


HIMMELBLAU = Surface(
    name="himmelblau", title="Himmelblau", formula="(x² + y − 11)² + (x + y² − 7)²",
    loss_xy=_himmelblau, grad_xy=_himmelblau_grad, xlim=(-5.0, 5.0), ylim=(-5.0, 5.0), start=(-0.3, -0.9),
    minima=((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169), (3.5844283403304917, -1.8481265269644034)),
    saddles=((0.08667750455539634, 2.884254701174776), (-3.0730257507643897, -0.08135304428796751),
             (-0.12796134673068005, -1.9537149802445766), (3.385154183607021, 0.07385187983774928)),
)


# --- saddle: L = x² + y⁴/4 − y²/2 ----------------------------------------------------
# ∇L = (2x, y³ − y). At (0, 0) the curvature is +2 along x and −1 along y: a
# saddle point, where the gradient is zero but the point is no minimum. The
# quartic term bends the surface back up, so the two minima (0, ±1) have
# L = 1/4 − 1/2 = −1/4. Starting on the line y = 0, gradient descent slides
# into the saddle and stops; a tiny y grows like (1 + η)ᵗ until it escapes.


def _saddle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x**2 + y**4 / 4 - y**2 / 2


def _saddle_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 2 * x, y**3 - y


SADDLE = Surface(name="saddle", title="Saddle", formula="x² + y⁴/4 − y²/2", loss_xy=_saddle, grad_xy=_saddle_grad,
                 minima=((0.0, -1.0), (0.0, 1.0)), saddles=((0.0, 0.0),), min_loss=-0.25, xlim=(-2.0, 2.0),
                 ylim=(-2.0, 2.0), start=(1.5, 0.01))


# --- Rastrigin: L = 20 + x² + y² − 10 (cos 2πx + cos 2πy) ------------------------------
# A bowl with ripples: a local minimum near every integer point (x, y), the
# global one at (0, 0), and saddles between them (too many to list). Plain
# gradient descent stops in the nearest dip.


def _rastrigin(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 20 + x**2 + y**2 - 10 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))


def _rastrigin_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = 2 * x + 20 * np.pi * np.sin(2 * np.pi * x)
    dy = 2 * y + 20 * np.pi * np.sin(2 * np.pi * y)
    return dx, dy


RASTRIGIN = Surface(name="rastrigin", title="Rastrigin", formula="20 + x² + y² − 10 (cos 2πx + cos 2πy)",
                    loss_xy=_rastrigin, grad_xy=_rastrigin_grad, minima=((0.0, 0.0),), xlim=(-5.12, 5.12),
                    ylim=(-5.12, 5.12), start=(3.3, -2.6))


SURFACES: dict[str, Surface] = {
    surface.name: surface
    for surface in (BOWL, VALLEY, ROTATED_VALLEY, ROSENBROCK, BEALE, HIMMELBLAU, SADDLE, RASTRIGIN)
}


def get_surface(name: str) -> Surface:
    """The surface called ``name`` (a key of ``SURFACES``, e.g. ``"rosenbrock"``)."""
    if not isinstance(name, str) or name not in SURFACES:
        raise ValueError(f"name must be one of {', '.join(SURFACES)}; got {name!r}")
    return SURFACES[name]
