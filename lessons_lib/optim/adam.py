"""Adam and AdamW: momentum's average of g, RMSprop's average of g², bias-corrected."""

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
class AdamState:
    """What Adam remembers: the step count t (0 before the first step), the
    first moment m and second moment v (both start at 0), and with AMSGrad
    the largest v seen so far, v_max (else None)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray | None = None


@dataclass(frozen=True)
class Adam:
    r"""Adam, as in ``torch.optim.Adam``.

    Hyperparameters: learning rate η (``lr``), β₁ (``beta1``), β₂
    (``beta2``), ε (``eps``), L2 coefficient λ (``weight_decay``),
    ``amsgrad``, and ``bias_correction`` (a teaching switch; PyTorch always
    corrects).

    One step::

        t ← t + 1                            (before use: the first step has t = 1)
        g ← g + λ θ                          (L2 term, only if λ > 0)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        v_max ← max(v_max, v)                (AMSGrad only; then v_max replaces v below)
        m̂ ← m / (1 − β₁ᵗ),   v̂ ← v / (1 − β₂ᵗ)     (m̂ = m, v̂ = v without bias correction)
        θ ← θ − η m̂ / (√v̂ + ε)

    State: t, m, v (and v_max), all starting at 0.

    ε sits outside the root and after the bias correction. Keras ``Adam``
    puts it before the correction (its "ε̂" form,
    ``θ ← θ − η √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)``) and defaults to
    ε = 1e-7; optax ``adam`` agrees with PyTorch (ε = 1e-8, outside the root,
    plus an optional ``eps_root`` inside it, 0 by default).

    ``weight_decay`` here is L2 regularisation: λθ is added to the gradient,
    so it passes through m and is divided by √v̂. For decay that skips the
    adaptive scaling, use ``AdamW``.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    bias_correction: bool = True
    name: str = "Adam"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "weight_decay", check_non_negative)
        set_checked(self, "amsgrad", check_flag)
        set_checked(self, "bias_correction", check_flag)

    def init(self, theta: np.ndarray) -> AdamState:
        """The state before the first step: t = 0 and zero moments."""
        theta, _ = check_step_inputs(theta, theta)
        return AdamState(
            t=0, m=np.zeros_like(theta), v=np.zeros_like(theta), v_max=np.zeros_like(theta) if self.amsgrad else None
        )

    def step(self, theta: np.ndarray, grad: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        required = ("m", "v", "v_max") if self.amsgrad else ("m", "v")
        check_state_arrays(state, theta.shape, AdamState, required, non_negative=("v", "v_max"))
        check_step_count(state.t)
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta  # L2: the decay passes through m and √v̂
        return self._adaptive_update(theta, g, state)

    def _adaptive_update(self, theta: np.ndarray, g: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        """θ ← θ − η m̂ / (√v̂ + ε), shared by Adam and AdamW."""
        t = state.t + 1
        m = self.beta1 * state.m + (1 - self.beta1) * g
        v = self.beta2 * state.v + (1 - self.beta2) * g**2
        v_max = np.maximum(state.v_max, v) if self.amsgrad else None
        v_used = v_max if self.amsgrad else v
        if self.bias_correction:
            m_hat = m / (1 - self.beta1**t)
            v_hat = v_used / (1 - self.beta2**t)
        else:
            m_hat = m
            v_hat = v_used
        theta = theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return theta, AdamState(t=t, m=m, v=v, v_max=v_max)


@dataclass(frozen=True)
class AdamW(Adam):
    r"""AdamW (decoupled weight decay), as in ``torch.optim.AdamW``.

    Same hyperparameters as ``Adam``, but ``weight_decay`` (λ, PyTorch's
    default 0.01) is applied to the parameters directly, before and outside
    the adaptive step::

        θ ← θ (1 − η λ)                      (decoupled decay)
        then Adam's step with the plain gradient g (no λθ added to g)

    Every weight shrinks by the same factor, whatever its gradient history.
    Keras applies ``weight_decay`` this decoupled way on every optimizer;
    optax ``adamw`` does too, but adds λθ to the update before multiplying
    by η, which is the same thing.
    """

    weight_decay: float = 1e-2
    name: str = "AdamW"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        theta = theta * (1 - self.lr * self.weight_decay)  # decoupled: outside m and √v̂
        return self._adaptive_update(theta, g, state)
