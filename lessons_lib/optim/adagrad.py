"""AdaGrad: a per-parameter step size from the sum of all squared gradients."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import (
    check_learning_rate,
    check_non_negative,
    check_positive,
    check_state_arrays,
    check_step_inputs,
    set_checked,
)


@dataclass(frozen=True)
class AdaGradState:
    """What AdaGrad remembers: s, the running sum of squared gradients (it only grows)."""

    sum_of_squares: np.ndarray


@dataclass(frozen=True)
class AdaGrad:
    r"""AdaGrad, as in ``torch.optim.Adagrad`` (without its ``lr_decay``).

    Hyperparameters: learning rate η (``lr``), ε (``eps``), the starting
    value s₀ of the accumulator (``initial_accumulator_value``), L2
    coefficient λ (``weight_decay``).

    One step::

        g ← g + λ θ                      (only if λ > 0)
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
    name: str = "AdaGrad"

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        set_checked(self, "eps", check_positive)
        set_checked(self, "initial_accumulator_value", check_non_negative)
        set_checked(self, "weight_decay", check_non_negative)

    def init(self, theta: np.ndarray) -> AdaGradState:
        """The state before the first step: s = s₀ everywhere."""
        theta, _ = check_step_inputs(theta, theta)
        return AdaGradState(sum_of_squares=np.full_like(theta, self.initial_accumulator_value))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: AdaGradState) -> tuple[np.ndarray, AdaGradState]:
        """One update; returns the new parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        check_state_arrays(state, theta.shape, AdaGradState, required=("sum_of_squares",),
                           non_negative=("sum_of_squares",))
        return self.update(theta, grad, state)

    def update(self, theta: np.ndarray, g: np.ndarray, state: AdaGradState) -> tuple[np.ndarray, AdaGradState]:
        """The rule itself, on checked inputs (``step`` checks them and calls this)."""
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        s = state.sum_of_squares + g**2
        theta = theta - self.lr * g / (np.sqrt(s) + self.eps)
        return theta, AdaGradState(sum_of_squares=s)
