"""Write ``tests/fixtures/modern_reference.json``: reference trajectories of lesson 11's rules.

Lesson 11 implements, in numpy, Muon, Adafactor, Schedule-Free AdamW, ADOPT and
the Cautious mask. Like ``tests/make_torch_fixtures.py`` this script is the only
place that needs PyTorch; the course and its tests never import it. Run it from
the repository root with a Python that has torch and the reference packages::

    python3.11 -m venv .venv-ref
    .venv-ref/bin/pip install torch==2.13.0 numpy==2.4.6
    .venv-ref/bin/pip install --no-deps schedulefree==1.4.1 torch-adopt==0.1.0 timm==1.0.31
    .venv-ref/bin/python tests/make_modern_fixtures.py

References (the code, not the docstrings, is the reference):

* ``torch.optim.Muon`` (torch 2.13) -- run in float64: torch casts the matrix to
  bfloat16 inside its Newton-Schulz function. The script takes that function's
  source, replaces the single line ``ortho_grad = grad.bfloat16()`` by
  ``ortho_grad = grad.clone()`` (a copy, not a deletion: the next line divides
  ``ortho_grad`` in place, and with ``nesterov=False`` the input is the momentum
  buffer itself), asserts this is the only change, and executes the result in
  ``torch.optim._muon``'s namespace. Everything else is torch's own code. The
  difference that bfloat16 makes is measured and stored under
  ``bfloat16_difference``.
* ``torch.optim.Adafactor`` (torch 2.13), single-tensor path.
* ``schedulefree.AdamWScheduleFree`` 1.4.1 (single-tensor path), plus two cases
  of ``schedulefree.AdamWScheduleFreeReference`` with ``decay_at_z=True`` (an
  option only that class has).
* ``adopt.ADOPT`` (PyPI ``torch-adopt`` 0.1.0), single-tensor path.
* The Cautious mask: timm 1.0.31's ``caution=True`` in ``AdamWLegacy`` (Adam
  and AdamW), ``Lion`` and ``SGDW`` (SGD with momentum). timm's package
  ``__init__`` imports its models, which need torchvision; its optimizer modules
  need only torch. The script registers bare package entries for ``timm`` and
  ``timm.optim`` and imports ``timm.optim.adamw``, ``.lion`` and ``.sgdw``
  directly; their code runs unchanged.

Everything runs in float64 and is deterministic. Each case stores ``name``,
``rule`` (the lesson's rule name), ``hyperparameters`` (the course's names: lr,
beta1, beta2, eps, weight_decay, momentum, ...), ``reference`` and
``reference_kwargs`` (what was run, in the reference's own names), ``problem``,
``theta0``, ``grads`` (the gradient fed at each step), ``thetas`` (the parameter
after each step) and ``final_state`` (the reference's state after the last
step). Schedule-Free cases also store ``xs``: after each step, the parameter as
``optimizer.eval()`` would set it (x, the average that is evaluated); ``thetas``
are the parameters in train mode (y, where gradients are taken).

Problems (vectors have 4 entries, matrices 3x5 "wide" and 5x3 "tall"):

* ``scripted_vector``: 25 gradients fixed in advance, as in the torch fixture:
  coordinates tiny (~1e-6), with exact zeros (first step included), sign-changing,
  large (~10);
* ``scripted_wide`` / ``scripted_tall``: 15 matrix gradients fixed in advance, row 0
  tiny (~1e-6), row 1 exactly zero at steps 1, 4, 7, ..., row 2 sign-changing, and
  (tall only) row 3 large (~10), row 4 order one;
* ``quadratic_wide`` / ``quadratic_tall``: f(theta) = 1/2 tr(theta^T A theta) - tr(B^T theta),
  gradient A theta - B, A symmetric positive definite; A, B and theta0 are seeded
  and stored in the file header, 15 steps.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import io
import json
import math
import statistics
import sys
import types
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

OUTPUT = Path(__file__).resolve().parent / "fixtures" / "modern_reference.json"

REFERENCE_PACKAGES = ["schedulefree", "torch-adopt", "timm"]

# --- problems -----------------------------------------------------------------


def scripted_vector_grad(k: int, theta: Any) -> list[float]:
    """Gradient at step k (0-based); the same four coordinates as the torch fixture's scripted problem."""
    tiny = 1e-6 * (1.0 + 0.5 * math.sin(0.9 * k))
    with_zeros = 0.0 if k % 3 == 0 else 0.5 * math.cos(1.7 * k)
    sign_changes = math.sin(1.3 * k + 0.4) + 0.2 * (-1) ** k
    large = 10.0 + 3.0 * math.sin(0.7 * k)
    return [tiny, with_zeros, sign_changes, large]


