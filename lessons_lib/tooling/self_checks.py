"""Instant self-checks for the graded exercises in ``exercises/``.

In an exercise notebook, after writing a function or answering a question::

    from lessons_lib.tooling.self_checks import check, check_answer

    check(gd_step)                      # runs your gd_step on a few cases
    check_answer("lr_max", lr_max)      # checks your answer to a question

Each call returns a ``CheckResult``: it shows as a short report (✓ or ✗ per
case; for a failed case what was expected, what your code gave, and a hint)
and is truthy only when everything passed. The checks run your function on
inputs -- first steps, a preset state, tiny gradients, a 20-step trajectory --
and compare what it returns with the course's reference rules in
``lessons_lib.optim``; they never read your code. When your result matches a
mistake many people make (ε inside the root, ``t`` counted too late, ...), the
hint names it.

Answers to questions are stored only as fingerprints (a hash of the value
rounded to 3 significant digits), so this file does not show them (trying values
with ``check_answer`` can still find one: the grader's review column names
code that does).

The instructor's hidden tests call the same functions with other random
inputs (``seed``) and ``.assert_ok()``, which raises ``AssertionError`` with a
one-line reason when a check fails.
"""

from __future__ import annotations

import hashlib
import linecache
import math
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import numpy as np

from lessons_lib.clipping import clip_by_global_norm as _clip_by_global_norm
from lessons_lib.optim import (
    SGD,
    AdaGrad,
    AdaGradState,
    Adam,
    AdamState,
    AdamW,
    EMAMomentum,
    EMAMomentumState,
    Lion,
    LionState,
    Muon,
    MuonState,
    RMSprop,
    RMSpropState,
    SGDState,
)
from lessons_lib.mlp import MLP
from lessons_lib.optim.muon import QUINTIC
from lessons_lib.optim.muon import newton_schulz as _newton_schulz
from lessons_lib.runner import ewma
from lessons_lib.schedules import WarmupCosine

__all__ = ["check", "check_answer", "judge_case", "CheckResult", "CaseResult", "EXERCISES", "QUESTIONS"]

#: How closely your numbers must match the reference: relative 1e-7 per entry,
#: plus 1e-9 of the array's largest entry (so tiny values are compared relatively too).
RTOL, SCALED_ATOL = 1e-7, 1e-9


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """One case of a check: its title, whether it passed, and if not, what went wrong and a hint."""

    title: str
    passed: bool
    details: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of ``check`` or ``check_answer``: truthy only if every case passed.

    Shown in a notebook as a short report; ``assert_ok()`` raises ``AssertionError``
    with the first failure in one line (that is what the grader's hidden tests use).
    """

    title: str
    cases: list[CaseResult] = field(default_factory=list)
    single: bool = False  # one verdict rather than cases: a question, or a function not written yet

    def __bool__(self) -> bool:
        return all(case.passed for case in self.cases)

    @property
    def passed(self) -> bool:
        """True if every case passed."""
        return bool(self)

    def report(self) -> str:
        """The report in words: one line per case, details and hint under a failed one."""
        mark = "✓" if self else "✗"
        if self.single:
            case = self.cases[0]
            return "\n".join([f"{mark} {self.title}: {case.title}", *_indented(case, "    ")])
        passed = sum(case.passed for case in self.cases)
        lines = [f"{mark} {self.title}: {passed} of {len(self.cases)} checks passed"]
        for case in self.cases:
            lines.append(f"  {'✓' if case.passed else '✗'} {case.title}")
            lines.extend(_indented(case, "      "))
        return "\n".join(lines)

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` naming the first failed case, if any: case, hint, then details, in one line."""
        for case in self.cases:
            if not case.passed:
                where = f"{self.title}: {case.title}" if self.single else f"{self.title}, case '{case.title}'"
                hint, details = (" ".join(line.strip() for line in text.splitlines()) for text in (case.hint, case.details))
                raise AssertionError(" -- ".join(part for part in (where, hint, details) if part))

    def __repr__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:  # how IPython shows it
        printer.text(self.report())  # type: ignore[attr-defined]


def _indented(case: CaseResult, indent: str) -> list[str]:
    """The details of a case, then its hint (first line marked 'hint:'), indented."""
    hint = case.hint.splitlines()
    if hint:
        hint[0] = f"hint: {hint[0]}"
    return [indent + line for line in case.details.splitlines() + hint]


#: float32 arithmetic keeps about 7 significant digits; a right rule computed in it agrees to about this much.
_SINGLE_RTOL = 1e-4
_PRECISION_HINT = ("your function returned float32 numbers, and they agree with the reference to about 6 digits, "
                   "not 15: the rule looks right, but part of it ran in single precision (astype(np.float32), "
                   "np.float32(...), a float32 array). Compute in float64, numpy's default: the check compares to 1e-7.")
_PRECISION_NOTE = "(also: your function returned float32 numbers; compute in float64, numpy's default.)"


# --- exercises: reference, cases and known mistakes ------------------------------------------


@dataclass(frozen=True)
class Case:
    """One situation a function is checked in.

    ``calls`` is a list of keyword arguments, one call each. With ``chain = n > 0``
    the case is a trajectory of n steps instead: the first step gets ``calls[0]``,
    each later step the previous step's outputs (same names), and every step
    ``grad = gradient(theta)`` (``parameter`` names the argument the gradient is
    taken at, ``theta`` unless the function calls it otherwise, e.g. ``W``).
    ``key`` is what hidden tests select cases by.
    """

    key: str
    title: str
    calls: list[dict]
    hint: str
    chain: int = 0  # number of chained steps (0: independent calls)
    gradient: Callable[[np.ndarray], np.ndarray] | None = None
    parameter: str = "theta"  # the argument a trajectory's gradient is taken at


@dataclass(frozen=True)
class Mistake:
    """A common wrong version of a rule, and what to tell someone whose code behaves like it.

    ``tolerance``: None to recognise the mistake only when the student's numbers equal its own
    (as closely as a right answer must equal the reference); a relative tolerance for a mistake
    that changes only the last digits, such as float32 arithmetic, whose rounding differs from
    one way of writing the code to another.
    """

    function: Callable
    hint: str
    tolerance: float | None = None


@dataclass(frozen=True)
class Exercise:
    """A function a student writes: its signature, its reference and its checks."""

    function_name: str
    signature: str
    outputs: tuple[str, ...]
    reference: Callable
    make_cases: Callable[[np.random.Generator], list[Case]]
    mistakes: tuple[Mistake, ...] = ()


@dataclass(frozen=True)
class AffineGradient:
    """The gradient of a quadratic loss, g(θ) = scale · θ + shift (entry by entry).

    Data, not code: the grader sends ``scale`` and ``shift`` to the sandbox that runs a
    student's trajectory.
    """

    scale: np.ndarray
    shift: np.ndarray

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        return self.scale * theta + self.shift


#: The gradient of the valley L = 0.1 x² + 2 y² of lessons 01 and 03.
_valley_gradient = AffineGradient(np.array([0.2, 4.0]), np.zeros(2))


def _values(rng: np.random.Generator, shape: int | tuple[int, ...], low: float = -2, high: float = 2) -> np.ndarray:
    """Random numbers with two decimals, easy to read in a report."""
    return np.round(rng.uniform(low, high, shape), 2)


def _trajectory(key: str, start: dict, steps: int, hint: str) -> Case:
    title = f"{steps} steps on the valley 0.1x² + 2y², from θ = {_show(start['theta'])}"
    return Case(key, title, [start], hint, chain=steps, gradient=_valley_gradient)


# gradient descent (lesson 01) ---------------------------------------------------------------


def _gd_reference(theta, grad, lr):
    return SGD(lr=lr).step(theta, grad, SGDState())[0]


def _gd_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("one_step", "one step on a vector of 3 parameters",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), lr=0.1)],
             "θ ← θ − η g: subtract the learning rate times the gradient."),
        Case("matrix", "a 2×3 matrix of parameters, lr = 0.5",
             [dict(theta=_values(rng, (2, 3)), grad=_values(rng, (2, 3)), lr=0.5)],
             "the same rule works entry by entry on arrays of any shape; return an array shaped like theta."),
        _trajectory("trajectory", dict(theta=_values(rng, 2, 0.5, 2), grad=None, lr=0.4), 20,
                    "each step must start from the θ the previous step returned."),
    ]


GD = Exercise(
    "gd_step", "gd_step(theta, grad, lr) -> theta", ("theta",), _gd_reference, _gd_cases,
    (
        Mistake(lambda theta, grad, lr: theta + lr * grad,
                "you stepped up the gradient: θ ← θ − η g moves against it (a minus sign)."),
        Mistake(lambda theta, grad, lr: theta - grad, "multiply the gradient by the learning rate η."),
        Mistake(lambda theta, grad, lr: theta - lr, "the step is η times the gradient g, not η alone."),
    ),
)


# minibatch gradient of mean squared error (lesson 02) ----------------------------------------


def _mse_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((X @ w - y) ** 2))


def _minibatch_reference(w, X, y, batch):
    """The gradient of the batch's mean squared error, by central differences of the loss itself.

    The loss is quadratic in w, so central differences are exact up to rounding:
    the check compares with the definition of the loss, not with a formula.
    """
    Xb, yb = X[batch], y[batch]
    h = 1e-4
    eye = np.eye(len(w))
    return np.array([(_mse_loss(w + h * e, Xb, yb) - _mse_loss(w - h * e, Xb, yb)) / (2 * h) for e in eye])


def _regression_data(rng: np.random.Generator) -> dict:
    X = _values(rng, (20, 3))
    y = np.round(X @ np.array([1.5, -2.0, 0.5]) + rng.normal(0, 0.5, 20), 2)
    return dict(w=_values(rng, 3), X=X, y=y)


def _minibatch_cases(rng: np.random.Generator) -> list[Case]:
    data = _regression_data(rng)
    return [
        Case("batch", "a batch of 4 rows out of 20", [dict(data, batch=rng.choice(20, 4, replace=False))],
             "differentiate one squared term (xᵢ·w − yᵢ)² with respect to w (chain rule), "
             "then average over the B rows listed in batch."),
        Case("one_row", "a batch of one row", [dict(data, batch=rng.choice(20, 1))],
             "with one row there is nothing to average: the gradient of (x·w − y)² for that row alone."),
        Case("all_rows", "all 20 rows as one batch (the full gradient)", [dict(data, batch=np.arange(20))],
             "with every row in the batch you get the full-data gradient; check the factor 2/B."),
    ]


def _mse_mistake(factor: float = 2, over_all_rows: bool = False, divide_by_all: bool = False, sign: float = 1,
                 mean: bool = True) -> Callable:
    def gradient(w, X, y, batch):
        Xb, yb = (X, y) if over_all_rows else (X[batch], y[batch])
        total = factor * Xb.T @ (sign * (Xb @ w - yb))
        return total / (len(X) if divide_by_all else len(Xb) if mean else 1)
    return gradient


MINIBATCH = Exercise(
    "minibatch_gradient", "minibatch_gradient(w, X, y, batch) -> grad", ("grad",), _minibatch_reference,
    _minibatch_cases,
    (
        Mistake(_mse_mistake(factor=1), "the derivative of (x·w − y)² is 2 (x·w − y) x: keep the factor 2."),
        Mistake(_mse_mistake(over_all_rows=True), "use only the rows listed in batch: X[batch] and y[batch]."),
        Mistake(_mse_mistake(divide_by_all=True), "average over the B rows of the batch, not over all N rows."),
        Mistake(_mse_mistake(sign=-1), "the residual is prediction minus target, x·w − y; y − x·w flips the sign."),
        Mistake(_mse_mistake(mean=False), "the loss is a mean: divide the sum over the batch by B."),
    ),
)


# momentum, PyTorch form and EMA form (lesson 03) ---------------------------------------------


