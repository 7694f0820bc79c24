"""Behaviour of Adam's variants (NAdam, RAdam, Adamax, AdaBelief, Lion), Lookahead and the memory helpers.

The same three kinds of tests as tests/test_optim_rules.py:

* closed-form FIRST steps, for every rule and option;
* steps from PRESET states (a state written by hand, a given gradient);
* PROPERTIES of the rules (equivalences, the step sizes the papers promise,
  purity, shapes).

Every expected value is computed here from the equation in the rule's
docstring, with the concrete numbers written in the test -- never from the
library's own output. The comparison against real reference trajectories
(torch.optim, adabelief-pytorch, lion-pytorch, torch-optimizer) lives in
tests/test_torch_reference.py.

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
    AdaBeliefState,
    AdaGrad,
    Adam,
    Adamax,
    AdamaxState,
    AdamState,
    AdamW,
    AMSGrad,
    EMAMomentum,
    Lion,
    LionState,
    Lookahead,
    LookaheadState,
    NAdam,
    NAdamState,
    RAdam,
    RAdamState,
    RMSprop,
    SGDState,
    state_arrays,
    state_bytes,
)

from optim_helpers import THETA0, G, assert_close, first_step, run


# ---------------------------------------------------------------------------
# Each variant says which line differs from Adam
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AMSGrad, NAdam, RAdam, Adamax, AdaBelief, Lion])
def test_docstring_shows_the_line_that_differs_from_adam(cls):
    doc = cls.__doc__
    assert "differs from Adam" in doc
    assert "← the line" in doc  # the marker in the equations block
    assert "One step" in doc and "State:" in doc


def test_a_variant_overrides_only_what_differs_from_adam():
    """AdaBelief changes the v line, NAdam m̂, RAdam the step; AMSGrad and AdamW change only defaults.
    Each of them keeps Adam's update, and every one-line piece it does not change."""
    pieces = ("second_moment", "m_hat", "adaptive_step")
    own = {AdaBelief: {"second_moment"}, NAdam: {"m_hat"}, RAdam: {"adaptive_step"}, AMSGrad: set(), AdamW: set()}
    for cls, changed in own.items():
        assert issubclass(cls, Adam)
        assert {piece for piece in pieces if getattr(cls, piece) is not getattr(Adam, piece)} == changed, cls
        assert cls.update is Adam.update or cls is NAdam, cls  # NAdam first multiplies Π_t, then calls it
        assert cls.init is Adam.init and cls.step is Adam.step
    assert issubclass(Adamax, Adam) and Adamax.step is Adam.step  # its state holds u in place of v


def test_lion_decay_is_always_decoupled():
    """Lion has no switch: θ ← θ (1 − ηλ), then the sign step, as lion-pytorch writes it."""
    assert Lion().decoupled_weight_decay and "decoupled_weight_decay" not in Lion.__dataclass_fields__
    theta, _ = first_step(Lion(lr=0.1, weight_decay=0.5))
    np.testing.assert_array_equal(theta, THETA0 * (1 - 0.1 * 0.5) - 0.1 * np.sign(G))


# ---------------------------------------------------------------------------
# NAdam  (η = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, ψ = 0.004)
# ---------------------------------------------------------------------------


def test_nadam_first_step():
    """t = 1: μ₁ = 0.9 (1 − ½ 0.96^0.004), μ₂ = 0.9 (1 − ½ 0.96^0.008), Π₁ = μ₁;
    m = 0.1 g, v̂ = g² so √v̂ = |g|; m̂ = μ₂ 0.1 g / (1 − μ₁ μ₂) + (1 − μ₁) g / (1 − μ₁)
    = g (1 + 0.1 μ₂ / (1 − μ₁ μ₂)); θ₁ = θ₀ − 0.1 m̂ / (|g| + 1e-8)."""
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96**0.008)
    theta, state = first_step(NAdam(lr=0.1))
    m_hat = G * (1 + 0.1 * mu2 / (1 - mu1 * mu2))
    assert_close(theta, THETA0 - 0.1 * m_hat / (np.abs(G) + 1e-8), rtol=1e-14)
    assert state.t == 1
    assert_close(state.m, 0.1 * G, rtol=1e-15)
    assert_close(state.v, 0.001 * G**2, rtol=1e-15)
    assert state.mu_product == pytest.approx(mu1, rel=1e-15)
    # μ₁ ≈ 0.45: with PyTorch's ψ the momentum starts at about β₁ / 2
    assert mu1 == pytest.approx(0.45, abs=1e-4)


def test_nadam_zero_momentum_decay_first_step():
    """ψ = 0: μ_t = 0.45 for every t, m̂ = g (1 + 0.1 · 0.45 / (1 − 0.45²))."""
    theta, state = first_step(NAdam(lr=0.1, momentum_decay=0.0))
    m_hat = G * (1 + 0.045 / (1 - 0.2025))
    assert_close(theta, THETA0 - 0.1 * m_hat / (np.abs(G) + 1e-8), rtol=1e-14)
    assert state.mu_product == pytest.approx(0.45, rel=1e-15)


def test_nadam_l2_weight_decay_first_step():
    """L2: g' = g + 0.1 θ₀ = [0.6, −4.2, 2.05] goes through m and v."""
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96**0.008)
    g = np.array([0.6, -4.2, 2.05])
    theta, state = first_step(NAdam(lr=0.1, weight_decay=0.1))
    m_hat = g * (1 + 0.1 * mu2 / (1 - mu1 * mu2))
    assert_close(theta, THETA0 - 0.1 * m_hat / (np.abs(g) + 1e-8), rtol=1e-14)
    assert_close(state.m, 0.1 * g, rtol=1e-15)


