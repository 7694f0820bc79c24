"""Adamax: Adam with the average of g² replaced by a decaying maximum of |g|, as in ``torch.optim.Adamax``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_learning_rate,
    check_non_negative,
    check_positive,
    check_state_arrays,
    check_step_count,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class AdamaxState:
    """What Adamax remembers: the step count t (0 before the first step), the
    first moment m and u, the exponentially weighted infinity norm (a decaying
    maximum of |g|); both start at 0."""

    t: int
    m: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class Adamax:
    r"""Adamax (Kingma & Ba 2015, section 7), as in ``torch.optim.Adamax``.

    Hyperparameters: learning rate η (``lr``, PyTorch's default 2e-3), β₁
    (``beta1``), β₂ (``beta2``), ε (``eps``), L2 coefficient λ
    (``weight_decay``).

    One step::

        t ← t + 1
        g ← g + λ θ                          (L2, only if λ > 0)
        m ← β₁ m + (1 − β₁) g
        u ← max(β₂ u, |g| + ε)               ← the line that differs from Adam
        θ ← θ − η / (1 − β₁ᵗ) · m / u

    State: t, m, u.

    The line that differs from Adam is u: instead of an average of g² (and
    its square root), a maximum of |g| whose memory fades by β₂ each step.
    It needs no bias correction -- a maximum is not pulled towards its zero
    start -- and no root; ε goes *inside* the maximum, so u ≥ ε > 0. On the
    first step m / (1 − β₁) = g and u = |g| + ε, so every coordinate moves by
    η |g| / (|g| + ε): almost exactly η, whatever the size of g.

    Other frameworks: optax ``adamax`` does the same (u ← max(|g| + ε, β₂ u),
    m̂ / u). Keras ``Adamax`` adds ε *outside* the maximum,
    u ← max(β₂ u, |g|), θ ← θ − η m̂ / (u + ε), with ε = 1e-7, η = 1e-3.
    """

    lr: float = 2e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    name: str = "Adamax"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "weight_decay", check_non_negative)

    def init(self, theta: np.ndarray) -> AdamaxState:
        """The state before the first step: t = 0, m = 0 and u = 0."""
        theta, _ = check_step_inputs(theta, theta)
        return AdamaxState(t=0, m=np.zeros_like(theta), u=np.zeros_like(theta))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: AdamaxState) -> tuple[np.ndarray, AdamaxState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, AdamaxState, ("m", "u"), non_negative=("u",))
        check_step_count(state.t)
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamaxState) -> tuple[np.ndarray, AdamaxState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        t = state.t + 1
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        m = self.beta1 * state.m + (1 - self.beta1) * g
        u = np.maximum(self.beta2 * state.u, np.abs(g) + self.eps)
        theta = theta - self.lr / (1 - self.beta1**t) * m / u
        return theta, AdamaxState(t=t, m=m, u=u)