def scripted_matrix_entry(k: int, i: int, j: int) -> float:
    """Entry (i, j) of the scripted matrix gradient at step k (0-based): one behaviour per row."""
    if i == 0:
        return 1e-6 * (1.0 + 0.5 * math.sin(0.9 * k + j))
    if i == 1:
        return 0.0 if k % 3 == 0 else 0.5 * math.cos(1.7 * k + 0.3 * j)
    if i == 2:
        return math.sin(1.3 * k + 0.4 + 0.7 * j) + 0.2 * (-1) ** k
    if i == 3:
        return 10.0 + 3.0 * math.sin(0.7 * k + j)
    return math.cos(0.5 * k + i + j)


def scripted_matrix(shape: tuple[int, int]) -> Callable[[int, Any], list[list[float]]]:
    """The scripted gradient of a matrix of this shape, entry (i, j) from ``scripted_matrix_entry``
    (rows 0-2 for the wide 3x5 matrix, rows 0-4 for the tall 5x3 one)."""
    def grad(k: int, theta: Any) -> list[list[float]]:
        return [[scripted_matrix_entry(k, i, j) for j in range(shape[1])] for i in range(shape[0])]
    return grad


def quadratic_data(shape: tuple[int, int], seed: int) -> dict[str, Any]:
    """A, B, theta0 of a seeded matrix quadratic: A = P^T P / m + 0.1 I (m x m), B and theta0 normal."""
    rng = np.random.default_rng(seed)
    m, n = shape
    p = rng.standard_normal((m, m))
    a = p.T @ p / m + 0.1 * np.eye(m)
    a = (a + a.T) / 2  # exactly symmetric
    b = rng.standard_normal((m, n))
    theta0 = rng.standard_normal((m, n))
    return {"A": a.tolist(), "B": b.tolist(), "theta0": theta0.tolist()}


QUADRATICS = {"quadratic_wide": quadratic_data((3, 5), 11), "quadratic_tall": quadratic_data((5, 3), 12)}


def quadratic_grad(problem: str) -> Callable[[int, Any], list[list[float]]]:
    a = np.array(QUADRATICS[problem]["A"])
    b = np.array(QUADRATICS[problem]["B"])

    def grad(k: int, theta: Any) -> list[list[float]]:
        return (a @ np.array(theta) - b).tolist()
    return grad


def seeded_start(shape: tuple[int, int], seed: int) -> list[list[float]]:
    return np.round(np.random.default_rng(seed).standard_normal(shape), 3).tolist()


PROBLEMS: dict[str, tuple[Callable[[int, Any], Any], Any, int]] = {
    # name: (gradient function, theta0, number of steps)
    "scripted_vector": (scripted_vector_grad, [0.5, -1.0, 2.0, 3.0], 25),
    "scripted_wide": (scripted_matrix((3, 5)), seeded_start((3, 5), 21), 15),
    "scripted_tall": (scripted_matrix((5, 3)), seeded_start((5, 3), 22), 15),
    "quadratic_wide": (quadratic_grad("quadratic_wide"), QUADRATICS["quadratic_wide"]["theta0"], 15),
    "quadratic_tall": (quadratic_grad("quadratic_tall"), QUADRATICS["quadratic_tall"]["theta0"], 15),
}

PROBLEM_DESCRIPTIONS: dict[str, Any] = {
    "scripted_vector": "4-vector, gradients fixed in advance (independent of theta): coordinates tiny ~1e-6, "
    "with exact zeros (first step included), sign-changing, large ~10 (as the torch fixture's 'scripted')",
    "scripted_wide": "3x5 matrix, gradients fixed in advance: row 0 tiny ~1e-6, row 1 exactly zero at steps "
    "1, 4, 7, ... (the first included), row 2 sign-changing",
    "scripted_tall": "5x3 matrix, gradients fixed in advance: row 0 tiny ~1e-6, row 1 exactly zero at steps "
    "1, 4, 7, ... (the first included), row 2 sign-changing, row 3 large ~10, row 4 order one",
    **{name: {"description": "f(theta) = 1/2 tr(theta^T A theta) - tr(B^T theta), grad = A theta - B "
              "(A symmetric positive definite), evaluated at the current parameters", **data}
       for name, data in QUADRATICS.items()},
}

VECTOR = ["scripted_vector"]
MATRICES = ["scripted_wide", "scripted_tall", "quadratic_wide", "quadratic_tall"]

# --- Muon in float64: torch's own Newton-Schulz function with one line changed --------------------------

