"""Gradient descent and its momentum forms.

Two classes:

* ``SGD`` -- torch.optim.SGD, line for line: plain steps, heavy-ball momentum
  with dampening, Nesterov momentum and L2 weight decay.
* ``EMAMomentum`` -- the form many tutorials write, ``v <- beta v + (1 - beta) g``.
  It is PyTorch's momentum with the learning rate scaled by (1 - beta)
  (lesson 03 runs both to show it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_flag,
    check_learning_rate,
    check_non_negative,
    check_state_arrays,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class SGDState:
    """What SGD remembers: the momentum buffer b (None before the first step,
    and always None when momentum = 0)."""

    momentum_buffer: np.ndarray | None = None


@dataclass(frozen=True)
class SGD:
    r"""Stochastic gradient descent, as in ``torch.optim.SGD``.

    Hyperparameters: learning rate η (``lr``), momentum μ, dampening τ,
    L2 coefficient λ (``weight_decay``), ``nesterov``.

    One step, with gradient g of the loss at θ::

        g ← g + λ θ                      (L2 term, only if λ > 0)
        b ← g                            on the first step        (only if μ > 0)
        b ← μ b + (1 − τ) g              on later steps
        d ← g + μ b   if nesterov,  else  d ← b      (d ← g when μ = 0)
        θ ← θ − η d

    State: the momentum buffer b, which starts as the first gradient itself
    (not as zero -- PyTorch's convention).

    Other frameworks: Keras ``SGD(momentum=μ)`` keeps a velocity
    ``v ← μ v − η g; θ ← θ + v``, the same trajectory when η is constant.
    optax ``sgd(learning_rate, momentum)`` uses ``b ← μ b + g`` with b₀ = 0,
    the same as PyTorch here.
    """

    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    name: str = "SGD"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "momentum", check_beta)
        set_checked(self, "dampening", check_non_negative)
        set_checked(self, "nesterov", check_flag)
        set_checked(self, "weight_decay", check_non_negative)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")

    def init(self, theta: np.ndarray) -> SGDState:
        """The state before the first step: no momentum buffer yet."""
        check_step_inputs(theta, theta)
        return SGDState(momentum_buffer=None)

    def step(self, theta: np.ndarray, grad: np.ndarray, state: SGDState) -> tuple[np.ndarray, SGDState]:
        """One update; returns the new parameters and the new state (inputs are not modified)."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, SGDState)
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: SGDState) -> tuple[np.ndarray, SGDState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        if self.momentum == 0:
            return theta - self.lr * g, state

        if state.momentum_buffer is None:
            b = g.copy()
        else:
            b = self.momentum * state.momentum_buffer + (1 - self.dampening) * g
        d = g + self.momentum * b if self.nesterov else b
        return theta - self.lr * d, SGDState(momentum_buffer=b)


@dataclass(frozen=True)
class EMAMomentumState:
    """What EMA momentum remembers: the velocity v (starts at 0)."""

    velocity: np.ndarray


@dataclass(frozen=True)
class EMAMomentum:
    r"""Momentum written as an exponential moving average of gradients.

    Hyperparameters: learning rate η (``lr``), decay β (``beta``).

    One step::

        v ← β v + (1 − β) g
        θ ← θ − η v

    State: the velocity v, starting at 0 (so early velocities are biased
    toward zero; Adam's bias correction, lesson 06, is the cure).

    With v' = v / (1 − β) this is PyTorch's ``b ← β b + g`` (first buffer
    b = g) with learning rate η (1 − β): the same path, step for step.
    """

    lr: float = 0.01
    beta: float = 0.9
    name: str = "EMA momentum"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta", check_beta)

    def init(self, theta: np.ndarray) -> EMAMomentumState:
        """The state before the first step: zero velocity."""
        theta, _ = check_step_inputs(theta, theta)
        return EMAMomentumState(velocity=np.zeros_like(theta))

    def step(
        self, theta: np.ndarray, grad: np.ndarray, state: EMAMomentumState
    ) -> tuple[np.ndarray, EMAMomentumState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, EMAMomentumState, required=("velocity",))
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: EMAMomentumState) -> tuple[np.ndarray, EMAMomentumState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        v = self.beta * state.velocity + (1 - self.beta) * g
        return theta - self.lr * v, EMAMomentumState(velocity=v)
