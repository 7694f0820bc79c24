"""The playground races every rule of the course, with gradient noise and the rules' switches (issue 19).

The list of rules comes from ``lessons_lib.optim.__all__``: a new rule fails
``test_every_rule_of_the_course_races`` until it races or is listed below with a reason.
"""

import html
from dataclasses import fields

import ipywidgets as widgets
import numpy as np
import pytest

import lessons_lib.optim as optim
from lessons_lib.figures.live import LiveFigure
from lessons_lib.figures.playground import MUON_STEP_ON_A_ROW, NOT_RACED, RACERS, Playground, gradient_noise
from lessons_lib.optim.base import Rule
from lessons_lib.runner import run
from lessons_lib.surfaces import get_surface

pytestmark = pytest.mark.figures  # drawing tests: the quick test command leaves them out

#: Names of lessons_lib.optim.__all__ that are not rules, and why.
NOT_RULES = {
    "state_arrays": "a helper: the arrays a state holds",
    "state_bytes": "a helper: the memory a rule keeps per parameter",
    "newton_schulz": "Muon's orthogonalisation, a function; it races inside Muon",
    "weight_matrices": "a helper: PerMatrix's matrices for a network",
}
#: The rules that do not race, and why (the playground shows the same list, NOT_RACED).
RULES_NOT_RACED = {
    "PerMatrix": "works matrix by matrix on a network's flat θ; a surface's θ holds no matrix",
    "MuonWithAdamW": "a PerMatrix; Muon and AdamW race on their own",
}


def rule_classes(rule: object) -> set[type]:
    """The classes of ``rule`` and of every rule inside it (Lookahead's, Cautious', the 1×2 adapter's ``inner``)."""
    classes = {type(rule)}
    if hasattr(rule, "inner"):
        classes |= rule_classes(rule.inner)
    return classes


def only(playground: Playground, *labels: str) -> list[int]:
    """Race only the racers ``labels``; their indices."""
    playground.race_only(*labels)
    return [[racer.label for racer in playground.racers].index(label) for label in labels]


def path_of(playground: Playground, index: int) -> np.ndarray:
    return playground.trajectories()[index].positions


@pytest.fixture(autouse=True)
def no_pictures(monkeypatch):
    """No test here looks at a pixel (the pictures are test_widgets.py's): the figures skip drawing and encoding
    (most of the time of a playground otherwise); the runs, paths, colours, labels and controls are all real."""
    monkeypatch.setattr(LiveFigure, "redraw_background", lambda self: None)
    monkeypatch.setattr(LiveFigure, "png", lambda self: b"")


@pytest.fixture(scope="module")
def playground():
    return Playground(surface="himmelblau", steps=100)


def test_every_rule_of_the_course_races(playground):
    states = {name for name in optim.__all__ if name.endswith("State")}  # what a rule remembers, not a rule
    rules = set(optim.__all__) - states - set(NOT_RULES) - set(RULES_NOT_RACED)
    assert set(RULES_NOT_RACED) == set(NOT_RACED)
    for name in rules | set(RULES_NOT_RACED):
        assert isinstance(getattr(optim, name), type) and issubclass(getattr(optim, name), Rule), name
    raced = set().union(*(rule_classes(racer.make(**playground.values(index))) for index, racer in enumerate(RACERS)))
    missing = {name for name in rules if getattr(optim, name) not in raced}
    assert not missing, f"rules of lessons_lib.optim that do not race (race them, or say why not): {missing}"

    for index, racer in enumerate(RACERS):  # each one races, alone, at its defaults, without diverging
        only(playground, racer.label)
        trajectory = playground.trajectories()[index]
        assert playground.status.value == "" and not trajectory.diverged, racer.label
        assert trajectory.steps_run == 100 and trajectory.losses[-1] < trajectory.losses[0], racer.label


def test_the_rules_not_raced_are_named_with_their_reason_in_the_widget(playground):
    tabs = next(child for child in playground.panel.children if isinstance(child, widgets.Tab))
    text = tabs.children[-1].children[-1].value
    for name, reason in NOT_RACED.items():
        assert f"<b>{name}</b>, {html.escape(reason)}" in text


