"""Bad input to every public entry point of ``lessons_lib.optim`` stops at the door.

For each rule's constructor (every hyperparameter), ``init`` and ``step``: the call raises
exactly ``ValueError`` (not TypeError, IndexError or a numpy error), its message names the
offending argument, and no numpy RuntimeWarning is emitted on the way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import warnings

import numpy as np
import pytest

from lessons_lib.optim import (
    ADOPT,
    SGD,
    Adafactor,
    AdafactorState,
    AdamWScheduleFree,
    Cautious,
    Muon,
    MuonState,
    MuonWithAdamW,
    PerMatrix,
    PerMatrixState,
    ScheduleFreeState,
    weight_matrices,
    AdaBelief,
    AdaBeliefState,
    AdaGrad,
    AdaGradState,
    Adam,
    Adamax,
    AdamaxState,
    AdamState,
    AdamW,
    AMSGrad,
    EMAMomentum,
    EMAMomentumState,
    Lion,
    LionState,
    Lookahead,
    LookaheadState,
    NAdam,
    NAdamState,
    RAdam,
    RAdamState,
    RMSprop,
    RMSpropState,
    SGDState,
    newton_schulz,
    state_arrays,
    state_bytes,
)


@contextlib.contextmanager
def rejects(name):
    """Expect exactly ValueError whose message names ``name`` (as a whole word), and no RuntimeWarning."""
    pattern = rf"(?<![\w.]){re.escape(name)}(?!\w)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=pattern) as excinfo:
            yield excinfo
    assert type(excinfo.value) is ValueError, f"{type(excinfo.value).__name__} is a subclass, not ValueError itself"
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not runtime, f"RuntimeWarning(s) emitted: {runtime}"


# ---------------------------------------------------------------------------
# Constructors: every hyperparameter of every rule
# ---------------------------------------------------------------------------

BAD_LR = [-0.1, -1e-300, math.nan, math.inf, -math.inf, "0.1", None, True, [0.1], np.array(0.1), 0.1j]
BAD_BETA = [1, 1.0, -0.1, 1.5, math.nan, math.inf, "0.9", None, True, np.float64(1.0)]
BAD_NON_NEGATIVE = [-1e-8, -1, math.nan, math.inf, -math.inf, "0", None, False]
BAD_FLAG = [0, 1, 1.0, np.int64(1), "True", "False", "yes", None]

HYPERPARAMETERS = {
    SGD: {"lr": BAD_LR, "momentum": BAD_BETA, "dampening": BAD_NON_NEGATIVE, "weight_decay": BAD_NON_NEGATIVE,
          "nesterov": BAD_FLAG, "decoupled_weight_decay": BAD_FLAG},
    EMAMomentum: {"lr": BAD_LR, "beta": BAD_BETA},
    AdaGrad: {"lr": BAD_LR, "eps": BAD_NON_NEGATIVE, "initial_accumulator_value": BAD_NON_NEGATIVE,
              "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG},
    RMSprop: {"lr": BAD_LR, "beta": BAD_BETA, "eps": BAD_NON_NEGATIVE, "momentum": BAD_BETA,
              "centered": BAD_FLAG, "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG},
    Adam: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
           "weight_decay": BAD_NON_NEGATIVE, "amsgrad": BAD_FLAG, "bias_correction": BAD_FLAG,
           "decoupled_weight_decay": BAD_FLAG},
    AdamW: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
            "weight_decay": BAD_NON_NEGATIVE, "amsgrad": BAD_FLAG, "bias_correction": BAD_FLAG,
            "decoupled_weight_decay": BAD_FLAG},
    AMSGrad: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
              "weight_decay": BAD_NON_NEGATIVE, "amsgrad": BAD_FLAG, "bias_correction": BAD_FLAG,
              "decoupled_weight_decay": BAD_FLAG},
    NAdam: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
            "momentum_decay": BAD_NON_NEGATIVE, "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG},
    RAdam: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
            "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG},
    Adamax: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
             "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG},
    AdaBelief: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
                "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG, "amsgrad": BAD_FLAG},
    Lion: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "weight_decay": BAD_NON_NEGATIVE},
    Muon: {"lr": BAD_LR, "weight_decay": BAD_NON_NEGATIVE, "momentum": BAD_BETA, "nesterov": BAD_FLAG,
           "ns_coefficients": [(1.0, 2.0), (1, 2, 3, 4), "abc", None, 3.0, (1.0, math.nan, 0.0), (1.0, "b", 0.0)],
           "eps": BAD_NON_NEGATIVE, "ns_steps": [-1, 100, 1.5, 5.0, True, None, "5"],
           "adjust_lr_fn": ["none", "Original", None, 1, True]},
    Adafactor: {"lr": BAD_LR, "beta2_decay": [0.1, 1, math.nan, math.inf, "-0.8", None, True],
                "eps1": BAD_NON_NEGATIVE, "eps2": BAD_NON_NEGATIVE, "d": [0.5, 0, -1, math.nan, math.inf, "1", None, True],
                "weight_decay": BAD_NON_NEGATIVE},
    AdamWScheduleFree: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
                        "weight_decay": BAD_NON_NEGATIVE, "warmup_steps": [-1, 1.5, 2.0, True, None, "5"],
                        "r": BAD_NON_NEGATIVE, "weight_lr_power": BAD_NON_NEGATIVE, "decay_at_z": BAD_FLAG},
    ADOPT: {"lr": BAD_LR, "beta1": BAD_BETA, "beta2": BAD_BETA, "eps": BAD_NON_NEGATIVE,
            "weight_decay": BAD_NON_NEGATIVE, "decoupled_weight_decay": BAD_FLAG, "clip": BAD_FLAG,
            "clip_scale": BAD_NON_NEGATIVE, "clip_power": BAD_NON_NEGATIVE},
}

CONSTRUCTOR_CASES = [
    pytest.param(cls, param, value, id=f"{cls.__name__}-{param}={value!r}")
    for cls, params in HYPERPARAMETERS.items()
    for param, values in params.items()
    for value in values
]


def init_fields(cls):
    """The hyperparameters a rule takes, in order (a variant does not take the Adam options it hides)."""
    return [field.name for field in dataclasses.fields(cls) if field.init]


def test_every_hyperparameter_is_covered():
    """The table above lists every dataclass field of every rule (except the display name)."""
    for cls, params in HYPERPARAMETERS.items():
        fields = set(init_fields(cls)) - {"name"}
        assert set(params) == fields, cls.__name__


@pytest.mark.parametrize("cls, param, value", CONSTRUCTOR_CASES)
def test_constructor_rejects_bad_hyperparameter(cls, param, value):
    with rejects(param):
        cls(**{param: value})


POSITIONAL_CASES = [
    pytest.param(cls, param, value, id=f"{cls.__name__}-{param}={value!r}")
    for cls in (SGD, RMSprop, Adam, AdamW, AMSGrad, NAdam, RAdam, Adamax, AdaBelief, Lion, Muon, AdamWScheduleFree, ADOPT)
    for param, value in [("lr", -0.1), ("eps", -1.0), ("momentum", 1.0), ("beta1", 1.0), ("amsgrad", 1),
                         ("momentum_decay", -1.0), ("decoupled_weight_decay", 1)]
    if param in HYPERPARAMETERS[cls]
]


@pytest.mark.parametrize("cls, param, value", POSITIONAL_CASES)
def test_constructor_rejects_bad_hyperparameter_given_positionally(cls, param, value):
    """The check does not depend on passing by keyword."""
    fields = init_fields(cls)
    args = [cls.__dataclass_fields__[f].default for f in fields[: fields.index(param)]] + [value]
    with rejects(param):
        cls(*args)


@pytest.mark.parametrize(
    "kwargs, names",
    [
        pytest.param({"nesterov": True}, ("nesterov", "momentum"), id="nesterov-without-momentum"),
        pytest.param({"nesterov": True, "momentum": 0.0}, ("nesterov", "momentum"), id="nesterov-momentum-0"),
        pytest.param({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ("nesterov", "dampening"),
                     id="nesterov-with-dampening"),
        pytest.param({"nesterov": True, "dampening": 0.5}, ("nesterov",), id="nesterov-dampening-no-momentum"),
    ],
)
def test_sgd_rejects_invalid_nesterov_settings(kwargs, names):
    for name in names:
        with rejects(name):
            SGD(lr=0.1, **kwargs)


def test_good_hyperparameters_are_accepted():
    """The boundaries that are allowed: lr = 0, β = 0, λ = 0, numpy scalars and np.bool_ flags.
    (ε = 0 is deliberately not asserted either way: see test_eps_zero_is_rejected_or_safe.)"""
    SGD(lr=0.0, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=np.False_)
    SGD(lr=np.float64(0.1), momentum=np.float32(0.5), nesterov=np.True_)
    EMAMomentum(lr=1, beta=0)
    AdaGrad(lr=0.0, initial_accumulator_value=0, weight_decay=np.int64(1))
    RMSprop(lr=0.0, beta=0.0, momentum=0.0, centered=np.True_)
    Adam(lr=0.0, beta1=0.0, beta2=0.0, amsgrad=True, bias_correction=False)
    AdamW(weight_decay=0.0)
    NAdam(lr=0.0, beta1=0.0, beta2=0.0, momentum_decay=0, weight_decay=np.int64(1), decoupled_weight_decay=np.True_)
    RAdam(lr=0.0, beta1=0.0, beta2=0.0, weight_decay=1, decoupled_weight_decay=True)
    Adamax(lr=0.0, beta1=0.0, beta2=0.0, weight_decay=0)
    AdaBelief(lr=0.0, beta1=0.0, beta2=0.0, weight_decay=5.0, amsgrad=True, decoupled_weight_decay=False)
    Lion(lr=0.0, beta1=0.0, beta2=0.0, weight_decay=100.0)
    Lookahead(Adam(), k=1, alpha=0.0)
    Lookahead(Lookahead(SGD()), k=np.int64(3), alpha=1, reset_inner_state=np.True_)


DECOUPLED_DECAY_RULES = [
    *(pytest.param(cls, {"decoupled_weight_decay": True}, id=cls.__name__)
      for cls in (SGD, AdaGrad, RMSprop, Adam, AMSGrad, Adamax)),
    pytest.param(AdamW, {}, id="AdamW"),
    pytest.param(NAdam, {"decoupled_weight_decay": True}, id="NAdam"),
    pytest.param(RAdam, {"decoupled_weight_decay": True}, id="RAdam"),
    pytest.param(AdaBelief, {}, id="AdaBelief"),
    pytest.param(Lion, {}, id="Lion"),
    pytest.param(Muon, {}, id="Muon"),
    pytest.param(Adafactor, {}, id="Adafactor"),
    pytest.param(ADOPT, {"decoupled_weight_decay": True}, id="ADOPT"),
]


@pytest.mark.parametrize("cls, flags", DECOUPLED_DECAY_RULES)
def test_decoupled_decay_factor_must_stay_positive(cls, flags):
    """θ ← θ (1 − η λ) needs η λ < 1, as for AdamW (L2 decay has no such limit)."""
    with rejects("weight_decay"):
        cls(lr=0.5, weight_decay=2.0, **flags)
    cls(lr=0.5, weight_decay=1.9, **flags)


# Lookahead wraps a rule: its constructor needs the inner rule, so it has its own table.
BAD_INNER = [None, Adam, "Adam", 0.1, object(), np.zeros(3), [Adam()]]
BAD_K = [0, -1, 1.5, 2.0, np.float64(5.0), True, None, "5"]
BAD_ALPHA = [-0.1, 1.01, 2, math.nan, math.inf, "0.5", None, True]

LOOKAHEAD_CASES = [
    # ids without object addresses, so that every xdist worker collects the same tests
    pytest.param(param, value, id=f"Lookahead-{param}={value!r}" if type(value) is not object else f"Lookahead-{param}=object()")
    for param, values in [("inner", BAD_INNER), ("k", BAD_K), ("alpha", BAD_ALPHA), ("reset_inner_state", BAD_FLAG)]
    for value in values
]


def test_every_lookahead_hyperparameter_is_covered():
    assert {param.values[0] for param in LOOKAHEAD_CASES} == set(Lookahead.__dataclass_fields__) - {"name"}


@pytest.mark.parametrize("param, value", LOOKAHEAD_CASES)
def test_lookahead_rejects_bad_hyperparameter(param, value):
    kwargs = {"inner": Adam(), param: value}
    with rejects(param):
        Lookahead(**kwargs)


# PerMatrix, MuonWithAdamW and Cautious wrap rules: their own table, like Lookahead's.
BAD_MATRICES = [None, 5, "W", [slice(0, 4)], ((slice(0, 6), (2, 2)),), ((slice(0, 4), (2, 2)), (slice(2, 6), (2, 2))),
                ((slice(None, 4), (2, 2)),), ((slice(0, 4), (2, 2.0)),), ((slice(0, 0), (0, 0)),), ((slice(-4, 0), (2, 2)),)]
BAD_RULE = [None, Adam, "Adam", 0.1, np.zeros(3), [Adam()]]
WRAPPER_CASES = [
    pytest.param(cls, param, value, id=f"{cls.__name__}-{param}={value!r}")
    for cls, params in [(PerMatrix, {"matrices": BAD_MATRICES, "matrix_rule": BAD_RULE, "vector_rule": BAD_RULE,
                                     "lr": BAD_LR}),
                        (MuonWithAdamW, {"matrices": BAD_MATRICES, "matrix_rule": BAD_RULE, "vector_rule": BAD_RULE,
                                         "lr": BAD_LR}),
                        (Cautious, {"inner": BAD_RULE, "name": [3, None, b"x"]})]
    for param, values in params.items()
    for value in values
]
GOOD_WRAPPER_ARGUMENTS = {PerMatrix: {"matrices": ((slice(0, 4), (2, 2)),), "matrix_rule": Muon(), "vector_rule": AdamW()},
                          MuonWithAdamW: {"matrices": ((slice(0, 4), (2, 2)),)}, Cautious: {"inner": AdamW()}}


def test_every_wrapper_hyperparameter_is_covered():
    for cls in GOOD_WRAPPER_ARGUMENTS:
        assert {p.values[1] for p in WRAPPER_CASES if p.values[0] is cls} == set(init_fields(cls)) - {"name"} | (
            {"name"} if cls is Cautious else set())


@pytest.mark.parametrize("cls, param, value", WRAPPER_CASES)
def test_wrappers_reject_bad_hyperparameters(cls, param, value):
    with rejects(param):
        cls(**{**GOOD_WRAPPER_ARGUMENTS[cls], param: value})


def test_good_wrapper_arguments_are_accepted():
    PerMatrix(weight_matrices([(slice(0, 6), slice(6, 9)), (slice(9, 12), slice(12, 13))]), Adafactor(), Adafactor())
    PerMatrix([], Muon(), AdamW(), lr=0.0)
    PerMatrix(((slice(np.int64(4), 8), (2, 2)), (slice(0, 4), (4, 1))), Muon(), SGD())
    MuonWithAdamW(((slice(0, 6), (2, 3)),), lr=2.0)
    Cautious(Cautious(Lion()), name="doubly cautious")


def test_lookahead_name_says_what_it_wraps():
    assert Lookahead(Adam()).name == "Lookahead(Adam)"
    assert Lookahead(Lookahead(SGD(lr=0.1), k=2)).name == "Lookahead(Lookahead(SGD))"
    assert Lookahead(Adam(), name="slow Adam").name == "slow Adam"
    with rejects("name"):
        Lookahead(Adam(), name=3)


# ---------------------------------------------------------------------------
# init and step: theta and grad
# ---------------------------------------------------------------------------

RULES = {
    "sgd": SGD(lr=0.1),
    "sgd-momentum": SGD(lr=0.1, momentum=0.9),
    "sgd-nesterov": SGD(lr=0.1, momentum=0.9, nesterov=True),
    "ema-momentum": EMAMomentum(),
    "adagrad": AdaGrad(),
    "rmsprop": RMSprop(),
    "rmsprop-centered-momentum": RMSprop(centered=True, momentum=0.9),
    "adam": Adam(),
    "adam-amsgrad": Adam(amsgrad=True),
    "adamw": AdamW(),
    "adamw-amsgrad": AdamW(amsgrad=True),
    "nadam": NAdam(),
    "nadam-decoupled": NAdam(weight_decay=0.1, decoupled_weight_decay=True),
    "radam": RAdam(),
    "adamax": Adamax(),
    "adabelief": AdaBelief(),
    "adabelief-amsgrad": AdaBelief(amsgrad=True),
    "lion": Lion(),
    "lookahead-adam": Lookahead(Adam()),
    "lookahead-sgd-momentum": Lookahead(SGD(lr=0.1, momentum=0.9), k=1),
    "adafactor": Adafactor(),
    "schedule-free": AdamWScheduleFree(weight_decay=0.1),
    "adopt": ADOPT(),
    "adopt-decoupled": ADOPT(weight_decay=0.1, decoupled_weight_decay=True),
    "cautious-adamw": Cautious(AdamW()),
    "cautious-lion": Cautious(Lion()),
    "cautious-sgd": Cautious(SGD(lr=0.1, momentum=0.9)),
}

BAD_ARRAYS = {
    "nan": [1.0, math.nan, 2.0],
    "inf": [1.0, math.inf, 2.0],
    "-inf": np.array([[1.0, -math.inf], [0.0, 0.0]]),
    "scalar-nan": math.nan,
    "np-nan": np.float64("nan"),
    "None": None,
    "string": "abc",
    "list-of-strings": ["a", "b"],
    "ragged": [[1.0, 2.0], [3.0]],
    "dict": {"a": 1.0},
}

GOOD_THETA = np.array([1.0, -2.0, 3.0])
GOOD_GRAD = np.array([0.5, 0.5, -1.0])


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
@pytest.mark.parametrize("name", list(RULES))
def test_init_rejects_bad_theta(name, bad):
    with rejects("theta"):
        RULES[name].init(BAD_ARRAYS[bad])


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
@pytest.mark.parametrize("name", list(RULES))
def test_step_rejects_bad_theta(name, bad):
    rule = RULES[name]
    with rejects("theta"):
        rule.step(BAD_ARRAYS[bad], GOOD_GRAD, rule.init(GOOD_THETA))


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
@pytest.mark.parametrize("name", list(RULES))
def test_step_rejects_bad_grad(name, bad):
    rule = RULES[name]
    with rejects("grad"):
        rule.step(GOOD_THETA, BAD_ARRAYS[bad], rule.init(GOOD_THETA))


def _step_with_a_real_state(rule, theta, grad):
    """A state after one real step (so SGD with momentum has a buffer), then a step with theta, grad."""
    state = rule.step(GOOD_THETA, GOOD_GRAD, rule.init(GOOD_THETA))[1]
    return rule.step(theta, grad, state)


SHAPE_MISMATCHES = {
    "vector-length": (np.zeros(3), np.zeros(2)),
    "column": (np.zeros(3), np.zeros((3, 1))),
    "transposed": (np.zeros((2, 3)), np.zeros((3, 2))),
    "scalar-vs-1": (0.0, [0.0]),
    "1-vs-scalar": ([0.0], 0.0),
    "broadcastable-scalar-grad": (np.zeros(3), 1.0),
}


@pytest.mark.parametrize("mismatch", list(SHAPE_MISMATCHES))
@pytest.mark.parametrize("name", list(RULES))
def test_step_rejects_grad_of_another_shape(name, mismatch):
    rule = RULES[name]
    theta, grad = SHAPE_MISMATCHES[mismatch]
    with rejects("grad"):
        rule.step(theta, grad, rule.init(theta))


# ---------------------------------------------------------------------------
# step: the state
# ---------------------------------------------------------------------------

STATES_OF_EACH_TYPE = {
    SGDState: SGDState(b=np.zeros(3)),
    EMAMomentumState: EMAMomentumState(v=np.zeros(3)),
    AdaGradState: AdaGradState(s=np.zeros(3)),
    RMSpropState: RMSpropState(v=np.zeros(3), g_avg=np.zeros(3), b=np.zeros(3)),
    AdamState: AdamState(t=0, m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(3)),
    NAdamState: NAdamState(t=0, m=np.zeros(3), v=np.zeros(3), mu_product=1.0),
    RAdamState: RAdamState(t=0, m=np.zeros(3), v=np.zeros(3)),
    AdamaxState: AdamaxState(t=0, m=np.zeros(3), u=np.zeros(3)),
    AdaBeliefState: AdaBeliefState(t=0, m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(3)),
    LionState: LionState(m=np.zeros(3)),
    LookaheadState: LookaheadState(t=0, slow=np.zeros(3), inner=SGDState()),
    MuonState: MuonState(B=np.zeros(3)),
    AdafactorState: AdafactorState(t=0, v=np.zeros(3)),
    ScheduleFreeState: ScheduleFreeState(t=0, z=np.zeros(3), x=np.zeros(3), v=np.zeros(3)),
    PerMatrixState: PerMatrixState(pieces=(SGDState(),)),
}


def _own_state_type(rule):
    return type(rule.init(GOOD_THETA))


FOREIGN_STATE_CASES = [
    pytest.param(name, state_type, id=f"{name}-given-{state_type.__name__}")
    for name, rule in RULES.items()
    for state_type in STATES_OF_EACH_TYPE
    if state_type is not _own_state_type(rule)
]


@pytest.mark.parametrize("name, state_type", FOREIGN_STATE_CASES)
def test_step_rejects_a_state_from_another_rule(name, state_type):
    with rejects("state"):
        RULES[name].step(GOOD_THETA, GOOD_GRAD, STATES_OF_EACH_TYPE[state_type])


@pytest.mark.parametrize("bad_state", [None, {}, (), "state", 0, np.zeros(3)], ids=repr)
@pytest.mark.parametrize("name", list(RULES))
def test_step_rejects_a_state_that_is_no_state(name, bad_state):
    with rejects("state"):
        RULES[name].step(GOOD_THETA, GOOD_GRAD, bad_state)


# For each rule: the first array field that a wrong shape is reported on.
FIRST_ARRAY_FIELD = {
    "sgd-momentum": "state.b",
    "sgd-nesterov": "state.b",
    "ema-momentum": "state.v",
    "adagrad": "state.s",
    "rmsprop": "state.v",
    "rmsprop-centered-momentum": "state.v",
    "adam": "state.m",
    "adam-amsgrad": "state.m",
    "adamw": "state.m",
    "adamw-amsgrad": "state.m",
    "nadam": "state.m",
    "nadam-decoupled": "state.m",
    "radam": "state.m",
    "adamax": "state.m",
    "adabelief": "state.m",
    "adabelief-amsgrad": "state.m",
    "lion": "state.m",
    "lookahead-adam": "state.slow",
    "lookahead-sgd-momentum": "state.slow",
    "schedule-free": "state.z",
    "adopt": "state.m",
    "adopt-decoupled": "state.m",
    "cautious-adamw": "state.m",
    "cautious-lion": "state.m",
    "cautious-sgd": "state.b",
}


@pytest.mark.parametrize("theta_shape", [(4,), (3, 1), (), (1, 3)], ids=str)
@pytest.mark.parametrize("name", list(FIRST_ARRAY_FIELD))
def test_step_rejects_a_state_made_for_another_shape(name, theta_shape):
    """A state made (and stepped once) for θ of shape (3,), then used with θ of another shape."""
    rule = RULES[name]
    state = rule.step(GOOD_THETA, GOOD_GRAD, rule.init(GOOD_THETA))[1]
    with rejects(FIRST_ARRAY_FIELD[name]):
        rule.step(np.zeros(theta_shape), np.zeros(theta_shape), state)


@pytest.mark.parametrize(
    "rule, state, field",
    [
        pytest.param(SGD(momentum=0.9), SGDState(b=np.zeros(2)), "state.b", id="sgd"),
        pytest.param(SGD(), SGDState(b=np.zeros(2)), "state.b", id="sgd-unused-buffer"),
        pytest.param(RMSprop(), RMSpropState(v=np.zeros(3), g_avg=np.zeros(2)), "state.g_avg",
                     id="rmsprop-unused-g_avg"),
        pytest.param(RMSprop(centered=True), RMSpropState(v=np.zeros(3), g_avg=np.zeros((3, 1))),
                     "state.g_avg", id="rmsprop-centered"),
        pytest.param(RMSprop(momentum=0.5), RMSpropState(v=np.zeros(3), b=np.zeros(4)),
                     "state.b", id="rmsprop-momentum"),
        pytest.param(Adam(), AdamState(t=1, m=np.zeros(3), v=np.zeros(2)), "state.v", id="adam-v"),
        pytest.param(Adam(amsgrad=True), AdamState(t=1, m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(1)),
                     "state.v_max", id="adam-v_max"),
        pytest.param(AdamW(amsgrad=True), AdamState(t=1, m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(4)),
                     "state.v_max", id="adamw-v_max"),
        pytest.param(NAdam(), NAdamState(t=1, m=np.zeros(3), v=np.zeros(2), mu_product=0.5), "state.v",
                     id="nadam-v"),
        pytest.param(RAdam(), RAdamState(t=1, m=np.zeros((3, 1)), v=np.zeros(3)), "state.m", id="radam-m"),
        pytest.param(Adamax(), AdamaxState(t=1, m=np.zeros(3), u=np.zeros(1)), "state.u", id="adamax-u"),
        pytest.param(AdaBelief(amsgrad=True), AdaBeliefState(t=1, m=np.zeros(3), v=np.zeros(3), v_max=np.zeros(4)),
                     "state.v_max", id="adabelief-v_max"),
        pytest.param(Lion(), LionState(m=np.zeros(2)), "state.m", id="lion-m"),
        pytest.param(Lookahead(Adam()), LookaheadState(t=0, slow=np.zeros(2), inner=Adam().init(np.zeros(3))),
                     "state.slow", id="lookahead-slow"),
        pytest.param(Lookahead(Adam()), LookaheadState(t=0, slow=np.zeros(3), inner=Adam().init(np.zeros(2))),
                     "state.inner", id="lookahead-inner"),
    ],
)
def test_step_rejects_a_hand_made_state_with_a_wrong_shaped_array(rule, state, field):
    with rejects(field):
        rule.step(GOOD_THETA, GOOD_GRAD, state)


@pytest.mark.parametrize(
    "rule, state, field",
    [
        pytest.param(Adam(amsgrad=True), Adam().init(GOOD_THETA), "state.v_max", id="adam-amsgrad-no-v_max"),
        pytest.param(AdamW(amsgrad=True), AdamW().init(GOOD_THETA), "state.v_max", id="adamw-amsgrad-no-v_max"),
        pytest.param(RMSprop(centered=True), RMSprop().init(GOOD_THETA), "state.g_avg",
                     id="rmsprop-centered-no-g_avg"),
        pytest.param(RMSprop(momentum=0.9), RMSprop().init(GOOD_THETA), "state.b",
                     id="rmsprop-momentum-no-buffer"),
        pytest.param(RMSprop(), RMSpropState(v=None), "state.v", id="rmsprop-no-v"),
        pytest.param(Adam(), AdamState(t=0, m=None, v=np.zeros(3)), "state.m", id="adam-no-m"),
        pytest.param(Adam(), AdamState(t=0, m=np.zeros(3), v=None), "state.v", id="adam-no-v"),
        pytest.param(AdaBelief(amsgrad=True), AdaBelief().init(GOOD_THETA), "state.v_max",
                     id="adabelief-amsgrad-no-v_max"),
        pytest.param(NAdam(), NAdamState(t=0, m=None, v=np.zeros(3), mu_product=1.0), "state.m", id="nadam-no-m"),
        pytest.param(RAdam(), RAdamState(t=0, m=np.zeros(3), v=None), "state.v", id="radam-no-v"),
        pytest.param(Adamax(), AdamaxState(t=0, m=np.zeros(3), u=None), "state.u", id="adamax-no-u"),
        pytest.param(Lion(), LionState(m=None), "state.m", id="lion-no-m"),
        pytest.param(Lookahead(Adam()), LookaheadState(t=0, slow=None, inner=Adam().init(GOOD_THETA)),
                     "state.slow", id="lookahead-no-slow"),
        pytest.param(Lookahead(Adam()), LookaheadState(t=0, slow=np.zeros(3), inner=None), "state.inner",
                     id="lookahead-no-inner"),
        pytest.param(Lookahead(Adam()), Lookahead(SGD()).init(GOOD_THETA), "state.inner",
                     id="lookahead-inner-of-another-rule"),
        pytest.param(Lookahead(Adam(amsgrad=True)), Lookahead(Adam()).init(GOOD_THETA), "state.inner",
                     id="lookahead-inner-missing-v_max"),
    ],
)
def test_step_rejects_a_state_missing_an_array_its_settings_need(rule, state, field):
    """A state made by the same rule with other settings (or by hand) that lacks an array."""
    with rejects(field):
        rule.step(GOOD_THETA, GOOD_GRAD, state)


@pytest.mark.parametrize("t", [-1, -1000, 1.5, 2.0, True, None, "3", np.float64(1.0)], ids=repr)
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_step_rejects_a_bad_step_count(cls, t):
    state = AdamState(t=t, m=np.zeros(3), v=np.zeros(3))
    with rejects("state.t"):
        cls().step(GOOD_THETA, GOOD_GRAD, state)


STATES_WITH_A_STEP_COUNT = {
    "nadam": (NAdam(), lambda t: NAdamState(t=t, m=np.zeros(3), v=np.zeros(3), mu_product=1.0)),
    "radam": (RAdam(), lambda t: RAdamState(t=t, m=np.zeros(3), v=np.zeros(3))),
    "adamax": (Adamax(), lambda t: AdamaxState(t=t, m=np.zeros(3), u=np.zeros(3))),
    "adabelief": (AdaBelief(), lambda t: AdaBeliefState(t=t, m=np.zeros(3), v=np.zeros(3))),
    "lookahead": (Lookahead(SGD()), lambda t: LookaheadState(t=t, slow=np.zeros(3), inner=SGDState())),
}


@pytest.mark.parametrize("t", [-1, 1.5, 2.0, True, None, "3", np.float64(1.0)], ids=repr)
@pytest.mark.parametrize("name", list(STATES_WITH_A_STEP_COUNT))
def test_variants_reject_a_bad_step_count(name, t):
    rule, make_state = STATES_WITH_A_STEP_COUNT[name]
    with rejects("state.t"):
        rule.step(GOOD_THETA, GOOD_GRAD, make_state(t))


@pytest.mark.parametrize("mu_product", [-0.1, 1.5, math.nan, math.inf, None, "1", True, np.zeros(3)], ids=repr)
def test_nadam_rejects_a_bad_mu_product(mu_product):
    """Π_t = μ₁ … μ_t is a number in [0, 1] (each μ < 1)."""
    state = NAdamState(t=2, m=np.zeros(3), v=np.zeros(3), mu_product=mu_product)
    with rejects("state.mu_product"):
        NAdam().step(GOOD_THETA, GOOD_GRAD, state)


def test_a_good_state_count_is_accepted():
    """A numpy integer t is fine (as from a saved state)."""
    _, state = Adam().step(GOOD_THETA, GOOD_GRAD, AdamState(t=np.int64(4), m=np.zeros(3), v=np.zeros(3)))
    assert state.t == 5


# ---------------------------------------------------------------------------
# Gaps found in lessons_lib by these tests, now closed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["theta", "grad"])
def test_step_rejects_complex_arrays(where):
    rule = SGD(lr=0.1)
    z = np.array([1.0 + 2.0j, 0.5, 0.0])
    theta, grad = (z, GOOD_GRAD) if where == "theta" else (GOOD_THETA, z)
    with rejects(where):
        rule.step(theta, grad, rule.init(GOOD_THETA))


@pytest.mark.parametrize(
    "rule, state, field",
    [
        pytest.param(SGD(momentum=0.9), SGDState(b=[0.0, 0.0, 0.0]), "state.b",
                     id="sgd-buffer-list"),
        pytest.param(EMAMomentum(), EMAMomentumState(v=[0.0, 0.0, 0.0]), "state.v",
                     id="ema-velocity-list"),
        pytest.param(EMAMomentum(), EMAMomentumState(v=None), "state.v", id="ema-velocity-None"),
        pytest.param(AdaGrad(), AdaGradState(s=None), "state.s", id="adagrad-None"),
        pytest.param(AdaGrad(), AdaGradState(s=[0.0]), "state.s",
                     id="adagrad-broadcast-list"),
    ],
)
def test_step_rejects_state_fields_that_are_not_arrays(rule, state, field):
    with rejects(field):
        rule.step(GOOD_THETA, GOOD_GRAD, state)


@pytest.mark.parametrize(
    "rule, state, field",
    [
        pytest.param(Adam(), AdamState(t=1, m=np.zeros(3), v=np.array([-1.0, 0.0, 0.0])), "state.v",
                     id="adam-negative-v"),
        pytest.param(Adam(amsgrad=True),
                     AdamState(t=1, m=np.zeros(3), v=np.zeros(3), v_max=np.array([-1.0, 0.0, 0.0])),
                     "state.v_max", id="amsgrad-negative-v_max"),
        pytest.param(AdaGrad(), AdaGradState(s=np.array([-1.0, 0.0, 0.0])), "state.s",
                     id="adagrad-negative-sum"),
        pytest.param(RMSprop(), RMSpropState(v=np.array([-1.0, 0.0, 0.0])), "state.v",
                     id="rmsprop-negative-v"),
        pytest.param(Adam(), AdamState(t=1, m=np.array([math.nan, 0.0, 0.0]), v=np.zeros(3)), "state.m",
                     id="adam-nan-m"),
        pytest.param(SGD(momentum=0.9), SGDState(b=np.array([math.inf, 0.0, 0.0])),
                     "state.b", id="sgd-inf-buffer"),
        pytest.param(NAdam(), NAdamState(t=1, m=np.zeros(3), v=-np.ones(3), mu_product=0.5), "state.v",
                     id="nadam-negative-v"),
        pytest.param(RAdam(), RAdamState(t=1, m=np.zeros(3), v=np.array([0.0, -1.0, 0.0])), "state.v",
                     id="radam-negative-v"),
        pytest.param(Adamax(), AdamaxState(t=1, m=np.zeros(3), u=np.array([0.0, 0.0, -1e-12])), "state.u",
                     id="adamax-negative-u"),
        pytest.param(AdaBelief(), AdaBeliefState(t=1, m=np.zeros(3), v=np.array([-1.0, 0.0, 0.0])), "state.v",
                     id="adabelief-negative-v"),
        pytest.param(Lion(), LionState(m=np.array([math.nan, 0.0, 0.0])), "state.m", id="lion-nan-m"),
        pytest.param(Lookahead(Adam()),
                     LookaheadState(t=1, slow=np.array([math.inf, 0, 0]), inner=Adam().init(GOOD_THETA)),
                     "state.slow", id="lookahead-inf-slow"),
        pytest.param(Lookahead(Adam()), LookaheadState(t=1, slow=[0.0, 0.0, 0.0], inner=Adam().init(GOOD_THETA)),
                     "state.slow", id="lookahead-slow-list"),
    ],
)
def test_step_rejects_state_arrays_with_impossible_values(rule, state, field):
    with rejects(field):
        rule.step(GOOD_THETA, np.zeros(3), state)


@pytest.mark.parametrize("cls", [AdaGrad, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax, AdaBelief])
def test_eps_zero_is_rejected_or_safe(cls):
    """Either the constructor rejects eps = 0 (ValueError naming eps, no warning), or a zero gradient
    with eps = 0 leaves θ finite and emits no RuntimeWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rule = cls(eps=0.0)
        except ValueError as error:
            assert re.search(r"\beps\b", str(error))
            rule = None
        if rule is not None:
            theta, _ = rule.step(GOOD_THETA, np.zeros(3), rule.init(GOOD_THETA))
            assert np.all(np.isfinite(theta))
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------
# Lesson 11's rules: matrices, factored states, the split's pieces
# ---------------------------------------------------------------------------

