"""NAdam: Adam with a Nesterov look-ahead in the first moment, as in ``torch.optim.NAdam``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lessons_lib.checks import check_number
from lessons_lib.optim.adam import Adam, AdamState


@dataclass(frozen=True)
class NAdamState(AdamState):
    """What NAdam remembers: Adam's t, m and v (v_max stays None), and the
    number mu_product = μ₁ μ₂ … μ_t (1 before the first step; one number for
    all parameters, not an array)."""

    mu_product: float = 1.0


@dataclass(frozen=True)
class NAdam(Adam):
    r"""NAdam (Dozat 2016), as in ``torch.optim.NAdam``: Adam with a look-ahead m̂.

    Hyperparameters: Adam's (without ``amsgrad`` and ``bias_correction``),
    with PyTorch's default η = 2e-3, and the momentum decay ψ
    (``momentum_decay``, 0.004). ``decoupled_weight_decay=True`` is
    PyTorch's NAdamW.

    One step::

        t ← t + 1
        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
        μ_t = β₁ (1 − ½ · 0.96^(t ψ)),   μ_{t+1} = β₁ (1 − ½ · 0.96^((t+1) ψ))
        Π_t = μ₁ μ₂ … μ_t                   (the state's mu_product)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t)   ← the line that differs from Adam
        v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)

    State: t, m, v, and the number Π_t.

    The line that differs from Adam is m̂ (``m_hat``). Adam uses m / (1 − β₁ᵗ),
    the average *including* this gradient; NAdam looks one step ahead, as
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
    amsgrad: bool = field(default=False, init=False, repr=False)
    bias_correction: bool = field(default=True, init=False, repr=False)
    name: str = "NAdam"
    momentum_decay: float = 4e-3
    State = NAdamState
    DELTA = {"t ← t + 1": ("t ← t + 1", "μ_t = β₁ (1 − ½ · 0.96^(tψ)),  Π_t = μ₁ μ₂ … μ_t"),
             "m̂ ← m / (1 − β₁ᵗ)": ("m̂ ← μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t)",)}

    def momentum_at(self, t: int) -> float:
        """μ_t = β₁ (1 − ½ · 0.96^(t ψ)), the momentum of step t (a whole number >= 0)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be a whole number >= 0, got {t!r}")
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (int(t) * self.momentum_decay))

    def check_state(self, state: NAdamState, theta: np.ndarray) -> NAdamState:
        """Adam's checks, and Π_t, a number in [0, 1]."""
        state = super().check_state(state, theta)
        mu_product = check_number("state.mu_product", state.mu_product)
        if not 0 <= mu_product <= 1:
            raise ValueError(f"state.mu_product must be in [0, 1] (a product of momenta μ < 1), got {mu_product}")
        return replace(state, mu_product=mu_product)

    def update(self, theta: np.ndarray, g: np.ndarray, state: NAdamState) -> tuple[np.ndarray, NAdamState]:
        """Adam's step with NAdam's m̂; the new state also keeps Π_t = Π_{t−1} μ_t."""
        theta, new = super().update(theta, g, state)
        mu_product = state.mu_product * self.momentum_at(new.t)
        return theta, NAdamState(t=new.t, m=new.m, v=new.v, mu_product=mu_product)

    def m_hat(self, m: np.ndarray, g: np.ndarray, t: int, state: NAdamState) -> np.ndarray:
        """m̂ = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t): the line that differs from Adam."""
        mu, mu_next = self.momentum_at(t), self.momentum_at(t + 1)
        mu_product = state.mu_product * mu  # Π_t
        return mu_next * m / (1 - mu_product * mu_next) + (1 - mu) * g / (1 - mu_product)