def test_without_noise_the_race_is_the_noiseless_one_exactly():
    playground = Playground(surface="valley", steps=80)
    everyone = only(playground, *(racer.label for racer in RACERS if racer.drawn_at is None))
    before = playground.trajectories()
    for index in everyone:
        direct = run(RACERS[index].make(**playground.values(index)), get_surface("valley"),
                     get_surface("valley").start, 80)
        assert np.array_equal(before[index].positions, direct.positions), RACERS[index].label
        assert np.array_equal(before[index].losses, direct.losses), RACERS[index].label
    playground.set_noise(2.0, seed=5)
    assert not np.array_equal(playground.trajectories()[everyone[0]].positions, before[everyone[0]].positions)
    playground.set_noise(0.0, seed=7)  # σ = 0: whatever the seed, no noise at all
    after = playground.trajectories()
    for index in everyone:
        assert np.array_equal(after[index].positions, before[index].positions), RACERS[index].label


def test_the_same_seed_gives_the_same_race_and_another_seed_another():
    first, second = Playground(surface="bowl", noise=1.0, seed=3), Playground(surface="bowl", noise=1.0, seed=3)
    for a, b in zip(first.trajectories(), second.trajectories()):
        assert (a is None and b is None) or np.array_equal(a.positions, b.positions)
    second.set_noise(1.0, seed=4)
    assert not np.array_equal(first.trajectories()[0].positions, second.trajectories()[0].positions)


def test_every_racer_sees_the_same_noise():
    playground = Playground(surface="bowl", steps=60, noise=0.5, seed=1)
    indices = only(playground, *(racer.label for racer in RACERS if racer.drawn_at is None))
    noise = playground.gradient_noise()
    bowl = get_surface("bowl")
    trajectories = playground.trajectories()
    for index in indices:
        trajectory = trajectories[index]
        seen = trajectory.grads - bowl.grad(trajectory.positions[:-1])  # the gradient used minus the true one
        np.testing.assert_allclose(seen, noise[: trajectory.steps_run], rtol=0, atol=1e-12,
                                   err_msg=RACERS[index].label)


def test_more_steps_extend_the_same_noise():
    np.testing.assert_array_equal(gradient_noise(0.3, 2, 300)[:200], gradient_noise(0.3, 2, 200))
    assert gradient_noise(0.0, 2, 200) is None


def test_every_rule_has_the_switches_its_arguments_offer(playground):
    for index, racer in enumerate(RACERS):
        rule = racer.make(**playground.values(index))
        while hasattr(rule, "inner"):  # the rule whose arguments the controls set
            rule = rule.inner
        arguments = {field.name for field in fields(rule) if field.init}
        for name in ("bias_correction", "decoupled_weight_decay"):
            assert (name in playground.switches[index]) == (name in arguments), f"{racer.label}: {name}"
        assert (playground.decay[index] is not None) == ("weight_decay" in arguments), racer.label


@pytest.mark.parametrize("racer", RACERS, ids=[racer.label for racer in RACERS])
def test_every_switch_changes_the_run(playground, racer):
    (index,) = only(playground, racer.label)
    boxes = dict(playground.switches[index])
    if playground.decay_on[index] is not None:
        boxes["weight decay"] = playground.decay_on[index]
        playground.decay[index].value = 0.5
    for name, box in boxes.items():
        if name == "decoupled_weight_decay":
            playground.decay_on[index].value = True  # its kind matters only with a decay
        before = path_of(playground, index)
        box.value = not box.value
        after = path_of(playground, index)
        assert before.shape != after.shape or not np.array_equal(before, after), f"{racer.label}: {name}"


def test_controls_that_do_not_apply_are_folded_away():
    playground = Playground(surface="valley", steps=50)
    (adam,) = only(playground, "Adam")
    hidden = lambda control: control.layout.display == "none"  # noqa: E731
    assert [hidden(card) for card in playground.cards] == [index != adam for index in range(len(RACERS))]
    assert not hidden(playground.switches[adam]["bias_correction"]) and not hidden(playground.decay_on[adam])
    assert hidden(playground.decay[adam]) and hidden(playground.switches[adam]["decoupled_weight_decay"])
    playground.decay_on[adam].value = True
    assert not hidden(playground.decay[adam]) and not hidden(playground.switches[adam]["decoupled_weight_decay"])
    assert hidden(playground.seed)
    playground.noise.value = 0.5
    assert not hidden(playground.seed)
    lion = [racer.label for racer in RACERS].index("Lion")
    assert "decoupled_weight_decay" not in playground.switches[lion]  # always decoupled: no choice, no control


