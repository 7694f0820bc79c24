"""AdaBelief: Adam with the average of g² replaced by the average of (g − m)², as in adabelief-pytorch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lessons_lib.optim.adam import Adam, AdamState


@dataclass(frozen=True)
class AdaBeliefState(AdamState):
    """What AdaBelief remembers: Adam's t, m, v (and v_max), with v the
    average of (g − m)² plus ε (the paper's s)."""


@dataclass(frozen=True)
class AdaBelief(Adam):
    r"""AdaBelief (Zhuang et al. 2020), as in the authors' ``adabelief-pytorch``.

    Hyperparameters: Adam's (without ``bias_correction``), with ε = 1e-16
    (``eps``, as in adabelief-pytorch) and ``decoupled_weight_decay=True``
    by default (adabelief-pytorch's ``weight_decouple``: the weights shrink
    by (1 − ηλ) first, as in AdamW; False: L2, λθ added to g).

    One step (the paper's algorithm, with adabelief-pytorch's weight decay)::

        t ← t + 1
        θ ← θ (1 − η λ) if decoupled,  or  g ← g + λ θ      (only if λ > 0: ``Rule.decay``)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) (g − m)² + ε     ← the line that differs from Adam
        v_max ← max(v_max, v)               (AMSGrad only; then v_max replaces v below)
        m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)

    State: t, m, v (and v_max), all starting at 0. The paper calls this v s.

    The line that differs from Adam is v (``second_moment``): Adam averages
    g², the size of the gradient; AdaBelief averages (g − m)², how far the
    gradient is from what the average m predicted ("belief"). Where the
    gradients agree with their average, v is small and the step is large;
    where they jump around, the step is small. ε appears twice: added to v
    at every step (so v ≥ ε, and it accumulates to about ε / (1 − β₂)) and
    added to √v̂.

    adabelief-pytorch 0.2.1 defaults to ``rectify=True``, RAdam's
    rectification on top (see ``RAdam``; it switches at ρ_t ≥ 5 and puts ε
    differently in the rectified step); this class is the paper's algorithm,
    that package with ``rectify=False``. Its ``fixed_decay`` option (decay
    θ ← θ (1 − λ), without η) is not offered here.

    optax ``adabelief`` computes the same average with the ε added to it
    named ``eps_root`` (defaults ε = ε_root = 1e-16); it has no weight decay
    of its own. Older optax versions used the previous average, g − m_{t−1},
    instead of g − m_t.
    """

    eps: float = 1e-16
    decoupled_weight_decay: bool = True
    bias_correction: bool = field(default=True, init=False, repr=False)
    name: str = "AdaBelief"
    State = AdaBeliefState
    DELTA = {"v ← β₂ v + (1 − β₂) g²": ("v ← β₂ v + (1 − β₂) (g − m)² + ε",)}

    def second_moment(self, v: np.ndarray, g: np.ndarray, m: np.ndarray) -> np.ndarray:
        """v ← β₂ v + (1 − β₂) (g − m)² + ε: the line that differs from Adam."""
        return self.beta2 * v + (1 - self.beta2) * (g - m) ** 2 + self.eps