W = np.arange(6.0).reshape(2, 3)
SPLIT = MuonWithAdamW(((slice(0, 6), (2, 3)),))  # θ: a 2 × 3 matrix, then a vector of any length


@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
def test_muon_and_the_split_reject_bad_theta(bad):
    for rule, good in [(Muon(), W), (SPLIT, np.zeros(8))]:
        with rejects("theta"):
            rule.init(BAD_ARRAYS[bad])
        with rejects("theta"):
            rule.step(BAD_ARRAYS[bad], good, rule.init(good))


@pytest.mark.parametrize("theta", [np.zeros(5), np.zeros((2, 4)), np.zeros(()), np.zeros((8, 1))], ids=str)
def test_the_split_rejects_a_theta_that_cannot_hold_its_matrices(theta):
    with rejects("theta"):
        SPLIT.init(theta)


@pytest.mark.parametrize("bad", [None, (), (MuonState(B=np.zeros((2, 3))),), "state", np.zeros(8),
                                 SPLIT.init(np.zeros(9))], ids=["None", "empty", "one-piece", "string", "array", "other-length"])
def test_the_split_rejects_a_state_of_other_pieces(bad):
    state = PerMatrixState(pieces=bad) if isinstance(bad, tuple) else bad
    with rejects("state"):
        SPLIT.step(np.zeros(8), np.zeros(8), state)


