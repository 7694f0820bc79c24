"""Behaviour of the update rules in ``lessons_lib.optim``.

Three kinds of tests:

* closed-form FIRST steps, for every rule and every option;
* steps from PRESET states (a state written by hand, a given gradient);
* PROPERTIES of the rules (equivalences, monotone quantities, purity, shapes).

Every expected value is computed here from the equation in the rule's
docstring (which follows torch.optim), with the concrete numbers written in
the test -- never from the library's own output. The comparison against real
torch.optim trajectories lives in tests/test_torch_reference.py.

Common numbers: θ₀ = [1, −2, 0.5] and g = [0.5, −4, 2] unless said otherwise.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest

from lessons_lib.optim import (
    SGD,
    AdaBelief,
    AdaGrad,
    AdaGradState,
    Adam,
    Adamax,
    AdamState,
    AdamW,
    AMSGrad,
    NAdam,
    RAdam,
    EMAMomentum,
    EMAMomentumState,
    RMSprop,
    RMSpropState,
    SGDState,
)

from optim_helpers import THETA0, G, assert_close, first_step


# ---------------------------------------------------------------------------
# SGD and EMA momentum: first steps
# ---------------------------------------------------------------------------


def test_sgd_plain_first_step():
    """θ₁ = θ₀ − η g;  no momentum buffer is kept."""
    theta, state = first_step(SGD(lr=0.1))
    assert_close(theta, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -4.0, 0.5 - 0.1 * 2.0])  # [0.95, -1.6, 0.3]
    assert_close(theta, [0.95, -1.6, 0.3])
    assert state.b is None


def test_sgd_momentum_first_step_buffer_is_the_gradient():
    """PyTorch convention: b₁ = g (not (1−τ)g, not 0), so θ₁ = θ₀ − η g, as plain SGD."""
    theta, state = first_step(SGD(lr=0.1, momentum=0.9))
    assert_close(theta, [0.95, -1.6, 0.3])
    assert_close(state.b, G)


def test_sgd_dampening_is_not_applied_on_the_first_step():
    """With dampening τ = 0.5 the first buffer is still b₁ = g (undamped)."""
    theta, state = first_step(SGD(lr=0.1, momentum=0.9, dampening=0.5))
    assert_close(theta, [0.95, -1.6, 0.3])
    assert_close(state.b, G)


def test_sgd_nesterov_first_step():
    """b₁ = g, d = g + μ b₁ = (1 + μ) g = 1.9 g, θ₁ = θ₀ − η·1.9 g."""
    theta, state = first_step(SGD(lr=0.1, momentum=0.9, nesterov=True))
    assert_close(theta, [1.0 - 0.1 * 0.95, -2.0 - 0.1 * -7.6, 0.5 - 0.1 * 3.8])  # [0.905, -1.24, 0.12]
    assert_close(theta, [0.905, -1.24, 0.12])
    assert_close(state.b, G)


def test_sgd_weight_decay_first_step():
    """L2: g' = g + λθ₀ = [0.7, −4.4, 2.1],  θ₁ = θ₀ − η g'."""
    theta, state = first_step(SGD(lr=0.1, weight_decay=0.2))
    assert_close(theta, [1.0 - 0.07, -2.0 + 0.44, 0.5 - 0.21])  # [0.93, -1.56, 0.29]
    assert state.b is None


def test_sgd_momentum_with_weight_decay_first_step():
    """The L2 term enters the buffer: b₁ = g + λθ₀."""
    theta, state = first_step(SGD(lr=0.1, momentum=0.9, weight_decay=0.2))
    assert_close(theta, [0.93, -1.56, 0.29])
    assert_close(state.b, [0.7, -4.4, 2.1])


def test_ema_momentum_first_step():
    """v₁ = β·0 + (1 − β) g = 0.1 g,  θ₁ = θ₀ − η v₁ (the zero start shrinks the first step by 1 − β)."""
    theta, state = first_step(EMAMomentum(lr=0.1, beta=0.9))
    assert_close(state.v, [0.05, -0.4, 0.2])
    assert_close(theta, [1.0 - 0.005, -2.0 + 0.04, 0.5 - 0.02])  # [0.995, -1.96, 0.48]


# ---------------------------------------------------------------------------
# AdaGrad: first steps
# ---------------------------------------------------------------------------


def test_adagrad_first_step():
    """s₁ = 0 + g² = [0.25, 16, 4],  θ₁ = θ₀ − η g / (√s₁ + ε) = θ₀ − η g / (|g| + ε) ≈ θ₀ − η sign(g)."""
    eps = 1e-10
    theta, state = first_step(AdaGrad(lr=0.1, eps=eps))
    assert_close(state.s, [0.25, 16.0, 4.0])
    assert_close(theta, [1.0 - 0.1 * 0.5 / (0.5 + eps), -2.0 + 0.1 * 4.0 / (4.0 + eps), 0.5 - 0.1 * 2.0 / (2.0 + eps)])
    np.testing.assert_allclose(theta, [0.9, -1.9, 0.4], rtol=1e-9)


def test_adagrad_initial_accumulator_value_first_step():
    """s₀ = 0.75: s₁ = 0.75 + g² = [1, 16.75, 4.75],  θ₁ = θ₀ − η g / (√s₁ + ε)."""
    eps = 1e-10
    rule = AdaGrad(lr=0.1, eps=eps, initial_accumulator_value=0.75)
    assert_close(rule.init(THETA0).s, [0.75, 0.75, 0.75])
    theta, state = first_step(rule)
    assert_close(state.s, [1.0, 16.75, 4.75])
    assert_close(
        theta,
        [
            1.0 - 0.1 * 0.5 / (1.0 + eps),
            -2.0 + 0.1 * 4.0 / (math.sqrt(16.75) + eps),
            0.5 - 0.1 * 2.0 / (math.sqrt(4.75) + eps),
        ],
    )


def test_adagrad_weight_decay_first_step():
    """Use g = [−0.1, 0.3, 2] so that the L2 term flips two signs:
    g' = g + 0.2 θ₀ = [0.1, −0.1, 2.1],  s₁ = g'²,  θ₁ = θ₀ − η g'/(|g'| + ε) ≈ θ₀ − η sign(g')."""
    eps = 1e-10
    grad = np.array([-0.1, 0.3, 2.0])
    g1 = np.array([-0.1 + 0.2 * 1.0, 0.3 + 0.2 * -2.0, 2.0 + 0.2 * 0.5])
    theta, state = first_step(AdaGrad(lr=0.1, eps=eps, weight_decay=0.2), grad=grad)
    assert_close(state.s, g1**2)
    assert_close(theta, THETA0 - 0.1 * g1 / (np.abs(g1) + eps))
    np.testing.assert_allclose(theta, [0.9, -1.9, 0.4], rtol=1e-8)  # without L2 it would be [1.1, -2.1, 0.4]


# ---------------------------------------------------------------------------
# RMSprop: first steps  (η = 0.01, β = 0.99, ε = 1e-8)
# ---------------------------------------------------------------------------


def test_rmsprop_first_step():
    """v₁ = (1 − β) g² = 0.01 g² = [0.0025, 0.16, 0.04],  r = √v₁ + ε = 0.1|g| + ε,
    θ₁ = θ₀ − η g / r ≈ θ₀ − 0.1 sign(g)."""
    eps = 1e-8
    theta, state = first_step(RMSprop(lr=0.01, beta=0.99, eps=eps))
    assert_close(state.v, [0.0025, 0.16, 0.04])
    assert state.g_avg is None and state.b is None
    r = np.array([0.05, 0.4, 0.2]) + eps
    assert_close(theta, THETA0 - 0.01 * G / r)
    np.testing.assert_allclose(theta, [0.9, -1.9, 0.4], rtol=1e-7)


def test_rmsprop_centered_first_step():
    """ḡ₁ = 0.01 g,  v₁ − ḡ₁² = 0.01 g² − 0.0001 g² = 0.0099 g² = β(1 − β) g²,
    r = √0.0099 |g| + ε,  θ₁ = θ₀ − η g / r  (step ≈ 0.01/√0.0099 = 0.1005 > 0.1 of the plain form)."""
    eps = 1e-8
    theta, state = first_step(RMSprop(lr=0.01, beta=0.99, eps=eps, centered=True))
    assert_close(state.v, [0.0025, 0.16, 0.04])
    assert_close(state.g_avg, [0.005, -0.04, 0.02])
    r = math.sqrt(0.0099) * np.abs(G) + eps
    assert_close(theta, THETA0 - 0.01 * G / r)


def test_rmsprop_momentum_first_step():
    """b₁ = μ·0 + g / r = g / r ≈ 10 sign(g),  θ₁ = θ₀ − η b₁: the same first step as without momentum."""
    eps = 1e-8
    theta, state = first_step(RMSprop(lr=0.01, beta=0.99, eps=eps, momentum=0.5))
    r = np.array([0.05, 0.4, 0.2]) + eps
    assert_close(state.b, G / r)
    assert_close(theta, THETA0 - 0.01 * G / r)


def test_rmsprop_weight_decay_first_step():
    """g' = g + 0.2 θ₀ = [0.7, −4.4, 2.1],  v₁ = 0.01 g'² = [0.0049, 0.1936, 0.0441],  θ₁ = θ₀ − η g'/(√v₁ + ε)."""
    eps = 1e-8
    theta, state = first_step(RMSprop(lr=0.01, beta=0.99, eps=eps, weight_decay=0.2))
    assert_close(state.v, [0.0049, 0.1936, 0.0441])
    assert_close(theta, THETA0 - 0.01 * np.array([0.7, -4.4, 2.1]) / (np.array([0.07, 0.44, 0.21]) + eps))


# ---------------------------------------------------------------------------
# Adam / AdamW: first steps  (η = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8)
# ---------------------------------------------------------------------------


def test_adam_first_step_with_bias_correction():
    """m₁ = 0.1 g, v₁ = 0.001 g², m̂ = m₁/(1 − 0.9) = g, v̂ = v₁/(1 − 0.999) = g²,
    θ₁ = θ₀ − η g / (|g| + ε) elementwise ≈ θ₀ − η sign(g)."""
    eps = 1e-8
    theta, state = first_step(Adam(lr=0.1, eps=eps))
    assert state.t == 1
    assert_close(state.m, [0.05, -0.4, 0.2])
    assert_close(state.v, [0.00025, 0.016, 0.004])
    assert state.v_max is None
    assert_close(theta, [1.0 - 0.1 * 0.5 / (0.5 + eps), -2.0 + 0.1 * 4.0 / (4.0 + eps), 0.5 - 0.1 * 2.0 / (2.0 + eps)])


def test_adam_first_step_without_bias_correction():
    """m₁ = (1 − β₁) g, v₁ = (1 − β₂) g², no correction:
    θ₁ = θ₀ − η (1 − β₁) g / (√(1 − β₂) |g| + ε) ≈ θ₀ − 3.16 η sign(g)."""
    eps = 1e-8
    theta, state = first_step(Adam(lr=0.1, eps=eps, bias_correction=False))
    assert state.t == 1
    assert_close(state.m, [0.05, -0.4, 0.2])
    assert_close(state.v, [0.00025, 0.016, 0.004])
    assert_close(theta, THETA0 - 0.1 * 0.1 * G / (math.sqrt(0.001) * np.abs(G) + eps))
    np.testing.assert_allclose(theta, [1 - 0.316228, -2 + 0.316228, 0.5 - 0.316228], rtol=1e-5)


def test_adam_amsgrad_first_step():
    """v_max₁ = max(0, v₁) = v₁, so the first AMSGrad step equals Adam's: θ₁ = θ₀ − η g/(|g| + ε)."""
    eps = 1e-8
    theta, state = first_step(Adam(lr=0.1, eps=eps, amsgrad=True))
    assert_close(state.v, [0.00025, 0.016, 0.004])
    assert_close(state.v_max, [0.00025, 0.016, 0.004])
    assert_close(theta, THETA0 - 0.1 * G / (np.abs(G) + eps))


def test_adam_weight_decay_first_step():
    """L2 in Adam: g' = g + λθ₀. With g = [−0.1, 0.3, 2] and λ = 0.2, g' = [0.1, −0.1, 2.1]:
    m₁ = 0.1 g', v₁ = 0.001 g'², θ₁ = θ₀ − η g'/(|g'| + ε) (the decay flips the first two steps)."""
    eps = 1e-8
    grad = np.array([-0.1, 0.3, 2.0])
    g1 = np.array([-0.1 + 0.2 * 1.0, 0.3 + 0.2 * -2.0, 2.0 + 0.2 * 0.5])
    theta, state = first_step(Adam(lr=0.1, eps=eps, weight_decay=0.2), grad=grad)
    assert_close(state.m, 0.1 * g1)
    assert_close(state.v, 0.001 * g1**2)
    assert_close(theta, THETA0 - 0.1 * g1 / (np.abs(g1) + eps))
    np.testing.assert_allclose(theta, [0.9, -1.9, 0.4], rtol=1e-6)


def test_adamw_first_step():
    """Decoupled: θ ← θ₀(1 − ηλ) = 0.98 θ₀, then Adam's step with the plain g:
    θ₁ = 0.98 θ₀ − η g/(|g| + ε) ≈ [0.88, −1.86, 0.39]; m, v see only g."""
    eps = 1e-8
    theta, state = first_step(AdamW(lr=0.1, eps=eps, weight_decay=0.2))
    assert_close(state.m, [0.05, -0.4, 0.2])
    assert_close(state.v, [0.00025, 0.016, 0.004])
    assert_close(theta, np.array([0.98, -1.96, 0.49]) - 0.1 * G / (np.abs(G) + eps))
    np.testing.assert_allclose(theta, [0.88, -1.86, 0.39], rtol=1e-7)


def test_adamw_default_weight_decay_is_pytorchs():
    assert AdamW().weight_decay == 0.01
    assert Adam().weight_decay == 0.0


# ---------------------------------------------------------------------------
# Weight decay: one mechanism, one switch (``decoupled_weight_decay``, torch's name)
# ---------------------------------------------------------------------------

RULES_WITH_A_LAMBDA = [SGD(lr=0.1, momentum=0.9), AdaGrad(lr=0.1), RMSprop(lr=0.01, centered=True, momentum=0.5),
                       Adam(lr=0.1), AMSGrad(lr=0.1), NAdam(lr=0.1), RAdam(lr=0.1), Adamax(lr=0.1),
                       AdaBelief(lr=0.1, eps=1e-8)]


@pytest.mark.parametrize("rule", RULES_WITH_A_LAMBDA, ids=lambda rule: rule.name)
@pytest.mark.parametrize("decoupled", [False, True])
def test_every_rule_with_a_lambda_has_the_decoupled_switch(rule, decoupled):
    """L2 is the rule without decay fed g + λθ; decoupled is the rule without decay from θ (1 − ηλ):
    bit for bit, for 8 steps, on every rule that has a λ."""
    assert "decoupled_weight_decay" in [field.name for field in dataclasses.fields(rule) if field.init]
    lam = 0.2
    decayed = dataclasses.replace(rule, weight_decay=lam, decoupled_weight_decay=decoupled)
    plain = dataclasses.replace(rule, weight_decay=0.0)
    grads = np.random.default_rng(5).normal(size=(8, 3))
    x = y = THETA0
    sx, sy = decayed.init(x), plain.init(y)
    for g in grads:
        x, sx = decayed.step(x, g, sx)
        if decoupled:
            y, sy = plain.step(y * (1 - rule.lr * lam), g, sy)
        else:
            y, sy = plain.step(y, g + lam * y, sy)
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_is_adam_with_the_switch_on(amsgrad):
    """AdamW(...) and Adam(..., decoupled_weight_decay=True) take the same steps and keep the same state;
    AdamW only changes two defaults (the switch and λ = 0.01, PyTorch's)."""
    def settings(rule):
        return {field.name: getattr(rule, field.name) for field in dataclasses.fields(Adam) if field.name != "name"}

    assert settings(AdamW()) == {**settings(Adam()), "weight_decay": 0.01, "decoupled_weight_decay": True}
    adamw = AdamW(lr=0.05, weight_decay=0.3, amsgrad=amsgrad)
    adam = Adam(lr=0.05, weight_decay=0.3, amsgrad=amsgrad, decoupled_weight_decay=True)
    rng = np.random.default_rng(6)
    x = y = np.array([1.0, -2.0, 0.5, 3.0])
    sx, sy = adamw.init(x), adam.init(y)
    for _ in range(50):
        g = rng.normal(size=4)
        x, sx = adamw.step(x, g, sx)
        y, sy = adam.step(y, g, sy)
        np.testing.assert_array_equal(x, y)
        for field in ("m", "v", "v_max"):
            np.testing.assert_array_equal(getattr(sx, field), getattr(sy, field))
    assert sx.t == sy.t == 50


def test_amsgrad_is_adam_with_amsgrad():
    rng = np.random.default_rng(7)
    x = y = THETA0
    a, b = AMSGrad(lr=0.05, beta2=0.9), Adam(lr=0.05, beta2=0.9, amsgrad=True)
    sa, sb = a.init(x), b.init(y)
    for _ in range(30):
        g = rng.normal(size=3) * rng.choice([0.1, 10])
        x, sa = a.step(x, g, sa)
        y, sb = b.step(y, g, sb)
        np.testing.assert_array_equal(x, y)
    assert AMSGrad().name == "AMSGrad" and isinstance(AMSGrad(), Adam)


# ---------------------------------------------------------------------------
# Steps from PRESET states
# ---------------------------------------------------------------------------


def test_sgd_momentum_preset_state():
    """b = [1, −1, 0]:  b' = μ b + g = [0.9 + 0.5, −0.9 − 4, 0 + 2] = [1.4, −4.9, 2],
    θ' = θ − η b' = [0.86, −1.51, 0.3]."""
    theta, state = SGD(lr=0.1, momentum=0.9).step(THETA0, G, SGDState(b=np.array([1.0, -1.0, 0.0])))
    assert_close(state.b, [1.4, -4.9, 2.0])
    assert_close(theta, [0.86, -1.51, 0.3])


def test_sgd_dampening_preset_state():
    """τ = 0.5: b' = μ b + (1 − τ) g = [0.9 + 0.25, −0.9 − 2, 0 + 1] = [1.15, −2.9, 1],
    θ' = θ − η b' = [0.885, −1.71, 0.4]."""
    rule = SGD(lr=0.1, momentum=0.9, dampening=0.5)
    theta, state = rule.step(THETA0, G, SGDState(b=np.array([1.0, -1.0, 0.0])))
    assert_close(state.b, [1.15, -2.9, 1.0])
    assert_close(theta, [0.885, -1.71, 0.4])


def test_sgd_nesterov_preset_state():
    """b' = μ b + g = [1.4, −4.9, 2],  d = g + μ b' = [0.5 + 1.26, −4 − 4.41, 2 + 1.8] = [1.76, −8.41, 3.8],
    θ' = θ − η d = [0.824, −1.159, 0.12]."""
    rule = SGD(lr=0.1, momentum=0.9, nesterov=True)
    theta, state = rule.step(THETA0, G, SGDState(b=np.array([1.0, -1.0, 0.0])))
    assert_close(state.b, [1.4, -4.9, 2.0])
    assert_close(theta, [0.824, -1.159, 0.12])


def test_sgd_momentum_weight_decay_preset_state():
    """g' = g + 0.2θ = [0.7, −4.4, 2.1],  b' = μ b + g' = [1.6, −5.3, 2.1],  θ' = θ − η b' = [0.84, −1.47, 0.29]."""
    rule = SGD(lr=0.1, momentum=0.9, weight_decay=0.2)
    theta, state = rule.step(THETA0, G, SGDState(b=np.array([1.0, -1.0, 0.0])))
    assert_close(state.b, [1.6, -5.3, 2.1])
    assert_close(theta, [0.84, -1.47, 0.29])


def test_sgd_without_momentum_ignores_and_keeps_a_buffer_free_state():
    """μ = 0: θ' = θ − η(g + λθ) and the returned state still has no buffer."""
    theta, state = SGD(lr=0.1, weight_decay=0.2).step(THETA0, G, SGDState())
    assert_close(theta, [0.93, -1.56, 0.29])
    assert state.b is None


def test_ema_momentum_preset_state():
    """v = [1, −1, 0]: v' = 0.9 v + 0.1 g = [0.95, −1.3, 0.2],  θ' = θ − η v' = [0.905, −1.87, 0.48]."""
    rule = EMAMomentum(lr=0.1, beta=0.9)
    theta, state = rule.step(THETA0, G, EMAMomentumState(v=np.array([1.0, -1.0, 0.0])))
    assert_close(state.v, [0.95, -1.3, 0.2])
    assert_close(theta, [0.905, -1.87, 0.48])


def test_adagrad_preset_state():
    """s = [0.75, 9, 0]: s' = s + g² = [1, 25, 4],  θ' = θ − η g/(√s' + ε) = θ − 0.1·[0.5/1, −4/5, 2/2] (+ε)."""
    eps = 1e-10
    rule = AdaGrad(lr=0.1, eps=eps)
    theta, state = rule.step(THETA0, G, AdaGradState(s=np.array([0.75, 9.0, 0.0])))
    assert_close(state.s, [1.0, 25.0, 4.0])
    assert_close(theta, [1.0 - 0.1 * 0.5 / (1 + eps), -2.0 + 0.1 * 4.0 / (5 + eps), 0.5 - 0.1 * 2.0 / (2 + eps)])
    np.testing.assert_allclose(theta, [0.95, -1.92, 0.4], rtol=1e-9)


def test_adagrad_weight_decay_preset_state():
    """g' = [0.7, −4.4, 2.1],  s = [0.51, 0.64, 0]: s' = s + g'² = [1, 20, 4.41],  θ' = θ − η g'/(√s' + ε)."""
    eps = 1e-10
    rule = AdaGrad(lr=0.1, eps=eps, weight_decay=0.2, initial_accumulator_value=5.0)  # s₀ is unused here
    theta, state = rule.step(THETA0, G, AdaGradState(s=np.array([0.51, 0.64, 0.0])))
    assert_close(state.s, [1.0, 20.0, 4.41])
    assert_close(theta, [1.0 - 0.07 / (1 + eps), -2.0 + 0.44 / (math.sqrt(20) + eps), 0.5 - 0.21 / (2.1 + eps)])


def test_rmsprop_preset_state():
    """β = 0.9, v = [0.5, 1, 0]: v' = 0.9 v + 0.1 g² = [0.45 + 0.025, 0.9 + 1.6, 0.4] = [0.475, 2.5, 0.4],
    θ' = θ − η g/(√v' + ε)."""
    eps = 1e-8
    rule = RMSprop(lr=0.01, beta=0.9, eps=eps)
    theta, state = rule.step(THETA0, G, RMSpropState(v=np.array([0.5, 1.0, 0.0])))
    assert_close(state.v, [0.475, 2.5, 0.4])
    assert state.g_avg is None and state.b is None
    assert_close(
        theta,
        [1.0 - 0.01 * 0.5 / (math.sqrt(0.475) + eps), -2.0 + 0.01 * 4 / (math.sqrt(2.5) + eps), 0.5 - 0.02 / (math.sqrt(0.4) + eps)],
    )


def test_rmsprop_weight_decay_preset_state():
    """g' = [0.7, −4.4, 2.1]:  v' = 0.9 [0.5, 1, 0] + 0.1 g'² = [0.499, 2.836, 0.441],  θ' = θ − η g'/(√v' + ε)."""
    eps = 1e-8
    rule = RMSprop(lr=0.01, beta=0.9, eps=eps, weight_decay=0.2)
    theta, state = rule.step(THETA0, G, RMSpropState(v=np.array([0.5, 1.0, 0.0])))
    assert_close(state.v, [0.499, 2.836, 0.441])
    assert_close(theta, THETA0 - 0.01 * np.array([0.7, -4.4, 2.1]) / (np.sqrt([0.499, 2.836, 0.441]) + eps))


def test_rmsprop_centered_momentum_preset_state():
    """β = 0.9, μ = 0.5; v = [0.5, 1, 0], ḡ = [0.5, −0.5, 0], b = [1, 2, −1]:
    v' = [0.475, 2.5, 0.4];  ḡ' = 0.9 ḡ + 0.1 g = [0.5, −0.85, 0.2];
    v' − ḡ'² = [0.225, 1.7775, 0.36];  r = √(v' − ḡ'²) + ε;
    b' = μ b + g / r = [0.5 + 0.5/r₀, 1 − 4/r₁, −0.5 + 2/r₂];  θ' = θ − η b'."""
    eps = 1e-8
    rule = RMSprop(lr=0.01, beta=0.9, eps=eps, centered=True, momentum=0.5)
    state = RMSpropState(
        v=np.array([0.5, 1.0, 0.0]),
        g_avg=np.array([0.5, -0.5, 0.0]),
        b=np.array([1.0, 2.0, -1.0]),
    )
    theta, new = rule.step(THETA0, G, state)
    assert_close(new.v, [0.475, 2.5, 0.4])
    assert_close(new.g_avg, [0.5, -0.85, 0.2])
    r = np.sqrt([0.225, 1.7775, 0.36]) + eps
    b = np.array([0.5 + 0.5 / r[0], 1.0 - 4.0 / r[1], -0.5 + 2.0 / r[2]])
    assert_close(new.b, b, rtol=1e-14)  # v' − ḡ'² loses a few bits to cancellation
    assert_close(theta, THETA0 - 0.01 * b, rtol=1e-15)


# Adam preset: θ = [1, −2, 0.5], t = 4, m = [0.2, −0.1, 0], v = [0.04, 0.01, 0], g = [0.5, −0.3, 2].
ADAM_G = np.array([0.5, -0.3, 2.0])
ADAM_PRESET = AdamState(t=4, m=np.array([0.2, -0.1, 0.0]), v=np.array([0.04, 0.01, 0.0]))
M5 = np.array([0.23, -0.12, 0.2])  # 0.9 m + 0.1 g = [0.18 + 0.05, −0.09 − 0.03, 0 + 0.2]
V5 = np.array([0.04021, 0.01008, 0.004])  # 0.999 v + 0.001 g² = [0.03996 + 0.00025, 0.00999 + 0.00009, 0.004]
BC1 = 1 - 0.9**5  # 0.40951
BC2 = 1 - 0.999**5  # 0.004990009995001


def test_adam_preset_state():
    """t: 4 → 5;  m' = [0.23, −0.12, 0.2];  v' = [0.04021, 0.01008, 0.004];
    θ' = θ − η (m'/(1 − 0.9⁵)) / (√(v'/(1 − 0.999⁵)) + ε)."""
    eps = 1e-8
    assert BC1 == pytest.approx(0.40951, rel=1e-14) and BC2 == pytest.approx(0.004990009995001, rel=1e-12)
    theta, state = Adam(lr=0.1, eps=eps).step(THETA0, ADAM_G, ADAM_PRESET)
    assert state.t == 5
    assert_close(state.m, M5)
    assert_close(state.v, V5)
    assert state.v_max is None
    assert_close(theta, THETA0 - 0.1 * (M5 / BC1) / (np.sqrt(V5 / BC2) + eps))


def test_adam_without_bias_correction_preset_state():
    """Same state: θ' = θ − η m' / (√v' + ε), no division by 1 − βᵗ."""
    eps = 1e-8
    theta, state = Adam(lr=0.1, eps=eps, bias_correction=False).step(THETA0, ADAM_G, ADAM_PRESET)
    assert state.t == 5
    assert_close(state.m, M5)
    assert_close(state.v, V5)
    assert_close(theta, THETA0 - 0.1 * M5 / (np.sqrt(V5) + eps))


def test_adam_amsgrad_preset_state():
    """v_max = [0.05, 0.005, 0]: v_max' = max(v_max, v') = [0.05, 0.01008, 0.004] replaces v' in the
    denominator; state.v is still v' (the plain average)."""
    eps = 1e-8
    preset = AdamState(t=4, m=ADAM_PRESET.m, v=ADAM_PRESET.v, v_max=np.array([0.05, 0.005, 0.0]))
    theta, state = Adam(lr=0.1, eps=eps, amsgrad=True).step(THETA0, ADAM_G, preset)
    assert state.t == 5
    assert_close(state.v, V5)
    vmax = np.array([0.05, 0.01008, 0.004])
    assert_close(state.v_max, vmax)
    assert_close(theta, THETA0 - 0.1 * (M5 / BC1) / (np.sqrt(vmax / BC2) + eps))


def test_adam_weight_decay_preset_state():
    """λ = 0.2: g' = g + λθ = [0.7, −0.7, 2.1];  m' = 0.9 m + 0.1 g' = [0.25, −0.16, 0.21];
    v' = 0.999 v + 0.001 g'² = [0.04045, 0.01048, 0.00441];  θ' = θ − η m̂/(√v̂ + ε)."""
    eps = 1e-8
    theta, state = Adam(lr=0.1, eps=eps, weight_decay=0.2).step(THETA0, ADAM_G, ADAM_PRESET)
    m = np.array([0.25, -0.16, 0.21])
    v = np.array([0.04045, 0.01048, 0.00441])
    assert_close(state.m, m)
    assert_close(state.v, v)
    assert_close(theta, THETA0 - 0.1 * (m / BC1) / (np.sqrt(v / BC2) + eps))


def test_adamw_preset_state():
    """λ = 0.2: θ ← θ(1 − 0.1·0.2) = [0.98, −1.96, 0.49]; m', v' from the plain g (as in Adam's preset);
    θ' = [0.98, −1.96, 0.49] − η m̂/(√v̂ + ε)."""
    eps = 1e-8
    theta, state = AdamW(lr=0.1, eps=eps, weight_decay=0.2).step(THETA0, ADAM_G, ADAM_PRESET)
    assert state.t == 5
    assert_close(state.m, M5)
    assert_close(state.v, V5)
    assert_close(theta, np.array([0.98, -1.96, 0.49]) - 0.1 * (M5 / BC1) / (np.sqrt(V5 / BC2) + eps))


def test_adamw_amsgrad_preset_state():
    eps = 1e-8
    preset = AdamState(t=4, m=ADAM_PRESET.m, v=ADAM_PRESET.v, v_max=np.array([0.05, 0.005, 0.0]))
    theta, state = AdamW(lr=0.1, eps=eps, weight_decay=0.2, amsgrad=True).step(THETA0, ADAM_G, preset)
    vmax = np.array([0.05, 0.01008, 0.004])
    assert_close(state.v_max, vmax)
    assert_close(theta, np.array([0.98, -1.96, 0.49]) - 0.1 * (M5 / BC1) / (np.sqrt(vmax / BC2) + eps))


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_adam_constant_gradient_step_is_lr_times_g_over_g_plus_eps(amsgrad):
    """With a constant gradient g (no zero entries), m_t = (1 − β₁ᵗ) g and v_t = (1 − β₂ᵗ) g², so the
    bias-corrected m̂ = g and v̂ = g² at EVERY t, and |Δθ_i| = η |g_i| / (|g_i| + ε) exactly (in exact
    arithmetic; ≈ η when |g_i| ≫ ε). With AMSGrad, v_t grows, so v_max = v and the same holds.

    Checked at every t = 1 … 1000 to 2e-14 relative (the rounding of the running averages). The
    coordinates have different scales, including |g| = 1e-3 where ε/|g| = 1e-5 is visible.
    Δθ is read as the step from θ = 0 (Adam's update does not depend on θ without weight decay),
    so no subtraction of nearly equal numbers spoils the comparison."""
    g = np.array([1e-3, -0.5, 2.0, 300.0])
    eta, eps = 0.01, 1e-8
    rule = Adam(lr=eta, eps=eps, amsgrad=amsgrad)
    state = rule.init(np.zeros(4))
    expected = eta * np.abs(g) / (np.abs(g) + eps)
    assert expected[0] == pytest.approx(eta * (1 - 1e-5), rel=1e-9)
    for t in range(1, 1001):
        delta, state = rule.step(np.zeros(4), g, state)
        assert state.t == t
        np.testing.assert_allclose(np.abs(delta), expected, rtol=2e-14, atol=0, err_msg=f"t = {t}")
        np.testing.assert_array_equal(np.sign(delta), -np.sign(g))


def test_adam_first_step_without_bias_correction_is_about_3_16_times_larger():
    """First uncorrected step: |Δθ| = η (1 − β₁)|g| / (√(1 − β₂)|g| + ε); with β₁ = 0.9, β₂ = 0.999,
    |g| = 1, ε = 1e-8 that is η·0.1/(√0.001 + 1e-8) = 3.16227666… η, while the corrected first step
    is η·1/(1 + 1e-8). So the uncorrected first step is (1 − β₁)/√(1 − β₂) = √10 ≈ 3.1623 times
    larger, up to ε (relative 3.2e-7 here)."""
    eta, eps = 1e-3, 1e-8
    g = np.array([1.0, -1.0])
    uncorrected, _ = first_step(Adam(lr=eta, eps=eps, bias_correction=False), theta=np.zeros(2), grad=g)
    corrected, _ = first_step(Adam(lr=eta, eps=eps), theta=np.zeros(2), grad=g)

    assert_close(np.abs(uncorrected), eta * 0.1 / (math.sqrt(0.001) + eps))
    assert_close(np.abs(corrected), eta / (1 + eps))
    ratio = np.abs(uncorrected) / np.abs(corrected)
    exact_ratio = 0.1 * (1 + eps) / (math.sqrt(0.001) + eps)
    assert_close(ratio, exact_ratio, rtol=4e-15)
    np.testing.assert_allclose(ratio, math.sqrt(10), rtol=4e-7)
    np.testing.assert_allclose(np.abs(uncorrected) / eta, 3.16227666017, rtol=1e-11)


def quadratic_grad(theta, a=np.array([0.1, 1.0, 10.0]), c=np.array([1.0, -2.0, 0.5])):
    """Gradient of f(θ) = ½ Σ a_i (θ_i − c_i)²."""
    return a * (theta - c)


@pytest.mark.parametrize("amsgrad", [False, True], ids=["adam", "amsgrad"])
def test_adamw_with_zero_weight_decay_equals_adam_exactly(amsgrad):
    """AdamW(weight_decay=0) multiplies θ by 1 − η·0 = 1 (exact in floating point), so its 50-step
    trajectory and states are bit-for-bit Adam(weight_decay=0)'s."""
    adam, adamw = Adam(lr=0.05, amsgrad=amsgrad), AdamW(lr=0.05, weight_decay=0.0, amsgrad=amsgrad)
    x = y = np.array([3.0, 0.0, -1.0])
    sx, sy = adam.init(x), adamw.init(y)
    for _ in range(50):
        x, sx = adam.step(x, quadratic_grad(x), sx)
        y, sy = adamw.step(y, quadratic_grad(y), sy)
        np.testing.assert_array_equal(x, y)
        assert sx.t == sy.t
        for field in ("m", "v", "v_max"):
            if amsgrad or field != "v_max":
                np.testing.assert_array_equal(getattr(sx, field), getattr(sy, field))
    assert not np.allclose(x, [3.0, 0.0, -1.0])  # it really moved


def test_sgd_l2_equals_decoupled_decay_with_rescaled_coefficient():
    """For plain SGD (no momentum), one step with L2 coefficient λ is
        θ − η(g + λθ) = θ(1 − ηλ) − ηg,
    i.e. the decoupled form  θ ← θ − λ'θ − ηg  with λ' = ηλ  (equivalently λ = λ'/η).
    Checked along a 30-step trajectory on a quadratic (g is the gradient of the loss WITHOUT the
    decay), to 1e-14 relative."""
    eta, lam = 0.05, 0.3
    lam_decoupled = eta * lam

    def decoupled_step(theta):
        return theta - lam_decoupled * theta - eta * quadratic_grad(theta)

    rule = SGD(lr=eta, weight_decay=lam)
    x = y = np.array([3.0, 0.0, -1.0])
    state = rule.init(x)
    for _ in range(30):
        x, state = rule.step(x, quadratic_grad(x), state)
        y = decoupled_step(y)
        assert_close(x, y, rtol=1e-14)
    # and the decay is visible: without it the iterates differ
    z = np.array([3.0, 0.0, -1.0])
    for _ in range(30):
        z = z - eta * quadratic_grad(z)
    assert np.max(np.abs(z - x)) > 1e-2


def test_adam_l2_decay_is_divided_by_sqrt_vhat_but_adamw_decay_is_not():
    """From a preset state with zero momentum and second moments of very different scales
    v = [1e-6, 1e-2, 1e2] (coordinates whose past gradients had scale 1e-3, 0.1, 10), and zero
    gradient, the only force is the decay λθ:

    * AdamW: Δθ = −ηλθ (the same factor for every coordinate);
    * Adam with L2: g' = λθ enters m and v, and
      Δθ = −η [(1 − β₁)λθ/(1 − β₁ᵗ)] / (√v̂ + ε),   v̂ = (β₂ v + (1 − β₂)λ²θ²)/(1 − β₂ᵗ).

    So the ratio of effective decays per coordinate, Δθ_L2 / Δθ_W = [(1 − β₁)/(1 − β₁ᵗ)] / (√v̂ + ε),
    follows 1/(√v̂ + ε): a coordinate with small past gradients is decayed ~1e4 times more than
    one with large past gradients. The new θ is asserted to 2e-15 relative; the ratio of the
    differences θ' − θ (as small as 1.5e-8, so they lose digits) to 1e-8."""
    eta, lam, eps, b1, b2 = 0.01, 1e-3, 1e-8, 0.9, 0.999
    theta = np.array([1.0, 1.0, 1.0])
    v = np.array([1e-6, 1e-2, 1e2])
    state = AdamState(t=10, m=np.zeros(3), v=v)
    zero = np.zeros(3)

    new_l2, _ = Adam(lr=eta, eps=eps, weight_decay=lam).step(theta, zero, state)
    new_w, _ = AdamW(lr=eta, eps=eps, weight_decay=lam).step(theta, zero, state)
    d_l2, d_w = new_l2 - theta, new_w - theta

    np.testing.assert_allclose(d_w, -eta * lam * theta, rtol=1e-10)  # −1e-5 each, up to the subtraction θ' − θ
    assert_close(new_w, theta * (1 - eta * lam))
    vhat = (b2 * v + (1 - b2) * (lam * theta) ** 2) / (1 - b2**11)
    expected_ratio = ((1 - b1) / (1 - b1**11)) / (np.sqrt(vhat) + eps)
    np.testing.assert_allclose(d_l2 / d_w, expected_ratio, rtol=1e-8)  # θ' − θ loses digits: steps down to 1.5e-8
    # computed without the subtraction: start from θ and compare the decay directly
    assert_close(
        new_l2,
        theta - eta * ((1 - b1) * lam * theta / (1 - b1**11)) / (np.sqrt(vhat) + eps),
        rtol=1e-15,
    )
    per_coordinate = d_l2 / d_w
    np.testing.assert_allclose(
        per_coordinate[0] / per_coordinate[2], (np.sqrt(vhat[2]) + eps) / (np.sqrt(vhat[0]) + eps), rtol=1e-8
    )
    assert per_coordinate[0] / per_coordinate[2] > 5e3


def test_adam_l2_and_adamw_trajectories_differ_measurably():
    """On f(θ) = ½ Σ a_i θ_i² with curvatures a = [1e-2, 1, 1e2] (gradients of very different
    scales), 200 steps of Adam(weight_decay=0.1) and AdamW(weight_decay=0.1), same η, from the
    same start, end more than 0.05 apart in some coordinate (while both stay finite)."""
    a = np.array([1e-2, 1.0, 1e2])
    adam, adamw = Adam(lr=0.01, weight_decay=0.1), AdamW(lr=0.01, weight_decay=0.1)
    x = y = np.array([2.0, 2.0, 2.0])
    sx, sy = adam.init(x), adamw.init(y)
    for _ in range(200):
        x, sx = adam.step(x, a * x, sx)
        y, sy = adamw.step(y, a * y, sy)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    assert np.max(np.abs(x - y)) > 0.05


def test_ema_momentum_equals_sgd_with_scaled_lr():
    """EMAMomentum(lr=η, beta=β) (v ← βv + (1 − β)g, θ ← θ − ηv, v₀ = 0) and
    SGD(lr=η(1 − β), momentum=β) (b₁ = g, b ← βb + g) give the same 50-step trajectory on a
    quadratic to 1e-12, with v = (1 − β) b at every step."""
    eta, beta = 0.1, 0.9
    ema, sgd = EMAMomentum(lr=eta, beta=beta), SGD(lr=eta * (1 - beta), momentum=beta)
    x = y = np.array([3.0, 0.0, -1.0])
    sx, sy = ema.init(x), sgd.init(y)
    for _ in range(50):
        x, sx = ema.step(x, quadratic_grad(x), sx)
        y, sy = sgd.step(y, quadratic_grad(y), sy)
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)
        np.testing.assert_allclose(sx.v, (1 - beta) * sy.b, rtol=0, atol=1e-12)


