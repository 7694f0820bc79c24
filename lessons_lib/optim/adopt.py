"""ADOPT: normalise g by the previous v, then average it, as ``torch-adopt`` 0.1.0."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lessons_lib.optim.adam import Adam, AdamState


@dataclass(frozen=True)
class ADOPT(Adam):
    r"""ADOPT (Taniguchi et al. 2024), as ``adopt.ADOPT`` in ``torch-adopt`` 0.1.0.

    Hyperparameters: η ``lr``, β₁ ``beta1``, β₂ ``beta2``, ε ``eps``, λ ``weight_decay``, its kind
    ``decoupled_weight_decay`` (torch-adopt's ``decouple``), ``clip`` at s k^q on update k (s
    ``clip_scale``, q ``clip_power``). One step::

        t ← t + 1
        g ← g + λ θ                          (L2 only; also on the first step)
        first step (t = 1): v ← g², and nothing else: θ and m do not move
        θ ← θ (1 − η λ)                      (decoupled only)
        n = g / max(√v, ε)                   (the v of earlier steps: g is not divided by itself)
        n ← clip(n, −c, c),   c = s (t − 1)^q     (if clip; update k = t − 1)
        m ← β₁ m + (1 − β₁) n
        θ ← θ − η m                          (no bias correction)
        v ← β₂ v + (1 − β₂) g²

    State: Adam's t, m and v, from 0. Unlike Adam, g is normalised before the momentum, by
    a v without g (the paper's proof needs it, for any β₂). The clip (the authors' later
    code) keeps a coordinate whose earlier gradients were ~0 from a division by ε;
    ``clip=False`` is the original ADOPT. torch-adopt's ``clip_lambda`` gets t − 1 too.
    """

    beta2: float = 0.9999
    eps: float = 1e-6
    amsgrad: bool = field(default=False, init=False, repr=False)
    bias_correction: bool = field(default=False, init=False, repr=False)
    name: str = "ADOPT"
    clip: bool = True
    clip_scale: float = 1.0
    clip_power: float = 0.25

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        t = state.t + 1
        if t == 1:
            _, g = self.decay(theta, g)  # L2 joins g; a decoupled decay waits for the first real step
            return theta.copy(), AdamState(t=t, m=state.m.copy(), v=g**2)
        theta, g = self.decay(theta, g)
        n = g / np.maximum(np.sqrt(state.v), self.eps)
        if self.clip:
            c = self.clip_scale * (t - 1) ** self.clip_power
            n = np.clip(n, -c, c)
        m = self.beta1 * state.m + (1 - self.beta1) * n
        theta = theta - self.lr * m
        v = self.beta2 * state.v + (1 - self.beta2) * g**2
        return theta, AdamState(t=t, m=m, v=v)