def test_nadam_decoupled_weight_decay_first_step():
    """Decoupled: θ₀ (1 − 0.1 · 0.1) = 0.99 θ₀, then the plain NAdam step with g."""
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96**0.008)
    theta, state = first_step(NAdam(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True))
    m_hat = G * (1 + 0.1 * mu2 / (1 - mu1 * mu2))
    assert_close(theta, 0.99 * THETA0 - 0.1 * m_hat / (np.abs(G) + 1e-8), rtol=1e-14)
    assert_close(state.m, 0.1 * G, rtol=1e-15)


def test_nadam_preset_state():
    """t = 3 → step 4 with ψ = 0.004: Π₄ = Π₃ μ₄, m̂ = μ₅ m / (1 − Π₄ μ₅) + (1 − μ₄) g / (1 − Π₄),
    v̂ = v / (1 − 0.999⁴)."""
    theta0 = np.array([1.0, -2.0, 0.5])
    m0, v0, g = np.array([0.2, -0.1, 0.0]), np.array([0.04, 0.01, 0.0]), np.array([0.5, -0.3, 2.0])
    mu4 = 0.9 * (1 - 0.5 * 0.96 ** (4 * 0.004))
    mu5 = 0.9 * (1 - 0.5 * 0.96 ** (5 * 0.004))
    product = 0.09 * mu4  # a preset Π₃ = 0.09
    m = 0.9 * m0 + 0.1 * g
    v = 0.999 * v0 + 0.001 * g**2
    m_hat = mu5 * m / (1 - product * mu5) + (1 - mu4) * g / (1 - product)
    expected = theta0 - 0.01 * m_hat / (np.sqrt(v / (1 - 0.999**4)) + 1e-8)
    theta, state = NAdam(lr=0.01).step(theta0, g, NAdamState(t=3, m=m0, v=v0, mu_product=0.09))
    assert_close(theta, expected, rtol=1e-14)
    assert state.t == 4 and state.mu_product == pytest.approx(product, rel=1e-15)
    assert_close(state.m, m, rtol=1e-15)
    assert_close(state.v, v, rtol=1e-15)


def test_nadam_momentum_schedule():
    """μ_t = β₁ (1 − ½ 0.96^(tψ)): β₁/2 at t = 0, rising to β₁; ψ = 1 (Keras 3) gets there in ~100 steps."""
    rule = NAdam()
    assert rule.momentum_at(0) == 0.45
    values = [rule.momentum_at(t) for t in [1, 10, 100, 1000, 10_000, 100_000]]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(0.9, abs=1e-6)
    assert NAdam(momentum_decay=1.0).momentum_at(100) == pytest.approx(0.9 * (1 - 0.5 * 0.96**100), rel=1e-15)
    assert NAdam(momentum_decay=0.0).momentum_at(10**6) == 0.45


def test_nadam_with_beta1_zero_is_adam_with_beta1_zero():
    """β₁ = 0 makes every μ_t = 0, so m̂ = g, as Adam's m̂ = g: the only line that differs is m̂."""
    rng = np.random.default_rng(0)
    grads = list(rng.normal(size=(20, 3)))
    nadam, _ = run(NAdam(lr=0.05, beta1=0.0), THETA0, grads)
    adam, _ = run(Adam(lr=0.05, beta1=0.0), THETA0, grads)
    np.testing.assert_allclose(nadam, adam, rtol=1e-14, atol=0)


def test_nadam_mu_product_is_the_product_of_the_momenta():
    rule = NAdam(momentum_decay=0.3)
    _, state = run(rule, THETA0, [G] * 7)
    assert state.mu_product == pytest.approx(math.prod(rule.momentum_at(t) for t in range(1, 8)), rel=1e-14)


# ---------------------------------------------------------------------------
# RAdam  (β₁ = 0.9, β₂ = 0.999, ε = 1e-8)
# ---------------------------------------------------------------------------


def test_radam_first_step_is_a_plain_sgd_step():
    """ρ₁ = 1 ≤ 5, so θ₁ = θ₀ − η m̂ with m̂ = 0.1 g / 0.1 = g: plain gradient descent (v is kept, unused)."""
    theta, state = first_step(RAdam(lr=0.1))
    assert_close(theta, THETA0 - 0.1 * G)
    assert state.t == 1
    assert_close(state.m, 0.1 * G, rtol=1e-15)
    assert_close(state.v, 0.001 * G**2, rtol=1e-15)


@pytest.mark.parametrize("beta2", [0.999, 0.99, 0.9, 0.5, 0.0])
def test_radam_rho_starts_at_one(beta2):
    """ρ₁ = 2/(1 − β₂) − 1 − 2β₂/(1 − β₂) = 1 for every β₂: the first step is never rectified."""
    assert RAdam(beta2=beta2).rho(1) == pytest.approx(1.0, rel=1e-12)
    assert RAdam(beta2=beta2).rectification(1) is None


