"""lessons_lib.clipping: torch.nn.utils.clip_grad_norm_'s results to 1e-12, nothing in place, bad input refused.

The torch cases are in ``tests/fixtures/torch_schedules.json`` (under
``clipping``), written by ``tests/make_torch_schedule_fixtures.py``. Run
``python tests/test_clipping.py`` to print each case's largest deviation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lessons_lib.clipping import NORM_EPS, clip_by_global_norm

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_schedules.json"
TOLERANCE = 1e-12

Case = dict[str, Any]
CASES: list[Case] = json.loads(FIXTURE.read_text())["clipping"]


def clip_case(case: Case) -> tuple[list[np.ndarray], float]:
    """Clip a case's gradients with lessons_lib; always return a list."""
    grads = [np.array(g, dtype=np.float64) for g in case["grads"]]
    clipped, total_norm = clip_by_global_norm(grads[0] if case["single"] else grads, case["max_norm"])
    return ([clipped] if case["single"] else clipped), total_norm


def deviations(case: Case) -> tuple[float, float]:
    """Relative deviation of the norm, largest relative deviation of the clipped entries (vs. their array's size)."""
    clipped, total_norm = clip_case(case)
    norm_error = abs(total_norm - case["total_norm"]) / max(case["total_norm"], 1e-300)
    entry_error = 0.0
    for ours, theirs in zip(clipped, case["clipped"]):
        theirs = np.array(theirs)
        if theirs.size:
            entry_error = max(entry_error, float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)))
    return norm_error, entry_error


# --- against torch -------------------------------------------------------------------------------


def test_the_fixture_has_clipped_and_unclipped_cases():
    acted = [case["total_norm"] + NORM_EPS > case["max_norm"] for case in CASES]
    assert len(CASES) >= 8 and any(acted) and not all(acted)
    assert any(case["single"] for case in CASES) and any(len(case["grads"]) >= 3 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_clipping_matches_torch(case):
    clipped, total_norm = clip_case(case)
    assert total_norm == pytest.approx(case["total_norm"], rel=TOLERANCE, abs=0)
    assert len(clipped) == len(case["grads"])
    for ours, theirs in zip(clipped, case["clipped"]):
        theirs = np.array(theirs, dtype=np.float64)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE, atol=0)


# --- the rule ------------------------------------------------------------------------------------


def test_the_norm_is_global_over_all_arrays():
    grads = [np.array([0.8, 0.0]), np.array([[0.0], [0.8]])]  # each 0.8 < 1, together 0.8·√2 > 1
    clipped, total_norm = clip_by_global_norm(grads, 1.0)
    assert total_norm == pytest.approx(0.8 * math.sqrt(2), rel=1e-15)
    scale = 1.0 / (total_norm + 1e-6)
    for before, after in zip(grads, clipped):
        np.testing.assert_allclose(after, before * scale, rtol=1e-15)
    new_norm = math.sqrt(sum(float(np.sum(g**2)) for g in clipped))
    assert new_norm < 1.0 and new_norm == pytest.approx(1.0, abs=2e-6)  # just under max_norm, by the 1e-6


def test_short_gradients_are_unchanged_but_returned_as_new_arrays():
    grads = [np.array([0.1, -0.2]), np.array([0.3])]
    clipped, total_norm = clip_by_global_norm(grads, 1.0)
    for before, after in zip(grads, clipped):
        np.testing.assert_array_equal(after, before)
        assert after is not before and not np.shares_memory(after, before)
    assert total_norm == pytest.approx(math.sqrt(0.14), rel=1e-15)


def test_a_norm_of_exactly_max_norm_is_still_scaled_by_the_epsilon():
    clipped, total_norm = clip_by_global_norm(np.array([3.0, 4.0]), 5.0)
    assert total_norm == 5.0
    np.testing.assert_array_equal(clipped, np.array([3.0, 4.0]) * (5.0 / (5.0 + 1e-6)))


def test_zero_gradients_stay_zero():
    clipped, total_norm = clip_by_global_norm([np.zeros(3), np.zeros((2, 2))], 1.0)
    assert total_norm == 0.0 and all((g == 0).all() for g in clipped)


def test_nothing_is_modified_in_place():
    grads = [np.array([30.0, -40.0]), np.array([[1.0, 2.0]])]
    copies = [g.copy() for g in grads]
    clip_by_global_norm(grads, 1.0)
    clip_by_global_norm(grads[0], 1.0)
    for g, copy in zip(grads, copies):
        np.testing.assert_array_equal(g, copy)


def test_one_array_in_one_array_out_a_list_in_a_list_out():
    clipped, _ = clip_by_global_norm(np.ones((2, 3)), 1.0)
    assert isinstance(clipped, np.ndarray) and clipped.shape == (2, 3)
    clipped, _ = clip_by_global_norm((np.ones(2), np.ones(3, dtype=np.int64)), 1.0)
    assert isinstance(clipped, list) and [g.dtype for g in clipped] == [np.float64, np.float64]
    clipped, norm = clip_by_global_norm([np.ones(2), np.array(2.0)], 10.0)  # a 0-d array counts too
    assert clipped[1].shape == () and norm == pytest.approx(math.sqrt(6), rel=1e-15)


def test_the_norm_is_returned_as_a_float():
    _, total_norm = clip_by_global_norm(np.array([1.0, 1.0]), 1.0)
    assert type(total_norm) is float


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("grads, message", [
    (np.array([1.0, np.nan]), "grads contains NaN or infinity"),
    ([np.ones(2), np.array([np.inf])], "grads\\[1\\] contains NaN or infinity"),
    ([np.array([1e200, 1e200])], "the global norm of the gradients is inf"),
    ([], "grads is an empty list"),
    ({"w": np.ones(2)}, "grads must be a numpy array or a list of numpy arrays"),
    ("gradient", "grads must be a numpy array or a list of numpy arrays"),
    ([np.array(["a", "b"])], "grads\\[0\\] must hold real numbers"),
    ([np.array([True, False])], "grads\\[0\\] must hold real numbers"),
    (np.array([1 + 2j]), "grads must hold real numbers"),
])
def test_bad_gradients_are_refused_in_words(grads, message):
    with pytest.raises(ValueError, match=message):
        clip_by_global_norm(grads, 1.0)


@pytest.mark.parametrize("max_norm, message", [
    (0.0, "max_norm must be > 0"),
    (-1.0, "max_norm must be > 0"),
    (math.inf, "max_norm must be finite"),
    ("1", "max_norm must be a real number"),
    (None, "max_norm must be a real number"),
])
def test_bad_max_norm_is_refused_in_words(max_norm, message):
    with pytest.raises(ValueError, match=message):
        clip_by_global_norm(np.ones(3), max_norm)


if __name__ == "__main__":
    worst = 0.0
    for case in CASES:
        norm_error, entry_error = deviations(case)
        worst = max(worst, norm_error, entry_error)
        print(f"{case['name']:34s} norm: rel. dev. {norm_error:.3g}; clipped: rel. dev. {entry_error:.3g}")
    print(f"all {len(CASES)} clipping cases: max relative deviation from torch = {worst:.3g}")