def test_the_split_has_each_piece_checked_by_its_rule():
    state = SPLIT.init(np.zeros(8))
    with rejects("state.B"):
        SPLIT.step(np.zeros(8), np.zeros(8), PerMatrixState((MuonState(B=np.zeros((2, 3))), state.pieces[1])))  # Muon holds Wᵀ, (3, 2)


@pytest.mark.parametrize(
    "theta, state, field",
    [
        pytest.param(W, AdafactorState(t=0, v=np.zeros((2, 3))), "state.R", id="matrix-with-v"),
        pytest.param(W, AdafactorState(t=0, R=np.zeros((2, 1)), C=np.zeros((1, 2))), "state.C", id="C-of-another-shape"),
        pytest.param(W, AdafactorState(t=0, R=np.zeros((2, 1)), C=-np.ones((1, 3))), "state.C", id="negative-C"),
        pytest.param(W, AdafactorState(t=0, R=[[0.0], [0.0]], C=np.zeros((1, 3))), "state.R", id="R-list"),
        pytest.param(W, AdafactorState(t=0, R=np.zeros((2, 1)), C=np.zeros((1, 3)), v=np.zeros((2, 3))), "state.v",
                     id="matrix-with-v-too"),
        pytest.param(GOOD_THETA, AdafactorState(t=0, v=np.array([0.0, math.nan, 0.0])), "state.v", id="nan-v"),
        pytest.param(GOOD_THETA, AdafactorState(t=0, R=np.zeros((3, 1)), v=np.zeros(3)), "state.R", id="vector-with-R"),
        pytest.param(GOOD_THETA, AdafactorState(t=-1, v=np.zeros(3)), "state.t", id="negative-t"),
        pytest.param(GOOD_THETA, AdamState(t=0, m=np.zeros(3), v=np.zeros(3)), "state", id="adam-state"),
    ],
)
def test_adafactor_rejects_a_state_that_does_not_fit_theta(theta, state, field):
    with rejects(field):
        Adafactor().step(theta, np.zeros_like(theta), state)