def test_radam_first_five_steps_are_sgd_with_bias_corrected_momentum():
    """With β₂ = 0.999: ρ₁ … ρ₅ ≤ 5 (≈ 1, 2, 3, 4, 4.996), ρ₆ ≈ 5.994 > 5. Steps 1-5 are
    θ ← θ − η m / (1 − β₁ᵗ) with m the usual average (written out here), step 6 is not."""
    rule = RAdam(lr=0.01)
    assert [rule.rectification(t) for t in range(1, 6)] == [None] * 5
    assert rule.rho(5) == pytest.approx(4.996, abs=1e-3) and rule.rho(6) == pytest.approx(5.994, abs=1e-3)
    rng = np.random.default_rng(1)
    grads = list(rng.normal(size=(6, 3)))
    thetas, _ = run(rule, THETA0, grads)
    theta, m = THETA0.copy(), np.zeros(3)
    for t, g in enumerate(grads[:5], start=1):
        m = 0.9 * m + 0.1 * g
        theta = theta - 0.01 * m / (1 - 0.9**t)
        assert_close(thetas[t - 1], theta, rtol=1e-14)
    m = 0.9 * m + 0.1 * grads[5]
    assert np.max(np.abs(thetas[5] - (theta - 0.01 * m / (1 - 0.9**6)))) > 1e-4  # step 6 is adaptive


def test_radam_rectified_preset_state():
    """t = 9 → step 10 (ρ₁₀ > 5): r₁₀ written out from ρ_∞ = 1999 and ρ₁₀;
    θ ← θ − η m̂ r √(1 − β₂¹⁰) / (√v + ε)."""
    theta0 = np.array([1.0, -2.0, 0.5])
    m0, v0, g = np.array([0.2, -0.1, 0.0]), np.array([0.04, 0.01, 0.0]), np.array([0.5, -0.3, 2.0])
    rho_inf = 1999.0
    rho = rho_inf - 2 * 10 * 0.999**10 / (1 - 0.999**10)
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    m = 0.9 * m0 + 0.1 * g
    v = 0.999 * v0 + 0.001 * g**2
    expected = theta0 - 0.01 * (m / (1 - 0.9**10)) * r * math.sqrt(1 - 0.999**10) / (np.sqrt(v) + 1e-8)
    theta, state = RAdam(lr=0.01).step(theta0, g, RAdamState(t=9, m=m0, v=v0))
    assert rho > 5 and 0 < r < 1
    assert_close(theta, expected, rtol=1e-14)
    assert state.t == 10
    assert_close(state.m, m, rtol=1e-15)
    assert_close(state.v, v, rtol=1e-15)


def test_radam_rectified_step_is_adams_times_r_with_eps_before_the_correction():
    """Once rectified, RAdam's step is r_t times Adam's, if Adam's ε is ε / √(1 − β₂ᵗ) (PyTorch adds ε
    to √v before the bias correction)."""
    m0, v0, g = np.array([0.2, -0.1, 1e-4]), np.array([0.04, 0.01, 1e-12]), np.array([0.5, -0.3, 2e-6])
    t = 20
    rule = RAdam(lr=0.01, eps=1e-6)
    theta, _ = rule.step(THETA0, g, RAdamState(t=t - 1, m=m0, v=v0))
    adam = Adam(lr=0.01, eps=1e-6 / math.sqrt(1 - 0.999**t))
    theta_adam, _ = adam.step(THETA0, g, AdamState(t=t - 1, m=m0, v=v0))
    assert_close(theta - THETA0, rule.rectification(t) * (theta_adam - THETA0), rtol=1e-12)


