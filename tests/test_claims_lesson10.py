"""The claims of lesson 10 (the playground), re-checked where they could flip: five times the steps (1000,
the most the playground's slider allows), and more seeds than the two the notebook shows. The races are the notebook's (Himmelblau, 200 steps, SGD,
Momentum and Adam at the playground's defaults).

The races are read from one playground, set from code as the notebook sets it (its ``steps`` slider,
``race_only``, ``set_noise``) with its picture left undrawn: the numbers are those ``trajectories()`` gives
(what the picture shows); ``test_the_quiet_playground_races_as_a_fresh_one`` holds them to a fresh playground's."""

import numpy as np
import pytest

from lessons_lib.figures.playground import Playground

pytestmark = pytest.mark.slow  # a few seconds: ten races of 200–1000 steps

QUIET = {}


def quiet_playground():
    """One playground for every race below, its redraws switched off (no picture is looked at here)."""
    if not QUIET:
        QUIET["race"] = Playground(surface="himmelblau")
        QUIET["race"]._redraw = lambda: None
    return QUIET["race"]


def finals(sigma, seed, steps=200, race=None):
    """The race of Playground(surface="himmelblau", steps=steps) after race_only("SGD", "Momentum", "Adam") and
    set_noise(sigma, seed): each racer's losses."""
    race = quiet_playground() if race is None else race
    race.steps.value = steps
    race.race_only("SGD", "Momentum", "Adam")
    race.set_noise(sigma, seed)
    losses = {t.rule_name: t.losses for t in race.trajectories() if t is not None}
    assert all(len(curve) == steps + 1 for curve in losses.values())
    return losses


def test_the_quiet_playground_races_as_a_fresh_one():
    quiet = finals(1.0, 1, steps=300)
    fresh = finals(1.0, 1, steps=300, race=Playground(surface="himmelblau", steps=300))
    assert quiet.keys() == fresh.keys() == {"SGD", "Momentum", "Adam"}
    for name in fresh:
        np.testing.assert_array_equal(quiet[name], fresh[name])


def test_without_noise_the_losses_fall_and_all_reach_the_floor_given_five_times_the_steps():
    """'Without noise the losses fall, Momentum's and Adam's with bumps on the way, SGD's as far as the
    arithmetic allows (the course's tests run this race for 1000 steps: all three reach that floor).'"""
    short, long = finals(0.0, 0), finals(0.0, 0, steps=1000)
    assert np.all(np.diff(short["SGD"]) <= 0) and short["SGD"][-1] < 1e-29
    for name in ("Momentum", "Adam"):
        assert np.any(np.diff(short[name]) > 0), f"{name} should have bumps"
        assert short[name][-1] < 1e-3 * short[name][0]
    for name, losses in long.items():
        assert losses[-1] < 1e-29, (name, losses[-1])


def test_with_noise_the_order_of_sgd_and_momentum_moves_with_the_seed():
    """'with seed 0 SGD ends below Momentum, with seed 1 above it. One noisy race says little' — and over
    six seeds and five times the steps neither is below the other every time."""
    first, second = finals(1.0, 0), finals(1.0, 1)
    assert first["SGD"][-1] < first["Momentum"][-1] and second["SGD"][-1] > second["Momentum"][-1]
    races = [finals(1.0, seed, steps=1000) for seed in range(6)]
    sgd_below = [race["SGD"][-1] < race["Momentum"][-1] for race in races]
    assert 0 < sum(sgd_below) < len(races), sgd_below
    for race in races:  # 'each racer stops at a floor', far above the noiseless one
        for name, losses in race.items():
            assert losses[-500:].min() > 1e-8 and losses[-1] < 1, name