NS_FUNCTION = "_zeropower_via_newtonschulz"
BF16_LINE = "ortho_grad = grad.bfloat16()"
COPY_LINE = "ortho_grad = grad.clone()"


def float64_newton_schulz() -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    """torch's Newton-Schulz function and its float64 copy (the bfloat16 cast replaced by ``.clone()``).

    Asserts that the textual replacement occurs exactly once and is the only difference, executes the
    patched source in ``torch.optim._muon``'s namespace, then puts torch's function back (``muon_newton_schulz``
    chooses which one a run uses).
    """
    import torch.optim._muon as muon_module

    original = getattr(muon_module, NS_FUNCTION)
    source = inspect.getsource(original)
    assert source.count(BF16_LINE) == 1, "torch's Newton-Schulz function changed: the bfloat16 cast is not there once"
    patched_source = source.replace(BF16_LINE, COPY_LINE)
    old_lines, new_lines = source.splitlines(), patched_source.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(old, new) for old, new in zip(old_lines, new_lines) if old != new]
    assert len(changed) == 1 and changed[0][0].strip() == BF16_LINE and changed[0][1].strip() == COPY_LINE
    assert changed[0][0].replace(BF16_LINE, COPY_LINE) == changed[0][1]
    exec(compile(patched_source, muon_module.__file__, "exec"), muon_module.__dict__)
    patched = getattr(muon_module, NS_FUNCTION)
    setattr(muon_module, NS_FUNCTION, original)
    assert patched is not original and patched.__globals__ is muon_module.__dict__
    # Sanity: float64 in, float64 out, input untouched; torch's own returns bfloat16.
    x = torch.arange(15, dtype=torch.float64).reshape(5, 3).sin()
    x_before = x.clone()
    args = ((muon_module.DEFAULT_A, muon_module.DEFAULT_B, muon_module.DEFAULT_C), 5, muon_module.EPS)
    assert patched(x, *args).dtype == torch.float64 and torch.equal(x, x_before)
    assert original(x, *args).dtype == torch.bfloat16
    return original, patched


@contextlib.contextmanager
def muon_newton_schulz(function: Callable[..., torch.Tensor]):
    """Run torch.optim.Muon with this Newton-Schulz function (looked up in the module at each step)."""
    import torch.optim._muon as muon_module

    saved = getattr(muon_module, NS_FUNCTION)
    setattr(muon_module, NS_FUNCTION, function)
    try:
        yield
    finally:
        setattr(muon_module, NS_FUNCTION, saved)


# --- timm's optimizer modules without timm's package __init__ ----------------------------------------------


def timm_optim(module: str) -> types.ModuleType:
    """``timm.optim.<module>`` imported without running timm's (torchvision-needing) package ``__init__``."""
    if "timm.optim" not in sys.modules:
        spec = importlib.util.find_spec("timm")
        assert spec is not None and spec.submodule_search_locations, "timm is not installed"
        root = Path(list(spec.submodule_search_locations)[0])
        for name, path in (("timm", root), ("timm.optim", root / "optim")):
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    return importlib.import_module(f"timm.optim.{module}")


# --- settings -------------------------------------------------------------------

# Per rule: (label, hyperparameters in the course's names, problems).
MUON_DEFAULTS = {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.0, "ns_steps": 5,
                 "ns_coefficients": [3.4445, -4.775, 2.0315], "eps": 1e-7, "adjust_lr_fn": "original"}
MUON_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("muon", MUON_DEFAULTS, MATRICES),
    ("muon_plain_momentum", {**MUON_DEFAULTS, "nesterov": False}, ["scripted_tall", "quadratic_wide"]),
    ("muon_match_rms_adamw", {**MUON_DEFAULTS, "adjust_lr_fn": "match_rms_adamw"}, ["scripted_wide", "quadratic_tall"]),
    ("muon_match_rms_adamw_plain_weight_decay",
     {**MUON_DEFAULTS, "adjust_lr_fn": "match_rms_adamw", "nesterov": False, "weight_decay": 0.1},
     ["scripted_tall", "quadratic_wide"]),
    ("muon_weight_decay", {**MUON_DEFAULTS, "weight_decay": 0.5}, ["scripted_wide", "quadratic_tall"]),
    ("muon_ns_steps3_momentum0.9", {**MUON_DEFAULTS, "ns_steps": 3, "momentum": 0.9, "lr": 0.05},
     ["scripted_wide", "quadratic_tall"]),
    ("muon_ns_steps1_plain", {**MUON_DEFAULTS, "ns_steps": 1, "nesterov": False}, ["scripted_tall", "quadratic_wide"]),
    # eps = 3 binds when ||update||_F < 3: the clamp (not + eps) then divides by 3.
    ("muon_eps3", {**MUON_DEFAULTS, "eps": 3.0}, ["scripted_wide", "quadratic_tall"]),
    # The classical cubic Newton-Schulz iteration (a, b, c) = (1.5, -0.5, 0), 12 steps: close to U V^T.
    ("muon_cubic_ns12", {**MUON_DEFAULTS, "ns_coefficients": [1.5, -0.5, 0.0], "ns_steps": 12},
     ["scripted_tall", "quadratic_wide"]),
]