def test_radam_rectification_rises_to_one():
    rule = RAdam()
    values = [rule.rectification(t) for t in [6, 10, 100, 1000, 10_000]]
    assert all(0 < a < b < 1 for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(1.0, abs=1e-3)
    assert rule.rectification(100_000) == pytest.approx(1.0, abs=1e-15)  # β₂ᵗ underflows: r = 1
    assert rule.rho(10**6) == pytest.approx(1999.0, rel=1e-9)


def test_radam_l2_and_decoupled_weight_decay_first_steps():
    """First step (plain): L2 θ₁ = θ₀ − η (g + λθ₀); decoupled θ₁ = θ₀ (1 − ηλ) − η g."""
    l2, _ = first_step(RAdam(lr=0.1, weight_decay=0.1))
    assert_close(l2, THETA0 - 0.1 * (G + 0.1 * THETA0), rtol=1e-15)
    decoupled, _ = first_step(RAdam(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True))
    assert_close(decoupled, 0.99 * THETA0 - 0.1 * G, rtol=1e-15)


def test_radam_never_rectifies_when_beta2_is_small():
    """β₂ = 0.5: ρ_∞ = 3 < 5, so every step is the momentum step."""
    rule = RAdam(lr=0.01, beta2=0.5)
    assert all(rule.rectification(t) is None for t in range(1, 200))


# ---------------------------------------------------------------------------
# Adamax  (β₁ = 0.9, β₂ = 0.999, ε = 1e-8)
# ---------------------------------------------------------------------------


def test_adamax_first_step():
    """m = 0.1 g, u = |g| + ε, θ₁ = θ₀ − η/(1 − 0.9) · 0.1 g / (|g| + ε) = θ₀ − η g / (|g| + ε)."""
    theta, state = first_step(Adamax(lr=0.1))
    assert_close(theta, THETA0 - 0.1 * G / (np.abs(G) + 1e-8), rtol=1e-15)
    assert state.t == 1
    assert_close(state.m, 0.1 * G, rtol=1e-15)
    assert_close(state.u, np.abs(G) + 1e-8, rtol=1e-15)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_adamax_first_step_has_size_lr(scale):
    """Whatever the size of g, each coordinate moves by η |g| / (|g| + ε) ≈ η on the first step."""
    theta, _ = first_step(Adamax(lr=0.02), grad=scale * G)
    np.testing.assert_allclose(np.abs(theta - THETA0), 0.02, rtol=1e-4)
    np.testing.assert_allclose(np.sign(THETA0 - theta), np.sign(G))


def test_adamax_weight_decay_first_step():
    g = G + 0.1 * THETA0
    theta, _ = first_step(Adamax(lr=0.1, weight_decay=0.1))
    assert_close(theta, THETA0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-15)


def test_adamax_preset_state():
    """t = 4 → 5: u = max(0.999 u, |g| + ε) keeps the old maximum where it is larger (coordinates 0, 1)
    and takes |g| + ε where g is larger (coordinate 2)."""
    theta0 = np.array([1.0, -2.0, 0.5])
    m0, u0, g = np.array([0.2, -0.1, 0.0]), np.array([3.0, 1.0, 0.5]), np.array([0.5, -0.3, 2.0])
    m = 0.9 * m0 + 0.1 * g
    u = np.array([0.999 * 3.0, 0.999 * 1.0, 2.0 + 1e-8])
    expected = theta0 - 0.01 / (1 - 0.9**5) * m / u
    theta, state = Adamax(lr=0.01).step(theta0, g, AdamaxState(t=4, m=m0, u=u0))
    assert_close(state.u, u, rtol=1e-15)
    assert_close(theta, expected, rtol=1e-15)
    assert state.t == 5


def test_adamax_u_bounds_every_recent_gradient():
    """u_t ≥ |g_t| + ε, and u never falls faster than by a factor β₂ per step."""
    rng = np.random.default_rng(2)
    rule = Adamax(beta2=0.9)
    theta, state = THETA0, rule.init(THETA0)
    for _ in range(50):
        g = rng.normal(size=3) * rng.choice([0.01, 1, 100])
        u_before = state.u
        theta, state = rule.step(theta, g, state)
        assert np.all(state.u >= np.abs(g) + 1e-8)
        assert np.all(state.u >= 0.9 * u_before)


# ---------------------------------------------------------------------------
# AdaBelief  (β₁ = 0.9, β₂ = 0.999, ε = 1e-16 unless said otherwise)
# ---------------------------------------------------------------------------


def test_adabelief_first_step():
    """m = 0.1 g, s = 0.001 (g − 0.1 g)² + ε = 0.00081 g² + ε; m̂ = g, ŝ = 0.81 g² + 1000 ε;
    θ₁ = θ₀ − η g / (√ŝ + ε) ≈ θ₀ − (η / 0.9) sign(g)."""
    eps = 1e-8
    theta, state = first_step(AdaBelief(lr=0.1, eps=eps))
    s = 0.001 * (0.9 * G) ** 2 + eps
    assert_close(state.v, s, rtol=1e-15)
    assert_close(state.m, 0.1 * G, rtol=1e-15)
    assert_close(theta, THETA0 - 0.1 * G / (np.sqrt(s / 0.001) + eps), rtol=1e-14)
    assert state.t == 1 and state.v_max is None


def test_adabelief_first_step_is_lr_over_beta1():
    """On the first step g − m = β₁ g, so each coordinate moves by η |g| / (β₁ |g|) = η / β₁ (Adam: η)."""
    theta, _ = first_step(AdaBelief(lr=0.1))
    np.testing.assert_allclose(np.abs(theta - THETA0), 0.1 / 0.9, rtol=1e-12)
    adam, _ = first_step(Adam(lr=0.1))
    np.testing.assert_allclose(np.abs(adam - THETA0), 0.1, rtol=1e-7)


def test_adabelief_eps_is_added_to_s_even_where_the_gradient_is_zero():
    """g = 0: m = 0, s = ε (not 0), θ does not move and nothing is divided by zero."""
    theta, state = first_step(AdaBelief(eps=1e-16), grad=np.zeros(3))
    np.testing.assert_array_equal(theta, THETA0)
    assert_close(state.v, np.full(3, 1e-16), rtol=1e-15)


def test_adabelief_preset_state_and_weight_decays():
    """t = 4 → 5 from a preset state, plain, L2 and decoupled (η = 0.01, λ = 0.1, ε = 1e-8)."""
    theta0 = np.array([1.0, -2.0, 0.5])
    m0, s0, g = np.array([0.2, -0.1, 0.0]), np.array([0.04, 0.01, 1e-8]), np.array([0.5, -0.3, 2.0])
    state = AdaBeliefState(t=4, m=m0, v=s0)

    def expected(theta, g):
        m = 0.9 * m0 + 0.1 * g
        s = 0.999 * s0 + 0.001 * (g - m) ** 2 + 1e-8
        return theta - 0.01 * (m / (1 - 0.9**5)) / (np.sqrt(s / (1 - 0.999**5)) + 1e-8), m, s

    theta, new_state = AdaBelief(lr=0.01, eps=1e-8).step(theta0, g, state)
    want, m, s = expected(theta0, g)
    assert_close(theta, want, rtol=1e-14)
    assert_close(new_state.m, m, rtol=1e-15)
    assert_close(new_state.v, s, rtol=1e-15)
    l2, _ = AdaBelief(lr=0.01, eps=1e-8, weight_decay=0.1, decoupled_weight_decay=False).step(theta0, g, state)
    assert_close(l2, expected(theta0, g + 0.1 * theta0)[0], rtol=1e-14)
    decoupled, _ = AdaBelief(lr=0.01, eps=1e-8, weight_decay=0.1).step(theta0, g, state)
    assert_close(decoupled, expected(0.999 * theta0, g)[0], rtol=1e-14)


def test_adabelief_amsgrad_preset_state():
    """v_max ← max(v_max, v) and v_max replaces v in the step; v itself is stored unchanged (the paper: s, s_max)."""
    m0, s0, smax0, g = np.zeros(3), np.array([0.04, 0.01, 0.0]), np.array([0.09, 0.0, 0.0]), np.array([0.5, -0.3, 2.0])
    m = 0.1 * g
    s = 0.999 * s0 + 0.001 * (g - m) ** 2 + 1e-8
    s_max = np.maximum(smax0, s)
    theta, state = AdaBelief(lr=0.01, eps=1e-8, amsgrad=True).step(
        THETA0, g, AdaBeliefState(t=0, m=m0, v=s0, v_max=smax0))
    assert_close(state.v, s, rtol=1e-15)
    assert_close(state.v_max, s_max, rtol=1e-15)
    assert s_max[0] == 0.09 and s_max[1] == s[1]
    assert_close(theta, THETA0 - 0.01 * (m / 0.1) / (np.sqrt(s_max / 0.001) + 1e-8), rtol=1e-14)


def test_adabelief_takes_growing_steps_when_the_gradient_is_constant():
    """A gradient that keeps its value agrees with its average: g − m → 0, s → small, the step grows
    (past 3 η within 60 steps), while Adam's stays at η."""
    rule = AdaBelief(lr=0.01)
    thetas, _ = run(rule, np.zeros(1), [np.ones(1)] * 60)
    steps = -np.diff(np.concatenate([[0.0], thetas[:, 0]]))
    assert np.all(np.diff(steps) > 0)
    assert steps[-1] > 3 * 0.01
    adam_thetas, _ = run(Adam(lr=0.01), np.zeros(1), [np.ones(1)] * 60)
    np.testing.assert_allclose(-np.diff(np.concatenate([[0.0], adam_thetas[:, 0]])), 0.01, rtol=1e-6)


def test_adabelief_v_max_never_falls():
    rng = np.random.default_rng(5)
    rule = AdaBelief(beta2=0.9, amsgrad=True)
    theta, state = THETA0, rule.init(THETA0)
    for _ in range(40):
        previous = state.v_max
        theta, state = rule.step(theta, rng.normal(size=3) * rng.choice([0.1, 10]), state)
        assert np.all(state.v_max >= previous) and np.all(state.v_max >= state.v)


# ---------------------------------------------------------------------------
# Lion  (β₁ = 0.9, β₂ = 0.99)
# ---------------------------------------------------------------------------


def test_lion_first_step():
    """m = 0: c = 0.1 g, θ₁ = θ₀ − η sign(g); m₁ = 0.01 g."""
    theta, state = first_step(Lion(lr=0.25))
    np.testing.assert_array_equal(theta, [0.75, -1.75, 0.25])
    assert_close(state.m, 0.01 * G, rtol=1e-15)


def test_lion_first_step_with_weight_decay():
    """θ₁ = θ₀ − η (sign(g) + λ θ₀) with η = 0.1, λ = 0.5."""
    theta, _ = first_step(Lion(lr=0.1, weight_decay=0.5))
    assert_close(theta, THETA0 - 0.1 * (np.sign(G) + 0.5 * THETA0), rtol=1e-15)


def test_lion_preset_state_sign_of_c_not_of_g():
    """m = [1, −1, 0.05], g = [−0.5, 2, −1]: c = 0.9 m + 0.1 g = [0.85, −0.7, −0.055], so coordinates
    0 and 1 move against the sign of g; m ← 0.99 m + 0.01 g."""
    m0, g = np.array([1.0, -1.0, 0.05]), np.array([-0.5, 2.0, -1.0])
    theta, state = Lion(lr=0.25).step(THETA0, g, LionState(m=m0))
    np.testing.assert_array_equal(theta, THETA0 - 0.25 * np.array([1.0, -1.0, -1.0]))
    assert_close(state.m, 0.99 * m0 + 0.01 * g, rtol=1e-15)


def test_lion_sign_of_zero_is_zero():
    """Where c = 0 (m = 0 and g = 0) the coordinate does not move."""
    theta, _ = first_step(Lion(lr=0.1), grad=np.array([0.0, -1.0, 0.0]))
    np.testing.assert_array_equal(theta, [1.0, -1.9, 0.5])


def test_lion_moves_every_coordinate_by_exactly_lr():
    """Without decay every step is ±η in every coordinate (θ kept at dyadic values so the
    subtraction is exact), whatever the size of the gradients."""
    rng = np.random.default_rng(6)
    grads = list(rng.normal(size=(30, 4)) * rng.choice([1e-6, 1.0, 1e6], size=(30, 4)))
    thetas, _ = run(Lion(lr=0.125), np.zeros(4), grads)
    steps = np.diff(np.concatenate([np.zeros((1, 4)), thetas]), axis=0)
    np.testing.assert_array_equal(np.abs(steps), 0.125)


def test_lion_keeps_half_of_adams_memory():
    theta = np.zeros(10)
    assert state_bytes(Lion(), theta) == {"m": 80}
    assert sum(state_bytes(Adam(), theta).values()) == 2 * sum(state_bytes(Lion(), theta).values())


# ---------------------------------------------------------------------------
# Lookahead
# ---------------------------------------------------------------------------


def test_lookahead_with_sgd_on_a_quadratic_closed_form():
    """f(θ) = ½ a θ², inner SGD(η): each fast step multiplies θ by q = 1 − η a. With k = 5, α = 0.5:
    θ₁…θ₄ = q, q², q³, q⁴ (times θ₀); step 5 syncs: slow = θ₀ + 0.5 (q⁵ θ₀ − θ₀), θ₅ = slow;
    steps 6-10 start again from there."""
    a, lr = np.array([1.0, 4.0]), 0.1
    q = 1 - lr * a
    rule = Lookahead(SGD(lr=lr), k=5, alpha=0.5)
    theta0 = np.array([2.0, -1.0])
    theta, state = theta0, rule.init(theta0)
    thetas = []
    for _ in range(10):
        theta, state = rule.step(theta, a * theta, state)
        thetas.append(theta)
    slow5 = theta0 + 0.5 * (q**5 * theta0 - theta0)
    for t in range(1, 5):
        assert_close(thetas[t - 1], q**t * theta0, rtol=1e-14)
    assert_close(thetas[4], slow5, rtol=1e-14)
    assert_close(thetas[8], q**4 * slow5, rtol=1e-14)
    assert_close(thetas[9], slow5 + 0.5 * (q**5 * slow5 - slow5), rtol=1e-14)
    assert_close(state.slow, thetas[9], rtol=0)
    assert state.t == 10


def test_lookahead_state_starts_at_theta0_and_slow_moves_only_at_syncs():
    rule = Lookahead(Adam(lr=0.1), k=3, alpha=0.5)
    state = rule.init(THETA0)
    assert isinstance(state, LookaheadState) and state.t == 0
    np.testing.assert_array_equal(state.slow, THETA0)
    assert not np.shares_memory(state.slow, THETA0)
    assert isinstance(state.inner, AdamState) and state.inner.t == 0
    theta = THETA0
    rng = np.random.default_rng(7)
    for t in range(1, 10):
        slow_before = state.slow
        theta, state = rule.step(theta, rng.normal(size=3), state)
        if t % 3:
            np.testing.assert_array_equal(state.slow, slow_before)
        else:
            np.testing.assert_array_equal(theta, state.slow)
            assert not np.array_equal(state.slow, slow_before)


def test_lookahead_keeps_the_inner_state_through_a_sync():
    """The inner rule's state after a sync is what the inner rule alone would have: Adam's t and
    moments, SGD's momentum buffer -- as in the paper, torch-optimizer and optax's default."""
    rng = np.random.default_rng(8)
    grads = list(rng.normal(size=(5, 3)))
    for inner in [Adam(lr=0.1), SGD(lr=0.1, momentum=0.9)]:
        rule = Lookahead(inner, k=5)
        _, state = run(rule, THETA0, grads)
        _, alone = run(inner, THETA0, grads)
        for field, value in vars(alone).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(state.inner, field), value)
            else:
                assert getattr(state.inner, field) == value


