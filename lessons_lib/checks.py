"""Argument checks shared by every public function of the course library.

Bad input should stop at the door with a sentence that says what was wrong and
what is allowed -- never as a numpy traceback ten frames deep. Each helper here
either returns a clean value (a Python float, a float64 array) or raises
``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

import numpy as np


def check_number(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_learning_rate(value: object, name: str = "lr") -> float:
    """A learning rate is a finite number >= 0 (0 is allowed: nothing moves)."""
    value = check_number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value} (a negative learning rate climbs the loss)")
    return value


def check_beta(value: object, name: str) -> float:
    """A decay rate beta of an exponential average lies in [0, 1).

    beta = 1 would never forget the starting zero (and the bias correction
    1 - beta**t would divide by zero); beta < 0 makes the average flip sign.
    """
    value = check_number(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def check_non_negative(value: object, name: str) -> float:
    """A finite number >= 0 (epsilon, weight decay, dampening...)."""
    value = check_number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_positive(value: object, name: str) -> float:
    """A finite number > 0 (epsilon: 0 would divide by zero wherever a gradient is exactly 0)."""
    value = check_number(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value} (it keeps the division finite when a gradient is 0)")
    return value


def check_flag(value: object, name: str) -> bool:
    """A True/False switch; 0 and 1 are not accepted, to catch swapped arguments."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_positive_int(value: object, name: str) -> int:
    """A whole number >= 1 (a step count, a batch size)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def as_float_array(value: object, name: str, if_not_finite: str = "every entry must be finite") -> np.ndarray:
    """Return ``value`` as a float64 array with only finite entries.

    Accepts numbers, lists and arrays of integers or floats; refuses text,
    booleans and complex numbers rather than guessing what was meant.
    ``if_not_finite`` ends the message for NaN or infinite entries.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers (integers or floats), got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity; {if_not_finite}")
    return array


def check_same_shape(array: np.ndarray, name: str, expected_shape: tuple[int, ...], of: str) -> None:
    """Raise if ``array`` does not have the shape of the parameters."""
    if array.shape != expected_shape:
        raise ValueError(f"{name} has shape {array.shape}, but {of} has shape {expected_shape}; they must match")


def check_step_inputs(theta: object, grad: object) -> tuple[np.ndarray, np.ndarray]:
    """The common door of every ``step``: finite float64 parameters and a gradient of the same shape."""
    theta = as_float_array(theta, "theta")
    grad = as_float_array(grad, "grad")
    check_same_shape(grad, "grad", theta.shape, of="theta")
    return theta, grad


def check_state(
    state: object, fresh: object, expected_shape: tuple[int, ...], non_negative: tuple[str, ...] = ()
) -> None:
    """Raise unless ``state`` is a state like ``fresh`` (what the rule's init makes) that fits the parameters.

    Where ``fresh`` holds an array, ``state`` must hold a finite float64 array
    of the parameters' shape (None there means a state made by a rule with
    other settings); where ``fresh`` holds None (an array made at the first
    step, or unused with these settings), None or such an array. Numbers (the
    step count t...) and a rule's inner state are left to the rule.
    ``non_negative`` names averages of squares, which can never be below zero.
    """
    if type(state) is not type(fresh):
        raise ValueError(
            f"state must be a {type(fresh).__name__} (from this rule's init), got {type(state).__name__}"
        )
    for field, expected in vars(fresh).items():
        if expected is not None and not isinstance(expected, np.ndarray):
            continue
        value = getattr(state, field)
        if value is None:
            if expected is not None:
                raise ValueError(f"state.{field} is missing; make the state with this rule's init(theta)")
            continue
        if not isinstance(value, (np.ndarray, np.floating)) or value.dtype != np.float64:
            raise ValueError(f"state.{field} must be a float64 array (as made by init), got {type(value).__name__}")
        check_same_shape(value, f"state.{field}", expected_shape, of="theta")
        if not np.isfinite(value).all():
            raise ValueError(f"state.{field} contains NaN or infinity; every entry must be finite")
        if field in non_negative and (value < 0).any():
            raise ValueError(f"state.{field} has negative entries; an average of squares is >= 0")


def check_step_count(t: object) -> int:
    """The step count ``t`` of a state: a whole number >= 0 (0 before the first step)."""
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"state.t must be a whole number >= 0, got {t!r}")
    return int(t)


def set_checked(rule: object, field: str, check: Callable[[object, str], object]) -> None:
    """Check a hyperparameter of a frozen dataclass and store the clean value.

    ``check`` returns the value as a plain float (or bool), so that a float32 or
    an integer given by the caller cannot change the arithmetic of the rule.
    Frozen dataclasses can only be written to with ``object.__setattr__``.
    """
    object.__setattr__(rule, field, check(getattr(rule, field), field))