def test_sgd_nesterov_matches_torch_form_and_look_ahead_derivation():
    """Torch form (dampening 0):  b₁ = g,  b ← μb + g,  θ ← θ − η(g + μb), g = ∇f(θ).

    Look-ahead (Sutskever) NAG:  v ← μv − η∇f(θ̃ + μv),  θ̃ ← θ̃ + v,  with v₀ = 0, θ̃₀ = θ₀.
    With φ = θ̃ + μv (the look-ahead point) and v = −η b this is exactly the torch form:
    φ' = φ − (1 + μ)η∇f(φ) − ημ² b_prev = φ − η(g + μ(μ b_prev + g)). So torch's iterates are the
    look-ahead points φ_t. Checked for 40 steps: bit-for-bit against a hand-written torch form, and to
    1e-12 against φ_t of the look-ahead form."""
    eta, mu = 0.05, 0.9
    rule = SGD(lr=eta, momentum=mu, nesterov=True)
    x = np.array([3.0, 0.0, -1.0])
    state = rule.init(x)

    theta_torch, buf = x.copy(), None
    theta_nag, vel = x.copy(), np.zeros(3)
    for _ in range(40):
        x, state = rule.step(x, quadratic_grad(x), state)

        g = quadratic_grad(theta_torch)
        buf = g.copy() if buf is None else mu * buf + g
        theta_torch = theta_torch - eta * (g + mu * buf)

        vel = mu * vel - eta * quadratic_grad(theta_nag + mu * vel)
        theta_nag = theta_nag + vel

        np.testing.assert_array_equal(x, theta_torch)
        np.testing.assert_array_equal(state.b, buf)
        np.testing.assert_allclose(x, theta_nag + mu * vel, rtol=0, atol=1e-12)


