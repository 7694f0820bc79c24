"""Adafactor: a matrix's second moment kept as one number per row and per column, as ``torch.optim.Adafactor``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import check_number, check_step_count
from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class AdafactorState:
    """What Adafactor remembers: the step count t (0 at first) and, starting at 0, a matrix's
    row and column statistics R (m × 1) and C (1 × n), or a vector's second moment v (the rest None)."""

    t: int
    R: np.ndarray | None = None
    C: np.ndarray | None = None
    v: np.ndarray | None = None


@dataclass(frozen=True)
class Adafactor(Rule):
    r"""Adafactor (Shazeer & Stern 2018), as in ``torch.optim.Adafactor`` (torch 2.13).

    Hyperparameters: η ``lr`` (the cap of ρ), τ ``beta2_decay``, ε₁ ``eps1`` (torch's None: the
    machine ε of float64), ε₂ ``eps2``, d ``d``, λ ``weight_decay``. One step, θ a matrix (m × n) or a vector::

        t ← t + 1
        β̂ = 1 − t^τ                          (0 at t = 1: the first average is g² itself)
        ρ = min(η, 1/√t)
        α = max(ε₂, RMS(θ)) ρ                (a step relative to θ's size; RMS(θ) = ‖θ‖ / √size)
        θ ← θ (1 − η λ)                      (decoupled, with η)
        matrix:  R ← β̂ R + (1 − β̂) mean_j g²      (row means, m × 1)
                 C ← β̂ C + (1 − β̂) mean_i g²      (column means, 1 × n)
                 V̂ = R C / max(mean(R), ε₁)       (V̂_ij = R_i C_j / mean R: rank one)
        vector:  v ← β̂ v + (1 − β̂) g²,   V̂ = v
        U = g / max(√V̂, ε₁)
        θ ← θ − α U / max(1, RMS(U) / d)     (update clipping)

    State: t, and R, C (m + n numbers) or v; more axes are factored over the last two. On
    the flat θ: ``PerMatrix(weight_matrices(model.layer_slices()), Adafactor(), Adafactor())``,
    each W and b its own Adafactor, as in torch. torch's docstring writes sums (the code:
    means), weight_decay 1e-2 (the code: 0) and ε₁ "added" (a floor). The paper (ρ =
    min(1e-2, 1/√t), no η), Keras ``Adafactor`` (η = 1e-3) and optax ``adafactor`` (which
    factors only dimensions ≥ 128) add ε₁ = 1e-30 to g².
    """

    lr: float = 1e-2
    beta2_decay: float = -0.8
    eps1: float = float(np.finfo(np.float64).eps)
    eps2: float = 1e-3
    d: float = 1.0
    weight_decay: float = 0.0
    name: str = "Adafactor"
    decoupled_weight_decay = True  # not a switch: torch's Adafactor decays decoupled

    def __post_init__(self) -> None:
        super().__post_init__()
        for field, ok, allowed in (("beta2_decay", lambda x: x <= 0, "<= 0"), ("d", lambda x: x >= 1, ">= 1")):
            object.__setattr__(self, field, check_number(field, getattr(self, field)))
            if not ok(getattr(self, field)):
                raise ValueError(f"{field} must be {allowed} (as in torch), got {getattr(self, field)}")

    def start(self, theta: np.ndarray) -> AdafactorState:
        if theta.ndim < 2:
            return AdafactorState(t=0, v=np.zeros_like(theta))
        return AdafactorState(t=0, R=np.zeros(theta.shape[:-1] + (1,)), C=np.zeros(theta.shape[:-2] + (1, theta.shape[-1])))

    def check_state(self, state: AdafactorState, theta: np.ndarray) -> AdafactorState:
        """``state``, if it is an Adafactor state for θ's shape: R and C, or v, finite and >= 0."""
        if type(state) is not AdafactorState:
            raise ValueError(f"state must be an AdafactorState (from this rule's init), got {type(state).__name__}")
        check_step_count(state.t)
        for field, want in vars(self.start(theta)).items():
            got = getattr(state, field)
            if field != "t" and not (got is want is None or want is not None and isinstance(got, (np.ndarray, np.floating))
                                     and got.shape == want.shape and got.dtype == np.float64 and np.all((got >= 0) & (got < math.inf))):
                raise ValueError(f"state.{field} must be {'None' if want is None else f'a float64 array of shape {want.shape}'}"
                                 f", finite and >= 0, for theta of shape {theta.shape}: make it with init(theta)")
        return state

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdafactorState) -> tuple[np.ndarray, AdafactorState]:
        t = state.t + 1
        beta = 1 - t**self.beta2_decay
        rho = min(self.lr, 1 / math.sqrt(t))
        alpha = max(self.eps2, np.sqrt(np.mean(theta**2))) * rho
        theta, _ = self.decay(theta, g)
        R = C = v = None
        if state.v is None:  # a matrix
            R = beta * state.R + (1 - beta) * np.mean(g**2, axis=-1, keepdims=True)
            C = beta * state.C + (1 - beta) * np.mean(g**2, axis=-2, keepdims=True)
            V_hat = R @ C / np.maximum(np.mean(R, axis=-2, keepdims=True), self.eps1)
        else:
            V_hat = v = beta * state.v + (1 - beta) * g**2
        U = g / np.maximum(np.sqrt(V_hat), self.eps1)
        theta = theta - alpha * U / max(1, np.sqrt(np.mean(U**2)) / self.d)
        return theta, AdafactorState(t=t, R=R, C=C, v=v)

