"""Run an update rule for a number of steps and keep everything it did, on a surface or on given gradients.

::

    from lessons_lib.optim import Adam
    from lessons_lib.surfaces import get_surface
    from lessons_lib.runner import run

    surface = get_surface("rosenbrock")
    path = run(Adam(lr=0.05), surface, surface.start, steps=200)
    path.positions      # (201, 2): the start and the point after every step
    path.losses         # (201,)
    path.message        # "Adam ran 200 steps"

The loop is the one every lesson writes by hand::

    state = rule.init(θ₀)
    for t = 1 … steps:
        g = ∇L(θ_{t−1})
        θ_t, state = rule.step(θ_{t−1}, g, state)

and the losses L(θ_t) are computed after it (for a Surface, in one call).

A run that blows up is not an error: it stops, says at which step, and keeps
only the finite positions before it, so a plot never receives NaN or inf.

``replay(rule, grads)`` runs the same loop on a fixed sequence of gradients
instead (g_t = ``grads[t − 1]``, whatever θ is), to see what a rule does with
them; ``ewma(values, beta)`` is the exponential average that momentum and
Adam keep, of any sequence; ``steps_to_stay_below(losses, target)`` is when a run
has arrived: the step from which on its loss stays below the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import math

import numpy as np

from lessons_lib.checks import as_float_array, check_beta, check_flag, check_number, check_positive_int
from lessons_lib.surfaces import Surface, check_points


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Everything one run did, step by step.

    With n = ``steps_run`` completed steps:

    * ``positions``: shape (n + 1, *start.shape); ``positions[t]`` is θ_t,
      ``positions[0]`` the start;
    * ``losses``: shape (n + 1, ...), L(θ_t), or None when there was no loss function;
    * ``grads``: shape (n, *start.shape); ``grads[t − 1]`` is the gradient
      used by step t, that is ∇L(θ_{t−1});
    * ``states``: with ``record_state=True``, a list of n states, ``states[t − 1]``
      being the rule's state after step t; else None;
    * ``diverged_at``: the step t (1-based) that went wrong, or None; then
      ``steps_run = diverged_at − 1``;
    * ``reason``: what went wrong, in words (None if nothing did).
    """

    rule_name: str
    positions: np.ndarray
    losses: np.ndarray | None
    grads: np.ndarray
    states: list | None
    diverged_at: int | None
    steps_run: int
    reason: str | None = None

    @property
    def diverged(self) -> bool:
        """True if the run stopped early because something became too large or not finite."""
        return self.diverged_at is not None

    @property
    def steps(self) -> np.ndarray:
        """The steps Δθ_t = θ_t − θ_{t−1} for t = 1 … n: shape (n, *start.shape)."""
        return np.diff(self.positions, axis=0)

    @property
    def message(self) -> str:
        """One sentence about the run, e.g. ``"Adam diverged at step 37 (|θ| passed 1e+08)"``."""
        if self.diverged:
            return f"{self.rule_name} diverged at step {self.diverged_at} ({self.reason})"
        return f"{self.rule_name} ran {self.steps_run} step{'' if self.steps_run == 1 else 's'}"


def run(
    rule: object,
    problem: Surface | Callable[[np.ndarray], np.ndarray],
    start: object,
    steps: int,
    *,
    loss: Callable[[np.ndarray], object] | None = None,
    record_state: bool = False,
    max_abs: float = 1e8,
) -> Trajectory:
    """Run ``rule`` for ``steps`` steps from ``start`` and return the ``Trajectory``.

    Arguments:

    * ``rule``: an update rule with ``init(theta)`` and ``step(theta, grad, state)``
      (any class of ``lessons_lib.optim``);
    * ``problem``: a ``Surface`` (its ``grad`` and ``loss`` are used), or any
      function ``grad_fn(theta) -> gradient`` of the same shape as theta;
    * ``start``: θ₀, finite, of any shape the gradient accepts -- (2,) for one
      point on a surface, (K, 2) for K points run side by side;
    * ``steps``: how many steps, a whole number >= 1;
    * ``loss``: with a gradient function, an optional ``loss(theta)`` to record
      (not allowed with a Surface, which brings its own);
    * ``record_state``: keep the rule's state after every step;
    * ``max_abs``: a position with any |θ| entry above this counts as diverged.

    Step t (t = 1, 2, …) computes g = ∇L(θ_{t−1}) and then θ_t. The run
    diverges at step t if g is NaN or infinite, if θ_t is NaN or infinite or
    has an entry with |θ| > ``max_abs``, or if L(θ_t) is NaN or infinite.
    Nothing of step t is kept; ``steps_run`` is t − 1. With a batch of starts,
    one bad point stops the whole batch.

    Bad arguments raise ``ValueError`` before the first step, and so does a
    loss that is already NaN or infinite at the start.

    Everything runs under ``np.errstate(all="ignore")``: an overflow inside
    the gradient, the loss or the rule shows up as divergence, not as a warning.
    """
    check_rule(rule)
    grad_fn, loss_fn = _problem_functions(problem, loss)
    if isinstance(problem, Surface):
        theta = check_points(start, "start")
    else:
        theta = as_float_array(start, "start")
    steps = check_positive_int(steps, "steps")
    record_state = check_flag(record_state, "record_state")
    max_abs = check_number("max_abs", max_abs)
    if max_abs <= 0:
        raise ValueError(f"max_abs must be > 0, got {max_abs}")
    if np.abs(theta).max(initial=0.0) > max_abs:
        raise ValueError(
            f"start has an entry with |θ| > max_abs = {max_abs:g}; start nearer 0 or raise max_abs"
        )

    with np.errstate(all="ignore"):
        if loss_fn is not None and not np.isfinite(_loss_value(loss_fn, theta)).all():
            raise ValueError("the loss at start is NaN or infinite; choose another start")
        path = _descend(rule, grad_fn, theta, steps, record_state, max_abs)
        if loss_fn is not None:
            # A Surface's loss takes all positions at once, (n + 1, ..., 2): one call instead of n + 1.
            path = _add_losses(path, loss_fn, all_at_once=isinstance(problem, Surface))
    return path


