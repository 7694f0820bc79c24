"""NAdam: Adam with a Nesterov look-ahead in the first moment, as in ``torch.optim.NAdam``."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lessons_lib.checks import (
    check_beta,
    check_flag,
    check_learning_rate,
    check_non_negative,
    check_number,
    check_positive,
    check_state_arrays,
    check_step_count,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class NAdamState:
    """What NAdam remembers: the step count t (0 before the first step), the
    moments m and v (both start at 0), and the number mu_product = μ₁ μ₂ … μ_t
    (1 before the first step; one number for all parameters, not an array)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    mu_product: float


@dataclass(frozen=True)
class NAdam:
    r"""NAdam (Dozat 2016), as in ``torch.optim.NAdam``.

    Hyperparameters: learning rate η (``lr``, PyTorch's default 2e-3), β₁
    (``beta1``), β₂ (``beta2``), ε (``eps``), the momentum decay ψ
    (``momentum_decay``, 0.004), the coefficient λ (``weight_decay``) and
    ``decoupled_weight_decay`` (False: λθ is added to g, L2; True: the
    weights shrink by (1 − ηλ) first, as in AdamW -- PyTorch's NAdamW).

    One step::

        t ← t + 1
        g ← g + λ θ                         (L2, only if λ > 0 and not decoupled)
        θ ← θ (1 − η λ)                     (only if λ > 0 and decoupled)
        μ_t = β₁ (1 − ½ · 0.96^(t ψ)),   μ_{t+1} = β₁ (1 − ½ · 0.96^((t+1) ψ))
        Π_t = μ₁ μ₂ … μ_t                   (the state's mu_product)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t)   ← the line that differs from Adam
        v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)

    State: t, m, v, and the number Π_t.

    The line that differs from Adam is m̂. Adam uses m / (1 − β₁ᵗ), the
    average *including* this gradient; NAdam looks one step ahead, as
    Nesterov momentum does: the next step's share μ_{t+1} of the average
    plus this gradient's own share (1 − μ_t), each bias-corrected. With a
    constant μ_t = β₁ (so Π_t = β₁ᵗ) this is optax's form, below.

    The μ_t schedule warms the momentum up: with ψ = 0.004, μ_t starts near
    β₁/2 = 0.45 and approaches β₁ only over tens of thousands of steps
    (μ_t ≈ 0.81 at t = 10⁴: 0.96^(tψ) must get small). ψ = 0 keeps
    μ_t = β₁/2 for ever.

    Other frameworks: Keras 3 ``Nadam`` (keras/src/optimizers/nadam.py) has
    the same m̂ with μ_t = β₁ (1 − ½ · 0.96ᵗ), that is ψ = 1, so its momentum
    warms up within ~100 steps; its defaults are η = 1e-3, ε = 1e-7 (added to
    √v̂, as here). optax ``nadam`` (``scale_by_adam(nesterov=True)``) has no
    μ schedule: m̂ = β₁ m / (1 − β₁^(t+1)) + (1 − β₁) g / (1 − β₁ᵗ).
    """

    lr: float = 2e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum_decay: float = 4e-3
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    name: str = "NAdam"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "beta1", check_beta)
        set_checked(self, "beta2", check_beta)
        set_checked(self, "eps", check_positive)
        set_checked(self, "momentum_decay", check_non_negative)
        set_checked(self, "weight_decay", check_non_negative)
        set_checked(self, "decoupled_weight_decay", check_flag)
        if self.decoupled_weight_decay and self.lr * self.weight_decay >= 1:
            raise ValueError(
                f"lr * weight_decay must be < 1 with decoupled_weight_decay, got {self.lr} * {self.weight_decay}; "
                "the decay factor 1 - lr * weight_decay would not be positive"
            )

    def init(self, theta: np.ndarray) -> NAdamState:
        """The state before the first step: t = 0, zero moments, Π₀ = 1."""
        theta, _ = check_step_inputs(theta, theta)
        return NAdamState(t=0, m=np.zeros_like(theta), v=np.zeros_like(theta), mu_product=1.0)

    def step(self, theta: np.ndarray, grad: np.ndarray, state: NAdamState) -> tuple[np.ndarray, NAdamState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        if not isinstance(state, NAdamState):
            raise ValueError(f"state must be a NAdamState (from this rule's init), got {type(state).__name__}")
        # mu_product is a number, not an array: check the arrays without it, then the number.
        check_state_arrays(replace(state, mu_product=None), theta.shape, NAdamState, ("m", "v"), non_negative=("v",))
        check_step_count(state.t)
        mu_product = check_number("state.mu_product", state.mu_product)
        if not 0 <= mu_product <= 1:
            raise ValueError(f"state.mu_product must be in [0, 1] (a product of momenta μ < 1), got {mu_product}")
        return self.update(theta, grad, replace(state, mu_product=mu_product))

    def momentum_at(self, t: int) -> float:
        """μ_t = β₁ (1 − ½ · 0.96^(t ψ)), the momentum of step t (a whole number >= 0)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be a whole number >= 0, got {t!r}")
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (int(t) * self.momentum_decay))

    def update(self, theta: np.ndarray, g: np.ndarray, state: NAdamState) -> tuple[np.ndarray, NAdamState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        t = state.t + 1
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                theta = theta * (1 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * theta
        mu = self.momentum_at(t)
        mu_next = self.momentum_at(t + 1)
        mu_product = state.mu_product * mu
        m = self.beta1 * state.m + (1 - self.beta1) * g
        v = self.beta2 * state.v + (1 - self.beta2) * g**2
        m_hat = mu_next * m / (1 - mu_product * mu_next) + (1 - mu) * g / (1 - mu_product)
        v_hat = v / (1 - self.beta2**t)
        theta = theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return theta, NAdamState(t=t, m=m, v=v, mu_product=mu_product)