@pytest.mark.parametrize("field, value", [("weight_sum", -1.0), ("weight_sum", math.nan), ("lr_max", -2.0),
                                          ("lr_max", None), ("t", 1.5)])
def test_schedule_free_rejects_impossible_numbers_in_its_state(field, value):
    state = dataclasses.replace(AdamWScheduleFree().init(GOOD_THETA), **{field: value})
    with rejects(f"state.{field}"):
        AdamWScheduleFree().step(GOOD_THETA, GOOD_GRAD, state)
    with rejects(f"state.{field}"):
        AdamWScheduleFree().evaluation_point(GOOD_THETA, state)


@pytest.mark.parametrize("G", [np.zeros(3), np.zeros((2, 2, 2)), "G", None, [[1.0, math.nan]]], ids=repr)
def test_newton_schulz_rejects_what_is_not_a_finite_matrix(G):
    with rejects("G"):
        newton_schulz(G)


@pytest.mark.parametrize("kwargs, name", [({"steps": -1}, "steps"), ({"steps": 2.0}, "steps"), ({"eps": 0.0}, "eps"),
                                          ({"eps": math.nan}, "eps"), ({"coefficients": (1.0, 2.0)}, "coefficients"),
                                          ({"coefficients": (1.0, math.inf, 0.0)}, "coefficients")])