def test_lookahead_reset_inner_state_starts_the_inner_rule_afresh_at_each_sync():
    rng = np.random.default_rng(9)
    grads = list(rng.normal(size=(7, 3)))
    rule = Lookahead(Adam(lr=0.1), k=5, reset_inner_state=True)
    theta, state = THETA0, rule.init(THETA0)
    for t, g in enumerate(grads, start=1):
        theta, state = rule.step(theta, g, state)
        assert state.inner.t == t % 5
    assert state.inner.t == 2
    sgd = Lookahead(SGD(lr=0.1, momentum=0.9), k=5, reset_inner_state=True)
    _, sgd_state = run(sgd, THETA0, grads[:5])
    assert sgd_state.inner == SGDState(b=None)


def test_lookahead_with_alpha_one_is_the_inner_rule():
    """α = 1: slow ← θ at every sync, so the fast weights never jump back (up to rounding in
    slow + 1·(θ − slow))."""
    rng = np.random.default_rng(10)
    grads = list(rng.normal(size=(23, 3)))
    for inner in [Adam(lr=0.1), SGD(lr=0.1, momentum=0.9), Lion(lr=0.01), RAdam(lr=0.05)]:
        wrapped, _ = run(Lookahead(inner, k=4, alpha=1.0), THETA0, grads)
        alone, _ = run(inner, THETA0, grads)
        np.testing.assert_allclose(wrapped, alone, rtol=1e-13, atol=1e-15)