def test_amsgrad_v_max_is_non_decreasing_and_bounds_v():
    """Along 300 AMSGrad steps whose gradient scale drops 100× after step 100 (so v falls):
    v_max_t = max(v_max_{t−1}, v_t) exactly, hence v_max is non-decreasing elementwise and
    v_max ≥ v; and the test is not vacuous: v does decrease and v_max > v somewhere."""
    rng = np.random.default_rng(0)
    rule = Adam(lr=0.01, amsgrad=True)
    theta = np.zeros(5)
    state = rule.init(theta)
    v_decreased = vmax_above_v = False
    for t in range(300):
        scale = 1.0 if t < 100 else 0.01
        theta, new = rule.step(theta, scale * rng.normal(size=5), state)
        np.testing.assert_array_equal(new.v_max, np.maximum(state.v_max, new.v))
        assert np.all(new.v_max >= state.v_max)
        assert np.all(new.v_max >= new.v)
        v_decreased |= bool(np.any(new.v < state.v))
        vmax_above_v |= bool(np.any(new.v_max > new.v))
        state = new
    assert v_decreased and vmax_above_v


def test_adagrad_s_grows_and_step_size_shrinks():
    """Along 200 AdaGrad steps with random gradients (some exactly 0): s_t = s_{t−1} + g_t² is
    non-decreasing elementwise, the effective step size η/(√s + ε) is non-increasing, and the actual
    step is |Δθ| = η/(√s_t + ε)·|g_t| (to 1e-15 relative, and exactly 0 where g_t = 0). Δθ is read
    as the step from θ = 0 (without weight decay AdaGrad's update does not depend on θ)."""
    rng = np.random.default_rng(1)
    eta, eps = 0.5, 1e-10
    rule = AdaGrad(lr=eta, eps=eps, initial_accumulator_value=0.1)
    state = rule.init(np.zeros(4))
    saw_zero = False
    for _ in range(200):
        g = rng.normal(size=4) * (rng.random(4) > 0.3)
        saw_zero |= bool(np.any(g == 0))
        delta, new = rule.step(np.zeros(4), g, state)
        assert np.all(new.s >= state.s)
        old_size = eta / (np.sqrt(state.s) + eps)
        new_size = eta / (np.sqrt(new.s) + eps)
        assert np.all(new_size <= old_size)
        assert_close(np.abs(delta), new_size * np.abs(g))
        state = new
    assert saw_zero


