"""AdaBelief: Adam with the average of g² replaced by the average of (g − m)², as in adabelief-pytorch."""

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
    check_step_count,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class AdaBeliefState:
    """What AdaBelief remembers: the step count t (0 before the first step),
    the first moment m and s, the average of (g − m)² plus ε (both start at
    0), and with AMSGrad the largest s seen so far, s_max (else None)."""

    t: int
    m: np.ndarray
    s: np.ndarray
    s_max: np.ndarray | None = None


@dataclass(frozen=True)
class AdaBelief:
    r"""AdaBelief (Zhuang et al. 2020), as in the authors' ``adabelief-pytorch``.

    Hyperparameters: learning rate η (``lr``), β₁ (``beta1``), β₂
    (``beta2``), ε (``eps``, 1e-16 as in adabelief-pytorch), the coefficient
    λ (``weight_decay``), ``decoupled_weight_decay`` (True as in
    adabelief-pytorch's ``weight_decouple``: the weights shrink by (1 − ηλ)
    first, as in AdamW; False: L2, λθ added to g) and ``amsgrad``.

    One step (the paper's algorithm, with adabelief-pytorch's weight decay)::

        t ← t + 1
        θ ← θ (1 − η λ)                     (only if λ > 0 and decoupled)
        g ← g + λ θ                         (L2, only if λ > 0 and not decoupled)
        m ← β₁ m + (1 − β₁) g
        s ← β₂ s + (1 − β₂) (g − m)² + ε     ← the line that differs from Adam
        s_max ← max(s_max, s)               (AMSGrad only; then s_max replaces s below)
        m̂ = m / (1 − β₁ᵗ),   ŝ = s / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√ŝ + ε)

    State: t, m, s (and s_max), all starting at 0.

    The line that differs from Adam is s: Adam averages g², the size of the
    gradient; AdaBelief averages (g − m)², how far the gradient is from
    what the average m predicted ("belief"). Where the gradients agree with
    their average, s is small and the step is large; where they jump
    around, the step is small. ε appears twice: added to s at every step
    (so s ≥ ε, and it accumulates to about ε / (1 − β₂)) and added to √ŝ.

    adabelief-pytorch 0.2.1 defaults to ``rectify=True``, RAdam's
    rectification on top (see ``RAdam``; it switches at ρ_t ≥ 5 and puts ε
    differently in the rectified step); this class is the paper's algorithm,
    that package with ``rectify=False``. Its ``fixed_decay`` option (decay
    θ ← θ (1 − λ), without η) is not offered here.

    optax ``adabelief`` computes the same s with the ε added to s named
    ``eps_root`` (defaults ε = ε_root = 1e-16); it has no weight decay of its
    own. Older optax versions used the previous average, g − m_{t−1},
    instead of g − m_t.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-16
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = True
    amsgrad: bool = False
    name: str = "AdaBelief"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "weight_decay", check_non_negative)
        set_checked(self, "decoupled_weight_decay", check_flag)
        set_checked(self, "amsgrad", check_flag)
        if self.decoupled_weight_decay and self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1 with decoupled_weight_decay, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def init(self, theta: np.ndarray) -> AdaBeliefState:
        """The state before the first step: t = 0 and zero averages."""
        theta, _ = check_step_inputs(theta, theta)
        return AdaBeliefState(
            t=0, m=np.zeros_like(theta), s=np.zeros_like(theta), s_max=np.zeros_like(theta) if self.amsgrad else None
        )

    def step(self, theta: np.ndarray, grad: np.ndarray, state: AdaBeliefState) -> tuple[np.ndarray, AdaBeliefState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        required = ("m", "s", "s_max") if self.amsgrad else ("m", "s")
        check_state_arrays(state, theta.shape, AdaBeliefState, required, non_negative=("s", "s_max"))
        check_step_count(state.t)
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdaBeliefState) -> tuple[np.ndarray, AdaBeliefState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        t = state.t + 1
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                theta = theta * (1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * theta
        m = self.beta1 * state.m + (1 - self.beta1) * g
        s = self.beta2 * state.s + (1 - self.beta2) * (g - m) ** 2 + self.eps
        s_max = np.maximum(state.s_max, s) if self.amsgrad else None
        s_used = s_max if self.amsgrad else s
        m_hat = m / (1 - self.beta1**t)
        s_hat = s_used / (1 - self.beta2**t)
        theta = theta - self.lr * m_hat / (np.sqrt(s_hat) + self.eps)
        return theta, AdaBeliefState(t=t, m=m, s=s, s_max=s_max)