def test_lookahead_with_alpha_zero_never_leaves_theta0_at_syncs():
    rng = np.random.default_rng(11)
    thetas, _ = run(Lookahead(Adam(lr=0.1), k=2, alpha=0.0), THETA0, list(rng.normal(size=(6, 3))))
    for t in (2, 4, 6):
        np.testing.assert_array_equal(thetas[t - 1], THETA0)


def test_lookahead_with_k_one_and_sgd_is_sgd_with_lr_times_alpha():
    """k = 1: every step syncs, θ ← θ + α (θ − η g − θ) = θ − α η g."""
    rng = np.random.default_rng(12)
    grads = list(rng.normal(size=(10, 3)))
    wrapped, _ = run(Lookahead(SGD(lr=0.2), k=1, alpha=0.25), THETA0, grads)
    plain, _ = run(SGD(lr=0.05), THETA0, grads)
    np.testing.assert_allclose(wrapped, plain, rtol=1e-13, atol=1e-15)


def test_lookahead_can_wrap_lookahead():
    rule = Lookahead(Lookahead(SGD(lr=0.1), k=2), k=3)
    thetas, state = run(rule, THETA0, [G] * 6)
    assert state.t == 6 and state.inner.t == 6 and np.all(np.isfinite(thetas))


# ---------------------------------------------------------------------------
# Memory: the arrays each rule keeps per parameter
# ---------------------------------------------------------------------------