def test_rmsprop_centered_variance_stays_non_negative_on_random_gradients():
    """Centered RMSprop's variance estimate v − ḡ² is ≥ 0 in exact arithmetic (Cauchy–Schwarz, both
    averages start at 0 with the same β). Along 500 steps of random gradients with a nonzero mean,
    v − g_avg² ≥ 0 holds and θ stays finite."""
    rng = np.random.default_rng(2)
    rule = RMSprop(lr=0.01, beta=0.9, centered=True, momentum=0.5)
    theta = np.zeros(6)
    state = rule.init(theta)
    for _ in range(500):
        theta, state = rule.step(theta, 1.0 + rng.normal(size=6), state)
        assert np.all(state.v - state.g_avg**2 >= 0)
        assert np.all(np.isfinite(theta))


def test_rmsprop_centered_constant_gradient_denominator_tends_to_eps():
    """With a constant gradient g, v_t = (1 − βᵗ) g² and ḡ_t = (1 − βᵗ) g, so the centered variance is
    v − ḡ² = g² βᵗ (1 − βᵗ) → 0 and the denominator r_t = √(v − ḡ²) + ε → ε: the step η g / r_t grows
    to η g / ε. With g = 1, β = 0.5, ε = 1e-3 (v_t = ḡ_t = 1 − 2⁻ᵗ are exact binary fractions up to
    t = 53), asserted: r_t = η g/|Δθ_t| equals √(2⁻ᵗ(1 − 2⁻ᵗ)) + ε to 1e-9 for every t ≤ 50, and for
    t ≥ 60 (where 1 − 2⁻ᵗ rounds to 1, so v = ḡ = ḡ² = 1 exactly) the step is η g / ε to 1e-15,
    i.e. the denominator is ε alone. v − ḡ² ≥ 0 at every step."""
    eta, eps, beta = 1e-6, 1e-3, 0.5
    rule = RMSprop(lr=eta, beta=beta, eps=eps, centered=True)
    state = rule.init(np.zeros(1))
    g = np.array([1.0])
    for t in range(1, 81):
        step, state = rule.step(np.zeros(1), g, state)  # from θ = 0: the step itself
        assert np.all(state.v - state.g_avg**2 >= 0)
        r = eta * 1.0 / np.abs(step[0])
        if t <= 50:
            assert r == pytest.approx(math.sqrt(beta**t * (1 - beta**t)) + eps, rel=1e-9), t
        elif t >= 60:
            assert np.abs(step[0]) == pytest.approx(eta / eps, rel=1e-15), t


