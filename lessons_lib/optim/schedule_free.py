"""Schedule-Free AdamW: no schedule; evaluate at an average x of the iterates, as ``schedulefree`` does."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import check_number, check_step_inputs
from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class ScheduleFreeState:
    """What Schedule-Free AdamW remembers: the step count t (0 at first), z and x (both start at θ₀),
    the second moment v (0), the largest η_t so far lr_max (−1) and the sum of the weights weight_sum (0)."""

    t: int
    z: np.ndarray
    x: np.ndarray
    v: np.ndarray
    lr_max: float = -1.0
    weight_sum: float = 0.0


@dataclass(frozen=True)
class AdamWScheduleFree(Rule):
    r"""Schedule-Free AdamW (Defazio et al. 2024), as ``schedulefree.AdamWScheduleFree`` 1.4.1.

    Hyperparameters: η ``lr``, β₁ ``beta1``, β₂ ``beta2``, ε ``eps``, λ ``weight_decay``, W
    ``warmup_steps``, r ``r`` and p ``weight_lr_power`` (the weights' exponents), ``decay_at_z``.

    The gradient is taken at y = θ (what the training loop holds), z takes
    plain normalised steps, x averages the z's and is the point to evaluate
    (``evaluation_point``), not θ. One step::

        t ← t + 1
        η_t = η min(1, t / W)                (linear warm-up; η when W = 0)
        lr_max ← max(lr_max, η_t)
        w_t = t^r lr_max^p,   weight_sum ← weight_sum + w_t,   c_t = w_t / weight_sum
        v ← β₂ v + (1 − β₂) g²
        u = g / (√(v / (1 − β₂ᵗ)) + ε) + λ θ     (decay at y = θ, or at z if decay_at_z)
        z ← z − η_t u
        x ← (1 − c_t) x + c_t z              (c_t = 1/t if all w_t are equal: the plain mean)
        θ ← (1 − β₁) z + β₁ x

    State: t, z, x, v, lr_max, weight_sum; no schedule: the average x moves as a decaying one
    would. schedulefree keeps y and z only (``eval()`` puts x = (y − (1 − β₁) z)/β₁ in the
    model); its docstring calls λ an L2 penalty (it joins after the normalisation, as in
    AdamW) and the weights lr^p (the code: the running max). ``AdamWScheduleFreeReference``
    (``decay_at_z``) is the same rule; optax ``contrib.schedule_free_adamw`` is the same paper.
    """

    lr: float = 0.0025
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 0
    r: float = 0.0
    weight_lr_power: float = 2.0
    decay_at_z: bool = False
    name: str = "Schedule-Free AdamW"
    non_negative = ("v",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, (int, np.integer)) or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a whole number >= 0, got {self.warmup_steps!r}")

    def start(self, theta: np.ndarray) -> ScheduleFreeState:
        return ScheduleFreeState(t=0, z=theta.copy(), x=theta.copy(), v=np.zeros_like(theta))

    def check_state(self, state: ScheduleFreeState, theta: np.ndarray) -> ScheduleFreeState:
        state = super().check_state(state, theta)
        if check_number("state.weight_sum", state.weight_sum) < 0 or check_number("state.lr_max", state.lr_max) < -1:
            raise ValueError("state.weight_sum must be >= 0 and state.lr_max >= -1 (as made by init and step)")
        return state

    def evaluation_point(self, theta: np.ndarray, state: ScheduleFreeState) -> np.ndarray:
        """x, the parameters to evaluate (what schedulefree's ``optimizer.eval()`` puts in the model)."""
        return self.check_state(state, check_step_inputs(theta, theta)[0]).x.copy()

    def update(self, theta: np.ndarray, g: np.ndarray, state: ScheduleFreeState) -> tuple[np.ndarray, ScheduleFreeState]:
        t = state.t + 1
        lr = self.lr * min(1.0, t / self.warmup_steps) if self.warmup_steps else self.lr
        lr_max = max(state.lr_max, lr)
        w = t**self.r * lr_max**self.weight_lr_power
        weight_sum = state.weight_sum + w
        c = w / weight_sum if weight_sum else 0.0
        v = self.beta2 * state.v + (1 - self.beta2) * g**2
        u = g / (np.sqrt(v / (1 - self.beta2**t)) + self.eps) + self.weight_decay * (state.z if self.decay_at_z else theta)
        z = state.z - lr * u
        x = (1 - c) * state.x + c * z
        theta = (1 - self.beta1) * z + self.beta1 * x
        return theta, ScheduleFreeState(t=t, z=z, x=x, v=v, lr_max=lr_max, weight_sum=weight_sum)
