"""What each rule keeps per parameter: the arrays of its state and their size in bytes.

::

    from lessons_lib.optim import Adam, Lookahead
    from lessons_lib.optim.memory import state_arrays, state_bytes

    theta = np.zeros(1000)
    state_bytes(Adam(), theta)              # {"m": 8000, "v": 8000}
    state_bytes(Lookahead(Adam()), theta)   # {"slow": 8000, "inner.m": 8000, "inner.v": 8000}

Only arrays count (as big as θ, or smaller: Adafactor's R and C); numbers such as the step count t or
NAdam's μ-product are one per rule, not one per parameter, and are left out.
Some rules make an array only at the first step (SGD's momentum buffer is
None until then), so the state measured is the one after a first step with
a zero gradient.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from lessons_lib.checks import check_step_inputs


def _arrays_of(state: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """The array fields of a state, by name; a state inside a state (Lookahead's inner) as "inner.m"."""
    found: dict[str, np.ndarray] = {}
    for field in fields(state):
        value = getattr(state, field.name)
        if isinstance(value, (np.ndarray, np.floating)):  # np.floating: the state of a shape-() θ
            found[prefix + field.name] = np.asarray(value)
        elif is_dataclass(value) and not isinstance(value, type):
            found.update(_arrays_of(value, prefix=f"{prefix}{field.name}."))
        elif isinstance(value, tuple):  # PerMatrix's states, one per piece: "pieces.0.B"
            for i, item in enumerate(value):
                found.update(_arrays_of(item, prefix=f"{prefix}{field.name}.{i}."))
    return found


def state_arrays(rule: Any, theta: Any) -> dict[str, np.ndarray]:
    """The arrays a rule keeps for parameters like ``theta``, by field name.

    The state is ``rule.init(theta)`` followed by one step with a zero
    gradient (so that arrays made on the first step exist too).
    """
    theta, _ = check_step_inputs(theta, theta)
    if isinstance(rule, type) or not (callable(getattr(rule, "init", None)) and callable(getattr(rule, "step", None))):
        raise ValueError(f"rule must be an update rule object with init and step, such as Adam(), got {rule!r}")
    _, state = rule.step(theta, np.zeros_like(theta), rule.init(theta))
    return _arrays_of(state)


def state_bytes(rule: Any, theta: Any) -> dict[str, int]:
    """The bytes of each array the rule keeps for parameters like ``theta`` (see ``state_arrays``).

    ``sum(state_bytes(rule, theta).values()) / theta.nbytes`` is the number
    of parameter-sized arrays: 0 for SGD, 1 with momentum, 2 for Adam, 3 for
    AMSGrad.
    """
    return {name: int(array.nbytes) for name, array in state_arrays(rule, theta).items()}
