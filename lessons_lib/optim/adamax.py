"""Adamax: Adam with the average of g² replaced by a decaying maximum of |g|, as in ``torch.optim.Adamax``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lessons_lib.optim.adam import Adam


@dataclass(frozen=True)
class AdamaxState:
    """What Adamax remembers: the step count t (0 before the first step), the
    first moment m and u, the exponentially weighted infinity norm (a decaying
    maximum of |g|); both start at 0."""

    t: int
    m: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class Adamax(Adam):
    r"""Adamax (Kingma & Ba 2015, section 7), as in ``torch.optim.Adamax``.

    Hyperparameters: Adam's (without ``amsgrad`` and ``bias_correction``),
    with PyTorch's default η = 2e-3.

    One step::

        t ← t + 1
        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
        m ← β₁ m + (1 − β₁) g
        u ← max(β₂ u, |g| + ε)               ← the line that differs from Adam
        θ ← θ − η / (1 − β₁ᵗ) · m / u        ← and the step: no v̂, no root

    State: t, m, u.

    The line that differs from Adam is u: instead of an average of g² (and
    its square root), a maximum of |g| whose memory fades by β₂ each step.
    It needs no bias correction -- a maximum is not pulled towards its zero
    start -- and no root; ε goes *inside* the maximum, so u ≥ ε > 0. On the
    first step m / (1 − β₁) = g and u = |g| + ε, so every coordinate moves by
    η |g| / (|g| + ε): almost exactly η, whatever the size of g. As the state
    holds u in place of v, ``update`` is written out: Adam's first lines,
    then these two.

    Other frameworks: optax ``adamax`` does the same (u ← max(|g| + ε, β₂ u),
    m̂ / u). Keras ``Adamax`` adds ε *outside* the maximum,
    u ← max(β₂ u, |g|), θ ← θ − η m̂ / (u + ε), with ε = 1e-7, η = 1e-3.
    """

    lr: float = 2e-3
    amsgrad: bool = field(default=False, init=False, repr=False)
    bias_correction: bool = field(default=True, init=False, repr=False)
    name: str = "Adamax"
    non_negative = ("u",)
    DELTA = {"v ← β₂ v + (1 − β₂) g²": ("u ← max(β₂ u, |g| + ε)",), "v̂ ← v / (1 − β₂ᵗ)": (),
             "θ ← θ − η m̂ / (√v̂ + ε)": ("θ ← θ − η m̂ / u",)}

    def start(self, theta: np.ndarray) -> AdamaxState:
        """t = 0, m = 0 and u = 0."""
        return AdamaxState(t=0, m=np.zeros_like(theta), u=np.zeros_like(theta))

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamaxState) -> tuple[np.ndarray, AdamaxState]:
        theta, g = self.decay(theta, g)
        t = state.t + 1
        m = self.beta1 * state.m + (1 - self.beta1) * g
        u = np.maximum(self.beta2 * state.u, np.abs(g) + self.eps)
        theta = theta - self.lr / (1 - self.beta1**t) * m / u
        return theta, AdamaxState(t=t, m=m, u=u)