def _momentum_reference(theta, grad, buffer, lr, momentum):
    theta, state = SGD(lr=lr, momentum=momentum).step(theta, grad, SGDState(b=buffer))
    return theta, state.b


def _momentum_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("first_step", "first step (buffer is None): the buffer becomes the gradient",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), buffer=None, lr=0.1, momentum=0.9)],
             "on the first step there is no buffer yet (None): PyTorch starts it at b = g."),
        Case("preset_buffer", "a later step, from a given buffer",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), buffer=_values(rng, 3), lr=0.1, momentum=0.8)],
             "b ← μ b + g, then θ ← θ − η b with the new b."),
        _trajectory("trajectory", dict(theta=_values(rng, 2, 0.5, 2), grad=None, buffer=None, lr=0.05, momentum=0.9),
                    20, "pass the returned buffer into the next step."),
    ]


def _momentum_mistake(damped: bool = False, old_buffer: bool = False, classical: bool = False) -> Callable:
    def step(theta, grad, buffer, lr, momentum):
        old = np.zeros_like(grad) if (buffer is None and damped) else (grad if buffer is None else buffer)
        if classical:  # v ← μ v − η g,  θ ← θ + v
            velocity = -lr * grad if buffer is None else momentum * buffer - lr * grad
            return theta + velocity, velocity
        new = momentum * old + (1 - momentum) * grad if damped else (grad if buffer is None else momentum * old + grad)
        return theta - lr * (old if old_buffer else new), new
    return step


MOMENTUM = Exercise(
    "momentum_step", "momentum_step(theta, grad, buffer, lr, momentum) -> (theta, buffer)", ("theta", "buffer"),
    _momentum_reference, _momentum_cases,
    (
        Mistake(_momentum_mistake(damped=True),
                "that is the EMA form, b ← μ b + (1 − μ) g starting from 0. PyTorch's form adds the whole "
                "gradient, b ← μ b + g, and its first buffer is g itself."),
        Mistake(_momentum_mistake(old_buffer=True),
                "the step used the old buffer: update b first (b ← μ b + g), then step with the new b."),
        Mistake(_momentum_mistake(classical=True),
                "that is the classical velocity v ← μ v − η g. This exercise keeps PyTorch's buffer "
                "b ← μ b + g (no η inside) and steps θ ← θ − η b."),
    ),
)


def _ema_reference(theta, grad, velocity, lr, beta):
    theta, state = EMAMomentum(lr=lr, beta=beta).step(theta, grad, EMAMomentumState(v=velocity))
    return theta, state.v


def _ema_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("first_step", "first step, from a velocity of zeros",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), velocity=np.zeros(3), lr=0.1, beta=0.9)],
             "v ← β v + (1 − β) g; with v = 0 the first velocity is (1 − β) g."),
        Case("preset_velocity", "a later step, from a given velocity",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), velocity=_values(rng, 3), lr=0.1, beta=0.8)],
             "update v first, then θ ← θ − η v with the new v."),
        _trajectory("trajectory",
                    dict(theta=_values(rng, 2, 0.5, 2), grad=None, velocity=np.zeros(2), lr=0.5, beta=0.9),
                    20, "pass the returned velocity into the next step."),
    ]


def _ema_mistake(undamped: bool = False, old_velocity: bool = False, swapped: bool = False) -> Callable:
    def step(theta, grad, velocity, lr, beta):
        if undamped:
            new = beta * velocity + grad
        elif swapped:
            new = (1 - beta) * velocity + beta * grad
        else:
            new = beta * velocity + (1 - beta) * grad
        return theta - lr * (velocity if old_velocity else new), new
    return step


EMA_MOMENTUM = Exercise(
    "ema_momentum_step", "ema_momentum_step(theta, grad, velocity, lr, beta) -> (theta, velocity)",
    ("theta", "velocity"), _ema_reference, _ema_cases,
    (
        Mistake(_ema_mistake(undamped=True),
                "that is PyTorch's form. The EMA form scales the new gradient by (1 − β): v ← β v + (1 − β) g."),
        Mistake(_ema_mistake(old_velocity=True),
                "the step used the old velocity: update v first, then θ ← θ − η v with the new v."),
        Mistake(_ema_mistake(swapped=True),
                "β multiplies the old velocity and (1 − β) the new gradient, not the reverse."),
    ),
)


# AdaGrad and RMSprop (lesson 04) -------------------------------------------------------------

_TINY = "a tiny gradient (1e-6), where the place of ε matters"
_EPS_HINT = "ε goes outside the square root: add it to √(…) just before dividing."
_EPS_INSIDE = "ε is inside your square root; it goes outside: add it to √(…) just before dividing."


def _adagrad_reference(theta, grad, sum_sq, lr, eps):
    theta, state = AdaGrad(lr=lr, eps=eps).step(theta, grad, AdaGradState(s=sum_sq))
    return theta, state.s


def _adagrad_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("first_step", "first step, from a sum of zeros",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), sum_sq=np.zeros(3), lr=0.1, eps=1e-10)],
             "s ← s + g², then θ ← θ − η g / (√s + ε): the first step has length about η in every coordinate."),
        Case("preset_sum", "a later step, from a given sum",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), sum_sq=_values(rng, 3, 0.5, 4), lr=0.3, eps=1e-7)],
             "add g² to the sum first, then divide by the root of the new sum."),
        Case("tiny_gradient", _TINY,
             [dict(theta=_values(rng, 3), grad=1e-6 * _values(rng, 3, 0.5, 2), sum_sq=np.zeros(3), lr=0.1, eps=1e-10)],
             _EPS_HINT),
        Case("zero_gradient", "a gradient entry that is exactly 0 on the first step",
             [dict(theta=_values(rng, 3), grad=np.array([0.0, 1.0, -1.0]), sum_sq=np.zeros(3), lr=0.2, eps=1e-8)],
             "where g = 0 and s = 0 the step is 0 / (0 + ε) = 0: ε keeps the division finite."),
    ]


def _adagrad_mistake(eps_inside: bool = False, old_sum: bool = False, not_squared: bool = False,
                     no_root: bool = False) -> Callable:
    def step(theta, grad, sum_sq, lr, eps):
        new = sum_sq + (grad if not_squared else grad**2)
        used = sum_sq if old_sum else new
        denominator = np.sqrt(used + eps) if eps_inside else (used + eps if no_root else np.sqrt(used) + eps)
        return theta - lr * grad / denominator, new
    return step


ADAGRAD = Exercise(
    "adagrad_step", "adagrad_step(theta, grad, sum_sq, lr, eps=1e-10) -> (theta, sum_sq)", ("theta", "sum_sq"),
    _adagrad_reference, _adagrad_cases,
    (
        Mistake(_adagrad_mistake(eps_inside=True), _EPS_INSIDE),
        Mistake(_adagrad_mistake(old_sum=True), "the step used the old sum: add g² first, then divide by √s + ε."),
        Mistake(_adagrad_mistake(not_squared=True), "accumulate squared gradients: s ← s + g²."),
        Mistake(_adagrad_mistake(no_root=True), "divide by the square root of the sum, √s + ε."),
    ),
)


def _rmsprop_reference(theta, grad, square_avg, lr, beta, eps):
    theta, state = RMSprop(lr=lr, beta=beta, eps=eps).step(theta, grad, RMSpropState(v=square_avg))
    return theta, state.v


def _rmsprop_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("first_step", "first step, from an average of zeros",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), square_avg=np.zeros(3), lr=0.01, beta=0.99, eps=1e-8)],
             "v ← β v + (1 − β) g², then θ ← θ − η g / (√v + ε)."),
        Case("preset_average", "a later step, from a given average (η = 0.1, β = 0.9, ε = 1e-5)",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), square_avg=_values(rng, 3, 0.5, 4), lr=0.1, beta=0.9,
                   eps=1e-5)],
             "update v first, then divide by the root of the new v."),
        Case("tiny_gradient", _TINY,
             [dict(theta=_values(rng, 3), grad=1e-6 * _values(rng, 3, 0.5, 2), square_avg=np.zeros(3), lr=0.01,
                   beta=0.99, eps=1e-8)],
             _EPS_HINT),
        _trajectory("trajectory",
                    dict(theta=_values(rng, 2, 0.5, 2), grad=None, square_avg=np.zeros(2), lr=0.05, beta=0.9, eps=1e-8),
                    20, "pass the returned average into the next step."),
    ]


def _rmsprop_mistake(eps_inside: bool = False, swapped: bool = False, old_avg: bool = False,
                     summed: bool = False) -> Callable:
    def step(theta, grad, square_avg, lr, beta, eps):
        if summed:
            new = square_avg + grad**2
        elif swapped:
            new = (1 - beta) * square_avg + beta * grad**2
        else:
            new = beta * square_avg + (1 - beta) * grad**2
        used = square_avg if old_avg else new
        denominator = np.sqrt(used + eps) if eps_inside else np.sqrt(used) + eps
        return theta - lr * grad / denominator, new
    return step


RMSPROP = Exercise(
    "rmsprop_step", "rmsprop_step(theta, grad, square_avg, lr, beta=0.99, eps=1e-8) -> (theta, square_avg)",
    ("theta", "square_avg"), _rmsprop_reference, _rmsprop_cases,
    (
        Mistake(_rmsprop_mistake(eps_inside=True), _EPS_INSIDE),
        Mistake(_rmsprop_mistake(swapped=True),
                "β multiplies the old average and (1 − β) the new g², not the reverse."),
        Mistake(_rmsprop_mistake(old_avg=True),
                "the step used the old average: update v first, then divide by √v + ε."),
        Mistake(_rmsprop_mistake(summed=True),
                "that is AdaGrad's growing sum. RMSprop keeps an average: v ← β v + (1 − β) g²."),
    ),
)


# Adam, without and with bias correction (lessons 05, 06), and AdamW (lesson 07) -------------


def _adam_reference(theta, grad, m, v, t, lr, beta1, beta2, eps, bias_correction=True):
    rule = Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps, bias_correction=bias_correction)
    theta, state = rule.step(theta, grad, AdamState(t=t, m=m, v=v))
    return theta, state.m, state.v, state.t


