"""lessons_lib.optim against torch.optim (and reference packages): replay stored trajectories to 1e-12.

The fixture ``tests/fixtures/torch_reference.json`` is written by
``tests/make_torch_fixtures.py`` (the only file that needs torch). This module
needs only numpy and lessons_lib: for every case it builds the rule from
``rule`` + ``hyperparameters``, feeds the stored gradients step by step and
compares each parameter vector with the reference's. The references are
torch.optim, except for AdaBelief (adabelief-pytorch), Lion (lion-pytorch)
and Lookahead (torch-optimizer, put in the paper's phase: see the fixture
script).

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
MIN_CASES = 150
RULES = {"SGD", "AdaGrad", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "AdaBelief", "Lion", "Lookahead"}
REFERENCE_PACKAGES = {"adabelief-pytorch", "lion-pytorch", "torch-optimizer"}
PROBLEMS = {"scripted", "quadratic", "rosenbrock"}

Case = dict[str, Any]


def load_fixture() -> dict[str, Any]:
    """The whole fixture file: header fields and the list under ``cases``."""
    return json.loads(FIXTURE.read_text())


CASES: list[Case] = load_fixture()["cases"]


def find_case(name: str) -> Case:
    """The case with this name."""
    return next(case for case in CASES if case["name"] == name)


def build(rule: str, hyperparameters: dict[str, Any]) -> Any:
    """A lessons_lib rule from its class name and hyperparameters (a Lookahead's ``inner`` is built first)."""
    if "inner" in hyperparameters:
        inner = hyperparameters["inner"]
        hyperparameters = {**hyperparameters, "inner": build(inner["rule"], inner["hyperparameters"])}
    return getattr(optim, rule)(**hyperparameters)


def make_rule(case: Case) -> Any:
    """The lessons_lib rule a case describes."""
    return build(case["rule"], case["hyperparameters"])


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
    assert set(fixture["reference_packages"]) == REFERENCE_PACKAGES, "the fixture must record the packages' versions"
    assert all(fixture["reference_packages"].values())
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


# ---------------------------------------------------------------------------
# The variants' cases have teeth too: each convention that other libraries
# (or older versions) choose differently is caught by at least one case.
# ---------------------------------------------------------------------------


def cases_of(rule: str) -> list[Case]:
    """Every case of a rule."""
    return [case for case in CASES if case["rule"] == rule]


def radam_eps_after_correction(case: Case) -> np.ndarray:
    """RAdam with ε added after the bias correction, r m̂ / (√v̂ + ε) (optax's form), from the stored grads."""
    hp = case["hyperparameters"]
    rule = optim.RAdam(**hp)
    theta = np.array(case["theta0"])
    m = v = np.zeros_like(theta)
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        g = np.array(grad)
        m = hp["beta1"] * m + (1 - hp["beta1"]) * g
        v = hp["beta2"] * v + (1 - hp["beta2"]) * g**2
        m_hat, v_hat = m / (1 - hp["beta1"] ** t), v / (1 - hp["beta2"] ** t)
        r = rule.rectification(t)
        theta = theta - hp["lr"] * (m_hat if r is None else r * m_hat / (np.sqrt(v_hat) + hp["eps"]))
        thetas.append(theta)
    return np.array(thetas)


def test_radam_cases_cover_both_branches_and_detect_eps_placement() -> None:
    """Every RAdam run has plain momentum steps (ρ_t ≤ 5) and rectified steps; moving ε is caught."""
    for case in cases_of("RAdam"):
        rule = make_rule(case)
        rectified = [rule.rectification(t) is not None for t in range(1, len(case["grads"]) + 1)]
        assert not rectified[0] and rectified[-1], case["name"]
    case = find_case("scripted:radam")
    assert make_rule(case).rectification(5) is None and make_rule(case).rectification(6) is not None
    assert max_deviation(case, radam_eps_after_correction(case)) > 1e-9


def nadam_without_schedule(case: Case) -> np.ndarray:
    """NAdam with a constant μ_t = β₁ (optax's nadam), from the stored grads."""
    hp = case["hyperparameters"]
    b1, b2 = hp["beta1"], hp["beta2"]
    theta = np.array(case["theta0"])
    m = v = np.zeros_like(theta)
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        g = np.array(grad)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        theta = theta - hp["lr"] * m_hat / (np.sqrt(v / (1 - b2**t)) + hp["eps"])
        thetas.append(theta)
    return np.array(thetas)


@pytest.mark.parametrize("name", ["scripted:nadam", "quadratic:nadam_momentum_decay1"])
def test_nadam_cases_detect_the_momentum_schedule(name: str) -> None:
    """Dropping NAdam's μ_t schedule (optax's form) is caught, and so is a wrong ψ."""
    case = find_case(name)
    assert case["hyperparameters"]["weight_decay"] == 0
    assert max_deviation(case, nadam_without_schedule(case)) > 1e-9
    other_psi = optim.NAdam(**{**case["hyperparameters"], "momentum_decay": 0.02})
    assert max_deviation(case, replay(case, other_psi)) > 1e-9


def adamax_eps_outside_max(case: Case) -> np.ndarray:
    """Adamax with u ← max(β₂ u, |g|) and m̂ / (u + ε) (Keras' form), from the stored grads."""
    hp = case["hyperparameters"]
    theta = np.array(case["theta0"])
    m = u = np.zeros_like(theta)
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        g = np.array(grad)
        m = hp["beta1"] * m + (1 - hp["beta1"]) * g
        u = np.maximum(hp["beta2"] * u, np.abs(g))
        theta = theta - hp["lr"] / (1 - hp["beta1"] ** t) * m / (u + hp["eps"])
        thetas.append(theta)
    return np.array(thetas)


def test_adamax_scripted_case_detects_eps_placement() -> None:
    case = find_case("scripted:adamax")
    assert max_deviation(case, adamax_eps_outside_max(case)) > 1e-9


def adabelief_variant(case: Case, change: str) -> np.ndarray:
    """AdaBelief (no weight decay) with one convention changed, from the stored grads.

    ``"previous_m"``: s averages (g − m_{t−1})² (older optax); ``"no_eps_in_s"``: s without the + ε.
    """
    hp = case["hyperparameters"]
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    theta = np.array(case["theta0"])
    m = s = np.zeros_like(theta)
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        g = np.array(grad)
        m_before = m
        m = b1 * m + (1 - b1) * g
        error = g - m_before if change == "previous_m" else g - m
        s = b2 * s + (1 - b2) * error**2 + (0.0 if change == "no_eps_in_s" else eps)
        theta = theta - hp["lr"] * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
        thetas.append(theta)
    return np.array(thetas)


@pytest.mark.parametrize("change", ["previous_m", "no_eps_in_s"])
def test_adabelief_cases_detect_the_belief_conventions(change: str) -> None:
    case = find_case("scripted:adabelief_lr1e-1_eps1e-8")
    assert case["hyperparameters"]["weight_decay"] == 0 and not case["hyperparameters"]["amsgrad"]
    assert max_deviation(case) <= TOLERANCE
    assert max_deviation(case, adabelief_variant(case, change)) > 1e-9


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_adabelief_amsgrad_cases_exercise_the_maximum(problem: str) -> None:
    case = find_case(f"{problem}:adabelief_amsgrad_beta2_0.9")
    plain = optim.AdaBelief(**{**case["hyperparameters"], "amsgrad": False})
    assert max_deviation(case, replay(case, plain)) > 1e-9


def test_lion_reference_does_not_move_where_c_is_zero() -> None:
    """The scripted gradient's second coordinate is 0 at the first step, so c = 0 and sign(0) = 0:
    lion-pytorch (torch.sign) leaves it in place; so does lessons_lib (np.sign)."""
    case = find_case("scripted:lion")
    assert case["grads"][0][1] == 0.0
    assert case["thetas"][0][1] == case["theta0"][1]
    others = [abs(case["thetas"][0][i] - case["theta0"][i]) for i in (0, 2, 3)]
    np.testing.assert_allclose(others, case["hyperparameters"]["lr"], rtol=1e-12)


def lookahead_phase_of_torch_optimizer(case: Case) -> np.ndarray:
    """Lookahead as torch-optimizer 0.3.0 ships it: slow weights taken after step 1, syncs after steps
    1, k + 1, 2k + 1, … (numpy, from the stored grads)."""
    hp = case["hyperparameters"]
    inner = build(hp["inner"]["rule"], hp["inner"]["hyperparameters"])
    theta = np.array(case["theta0"])
    state = inner.init(theta)
    slow = None
    thetas = []
    for t, grad in enumerate(case["grads"], start=1):
        theta, state = inner.step(theta, np.array(grad), state)
        if (t - 1) % hp["k"] == 0:
            slow = theta.copy() if slow is None else slow + hp["alpha"] * (theta - slow)
            theta = slow.copy()
        thetas.append(theta)
    return np.array(thetas)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_lookahead_cases_detect_phase_inner_state_and_sync(problem: str) -> None:
    """The Lookahead cases catch: torch-optimizer's as-shipped phase, resetting the inner state at a
    sync, and no sync at all (the inner rule alone)."""
    for label in ["lookahead_adam", "lookahead_sgd_momentum", "lookahead_k3_alpha0.8_nadam"]:
        case = find_case(f"{problem}:{label}")
        rule = make_rule(case)
        assert max_deviation(case, lookahead_phase_of_torch_optimizer(case)) > 1e-9, label
        reset = optim.Lookahead(rule.inner, k=rule.k, alpha=rule.alpha, reset_inner_state=True)
        assert max_deviation(case, replay(case, reset)) > 1e-9, label
        assert max_deviation(case, replay(case, rule.inner)) > 1e-9, label


def print_deviations() -> None:
    """Print each case's largest deviation from its reference, as a Markdown table."""
    fixture = load_fixture()
    packages = ", ".join(f"{name} {version}" for name, version in fixture["reference_packages"].items())
    print(f"torch {fixture['torch_version']}, {packages}; {len(CASES)} cases, tolerance {TOLERANCE:g}\n")
    print("| case | reference | max abs deviation |\n|---|---|---|")
    for case in CASES:
        print(f"| {case['name']} | {case['torch_optimizer']} | {max_deviation(case):.2e} |")
    print(f"\nlargest: {max(max_deviation(case) for case in CASES):.2e}")


if __name__ == "__main__":
    print_deviations()