def replay(rule: object, grads: object, start: object = None, *, record_state: bool = False) -> Trajectory:
    """Run ``rule`` on a fixed sequence of gradients: step t uses g_t = ``grads[t − 1]``, whatever θ is.

    ``grads`` has shape (T, *θ.shape), or (T,) for a single parameter (then
    θ has shape (1,)); θ₀ is ``start``, or zeros. The gradients are given,
    not computed: this isolates what a rule does with them, and two rules fed
    the same sequence can be compared step by step (``.steps``). The run stops
    early only if θ becomes NaN or infinite; it has no losses.
    """
    check_rule(rule)
    grads = as_float_array(grads, "grads")
    if grads.ndim == 1:
        grads = grads[:, None]
    if grads.ndim == 0 or len(grads) == 0:
        raise ValueError(f"grads must hold one gradient per step, at least one; got shape {grads.shape}")
    theta = np.zeros(grads.shape[1:]) if start is None else as_float_array(start, "start")
    if theta.shape != grads.shape[1:]:
        raise ValueError(f"start has shape {theta.shape}, but each gradient has shape {grads.shape[1:]}")
    record_state = check_flag(record_state, "record_state")
    sequence = iter(grads)
    with np.errstate(all="ignore"):
        return _descend(rule, lambda theta: next(sequence), theta, len(grads), record_state, max_abs=math.inf)


def steps_to_stay_below(losses: object, target: float) -> int | None:
    """The first step t from which on every loss is below ``target``; None if the last one is not.

    Stricter than the first step below the target: a run that dips below it and
    bounces back up has not arrived. A NaN counts as above.
    """
    above = np.flatnonzero(~(np.asarray(losses) < target))
    if above.size == 0:
        return 0
    return None if above[-1] == len(losses) - 1 else int(above[-1]) + 1


def ewma(values: object, beta: float, bias_correction: bool = False) -> np.ndarray:
    """The exponential moving average of a sequence (time on the first axis of ``values``), from m₀ = 0::

        m_t = β m_{t−1} + (1 − β) x_t        for t = 1 … T
        m̂_t = m_t / (1 − βᵗ)                 with bias_correction=True: the zero start divided out

    Returns m_1 … m_T (or m̂_1 … m̂_T), shaped like ``values``. A value k steps
    old has the weight (1 − β) βᵏ, so the average remembers about 1/(1 − β) values.
    """
    values = as_float_array(values, "values")
    beta = check_beta(beta, "beta")
    if values.ndim == 0 or len(values) == 0:
        raise ValueError("values must be a non-empty sequence, one value (or array) per step")
    averages = np.empty_like(values)
    m = np.zeros_like(values[0])
    for t, x in enumerate(values):
        m = beta * m + (1 - beta) * x
        averages[t] = m
    if check_flag(bias_correction, "bias_correction"):
        t = np.arange(1, len(values) + 1).reshape(-1, *[1] * (values.ndim - 1))
        averages /= 1 - beta**t
    return averages