ADAFACTOR_DEFAULTS = {"lr": 1e-2, "beta2_decay": -0.8, "eps1": None, "eps2": 1e-3, "d": 1.0, "weight_decay": 0.0}
ADAFACTOR_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("adafactor", ADAFACTOR_DEFAULTS, VECTOR + MATRICES),
    ("adafactor_lr0.1_decay-0.5", {**ADAFACTOR_DEFAULTS, "lr": 0.1, "beta2_decay": -0.5},
     VECTOR + ["scripted_tall", "quadratic_wide"]),
    # beta2_decay = -1: 1 - beta2_t = 1/t, the second moment is the plain mean of g^2 so far.
    ("adafactor_decay-1_weight_decay", {**ADAFACTOR_DEFAULTS, "lr": 0.1, "beta2_decay": -1.0, "weight_decay": 0.5},
     VECTOR + ["scripted_wide", "quadratic_tall"]),
    # eps1 = 1e-3: both clamps of eps1 bind (mean of the row factor ~ tiny rows, sqrt(v) of the tiny entries).
    ("adafactor_eps1e-3_eps2_1e-2", {**ADAFACTOR_DEFAULTS, "eps1": 1e-3, "eps2": 1e-2},
     VECTOR + ["scripted_tall", "quadratic_wide"]),
    ("adafactor_eps1e-30_d2", {**ADAFACTOR_DEFAULTS, "eps1": 1e-30, "d": 2.0, "lr": 0.05},
     VECTOR + ["scripted_wide", "quadratic_tall"]),
]

SF_DEFAULTS = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "warmup_steps": 0,
               "r": 0.0, "weight_lr_power": 2.0}
SF_PROBLEMS = VECTOR + ["scripted_tall", "quadratic_wide"]
SF_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("schedulefree", SF_DEFAULTS, SF_PROBLEMS),
    ("schedulefree_warmup5", {**SF_DEFAULTS, "warmup_steps": 5}, SF_PROBLEMS),
    ("schedulefree_weight_decay", {**SF_DEFAULTS, "weight_decay": 0.1}, VECTOR + ["quadratic_tall"]),
    ("schedulefree_betas_0.5_0.99", {**SF_DEFAULTS, "beta1": 0.5, "beta2": 0.99}, VECTOR + ["scripted_wide"]),
    ("schedulefree_r1_power0", {**SF_DEFAULTS, "r": 1.0, "weight_lr_power": 0.0}, VECTOR + ["quadratic_tall"]),
    ("schedulefree_warmup10_r0.5_weight_decay", {**SF_DEFAULTS, "lr": 0.1, "warmup_steps": 10, "r": 0.5,
                                                 "weight_decay": 0.05}, SF_PROBLEMS),
    ("schedulefree_eps1e-3", {**SF_DEFAULTS, "eps": 1e-3}, VECTOR + ["scripted_wide"]),
]
# AdamWScheduleFreeReference only: weight decay computed at z instead of y.
SF_REFERENCE_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("schedulefree_reference_decay_at_z", {**SF_DEFAULTS, "weight_decay": 0.1, "warmup_steps": 5,
                                           "decay_at_z": True}, VECTOR + ["quadratic_wide"]),
    ("schedulefree_reference_decay_at_z_beta1_0.5_r1", {**SF_DEFAULTS, "lr": 0.1, "beta1": 0.5, "beta2": 0.99,
                                                        "eps": 1e-3, "weight_decay": 0.05, "r": 1.0,
                                                        "weight_lr_power": 0.0, "decay_at_z": True},
     VECTOR + ["scripted_tall"]),
    # decay_at_z = False is AdamWScheduleFree's arithmetic written out with x, y and z stored.
    ("schedulefree_reference_decay_at_y", {**SF_DEFAULTS, "weight_decay": 0.1, "warmup_steps": 10, "r": 0.5,
                                           "decay_at_z": False}, VECTOR),
]