def _adamw_reference(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    rule = AdamW(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    theta, state = rule.step(theta, grad, AdamState(t=t, m=m, v=v))
    return theta, state.m, state.v, state.t


def _adam_like(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay=0.0, *, correct=True, eps_inside=False,
               count=True, t_after_use=False, eps_before_correction=False, old_moments=False, squared=True,
               l2=False, decay=True, decay_times_lr=True, decay_after=False, return_hat=False):
    """A deliberately configurable Adam, used only to recognise mistakes (the reference is lessons_lib.optim)."""
    factor = 1 - (lr * weight_decay if decay_times_lr else weight_decay)
    if decay and weight_decay and not decay_after and not l2:
        theta = theta * factor
    if l2:
        grad = grad + weight_decay * theta
    t_used = t if t_after_use else t + 1
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * (grad**2 if squared else grad)
    m_used, v_used = (m, v) if old_moments else (m_new, v_new)
    c1, c2 = (1 - beta1**t_used, 1 - beta2**t_used) if correct else (1, 1)
    if eps_before_correction:
        step = lr * np.sqrt(c2) / c1 * m_used / (np.sqrt(v_used) + eps)
    elif eps_inside:
        step = lr * (m_used / c1) / np.sqrt(v_used / c2 + eps)
    else:
        step = lr * (m_used / c1) / (np.sqrt(v_used / c2) + eps)
    theta = theta - step
    if decay and weight_decay and decay_after and not l2:
        theta = theta * factor
    if return_hat:
        m_new, v_new = m_new / c1, v_new / c2
    return theta, m_new, v_new, (t + 1 if count else t)


def _adam_mistake(**flags: bool) -> Callable:
    def step(*args, **kwargs):
        return _adam_like(*args, **kwargs, **flags)
    return step


def _hyper_title(hyper: dict) -> str:
    """' (η = 0.05, β₁ = 0.8, ...)': the hyperparameters of a case, for its title."""
    symbols = {"lr": "η", "beta1": "β₁", "beta2": "β₂", "eps": "ε", "weight_decay": "λ"}
    return " (" + ", ".join(f"{symbols[name]} = {value:g}" for name, value in hyper.items()) + ")"


def _adam_hyper(lr: float, beta1: float, beta2: float, eps: float, weight_decay: float | None) -> dict:
    hyper = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    return hyper if weight_decay is None else dict(hyper, weight_decay=weight_decay)


def _adam_cases(rng: np.random.Generator, decay: bool = False) -> list[Case]:
    """Adam's cases; every hyperparameter takes other values in other cases (a hard-coded one fails)."""
    def hyper(lr, beta1, beta2, eps, weight_decay):
        return _adam_hyper(lr, beta1, beta2, eps, weight_decay if decay else None)

    first, later = hyper(0.1, 0.9, 0.999, 1e-8, 0.1), hyper(0.05, 0.8, 0.99, 1e-6, 0.2)
    tiny, path = hyper(0.1, 0.9, 0.999, 1e-7, 0.05), hyper(0.1, 0.85, 0.995, 1e-8, 0.1)
    zeros = dict(m=np.zeros(3), v=np.zeros(3), t=0)
    cases = [
        Case("first_step", "first step, from zero moments (t = 0 before the step)" + _hyper_title(first),
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), **zeros, **first)],
             "t ← t + 1 first; m ← β₁ m + (1 − β₁) g; v ← β₂ v + (1 − β₂) g²; then the step; return t + 1."),
        Case("preset_state", "a later step, from given m, v and t = 5" + _hyper_title(later),
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), m=_values(rng, 3, -0.5, 0.5), v=_values(rng, 3, 0.1, 1),
                   t=5, **later)],
             "update m and v from the given ones, and count this step as t + 1 = 6; use the β₁, β₂ and ε given."),
        Case("tiny_gradient", _TINY + _hyper_title(tiny),
             [dict(theta=_values(rng, 3), grad=1e-6 * _values(rng, 3, 0.5, 2), **zeros, **tiny)], _EPS_HINT),
        _trajectory("trajectory", dict(theta=_values(rng, 2, 0.5, 2), grad=None, m=np.zeros(2), v=np.zeros(2), t=0,
                                       **path), 20, "pass the returned m, v and t into the next step."),
    ]
    if decay:
        shrink = hyper(0.1, 0.9, 0.999, 1e-8, 0.3)
        cases.insert(3, Case("zero_gradient", "a zero gradient from zero moments: only the decay acts"
                             + _hyper_title(shrink),
                             [dict(theta=_values(rng, 3), grad=np.zeros(3), **zeros, **shrink)],
                             "with g = 0 the Adam part of the step is 0, so θ must shrink by exactly (1 − η λ)."))
    return cases


_RETURN_HAT = ("you returned m̂ and v̂ (the bias-corrected moments) where the assignment asks for m and v: "
               "return the raw moments m and v, as the state to carry into the next step (each step corrects "
               "them afresh).")
_ADAM_SIGNATURE = "(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8"
_ADAM_COMMON_MISTAKES = (
    Mistake(_adam_mistake(eps_inside=True), _EPS_INSIDE),
    Mistake(_adam_mistake(count=False), "return t + 1: count the step you just took."),
    Mistake(_adam_mistake(old_moments=True), "the step used the old m and v: update them first, then step."),
    Mistake(_adam_mistake(squared=False), "v averages squared gradients: v ← β₂ v + (1 − β₂) g²."),
)

ADAM_UNCORRECTED = Exercise(
    "adam_step", f"adam_step{_ADAM_SIGNATURE}) -> (theta, m, v, t)   [no bias correction]",
    ("theta", "m", "v", "t"), lambda *a, **k: _adam_reference(*a, **k, bias_correction=False), _adam_cases,
    tuple(Mistake(_adam_mistake(correct=False, **flags), hint) for flags, hint in [
        (dict(eps_inside=True), _EPS_INSIDE),
        (dict(count=False), "return t + 1: count the step, even though this lesson does not use t yet."),
        (dict(old_moments=True), "the step used the old m and v: update them first, then step."),
        (dict(squared=False), "v averages squared gradients: v ← β₂ v + (1 − β₂) g²."),
    ]) + (
        Mistake(_adam_mistake(),
                "you applied bias correction; that is lesson 06. Here the step uses m and v as they are."),
    ),
)

ADAM = Exercise(
    "adam_step", f"adam_step{_ADAM_SIGNATURE}) -> (theta, m, v, t)", ("theta", "m", "v", "t"), _adam_reference,
    _adam_cases,
    _ADAM_COMMON_MISTAKES + (
        Mistake(_adam_mistake(correct=False), "no bias correction: divide m by (1 − β₁ᵗ) and v by (1 − β₂ᵗ)."),
        Mistake(_adam_mistake(t_after_use=True),
                "t was counted after it was used: increment t first, so the first step has t = 1 "
                "and 1 − β₁ᵗ = 1 − β₁ (with t = 0 it is 0, a division by zero)."),
        Mistake(_adam_mistake(eps_before_correction=True),
                "ε was added before the bias correction: correct first (v̂ = v / (1 − β₂ᵗ)), then √v̂ + ε."),
        Mistake(_adam_mistake(return_hat=True), _RETURN_HAT),
    ),
)

ADAMW = Exercise(
    "adamw_step", f"adamw_step{_ADAM_SIGNATURE}, weight_decay=0.01) -> (theta, m, v, t)",
    ("theta", "m", "v", "t"), _adamw_reference, lambda rng: _adam_cases(rng, decay=True),
    _ADAM_COMMON_MISTAKES + (
        Mistake(_adam_mistake(decay_times_lr=False),
                "the decay is θ ← θ (1 − η λ): multiply λ by the learning rate η."),
        Mistake(_adam_mistake(l2=True),
                "that is Adam with L2: λθ added to the gradient. AdamW shrinks θ directly, outside the adaptive step."),
        Mistake(_adam_mistake(decay_after=True), "decay θ first, then take the Adam step (PyTorch's order)."),
        Mistake(_adam_mistake(decay=False), "apply the decoupled decay θ ← θ (1 − η λ) before the Adam step."),
        Mistake(_adam_mistake(correct=False), "no bias correction: divide m by (1 − β₁ᵗ) and v by (1 − β₂ᵗ)."),
        Mistake(_adam_mistake(return_hat=True), _RETURN_HAT),
    ),
)


# clipping by global norm and warm-up + cosine (lesson 08) -----------------------------------


def _clip_reference(grads, max_norm):
    clipped, norm = _clip_by_global_norm(grads, max_norm)
    return clipped, norm


def _direction(rng: np.random.Generator, shape: int | tuple[int, ...], length: float) -> np.ndarray:
    """A random array of the given global norm."""
    values = rng.uniform(-1, 1, shape)
    return values * (length / np.linalg.norm(values))


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case("long", "a long gradient (norm about 5), max_norm = 1",
             [dict(grads=_values(rng, 3, 2, 4) * rng.choice([-1, 1], 3), max_norm=1.0)],
             "‖g‖ = √(Σ g²); c = max_norm / (‖g‖ + 1e-6); if c < 1, return c·g, and return ‖g‖ from before clipping."),
        Case("short", "a short gradient (norm below max_norm): left as it is",
             [dict(grads=_values(rng, 3, -0.5, 0.5), max_norm=2.0)],
             "when c = max_norm / (‖g‖ + 1e-6) is 1 or more, the gradient is short enough: return it unchanged."),
        Case("matrix", "a 2×3 matrix: one norm over all its entries",
             [dict(grads=_values(rng, (2, 3), -3, 3), max_norm=0.5)],
             "the global norm takes every entry together: √(sum of all g²), one number for the whole array."),
        Case("at_max_norm", "a gradient exactly max_norm long (the 1e-6 shows)",
             [dict(grads=_direction(rng, 3, 1.0), max_norm=1.0)],
             "PyTorch divides by ‖g‖ + 1e-6, so a gradient of norm exactly max_norm is still scaled, slightly."),
        Case("zero", "an all-zero gradient",
             [dict(grads=np.zeros(3), max_norm=1.0)],
             "with ‖g‖ = 0, c = max_norm / (0 + 1e-6) is large, so nothing is scaled: zeros stay zeros."),
    ]


def _clip_mistake(eps: float = 1e-6, scale_up: bool = False, by_value: bool = False, per_row: bool = False,
                  squared: bool = False, norm_after: bool = False) -> Callable:
    def clip(grads, max_norm):
        if by_value:
            return np.clip(grads, -max_norm, max_norm), float(np.linalg.norm(grads))
        if per_row:
            norm = np.sqrt(np.sum(grads**2, axis=-1, keepdims=True))
        else:
            norm = np.sum(grads**2) if squared else np.sqrt(np.sum(grads**2))
        scale = max_norm / (norm + eps)
        if not scale_up:
            scale = np.minimum(scale, 1.0)
        clipped = grads * scale
        return clipped, (np.sqrt(np.sum(clipped**2)) if norm_after else norm)
    return clip


CLIP = Exercise(
    "clip_by_global_norm", "clip_by_global_norm(grads, max_norm) -> (grads, norm)", ("grads", "norm"),
    _clip_reference, _clip_cases,
    (
        Mistake(_clip_mistake(eps=0.0),
                "divide by ‖g‖ + 1e-6, not by ‖g‖ alone: c = max_norm / (‖g‖ + 1e-6), as PyTorch does."),
        Mistake(_clip_mistake(scale_up=True),
                "clipping only scales down: when c ≥ 1 the gradient is already short enough; leave it unchanged."),
        Mistake(_clip_mistake(eps=0.0, scale_up=True),
                "clipping only scales down (leave a short gradient unchanged), and divides by ‖g‖ + 1e-6."),
        Mistake(_clip_mistake(by_value=True),
                "that clips each entry on its own (clipping by value). Clipping by norm multiplies the whole "
                "gradient by one factor c, so its direction stays the same."),
        Mistake(_clip_mistake(per_row=True),
                "that is one norm per row; the global norm is one number over all entries of the array."),
        Mistake(_clip_mistake(squared=True), "the norm is the square root of the sum of squares: √(Σ g²)."),
        Mistake(_clip_mistake(norm_after=True),
                "return the norm from before clipping (that is the number worth logging), not the clipped one."),
    ),
)


def _warmup_cosine_reference(step, lr, warmup_steps, total_steps, min_lr=0.0):
    return WarmupCosine(lr=lr, warmup_steps=warmup_steps, total_steps=total_steps, min_lr=min_lr,
                        start_factor=0.0)(step)


def _warmup_cosine_cases(rng: np.random.Generator) -> list[Case]:
    warmup = int(rng.integers(5, 20))
    total = warmup + int(rng.integers(50, 150))
    lr = float(np.round(rng.uniform(0.001, 0.01), 4))
    hyper = dict(lr=lr, warmup_steps=warmup, total_steps=total)
    inside = int(rng.integers(1, warmup))
    middle = int(rng.integers(warmup + 5, total - 5))
    return [
        Case("first_update", f"update 0 (the first), warm-up over {warmup} steps", [dict(step=0, min_lr=0.0, **hyper)],
             "the warm-up climbs linearly from 0: η · step / warmup_steps."),
        Case("warmup", f"step {inside}, inside a warm-up of {warmup} steps", [dict(step=inside, min_lr=0.0, **hyper)],
             "during the warm-up (step < warmup_steps) the rate is η · step / warmup_steps."),
        Case("peak", f"step {warmup} = warmup_steps, the first of the cosine", [dict(step=warmup, min_lr=0.0, **hyper)],
             "the cosine starts at step = warmup_steps, with the full rate η."),
        Case("cosine", f"step {middle} of {total}, in the cosine part, min_lr = {lr / 10:g}",
             [dict(step=middle, min_lr=lr / 10, **hyper)],
             "after the warm-up, with p = (step − W) / (T − W): min_lr + (η − min_lr) (1 + cos πp) / 2."),
        Case("after_end", f"step {total + 10}, after total_steps = {total}",
             [dict(step=total + 10, min_lr=lr / 10, **hyper)],
             "from step = total_steps on, the rate stays at min_lr."),
    ]