def test_rmsprop_centered_constant_gradient_long_run_stays_finite():
    """Centered RMSprop with a constant gradient g = 0.1 (β = 0.99, default ε) for 5000 steps: the
    exact variance g²βᵗ(1 − βᵗ) is ≥ 0, so every step must be finite and raise no RuntimeWarning
    (the project turns RuntimeWarning into an error). Without the clamp at 0, rounding makes v − ḡ²
    slightly negative around t ≈ 3227 and sqrt gives NaN (as torch does)."""
    rule = RMSprop(lr=0.01, beta=0.99, centered=True)
    theta = np.array([1.0])
    state = rule.init(theta)
    with np.errstate(all="raise"):  # a NaN from sqrt of a negative number raises FloatingPointError
        for _ in range(5000):
            theta, state = rule.step(theta, np.array([0.1]), state)
    assert np.all(np.isfinite(theta))


def test_float32_hyperparameter_is_used_as_float64():
    """A hyperparameter given as np.float32 should act as the float64 number it equals (the checks
    return clean Python floats): Adam(beta1=np.float32(0.9)) must follow exactly the same trajectory
    as Adam(beta1=float(np.float32(0.9)))."""
    b1 = np.float32(0.9)
    a, b = Adam(lr=0.1, beta1=b1), Adam(lr=0.1, beta1=float(b1))
    x = y = np.array([1.0])
    sa, sb = a.init(x), b.init(y)
    for _ in range(5):
        x, sa = a.step(x, [0.3], sa)
        y, sb = b.step(y, [0.3], sb)
    np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------
