"""What every rule shares, written once: checked hyperparameters, ``init``, ``step`` and weight decay.

A rule is a frozen dataclass of hyperparameters that inherits from ``Rule``
and writes only what is its own: ``start(theta)``, the state before the first
step, and ``update(theta, g, state)``, the rule itself, line for line like the
equations of its docstring. ``Rule`` gives it:

* the checks of its hyperparameters when it is made, by name (``CHECKS``:
  ``lr`` means the same, and is checked the same way, in every rule);
* ``init(theta)``: checks θ, returns ``start(theta)``;
* ``step(theta, grad, state)``: checks θ, the gradient and the state, then
  calls ``update``. Nothing is modified in place;
* ``decay(theta, g)``: weight decay, the one mechanism of every rule with a λ.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from lessons_lib.checks import (check_beta, check_flag, check_learning_rate, check_non_negative, check_positive,
                                check_state, check_step_count, check_step_inputs, set_checked)

#: How a hyperparameter is checked, by its name, in every rule.
CHECKS = {
    "lr": check_learning_rate,
    **dict.fromkeys(("beta", "beta1", "beta2", "momentum"), check_beta),
    **dict.fromkeys(("eps", "eps1"), check_positive),
    **dict.fromkeys(("dampening", "weight_decay", "initial_accumulator_value", "momentum_decay", "eps2", "r",
                     "weight_lr_power", "clip_scale", "clip_power"), check_non_negative),
    **dict.fromkeys(("nesterov", "centered", "amsgrad", "bias_correction", "decoupled_weight_decay", "clip",
                     "decay_at_z"), check_flag),
}


class Rule:
    """The machinery shared by the rules of ``lessons_lib.optim`` (see the module's docstring)."""

    weight_decay = 0.0  # rules without a λ
    decoupled_weight_decay = False
    non_negative: tuple[str, ...] = ()  # the state's averages of squares, never below zero

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name in CHECKS:
                set_checked(self, field.name, CHECKS[field.name])
        if self.decoupled_weight_decay and self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1 with decoupled weight decay, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def init(self, theta: np.ndarray) -> Any:
        """The state before the first step, for parameters like ``theta``."""
        theta, _ = check_step_inputs(theta, theta)
        return self.start(self.check_theta(theta))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """One update; returns the new parameters and the new state (the inputs are not modified)."""
        theta, grad = check_step_inputs(theta, grad)
        return self.update(self.check_theta(theta), grad, self.check_state(state, theta))

    def check_theta(self, theta: np.ndarray) -> np.ndarray:
        """θ, if this rule takes parameters of its shape (every shape; Muon only matrices)."""
        return theta

    def check_state(self, state: Any, theta: np.ndarray) -> Any:
        """``state``, if it is this rule's, with an array of θ's shape wherever a fresh state has one."""
        fresh = self.start(np.zeros(()))  # which fields hold arrays (their size does not matter here)
        check_state(state, fresh, theta.shape, self.non_negative)
        if hasattr(fresh, "t"):
            check_step_count(state.t)
        return state

    def decay(self, theta: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight decay λ (``weight_decay``), of one of two kinds (``decoupled_weight_decay``, torch's name)::

            g ← g + λ θ         L2: the decay joins the gradient, and goes wherever it goes
            θ ← θ (1 − η λ)     decoupled: the weights shrink first, outside the rest of the step
        """
        if self.weight_decay == 0:
            return theta, g
        if self.decoupled_weight_decay:
            return theta * (1 - self.lr * self.weight_decay), g
        return theta, g + self.weight_decay * theta
