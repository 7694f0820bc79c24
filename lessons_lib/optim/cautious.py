"""Cautious: any rule, keeping only the components of its step that agree with the gradient (timm's ``caution``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lessons_lib.optim.base import Rule


@dataclass(frozen=True)
class Cautious(Rule):
    r"""The cautious mask (Liang et al. 2024) around any rule (``inner``: AdamW, Lion, SGD…), as timm's ``caution``.

    One step::

        θ', state ← inner rule's step(θ, g, state)
        θ_d = θ (1 − η λ) if the inner rule decays decoupled, else θ
        u = θ_d − θ'                         (the inner rule's step)
        φ = 1[u ⊙ g > 0]                     (1 where the step agrees in sign with g, as given)
        θ ← θ_d − u ⊙ φ / max(mean(φ), 10⁻³)

    State: the inner rule's, untouched (its momentum is never masked).

    A component that disagrees with g would climb the loss: it is dropped, the rest scaled
    by 1/(fraction kept); the decay is never masked. timm writes the mask inside each rule,
    on the step's signs (Adam's m, Lion's sign(c), SGDW's direction); here it is read from the
    step, once for all rules. timm's SGDW decays decoupled (``SGD(decoupled_weight_decay=True)``)
    and skips the mask without momentum. The paper's first code scaled by size/(Σφ + 1).
    """

    inner: Any
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.inner, Rule):
            raise ValueError(f"inner must be a rule of lessons_lib.optim such as AdamW(), got {self.inner!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}")
        object.__setattr__(self, "name", self.name or f"Cautious {self.inner.name}")

    def start(self, theta: np.ndarray) -> Any:
        return self.inner.start(theta)

    def check_theta(self, theta: np.ndarray) -> np.ndarray:
        return self.inner.check_theta(theta)

    def check_state(self, state: Any, theta: np.ndarray) -> Any:
        return self.inner.check_state(state, theta)

    def update(self, theta: np.ndarray, g: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        new_theta, state = self.inner.update(theta, g, state)
        theta_d, _ = self.inner.decay(theta, g)
        u = theta_d - new_theta
        phi = (u * g > 0).astype(np.float64)
        return theta_d - u * phi / max(phi.mean(), 1e-3), state