# Purity, input conversion, shapes -- for every rule and option
# ---------------------------------------------------------------------------

RULES = {
    "sgd": SGD(lr=0.1),
    "sgd-momentum": SGD(lr=0.1, momentum=0.9),
    "sgd-dampening": SGD(lr=0.1, momentum=0.9, dampening=0.5),
    "sgd-nesterov": SGD(lr=0.1, momentum=0.9, nesterov=True),
    "sgd-l2": SGD(lr=0.1, weight_decay=0.2),
    "sgd-momentum-l2": SGD(lr=0.1, momentum=0.9, weight_decay=0.2),
    "ema-momentum": EMAMomentum(lr=0.1, beta=0.9),
    "adagrad": AdaGrad(lr=0.1),
    "adagrad-s0-l2": AdaGrad(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.2),
    "rmsprop": RMSprop(lr=0.01),
    "rmsprop-centered": RMSprop(lr=0.01, centered=True),
    "rmsprop-momentum-l2": RMSprop(lr=0.01, momentum=0.5, weight_decay=0.2),
    "rmsprop-all": RMSprop(lr=0.01, centered=True, momentum=0.5, weight_decay=0.2),
    "adam": Adam(lr=0.1),
    "adam-nobc": Adam(lr=0.1, bias_correction=False),
    "adam-amsgrad-l2": Adam(lr=0.1, amsgrad=True, weight_decay=0.2),
    "adamw": AdamW(lr=0.1),
    "adamw-amsgrad": AdamW(lr=0.1, amsgrad=True),
}


