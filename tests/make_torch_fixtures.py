"""Write ``tests/fixtures/torch_reference.json``: reference trajectories from torch.optim and friends.

This is the only file of the course that needs PyTorch; the course and its
tests never import it. Run it from the repository root with a Python that has
torch, numpy and the three reference packages of the rules torch.optim does
not have, for example::

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy \
        adabelief-pytorch==0.2.1 lion-pytorch==0.2.5 torch-optimizer==0.3.0
    /tmp/torchvenv/bin/python tests/make_torch_fixtures.py

References: torch.optim for SGD, Adagrad, RMSprop, Adam(W), NAdam, RAdam,
Adamax; the authors' ``adabelief_pytorch.AdaBelief`` (run with
``rectify=False``: the paper's algorithm); ``lion_pytorch.Lion``;
``torch_optimizer.Lookahead`` around a torch.optim rule. That Lookahead takes
its slow weights after the first fast step and syncs after steps 1, k+1,
2k+1, ...; the paper (and its authors' code, and optax) start the slow
weights at theta0 and sync after steps k, 2k, ... The script puts the
reference in the paper's phase by presetting its state before the first step
(``slow_param`` = theta0, ``counter`` = 1 mod k); its arithmetic -- the
interpolation, the inner rule's state kept through the sync -- is its own.

``tests/test_torch_reference.py`` then replays every stored trajectory with
``lessons_lib.optim`` (numpy only) and demands agreement to 1e-12.

Everything runs in float64 (``torch.set_default_dtype(torch.float64)`` and
float64 tensors), and is deterministic: the gradients are closed-form
functions of the step number or of the current parameters. Each case stores

* ``name``, ``rule`` (a ``lessons_lib.optim`` class name) and
  ``hyperparameters`` (its argument names, all given explicitly; for
  ``Lookahead``, ``inner`` is itself ``{"rule": ..., "hyperparameters": ...}``);
* ``torch_optimizer`` and ``torch_kwargs``: what was run, for the record
  (the reference's dotted class name, which need not be in torch.optim);
* ``problem``, ``theta0``, ``grads`` (the gradient fed at each step) and
  ``thetas`` (the parameters after each step).

Problems:

* ``scripted``: 25 gradients that do not depend on the parameters, four
  coordinates: tiny (~1e-6, so where ε sits matters), zeros (also on the
  first step), sign changes, large (~10);
* ``quadratic``: f(x, y) = 0.1 x² + 2 y², 30 steps;
* ``rosenbrock``: f(x, y) = (1 − x)² + 100 (y − x²)², 30 steps.

The cases of ``SETTINGS`` come first, in their original order, then those of
``VARIANT_SETTINGS`` (Adam's variants and Lookahead), so adding variants
leaves the earlier cases, and their place in the file, unchanged.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import math
from pathlib import Path
from typing import Any, Callable

import torch

OUTPUT = Path(__file__).resolve().parent / "fixtures" / "torch_reference.json"

Vector = list[float]


# --- problems -----------------------------------------------------------------


def scripted_grad(k: int, theta: Vector) -> Vector:
    """Gradient at step k (0-based) of the scripted problem; ``theta`` is ignored."""
    tiny = 1e-6 * (1.0 + 0.5 * math.sin(0.9 * k))
    with_zeros = 0.0 if k % 3 == 0 else 0.5 * math.cos(1.7 * k)  # zero at k = 0, 3, 6, ...
    sign_changes = math.sin(1.3 * k + 0.4) + 0.2 * (-1) ** k
    large = 10.0 + 3.0 * math.sin(0.7 * k)
    return [tiny, with_zeros, sign_changes, large]


def quadratic_grad(k: int, theta: Vector) -> Vector:
    """Gradient of the ill-conditioned quadratic 0.1 x² + 2 y²."""
    x, y = theta
    return [0.2 * x, 4.0 * y]


def rosenbrock_grad(k: int, theta: Vector) -> Vector:
    """Gradient of Rosenbrock's (1 − x)² + 100 (y − x²)²."""
    x, y = theta
    return [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)]


PROBLEMS: dict[str, tuple[Callable[[int, Vector], Vector], Vector, int]] = {
    # name: (gradient function, theta0, number of steps)
    "scripted": (scripted_grad, [0.5, -1.0, 2.0, 3.0], 25),
    "quadratic": (quadratic_grad, [3.0, 1.0], 30),
    "rosenbrock": (rosenbrock_grad, [-1.2, 1.0], 30),
}