def _warmup_cosine_mistake(warmup_plus_one: bool = False, cosine_from_zero: bool = False, no_min_lr: bool = False,
                           plain_cos: bool = False, no_clamp: bool = False) -> Callable:
    def schedule(step, lr, warmup_steps, total_steps, min_lr=0.0):
        if step < warmup_steps:
            return lr * ((step + 1) if warmup_plus_one else step) / warmup_steps
        if step >= total_steps and not no_clamp:
            return min_lr
        progress = step / total_steps if cosine_from_zero else (step - warmup_steps) / (total_steps - warmup_steps)
        low = 0.0 if no_min_lr else min_lr
        shape = math.cos(math.pi * progress) if plain_cos else (1 + math.cos(math.pi * progress)) / 2
        return low + (lr - low) * shape
    return schedule


WARMUP_COSINE = Exercise(
    "warmup_cosine", "warmup_cosine(step, lr, warmup_steps, total_steps, min_lr=0.0) -> lr", ("lr",),
    _warmup_cosine_reference, _warmup_cosine_cases,
    (
        Mistake(_warmup_cosine_mistake(warmup_plus_one=True),
                "the warm-up starts from 0: update 0 has rate 0 (η · step / W, not η · (step + 1) / W)."),
        Mistake(_warmup_cosine_mistake(cosine_from_zero=True),
                "the cosine starts where the warm-up ends: its progress is (step − W) / (T − W), not step / T."),
        Mistake(_warmup_cosine_mistake(no_min_lr=True),
                "the cosine goes down to min_lr, not to 0: min_lr + (η − min_lr) (1 + cos πp) / 2."),
        Mistake(_warmup_cosine_mistake(plain_cos=True),
                "use (1 + cos πp) / 2, which falls from 1 to 0; cos πp alone goes down to −1."),
        Mistake(_warmup_cosine_mistake(no_clamp=True),
                "after total_steps the cosine would climb again: from step = total_steps on, return min_lr."),
    ),
)


# AMSGrad and Lion (lesson 09) ---------------------------------------------------------------


def _amsgrad_reference(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps):
    rule = Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps, amsgrad=True)
    theta, state = rule.step(theta, grad, AdamState(t=t, m=m, v=v, v_max=v_max))
    return theta, state.m, state.v, state.v_max, state.t


def _amsgrad_cases(rng: np.random.Generator) -> list[Case]:
    first, later = _adam_hyper(0.1, 0.9, 0.999, 1e-8, None), _adam_hyper(0.05, 0.8, 0.99, 1e-6, None)
    tiny, path = _adam_hyper(0.1, 0.9, 0.999, 1e-7, None), _adam_hyper(0.1, 0.85, 0.995, 1e-8, None)
    zeros = dict(m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(3), t=0)
    v = _values(rng, 4, 0.1, 1)
    v_max = v + np.array([0.5, 0.0, 1.0, 0.0])  # above v in two coordinates, equal in two
    grad = _values(rng, 4, 0.2, 0.5) * rng.choice([-1, 1], 4)
    grad[1] = 40.0 * np.sign(grad[1])  # a large gradient: there the new v exceeds v_max
    return [
        Case("first_step", "first step, from zero m, v, v_max (t = 0 before the step)" + _hyper_title(first),
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), **zeros, **first)],
             "t ← t + 1; m, v as in Adam; v_max ← max(v_max, v); then θ ← θ − η m̂ / (√(v_max / (1 − β₂ᵗ)) + ε)."),
        Case("preset_state", "a later step (t = 5) where v_max is above v in some coordinates"
             + _hyper_title(later),
             [dict(theta=_values(rng, 4), grad=grad, m=_values(rng, 4, -0.5, 0.5), v=v, v_max=v_max, t=5,
                   **later)],
             "v_max ← max(v_max, v) entry by entry with the new v; divide by √(v_max / (1 − β₂ᵗ)) + ε."),
        Case("tiny_gradient", _TINY + _hyper_title(tiny),
             [dict(theta=_values(rng, 3), grad=1e-6 * _values(rng, 3, 0.5, 2), **zeros, **tiny)], _EPS_HINT),
        _trajectory("trajectory", dict(theta=_values(rng, 2, 0.5, 2), grad=None, m=np.zeros(2), v=np.zeros(2),
                                       v_max=np.zeros(2), t=0, **path),
                    20, "pass the returned m, v, v_max and t into the next step."),
    ]


def _amsgrad_like(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps, *, max_of_hat=False, keep_old_max=False,
                  no_max=False, eps_inside=False, count=True, correct=True, max_of_old_v=False):
    """A deliberately configurable AMSGrad, used only to recognise mistakes."""
    t_new = t + 1
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    c1, c2 = (1 - beta1**t_new, 1 - beta2**t_new) if correct else (1, 1)
    if max_of_hat:  # keeps the largest v̂, and divides by it as it is
        v_max_new = np.maximum(v_max, v_new / c2)
        denominator = v_max_new
    else:
        v_max_new = np.maximum(v_max, v if max_of_old_v else v_new)
        denominator = (v_new if no_max else v_max_new) / c2
    root = np.sqrt(denominator + eps) if eps_inside else np.sqrt(denominator) + eps
    theta = theta - lr * (m_new / c1) / root
    return theta, m_new, v_new, (v_max if keep_old_max else v_max_new), (t_new if count else t)


def _amsgrad_mistake(**flags: bool) -> Callable:
    def step(*args, **kwargs):
        return _amsgrad_like(*args, **kwargs, **flags)
    return step


AMSGRAD = Exercise(
    "amsgrad_step", "amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8) "
                    "-> (theta, m, v, v_max, t)",
    ("theta", "m", "v", "v_max", "t"), _amsgrad_reference, _amsgrad_cases,
    (
        Mistake(_amsgrad_mistake(max_of_hat=True),
                "you kept the largest v̂ (bias-corrected). PyTorch keeps the largest raw v, "
                "v_max ← max(v_max, v), and corrects when it divides: √(v_max / (1 − β₂ᵗ)) + ε."),
        Mistake(_amsgrad_mistake(keep_old_max=True),
                "return the new v_max = max(v_max, v), so that the next step remembers it."),
        Mistake(_amsgrad_mistake(no_max=True),
                "that is Adam's step: AMSGrad divides by the largest v so far, v_max ← max(v_max, v), not by v."),
        Mistake(_amsgrad_mistake(max_of_old_v=True),
                "take the maximum with the new v: update v first, then v_max ← max(v_max, v)."),
        Mistake(_amsgrad_mistake(eps_inside=True), _EPS_INSIDE),
        Mistake(_amsgrad_mistake(count=False), "return t + 1: count the step you just took."),
        Mistake(_amsgrad_mistake(correct=False),
                "no bias correction: divide m by (1 − β₁ᵗ) and v_max by (1 − β₂ᵗ)."),
    ),
)


def _lion_reference(theta, grad, m, lr, beta1, beta2, weight_decay):
    rule = Lion(lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay)
    theta, state = rule.step(theta, grad, LionState(m=m))
    return theta, state.m


def _lion_cases(rng: np.random.Generator) -> list[Case]:
    hyper = dict(lr=0.01, beta1=0.9, beta2=0.99, weight_decay=0.0)
    m = _values(rng, 4, 0.2, 1) * rng.choice([-1, 1], 4)
    # g = −8.5 m: c = β₁ m + (1 − β₁) g has m's sign, but c from the *updated* m has g's;
    # g = −20 m: c has g's sign, but the updated m still has the old m's.
    against = np.round(m * np.array([-8.5, -8.6, -20.0, -25.0]), 4)

    def against_with_decay() -> dict:
        """g = −(17/3) m: c = β₁ m + (1 − β₁) g has g's sign for β₁ = 0.8, m's for β₁ = 0.9 (the default)."""
        theta, _, m_later = _values(rng, 3), _values(rng, 3), _values(rng, 3, -0.5, 0.5)  # the draws of old
        return dict(theta=theta, grad=np.round(-17 / 3 * m_later, 4), m=m_later, lr=0.1, beta1=0.8, beta2=0.95,
                    weight_decay=0.3)

    return [
        Case("first_step", "first step, from m = 0",
             [dict(theta=_values(rng, 3), grad=_values(rng, 3), m=np.zeros(3), **hyper)],
             "c = β₁ m + (1 − β₁) g; θ ← θ − η sign(c); then m ← β₂ m + (1 − β₂) g."),
        Case("against_momentum", "a gradient against the momentum (the order of c and m matters)",
             [dict(theta=_values(rng, 4), grad=against, m=m, **hyper)],
             "c uses the old m with β₁; m is updated with β₂ only after the step."),
        Case("zero_direction", "a coordinate where c = 0 (zero gradient, zero momentum)",
             [dict(theta=_values(rng, 3), grad=np.array([0.0, 1.0, -1.0]) * _values(rng, 3, 0.5, 2), m=np.zeros(3),
                   **hyper)],
             "sign(0) = 0 (np.sign does that): where c = 0 the coordinate does not move."),
        Case("weight_decay", "a later step with weight decay λ = 0.3, η = 0.1, β₁ = 0.8, β₂ = 0.95",
             [against_with_decay()],
             "θ ← θ − η (sign(c) + λ θ), with the θ from before the step, and c = β₁ m + (1 − β₁) g with the β₁ "
             "given (here the sign of c depends on it)."),
        _trajectory("trajectory", dict(theta=_values(rng, 2, 0.5, 2), grad=None, m=np.zeros(2), **hyper), 20,
                    "pass the returned m into the next step."),
    ]


def _lion_like(theta, grad, m, lr, beta1, beta2, weight_decay, *, m_first=False, sign_of_m=False, swapped=False,
               no_sign=False, decay_without_lr=False, decay_after=False):
    """A deliberately configurable Lion, used only to recognise mistakes."""
    b_c, b_m = (beta2, beta1) if swapped else (beta1, beta2)
    m_new = b_m * m + (1 - b_m) * grad
    if sign_of_m:
        c = m_new
    else:
        c = b_c * (m_new if m_first else m) + (1 - b_c) * grad
    direction = c if no_sign else np.sign(c)
    if decay_after:
        return (theta - lr * direction) * (1 - lr * weight_decay), m_new
    decay = weight_decay * theta / (lr if decay_without_lr else 1)
    return theta - lr * (direction + decay), m_new


def _lion_mistake(**flags: bool) -> Callable:
    def step(*args, **kwargs):
        return _lion_like(*args, **kwargs, **flags)
    return step