def state_arrays(state):
    return {k: v for k, v in vars(state).items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("name", list(RULES))
def test_step_does_not_modify_its_inputs(name):
    """step(θ, g, state) leaves θ, g and every array of state unchanged (compared with copies made
    before the call), and the returned θ and state arrays share no memory with θ, g or the old state."""
    rule = RULES[name]
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(2, 3))
    state = rule.init(theta)
    for _ in range(2):  # get a state with non-trivial arrays (momentum buffer, t > 0...)
        theta, state = rule.step(theta, rng.normal(size=(2, 3)), state)
    grad = rng.normal(size=(2, 3))
    theta_copy, grad_copy, state_copy = theta.copy(), grad.copy(), copy.deepcopy(state)

    new_theta, new_state = rule.step(theta, grad, state)

    np.testing.assert_array_equal(theta, theta_copy)
    np.testing.assert_array_equal(grad, grad_copy)
    assert vars(state).keys() == vars(state_copy).keys()
    for field, value in vars(state_copy).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(state, field), value, err_msg=field)
        else:
            assert getattr(state, field) == value, field
    inputs = [theta, grad, *state_arrays(state).values()]
    for out in [new_theta, *state_arrays(new_state).values()]:
        assert not any(np.shares_memory(out, x) for x in inputs)


