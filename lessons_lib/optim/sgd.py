"""Gradient descent and its momentum forms: ``SGD`` (torch.optim.SGD) and ``EMAMomentum`` (the tutorials' form)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class SGDState:
    """What SGD remembers: the momentum buffer b (None before the first step,
    and always None when momentum = 0)."""

    b: np.ndarray | None = None


@dataclass(frozen=True)
class SGD(Rule):
    r"""Stochastic gradient descent, as in ``torch.optim.SGD``.

    Hyperparameters: learning rate η (``lr``), momentum μ, dampening τ,
    weight decay λ (``weight_decay``) and its kind (``decoupled_weight_decay``,
    False: L2 as in PyTorch), ``nesterov``.

    One step, with gradient g of the loss at θ::

        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
        b ← g                            on the first step        (only if μ > 0)
        b ← μ b + (1 − τ) g              on later steps
        d ← g + μ b   if nesterov,  else  d ← b      (d ← g when μ = 0)
        θ ← θ − η d

    State: the momentum buffer b, which starts as the first gradient itself
    (not as zero -- PyTorch's convention).

    Other frameworks: Keras ``SGD(momentum=μ)`` keeps a velocity
    ``v ← μ v − η g; θ ← θ + v``, the same trajectory when η is constant, and
    its ``weight_decay`` is decoupled. optax ``sgd(learning_rate, momentum)``
    uses ``b ← μ b + g`` with b₀ = 0, the same as PyTorch here.
    """

    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    name: str = "SGD"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")

    def start(self, theta: np.ndarray) -> SGDState:
        return SGDState(b=None)  # no momentum buffer before the first step

    def update(self, theta: np.ndarray, g: np.ndarray, state: SGDState) -> tuple[np.ndarray, SGDState]:
        theta, g = self.decay(theta, g)
        if self.momentum == 0:
            return theta - self.lr * g, state
        b = g.copy() if state.b is None else self.momentum * state.b + (1 - self.dampening) * g
        d = g + self.momentum * b if self.nesterov else b
        return theta - self.lr * d, SGDState(b=b)


@dataclass(frozen=True)
class EMAMomentumState:
    """What EMA momentum remembers: the velocity v (starts at 0)."""

    v: np.ndarray


@dataclass(frozen=True)
class EMAMomentum(Rule):
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

    def start(self, theta: np.ndarray) -> EMAMomentumState:
        """Zero velocity."""
        return EMAMomentumState(v=np.zeros_like(theta))

    def update(self, theta: np.ndarray, g: np.ndarray, state: EMAMomentumState) -> tuple[np.ndarray, EMAMomentumState]:
        v = self.beta * state.v + (1 - self.beta) * g
        return theta - self.lr * v, EMAMomentumState(v=v)