ADOPT_DEFAULTS = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.9999, "eps": 1e-6, "weight_decay": 0.0, "decouple": False,
                  "clip": {"scale": 1.0, "power": 0.25}}
ADOPT_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("adopt", ADOPT_DEFAULTS, VECTOR + MATRICES),
    # Without the clip, a coordinate whose first gradient is 0 (v = 0) is divided by eps = 1e-6 at step 2 and
    # jumps by ~lr (1 - beta1) |g| / eps: the scripted problems have such coordinates, the quadratics do not.
    ("adopt_no_clip", {**ADOPT_DEFAULTS, "clip": None}, ["quadratic_wide", "quadratic_tall"]),
    ("adopt_weight_decay", {**ADOPT_DEFAULTS, "weight_decay": 0.1}, VECTOR + ["quadratic_tall"]),
    ("adopt_decoupled_weight_decay", {**ADOPT_DEFAULTS, "lr": 0.05, "weight_decay": 0.1, "decouple": True},
     VECTOR + ["quadratic_wide"]),
    ("adopt_betas_0.5_0.999_clip0.5sqrt", {**ADOPT_DEFAULTS, "beta1": 0.5, "beta2": 0.999,
                                           "clip": {"scale": 0.5, "power": 0.5}}, VECTOR + ["scripted_wide"]),
    ("adopt_eps1e-3", {**ADOPT_DEFAULTS, "eps": 1e-3, "lr": 0.05}, VECTOR + ["scripted_tall"]),
]

CAUTION_PROBLEMS = VECTOR + ["quadratic_wide"]
ADAMW_DEFAULTS = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
CAUTIOUS_ADAMW_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("cautious_adam", ADAMW_DEFAULTS, CAUTION_PROBLEMS + ["scripted_tall"]),
    ("cautious_adam_lr1e-1", {**ADAMW_DEFAULTS, "lr": 1e-1}, CAUTION_PROBLEMS),
    ("cautious_adamw", {**ADAMW_DEFAULTS, "lr": 1e-1, "weight_decay": 0.1}, CAUTION_PROBLEMS),
    ("cautious_adamw_amsgrad_beta2_0.9", {**ADAMW_DEFAULTS, "lr": 1e-1, "beta2": 0.9, "amsgrad": True,
                                          "weight_decay": 0.01}, CAUTION_PROBLEMS),
    ("cautious_adam_eps1e-3_beta1_0.5", {**ADAMW_DEFAULTS, "eps": 1e-3, "beta1": 0.5}, CAUTION_PROBLEMS),
]
LION_DEFAULTS = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0}
CAUTIOUS_LION_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("cautious_lion", LION_DEFAULTS, CAUTION_PROBLEMS + ["scripted_wide"]),
    ("cautious_lion_weight_decay", {**LION_DEFAULTS, "weight_decay": 1.0}, CAUTION_PROBLEMS),
    ("cautious_lion_lr5e-2_betas_0.95_0.98", {**LION_DEFAULTS, "lr": 5e-2, "beta1": 0.95, "beta2": 0.98},
     CAUTION_PROBLEMS),
]
SGD_DEFAULTS = {"lr": 0.05, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0}
CAUTIOUS_SGD_SETTINGS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("cautious_sgd_momentum", SGD_DEFAULTS, CAUTION_PROBLEMS + ["scripted_tall"]),
    ("cautious_sgd_nesterov", {**SGD_DEFAULTS, "nesterov": True}, CAUTION_PROBLEMS),
    ("cautious_sgd_dampening", {**SGD_DEFAULTS, "momentum": 0.8, "dampening": 0.5}, CAUTION_PROBLEMS),
    ("cautious_sgd_nesterov_weight_decay", {**SGD_DEFAULTS, "nesterov": True, "weight_decay": 0.1, "lr": 0.02},
     CAUTION_PROBLEMS),
]

RULE_SETTINGS: list[tuple[str, list[tuple[str, dict[str, Any], list[str]]]]] = [
    ("Muon", MUON_SETTINGS),
    ("Adafactor", ADAFACTOR_SETTINGS),
    ("AdamWScheduleFree", SF_SETTINGS),
    ("AdamWScheduleFreeReference", SF_REFERENCE_SETTINGS),
    ("ADOPT", ADOPT_SETTINGS),
    ("CautiousAdamW", CAUTIOUS_ADAMW_SETTINGS),
    ("CautiousLion", CAUTIOUS_LION_SETTINGS),
    ("CautiousSGD", CAUTIOUS_SGD_SETTINGS),
]


# --- the references -------------------------------------------------------------


