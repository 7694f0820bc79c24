"""Lesson 11's rules against their references: replay stored trajectories to 1e-12.

The fixture ``tests/fixtures/modern_reference.json`` is written by
``tests/make_modern_fixtures.py`` (the only file that needs torch): torch.optim.Muon
(Newton–Schulz in float64: torch's own function with its bfloat16 cast replaced by a
copy), torch.optim.Adafactor, schedulefree.AdamWScheduleFree (and its Reference
class), adopt.ADOPT (torch-adopt) and timm's ``caution=True`` on AdamW, Lion and SGDW.
For every case this module builds the lessons_lib rule, feeds the stored gradients
step by step and compares θ after each step, Schedule-Free's x (what ``eval()``
would load) and the reference's final state.

Run ``python tests/test_modern_reference.py`` to print the largest deviation per rule.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lessons_lib import optim

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "modern_reference.json"
TOLERANCE = 1e-12
COUNTS = {"Muon": 20, "Adafactor": 17, "AdamWScheduleFree": 17, "AdamWScheduleFreeReference": 5, "ADOPT": 15,
          "CautiousAdamW": 11, "CautiousLion": 7, "CautiousSGD": 9}
#: The reference's state names -> lessons_lib's (a Cautious rule's state is its inner rule's; SGD's buffer is b).
STATE_NAMES = {"momentum_buffer": "B", "step": "t", "row_var": "R", "col_var": "C", "variance": "v", "z": "z",
               "x": "x", "exp_avg_sq": "v", "exp_avg": "m", "max_exp_avg_sq": "v_max"}
SGD_STATE_NAMES = {**STATE_NAMES, "momentum_buffer": "b"}

Case = dict[str, Any]
FIXTURE_DATA = json.loads(FIXTURE.read_text())
CASES: list[Case] = FIXTURE_DATA["cases"]


def make_rule(case: Case) -> Any:
    """The lessons_lib rule a case describes (the fixture's hyperparameters use the course's names)."""
    hp = dict(case["hyperparameters"])
    rule = case["rule"]
    if rule == "ADOPT":
        clip = hp.pop("clip")
        hp["decoupled_weight_decay"] = hp.pop("decouple")
        hp.update(clip=False) if clip is None else hp.update(clip_scale=clip["scale"], clip_power=clip["power"])
        return optim.ADOPT(**hp)
    if rule == "CautiousAdamW":
        return optim.Cautious(optim.AdamW(**hp))
    if rule == "CautiousLion":
        return optim.Cautious(optim.Lion(**hp))
    if rule == "CautiousSGD":  # timm's SGDW: decoupled decay
        return optim.Cautious(optim.SGD(**hp, decoupled_weight_decay=True))
    if rule.startswith("AdamWScheduleFree"):
        return optim.AdamWScheduleFree(**hp)
    return getattr(optim, rule)(**hp)


def replay(case: Case, rule: Any | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """θ after each step, x after each step (Schedule-Free; else θ again), and the final state."""
    rule = make_rule(case) if rule is None else rule
    theta = np.array(case["theta0"], dtype=np.float64)
    state = rule.init(theta)
    thetas, xs = [], []
    for grad in case["grads"]:
        theta, state = rule.step(theta, np.array(grad, dtype=np.float64), state)
        thetas.append(theta)
        xs.append(rule.evaluation_point(theta, state) if hasattr(rule, "evaluation_point") else theta)
    return np.array(thetas), np.array(xs), state


def deviations(case: Case, rule: Any | None = None) -> dict[str, float]:
    """Largest |ours − reference| of θ, of x (Schedule-Free) and of each stored state entry."""
    thetas, xs, state = replay(case, rule)
    found = {"theta": float(np.max(np.abs(thetas - np.array(case["thetas"]))))}
    if "xs" in case:
        found["x"] = float(np.max(np.abs(xs - np.array(case["xs"]))))
    names = SGD_STATE_NAMES if case["rule"] == "CautiousSGD" else STATE_NAMES
    for name, value in case["final_state"].items():
        if name != "y":  # the Reference class's y is θ itself
            found[f"state.{name}"] = float(np.max(np.abs(np.asarray(getattr(state, names[name])) - value)))
    return found


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_matches_reference(case: Case) -> None:
    """θ at every step, x at every step and the final state are within 1e-12 of the reference's."""
    thetas, xs, _ = replay(case)
    for step, (ours, theirs) in enumerate(zip(thetas, case["thetas"]), start=1):
        np.testing.assert_allclose(ours, np.array(theirs), rtol=0, atol=TOLERANCE,
                                   err_msg=f"{case['name']}: θ differs from {case['reference']} after step {step}")
    for step, (ours, theirs) in enumerate(zip(xs, case.get("xs", [])), start=1):
        np.testing.assert_allclose(ours, np.array(theirs), rtol=0, atol=TOLERANCE,
                                   err_msg=f"{case['name']}: x differs from {case['reference']} after step {step}")
    assert max(deviations(case).values()) <= TOLERANCE, deviations(case)


def test_fixture_is_complete() -> None:
    """The fixture cannot silently shrink: every rule with its number of cases, sane shapes, versions recorded."""
    assert FIXTURE_DATA["torch_version"] and all(FIXTURE_DATA["reference_packages"].values())
    assert {rule: sum(case["rule"] == rule for case in CASES) for rule in COUNTS} == COUNTS
    assert len({case["name"] for case in CASES}) == len(CASES) == sum(COUNTS.values())
    for case in CASES:
        shape = np.shape(case["theta0"])
        assert len(case["grads"]) == len(case["thetas"]) >= 10, case["name"]
        assert all(np.shape(v) == shape for v in case["grads"] + case["thetas"]), case["name"]


def cases_of(rule: str) -> list[Case]:
    return [case for case in CASES if case["rule"] == rule]


@pytest.mark.parametrize("rule, change", [
    ("CautiousAdamW", lambda r: r.inner), ("CautiousLion", lambda r: r.inner), ("CautiousSGD", lambda r: r.inner),
    ("ADOPT", lambda r: replace(r, clip_power=r.clip_power + 0.05)),
    ("Muon", lambda r: replace(r, nesterov=not r.nesterov)),
    ("Adafactor", lambda r: replace(r, d=r.d + 1)),
    ("AdamWScheduleFree", lambda r: replace(r, beta1=0.5)),
])
def test_the_cases_have_teeth(rule: str, change: Any) -> None:
    """A changed rule (the mask removed, another clip, …) misses most cases of its rule by > 1e-9."""
    missed = [max(deviations(case, change(make_rule(case))).values()) > 1e-9 for case in cases_of(rule)]
    assert sum(missed) >= len(missed) / 2, f"{rule}: only {sum(missed)} of {len(missed)} cases notice the change"


def print_deviations() -> None:
    """Print the largest deviation per rule, as a Markdown table."""
    print(f"torch {FIXTURE_DATA['torch_version']}, {FIXTURE_DATA['reference_packages']}; {len(CASES)} cases\n")
    print("| rule | cases | max abs deviation (θ, x) | max abs deviation (final state) |\n|---|---|---|---|")
    for rule in COUNTS:
        found = [deviations(case) for case in cases_of(rule)]
        params = max(v for f in found for k, v in f.items() if not k.startswith("state"))
        state = max(v for f in found for k, v in f.items() if k.startswith("state"))
        print(f"| {rule} | {len(found)} | {params:.1e} | {state:.1e} |")


if __name__ == "__main__":
    print_deviations()