LION = Exercise(
    "lion_step", "lion_step(theta, grad, m, lr, beta1=0.9, beta2=0.99, weight_decay=0.0) -> (theta, m)",
    ("theta", "m"), _lion_reference, _lion_cases,
    (
        Mistake(_lion_mistake(m_first=True),
                "you updated m before computing c: c = β₁ m + (1 − β₁) g uses the old m; update m after the step."),
        Mistake(_lion_mistake(sign_of_m=True),
                "you stepped along the sign of the updated m. Lion's direction is c = β₁ m + (1 − β₁) g, "
                "with the old m and β₁; m ← β₂ m + (1 − β₂) g comes after."),
        Mistake(_lion_mistake(swapped=True),
                "β₁ and β₂ are swapped: β₁ (0.9) mixes the direction c, β₂ (0.99) updates the momentum m."),
        Mistake(_lion_mistake(no_sign=True), "Lion steps by the sign of c: θ ← θ − η sign(c), not η c."),
        Mistake(_lion_mistake(decay_without_lr=True),
                "the decay is η λ θ: multiply λ θ by the learning rate, θ ← θ − η (sign(c) + λ θ)."),
        Mistake(_lion_mistake(decay_after=True),
                "decay the θ from before the step: θ ← θ − η (sign(c) + λ θ), not (θ − η sign(c)) (1 − η λ)."),
    ),
)


# Newton–Schulz, a Muon step and the Muon/AdamW split (lesson 11) -----------------------------

_CUBIC = (1.5, -0.5, 0.0)
_FLOAT32_HINT = ("your numbers agree with the reference to about 6 digits, not 15: part of your arithmetic ran in "
                 "float32 (astype(np.float32), np.float32(...), a float32 array). torch's Muon casts to bfloat16 for "
                 "speed; here compute in float64, numpy's default, and the check compares to 1e-7.")


def _newton_schulz_reference(G, steps, eps):
    return _newton_schulz(G, steps, eps)