PROBLEM_DESCRIPTIONS = {
    "scripted": "gradients fixed in advance (independent of theta): coordinates tiny ~1e-6, "
    "with exact zeros (first step included), sign-changing, large ~10",
    "quadratic": "f(x, y) = 0.1 x^2 + 2 y^2, grad (0.2 x, 4 y), evaluated at the current parameters",
    "rosenbrock": "f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, evaluated at the current parameters",
}


# --- settings -------------------------------------------------------------------

# SGD needs a learning rate that suits the curvature (Rosenbrock's is ~1000).
SGD_LR = {"scripted": 0.05, "quadratic": 0.1, "rosenbrock": 2e-4}

ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}

# (label, lessons_lib class name, hyperparameters); "lr": None means SGD_LR[problem], a dict {problem: lr}
# gives one learning rate per problem.
SETTINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("sgd", "SGD", {"lr": None}),
    ("sgd_momentum", "SGD", {"lr": None, "momentum": 0.9}),
    ("sgd_momentum_dampening", "SGD", {"lr": None, "momentum": 0.9, "dampening": 0.5}),
    ("sgd_nesterov", "SGD", {"lr": None, "momentum": 0.9, "nesterov": True}),
    ("sgd_weight_decay", "SGD", {"lr": None, "weight_decay": 0.1}),
    ("sgd_nesterov_weight_decay", "SGD", {"lr": None, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("adagrad", "AdaGrad", {"lr": 0.1, "eps": 1e-10}),
    ("adagrad_eps1e-3", "AdaGrad", {"lr": 0.1, "eps": 1e-3}),
    ("adagrad_init0.1", "AdaGrad", {"lr": 0.1, "eps": 1e-10, "initial_accumulator_value": 0.1}),
    ("adagrad_weight_decay", "AdaGrad", {"lr": 0.1, "eps": 1e-10, "weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {"lr": 0.01, "beta": 0.99, "eps": 1e-8}),
    ("rmsprop_beta0.9", "RMSprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-8}),
    ("rmsprop_centered", "RMSprop", {"lr": 0.01, "beta": 0.99, "eps": 1e-8, "centered": True}),
    ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "beta": 0.99, "eps": 1e-8, "momentum": 0.9}),
    ("rmsprop_centered_momentum", "RMSprop",
     {"lr": 0.01, "beta": 0.99, "eps": 1e-8, "momentum": 0.9, "centered": True}),
    ("rmsprop_weight_decay", "RMSprop", {"lr": 0.01, "beta": 0.99, "eps": 1e-8, "weight_decay": 0.1}),
    ("adam_lr1e-2", "Adam", {"lr": 1e-2, **ADAM_DEFAULTS}),
    ("adam_lr1e-1", "Adam", {"lr": 1e-1, **ADAM_DEFAULTS}),
    ("adam_amsgrad", "Adam", {"lr": 1e-2, **ADAM_DEFAULTS, "amsgrad": True}),
    ("adam_weight_decay", "Adam", {"lr": 1e-2, **ADAM_DEFAULTS, "weight_decay": 0.1}),
    ("adam_beta2_0.99", "Adam", {"lr": 1e-2, **ADAM_DEFAULTS, "beta2": 0.99}),
    # β₂ = 0.9 lets v fall often, so the running maximum of AMSGrad really differs from v.
    ("adam_amsgrad_beta2_0.9_weight_decay", "Adam",
     {"lr": 1e-1, **ADAM_DEFAULTS, "beta2": 0.9, "amsgrad": True, "weight_decay": 0.05}),
    ("adamw", "AdamW", {"lr": 1e-2, **ADAM_DEFAULTS, "weight_decay": 1e-2}),
    ("adamw_weight_decay0.1", "AdamW", {"lr": 1e-1, **ADAM_DEFAULTS, "weight_decay": 0.1}),
    ("adamw_amsgrad", "AdamW", {"lr": 1e-2, **ADAM_DEFAULTS, "weight_decay": 1e-2, "amsgrad": True}),
    ("adamw_amsgrad_beta2_0.9", "AdamW",
     {"lr": 1e-1, **ADAM_DEFAULTS, "beta2": 0.9, "weight_decay": 0.1, "amsgrad": True}),
]

NADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 4e-3, "weight_decay": 0.0,
                  "decoupled_weight_decay": False}
RADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "decoupled_weight_decay": False}
ADAMAX_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
ADABELIEF_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-16, "weight_decay": 0.0, "decoupled_weight_decay": True,
                      "amsgrad": False}
