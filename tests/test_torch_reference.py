"""lessons_lib.optim against torch.optim: replay stored torch trajectories to 1e-12.

The fixture ``tests/fixtures/torch_reference.json`` is written by
``tests/make_torch_fixtures.py`` (the only file that needs torch). This module
needs only numpy and lessons_lib: for every case it builds the rule from
``rule`` + ``hyperparameters``, feeds the stored gradients step by step and
compares each parameter vector with torch's.

Run ``python tests/test_torch_reference.py`` to print each case's largest
deviation from torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lessons_lib import optim

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_reference.json"
TOLERANCE = 1e-12
MIN_CASES = 60
RULES = {"SGD", "AdaGrad", "RMSprop", "Adam", "AdamW"}
PROBLEMS = {"scripted", "quadratic", "rosenbrock"}

Case = dict[str, Any]


def load_fixture() -> dict[str, Any]:
    """The whole fixture file: header fields and the list under ``cases``."""
    return json.loads(FIXTURE.read_text())


CASES: list[Case] = load_fixture()["cases"]


def find_case(name: str) -> Case:
    """The case with this name."""
    return next(case for case in CASES if case["name"] == name)


def make_rule(case: Case) -> Any:
    """The lessons_lib rule a case describes."""
    return getattr(optim, case["rule"])(**case["hyperparameters"])


def replay(case: Case, rule: Any | None = None) -> np.ndarray:
    """Feed the case's gradients to ``rule`` (default: the case's own); return θ after each step."""
    rule = make_rule(case) if rule is None else rule
    theta = np.array(case["theta0"], dtype=np.float64)
    state = rule.init(theta)
    thetas = []
    for grad in case["grads"]:
        theta, state = rule.step(theta, np.array(grad, dtype=np.float64), state)
        thetas.append(theta)
    return np.array(thetas)


def max_deviation(case: Case, thetas: np.ndarray | None = None) -> float:
    """Largest |θ − θ_torch| over all steps and coordinates (``thetas`` default: lessons_lib's replay)."""
    thetas = replay(case) if thetas is None else thetas
    return float(np.max(np.abs(thetas - np.array(case["thetas"]))))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_matches_torch(case: Case) -> None:
    """Every step of lessons_lib's trajectory is within 1e-12 of torch's."""
    for step, (ours, theirs) in enumerate(zip(replay(case), case["thetas"]), start=1):
        np.testing.assert_allclose(
            ours, np.array(theirs), rtol=0, atol=TOLERANCE,
            err_msg=f"case {case['name']!r}: lessons_lib differs from {case['torch_optimizer']} after step {step}",
        )


def test_fixture_is_complete() -> None:
    """The fixture cannot silently shrink: every rule on every problem, enough cases, sane shapes."""
    fixture = load_fixture()
    assert fixture["torch_version"], "the fixture must record the torch version"
    assert len(CASES) >= MIN_CASES, f"only {len(CASES)} cases, expected at least {MIN_CASES}"
    assert len({case["name"] for case in CASES}) == len(CASES), "case names must be unique"
    covered = {(case["rule"], case["problem"]) for case in CASES}
    missing = {(rule, problem) for rule in RULES for problem in PROBLEMS} - covered
    assert not missing, f"no case for {sorted(missing)}"
    for case in CASES:
        n = len(case["theta0"])
        assert len(case["grads"]) == len(case["thetas"]) >= 20, case["name"]
        assert all(len(v) == n for v in case["grads"] + case["thetas"]), case["name"]


def adam_variant(case: Case, eps_placement: str) -> np.ndarray:
    """Adam's trajectory with ε placed as other libraries place it (numpy, from the stored grads).

    ``"inside_root"``: θ ← θ − η m̂ / √(v̂ + ε) (as RMSprop in Keras / optax put it).
    ``"before_correction"``: θ ← θ − η √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)
    (Keras' "ε̂" form: ε added before the bias correction).
    """
    hp = case["hyperparameters"]
    lr, b1, b2, eps = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"]
    theta = np.array(case["theta0"], dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        g = np.array(grad)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        c1, c2 = 1 - b1**t, 1 - b2**t
        if eps_placement == "inside_root":
            theta = theta - lr * (m / c1) / np.sqrt(v / c2 + eps)
        else:
            theta = theta - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
        thetas.append(theta)
    return np.array(thetas)


@pytest.mark.parametrize("eps_placement", ["inside_root", "before_correction"])
def test_scripted_case_detects_eps_placement(eps_placement: str) -> None:
    """The comparison has teeth: moving Adam's ε is caught by the scripted case (1e-6 coordinate)."""
    case = find_case("scripted:adam_lr1e-2")
    assert case["rule"] == "Adam" and case["hyperparameters"]["eps"] == 1e-8
    assert max_deviation(case) <= TOLERANCE
    assert max_deviation(case, adam_variant(case, eps_placement)) > 1e-9


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_amsgrad_cases_detect_a_missing_max(problem: str) -> None:
    """The AMSGrad cases with β₂ = 0.9 really exercise the running maximum."""
    case = find_case(f"{problem}:adam_amsgrad_beta2_0.9_weight_decay")
    plain = optim.Adam(**{**case["hyperparameters"], "amsgrad": False})
    assert max_deviation(case, replay(case, plain)) > 1e-9


def print_deviations() -> None:
    """Print each case's largest deviation from torch, as a Markdown table."""
    print(f"torch {load_fixture()['torch_version']}, {len(CASES)} cases, tolerance {TOLERANCE:g}\n")
    print("| case | max abs deviation |\n|---|---|")
    for case in CASES:
        print(f"| {case['name']} | {max_deviation(case):.2e} |")


if __name__ == "__main__":
    print_deviations()
