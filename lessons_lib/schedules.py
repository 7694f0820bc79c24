"""Learning-rate schedules: the learning rate as a function of the update number.

Every schedule is a small frozen dataclass (checked when it is made) that you
call with the update number::

    schedule = Cosine(lr=0.1, total_steps=100)
    schedule(0)            # 0.1: the learning rate of the first update
    schedule.values(100)   # the learning rates of updates 0, 1, ..., 99, as an array

``step`` is 0-based: ``schedule(0)`` is the learning rate of the first update,
``schedule(t)`` that of update number t. This is what PyTorch's optimizer holds
in ``param_groups[0]["lr"]`` when ``optimizer.step()`` is called for the
(t + 1)-th time, if ``scheduler.step()`` is called after each
``optimizer.step()`` (PyTorch's documented order). The fixture
``tests/fixtures/torch_schedules.json`` records exactly that, and the tests
demand agreement to 1e-12.

A training loop uses a schedule by giving the rule a new learning rate before
each update (the rules are frozen dataclasses with an ``lr`` field)::

    rule = dataclasses.replace(rule, lr=schedule(step))

``__call__`` is plain Python arithmetic (``math``, no numpy), so that this costs
next to nothing per step.

The schedules:

* ``Constant``: η_t = η;
* ``StepDecay``: η_t = η γ^⌊t / step_size⌋ (``torch.optim.lr_scheduler.StepLR``);
* ``Exponential``: η_t = η γ^t (``ExponentialLR``);
* ``Cosine``: from η down to η_min along half a cosine over T steps
  (``CosineAnnealingLR``), then η_min;
* ``WarmupCosine``: a linear warm-up over W steps, then ``Cosine`` over the other
  T − W (``LinearLR`` then ``CosineAnnealingLR``, chained by ``SequentialLR``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lessons_lib.checks import check_learning_rate, check_non_negative, check_number, check_positive_int, set_checked


def check_whole_non_negative(value: object, name: str) -> int:
    """A whole number >= 0: an update number (0 is the first update), a number of warm-up steps."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


def check_gamma(value: object, name: str = "gamma") -> float:
    """A decay factor γ in (0, 1]: 1 keeps the learning rate, 0 would stop learning after one decay."""
    value = check_number(name, value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value} (the learning rate is multiplied by it)")
    return value


def check_start_factor(value: object, name: str = "start_factor") -> float:
    """The warm-up's starting fraction s of the peak learning rate, in [0, 1]."""
    value = check_number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value} (the warm-up starts at lr * {name})")
    return value


@dataclass(frozen=True)
class Schedule:
    """What every schedule has: a base (or peak) learning rate ``lr``, ``schedule(step)``, the learning rate
    of update ``step``, and ``values``.

    A schedule names the check of each of its other hyperparameters in ``checks``
    (run when it is made, after the check of ``lr``) and writes its formula in ``rate(step)``.
    """

    lr: float
    checks: ClassVar[dict[str, Callable[[object, str], object]]] = {}

    def __post_init__(self) -> None:
        set_checked(self, "lr", check_learning_rate)
        for field, check in self.checks.items():
            set_checked(self, field, check)
        # η_min must lie between 0 and η: the schedule anneals *down* to it.
        if getattr(self, "min_lr", 0.0) > self.lr:
            raise ValueError(
                f"min_lr must be <= lr, got min_lr={self.min_lr} > lr={self.lr} (the schedule decays from lr to min_lr)"
            )

    def __call__(self, step: int) -> float:
        """The learning rate of update ``step`` (0-based)."""
        return self.rate(check_whole_non_negative(step, "step"))

    def rate(self, step: int) -> float:
        """The formula, for a checked update number ``step``."""
        raise NotImplementedError

    def values(self, steps: int) -> np.ndarray:
        """The learning rates of updates 0, 1, ..., ``steps`` − 1, as a float64 array (for plots and tables)."""
        steps = check_positive_int(steps, "steps")
        return np.array([self(step) for step in range(steps)], dtype=np.float64)