def clip_lambda(clip: dict[str, float] | None) -> tuple[Callable[[float], float] | None, str | None]:
    """ADOPT's clip_lambda (called with the number of steps taken before this one) and its text."""
    if clip is None:
        return None, None
    scale, power = clip["scale"], clip["power"]
    return (lambda step: scale * step**power), f"lambda step: {scale!r} * step ** {power!r}"


def reference_optimizer(rule: str, hp: dict[str, Any], p: torch.Tensor) -> tuple[Any, str, dict[str, Any]]:
    """The reference optimizer for a rule on parameter ``p``, its dotted name and its arguments (JSON-ready)."""
    if rule == "Muon":
        kwargs = {"lr": hp["lr"], "weight_decay": hp["weight_decay"], "momentum": hp["momentum"],
                  "nesterov": hp["nesterov"], "ns_coefficients": hp["ns_coefficients"], "eps": hp["eps"],
                  "ns_steps": hp["ns_steps"], "adjust_lr_fn": hp["adjust_lr_fn"]}
        optimizer = torch.optim.Muon([p], **{**kwargs, "ns_coefficients": tuple(kwargs["ns_coefficients"])})
        return optimizer, "torch.optim.Muon (Newton-Schulz in float64)", kwargs
    if rule == "Adafactor":
        kwargs = {"lr": hp["lr"], "beta2_decay": hp["beta2_decay"], "eps": [hp["eps1_given"], hp["eps2"]],
                  "d": hp["d"], "weight_decay": hp["weight_decay"], "foreach": False}
        optimizer = torch.optim.Adafactor([p], **{**kwargs, "eps": tuple(kwargs["eps"])})
        return optimizer, "torch.optim.Adafactor", kwargs
    if rule in ("AdamWScheduleFree", "AdamWScheduleFreeReference"):
        import schedulefree

        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                  "weight_decay": hp["weight_decay"], "warmup_steps": hp["warmup_steps"], "r": hp["r"],
                  "weight_lr_power": hp["weight_lr_power"]}
        if rule == "AdamWScheduleFreeReference":
            kwargs["decay_at_z"] = hp["decay_at_z"]
        else:
            kwargs["foreach"] = False
        cls = getattr(schedulefree, rule)
        with contextlib.redirect_stdout(io.StringIO()):  # the Reference class prints "Switching to train mode"
            optimizer = cls([p], **{**kwargs, "betas": tuple(kwargs["betas"])})
            optimizer.train()
        return optimizer, f"schedulefree.{rule}", {**kwargs, "then": "optimizer.train()"}
    if rule == "ADOPT":
        import adopt

        fn, text = clip_lambda(hp["clip"])
        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"], "clip_lambda": text,
                  "weight_decay": hp["weight_decay"], "decouple": hp["decouple"], "foreach": False}
        optimizer = adopt.ADOPT([p], **{**kwargs, "betas": tuple(kwargs["betas"]), "clip_lambda": fn})
        return optimizer, "adopt.ADOPT", kwargs
    if rule == "CautiousAdamW":
        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "eps": hp["eps"],
                  "weight_decay": hp["weight_decay"], "amsgrad": hp["amsgrad"], "caution": True, "foreach": False}
        optimizer = timm_optim("adamw").AdamWLegacy([p], **{**kwargs, "betas": tuple(kwargs["betas"])})
        return optimizer, "timm.optim.adamw.AdamWLegacy", kwargs
    if rule == "CautiousLion":
        kwargs = {"lr": hp["lr"], "betas": [hp["beta1"], hp["beta2"]], "weight_decay": hp["weight_decay"],
                  "caution": True, "foreach": False}
        optimizer = timm_optim("lion").Lion([p], **{**kwargs, "betas": tuple(kwargs["betas"])})
        return optimizer, "timm.optim.lion.Lion", kwargs
    if rule == "CautiousSGD":
        kwargs = {"lr": hp["lr"], "momentum": hp["momentum"], "dampening": hp["dampening"],
                  "nesterov": hp["nesterov"], "weight_decay": hp["weight_decay"], "caution": True, "foreach": False}
        optimizer = timm_optim("sgdw").SGDW([p], **kwargs)
        return optimizer, "timm.optim.sgdw.SGDW", kwargs
    raise ValueError(f"unknown rule {rule}")


def resolve(rule: str, hp: dict[str, Any], p: torch.Tensor) -> dict[str, Any]:
    """The hyperparameters as the case stores them (Adafactor's eps1 = None resolved to the dtype's eps)."""
    if rule == "Adafactor":
        eps1 = torch.finfo(p.dtype).eps if hp["eps1"] is None else hp["eps1"]
        return {**hp, "eps1": eps1, "eps1_given": hp["eps1"]}
    return dict(hp)


