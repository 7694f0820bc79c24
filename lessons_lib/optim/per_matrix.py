"""PerMatrix: rules for matrices (Muon, Adafactor) on the course's flat θ, matrix by matrix; MuonWithAdamW."""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import index
from typing import Any

import numpy as np

from lessons_lib.optim.adam import AdamW
from lessons_lib.optim.base import Rule
from lessons_lib.optim.muon import Muon


def weight_matrices(layer_slices: list[tuple[slice, slice]]) -> tuple[tuple[slice, tuple[int, int]], ...]:
    """``matrices`` for a network: ``weight_matrices(model.layer_slices())`` gives (W slice, (fan_in, fan_out))."""
    return tuple((w, ((w.stop - w.start) // (b.stop - b.start), b.stop - b.start)) for w, b in layer_slices)


@dataclass(frozen=True)
class PerMatrixState:
    """One state per piece of θ, in θ's order: each matrix's and each vector's."""

    pieces: tuple[Any, ...]


@dataclass(frozen=True)
class PerMatrix(Rule):
    r"""One rule for each weight matrix in a flat θ, another for each stretch between them.

    Hyperparameters: ``matrices``, ((slice, (rows, cols)), ...), where the matrices lie in θ,
    row by row (``weight_matrices(model.layer_slices())`` for the course's MLP); ``matrix_rule``;
    ``vector_rule`` (the MLP's biases); ``lr``, a factor (1) on both rules' own learning rates.
    One step, piece by piece, each with its own state (``state.pieces``)::

        W = θ[slice] as (rows, cols):   Wᵀ, state_W ← matrix_rule's step(Wᵀ, Gᵀ, state_W)
        b = a stretch between matrices: b, state_b ← vector_rule's step(b, g_b, state_b)

    The course's W is (fan_in, fan_out) (x W); torch's nn.Linear holds Wᵀ, (out, in). The
    matrix rule gets Wᵀ, so that what depends on the shape is as in torch: Muon's scale
    √max(1, out/in) (NS and Adafactor's V̂ commute with transposing). A schedule in
    ``training.train`` replaces ``lr``: both rates scale by it, as a torch scheduler scales
    every parameter group's rate by one factor.
    """

    matrices: tuple[tuple[slice, tuple[int, int]], ...]
    matrix_rule: Rule
    vector_rule: Rule
    lr: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        for field in ("matrix_rule", "vector_rule"):
            if not isinstance(getattr(self, field), Rule) or not hasattr(getattr(self, field), "lr"):
                raise ValueError(f"{field} must be a rule with an lr, such as AdamW(), got {getattr(self, field)!r}")
        try:
            matrices = sorted((slice(index(w.start), index(w.stop)), (index(m), index(n))) for w, (m, n) in self.matrices)
            ok = all(w.start >= end and min(m, n) > 0 and w.stop - w.start == m * n
                     for (w, (m, n)), end in zip(matrices, [0] + [w.stop for w, _ in matrices]))
        except (TypeError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise ValueError("matrices must be ((slice(start, stop), (rows, cols)), ...) with rows · cols = stop − start, "
                             f"not overlapping (e.g. weight_matrices(model.layer_slices())); got {self.matrices!r}")
        object.__setattr__(self, "matrices", tuple(matrices))
        object.__setattr__(self, "name", self.name or f"{self.matrix_rule.name} per matrix + {self.vector_rule.name}")

    def split(self, n: int) -> list[tuple[Rule, slice, tuple[int, int] | None]]:
        """The pieces of a θ of n numbers: (rule, slice, (rows, cols)) for a matrix, (rule, slice, None) between."""
        rules = [replace(rule, lr=self.lr * rule.lr) if self.lr != 1 else rule for rule in (self.matrix_rule, self.vector_rule)]
        pieces, start = [], 0
        for where, shape in self.matrices:
            pieces += [(rules[1], slice(start, where.start), None)] * (where.start > start) + [(rules[0], where, shape)]
            start = where.stop
        return pieces + [(rules[1], slice(start, n), None)] * (n > start)

    def check_theta(self, theta: np.ndarray) -> np.ndarray:
        end = self.matrices[-1][0].stop if self.matrices else 0
        if theta.ndim != 1 or theta.size < end:
            raise ValueError(f"theta must be a flat vector of at least {end} numbers (to hold the matrices), got shape {theta.shape}")
        return theta

    def start(self, theta: np.ndarray) -> PerMatrixState:
        return PerMatrixState(tuple(rule.init(_piece(theta, where, shape)) for rule, where, shape in self.split(theta.size)))

    def check_state(self, state: Any, theta: np.ndarray) -> PerMatrixState:
        split = self.split(theta.size)
        if type(state) is not PerMatrixState or not isinstance(state.pieces, tuple) or len(state.pieces) != len(split):
            raise ValueError(f"state must be a PerMatrixState of {len(split)} pieces (from this rule's init)")
        return PerMatrixState(tuple(rule.check_state(s, _piece(theta, where, shape))
                                    for (rule, where, shape), s in zip(split, state.pieces)))

    def update(self, theta: np.ndarray, g: np.ndarray, state: PerMatrixState) -> tuple[np.ndarray, PerMatrixState]:
        new_theta, states = np.empty_like(theta), []
        for (rule, where, shape), s in zip(self.split(theta.size), state.pieces):
            piece, s = rule.update(_piece(theta, where, shape), _piece(g, where, shape), s)
            new_theta[where] = piece.T.ravel()  # a matrix: back from Wᵀ (a vector: .T changes nothing)
            states.append(s)
        return new_theta, PerMatrixState(tuple(states))


def _piece(x: np.ndarray, where: slice, shape: tuple[int, int] | None) -> np.ndarray:
    return x[where] if shape is None else x[where].reshape(shape).T


@dataclass(frozen=True)
class MuonWithAdamW(PerMatrix):
    """Muon for the weight matrices (as Wᵀ), AdamW for the rest: the usual split, as one ``PerMatrix`` rule."""

    matrix_rule: Rule = Muon()
    vector_rule: Rule = AdamW()
    name: str = "Muon + AdamW"
