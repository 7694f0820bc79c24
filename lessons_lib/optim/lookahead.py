"""Lookahead: any rule takes k fast steps, then the slow weights move part of the way towards them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lessons_lib.checks import check_flag, check_number, check_positive_int, check_step_inputs
from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class LookaheadState:
    """What Lookahead remembers: the step count t (0 before the first step),
    the slow weights (they start as θ₀) and the inner rule's own state."""

    t: int
    slow: np.ndarray
    inner: Any


@dataclass(frozen=True)
class Lookahead(Rule):
    r"""Lookahead (Zhang et al. 2019, "k steps forward, 1 step back"), wrapping any rule.

    Hyperparameters: the inner rule (``inner``, any rule of
    ``lessons_lib.optim``, with its own hyperparameters), the number of fast
    steps k (``k``, 5) and the slow step size α (``alpha``, 0.5; α = 1
    gives back the inner rule), ``reset_inner_state``.

    One step::

        θ, inner ← inner rule's step(θ, g, inner)    (the fast weights θ move)
        t ← t + 1
        if t is a multiple of k:                     ← every k-th step, 1 step back
            slow ← slow + α (θ − slow)
            θ ← slow
            inner ← inner rule's init(θ)             (only if reset_inner_state)

    State: t, the slow weights (starting at θ₀) and the inner rule's state.

    Lookahead is not a variant of Adam but a wrapper: the inner rule runs
    unchanged on the fast weights θ, and every k steps the slow weights take
    one step of size α towards where the fast ones got to, and the fast
    ones jump back to them. The gradient is always taken at the fast
    weights θ; the slow weights (``state.slow``) are the ones to evaluate.

    The inner rule's state (momentum buffer, Adam's m, v and t) is kept
    through the jump back, as in the authors' code (github
    michaelrzhang/lookahead, default ``pullback_momentum="none"``; it also
    offers resetting or interpolating SGD's momentum buffer), torch-optimizer
    and optax (default ``reset_state=False``). With ``reset_inner_state=True``
    it is re-initialised after each sync, as optax's ``reset_state=True`` does.

    torch-optimizer 0.3.0's ``Lookahead`` differs in its phase: it takes the
    slow weights from θ₁ (after the first fast step) and syncs after steps
    1, k + 1, 2k + 1, …; here, as in the paper and optax, slow = θ₀ and the
    syncs come after steps k, 2k, …
    """

    inner: Any
    k: int = 5
    alpha: float = 0.5
    reset_inner_state: bool = False
    name: str = ""
    DELTA = {"θ ← θ − η m̂ / (√v̂ + ε)": ("θ ← θ − η m̂ / (√v̂ + ε)",  # Lookahead around Adam, for lesson 09
                                        "every k-th step:  slow ← slow + α (θ − slow),  θ ← slow")}

    def __post_init__(self) -> None:
        if isinstance(self.inner, type) or not (
            callable(getattr(self.inner, "init", None)) and callable(getattr(self.inner, "step", None))
        ):
            raise ValueError(
                f"inner must be an update rule object with init and step, such as Adam(), got {self.inner!r}"
            )
        object.__setattr__(self, "k", check_positive_int(self.k, "k"))
        alpha = check_number("alpha", self.alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha} (the slow weights move a fraction α of the way)")
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "reset_inner_state", check_flag(self.reset_inner_state, "reset_inner_state"))
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}")
        if self.name == "":
            object.__setattr__(self, "name", f"Lookahead({getattr(self.inner, 'name', type(self.inner).__name__)})")

    def start(self, theta: np.ndarray) -> LookaheadState:
        """t = 0, slow weights = θ₀, the inner rule's initial state."""
        return LookaheadState(t=0, slow=theta.copy(), inner=self.inner.init(theta))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: LookaheadState) -> tuple[np.ndarray, LookaheadState]:
        """One update; returns the new (fast) parameters and the new state."""
        theta, grad = check_step_inputs(theta, grad)
        state = self.check_state(state, theta)  # t and the slow weights; the inner rule's step checks state.inner
        try:
            return self.update(theta, grad, state)
        except ValueError as error:  # theta and grad are fine, so only the inner state can be wrong
            inner_name = getattr(self.inner, "name", type(self.inner).__name__)
            raise ValueError(f"state.inner does not suit the inner rule {inner_name}: {error}") from None

    def update(self, theta: np.ndarray, g: np.ndarray, state: LookaheadState) -> tuple[np.ndarray, LookaheadState]:
        theta, inner = self.inner.step(theta, g, state.inner)
        t = state.t + 1
        if t % self.k == 0:
            slow = state.slow + self.alpha * (theta - state.slow)
            theta = slow.copy()
            if self.reset_inner_state:
                inner = self.inner.init(theta)
        else:
            slow = state.slow.copy()  # a new array, like every other array a step returns
        return theta, LookaheadState(t=t, slow=slow, inner=inner)