def _descend(
    rule: object,
    grad_fn: Callable[[np.ndarray], object],
    theta: np.ndarray,
    steps: int,
    record_state: bool,
    max_abs: float,
) -> Trajectory:
    """The loop of ``run``, without losses: step until done or until θ or the gradient goes bad."""
    positions = [theta]
    grads = []
    states = [] if record_state else None
    diverged_at = None
    reason = None

    state = rule.init(theta)
    # The rules of lessons_lib.optim offer update(): step() without the argument checks, which this
    # loop makes itself (θ and g finite, of the same shape; the state comes from the rule).
    advance = getattr(rule, "update", rule.step)
    for t in range(1, steps + 1):
        g = _gradient(grad_fn, theta)
        if not np.isfinite(g).all():
            diverged_at, reason = t, "the gradient became NaN or infinite"
            break

        theta_next, state = advance(theta, g, state)
        largest = np.abs(theta_next).max(initial=0.0)  # NaN if any entry is NaN
        if not largest <= max_abs:
            if np.isfinite(largest):
                diverged_at, reason = t, f"|θ| passed {max_abs:g}"
            else:
                diverged_at, reason = t, "θ became NaN or infinite"
            break

        theta = theta_next
        positions.append(theta)
        grads.append(g)
        if record_state:
            states.append(state)

    return Trajectory(
        rule_name=str(getattr(rule, "name", type(rule).__name__)),
        positions=np.stack(positions),
        losses=None,
        grads=np.stack(grads) if grads else np.empty((0, *theta.shape)),
        states=states,
        diverged_at=diverged_at,
        steps_run=len(grads),
        reason=reason,
    )


def _add_losses(path: Trajectory, loss_fn: Callable[[np.ndarray], object], all_at_once: bool) -> Trajectory:
    """``path`` with the losses L(θ_t) filled in, cut short if one of them is NaN or infinite.

    If L(θ_t) is the first bad loss, step t diverged: keep θ_0 … θ_{t−1}.
    (t ≥ 1, since ``run`` checked the loss at the start.) This gives the same
    result as checking the loss inside the loop, after every step.
    """
    if all_at_once:
        losses = np.asarray(loss_fn(path.positions), dtype=np.float64)
    else:
        losses = np.stack([_loss_value(loss_fn, theta) for theta in path.positions])

    finite = np.isfinite(losses.reshape(len(losses), -1)).all(axis=1)
    if finite.all():
        return replace(path, losses=losses)
    t = int(np.argmin(finite))  # the index of the first False
    return replace(
        path,
        positions=path.positions[:t],
        losses=losses[:t],
        grads=path.grads[: t - 1],
        states=None if path.states is None else path.states[: t - 1],
        diverged_at=t,
        steps_run=t - 1,
        reason="the loss became NaN or infinite",
    )


def check_rule(rule: object) -> None:
    """Raise unless ``rule`` is an object with callable ``init`` and ``step`` methods."""
    if isinstance(rule, type):
        name = rule.__name__
        raise ValueError(f"rule must be an update rule object such as {name}(), not the class {name}")
    for method in ("init", "step"):
        if not callable(getattr(rule, method, None)):
            raise ValueError(
                f"rule must be an update rule with init(theta) and step(theta, grad, state) "
                f"(for example lessons_lib.optim.Adam()); {rule!r} has no {method}"
            )


def _problem_functions(
    problem: object, loss: object
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], object] | None]:
    """The gradient function and the loss function (or None) of ``problem``."""
    if loss is not None and not callable(loss):
        raise ValueError(f"loss must be a function loss(theta) or None, got {loss!r}")
    if isinstance(problem, Surface):
        if loss is not None:
            raise ValueError("loss must be None when problem is a Surface (the surface brings its own loss)")
        # run() checks start and keeps every later θ finite, so the checks of grad(p) and loss(p) are skipped.
        return problem.grad_unchecked, problem.loss_unchecked
    if callable(problem):
        return problem, loss
    hint = f" (for a surface by name, pass get_surface({problem!r}))" if isinstance(problem, str) else ""
    raise ValueError(
        f"problem must be a Surface or a gradient function grad_fn(theta), got {type(problem).__name__}{hint}"
    )


def _gradient(grad_fn: Callable[[np.ndarray], object], theta: np.ndarray) -> np.ndarray:
    """``grad_fn(theta)`` as a float64 array of theta's shape (NaN and inf pass: run() checks them)."""
    value = grad_fn(theta)
    try:
        g = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"problem(theta) must return the gradient as an array of numbers, got {value!r}"
        ) from None
    if value is None or g.shape != theta.shape:
        got = "None" if value is None else f"shape {g.shape}"
        raise ValueError(
            f"problem(theta) must return the gradient, an array of shape {theta.shape} like theta; got {got}"
        )
    return g


def _loss_value(loss_fn: Callable[[np.ndarray], object], theta: np.ndarray) -> np.ndarray:
    """``loss_fn(theta)`` as a float64 array (NaN and inf are let through: run() checks them)."""
    value = loss_fn(theta)
    try:
        loss = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"loss(theta) must return a number or an array of numbers, got {value!r}") from None
    if value is None:
        raise ValueError("loss(theta) returned None; it must return the loss (did you forget return?)")
    return loss
