"""Adam, and the two rules that are Adam with other defaults: AdamW and AMSGrad."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.optim.base import Rule


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
class Adam(Rule):
    r"""Adam, as in ``torch.optim.Adam``.

    Hyperparameters: learning rate η (``lr``), β₁ (``beta1``), β₂
    (``beta2``), ε (``eps``), weight decay λ (``weight_decay``) and its kind
    (``decoupled_weight_decay``: False, L2 as PyTorch's ``Adam``; True is
    ``AdamW``), ``amsgrad``, and ``bias_correction`` (a teaching switch;
    PyTorch always corrects).

    One step::

        t ← t + 1                            (before use: the first step has t = 1)
        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
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

    With L2 the decay λθ passes through m and is divided by √v̂; decoupled,
    it skips the adaptive scaling (lesson 07).

    Adam's variants subclass it and change a line: ``second_moment`` (the v
    line), ``m_hat`` or ``adaptive_step`` (v̂ and the step); their ``DELTA``
    writes the change against ``LINES`` for lesson 09's table.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    amsgrad: bool = False
    bias_correction: bool = True
    name: str = "Adam"
    State = AdamState
    non_negative = ("v", "v_max")
    #: Adam's step, one line per row, in the course's notation (lessons 05 and 06).
    LINES = ("t ← t + 1", "m ← β₁ m + (1 − β₁) g", "v ← β₂ v + (1 − β₂) g²", "m̂ ← m / (1 − β₁ᵗ)",
             "v̂ ← v / (1 − β₂ᵗ)", "θ ← θ − η m̂ / (√v̂ + ε)")

    def start(self, theta: np.ndarray) -> AdamState:
        """t = 0 and zero moments."""
        v_max = np.zeros_like(theta) if self.amsgrad else None
        return self.State(t=0, m=np.zeros_like(theta), v=np.zeros_like(theta), v_max=v_max)

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
        theta, g = self.decay(theta, g)  # L2 or decoupled
        t = state.t + 1
        m = self.beta1 * state.m + (1 - self.beta1) * g
        v = self.second_moment(state.v, g, m)  # v ← β₂ v + (1 − β₂) g²
        v_max = np.maximum(state.v_max, v) if self.amsgrad else None
        m_hat = self.m_hat(m, g, t, state)  # m̂ = m / (1 − β₁ᵗ)
        theta = self.adaptive_step(theta, m_hat, v_max if self.amsgrad else v, t)  # θ ← θ − η m̂ / (√v̂ + ε)
        return theta, self.State(t=t, m=m, v=v, v_max=v_max)

    def second_moment(self, v: np.ndarray, g: np.ndarray, m: np.ndarray) -> np.ndarray:
        """v ← β₂ v + (1 − β₂) g²."""
        return self.beta2 * v + (1 - self.beta2) * g**2

    def m_hat(self, m: np.ndarray, g: np.ndarray, t: int, state: AdamState) -> np.ndarray:
        """m̂ = m / (1 − β₁ᵗ)."""
        return m / (1 - self.beta1**t) if self.bias_correction else m

    def adaptive_step(self, theta: np.ndarray, m_hat: np.ndarray, v: np.ndarray, t: int) -> np.ndarray:
        """v̂ = v / (1 − β₂ᵗ),  θ ← θ − η m̂ / (√v̂ + ε)."""
        v_hat = v / (1 - self.beta2**t) if self.bias_correction else v
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


@dataclass(frozen=True)
class AdamW(Adam):
    r"""AdamW (decoupled weight decay), as in ``torch.optim.AdamW``: ``Adam`` with other defaults.

    ``decoupled_weight_decay=True`` and ``weight_decay`` = λ = 0.01
    (PyTorch's default): the decay is applied to the parameters directly,
    before and outside the adaptive step::

        θ ← θ (1 − η λ)                      (decoupled decay)
        then Adam's step with the plain gradient g (no λθ added to g)

    Every weight shrinks by the same factor, whatever its gradient history.
    Keras applies ``weight_decay`` this decoupled way on every optimizer;
    optax ``adamw`` does too, but adds λθ to the update before multiplying
    by η, which is the same thing.
    """

    weight_decay: float = 1e-2
    decoupled_weight_decay: bool = True
    name: str = "AdamW"


@dataclass(frozen=True)
class AMSGrad(Adam):
    r"""AMSGrad (Reddi et al. 2018): ``Adam`` with ``amsgrad=True``, as ``torch.optim.Adam(amsgrad=True)``.

    One step is Adam's, dividing by the largest v seen so far::

        v_max ← max(v_max, v)                ← the line AMSGrad adds to Adam
        v̂ ← v_max / (1 − β₂ᵗ)                ← the line that differs from Adam

    State: t, m, v and v_max. Each parameter's η / √v_max can only shrink, which
    the convergence proof of the paper (written without bias correction) needs; with
    the correction, η / √v̂ = η √(1 − β₂ᵗ) / √v_max can still grow, by the factor
    √(1 − β₂ᵗ) as it rises to 1. Keras ``Adam(amsgrad=True)`` and optax ``amsgrad``
    offer it too.
    """

    amsgrad: bool = True
    name: str = "AMSGrad"
    DELTA = {"v ← β₂ v + (1 − β₂) g²": ("v ← β₂ v + (1 − β₂) g²", "v_max ← max(v_max, v)"),
             "v̂ ← v / (1 − β₂ᵗ)": ("v̂ ← v_max / (1 − β₂ᵗ)",)}