# rule -> the names of the parameter-sized arrays it keeps
KEPT_ARRAYS = [
    (SGD(lr=0.1), []),
    (SGD(lr=0.1, momentum=0.9), ["b"]),
    (EMAMomentum(), ["v"]),
    (AdaGrad(), ["s"]),
    (RMSprop(), ["v"]),
    (RMSprop(centered=True, momentum=0.9), ["v", "g_avg", "b"]),
    (Adam(), ["m", "v"]),
    (Adam(amsgrad=True), ["m", "v", "v_max"]),
    (AdamW(), ["m", "v"]),
    (AdamW(amsgrad=True), ["m", "v", "v_max"]),
    (NAdam(), ["m", "v"]),
    (RAdam(), ["m", "v"]),
    (Adamax(), ["m", "u"]),
    (AdaBelief(), ["m", "v"]),
    (AdaBelief(amsgrad=True), ["m", "v", "v_max"]),
    (Lion(), ["m"]),
    (Lookahead(Adam()), ["slow", "inner.m", "inner.v"]),
    (Lookahead(SGD(lr=0.1)), ["slow"]),
    (Lookahead(Lookahead(Lion())), ["slow", "inner.slow", "inner.inner.m"]),
]


@pytest.mark.parametrize("rule, names", KEPT_ARRAYS, ids=[rule.name + str(len(n)) for rule, n in KEPT_ARRAYS])
def test_state_bytes_counts_one_parameter_sized_array_per_field(rule, names):
    theta = np.zeros((4, 5))
    assert state_bytes(rule, theta) == {name: theta.nbytes for name in names}
    arrays = state_arrays(rule, theta)
    assert list(arrays) == names
    assert all(a.shape == (4, 5) and a.dtype == np.float64 for a in arrays.values())


def test_state_bytes_summary_for_the_memory_table():
    """The multiples of θ's size that lesson 09's table shows."""
    theta = np.zeros(1000)

    def copies(rule):
        return sum(state_bytes(rule, theta).values()) / theta.nbytes

    assert [copies(r) for r in [SGD(), SGD(momentum=0.9), Adam(), Adam(amsgrad=True), AdamW()]] == [0, 1, 2, 3, 2]
    assert [copies(r) for r in [Lion(), NAdam(), RAdam(), Adamax(), AdaBelief(), Lookahead(Adam())]] == [
        1, 2, 2, 2, 2, 3]


def test_state_bytes_leaves_numbers_out_and_works_for_scalars():
    """t and NAdam's μ-product are one number per rule, not per parameter; θ of shape () keeps 8-byte arrays;
    θ given as float32 is held in float64 like everything in the course."""
    assert state_bytes(NAdam(), np.zeros(3)) == {"m": 24, "v": 24}
    assert state_bytes(Adam(), 1.0) == {"m": 8, "v": 8}
    assert state_bytes(Adam(), np.zeros(10, dtype=np.float32)) == {"m": 80, "v": 80}


def test_state_bytes_does_not_touch_theta():
    theta = np.array([1.0, -2.0, 3.0])
    state_bytes(Lookahead(SGD(lr=0.5, momentum=0.9), k=1), theta)
    np.testing.assert_array_equal(theta, [1.0, -2.0, 3.0])


# ---------------------------------------------------------------------------
# Purity, input conversion, shapes -- for every new rule and option
# ---------------------------------------------------------------------------

RULES = {
    "nadam": NAdam(lr=0.1),
    "nadam-psi0-l2": NAdam(lr=0.1, momentum_decay=0.0, weight_decay=0.2),
    "nadam-decoupled": NAdam(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
    "radam": RAdam(lr=0.1),
    "radam-beta2-0.9-l2": RAdam(lr=0.1, beta2=0.9, weight_decay=0.2),
    "radam-decoupled": RAdam(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True),
    "adamax": Adamax(lr=0.1),
    "adamax-l2": Adamax(lr=0.1, weight_decay=0.2),
    "adabelief": AdaBelief(lr=0.1),
    "adabelief-amsgrad-l2": AdaBelief(lr=0.1, amsgrad=True, weight_decay=0.2, decoupled_weight_decay=False),
    "adabelief-decoupled": AdaBelief(lr=0.1, eps=1e-8, weight_decay=0.2),
    "lion": Lion(lr=0.1),
    "lion-decay": Lion(lr=0.1, weight_decay=0.5),
    "lookahead-adam": Lookahead(Adam(lr=0.1), k=2),
    "lookahead-sgd-momentum-reset": Lookahead(SGD(lr=0.1, momentum=0.9), k=2, alpha=0.3, reset_inner_state=True),
}


def all_arrays(state, prefix=""):
    """Every array of a state, a Lookahead's inner state included."""
    found = {}
    for field, value in vars(state).items():
        if isinstance(value, (np.ndarray, np.floating)):
            found[prefix + field] = value
        elif hasattr(value, "__dataclass_fields__"):
            found.update(all_arrays(value, prefix + field + "."))
    return found


def numbers(state):
    """Every non-array field of a state (t, μ-product, None fields), a Lookahead's inner state included."""
    found = {}
    for field, value in vars(state).items():
        if hasattr(value, "__dataclass_fields__"):
            found.update({f"{field}.{k}": v for k, v in numbers(value).items()})
        elif not isinstance(value, (np.ndarray, np.floating)):
            found[field] = value
    return found


@pytest.mark.parametrize("name", list(RULES))
def test_step_does_not_modify_its_inputs(name):
    """step(θ, g, state) leaves θ, g and every array of state unchanged, and the returned θ and state
    arrays share no memory with θ, g or the old state."""
    rule = RULES[name]
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(2, 3))
    state = rule.init(theta)
    for _ in range(3):  # past a sync for the Lookaheads
        theta, state = rule.step(theta, rng.normal(size=(2, 3)), state)
    grad = rng.normal(size=(2, 3))
    theta_copy, grad_copy, state_copy = theta.copy(), grad.copy(), copy.deepcopy(state)

    for _ in range(2):  # one of the two is a sync for the Lookaheads (k = 2)
        new_theta, new_state = rule.step(theta, grad, state)
        np.testing.assert_array_equal(theta, theta_copy)
        np.testing.assert_array_equal(grad, grad_copy)
        for field, value in all_arrays(state_copy).items():
            np.testing.assert_array_equal(all_arrays(state)[field], value, err_msg=field)
        assert numbers(state) == numbers(state_copy)
        inputs = [theta, grad, *all_arrays(state).values()]
        for out in [new_theta, *all_arrays(new_state).values()]:
            assert not any(np.shares_memory(out, x) for x in inputs)
        theta, state = new_theta, new_state
        theta_copy, state_copy = theta.copy(), copy.deepcopy(state)


