"""RMSprop: AdaGrad's sum of squares replaced by an exponential average."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class RMSpropState:
    """What RMSprop remembers: v, the average of g² (starts at 0); ḡ (``g_avg``),
    the average of g (only when centered, else None); b, the momentum buffer
    (only when momentum > 0, else None)."""

    v: np.ndarray
    g_avg: np.ndarray | None = None
    b: np.ndarray | None = None


@dataclass(frozen=True)
class RMSprop(Rule):
    r"""RMSprop, as in ``torch.optim.RMSprop``.

    Hyperparameters: learning rate η (``lr``), decay β (``beta``; PyTorch
    calls it ``alpha``, Keras ``rho``, optax ``decay``), ε (``eps``),
    momentum μ, ``centered``, weight decay λ (``weight_decay``) and its kind
    (``decoupled_weight_decay``, False: L2 as in PyTorch).

    One step::

        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
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
    decoupled_weight_decay: bool = False
    name: str = "RMSprop"
    non_negative = ("v",)

    def start(self, theta: np.ndarray) -> RMSpropState:
        """Zero averages (and a zero momentum buffer)."""
        zeros = np.zeros_like
        return RMSpropState(v=zeros(theta), g_avg=zeros(theta) if self.centered else None,
                            b=zeros(theta) if self.momentum > 0 else None)

    def update(self, theta: np.ndarray, g: np.ndarray, state: RMSpropState) -> tuple[np.ndarray, RMSpropState]:
        theta, g = self.decay(theta, g)
        v = self.beta * state.v + (1 - self.beta) * g**2
        g_avg = self.beta * state.g_avg + (1 - self.beta) * g if self.centered else None
        r = np.sqrt(np.maximum(v - g_avg**2, 0)) + self.eps if self.centered else np.sqrt(v) + self.eps
        if self.momentum == 0:
            return theta - self.lr * g / r, RMSpropState(v=v, g_avg=g_avg)
        b = self.momentum * state.b + g / r
        return theta - self.lr * b, RMSpropState(v=v, g_avg=g_avg, b=b)