def final_state(optimizer: Any, p: torch.Tensor) -> dict[str, Any]:
    """The reference's per-parameter state after the last step, as lists (scalars as numbers)."""
    out: dict[str, Any] = {}
    for key, value in optimizer.state[p].items():
        if torch.is_tensor(value):
            out[key] = value.item() if value.dim() == 0 else value.tolist()
        else:
            out[key] = value
    return out


def run_case(label: str, rule: str, hp: dict[str, Any], problem: str,
             newton_schulz: Callable[..., torch.Tensor]) -> dict[str, Any]:
    """Run one reference on one problem and return the case as a JSON-ready dict."""
    grad_fn, theta0, steps = PROBLEMS[problem]
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    hp = resolve(rule, hp, p)
    optimizer, reference_name, reference_kwargs = reference_optimizer(rule, hp, p)
    hp.pop("eps1_given", None)
    grads, thetas, xs = [], [], []
    with muon_newton_schulz(newton_schulz):
        for k in range(steps):
            g = grad_fn(k, p.detach().tolist())
            p.grad = torch.tensor(g, dtype=torch.float64)
            optimizer.step()
            grads.append(g)
            thetas.append(p.detach().tolist())
            if rule == "AdamWScheduleFree":  # what eval() would set: p.lerp_(z, 1 - 1/beta1)
                xs.append(p.detach().clone().lerp_(optimizer.state[p]["z"], 1 - 1 / hp["beta1"]).tolist())
            elif rule == "AdamWScheduleFreeReference":
                xs.append(optimizer.state[p]["x"].tolist())
    flat = np.array(thetas, dtype=np.float64).ravel()
    if not (np.all(np.isfinite(flat)) and np.max(np.abs(flat)) < 1e3):
        raise RuntimeError(f"{problem}:{label} diverged")
    case = {
        "name": f"{problem}:{label}",
        "rule": rule,
        "hyperparameters": hp,
        "reference": reference_name,
        "reference_kwargs": reference_kwargs,
        "problem": problem,
        "theta0": theta0,
        "grads": grads,
        "thetas": thetas,
    }
    if xs:
        case["xs"] = xs
    case["final_state"] = final_state(optimizer, p)
    return case


# --- how much bfloat16 moves Muon -------------------------------------------------


def bfloat16_difference(original: Callable[..., torch.Tensor], patched: Callable[..., torch.Tensor],
                        steps: int = 5) -> dict[str, Any]:
    """torch.optim.Muon as shipped (bfloat16 Newton-Schulz) vs the float64 copy, 48 configurations.

    Configurations: 4 problems (scripted/quadratic x wide/tall) x nesterov {True, False} x adjust_lr_fn
    {original, match_rms_adamw} x (ns_steps, weight_decay) in {(5, 0), (5, 0.1), (3, 0)}; lr 0.02,
    momentum 0.95; ``steps`` steps each. Per configuration: max |theta_bf16 - theta_f64| over the entries,
    and ||theta_bf16 - theta_f64||_F / ||theta_f64 - theta0||_F (a fraction of the distance moved).
    """
    rows: list[dict[str, Any]] = []
    all_abs: list[float] = []
    for problem in MATRICES:
        grad_fn, theta0, _ = PROBLEMS[problem]
        for nesterov in (True, False):
            for adjust in ("original", "match_rms_adamw"):
                for ns_steps, weight_decay in ((5, 0.0), (5, 0.1), (3, 0.0)):
                    hp = {**MUON_DEFAULTS, "nesterov": nesterov, "adjust_lr_fn": adjust, "ns_steps": ns_steps,
                          "weight_decay": weight_decay}
                    finals = []
                    for function in (patched, original):
                        p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
                        optimizer, _, _ = reference_optimizer("Muon", hp, p)
                        with muon_newton_schulz(function):
                            for k in range(steps):
                                p.grad = torch.tensor(grad_fn(k, p.detach().tolist()), dtype=torch.float64)
                                optimizer.step()
                        finals.append(p.detach().clone())
                    f64, bf16 = finals
                    start = torch.tensor(theta0, dtype=torch.float64)
                    diff = bf16 - f64
                    all_abs.extend(diff.abs().flatten().tolist())
                    rows.append({
                        "problem": problem, "nesterov": nesterov, "adjust_lr_fn": adjust, "ns_steps": ns_steps,
                        "weight_decay": weight_decay,
                        "max_abs": diff.abs().max().item(),
                        "median_abs": diff.abs().median().item(),
                        "fraction_of_distance_moved": (diff.norm() / (f64 - start).norm()).item(),
                    })
    max_abs = [row["max_abs"] for row in rows]
    fractions = [row["fraction_of_distance_moved"] for row in rows]
    return {
        "description": f"torch.optim.Muon as shipped (Newton-Schulz in bfloat16) vs the float64 copy used for the "
                       f"cases: parameters after {steps} steps, float64 parameters and gradients, lr 0.02, "
                       "momentum 0.95; 48 configurations = 4 problems (scripted/quadratic x wide 3x5/tall 5x3) "
                       "x nesterov {true, false} x adjust_lr_fn {original, match_rms_adamw} x "
                       "(ns_steps, weight_decay) in {(5, 0), (5, 0.1), (3, 0)}. Per configuration: max_abs = "
                       "max |theta_bf16 - theta_f64| over the entries; fraction_of_distance_moved = "
                       "||theta_bf16 - theta_f64||_F / ||theta_f64 - theta0||_F.",
        "steps": steps,
        "configurations": len(rows),
        "median_of_max_abs": statistics.median(max_abs),
        "max_of_max_abs": max(max_abs),
        "median_abs_all_entries": statistics.median(all_abs),
        "fraction_of_distance_moved": {"min": min(fractions), "median": statistics.median(fractions),
                                       "max": max(fractions)},
        "per_configuration": rows,
    }


