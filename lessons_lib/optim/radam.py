"""RAdam: Adam whose adaptive step is switched on gradually, as in ``torch.optim.RAdam``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_flag,
    check_learning_rate,
    check_non_negative,
    check_positive,
    check_positive_int,
    check_state_arrays,
    check_step_count,
    check_step_inputs,
    set_checked,
)

RECTIFICATION_THRESHOLD = 5.0  # PyTorch rectifies when ρ_t > 5


@dataclass(frozen=True)
class RAdamState:
    """What RAdam remembers: the step count t (0 before the first step) and
    the moments m and v (both start at 0) -- the same as Adam."""

    t: int
    m: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class RAdam:
    r"""RAdam, rectified Adam (Liu et al. 2020), as in ``torch.optim.RAdam``.

    Hyperparameters: learning rate η (``lr``), β₁ (``beta1``), β₂
    (``beta2``), ε (``eps``), the coefficient λ (``weight_decay``) and
    ``decoupled_weight_decay`` (False: L2, λθ added to g; True: the weights
    shrink by (1 − ηλ) first, as in AdamW -- PyTorch's RAdamW).

    One step::

        t ← t + 1
        g ← g + λ θ                         (L2, only if λ > 0 and not decoupled)
        θ ← θ (1 − η λ)                     (only if λ > 0 and decoupled)
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

    What differs from Adam is the last step. ρ_t estimates how many
    gradients the average v really holds; while it is small (ρ_t ≤ 5: with
    β₂ = 0.999 the first 5 steps) the variance of the adaptive step size
    √(1 − β₂ᵗ)/√v is too large to trust, so RAdam takes a plain momentum
    step instead. Afterwards r_t ∈ (0, 1) scales the adaptive step down and
    rises to 1: a built-in warm-up.

    ε sits where PyTorch puts it: added to √v *before* the bias correction
    √(1 − β₂ᵗ) (the same as Adam with ε/√(1 − β₂ᵗ) in place of ε). optax
    ``radam`` instead uses r_t m̂ / (√(v̂ + ε_root) + ε), switches at
    ρ_t ≥ threshold (default 5) rather than > 5, and has no weight decay of
    its own. The authors' code (github LiyuanLucasLiu/RAdam) also switches
    at ρ_t ≥ 5 and, by default (``degenerated_to_sgd=False``), does not move
    the parameters at all before that.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    name: str = "RAdam"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "weight_decay", check_non_negative)
        set_checked(self, "decoupled_weight_decay", check_flag)
        if self.decoupled_weight_decay and self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1 with decoupled_weight_decay, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def init(self, theta: np.ndarray) -> RAdamState:
        """The state before the first step: t = 0 and zero moments."""
        theta, _ = check_step_inputs(theta, theta)
        return RAdamState(t=0, m=np.zeros_like(theta), v=np.zeros_like(theta))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: RAdamState) -> tuple[np.ndarray, RAdamState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, RAdamState, ("m", "v"), non_negative=("v",))
        check_step_count(state.t)
        return self.update(theta, grad, state)

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

    def update(self, theta: np.ndarray, g: np.ndarray, state: RAdamState) -> tuple[np.ndarray, RAdamState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        t = state.t + 1
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                theta = theta * (1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * theta
        m = self.beta1 * state.m + (1 - self.beta1) * g
        v = self.beta2 * state.v + (1 - self.beta2) * g**2
        m_hat = m / (1 - self.beta1**t)
        r = self.rectification(t)
        if r is not None:
            theta = theta - self.lr * m_hat * r * math.sqrt(1 - self.beta2**t) / (np.sqrt(v) + self.eps)
        else:
            theta = theta - self.lr * m_hat
        return theta, RAdamState(t=t, m=m, v=v)