@dataclass(frozen=True)
class Constant(Schedule):
    r"""The same learning rate for every update::

        η_t = η

    PyTorch: no scheduler at all (or ``LambdaLR(optimizer, lambda t: 1.0)``).
    Careful: ``torch.optim.lr_scheduler.ConstantLR`` is something else -- it
    multiplies η by a ``factor`` for the first ``total_iters`` steps, then
    returns to η.
    """

    name: str = "constant"

    def rate(self, step: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Multiply the learning rate by γ every ``step_size`` updates::

        η_t = η · γ^⌊t / step_size⌋

    so updates 0 … step_size − 1 use η, the next step_size use η γ, and so on.

    PyTorch: ``StepLR(optimizer, step_size, gamma)``, the same values (PyTorch
    gets them by multiplying the previous learning rate by γ, here γ is raised
    to a power: the two differ by rounding only, below 1e-15 in the tests).
    """

    step_size: int
    gamma: float = 0.1
    name: str = "step decay"
    checks: ClassVar = {"step_size": check_positive_int, "gamma": check_gamma}

    def rate(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class Exponential(Schedule):
    r"""Multiply the learning rate by γ after every update::

        η_t = η · γ^t

    The learning rate halves every ln 2 / ln(1/γ) updates (γ = 0.99: every 69).

    PyTorch: ``ExponentialLR(optimizer, gamma)``, the same values (up to
    rounding: PyTorch multiplies by γ step after step).
    """

    gamma: float
    name: str = "exponential"
    checks: ClassVar = {"gamma": check_gamma}

    def rate(self, step: int) -> float:
        return self.lr * self.gamma**step


@dataclass(frozen=True)
class Cosine(Schedule):
    r"""Cosine annealing from η down to η_min over T = ``total_steps`` updates::

        η_t = η_min + (η − η_min) · (1 + cos(π t / T)) / 2      for t ≤ T
        η_t = η_min                                              for t > T

    η_0 = η, η_{T/2} is halfway, η_T = η_min. A run of T updates uses
    t = 0 … T − 1, so its last update has a learning rate just above η_min;
    η_min itself is reached at t = T.

    PyTorch: ``CosineAnnealingLR(optimizer, T_max=T, eta_min=η_min)``.

    * For t ≤ T the values agree (PyTorch computes them recursively from the
      previous learning rate, here in closed form: they differ by rounding,
      below 1e-15 in the tests).
    * After T they differ: PyTorch's cosine goes on, back *up* to η at t = 2T
      and down again (a period of 2T); here the learning rate stays at η_min.
      Set T to the length of the run and the difference never shows.
    """

    total_steps: int
    min_lr: float = 0.0
    name: str = "cosine"
    checks: ClassVar = {"total_steps": check_positive_int, "min_lr": check_non_negative}

    def rate(self, step: int) -> float:
        if step >= self.total_steps:
            return self.min_lr
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * step / self.total_steps)) / 2


@dataclass(frozen=True)
class WarmupCosine(Schedule):
    r"""A linear warm-up over W = ``warmup_steps`` updates, then cosine annealing to η_min at T = ``total_steps``::

        η_t = η · (s + (1 − s) · t / W)                                    for t < W   (warm-up)
        η_t = η_min + (η − η_min) · (1 + cos(π (t − W) / (T − W))) / 2     for W ≤ t ≤ T
        η_t = η_min                                                        for t > T

    with s = ``start_factor``. The first update uses η s (0 if s = 0), the
    learning rate climbs by η (1 − s) / W per update, and the boundary update
    t = W is the first of the cosine and uses η itself, its peak. So the
    warm-up never reaches η; the cosine starts there. W = 0 gives ``Cosine``.

    PyTorch: ``SequentialLR(optimizer, [LinearLR(optimizer, start_factor=s,
    end_factor=1.0, total_iters=W), CosineAnnealingLR(optimizer, T_max=T − W,
    eta_min=η_min)], milestones=[W])``. Where the conventions meet and differ:

    * warm-up: the same values. ``LinearLR`` also starts at η·s, not at 0, and
      its η·(s + (1 − s)·t/W) is exactly the line above;
    * the boundary t = W: the same, η. ``SequentialLR`` hands over to the
      cosine at the milestone W and restarts it at its own step 0, whose value
      is η (``LinearLR`` would also have reached η at t = W);
    * cosine part: the same values, counted from W, reaching η_min at t = T;
    * s = 0 (warm-up from 0, as in Hugging Face's
      ``get_cosine_schedule_with_warmup``; the first update then does nothing)
      is allowed here, but ``LinearLR`` refuses it: it needs 0 < s ≤ 1;
    * after T, PyTorch's cosine swings back up (see ``Cosine``); here it stays
      at η_min.
    """

    warmup_steps: int
    total_steps: int
    min_lr: float = 0.0
    start_factor: float = 0.0
    name: str = "warm-up + cosine"
    checks: ClassVar = {"warmup_steps": check_whole_non_negative, "total_steps": check_positive_int,
                        "min_lr": check_non_negative, "start_factor": check_start_factor}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps must be < total_steps, got warmup_steps={self.warmup_steps} >= "
                f"total_steps={self.total_steps} (the cosine needs at least one step after the warm-up)"
            )

    def rate(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (self.start_factor + (1 - self.start_factor) * step / self.warmup_steps)
        if step >= self.total_steps:
            return self.min_lr
        angle = math.pi * (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(angle)) / 2
