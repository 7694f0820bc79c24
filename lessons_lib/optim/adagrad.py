"""AdaGrad: a per-parameter step size from the sum of all squared gradients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class AdaGradState:
    """What AdaGrad remembers: s, the running sum of squared gradients (it only grows)."""

    s: np.ndarray


@dataclass(frozen=True)
class AdaGrad(Rule):
    r"""AdaGrad, as in ``torch.optim.Adagrad`` (without its ``lr_decay``).

    Hyperparameters: learning rate η (``lr``), ε (``eps``), the starting
    value s₀ of the accumulator (``initial_accumulator_value``), weight decay
    λ (``weight_decay``) and its kind (``decoupled_weight_decay``, False: L2
    as in PyTorch).

    One step::

        g ← g + λ θ,  or  θ ← θ (1 − η λ) if decoupled      (only if λ > 0: ``Rule.decay``)
        s ← s + g²
        θ ← θ − η g / (√s + ε)

    State: s, which starts at s₀ and never shrinks -- so the step size
    η / √s only falls, and AdaGrad stalls on long runs (lesson 04).

    Other frameworks: Keras ``Adagrad`` puts ε inside the root,
    ``θ ← θ − η g / √(s + ε)``, with s₀ = 0.1 and ε = 1e-7; optax
    ``adagrad`` also uses ``√(s + ε)`` with s₀ = 0.1, ε = 1e-7.
    PyTorch's defaults are s₀ = 0, ε = 1e-10.
    """

    lr: float = 0.01
    eps: float = 1e-10
    initial_accumulator_value: float = 0.0
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    name: str = "AdaGrad"
    non_negative = ("s",)

    def start(self, theta: np.ndarray) -> AdaGradState:
        """s = s₀ everywhere."""
        return AdaGradState(s=np.full_like(theta, self.initial_accumulator_value))

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdaGradState) -> tuple[np.ndarray, AdaGradState]:
        theta, g = self.decay(theta, g)
        s = state.s + g**2
        return theta - self.lr * g / (np.sqrt(s) + self.eps), AdaGradState(s=s)
