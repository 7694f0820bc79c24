"""Lion: a step of the same size η in every coordinate, in the direction of sign(momentum), as in lion-pytorch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_learning_rate,
    check_non_negative,
    check_state_arrays,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class LionState:
    """What Lion remembers: the momentum m (starts at 0). No step count, no
    second moment: half of Adam's memory."""

    m: np.ndarray


@dataclass(frozen=True)
class Lion:
    r"""Lion, "evolved sign momentum" (Chen et al. 2023), as in ``lion-pytorch``.

    Hyperparameters: learning rate η (``lr``, default 1e-4: a sign step is
    large, so η is usually 3-10 times smaller than for AdamW), β₁
    (``beta1``, 0.9), β₂ (``beta2``, 0.99), the decoupled decay coefficient
    λ (``weight_decay``).

    One step::

        c = β₁ m + (1 − β₁) g                ← the lines that differ from Adam
        θ ← θ − η (sign(c) + λ θ)
        m ← β₂ m + (1 − β₂) g

    State: m, starting at 0.

    What differs from Adam: no second moment and no division -- the step is
    η · sign(c), so without decay every coordinate moves by exactly η (or
    not at all where c = 0, since sign(0) = 0). Two different β's: the
    direction c mixes in more of the new gradient (β₁ = 0.9) than the
    momentum m remembers (β₂ = 0.99). No bias correction: a sign does not
    care that m starts small. The decay λθ is decoupled, as in AdamW;
    lion-pytorch writes it θ ← θ (1 − ηλ) before the sign step, the same
    thing.

    Other frameworks: optax ``lion`` computes sign((1 − β₁) g + β₁ m) and
    updates m the same way; Keras ``Lion`` defaults to η = 1e-3.
    lion-pytorch's ``decoupled_weight_decay=True`` option divides λ by the
    initial η (θ ← θ (1 − λ) at the initial rate); it is not offered here.
    """

    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.0
    name: str = "Lion"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "weight_decay", check_non_negative)
        if self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def init(self, theta: np.ndarray) -> LionState:
        """The state before the first step: zero momentum."""
        theta, _ = check_step_inputs(theta, theta)
        return LionState(m=np.zeros_like(theta))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: LionState) -> tuple[np.ndarray, LionState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, LionState, required=("m",))
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: LionState) -> tuple[np.ndarray, LionState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        c = self.beta1 * state.m + (1 - self.beta1) * g
        theta = theta - self.lr * (np.sign(c) + self.weight_decay * theta)
        m = self.beta2 * state.m + (1 - self.beta2) * g
        return theta, LionState(m=m)
