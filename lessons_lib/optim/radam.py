"""RAdam: Adam whose adaptive step is switched on gradually, as in ``torch.optim.RAdam``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lessons_lib.checks import check_positive_int
from lessons_lib.optim.adam import Adam, AdamState

RECTIFICATION_THRESHOLD = 5.0  # PyTorch rectifies when ρ_t > 5


@dataclass(frozen=True)
class RAdamState(AdamState):
    """What RAdam remembers: the step count t (0 before the first step) and
    the moments m and v (both start at 0) -- Adam's (v_max stays None)."""


@dataclass(frozen=True)
class RAdam(Adam):
    r"""RAdam, rectified Adam (Liu et al. 2020), as in ``torch.optim.RAdam``.

    Hyperparameters: Adam's (without ``amsgrad`` and ``bias_correction``);
    ``decoupled_weight_decay=True`` is PyTorch's RAdamW.

    One step::

        t ← t + 1
        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ)
        ρ_∞ = 2 / (1 − β₂) − 1,   ρ_t = ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        if ρ_t > 5:                          ← the lines that differ from Adam
            r_t = √( (ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t) )
            θ ← θ − η m̂ · r_t √(1 − β₂ᵗ) / (√v + ε)
        else:
            θ ← θ − η m̂                      (SGD with the bias-corrected momentum)

    State: t, m, v, as Adam.

    What differs from Adam is the last step (``adaptive_step``). ρ_t
    estimates how many gradients the average v really holds; while it is
    small (ρ_t ≤ 5: with β₂ = 0.999 the first 5 steps) the variance of the
    adaptive step size √(1 − β₂ᵗ)/√v is too large to trust, so RAdam takes a
    plain momentum step instead. Afterwards r_t ∈ (0, 1) scales the adaptive
    step down and rises to 1: a built-in warm-up.

    ε sits where PyTorch puts it: added to √v *before* the bias correction
    √(1 − β₂ᵗ) (the same as Adam with ε/√(1 − β₂ᵗ) in place of ε). optax
    ``radam`` instead uses r_t m̂ / (√(v̂ + ε_root) + ε), switches at
    ρ_t ≥ threshold (default 5) rather than > 5, and has no weight decay of
    its own. The authors' code (github LiyuanLucasLiu/RAdam) also switches
    at ρ_t ≥ 5 and, by default (``degenerated_to_sgd=False``), does not move
    the parameters at all before that.
    """

    amsgrad: bool = field(default=False, init=False, repr=False)
    bias_correction: bool = field(default=True, init=False, repr=False)
    name: str = "RAdam"
    State = RAdamState
    DELTA = {
        "m̂ ← m / (1 − β₁ᵗ)": ("m̂ ← m / (1 − β₁ᵗ)", "ρ_t = ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ),  r_t = √(…)  (the rectification)"),
        "v̂ ← v / (1 − β₂ᵗ)": (),
        "θ ← θ − η m̂ / (√v̂ + ε)": ("θ ← θ − η m̂ r_t √(1 − β₂ᵗ) / (√v + ε)  if ρ_t > 5,  else  θ ← θ − η m̂",),
    }

    def rho(self, t: int) -> float:
        """ρ_t = ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ), the length of the average behind v at step t ≥ 1."""
        t = check_positive_int(t, "t")
        rho_inf = 2 / (1 - self.beta2) - 1
        return rho_inf - 2 * t * self.beta2**t / (1 - self.beta2**t)

    def rectification(self, t: int) -> float | None:
        """r_t at step t ≥ 1, or None while ρ_t ≤ 5 (then the step is plain momentum)."""
        rho_inf = 2 / (1 - self.beta2) - 1
        rho_t = self.rho(t)
        if rho_t <= RECTIFICATION_THRESHOLD:
            return None
        return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))

    def adaptive_step(self, theta: np.ndarray, m_hat: np.ndarray, v: np.ndarray, t: int) -> np.ndarray:
        """θ ← θ − η m̂ r_t √(1 − β₂ᵗ) / (√v + ε) once ρ_t > 5, else θ ← θ − η m̂: the lines that differ from Adam."""
        r = self.rectification(t)
        if r is None:
            return theta - self.lr * m_hat
        return theta - self.lr * m_hat * r * math.sqrt(1 - self.beta2**t) / (np.sqrt(v) + self.eps)