def _matrix(rng: np.random.Generator, shape: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """A random matrix of two-decimal entries in [−2, 2], times ``scale``."""
    return scale * _values(rng, shape, -2, 2)


def _newton_schulz_cases(rng: np.random.Generator) -> list[Case]:
    tiny, small = _matrix(rng, (3, 4), 1e-9), _matrix(rng, (5, 3), 1e-8)  # norms below 7e-9 and 8e-8
    # The others are ×1000 (norms in the thousands): there ‖G‖_F + ε and max(‖G‖_F, ε) agree to 1e-10, so only
    # the two tiny cases tell the two forms apart.
    return [
        Case("wide", "a wide 3×5 matrix, 5 steps, ε = 1e-7",
             [dict(G=_matrix(rng, (3, 5), 1000.0), steps=5, eps=1e-7)],
             "X = G / max(‖G‖_F, ε) with ‖G‖_F = √(Σ G²); then `steps` times: A = X Xᵀ, X ← aX + (bA + cA²)X, "
             "with (a, b, c) = (3.4445, −4.7750, 2.0315)."),
        Case("tall", "a tall 6×3 matrix (more rows than columns), 5 steps, ε = 1e-7",
             [dict(G=_matrix(rng, (6, 3), 1000.0), steps=5, eps=1e-7)],
             "for a tall G, work on Gᵀ (wide) and transpose the result back: return an array shaped like G."),
        Case("one_step", "one step (steps = 1) on a 4×6 matrix, ε = 1e-6",
             [dict(G=_matrix(rng, (4, 6), 1000.0), steps=1, eps=1e-6)],
             "run the iteration exactly `steps` times (here once): X ← aX + (bA + cA²)X with A = X Xᵀ."),
        Case("many_steps", "ten steps on a tall 5×2 matrix, ε = 1e-7",
             [dict(G=_matrix(rng, (5, 2), 1000.0), steps=10, eps=1e-7)],
             "run the iteration `steps` times, as given (here 10), not a fixed number."),
        Case("tiny_norm", f"a 3×4 matrix of norm {np.linalg.norm(tiny):.1e}, below ε = 1e-7",
             [dict(G=tiny, steps=5, eps=1e-7)],
             "ε is a floor: divide by max(‖G‖_F, ε). Here ‖G‖_F < ε, so X = G / ε."),
        Case("tiny_norm_other_eps", f"a tall 5×3 matrix of norm {np.linalg.norm(small):.1e}, below ε = 1e-6, 6 steps",
             [dict(G=small, steps=6, eps=1e-6)],
             "use the ε you are given: X = G / max(‖G‖_F, ε), here G / ε with ε = 1e-6."),
    ]


def _newton_schulz_like(G, steps, eps, *, norm="frobenius", floor="clamp", coefficients=QUINTIC, fixed_steps=None,
                        fixed_eps=None, transpose_back=True, float32=False):
    """A deliberately configurable Newton–Schulz, used only to recognise mistakes."""
    X = np.asarray(G, dtype=np.float32 if float32 else float)
    a, b, c = (np.float32(k) for k in coefficients) if float32 else coefficients
    eps = eps if fixed_eps is None else fixed_eps
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.T
    size = {"frobenius": lambda: np.linalg.norm(X), "spectral": lambda: np.linalg.norm(X, 2),
            "max": lambda: np.max(np.abs(X)), "none": lambda: 1.0}[norm]()
    if norm != "none":
        X = X / {"clamp": max(size, eps), "add": size + eps, "none": size}[floor]
    for _ in range(steps if fixed_steps is None else fixed_steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if (tall and transpose_back) else X


def _newton_schulz_mistake(**flags) -> Callable:
    def newton_schulz(G, steps, eps):
        return _newton_schulz_like(G, steps, eps, **flags)
    return newton_schulz


NEWTON_SCHULZ = Exercise(
    "newton_schulz", "newton_schulz(G, steps=5, eps=1e-7) -> X", ("X",), _newton_schulz_reference,
    _newton_schulz_cases,
    (
        Mistake(_newton_schulz_mistake(transpose_back=False),
                "you worked on Gᵀ for a tall G (right) but returned it as it was: transpose the result back, "
                "so that it has G's shape."),
        Mistake(_newton_schulz_mistake(norm="spectral"),
                "you divided by the spectral norm (the largest singular value, np.linalg.norm(G, 2)). Divide by "
                "the Frobenius norm ‖G‖_F = √(Σ G²), np.linalg.norm(G) with no ord, as torch does."),
        Mistake(_newton_schulz_mistake(norm="max"),
                "you divided by the largest entry |G_ij|. Divide by the Frobenius norm ‖G‖_F = √(Σ G²) "
                "(np.linalg.norm(G)): it is at least the largest singular value, so every σ starts at most 1."),
        Mistake(_newton_schulz_mistake(norm="none"),
                "normalise first: X = G / max(‖G‖_F, ε), so that every singular value starts at most 1 "
                "(larger ones blow up under the iteration)."),
        Mistake(_newton_schulz_mistake(coefficients=_CUBIC),
                "those are the classical cubic's coefficients, X ← 1.5X − 0.5 A X. torch uses Keller Jordan's "
                "quintic: (a, b, c) = (3.4445, −4.7750, 2.0315), X ← aX + (bA + cA²)X."),
        Mistake(_newton_schulz_mistake(coefficients=(QUINTIC[0], QUINTIC[2], QUINTIC[1])),
                "b and c are swapped: b = −4.7750 multiplies A, c = 2.0315 multiplies A² (A = X Xᵀ)."),
        Mistake(_newton_schulz_mistake(floor="add"),
                "ε is a floor, not a term: torch divides by max(‖G‖_F, ε) (a clamp); ‖G‖_F + ε (Keller Jordan's "
                "form) differs when ‖G‖_F is tiny."),
        Mistake(_newton_schulz_mistake(floor="none"),
                "‖G‖_F is below ε here: divide by max(‖G‖_F, ε), which is ε, not by ‖G‖_F itself."),
        Mistake(_newton_schulz_mistake(fixed_eps=1e-7),
                "use the eps argument you are given: your code divided as if ε were always 1e-7 (the default)."),
        Mistake(_newton_schulz_mistake(fixed_steps=5),
                "use the steps argument: your code ran 5 iterations whatever `steps` said."),
        Mistake(_newton_schulz_mistake(float32=True), _FLOAT32_HINT, tolerance=1e-4),
    ),
)


def _muon_reference(W, grad, B, lr, momentum, nesterov, weight_decay, ns_steps):
    rule = Muon(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, ns_steps=ns_steps)
    W, state = rule.step(W, grad, MuonState(B=B))
    return W, state.B


def _quadratic_gradient(target: np.ndarray) -> AffineGradient:
    """The gradient W − T of ½‖W − T‖²."""
    return AffineGradient(100.0 * np.ones_like(target), -100.0 * target)


def _muon_cases(rng: np.random.Generator) -> list[Case]:
    def state(shape, **hyper):
        # gradients and momentum of norm ~100: an ε added to ‖·‖ instead of max(‖·‖, ε) changes nothing here
        return dict(W=_matrix(rng, shape), grad=_matrix(rng, shape, 100.0), B=100.0 * _values(rng, shape, -0.5, 0.5),
                    **hyper)

    first = dict(W=_matrix(rng, (3, 5)), grad=_matrix(rng, (3, 5), 100.0), B=np.zeros((3, 5)))
    target = _matrix(rng, (4, 3))
    start = dict(W=_matrix(rng, (4, 3)), grad=None, B=np.zeros((4, 3)), lr=0.02, momentum=0.95, nesterov=True,
                 weight_decay=0.1, ns_steps=5)
    return [
        Case("first_step", "first step of a wide 3×5 W, from B = 0",
             [dict(first, lr=0.02, momentum=0.95, nesterov=True, weight_decay=0.0, ns_steps=5)],
             "B ← μB + (1 − μ)g; U = (1 − μ)g + μB (the new B); O = newton_schulz(U, ns_steps); "
             "W ← W − η √max(1, rows/cols) O. Check newton_schulz first: muon_step uses it."),
        Case("preset_buffer", "a tall 6×3 W (scale √2), from a given B, μ = 0.9",
             [state((6, 3), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0, ns_steps=5)],
             "update B first, B ← μB + (1 − μ)g, then mix the new B: U = (1 − μ)g + μB. A tall W "
             "(rows > cols) steps √(rows/cols) times further."),
        Case("no_nesterov", "nesterov=False on a wide 4×8 W, μ = 0.8, 4 NS steps",
             [state((4, 8), lr=0.03, momentum=0.8, nesterov=False, weight_decay=0.0, ns_steps=4)],
             "without Nesterov, orthogonalise the new buffer itself: O = newton_schulz(B, ns_steps). A wide W "
             "(rows < cols) gets no scale: √max(1, rows/cols) = 1."),
        Case("weight_decay", "weight decay λ = 0.2, η = 0.1, on a tall 8×2 W (scale 2), 3 NS steps",
             [state((8, 2), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.2, ns_steps=3)],
             "the decay is decoupled and uses η itself: W ← W (1 − ηλ), then W ← W − η √max(1, rows/cols) O; "
             "λ never enters B or U."),
        Case("trajectory", "20 steps on ½‖W − T‖² for a tall 4×3 W, from B = 0, λ = 0.1",
             [start], "pass the returned W and B into the next step.", chain=20,
             gradient=_quadratic_gradient(target), parameter="W"),
    ]


def _muon_like(W, grad, B, lr, momentum, nesterov, weight_decay, ns_steps, *, plain_sum=False, nesterov_sum=False,
               nesterov_reversed=False, always_nesterov=False, never_nesterov=False,
               l2=False, decay_after=False, decay_scaled=False, decay_without_lr=False, scale="original",
               orthogonalise=True, default_ns_steps=False, return_old_buffer=False, float32=False):
    """A deliberately configurable Muon step, used only to recognise mistakes."""
    if float32:
        W, grad, B = (np.asarray(x, dtype=np.float32) for x in (W, grad, B))
        lr, momentum, weight_decay = np.float32(lr), np.float32(momentum), np.float32(weight_decay)
    mu = momentum
    if l2:
        grad = grad + weight_decay * W
    B_new = mu * B + grad if plain_sum else mu * B + (1 - mu) * grad
    use_nesterov = (nesterov or always_nesterov) and not never_nesterov
    if not use_nesterov:
        U = B_new
    elif plain_sum or nesterov_sum:
        U = grad + mu * B_new
    elif nesterov_reversed:
        U = mu * grad + (1 - mu) * B_new
    else:
        U = (1 - mu) * grad + mu * B_new
    O = _newton_schulz_like(U, 5 if default_ns_steps else ns_steps, 1e-7, float32=float32) if orthogonalise else U
    rows, cols = W.shape
    s = {"original": math.sqrt(max(1, rows / cols)), "no_sqrt": max(1, rows / cols),
         "no_max": math.sqrt(rows / cols), "transposed": math.sqrt(max(1, cols / rows)), "none": 1.0,
         "match_rms_adamw": 0.2 * math.sqrt(max(rows, cols))}[scale]
    factor = 1 - (weight_decay if decay_without_lr else lr * weight_decay * (s if decay_scaled else 1))
    if not (l2 or decay_after):
        W = W * factor
    W = W - lr * s * O
    if decay_after and not l2:
        W = W * factor
    return W, (B if return_old_buffer else B_new)


def _muon_mistake(**flags) -> Callable:
    def muon_step(W, grad, B, lr, momentum, nesterov, weight_decay, ns_steps):
        return _muon_like(W, grad, B, lr, momentum, nesterov, weight_decay, ns_steps, **flags)
    return muon_step


MUON = Exercise(
    "muon_step", "muon_step(W, grad, B, lr, momentum=0.95, nesterov=True, weight_decay=0.0, ns_steps=5) -> (W, B)",
    ("W", "B"), _muon_reference, _muon_cases,
    (
        Mistake(_muon_mistake(plain_sum=True),
                "that is the form in torch's docstring, B ← μB + g (and g + μB for Nesterov). torch's code keeps "
                "an average: B ← μB + (1 − μ)g, and U = (1 − μ)g + μB. From B = 0 the two steps agree (newton_schulz "
                "removes the factor 1 − μ), but the B you return does not, and from a given B the step differs too."),
        Mistake(_muon_mistake(nesterov_sum=True),
                "the buffer is right; Nesterov's mix is an average too: U = (1 − μ)g + μB, not g + μB."),
        Mistake(_muon_mistake(nesterov_reversed=True),
                "Nesterov's weights are reversed: U = (1 − μ)g + μB (μ on the buffer), not μg + (1 − μ)B."),
        Mistake(_muon_mistake(always_nesterov=True),
                "with nesterov=False there is no mix: orthogonalise the new buffer B itself."),
        Mistake(_muon_mistake(never_nesterov=True),
                "with nesterov=True, orthogonalise U = (1 − μ)g + μB with the new B. Yours was the new B itself "
                "(which is also what mixing g with the old B gives: update B first, then mix)."),
        Mistake(_muon_mistake(l2=True),
                "that is L2: λW added to the gradient (torch's docstring calls it so). torch's code decays "
                "decoupled: W ← W (1 − ηλ) before the step, and g stays as it is."),
        Mistake(_muon_mistake(decay_after=True),
                "decay the W from before the step: W ← W (1 − ηλ) first, then W ← W − η s O."),
        Mistake(_muon_mistake(decay_scaled=True),
                "the decay uses η itself, W ← W (1 − ηλ); only the orthogonalised step is scaled by "
                "√max(1, rows/cols)."),
        Mistake(_muon_mistake(decay_without_lr=True),
                "the decay is W ← W (1 − ηλ): multiply λ by the learning rate η."),
        Mistake(_muon_mistake(scale="none"),
                "a tall W (more rows than columns) steps √(rows/cols) times further: W ← W − η √max(1, rows/cols) O, "
                "with rows, cols = W.shape (take them before any transpose)."),
        Mistake(_muon_mistake(scale="transposed"),
                "your scale used the transposed shape: with rows, cols = W.shape, the factor is √max(1, rows/cols), "
                "so a wide W (rows < cols) gets 1 and a tall one √(rows/cols)."),
        Mistake(_muon_mistake(scale="no_sqrt"),
                "the scale is the square root: √max(1, rows/cols), not rows/cols."),
        Mistake(_muon_mistake(scale="no_max"),
                "a wide W (rows < cols) is not scaled down: the factor is √max(1, rows/cols), which is 1 here, "
                "not √(rows/cols)."),
        Mistake(_muon_mistake(scale="match_rms_adamw"),
                "that is the 'match_rms_adamw' scale 0.2 √max(rows, cols); this exercise uses torch's default, "
                "'original': √max(1, rows/cols)."),
        Mistake(_muon_mistake(orthogonalise=False),
                "orthogonalise before stepping: O = newton_schulz(U, ns_steps), then W ← W − η √max(1, rows/cols) O."),
        Mistake(_muon_mistake(default_ns_steps=True),
                "pass ns_steps on: newton_schulz(U, ns_steps). Your code ran newton_schulz's default 5 steps."),
        Mistake(_muon_mistake(return_old_buffer=True),
                "return the new buffer B = μB + (1 − μ)g, so that the next step remembers it."),
        Mistake(_muon_mistake(float32=True), _FLOAT32_HINT, tolerance=1e-4),
    ),
)


def _muon_mask_reference(sizes):
    return MLP(tuple(sizes)).weight_mask()


def _muon_mask_cases(rng: np.random.Generator) -> list[Case]:
    widths = tuple(int(width) for width in rng.integers(1, 7, size=3)) + (int(rng.integers(2, 7)),)
    return [
        Case("one_layer", "one layer, sizes (2, 3): W is 2×3, b has 3 entries", [dict(sizes=(2, 3))],
             "θ holds W (fan_in · fan_out numbers, row by row) and then b (fan_out): True for W's entries "
             "(a matrix: Muon), False for b's (a vector: AdamW)."),
        Case("two_layers", "two layers, sizes (2, 2, 2)", [dict(sizes=(2, 2, 2))],
             "layer by layer: W₁, b₁, W₂, b₂. Every weight matrix goes to Muon, the last layer's too; "
             "every bias to AdamW."),
        Case("lesson_network", "the lesson's network, sizes (64, 32, 10): 2410 numbers",
             [dict(sizes=(64, 32, 10))],
             "the mask has one entry per number of θ: Σ (fan_in + 1) · fan_out of them."),
        Case("thin_layers", "a layer one unit wide, sizes (1, 4, 1, 3): W₁ is 1×4, W₂ 4×1, W₃ 1×3",
             [dict(sizes=(1, 4, 1, 3))],
             "a weight matrix goes to Muon even when one of its sides is 1 (1×4, 4×1): the rule is 'a matrix "
             "of the network' (torch's p.ndim == 2), not 'both sides larger than 1'. Only the biases go to AdamW."),
        Case("random_network", f"three layers of random widths, sizes {widths}", [dict(sizes=widths)],
             "walk the layers in order: fan_in · fan_out entries True (W), then fan_out entries False (b)."),
    ]


def _muon_mask_like(sizes, *, everything=False, inverted=False, weights_first=False, bias_first=False,
                    hidden_only=False):
    """A deliberately configurable split, used only to recognise mistakes."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if weights_first:
        return np.array([True] * sum(i * o for i, o in pairs) + [False] * sum(o for _, o in pairs))
    pieces = []
    for number, (fan_in, fan_out) in enumerate(pairs, start=1):
        muon = not (hidden_only and number == len(pairs))
        w, b = [muon] * (fan_in * fan_out), [everything] * fan_out
        pieces += (b + w) if bias_first else (w + b)
    mask = np.array(pieces, dtype=bool)
    return ~mask if inverted else mask


def _muon_mask_mistake(**flags) -> Callable:
    def muon_mask(sizes):
        return _muon_mask_like(sizes, **flags)
    return muon_mask


MUON_MASK = Exercise(
    "muon_mask", "muon_mask(sizes) -> mask", ("mask",), _muon_mask_reference, _muon_mask_cases,
    (
        Mistake(_muon_mask_mistake(everything=True),
                "the biases went to Muon too. Muon orthogonalises matrices; a bias is a vector (one row), which "
                "newton_schulz would keep only its direction (every entry rescaled by one number): biases go to AdamW (False)."),
        Mistake(_muon_mask_mistake(inverted=True),
                "the mask is the wrong way round: True marks Muon's parameters, the weight matrices; False the "
                "biases, which go to AdamW."),
        Mistake(_muon_mask_mistake(weights_first=True),
                "θ is not all weights then all biases: it holds layer by layer W₁, b₁, W₂, b₂, … "
                "(model.layer_slices() in lessons_lib.mlp)."),
        Mistake(_muon_mask_mistake(bias_first=True),
                "in each layer θ holds W first (fan_in · fan_out numbers), then b (fan_out)."),
        Mistake(_muon_mask_mistake(hidden_only=True),
                "here every weight matrix goes to Muon, the output layer's too (as the course's MuonWithAdamW "
                "does). Keeping the output layer on AdamW is a recipe of Keller Jordan's speed runs, not "
                "this exercise's rule."),
    ),
)

# the range test and the average of the weights (lesson 12) ----------------------------------


def _range_test_lr_reference(t, lr_min, lr_max, steps):
    return lr_min * (lr_max / lr_min) ** (t / (steps - 1))


def _range_test_lr_cases(rng: np.random.Generator) -> list[Case]:
    steps = int(rng.integers(100, 400))
    lr_min = float(10.0 ** -rng.integers(5, 8))
    lr_max = float(rng.choice([1.0, 3.0, 10.0]))
    hyper = dict(lr_min=lr_min, lr_max=lr_max, steps=steps)
    middle = int(rng.integers(steps // 4, 3 * steps // 4))
    return [
        Case("first", f"update t = 0 of {steps}, η from {lr_min:g} to {lr_max:g}", [dict(t=0, **hyper)],
             "the test starts at η = lr_min: lr_min · (lr_max / lr_min)^(t / (steps − 1)) at t = 0."),
        Case("last", f"update t = {steps - 1}, the last of {steps}", [dict(t=steps - 1, **hyper)],
             "the last update (t = steps − 1) uses η = lr_max exactly: divide t by steps − 1, not by steps."),
        Case("middle", f"update t = {middle} of {steps}: η grows by the same factor every update",
             [dict(t=middle, **hyper)],
             "η grows exponentially: lr_min · (lr_max / lr_min)^(t / (steps − 1)), a straight line on a log axis."),
        Case("other_range", "η from 1e-4 to 0.1 over 50 updates, update 10",
             [dict(t=10, lr_min=1e-4, lr_max=0.1, steps=50)],
             "lr_min · (lr_max / lr_min)^(t / (steps − 1)), with this case's own lr_min, lr_max and steps."),
    ]


def _range_test_lr_mistake(per_steps: bool = False, linear: bool = False, swapped: bool = False) -> Callable:
    def lr(t, lr_min, lr_max, steps):
        if swapped:
            lr_min, lr_max = lr_max, lr_min
        fraction = t / steps if per_steps else t / (steps - 1)
        if linear:
            return lr_min + (lr_max - lr_min) * fraction
        return lr_min * (lr_max / lr_min) ** fraction
    return lr


RANGE_TEST_LR = Exercise(
    "range_test_lr", "range_test_lr(t, lr_min, lr_max, steps) -> lr", ("lr",),
    _range_test_lr_reference, _range_test_lr_cases,
    (
        Mistake(_range_test_lr_mistake(per_steps=True),
                "the last update is t = steps − 1 and must reach lr_max: the exponent is t / (steps − 1)."),
        Mistake(_range_test_lr_mistake(linear=True),
                "η grows exponentially (by the same factor each update), not linearly: "
                "lr_min · (lr_max / lr_min)^(t / (steps − 1)). Linear spacing spends almost all updates near lr_max."),
        Mistake(_range_test_lr_mistake(swapped=True), "the test starts at lr_min and grows to lr_max, not the reverse."),
    ),
)


def _smooth_reference(losses, beta):
    return ewma(losses, beta, bias_correction=True)


def _smooth_cases(rng: np.random.Generator) -> list[Case]:
    beta = float(rng.choice([0.9, 0.95, 0.98]))
    losses = np.round(rng.uniform(1.5, 2.5, int(rng.integers(8, 15))), 3)
    return [
        Case("first", f"three losses, β = {beta:g}: the first value is the loss itself",
             [dict(losses=losses[:3], beta=beta)],
             "start from m = 0 and divide by 1 − βᵗ: the first smoothed value is then exactly the first loss."),
        Case("sequence", f"{len(losses)} noisy losses, β = {beta:g}", [dict(losses=losses, beta=beta)],
             "m_t = β m_{t−1} + (1 − β) x_t from m_0 = 0, then m_t / (1 − βᵗ) with t counted from 1."),
        Case("other_beta", f"{len(losses)} losses, β = 0.5", [dict(losses=losses, beta=0.5)],
             "use the β you are given: m_t = β m_{t−1} + (1 − β) x_t, then m_t / (1 − βᵗ)."),
    ]


def _smooth_mistake(no_correction: bool = False, swapped: bool = False, off_by_one: bool = False) -> Callable:
    def smooth(losses, beta):
        losses = np.asarray(losses, dtype=float)
        out, m = np.empty_like(losses), 0.0
        for t, x in enumerate(losses, start=1):
            m = (1 - beta) * m + beta * x if swapped else beta * m + (1 - beta) * x
            power = t + 1 if off_by_one else t
            out[t - 1] = m if no_correction else m / (1 - beta**power)
        return out
    return smooth


SMOOTH = Exercise(
    "smooth", "smooth(losses, beta) -> smoothed", ("smoothed",),
    _smooth_reference, _smooth_cases,
    (
        Mistake(_smooth_mistake(no_correction=True),
                "divide by 1 − βᵗ: without it the average starts near 0 (lesson 06), and the range test "
                "would show a loss that falls at the start only because the average warms up."),
        Mistake(_smooth_mistake(swapped=True), "the new loss gets the small weight 1 − β, the old average β."),
        Mistake(_smooth_mistake(off_by_one=True), "t counts from 1 at the first loss: divide by 1 − β¹ there."),
    ),
)


def _weight_average_reference(average, theta, t, beta):
    t = t + 1
    average = beta * average + (1 - beta) * theta
    return average, average / (1 - beta**t), t


def _weight_average_cases(rng: np.random.Generator) -> list[Case]:
    beta = float(rng.choice([0.99, 0.995, 0.998]))
    theta = _values(rng, 4)
    return [
        Case("first", f"the first step from average = 0 (t = 0), β = {beta:g}",
             [dict(average=np.zeros(4), theta=theta, t=0, beta=beta)],
             "after one step the corrected average is θ itself: (1 − β) θ / (1 − β¹)."),
        Case("later", f"a later step: t = 20, a running average, β = {beta:g}",
             [dict(average=_values(rng, 4, -0.5, 0.5), theta=theta, t=20, beta=beta)],
             "t ← t + 1; average ← β average + (1 − β) θ; the weights to evaluate are average / (1 − βᵗ) "
             "with the new t."),
        Case("other_beta", "t = 3, β = 0.5", [dict(average=_values(rng, 4, -0.5, 0.5), theta=theta, t=3, beta=0.5)],
             "use the β you are given, and the new t = 4 in 1 − βᵗ."),
    ]


def _weight_average_mistake(no_correction: bool = False, old_t: bool = False, swapped: bool = False) -> Callable:
    def step(average, theta, t, beta):
        new_t = t + 1
        average = (1 - beta) * average + beta * theta if swapped else beta * average + (1 - beta) * theta
        if no_correction:
            return average, average, new_t
        return average, average / (1 - beta ** (t if old_t else new_t)), new_t
    return step


WEIGHT_AVERAGE = Exercise(
    "weight_average_step", "weight_average_step(average, theta, t, beta) -> (average, theta_bar, t)",
    ("average", "theta_bar", "t"),
    _weight_average_reference, _weight_average_cases,
    (
        Mistake(_weight_average_mistake(no_correction=True),
                "the weights to evaluate are the corrected average, average / (1 − βᵗ): uncorrected, they "
                "start near 0, a network that predicts nothing."),
        Mistake(_weight_average_mistake(old_t=True), "count the step first (t ← t + 1), then correct with the new t."),
        Mistake(_weight_average_mistake(swapped=True), "the new θ gets the small weight 1 − β, the old average β."),
    ),
)


#: Every exercise, by the name ``check`` looks up (lesson 05's Adam under its own key).
EXERCISES: dict[str, Exercise] = {
    "gd_step": GD,
    "minibatch_gradient": MINIBATCH,
    "momentum_step": MOMENTUM,
    "ema_momentum_step": EMA_MOMENTUM,
    "adagrad_step": ADAGRAD,
    "rmsprop_step": RMSPROP,
    "adam_step (no bias correction)": ADAM_UNCORRECTED,
    "adam_step": ADAM,
    "adamw_step": ADAMW,
    "clip_by_global_norm": CLIP,
    "warmup_cosine": WARMUP_COSINE,
    "amsgrad_step": AMSGRAD,
    "lion_step": LION,
    "newton_schulz": NEWTON_SCHULZ,
    "muon_step": MUON,
    "muon_mask": MUON_MASK,
    "range_test_lr": RANGE_TEST_LR,
    "smooth": SMOOTH,
    "weight_average_step": WEIGHT_AVERAGE,
}


# --- running a student's function ------------------------------------------------------------


class _Problem(Exception):
    """Something about a student's function that a check reports in words."""


def _copy(value: object) -> object:
    return value.copy() if isinstance(value, np.ndarray) else value


def _where_in_your_code(error: BaseException) -> str:
    """'line 4: return theta - lr * grd' for the last line of the student's code in the traceback."""
    this_file, numpy_dir = Path(__file__).resolve(), Path(np.__file__).resolve().parent
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename).resolve() if not frame.filename.startswith("<") else Path(frame.filename)
        if path == this_file or numpy_dir in path.parents:
            continue
        line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
        return f" (in {frame.name}, line {frame.lineno}" + (f": {line})" if line else ")")
    return ""


def _call(exercise: Exercise, function: Callable, kwargs: dict, student: bool) -> tuple:
    """Call ``function`` with copies of the arguments; return its outputs as a tuple.

    For the student's function, raise ``_Problem`` when it raises, modifies its
    inputs, or returns the wrong number of values.
    """
    arguments = {name: _copy(value) for name, value in kwargs.items()}
    with np.errstate(all="ignore"):  # a division by zero shows as inf/nan in the report, not as a warning
        try:
            result = function(**arguments)
        except NotImplementedError:
            raise
        except Exception as error:
            if not student:
                raise
            message = f"your function raised {type(error).__name__}: {error}{_where_in_your_code(error)}"
            if isinstance(error, TypeError) and "argument" in str(error):
                message += f"\nkeep the signature given in the notebook: {exercise.signature}"
            raise _Problem(message) from None
    if student:
        for name, value in kwargs.items():
            if isinstance(value, np.ndarray) and not np.array_equal(arguments[name], value, equal_nan=True):
                raise _Problem(f"your function changed its input {name} in place (with -=, += or [...] =); "
                               f"compute a new array instead, e.g. {name} = {name} - ... rather than {name} -= ...")
    if len(exercise.outputs) == 1:
        return (result,)
    if result is None:
        raise _Problem("your function returned None: did you forget the return statement?")
    if not isinstance(result, (tuple, list)) or len(result) != len(exercise.outputs):
        raise _Problem(f"your function returned {_describe(result)}; it must return {len(exercise.outputs)} values, "
                       f"({', '.join(exercise.outputs)})")
    return tuple(result)


def _run(exercise: Exercise, case: Case, function: Callable, student: bool = False) -> list[tuple]:
    """The outputs of every call of a case (one per step for a trajectory)."""
    if not case.chain:
        return [_call(exercise, function, kwargs, student) for kwargs in case.calls]
    kwargs, outputs = dict(case.calls[0]), []
    for step in range(1, case.chain + 1):
        kwargs["grad"] = case.gradient(np.asarray(kwargs[case.parameter], dtype=float))
        try:
            result = _call(exercise, function, kwargs, student)
        except _Problem as problem:
            raise _Problem(f"at step {step}: {problem}") from None
        outputs.append(result)
        kwargs.update(zip(exercise.outputs, result))
        if student:  # check as we go, so that a wrong value stops the run (no overflow later on)
            values = [_as_array(value) for value in result]
            if any(value is None or value.dtype.kind not in "iuf" or not np.isfinite(value).all() for value in values):
                break
    return outputs


def _describe(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__} ({value!r:.40})"


def _as_array(value: object) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _show(value: object) -> str:
    array = _as_array(value)
    if array is None:
        return _describe(value)
    text = np.array2string(array, precision=8, separator=", ", threshold=12, max_line_width=10**6)
    return " ".join(text.split())  # a matrix on one line


def _agrees(expected: object, got: object, rtol: float = RTOL, atol: float = SCALED_ATOL) -> bool:
    """Whether an output agrees with the expected one (the same type and shape, equal within the tolerances)."""
    if isinstance(expected, (int, np.integer)):  # the step count t
        return not (isinstance(got, (bool, np.bool_)) or not isinstance(got, Real) or got != expected)
    if isinstance(expected, np.ndarray) and expected.dtype == bool and np.asarray(got).dtype != bool:
        return False  # a 0/1 mask indexes θ by position, not by mask
    array, expected = _as_array(got), np.asarray(expected, dtype=float)
    if array is None or array.shape != expected.shape:
        return False
    scale = float(np.max(np.abs(expected), initial=0.0)) if np.isfinite(expected).all() else 0.0
    return bool(np.isclose(array, expected, rtol=rtol, atol=atol * scale, equal_nan=True).all())


def _difference(name: str, expected: object, got: object) -> str:
    """What differs between an expected output and the returned one that does not agree with it, in words."""
    if isinstance(expected, (int, np.integer)):  # the step count t
        return f"{name}: expected {expected}, got {got!r}"
    if isinstance(expected, np.ndarray) and expected.dtype == bool and np.asarray(got).dtype != bool:
        return (f"{name}: expected a boolean array (dtype bool), got dtype {np.asarray(got).dtype}: "
                f"θ[mask] with 0/1 integers picks θ[0] and θ[1], not the masked entries")
    array, expected = _as_array(got), np.asarray(expected, dtype=float)
    if array is None:
        return f"{name}: expected an array of shape {expected.shape}, got {_describe(got)}"
    if array.shape != expected.shape:
        return f"{name} has shape {array.shape}, expected shape {expected.shape}"
    with np.errstate(all="ignore"):
        difference = np.abs(array - expected)
    note = f"   (largest difference {np.max(difference):.3g})" if np.isfinite(difference).all() else ""
    return f"{name}: expected {_show(expected)}\n{' ' * (len(name) + 7)}got {_show(array)}{note}"


def _disagreements(exercise: Exercise, expected: list[tuple], got: list[tuple], rtol: float = RTOL,
                   atol: float = SCALED_ATOL) -> Iterator[tuple[int, str, tuple, object, object]]:
    """(step number, output name, that step's expected outputs, the expected output, the returned one) for each
    returned output that does not agree with the expected one, in order."""
    for number, (wanted, returned) in enumerate(zip(expected, got), start=1):
        for name, want, have in zip(exercise.outputs, wanted, returned):
            if not _agrees(want, have, rtol, atol):
                yield number, name, wanted, want, have


def _first_difference(exercise: Exercise, expected: list[tuple], got: list[tuple], rtol: float = RTOL,
                      atol: float = SCALED_ATOL) -> str | None:
    """The first output (of the first call) that differs, in words; None if all agree."""
    for number, name, wanted, want, have in _disagreements(exercise, expected, got, rtol, atol):
        prefix = f"after step {number}: " if len(expected) > 1 else ""
        difference = _difference(name, want, have).replace("\n", "\n" + " " * len(prefix))  # 'got' under 'expected'
        return prefix + difference + _swapped(exercise, name, wanted, have)
    if len(got) < len(expected):
        return f"after step {len(got)} your values were no longer finite numbers: {_show(got[-1][0])}"
    return None


def _all_agree(exercise: Exercise, expected: list[tuple], got: list[tuple], rtol: float = RTOL,
               atol: float = SCALED_ATOL) -> bool:
    """Whether ``_first_difference`` finds nothing (the same decision, without putting it in words)."""
    return len(got) >= len(expected) and next(_disagreements(exercise, expected, got, rtol, atol), None) is None


def _swapped(exercise: Exercise, name: str, wanted: tuple, have: object) -> str:
    """A note when a wrong output equals another expected output (values returned in the wrong order)."""
    for other, value in zip(exercise.outputs, wanted):
        if other != name and not isinstance(value, int) and _agrees(value, have):
            order = ", ".join(exercise.outputs)
            return f"\n{name} holds what {other} should be: return the values in the order ({order})"
    return ""


def _matching_mistake(exercise: Exercise, case: Case, got: list[tuple]) -> Mistake | None:
    """The known mistake that produces exactly what the student's function returned, if any."""
    single = _single_precision(got)
    for mistake in exercise.mistakes:
        if mistake.tolerance is not None and not single:  # float32 look-alikes: only for float32 answers
            continue
        try:
            wrong = _run(exercise, case, mistake.function)
        except Exception:  # a mistake that cannot even run on this case does not match it
            continue
        tolerances = (RTOL, SCALED_ATOL) if mistake.tolerance is None else (mistake.tolerance, mistake.tolerance)
        if len(wrong) >= len(got) and _all_agree(exercise, wrong[: len(got)], got, *tolerances):
            return mistake
    return None


def _check_case(exercise: Exercise, case: Case, function: Callable) -> CaseResult:
    try:
        got = _run(exercise, case, function, student=True)
    except _Problem as problem:
        return judge_case(exercise, case, [], str(problem))
    return judge_case(exercise, case, got)


def _single_precision(got: list[tuple]) -> bool:
    """True if a returned value is a float32 (or float16) array or number."""
    return any(isinstance(value, (np.ndarray, np.floating)) and value.dtype.kind == "f" and value.dtype.itemsize < 8
               for outputs in got for value in outputs)


def judge_case(exercise: Exercise, case: Case, got: list[tuple], problem: str = "") -> CaseResult:
    """The verdict on one case, from what the student's function returned (the outputs of each call).

    ``problem``: what went wrong while calling it (it raised, changed an input, ...), in words.
    Only data comes in: the grader gets ``got`` from the sandbox that ran the student's code.
    """
    if problem:
        return CaseResult(case.title, False, problem, case.hint)
    expected = _run(exercise, case, exercise.reference)
    difference, single = _first_difference(exercise, expected, got), _single_precision(got)
    if difference is None and not single:
        return CaseResult(case.title, True)
    if difference is None:  # right to 1e-7, but in float32: right by luck of the rounding, not by the rule
        return CaseResult(case.title, False, "your function returned float32 numbers (single precision), "
                          "where the reference computes in float64", _PRECISION_HINT)
    mistake = _matching_mistake(exercise, case, got)
    hint = mistake.hint if mistake else case.hint
    if single and (mistake is None or mistake.tolerance is None):
        near = _all_agree(exercise, expected, got, _SINGLE_RTOL, _SINGLE_RTOL)
        hint = _PRECISION_HINT if near else hint + "\n" + _PRECISION_NOTE
    if re.search(r"\b(nan|inf)\b", difference):
        hint += "\n(inf or nan: a division by zero or an overflow somewhere.)"
    return CaseResult(case.title, False, difference, hint)


def _exercise_for(function: object, bias_correction: bool | None) -> tuple[str, Exercise]:
    if not callable(function):
        raise TypeError(f"check expects your function itself, e.g. check(gd_step), not {_describe(function)}")
    name = getattr(function, "__name__", "")
    if bias_correction is not None and name != "adam_step":
        raise ValueError("bias_correction=... is only for adam_step")
    key = "adam_step (no bias correction)" if (name == "adam_step" and bias_correction is False) else name
    if key not in EXERCISES:
        known = ", ".join(sorted({exercise.function_name for exercise in EXERCISES.values()}))
        raise ValueError(f"check knows the exercise functions {known}; yours is called {name!r}. "
                         "Keep the name given in the notebook.")
    return key, EXERCISES[key]


def check(function: Callable, *, bias_correction: bool | None = None, seed: int = 0,
          cases: Iterable[str] | None = None) -> CheckResult:
    """Check an exercise function: run it on a few cases and compare with the reference rule.

    ``function`` is your function itself (``check(gd_step)``); which exercise it is
    comes from its name. For lesson 05's Adam, which has no bias correction yet,
    write ``check(adam_step, bias_correction=False)``.

    ``seed`` picks other random inputs (the hidden tests use other seeds);
    ``cases`` picks cases by key (``"first_step"``, ``"trajectory"``, ...).
    Your function is called with copies of the inputs and keyword arguments.
    """
    key, exercise = _exercise_for(function, bias_correction)
    selected = exercise.make_cases(np.random.default_rng(seed))
    if cases is not None:
        wanted = list(cases)
        unknown = sorted(set(wanted) - {case.key for case in selected})
        if unknown:
            raise ValueError(f"unknown cases {unknown} for {key}; known: {[case.key for case in selected]}")
        selected = [case for case in selected if case.key in wanted]
    results = []
    for case in selected:
        try:
            results.append(_check_case(exercise, case, function))
        except NotImplementedError:
            return CheckResult(key, [CaseResult(
                "not written yet (it still raises NotImplementedError)", False)], single=True)
    return CheckResult(key, results)


# --- questions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A question with one right answer, stored as a fingerprint (see ``fingerprint``)."""

    prompt: str
    fingerprint: str
    hint: str
    choices: tuple[str, ...] = ()  # for an answer in words; empty for a number


def _normalise(value: object, choices: tuple[str, ...]) -> str:
    if choices:
        return str(value).strip().lower()
    return f"{float(value):.3g}"


def fingerprint(question_id: str, value: object, choices: tuple[str, ...] = ()) -> str:
    """A hash of an answer: numbers rounded to 3 significant digits, words in lower case.

    So 0.5, 0.5000001 and 2/4 have the same fingerprint, and 0.51 another one.
    """
    text = f"{question_id}={_normalise(value, choices)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


QUESTIONS: dict[str, Question] = {
    "lr_max": Question(
        "the largest learning rate for which gradient descent converges on L = 0.1x² + 2y²",
        "274bc9a78a1201f6",
        "on a quadratic, gradient descent is stable when η < 2 / λ_max, where λ_max is the largest "
        "curvature (the second derivative of the steepest direction)."),
    "batch_noise": Question(
        "the standard deviation of a minibatch gradient at B = 64, if it is 0.8 at B = 4",
        "f64a821e7d700807",
        "the noise of an average of B independent samples falls like 1/√B."),
    "ema_lr": Question(
        "the PyTorch-form learning rate that follows the same path as the EMA form with η = 0.5, β = 0.9",
        "b124cb72ddd75063",
        "write the EMA velocity v as (1 − β) times PyTorch's buffer b, and put that factor into η."),
    "adagrad_step_size": Question(
        "the length of AdaGrad's 100th step for a constant gradient g = 1, η = 0.1, s₀ = 0 (ε negligible)",
        "69f251f216fe8d5c",
        "after t steps of g = 1 the sum is s = t; the step is η g / √s."),
    "uncorrected_first_step": Question(
        "how many times η is Adam's first step without bias correction (β₁ = 0.9, β₂ = 0.999, ε negligible)",
        "d2df688704938706",
        "on the first step from zero, m = (1 − β₁) g and v = (1 − β₂) g²; divide m by √v."),
    "corrected_first_step": Question(
        "how many times η is Adam's first step with bias correction (β₁ = 0.9, β₂ = 0.999, ε negligible)",
        "005deb222d4a95d5",
        "with correction, m̂ = g and v̂ = g² on the first step, whatever β₁ and β₂ are."),
    "v_correction": Question(
        "the factor that bias correction multiplies v by at t = 1, for β₂ = 0.999",
        "1f8e75825f6fb85d",
        "v̂ = v / (1 − β₂ᵗ): the factor is 1 / (1 − β₂ᵗ) at t = 1."),
    "adam_weight_decay": Question(
        "whether torch.optim.Adam(weight_decay=…) does L2 regularisation or decoupled weight decay",
        "79fa72ed30b6f677",
        "look at where PyTorch's Adam puts λθ: into the gradient (before m and v), or onto θ directly?",
        choices=("L2", "decoupled")),
    "warmup_cosine_midpoint": Question(
        "the learning rate of update 550 under warm-up + cosine with η = 0.001, 100 warm-up steps, "
        "1000 steps in all, min_lr = 0",
        "5dd3115a5eee36c7",
        "550 is past the warm-up: the cosine's progress is p = (step − W) / (T − W); the rate is η (1 + cos πp) / 2."),
    "lion_step_length": Question(
        "how far Lion moves each coordinate in one step, with η = 1e-4, no weight decay and c ≠ 0",
        "b9ccd4f92803396a",
        "the step is η sign(c), and |sign(c)| = 1 for every c ≠ 0, however large or small the gradient."),
    "ns_rank_one": Question(
        "the singular value of newton_schulz(G) (5 steps, torch's coefficients) for a rank-one G",
        "1116c1a22f81e2b5",
        "a rank-one G has one singular value σ, and ‖G‖_F = σ, so X starts with σ = 1; each step maps σ to "
        "aσ + bσ³ + cσ⁵. Apply that five times (or take np.linalg.svd of your newton_schulz(np.outer(u, v)))."),
    "transpose_changes": Question(
        "what working on Gᵀ for a tall G changes in newton_schulz: the result, the cost, or both",
        "96cd6b2de3844772",
        "compare (X Xᵀ) X with X (Xᵀ X): the same product, grouped otherwise. What differs is the size of the "
        "matrix A that each step squares.",
        choices=("result", "cost", "both")),
    "range_test_pick": Question(
        "the learning rate the \"minimum / 10\" rule picks when the smoothed range test is lowest at η = 0.18",
        "b88433e555620ec9",
        "the minimum is where the loss is about to blow up; the rule steps back a decade from it: η_min / 10."),
}


def check_answer(question_id: str, value: object) -> CheckResult:
    """Check your answer to a question of an exercise notebook (never shows the right answer).

    Numbers count as right when they agree with the answer to 3 significant digits.
    """
    if question_id not in QUESTIONS:
        raise ValueError(f"unknown question {question_id!r}; the questions are {sorted(QUESTIONS)}")
    question = QUESTIONS[question_id]

    def verdict(title: str, passed: bool = False, details: str = "", hint: str = "") -> CheckResult:
        return CheckResult(question_id, [CaseResult(title, passed, details, hint)], single=True)

    if value is None or value is Ellipsis:
        return verdict("not answered yet")
    if question.choices:
        allowed = [choice.lower() for choice in question.choices]
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            choices = " or ".join(repr(choice) for choice in question.choices)
            return verdict("not an answer", details=f"answer {choices} (a string), not {value!r}.")
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not math.isfinite(float(value)):
        return verdict("not an answer", details=f"answer with a finite number, not {value!r}.")
    if fingerprint(question_id, value, question.choices) == question.fingerprint:
        return verdict("right", passed=True)
    return verdict("not right yet", details=f"you answered {value!r}.", hint=question.hint)
