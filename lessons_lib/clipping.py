"""Gradient clipping by global norm, as ``torch.nn.utils.clip_grad_norm_`` does it.

One rare, huge gradient (a steep cliff of the loss, a bad batch) can throw the
parameters far away in a single update. Clipping caps the *length* of the
update direction and keeps its direction: if the gradient is longer than
``max_norm``, it is scaled down to (just under) that length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lessons_lib.checks import as_float_array, check_number

#: Added to the norm before dividing, as in PyTorch (so an all-zero gradient divides by 1e-6, not by 0).
NORM_EPS = 1e-6


def clip_by_global_norm(
    grads: np.ndarray | Sequence[np.ndarray], max_norm: float
) -> tuple[np.ndarray | list[np.ndarray], float]:
    r"""Scale gradients down so that their global norm is at most (about) ``max_norm``.

    ``grads`` is one array, or a list of arrays (one per parameter tensor, any
    shapes). The norm is *global*: all of them together, as one long vector::

        ‖g‖ = √(Σ_i ‖g_i‖²)                       (‖g_i‖: the norm of array i)
        c  = max_norm / (‖g‖ + 10⁻⁶)
        g_i ← c · g_i   for every i,  if c < 1    (else unchanged)

    Returns ``(clipped, total_norm)``: the clipped gradients, shaped like
    ``grads`` (an array for an array, a list for a list), and ‖g‖ *before*
    clipping, as a float (worth logging: it tells how often clipping acts).
    Nothing is modified in place: the results are new arrays.

    This is ``torch.nn.utils.clip_grad_norm_(parameters, max_norm)`` with its
    defaults (2-norm), which computes each tensor's norm, then the norm of
    those norms, and multiplies every gradient by ``min(c, 1)`` -- the same
    thing; ``tests/fixtures/torch_schedules.json`` checks it to 1e-12. Note the
    10⁻⁶: a clipped gradient ends slightly *shorter* than ``max_norm``, and a
    gradient of norm exactly ``max_norm`` is still scaled, by
    max_norm / (max_norm + 10⁻⁶).

    Differences from PyTorch, on purpose:

    * NaN or infinite gradients raise ``ValueError`` here. PyTorch, by default
      (``error_if_nonfinite=False``), multiplies by the non-finite scale and
      returns NaN gradients (or zeros where they were finite, if the norm is
      inf), which silently ruins the parameters at the next step; with
      ``error_if_nonfinite=True`` it raises ``RuntimeError``.
    * ``max_norm`` must be > 0. PyTorch accepts 0 (all gradients become 0) and
      negative values (which flip every gradient's sign).
    * An empty list raises ``ValueError`` (PyTorch returns a norm of 0).
    """
    max_norm = check_number("max_norm", max_norm)
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm} (the longest gradient allowed)")
    single = isinstance(grads, np.ndarray)
    arrays = [_as_gradient(grads, "grads")] if single else _as_list(grads)

    with np.errstate(over="ignore"):  # an overflowing norm becomes inf, refused just below
        norms = [np.linalg.norm(g.ravel()) for g in arrays]  # as PyTorch: the norm of each array,
        total_norm = float(np.linalg.norm(np.array(norms)))  # then the norm of those norms
    if not math.isfinite(total_norm):
        raise ValueError(f"the global norm of the gradients is {total_norm}: too large to represent in float64")

    scale = min(max_norm / (total_norm + NORM_EPS), 1.0)
    clipped = [g * scale for g in arrays]
    return (clipped[0] if single else clipped), total_norm


def _as_list(grads: object) -> list[np.ndarray]:
    """A list or tuple of arrays as a list of finite float64 arrays, or a clear error."""
    if not isinstance(grads, (list, tuple)):
        raise ValueError(f"grads must be a numpy array or a list of numpy arrays, got {type(grads).__name__}")
    if not grads:
        raise ValueError("grads is an empty list; give at least one gradient array")
    return [_as_gradient(g, f"grads[{index}]") for index, g in enumerate(grads)]


def _as_gradient(value: object, name: str) -> np.ndarray:
    """One gradient: a float64 array of finite real numbers."""
    return as_float_array(value, name, if_not_finite="clipping cannot repair that (the run has already diverged)")