@pytest.mark.parametrize("name", list(RULES))
def test_step_accepts_lists_and_ints_and_returns_float64(name):
    rule = RULES[name]
    out_list, state_list = rule.step([1, -2, 3], [2, 0, -1], rule.init([1, -2, 3]))
    out_arr, state_arr = rule.step(np.array([1.0, -2.0, 3.0]), np.array([2.0, 0.0, -1.0]),
                                   rule.init(np.array([1.0, -2.0, 3.0])))
    assert isinstance(out_list, np.ndarray) and out_list.dtype == np.float64
    np.testing.assert_array_equal(out_list, out_arr)
    for field, value in all_arrays(state_list).items():
        assert value.dtype == np.float64, field
        np.testing.assert_array_equal(value, all_arrays(state_arr)[field])


@pytest.mark.parametrize("name", list(RULES))
def test_scalar_parameters_for_several_steps(name):
    """Shape () parameters: 6 steps give the same values as the 1-element vector, and keep shape ()."""
    rule = RULES[name]
    x, y = np.float64(0.5), np.array([0.5])
    sx, sy = rule.init(x), rule.init(y)
    for k in range(6):
        x, sx = rule.step(x, 2.0 * x - 0.3 * k, sx)
        y, sy = rule.step(y, 2.0 * y - 0.3 * k, sy)
        assert np.shape(x) == () and np.asarray(x).dtype == np.float64
        assert float(x) == y[0]


@pytest.mark.parametrize("shape", [(3,), (3, 4), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("name", list(RULES))
def test_array_parameters_are_updated_elementwise(name, shape):
    """5 steps keep θ and every state array at θ's shape and in float64, and equal, bit for bit, the same
    run on the flattened vector."""
    rule = RULES[name]
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape)
    y = x.ravel().copy()
    sx, sy = rule.init(x), rule.init(y)
    for _ in range(5):
        g = rng.normal(size=shape)
        x, sx = rule.step(x, g, sx)
        y, sy = rule.step(y, g.ravel(), sy)
        assert x.shape == shape and x.dtype == np.float64
        for field, value in all_arrays(sx).items():
            assert value.shape == shape and value.dtype == np.float64, field
            np.testing.assert_array_equal(value.ravel(), all_arrays(sy)[field])
        np.testing.assert_array_equal(x.ravel(), y)


@pytest.mark.parametrize("name", [name for name in RULES if not name.startswith("lookahead")])
def test_zero_learning_rate_moves_nothing(name):
    """lr = 0 is allowed: θ stays exactly where it is (decoupled decay factors are 1 − 0·λ = 1)."""
    rule = dataclasses.replace(RULES[name], lr=0.0)
    out, state = THETA0, rule.init(THETA0)
    for _ in range(3):
        out, state = rule.step(out, G, state)
    np.testing.assert_array_equal(out, THETA0)


def test_lookahead_of_a_rule_with_zero_learning_rate_moves_nothing():
    rule = Lookahead(Adam(lr=0.0), k=2)
    thetas, _ = run(rule, THETA0, [G] * 5)
    np.testing.assert_array_equal(thetas, np.tile(THETA0, (5, 1)))


@pytest.mark.parametrize("name", list(RULES))
def test_long_runs_stay_finite_without_warnings(name):
    """300 steps on a random walk of gradients, including runs of exact zeros: finite, no RuntimeWarning
    (pytest turns those into errors here)."""
    rule = RULES[name]
    rng = np.random.default_rng(13)
    theta, state = np.zeros(4), rule.init(np.zeros(4))
    for t in range(300):
        g = np.zeros(4) if 100 <= t < 150 else rng.normal(size=4) * np.array([1e-7, 1.0, 10.0, 0.0])
        theta, state = rule.step(theta, g, state)
    assert np.all(np.isfinite(theta))


def test_hyperparameters_are_stored_as_python_floats():
    """A float32 or integer hyperparameter cannot change the arithmetic."""
    rule = NAdam(lr=np.float32(0.1), beta1=np.float32(0.9), momentum_decay=1)
    assert type(rule.lr) is float and rule.lr == float(np.float32(0.1))
    assert type(rule.momentum_decay) is float
    assert type(Lookahead(Adam(), alpha=1).alpha) is float
    assert type(Lookahead(Adam(), k=np.int64(3)).k) is int
