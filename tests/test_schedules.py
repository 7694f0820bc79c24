"""lessons_lib.schedules: the learning rates torch.optim.lr_scheduler gives, to 1e-12; the conventions; bad input.

The fixture ``tests/fixtures/torch_schedules.json`` is written by
``tests/make_torch_schedule_fixtures.py`` (the only file that needs torch).
Run ``python tests/test_schedules.py`` to print each case's largest deviation
from torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lessons_lib import schedules
from lessons_lib.optim import SGD, Adam
from lessons_lib.schedules import Constant, Cosine, Exponential, Schedule, StepDecay, WarmupCosine

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_schedules.json"
TOLERANCE = 1e-12
CLASSES = {"Constant", "StepDecay", "Exponential", "Cosine", "WarmupCosine"}

Case = dict[str, Any]
CASES: list[Case] = json.loads(FIXTURE.read_text())["schedules"]


def find_case(name: str) -> Case:
    """The case with this name."""
    return next(case for case in CASES if case["name"] == name)


def make_schedule(case: Case) -> Schedule:
    """The lessons_lib schedule a case describes."""
    return getattr(schedules, case["schedule"])(**case["hyperparameters"])


def deviation(case: Case) -> float:
    """The largest |lessons_lib − torch| over the steps where they must agree."""
    n = case["agree_until"]
    ours = make_schedule(case).values(case["steps"])[:n]
    return float(np.max(np.abs(ours - np.array(case["lrs"][:n]))))


# --- against torch -------------------------------------------------------------------------------


def test_the_fixture_covers_every_schedule_at_least_twice():
    counts = {name: sum(case["schedule"] == name for case in CASES) for name in CLASSES}
    assert set(case["schedule"] for case in CASES) == CLASSES
    assert all(count >= 2 for count in counts.values()), counts
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_learning_rate_matches_torch(case):
    assert len(case["lrs"]) == case["steps"]
    assert deviation(case) <= TOLERANCE


@pytest.mark.parametrize("name", ["cosine_past_T", "warmup_cosine_past_T"])
def test_past_the_end_torch_swings_back_up_and_we_stay_at_min_lr(name):
    case = find_case(name)
    n, min_lr = case["agree_until"], case["hyperparameters"]["min_lr"]
    assert n == case["hyperparameters"]["total_steps"] + 1 < case["steps"]  # the run goes past T
    torch_after = np.array(case["lrs"][n:])
    ours_after = make_schedule(case).values(case["steps"])[n:]
    lr = case["hyperparameters"]["lr"]
    assert (torch_after > min_lr).all()  # torch's cosine goes on, back up to η (its period is 2T)
    assert torch_after.max() == pytest.approx(lr, rel=1e-12)
    np.testing.assert_array_equal(ours_after, min_lr)  # ours stays at the bottom


def test_warm_up_starts_at_lr_times_start_factor_and_the_boundary_step_uses_the_peak():
    for name in ["warmup_cosine_10_100", "warmup_cosine_1_30", "warmup_cosine_half", "warmup_cosine_99_100"]:
        case = find_case(name)
        hp = case["hyperparameters"]
        lr, warmup, lrs = hp["lr"], hp["warmup_steps"], case["lrs"]
        schedule = make_schedule(case)
        assert lrs[0] == pytest.approx(lr * hp["start_factor"], abs=1e-15)  # torch starts at lr·s, not at 0
        assert schedule(0) == pytest.approx(lrs[0], abs=1e-15)
        assert lrs[warmup] == pytest.approx(lr, abs=1e-15)  # the milestone W: the cosine's first step, the peak
        assert schedule(warmup) == pytest.approx(lr, abs=1e-15)
        assert lrs[warmup - 1] < lr and schedule(warmup - 1) < lr  # the warm-up itself never reaches it
        assert lrs[hp["total_steps"]] == pytest.approx(hp["min_lr"], abs=1e-15)  # and η_min at T


def test_step_decay_changes_on_multiples_of_step_size_as_torch_does():
    case = find_case("step_decay_7_0.5")
    lrs = np.array(case["lrs"])
    changes = np.flatnonzero(np.diff(lrs)) + 1
    np.testing.assert_array_equal(changes, np.arange(7, 60, 7))
    schedule = make_schedule(case)
    assert [schedule(t) for t in (0, 6, 7, 13, 14)] == [0.03, 0.03, 0.015, 0.015, 0.0075]


# --- the formulas, where torch has nothing to say ----------------------------------------------


def test_warm_up_from_zero_which_torch_refuses():
    schedule = WarmupCosine(lr=0.2, warmup_steps=4, total_steps=10)  # start_factor = 0 by default
    np.testing.assert_allclose(schedule.values(5), [0.0, 0.05, 0.1, 0.15, 0.2], rtol=0, atol=1e-16)


def test_no_warm_up_is_plain_cosine():
    with_zero = WarmupCosine(lr=0.1, warmup_steps=0, total_steps=50, min_lr=0.01)
    plain = Cosine(lr=0.1, total_steps=50, min_lr=0.01)
    np.testing.assert_array_equal(with_zero.values(60), plain.values(60))


def test_cosine_is_halfway_at_half_time_and_symmetric_around_it():
    schedule = Cosine(lr=1.0, total_steps=100, min_lr=0.2)
    assert schedule(50) == pytest.approx(0.6, abs=1e-15)
    for t in range(50):
        assert schedule(t) + schedule(100 - t) == pytest.approx(1.2, abs=1e-15)


def test_exponential_halves_every_ln2_over_ln_one_over_gamma_steps():
    schedule = Exponential(lr=1.0, gamma=0.5 ** (1 / 69))
    assert schedule(69) == pytest.approx(0.5, rel=1e-13)
    assert schedule(138) == pytest.approx(0.25, rel=1e-13)


def test_calls_return_plain_floats_and_values_a_float64_array():
    for schedule in [Constant(lr=1), StepDecay(lr=1, step_size=2), Exponential(lr=1, gamma=0.9),
                     Cosine(lr=1, total_steps=5), WarmupCosine(lr=1, warmup_steps=2, total_steps=5)]:
        assert type(schedule(np.int64(3))) is float and type(schedule(3)) is float
        values = schedule.values(7)
        assert values.dtype == np.float64 and values.shape == (7,)
        assert list(values) == [schedule(t) for t in range(7)]


def test_a_rule_takes_the_scheduled_learning_rate_with_dataclasses_replace():
    schedule = WarmupCosine(lr=0.1, warmup_steps=5, total_steps=50)
    for rule in [SGD(lr=1.0, momentum=0.9), Adam()]:
        for step in (0, 3, 5, 49, 80):
            replaced = dataclasses.replace(rule, lr=schedule(step))
            assert replaced.lr == schedule(step) and type(replaced) is type(rule)


def test_hyperparameters_are_stored_as_plain_numbers_and_cannot_change():
    schedule = StepDecay(lr=np.float32(0.5), step_size=np.int64(3), gamma=1)
    assert type(schedule.lr) is float and type(schedule.step_size) is int and type(schedule.gamma) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.lr = 0.1


def test_lr_zero_is_allowed_and_gives_zero():
    assert Cosine(lr=0.0, total_steps=10).values(12).max() == 0.0


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: Constant(lr=-0.1), "lr must be >= 0"),
    (lambda: Constant(lr=math.nan), "lr must be finite"),
    (lambda: Constant(lr="0.1"), "lr must be a real number"),
    (lambda: StepDecay(lr=0.1, step_size=0), "step_size must be a whole number >= 1"),
    (lambda: StepDecay(lr=0.1, step_size=2.5), "step_size must be a whole number >= 1"),
    (lambda: StepDecay(lr=0.1, step_size=10, gamma=0.0), "gamma must be in \\(0, 1\\]"),
    (lambda: StepDecay(lr=0.1, step_size=10, gamma=1.5), "gamma must be in \\(0, 1\\]"),
    (lambda: Exponential(lr=0.1, gamma=-0.9), "gamma must be in \\(0, 1\\]"),
    (lambda: Exponential(lr=0.1, gamma=True), "gamma must be a real number"),
    (lambda: Cosine(lr=0.1, total_steps=0), "total_steps must be a whole number >= 1"),
    (lambda: Cosine(lr=0.1, total_steps=100, min_lr=0.2), "min_lr must be <= lr"),
    (lambda: Cosine(lr=0.1, total_steps=100, min_lr=-0.01), "min_lr must be >= 0"),
    (lambda: WarmupCosine(lr=0.1, warmup_steps=100, total_steps=100), "warmup_steps must be < total_steps"),
    (lambda: WarmupCosine(lr=0.1, warmup_steps=120, total_steps=100), "warmup_steps must be < total_steps"),
    (lambda: WarmupCosine(lr=0.1, warmup_steps=-1, total_steps=100), "warmup_steps must be a whole number >= 0"),
    (lambda: WarmupCosine(lr=0.1, warmup_steps=10, total_steps=100, start_factor=1.5),
     "start_factor must be in \\[0, 1\\]"),
    (lambda: WarmupCosine(lr=0.1, warmup_steps=10, total_steps=100, min_lr=1.0), "min_lr must be <= lr"),
])
def test_bad_hyperparameters_are_refused_in_words(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("step", [-1, 1.0, 2.5, True, "3", None])
def test_bad_steps_are_refused_in_words(step):
    for schedule in [Constant(lr=0.1), Cosine(lr=0.1, total_steps=10)]:
        with pytest.raises(ValueError, match="step must be a whole number >= 0"):
            schedule(step)


@pytest.mark.parametrize("steps", [0, -3, 2.0])
def test_values_needs_a_positive_whole_number_of_steps(steps):
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        Constant(lr=0.1).values(steps)


if __name__ == "__main__":
    worst = 0.0
    for case in CASES:
        worst = max(worst, deviation(case))
        print(f"{case['name']:28s} max |lessons_lib - torch| = {deviation(case):.3g} over {case['agree_until']} steps")
    print(f"all {len(CASES)} schedule cases: max |lessons_lib - torch| = {worst:.3g}")
