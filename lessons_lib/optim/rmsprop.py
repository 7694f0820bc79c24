"""RMSprop: AdaGrad's sum of squares replaced by an exponential average."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_flag,
    check_learning_rate,
    check_non_negative,
    check_positive,
    check_state_arrays,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class RMSpropState:
    """What RMSprop remembers: v, the average of g² (starts at 0); ḡ, the
    average of g (only when centered, else None); b, the momentum buffer
    (only when momentum > 0, else None)."""

    square_avg: np.ndarray
    grad_avg: np.ndarray | None = None
    momentum_buffer: np.ndarray | None = None


@dataclass(frozen=True)
class RMSprop:
    r"""RMSprop, as in ``torch.optim.RMSprop``.

    Hyperparameters: learning rate η (``lr``), decay β (``beta``; PyTorch
    calls it ``alpha``, Keras ``rho``, optax ``decay``), ε (``eps``),
    momentum μ, ``centered``, L2 coefficient λ (``weight_decay``).

    One step::

        g ← g + λ θ                          (only if λ > 0)
        v ← β v + (1 − β) g²
        ḡ ← β ḡ + (1 − β) g                  (only if centered)
        r ← √max(v − ḡ², 0) + ε  if centered,  else  r ← √v + ε
        b ← μ b + g / r,   θ ← θ − η b       if μ > 0
        θ ← θ − η g / r                      otherwise

    State: v and (centered) ḡ start at 0; b starts at 0.

    v − ḡ² is a variance, never negative in exact arithmetic; after thousands
    of steps of a constant gradient, rounding can push it a hair below zero,
    where PyTorch's square root gives NaN. Here it is clamped at 0 instead.

    Other frameworks put ε *inside* the root: Keras ``RMSprop`` uses
    ``θ ← θ − η g / √(v + ε)`` with ρ = 0.9, ε = 1e-7; optax ``rmsprop``
    uses ``g / √(v + ε)`` with decay 0.9, ε = 1e-8. PyTorch's defaults are
    β = 0.99, ε = 1e-8.
    """

    lr: float = 0.01
    beta: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False
    weight_decay: float = 0.0
    name: str = "RMSprop"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "momentum", check_beta)
        set_checked(self, "centered", check_flag)
        set_checked(self, "weight_decay", check_non_negative)

    def init(self, theta: np.ndarray) -> RMSpropState:
        """The state before the first step: zero averages (and zero momentum buffer)."""
        theta, _ = check_step_inputs(theta, theta)
        return RMSpropState(
            square_avg=np.zeros_like(theta),
            grad_avg=np.zeros_like(theta) if self.centered else None,
            momentum_buffer=np.zeros_like(theta) if self.momentum > 0 else None,
        )

    def step(self, theta: np.ndarray, grad: np.ndarray, state: RMSpropState) -> tuple[np.ndarray, RMSpropState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        required = ["square_avg"]
        if self.centered:
            required.append("grad_avg")
        if self.momentum > 0:
            required.append("momentum_buffer")
        check_state_arrays(state, theta.shape, RMSpropState, tuple(required), non_negative=("square_avg",))
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: RMSpropState) -> tuple[np.ndarray, RMSpropState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        v = self.beta * state.square_avg + (1 - self.beta) * g**2
        if self.centered:
            g_avg = self.beta * state.grad_avg + (1 - self.beta) * g
            r = np.sqrt(np.maximum(v - g_avg**2, 0)) + self.eps
        else:
            g_avg = None
            r = np.sqrt(v) + self.eps
        if self.momentum > 0:
            b = self.momentum * state.momentum_buffer + g / r
            theta = theta - self.lr * b
        else:
            b = None
            theta = theta - self.lr * g / r
        return theta, RMSpropState(square_avg=v, grad_avg=g_avg, momentum_buffer=b)