LION_DEFAULTS = {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0}
# RAdam's first steps are plain momentum steps η m̂ (no division by √v): on Rosenbrock (gradient ~200 at the
# start, curvature ~1000) they need an SGD-sized learning rate -- with lr = 1e-2 RAdam diverges there.
RADAM_LR = {"scripted": 1e-2, "quadratic": 1e-2, "rosenbrock": 5e-4}
RADAM_LARGE_LR = {"scripted": 1e-1, "quadratic": 1e-1, "rosenbrock": 2e-3}


def inner(rule: str, hp: dict[str, Any]) -> dict[str, Any]:
    """The ``inner`` hyperparameter of a Lookahead case: a rule and its hyperparameters."""
    return {"rule": rule, "hyperparameters": hp}


# Adam's variants and Lookahead, after SETTINGS (see the module docstring).
VARIANT_SETTINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("nadam", "NAdam", {"lr": 1e-2, **NADAM_DEFAULTS}),
    ("nadam_lr1e-1", "NAdam", {"lr": 1e-1, **NADAM_DEFAULTS}),
    # ψ = 1 is Keras 3's schedule μ_t = β₁ (1 − ½ 0.96ᵗ): the momentum really changes within 30 steps.
    ("nadam_momentum_decay1", "NAdam", {"lr": 1e-2, **NADAM_DEFAULTS, "momentum_decay": 1.0}),
    ("nadam_weight_decay", "NAdam", {"lr": 1e-2, **NADAM_DEFAULTS, "weight_decay": 0.1}),
    ("nadam_decoupled_weight_decay", "NAdam",
     {"lr": 1e-1, **NADAM_DEFAULTS, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    # With β₂ = 0.999 steps 1-5 have ρ_t ≤ 5 (plain momentum steps), later ones are rectified.
    ("radam", "RAdam", {"lr": RADAM_LR, **RADAM_DEFAULTS}),
    ("radam_large_lr", "RAdam", {"lr": RADAM_LARGE_LR, **RADAM_DEFAULTS}),
    # β₂ = 0.9: ρ_∞ = 19, ρ_t passes 5 later and r_t grows towards 1 within the run.
    ("radam_beta2_0.9", "RAdam", {"lr": RADAM_LR, **RADAM_DEFAULTS, "beta2": 0.9}),
    ("radam_weight_decay", "RAdam", {"lr": RADAM_LR, **RADAM_DEFAULTS, "weight_decay": 0.1}),
    ("radam_decoupled_weight_decay", "RAdam",
     {"lr": RADAM_LARGE_LR, **RADAM_DEFAULTS, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamax", "Adamax", {"lr": 1e-2, **ADAMAX_DEFAULTS}),
    ("adamax_lr1e-1", "Adamax", {"lr": 1e-1, **ADAMAX_DEFAULTS}),
    # β₂ = 0.9: the maximum forgets quickly, so u follows |g| down as well as up.
    ("adamax_beta2_0.9", "Adamax", {"lr": 1e-2, **ADAMAX_DEFAULTS, "beta2": 0.9}),
    ("adamax_weight_decay", "Adamax", {"lr": 1e-2, **ADAMAX_DEFAULTS, "weight_decay": 0.1}),
    ("adabelief", "AdaBelief", {"lr": 1e-2, **ADABELIEF_DEFAULTS}),
    ("adabelief_lr1e-1_eps1e-8", "AdaBelief", {"lr": 1e-1, **ADABELIEF_DEFAULTS, "eps": 1e-8}),
    ("adabelief_amsgrad_beta2_0.9", "AdaBelief", {"lr": 1e-2, **ADABELIEF_DEFAULTS, "beta2": 0.9, "amsgrad": True}),
    ("adabelief_weight_decay", "AdaBelief",
     {"lr": 1e-2, **ADABELIEF_DEFAULTS, "weight_decay": 0.1, "decoupled_weight_decay": False}),
    ("adabelief_decoupled_weight_decay", "AdaBelief",
     {"lr": 1e-1, **ADABELIEF_DEFAULTS, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("lion", "Lion", {"lr": 1e-2, **LION_DEFAULTS}),
    ("lion_weight_decay", "Lion", {"lr": 1e-2, **LION_DEFAULTS, "weight_decay": 1.0}),
    ("lion_lr5e-2_betas_0.95_0.98", "Lion", {"lr": 5e-2, **LION_DEFAULTS, "beta1": 0.95, "beta2": 0.98}),
    ("lookahead_adam", "Lookahead", {"inner": inner("Adam", {"lr": 1e-1, **ADAM_DEFAULTS}), "k": 5, "alpha": 0.5}),
    ("lookahead_sgd_momentum", "Lookahead",
     {"inner": inner("SGD", {"lr": None, "momentum": 0.9}), "k": 5, "alpha": 0.5}),
    ("lookahead_k3_alpha0.8_nadam", "Lookahead",
     {"inner": inner("NAdam", {"lr": 1e-1, **NADAM_DEFAULTS}), "k": 3, "alpha": 0.8}),
]

REFERENCE_PACKAGES = ["adabelief-pytorch", "lion-pytorch", "torch-optimizer"]


def torch_equivalent(rule: str, hp: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The torch.optim class name and keyword arguments that match a lessons_lib rule."""
    if rule == "SGD":
        return "SGD", {"lr": hp["lr"], "momentum": hp.get("momentum", 0.0), "dampening": hp.get("dampening", 0.0),
                       "nesterov": hp.get("nesterov", False), "weight_decay": hp.get("weight_decay", 0.0)}
    if rule == "AdaGrad":
        return "Adagrad", {"lr": hp["lr"], "lr_decay": 0.0, "eps": hp["eps"],
                           "initial_accumulator_value": hp.get("initial_accumulator_value", 0.0),
                           "weight_decay": hp.get("weight_decay", 0.0)}
    if rule == "RMSprop":
        return "RMSprop", {"lr": hp["lr"], "alpha": hp["beta"], "eps": hp["eps"], "momentum": hp.get("momentum", 0.0),
                           "centered": hp.get("centered", False), "weight_decay": hp.get("weight_decay", 0.0)}
    if rule in ("Adam", "AdamW"):
        return rule, {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                      "weight_decay": hp["weight_decay"], "amsgrad": hp["amsgrad"]}
    if rule == "NAdam":
        return "NAdam", {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                         "weight_decay": hp["weight_decay"], "momentum_decay": hp["momentum_decay"],
                         "decoupled_weight_decay": hp["decoupled_weight_decay"]}
    if rule == "RAdam":
        return "RAdam", {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                         "weight_decay": hp["weight_decay"], "decoupled_weight_decay": hp["decoupled_weight_decay"]}
    if rule == "Adamax":
        return "Adamax", {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                          "weight_decay": hp["weight_decay"]}
    raise ValueError(f"no torch.optim counterpart for {rule}")


def reference_optimizer(rule: str, hp: dict[str, Any], p: torch.Tensor) -> tuple[Any, str, dict[str, Any]]:
    """The reference optimizer for a lessons_lib rule on parameter ``p``, its dotted name and its arguments."""
    if rule == "AdaBelief":
        from adabelief_pytorch import AdaBelief

        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                  "weight_decay": hp["weight_decay"], "amsgrad": hp["amsgrad"],
                  "weight_decouple": hp["decoupled_weight_decay"], "fixed_decay": False, "rectify": False,
                  "print_change_log": False}
        with contextlib.redirect_stdout(io.StringIO()):  # it prints which options are on
            optimizer = AdaBelief([p], **{**kwargs, "betas": tuple(kwargs["betas"])})
        return optimizer, "adabelief_pytorch.AdaBelief", kwargs
    if rule == "Lion":
        from lion_pytorch import Lion

        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "weight_decay": hp["weight_decay"],
                  "use_triton": False, "decoupled_weight_decay": False}
        return Lion([p], **{**kwargs, "betas": tuple(kwargs["betas"])}), "lion_pytorch.Lion", kwargs
    if rule == "Lookahead":
        from torch_optimizer import Lookahead

        inner_optimizer, inner_name, inner_kwargs = reference_optimizer(
            hp["inner"]["rule"], hp["inner"]["hyperparameters"], p)
        optimizer = Lookahead(inner_optimizer, k=hp["k"], alpha=hp["alpha"])
        # The paper's phase (see the module docstring): slow weights = theta0, first sync after step k.
        optimizer.state[p]["slow_param"] = p.detach().clone()
        for group in optimizer.param_groups:
            group["counter"] = 1 % hp["k"]
        kwargs = {"k": hp["k"], "alpha": hp["alpha"], "inner": {"optimizer": inner_name, "kwargs": inner_kwargs},
                  "preset_state": {"slow_param": "theta0", "counter": 1 % hp["k"]}}
        return optimizer, f"torch_optimizer.Lookahead({inner_name})", kwargs
    torch_name, torch_kwargs = torch_equivalent(rule, hp)
    kwargs = {**torch_kwargs, "foreach": False}  # the plain single-tensor code path
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    optimizer = getattr(torch.optim, torch_name)([p], **kwargs)
    return optimizer, f"torch.optim.{torch_name}", {**torch_kwargs, "foreach": False}


def with_learning_rate(hp: dict[str, Any], problem: str) -> dict[str, Any]:
    """The hyperparameters with the learning rate for ``problem``: ``"lr": None`` means SGD_LR[problem],
    a dict {problem: lr} its entry (also in a Lookahead's inner rule)."""
    if "inner" in hp:
        inner_hp = with_learning_rate(hp["inner"]["hyperparameters"], problem)
        return {**hp, "inner": {**hp["inner"], "hyperparameters": inner_hp}}
    if hp["lr"] is None:
        return {**hp, "lr": SGD_LR[problem]}
    if isinstance(hp["lr"], dict):
        return {**hp, "lr": hp["lr"][problem]}
    return hp


# --- running --------------------------------------------------------------------


def run_case(label: str, rule: str, hp: dict[str, Any], problem: str) -> dict[str, Any]:
    """Run one torch optimizer on one problem and return the case as a JSON-ready dict."""
    grad_fn, theta0, steps = PROBLEMS[problem]
    hp = with_learning_rate(hp, problem)
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    optimizer, reference_name, reference_kwargs = reference_optimizer(rule, hp, p)
    grads: list[Vector] = []
    thetas: list[Vector] = []
    for k in range(steps):
        g = grad_fn(k, p.detach().tolist())
        p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        grads.append(g)
        thetas.append(p.detach().tolist())
    if not all(math.isfinite(x) and abs(x) < 1e3 for theta in thetas for x in theta):
        raise RuntimeError(f"{problem}:{label} diverged; choose a smaller learning rate")
    return {
        "name": f"{problem}:{label}",
        "rule": rule,
        "hyperparameters": hp,
        "torch_optimizer": reference_name,
        "torch_kwargs": reference_kwargs,
        "problem": problem,
        "theta0": theta0,
        "grads": grads,
        "thetas": thetas,
    }


def main() -> None:
    """Generate every case and write the fixture file."""
    torch.set_default_dtype(torch.float64)
    cases = [run_case(label, rule, hp, problem) for problem in PROBLEMS for label, rule, hp in SETTINGS]
    cases += [run_case(label, rule, hp, problem) for problem in PROBLEMS for label, rule, hp in VARIANT_SETTINGS]
    # One case per line: small diffs when regenerated, still readable.
    body = ",\n".join(json.dumps(case) for case in cases)
    header = {
        "generated_by": "tests/make_torch_fixtures.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "problems": PROBLEM_DESCRIPTIONS,
        "reference_packages": {name: importlib.metadata.version(name) for name in REFERENCE_PACKAGES},
    }
    text = json.dumps(header, indent=1)[:-2] + ',\n "cases": [\n' + body + "\n ]\n}\n"
    json.loads(text)  # the hand-joined file must still be valid JSON
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    versions = ", ".join(f"{name} {version}" for name, version in header["reference_packages"].items())
    print(f"wrote {len(cases)} cases ({len(text) / 1024:.0f} KiB) to {OUTPUT}")
    print(f"with torch {torch.__version__}, {versions}")


if __name__ == "__main__":
    main()
