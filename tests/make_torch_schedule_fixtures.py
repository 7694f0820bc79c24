"""Write ``tests/fixtures/torch_schedules.json``: learning rates from torch.optim.lr_scheduler, clipped gradients
from torch.nn.utils.clip_grad_norm_.

Like ``tests/make_torch_fixtures.py``, this needs PyTorch; the course and its
tests never import it. Run it from the repository root::

    /tmp/torchvenv/bin/python tests/make_torch_schedule_fixtures.py

``tests/test_schedules.py`` and ``tests/test_clipping.py`` then compare
``lessons_lib.schedules`` and ``lessons_lib.clipping`` with the stored numbers
to 1e-12.

Schedules. Each case runs a plain ``torch.optim.SGD`` on one dummy parameter
in PyTorch's documented order, and records the learning rate each update uses::

    for step in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])   # the lr of update `step`
        optimizer.step()
        scheduler.step()

and stores ``schedule`` (a ``lessons_lib.schedules`` class name),
``hyperparameters`` (its arguments), ``torch_scheduler`` and ``torch_kwargs``
(what was run), ``steps``, ``lrs``, and ``agree_until``: how many of the first
learning rates lessons_lib must reproduce. It is ``steps`` except in the
cases that run past the end T of a cosine, where PyTorch's cosine swings back
up and lessons_lib stays at η_min (a documented difference, tested as such).

Clipping. Each case sets the gradients of a few float64 parameters and calls
``torch.nn.utils.clip_grad_norm_(parameters, max_norm)`` with its defaults;
it stores ``grads`` (the inputs, nested lists), ``single`` (one tensor rather
than a list), ``max_norm``, ``clipped`` and ``total_norm``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim import lr_scheduler

OUTPUT = Path(__file__).resolve().parent / "fixtures" / "torch_schedules.json"


# --- schedules -----------------------------------------------------------------------------------

# (name, lessons_lib class, hyperparameters, steps); steps past T show where torch's cosine differs.
SCHEDULES: list[tuple[str, str, dict[str, Any], int]] = [
    ("constant", "Constant", {"lr": 0.1}, 20),
    ("constant_lr0.003", "Constant", {"lr": 0.003}, 20),
    ("step_decay_10_0.1", "StepDecay", {"lr": 0.1, "step_size": 10, "gamma": 0.1}, 50),
    ("step_decay_1_0.9", "StepDecay", {"lr": 0.5, "step_size": 1, "gamma": 0.9}, 60),
    ("step_decay_7_0.5", "StepDecay", {"lr": 0.03, "step_size": 7, "gamma": 0.5}, 60),
    ("step_decay_gamma1", "StepDecay", {"lr": 0.2, "step_size": 3, "gamma": 1.0}, 20),
    ("exponential_0.95", "Exponential", {"lr": 0.1, "gamma": 0.95}, 100),
    ("exponential_0.5", "Exponential", {"lr": 1.0, "gamma": 0.5}, 60),
    ("exponential_0.999", "Exponential", {"lr": 0.01, "gamma": 0.999}, 500),
    ("cosine_T100", "Cosine", {"lr": 0.1, "total_steps": 100, "min_lr": 0.0}, 101),
    ("cosine_T37_min0.01", "Cosine", {"lr": 0.5, "total_steps": 37, "min_lr": 0.01}, 38),
    ("cosine_T1", "Cosine", {"lr": 1.0, "total_steps": 1, "min_lr": 0.1}, 2),
    ("cosine_T1000_min1e-4", "Cosine", {"lr": 0.1, "total_steps": 1000, "min_lr": 1e-4}, 1001),
    ("cosine_past_T", "Cosine", {"lr": 0.1, "total_steps": 20, "min_lr": 0.01}, 60),
    ("warmup_cosine_10_100", "WarmupCosine",
     {"lr": 0.1, "warmup_steps": 10, "total_steps": 100, "min_lr": 0.0, "start_factor": 0.1}, 101),
    ("warmup_cosine_1_30", "WarmupCosine",
     {"lr": 0.5, "warmup_steps": 1, "total_steps": 30, "min_lr": 0.05, "start_factor": 0.5}, 31),
    ("warmup_cosine_half", "WarmupCosine",
     {"lr": 1.0, "warmup_steps": 25, "total_steps": 50, "min_lr": 0.0, "start_factor": 1 / 3}, 51),
    ("warmup_cosine_99_100", "WarmupCosine",
     {"lr": 0.3, "warmup_steps": 99, "total_steps": 100, "min_lr": 0.003, "start_factor": 0.01}, 101),
    ("warmup_cosine_start1", "WarmupCosine",
     {"lr": 0.2, "warmup_steps": 5, "total_steps": 40, "min_lr": 0.0, "start_factor": 1.0}, 41),
    ("warmup_cosine_past_T", "WarmupCosine",
     {"lr": 0.1, "warmup_steps": 5, "total_steps": 20, "min_lr": 0.001, "start_factor": 0.01}, 50),
]


def torch_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, hp: dict[str, Any]
) -> tuple[lr_scheduler.LRScheduler, str, dict[str, Any]]:
    """The torch scheduler that matches a lessons_lib schedule, with a description of it for the record."""
    if schedule == "Constant":
        return lr_scheduler.LambdaLR(optimizer, lambda step: 1.0), "LambdaLR", {"lr_lambda": "lambda step: 1.0"}
    if schedule == "StepDecay":
        kwargs = {"step_size": hp["step_size"], "gamma": hp["gamma"]}
        return lr_scheduler.StepLR(optimizer, **kwargs), "StepLR", kwargs
    if schedule == "Exponential":
        kwargs = {"gamma": hp["gamma"]}
        return lr_scheduler.ExponentialLR(optimizer, **kwargs), "ExponentialLR", kwargs
    if schedule == "Cosine":
        kwargs = {"T_max": hp["total_steps"], "eta_min": hp["min_lr"]}
        return lr_scheduler.CosineAnnealingLR(optimizer, **kwargs), "CosineAnnealingLR", kwargs
    if schedule == "WarmupCosine":
        warmup, total = hp["warmup_steps"], hp["total_steps"]
        linear_kwargs = {"start_factor": hp["start_factor"], "end_factor": 1.0, "total_iters": warmup}
        cosine_kwargs = {"T_max": total - warmup, "eta_min": hp["min_lr"]}
        linear = lr_scheduler.LinearLR(optimizer, **linear_kwargs)
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, **cosine_kwargs)
        sequential = lr_scheduler.SequentialLR(optimizer, [linear, cosine], milestones=[warmup])
        description = {"schedulers": [{"LinearLR": linear_kwargs}, {"CosineAnnealingLR": cosine_kwargs}],
                       "milestones": [warmup]}
        return sequential, "SequentialLR", description
    raise ValueError(f"no torch counterpart for {schedule}")


def run_schedule(name: str, schedule: str, hp: dict[str, Any], steps: int) -> dict[str, Any]:
    """Record the learning rate of each of ``steps`` updates under a torch scheduler."""
    parameter = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=hp["lr"])
    scheduler, scheduler_name, kwargs = torch_scheduler(optimizer, schedule, hp)
    lrs = []
    for _ in range(steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))  # the lr this update uses
        parameter.grad = torch.zeros_like(parameter)
        optimizer.step()
        scheduler.step()
    total = hp.get("total_steps")
    agree_until = steps if total is None else min(steps, total + 1)
    return {
        "name": name,
        "schedule": schedule,
        "hyperparameters": hp,
        "torch_scheduler": f"torch.optim.lr_scheduler.{scheduler_name}",
        "torch_kwargs": kwargs,
        "steps": steps,
        "agree_until": agree_until,
        "lrs": lrs,
    }


# --- clipping ------------------------------------------------------------------------------------


def clipping_inputs() -> list[tuple[str, list[np.ndarray], bool, float]]:
    """(name, gradients, single tensor?, max_norm) for each clipping case; deterministic."""
    rng = np.random.default_rng(20240508)
    return [
        ("one_array_clipped", [rng.normal(size=7) * 4.0], True, 1.0),
        ("one_array_not_clipped", [rng.normal(size=5) * 0.1], True, 1.0),
        ("list_clipped", [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(2, 2, 2))], False, 2.0),
        ("list_not_clipped", [rng.normal(size=(2, 3)) * 0.1, rng.normal(size=3) * 0.1], False, 5.0),
        # each array is below max_norm on its own; together they are above it
        ("only_the_global_norm_is_too_long", [np.array([0.8, 0.0]), np.array([0.0, 0.0, 0.8])], False, 1.0),
        # the norm is exactly max_norm = 5, and the gradient is still scaled, by 5 / (5 + 1e-6)
        ("norm_equals_max_norm", [np.array([3.0, 4.0])], False, 5.0),
        # at norm 1e-6 the 1e-6 in the denominator halves the gradient
        ("tiny_norm_where_eps_matters", [np.array([6e-7, 8e-7])], False, 1e-6),
        ("all_zeros", [np.zeros((2, 3)), np.zeros(4)], False, 1.0),
        ("huge", [rng.normal(size=6) * 1e8, rng.normal(size=(2, 2)) * 1e7], False, 0.5),
        ("tiny_max_norm", [rng.normal(size=5), rng.normal(size=3)], False, 1e-8),
        ("scalar_and_exact_zeros", [np.array(2.5), np.array([0.0, -1.5, 0.0]), np.array([[0.0], [3.0]])], False, 1.0),
    ]


def run_clipping(name: str, grads: list[np.ndarray], single: bool, max_norm: float) -> dict[str, Any]:
    """Clip the gradients with torch (defaults, and again with foreach=False: both must agree)."""
    results = []
    for foreach in (None, False):
        parameters = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for parameter, g in zip(parameters, grads):
            parameter.grad = torch.tensor(g, dtype=torch.float64)
        total_norm = torch.nn.utils.clip_grad_norm_(parameters[0] if single else parameters, max_norm,
                                                    foreach=foreach)
        results.append((float(total_norm), [parameter.grad.tolist() for parameter in parameters]))
    if results[0] != results[1]:
        print(f"  note: {name}: foreach=None and foreach=False differ in the last bits; storing the default")
    total_norm, clipped = results[0]
    return {
        "name": name,
        "single": single,
        "max_norm": max_norm,
        "grads": [g.tolist() for g in grads],
        "total_norm": total_norm,
        "clipped": clipped,
    }


# --- writing -------------------------------------------------------------------------------------


def main() -> None:
    """Generate every case and write the fixture file."""
    torch.set_default_dtype(torch.float64)
    schedules = [run_schedule(*case) for case in SCHEDULES]
    clipping = [run_clipping(*case) for case in clipping_inputs()]
    for case in schedules:
        if not all(math.isfinite(lr) for lr in case["lrs"]):
            raise RuntimeError(f"{case['name']}: non-finite learning rate")
    header = {
        "generated_by": "tests/make_torch_schedule_fixtures.py",
        "torch_version": torch.__version__,
        "schedule_protocol": "lrs[t] = optimizer.param_groups[0]['lr'] before the (t+1)-th optimizer.step(); "
        "scheduler.step() after each optimizer.step()",
        "clipping_protocol": "torch.nn.utils.clip_grad_norm_(parameters, max_norm) with its defaults, float64",
    }
    # One case per line: small diffs when regenerated, still readable.
    text = (
        json.dumps(header, indent=1)[:-2]
        + ',\n "schedules": [\n' + ",\n".join(json.dumps(case) for case in schedules) + "\n ],"
        + '\n "clipping": [\n' + ",\n".join(json.dumps(case) for case in clipping) + "\n ]\n}\n"
    )
    json.loads(text)  # the hand-joined file must still be valid JSON
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {len(schedules)} schedule and {len(clipping)} clipping cases ({len(text) / 1024:.0f} KiB) "
          f"to {OUTPUT} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