@pytest.mark.parametrize("name", list(RULES))
def test_step_accepts_lists_and_ints_and_returns_float64(name):
    """θ, g given as Python lists of ints (and init given a list) are converted to float64: the
    result is a float64 array equal, bit for bit, to the result for the same float64 arrays."""
    rule = RULES[name]
    theta_list, grad_list = [1, -2, 3], [2, 0, -1]
    theta_arr, grad_arr = np.array([1.0, -2.0, 3.0]), np.array([2.0, 0.0, -1.0])

    out_list, state_list = rule.step(theta_list, grad_list, rule.init(theta_list))
    out_arr, state_arr = rule.step(theta_arr, grad_arr, rule.init(theta_arr))

    assert isinstance(out_list, np.ndarray) and out_list.dtype == np.float64
    np.testing.assert_array_equal(out_list, out_arr)
    for field, value in state_arrays(state_list).items():
        assert value.dtype == np.float64, field
        np.testing.assert_array_equal(value, getattr(state_arr, field))
    for field, value in state_arrays(rule.init(theta_list)).items():
        assert value.dtype == np.float64, field


@pytest.mark.parametrize("name", list(RULES))
def test_step_accepts_python_scalars(name):
    """θ = 1 (int) and g = 2 (int), a shape-() problem: one step gives a float64 value of shape ()
    equal to the result for the 1-element vector [1.0] with gradient [2.0]."""
    rule = RULES[name]
    out, _ = rule.step(1, 2, rule.init(1))
    ref, _ = rule.step(np.array([1.0]), np.array([2.0]), rule.init(np.array([1.0])))
    assert np.shape(out) == () and np.asarray(out).dtype == np.float64
    assert float(out) == ref[0]


@pytest.mark.parametrize(
    "name",
    list(RULES),
)
def test_scalar_parameters_for_several_steps(name):
    """Shape () parameters: 5 steps in a row (each step fed the previous state) give the same values
    as the same rule run on the 1-element vector, and keep shape () and dtype float64."""
    rule = RULES[name]
    x, y = np.float64(0.5), np.array([0.5])
    sx, sy = rule.init(x), rule.init(y)
    for k in range(5):
        g = 2.0 * x - 0.3 * k
        x, sx = rule.step(x, g, sx)
        y, sy = rule.step(y, 2.0 * y - 0.3 * k, sy)
        assert np.shape(x) == () and np.asarray(x).dtype == np.float64
        assert float(x) == y[0]


@pytest.mark.parametrize("shape", [(3,), (3, 4), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name", list(RULES))
def test_array_parameters_are_updated_elementwise(name, shape):
    """For vectors and 2-D/3-D arrays: 5 steps keep θ and every state array at θ's shape and in
    float64, and the result equals, bit for bit, the same run on the flattened vector (the rules act
    elementwise)."""
    rule = RULES[name]
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape)
    y = x.ravel().copy()
    grads = [rng.normal(size=shape) for _ in range(5)]
    sx, sy = rule.init(x), rule.init(y)
    for g in grads:
        x, sx = rule.step(x, g, sx)
        y, sy = rule.step(y, g.ravel(), sy)
        assert x.shape == shape and x.dtype == np.float64
        for field, value in state_arrays(sx).items():
            assert value.shape == shape and value.dtype == np.float64, field
            np.testing.assert_array_equal(value.ravel(), getattr(sy, field))
        np.testing.assert_array_equal(x.ravel(), y)


@pytest.mark.parametrize("name", list(RULES))
def test_zero_learning_rate_moves_nothing(name):
    """lr = 0 is allowed ('nothing moves'): θ stays exactly where it is (AdamW's decay factor is
    1 − 0·λ = 1 too), while the state still records the gradient."""
    rule = dataclasses.replace(RULES[name], lr=0.0)
    theta = np.array([1.0, -2.0, 0.5])
    out = theta
    state = rule.init(theta)
    for _ in range(3):
        out, state = rule.step(out, G, state)
    np.testing.assert_array_equal(out, theta)