def pretty(value: Any, depth: int = 3, indent: int = 0) -> str:
    """JSON with dict entries (and the items of lists of dicts) on their own lines down to ``depth`` levels,
    anything deeper on one line: the header stays readable without a line per matrix entry."""
    pad = " " * (indent + 1)
    if depth > 0 and isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(key)}: {pretty(item, depth - 1, indent + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if depth > 0 and isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return "[\n" + ",\n".join(pad + json.dumps(item) for item in value) + "\n" + " " * indent + "]"
    return json.dumps(value)


def main() -> None:
    """Generate every case, measure bfloat16's effect on Muon, and write the fixture file."""
    torch.set_default_dtype(torch.float64)
    # torch-adopt 0.1.0 calls torch._utils.is_compiling, which warns (deprecated) at every step.
    warnings.filterwarnings("ignore", message=".*torch._utils.is_compiling.*")
    original, patched = float64_newton_schulz()
    cases = [run_case(label, rule, hp, problem, patched)
             for rule, settings in RULE_SETTINGS for label, hp, problems in settings for problem in problems]
    names = [case["name"] for case in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    bf16 = bfloat16_difference(original, patched)
    # The same summary after other numbers of steps (the per-configuration rows only for the main one).
    bf16["summary_by_steps"] = {
        str(steps): {key: value for key, value in bfloat16_difference(original, patched, steps).items()
                     if key not in ("description", "per_configuration", "configurations", "steps")}
        for steps in (1, 3, 10, 15)
    }
    body = ",\n".join(json.dumps(case) for case in cases)
    header = {
        "generated_by": "tests/make_modern_fixtures.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "reference_packages": {name: importlib.metadata.version(name) for name in REFERENCE_PACKAGES},
        "muon_float64_patch": {"function": f"torch.optim._muon.{NS_FUNCTION}", "replaced": BF16_LINE,
                               "by": COPY_LINE, "only_change": True},
        "problems": PROBLEM_DESCRIPTIONS,
        "bfloat16_difference": bf16,
    }
    text = pretty(header)[:-2] + ',\n "cases": [\n' + body + "\n ]\n}\n"
    json.loads(text)  # the hand-joined file must still be valid JSON
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    counts: dict[str, int] = {}
    for case in cases:
        counts[case["rule"]] = counts.get(case["rule"], 0) + 1
    versions = ", ".join(f"{name} {version}" for name, version in header["reference_packages"].items())
    print(f"wrote {len(cases)} cases ({len(text) / 1024:.0f} KiB) to {OUTPUT}")
    print("cases per rule: " + ", ".join(f"{rule} {n}" for rule, n in counts.items()))
    print(f"with torch {torch.__version__}, {versions}")
    print(f"bfloat16 vs float64 Muon after {bf16['steps']} steps, {bf16['configurations']} configurations: "
          f"max |diff| median {bf16['median_of_max_abs']:.2e}, max {bf16['max_of_max_abs']:.2e}; "
          f"fraction of distance moved {bf16['fraction_of_distance_moved']['min']:.2%} .. "
          f"{bf16['fraction_of_distance_moved']['max']:.2%} (median "
          f"{bf16['fraction_of_distance_moved']['median']:.2%})")


if __name__ == "__main__":
    main()