def test_configure_sets_switches_and_the_decay_and_refuses_bad_values():
    playground = Playground(surface="valley", steps=50)
    adam = [racer.label for racer in RACERS].index("Adam")
    playground.configure("Adam", bias_correction=False, weight_decay=0.1, decoupled_weight_decay=True)
    assert playground.values(adam) == pytest.approx(
        {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "bias_correction": False,
         "decoupled_weight_decay": True, "weight_decay": 0.1})
    assert playground.decay[adam].layout.display == ""
    playground.configure("Adam", weight_decay=0)  # 0: the decay switched off
    assert playground.values(adam)["weight_decay"] == 0 and playground.decay[adam].layout.display == "none"
    for values, message in [({"bias_correction": 1}, "Adam: bias_correction must be True or False"),
                            ({"lr": "0.1"}, "Adam: lr must be a real number"),
                            ({"weight_decay": 5.0}, r"weight_decay = 5 is outside .* \(or 0: no weight decay\)"),
                            ({"lr": 0.1, "beta1": float("nan")}, "Adam: beta1 must be finite")]:
        with pytest.raises(ValueError, match=message):
            playground.configure("Adam", **values)
    assert playground.values(adam)["lr"] == pytest.approx(0.05)  # nothing changed by the refused calls
    with pytest.raises(ValueError, match="Lion has no knob decoupled_weight_decay"):
        playground.configure("Lion", decoupled_weight_decay=False)
    with pytest.raises(ValueError, match="Lookahead: k must be a whole number"):
        playground.configure("Lookahead", k=2.5)
    with pytest.raises(ValueError, match="race must be True or False"):
        playground.configure("Adam", race="yes")
    with pytest.raises(ValueError, match="noise \\(σ\\) must be in \\[0, 10\\]"):
        playground.set_noise(-1.0)
    with pytest.raises(ValueError, match="seed must be a whole number from 0 to 99"):
        playground.set_noise(1.0, seed=1.5)
    assert playground.noise.value == 0 and playground.seed.value == 0
    with pytest.raises(ValueError, match="each label must be one of"):
        playground.race_only("Adam", "SDG")
    with pytest.raises(ValueError, match="noise \\(σ\\) must be a real number"):
        Playground(noise="a lot")


def test_muon_on_a_1x2_matrix_is_normalised_momentum_descent():
    playground = Playground(surface="himmelblau", steps=50)
    (muon,) = only(playground, "Muon")
    lr = playground.values(muon)["lr"]
    lengths = np.linalg.norm(playground.trajectories()[muon].steps, axis=1)
    np.testing.assert_allclose(lengths, lr * MUON_STEP_ON_A_ROW, rtol=1e-12)
    assert 0.6 < MUON_STEP_ON_A_ROW < 1.2  # Newton–Schulz's band around 1, not 1
    assert "1×2" in playground.race.labels[muon]


def test_schedule_free_is_drawn_at_its_evaluation_point_x():
    playground = Playground(surface="valley", steps=40)
    (index,) = only(playground, "Schedule-Free AdamW")
    drawn = playground.trajectories()[index]
    direct = run(RACERS[index].make(**playground.values(index)), get_surface("valley"), get_surface("valley").start,
                 40, record_state=True)
    np.testing.assert_array_equal(drawn.positions[1:], [state.x for state in direct.states])
    np.testing.assert_array_equal(drawn.losses, get_surface("valley").loss(drawn.positions))
    assert "at x" in playground.race.labels[index]


def test_the_racers_shown_take_distinct_colours_in_order():
    playground = Playground(surface="bowl", steps=20)
    indices = only(playground, *(racer.label for racer in RACERS[-8:]))
    playground.update()
    colours = [playground.race.paths[index].get_color() for index in indices]
    assert len(set(colours)) == 8 and colours[0] == "tab:blue"
