"""Muon: momentum orthogonalised by Newton–Schulz, for weight matrices, as in ``torch.optim.Muon``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import as_float_array, check_number, check_positive
from lessons_lib.optim.base import Rule

QUINTIC = (3.4445, -4.7750, 2.0315)  # Keller Jordan's coefficients, torch's default


def newton_schulz(G: np.ndarray, steps: int = 5, eps: float = 1e-7, coefficients: tuple = QUINTIC) -> np.ndarray:
    r"""G = U S Vᵀ with its singular values pushed towards 1 (U S' Vᵀ), as torch's Muon computes it::

        X = Gᵀ if G has more rows than columns, else G      (transposed back at the end)
        X ← X / max(‖X‖_F, ε)                (ε a floor: every singular value is now ≤ 1)
        repeat ``steps`` times:  A = X Xᵀ,  X ← a X + (b A + c A²) X

    Each step maps each singular value σ to aσ + bσ³ + cσ⁵: the default
    quintic lands them in 5 steps in a band around 1 (about 0.7 to 1.2);
    the classical cubic (1.5, −0.5, 0) converges to U Vᵀ. float64 (torch: bfloat16).
    """
    G = as_float_array(G, "G")
    if G.ndim != 2:
        raise ValueError(f"G must be a matrix (2-D), got shape {G.shape}")
    a, b, c = _check_newton_schulz(steps, eps, coefficients)
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if G.shape[0] > G.shape[1] else X


def _check_newton_schulz(steps: object, eps: object, coefficients: object) -> tuple[float, ...]:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps < 100:
        raise ValueError(f"ns_steps (steps) must be a whole number from 0 to 99 (torch's limit), got {steps!r}")
    check_positive(eps, "eps")
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
        raise ValueError(f"ns_coefficients (coefficients) must be three numbers (a, b, c), got {coefficients!r}")
    return tuple(check_number("ns_coefficients (coefficients)", k) for k in coefficients)


@dataclass(frozen=True)
class MuonState:
    """What Muon remembers: the momentum buffer B (starts at 0)."""

    B: np.ndarray


@dataclass(frozen=True)
class Muon(Rule):
    r"""Muon (Keller Jordan 2024), as ``torch.optim.Muon`` (torch 2.13), for a weight matrix θ (m × n).

    Hyperparameters: η ``lr``, λ ``weight_decay`` (decoupled), μ ``momentum``, ``nesterov``,
    NS's (a, b, c) ``ns_coefficients``, ε ``eps`` and ``ns_steps``, and s ``adjust_lr_fn``. One step::

        B ← μ B + (1 − μ) g
        U = (1 − μ) g + μ B   if nesterov,   else U = B
        O = NS(U)                            (``newton_schulz``: every direction of the step about as long)
        θ ← θ (1 − η λ)                      (decoupled, with η itself)
        θ ← θ − η s O,   s = √max(1, m/n) ("original"),  or 0.2 √max(m, n) ("match_rms_adamw")

    State: B (0 at first). Matrices only, m counting outputs (nn.Linear holds (out, in)):
    ``MuonWithAdamW`` gives AdamW the rest. torch's NS is bfloat16 (the fixtures swap that
    cast for a copy: bfloat16 moves θ ~1 % of its path, ``bfloat16_difference``); its docstring
    writes B ← μ B + g and an L2 penalty. Keller Jordan adds ε to ‖U‖ (η = 0.02, λ = 0);
    optax ``contrib.muon`` and Keras ``Muon`` (3.10+) are the split in one optimizer.
    """

    lr: float = 1e-3
    weight_decay: float = 0.1
    momentum: float = 0.95
    nesterov: bool = True
    ns_coefficients: tuple[float, float, float] = QUINTIC
    eps: float = 1e-7
    ns_steps: int = 5
    adjust_lr_fn: str = "original"
    name: str = "Muon"
    decoupled_weight_decay = True  # not a switch: torch's Muon decays decoupled

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "ns_coefficients", _check_newton_schulz(self.ns_steps, self.eps, self.ns_coefficients))
        if self.adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f'adjust_lr_fn must be "original" or "match_rms_adamw", got {self.adjust_lr_fn!r}')

    def check_theta(self, theta: np.ndarray) -> np.ndarray:
        if theta.ndim != 2:
            raise ValueError(f"Muon takes weight matrices (2-D theta), got theta of shape {theta.shape}: use Muon for "
                             "the weight matrices and AdamW for biases and other vectors (MuonWithAdamW)")
        return theta

    def start(self, theta: np.ndarray) -> MuonState:
        return MuonState(B=np.zeros_like(theta))

    def update(self, theta: np.ndarray, g: np.ndarray, state: MuonState) -> tuple[np.ndarray, MuonState]:
        B = self.momentum * state.B + (1 - self.momentum) * g
        U = (1 - self.momentum) * g + self.momentum * B if self.nesterov else B
        O = newton_schulz(U, self.ns_steps, self.eps, self.ns_coefficients)
        theta, _ = self.decay(theta, g)
        m, n = theta.shape
        s = math.sqrt(max(1, m / n)) if self.adjust_lr_fn == "original" else 0.2 * math.sqrt(max(m, n))
        return theta - self.lr * s * O, MuonState(B=B)
