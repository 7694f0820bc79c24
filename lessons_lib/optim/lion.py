"""Lion: a step of the same size η in every coordinate, in the direction of sign(momentum), as in lion-pytorch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class LionState:
    """What Lion remembers: the momentum m (starts at 0). No step count, no
    second moment: half of Adam's memory."""

    m: np.ndarray


@dataclass(frozen=True)
class Lion(Rule):
    r"""Lion, "evolved sign momentum" (Chen et al. 2023), as in ``lion-pytorch``.

    Hyperparameters: learning rate η (``lr``, default 1e-4: a sign step is
    large, so η is usually 3-10 times smaller than for AdamW), β₁
    (``beta1``, 0.9), β₂ (``beta2``, 0.99), the weight decay λ
    (``weight_decay``), always decoupled.

    One step::

        θ ← θ (1 − η λ)                      (decoupled decay)
        c = β₁ m + (1 − β₁) g                ← the lines that differ from Adam
        θ ← θ − η sign(c)
        m ← β₂ m + (1 − β₂) g

    State: m, starting at 0.

    What differs from Adam: no second moment and no division -- the step is
    η · sign(c), so without decay every coordinate moves by exactly η (or
    not at all where c = 0, since sign(0) = 0). Two different β's: the
    direction c mixes in more of the new gradient (β₁ = 0.9) than the
    momentum m remembers (β₂ = 0.99). No bias correction: a sign does not
    care that m starts small. The decay is decoupled, as in AdamW, and
    written as lion-pytorch writes it, before the sign step; the paper's
    θ ← θ − η (sign(c) + λ θ) is the same thing.

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
    decoupled_weight_decay = True  # not a switch: Lion's decay is always decoupled
    DELTA = {"t ← t + 1": (), "m ← β₁ m + (1 − β₁) g": ("c = β₁ m + (1 − β₁) g",), "v ← β₂ v + (1 − β₂) g²": (),
             "m̂ ← m / (1 − β₁ᵗ)": (), "v̂ ← v / (1 − β₂ᵗ)": (),
             "θ ← θ − η m̂ / (√v̂ + ε)": ("θ ← θ − η sign(c)", "m ← β₂ m + (1 − β₂) g   (β₂ = 0.99: m's own memory)")}

    def start(self, theta: np.ndarray) -> LionState:
        """Zero momentum."""
        return LionState(m=np.zeros_like(theta))

    def update(self, theta: np.ndarray, g: np.ndarray, state: LionState) -> tuple[np.ndarray, LionState]:
        theta, g = self.decay(theta, g)
        c = self.beta1 * state.m + (1 - self.beta1) * g
        theta = theta - self.lr * np.sign(c)
        m = self.beta2 * state.m + (1 - self.beta2) * g
        return theta, LionState(m=m)