def test_newton_schulz_rejects_bad_settings(kwargs, name):
    with rejects(name):
        newton_schulz(W, **kwargs)


# ---------------------------------------------------------------------------
# The memory helpers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", [state_arrays, state_bytes])
@pytest.mark.parametrize("bad", list(BAD_ARRAYS))
def test_memory_helpers_reject_bad_theta(function, bad):
    with rejects("theta"):
        function(Adam(), BAD_ARRAYS[bad])


@pytest.mark.parametrize("function", [state_arrays, state_bytes])
@pytest.mark.parametrize("rule", [None, Adam, "Adam", 0.1, np.zeros(3)], ids=repr)
def test_memory_helpers_reject_what_is_no_rule(function, rule):
    with rejects("rule"):
        function(rule, GOOD_THETA)


# ---------------------------------------------------------------------------
# The variants' schedule helpers (used by lesson 09's plots)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("t", [-1, 1.0, 2.5, True, None, "3", np.float64(2.0)], ids=repr)
def test_nadam_momentum_at_rejects_a_bad_step(t):
    with rejects("t"):
        NAdam().momentum_at(t)


@pytest.mark.parametrize("method", ["rho", "rectification"])
@pytest.mark.parametrize("t", [0, -1, 1.0, 2.5, True, None, "3", np.float64(2.0)], ids=repr)
def test_radam_schedule_helpers_reject_a_bad_step(method, t):
    """ρ_t and r_t exist from the first step on (ρ₀ would divide by 1 − β₂⁰ = 0)."""
    with rejects("t"):
        getattr(RAdam(), method)(t)
