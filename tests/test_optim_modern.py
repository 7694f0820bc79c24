"""Lesson 11's rules: Muon (and the split with AdamW), Adafactor, Schedule-Free AdamW, ADOPT, Cautious.

As in tests/test_optim_variants.py: closed-form FIRST steps, computed here from the
docstrings' equations with the numbers written in the test, and PROPERTIES of the rules.
The comparison with the reference trajectories lives in tests/test_modern_reference.py;
bad input in tests/test_optim_bad_input.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lessons_lib.mlp import MLP
from lessons_lib.optim import (
    ADOPT,
    SGD,
    Adafactor,
    Adam,
    AdamW,
    AdamWScheduleFree,
    Cautious,
    Lion,
    Muon,
    MuonWithAdamW,
    PerMatrix,
    newton_schulz,
    state_bytes,
    weight_matrices,
)
from lessons_lib.schedules import Cosine
from lessons_lib.training import train

from optim_helpers import THETA0, G, assert_close, first_step, run

W0 = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])  # a wide 2 × 3 matrix
GW = np.array([[0.5, -4.0, 2.0], [1.0, 0.0, -3.0]])


def gradients(shape, n, seed=0):
    return list(np.random.default_rng(seed).normal(size=(n, *shape)))


# ---------------------------------------------------------------------------
# Newton–Schulz and Muon
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 8), (6, 10), (10, 6), (1, 5)])
def test_newton_schulz_pushes_singular_values_into_a_band_around_one(shape):
    """After 5 quintic steps every singular value is in (0.6, 1.3), but they are not all 1."""
    G_ = np.random.default_rng(1).normal(size=shape)
    sigma = np.linalg.svd(newton_schulz(G_), compute_uv=False)
    assert np.all((sigma > 0.6) & (sigma < 1.3)), sigma
    if min(shape) > 1:
        assert np.max(np.abs(sigma - 1)) > 1e-3  # a band, not the orthogonal factor


def test_newton_schulz_keeps_the_singular_vectors_and_the_cubic_converges_to_u_vt():
    G_ = np.random.default_rng(2).normal(size=(5, 3))
    U, _, Vt = np.linalg.svd(G_, full_matrices=False)
    assert_close(newton_schulz(G_, steps=60, coefficients=(1.5, -0.5, 0.0)), U @ Vt, rtol=1e-9)
    O = newton_schulz(G_)
    assert np.allclose(U.T @ O @ Vt.T, np.diag(np.diag(U.T @ O @ Vt.T)), atol=1e-12)  # U S' Vᵀ, S' diagonal


def test_newton_schulz_step_by_step():
    """One step is X ← a X + (b A + c A²) X with A = X Xᵀ, from X = G / ‖G‖; a tall G is done on Gᵀ."""
    X = GW / np.linalg.norm(GW)
    A = X @ X.T
    assert_close(newton_schulz(GW, steps=1), 3.4445 * X + (-4.775 * A + 2.0315 * A @ A) @ X, rtol=1e-14)
    assert_close(newton_schulz(GW, steps=0), X)
    np.testing.assert_array_equal(newton_schulz(GW.T), newton_schulz(GW).T)
    small = np.full((2, 2), 1e-9)
    assert_close(newton_schulz(small, steps=0, eps=1e-3), small / 1e-3)  # ε is a floor, not added


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("adjust, scale", [("original", 1.0), ("match_rms_adamw", 0.2 * math.sqrt(3))])
def test_muon_first_step(nesterov, adjust, scale):
    """B = (1 − μ) g, so U ∝ g and θ₁ = θ₀ (1 − η λ) − η s NS(g) (s: 1 for a wide matrix)."""
    rule = Muon(lr=0.02, weight_decay=0.1, nesterov=nesterov, adjust_lr_fn=adjust)
    theta, state = first_step(rule, W0, GW)
    assert_close(theta, W0 * (1 - 0.02 * 0.1) - 0.02 * scale * newton_schulz(GW), rtol=1e-12)
    assert_close(state.B, 0.05 * GW)


def test_muon_scales_tall_matrices_by_the_root_of_their_aspect_ratio():
    tall = W0.T  # 3 × 2
    theta, _ = first_step(Muon(lr=0.02, weight_decay=0.0), tall, GW.T)
    assert_close(theta, tall - 0.02 * math.sqrt(3 / 2) * newton_schulz(GW.T), rtol=1e-12)


@pytest.mark.parametrize("theta", [THETA0, np.zeros(4), 1.0, np.zeros((2, 2, 2))], ids=["vector", "zeros", "scalar", "3-D"])
def test_muon_refuses_what_is_not_a_matrix_and_points_to_the_split(theta):
    with pytest.raises(ValueError, match=r"Muon takes weight matrices.*AdamW for biases.*MuonWithAdamW"):
        Muon().init(theta)
    with pytest.raises(ValueError, match="Muon takes weight matrices"):
        Muon().step(theta, theta, Muon().init(W0))


# ---------------------------------------------------------------------------
# The split on the course's network
# ---------------------------------------------------------------------------

MODEL = MLP(sizes=(6, 4, 3))  # W₁ 6 × 4 (wide as torch holds it: 4 × 6), W₂ 4 × 3 (torch: 3 × 4, wide)
TALL_MODEL = MLP(sizes=(3, 5, 2))  # W₁ 3 × 5: torch holds 5 × 3, tall


@pytest.mark.parametrize("model", [MODEL, TALL_MODEL], ids=["wide", "tall"])
def test_the_split_is_muon_on_each_w_transposed_and_adamw_on_each_b(model):
    """What torch would do to an nn.Linear's (out, in) weight Wᵀ and bias b, layer by layer."""
    muon, adamw = Muon(lr=0.02, weight_decay=0.1), AdamW(lr=3e-3)
    rule = MuonWithAdamW(weight_matrices(model.layer_slices()), muon, adamw)
    theta0 = model.init(seed=3)
    grads = gradients(theta0.shape, 4)
    thetas, _ = run(rule, theta0, grads)
    for (w, b), fan_in, fan_out in zip(model.layer_slices(), model.sizes[:-1], model.sizes[1:]):
        torch_w, _ = run(muon, theta0[w].reshape(fan_in, fan_out).T, [g[w].reshape(fan_in, fan_out).T for g in grads])
        bias, _ = run(adamw, theta0[b], [g[b] for g in grads])
        for ours, W, bb in zip(thetas, torch_w, bias):
            assert_close(ours[w].reshape(fan_in, fan_out), W.T, rtol=1e-13)
            assert_close(ours[b], bb, rtol=1e-13)


def test_the_orientation_matters_for_muon_original_scale():
    """Handing Muon W instead of Wᵀ would scale the tall layer's step by 1 instead of √(5/3)."""
    w, _ = TALL_MODEL.layer_slices()[0]
    theta0 = TALL_MODEL.init(seed=3)
    g = gradients(theta0.shape, 1)[0]
    theta, _ = first_step(MuonWithAdamW(weight_matrices(TALL_MODEL.layer_slices()), Muon(weight_decay=0.0)), theta0, g)
    step = (theta0 - theta)[w].reshape(3, 5)
    np.testing.assert_allclose(step, 1e-3 * math.sqrt(5 / 3) * newton_schulz(g[w].reshape(3, 5)), rtol=0, atol=1e-15)


def test_the_split_lr_multiplies_both_rules_rates():
    matrices = weight_matrices(MODEL.layer_slices())
    theta0, g = MODEL.init(seed=1), gradients((MODEL.n_params,), 1)[0]
    half = dataclasses.replace(MuonWithAdamW(matrices, Muon(lr=0.02), AdamW(lr=4e-3)), lr=0.5)
    same = MuonWithAdamW(matrices, Muon(lr=0.01), AdamW(lr=2e-3))
    assert_close(first_step(half, theta0, g)[0], first_step(same, theta0, g)[0], rtol=1e-15)


def test_the_split_trains_the_network_with_a_schedule(digits):
    model = MLP(sizes=(64, 16, 10))
    rule = MuonWithAdamW(weight_matrices(model.layer_slices()), Muon(lr=0.02), AdamW(lr=3e-3))
    record = train(rule, model, digits, epochs=2, schedule=Cosine(lr=1.0, total_steps=80))
    assert record.diverged_at is None and record.lrs[0] == 1.0 and record.lrs[-1] < 1.0
    assert record.val_loss[-1] < record.val_loss[0]


def test_per_matrix_gives_adafactor_each_tensor_as_torch_does():
    rule = PerMatrix(weight_matrices(MODEL.layer_slices()), Adafactor(), Adafactor())
    theta0, grads = MODEL.init(seed=2), gradients((MODEL.n_params,), 3)
    thetas, state = run(rule, theta0, grads)
    w, b = MODEL.layer_slices()[1]
    W_t, _ = run(Adafactor(), theta0[w].reshape(4, 3).T, [g[w].reshape(4, 3).T for g in grads])
    b_t, _ = run(Adafactor(), theta0[b], [g[b] for g in grads])
    assert_close(thetas[-1][w].reshape(4, 3), W_t[-1].T, rtol=1e-13)
    assert_close(thetas[-1][b], b_t[-1], rtol=1e-13)
    assert state_bytes(rule, theta0) == {"pieces.0.R": 32, "pieces.0.C": 48, "pieces.1.v": 32,
                                         "pieces.2.R": 24, "pieces.2.C": 32, "pieces.3.v": 24}


# ---------------------------------------------------------------------------
# Adafactor
# ---------------------------------------------------------------------------


def test_adafactor_first_step_on_a_vector_is_a_sign_step_of_relative_size():
    """v₁ = g², U = sign(g) (RMS 1: no clipping), α = max(ε₂, RMS θ₀) min(η, 1)."""
    theta, state = first_step(Adafactor(lr=0.1), THETA0, G)
    assert_close(theta, THETA0 - math.sqrt(5.25 / 3) * 0.1 * np.sign(G))
    assert_close(state.v, G**2)
    assert state.R is None and state.C is None and state.t == 1


def test_adafactor_first_step_on_a_matrix_uses_the_rank_one_second_moment():
    rule = Adafactor(lr=0.1, weight_decay=0.5, d=10.0)
    theta, state = first_step(rule, W0, GW)
    R, C = np.mean(GW**2, axis=1, keepdims=True), np.mean(GW**2, axis=0, keepdims=True)
    U = GW / np.sqrt(R * C / R.mean())
    alpha = np.sqrt(np.mean(W0**2)) * 0.1
    assert_close(theta, W0 * (1 - 0.1 * 0.5) - alpha * U, rtol=1e-14)
    assert_close(state.R, R) and assert_close(state.C, C)
    assert state_bytes(rule, np.zeros((30, 20))) == {"R": 240, "C": 160}  # m + n numbers, not m · n


def test_adafactor_clips_the_update_to_rms_d():
    """The relative step of each later step is ρ = min(η, 1/√t); RMS(U) is clipped to ≤ d."""
    thetas, _ = run(Adafactor(lr=1.0, d=1.0), W0, [GW, -GW * 50])
    step = thetas[0] - thetas[1]
    alpha = math.sqrt(np.mean(thetas[0] ** 2)) / math.sqrt(2)
    assert math.sqrt(np.mean(step**2)) == pytest.approx(alpha, rel=1e-12)


# ---------------------------------------------------------------------------
# Schedule-Free AdamW
# ---------------------------------------------------------------------------


def test_schedule_free_first_step_is_a_normalised_step_and_x_y_z_agree():
    rule = AdamWScheduleFree(lr=0.1, weight_decay=0.2)
    theta, state = first_step(rule, THETA0, G)
    expected = THETA0 - 0.1 * (G / (np.abs(G) + 1e-8) + 0.2 * THETA0)
    for value in (theta, state.z, state.x, rule.evaluation_point(theta, state)):
        assert_close(value, expected, rtol=1e-14)


@pytest.mark.parametrize("hyperparameters", [{}, {"warmup_steps": 4, "r": 0.5}, {"weight_lr_power": 0.0, "r": 1.0}])
def test_schedule_free_x_is_the_weighted_average_of_z(hyperparameters):
    """x_t = Σ w_s z_s / Σ w_s with w_s = s^r (max lr so far)^p; y = (1 − β₁) z + β₁ x."""
    rule = AdamWScheduleFree(lr=0.05, **hyperparameters)
    state = rule.init(THETA0)
    theta, zs, weights = THETA0, [], []
    for s, g in enumerate(gradients((3,), 8), start=1):
        theta, state = rule.step(theta, g, state)
        lr_max = max(0.05 * min(1, s / rule.warmup_steps) if rule.warmup_steps else 0.05 for s in range(1, s + 1))
        zs.append(state.z)
        weights.append(s**rule.r * lr_max**rule.weight_lr_power)
        x = np.average(zs, axis=0, weights=weights)
        assert_close(rule.evaluation_point(theta, state), x, rtol=1e-12)
        assert_close(theta, 0.1 * state.z + 0.9 * x, rtol=1e-12)


def test_schedule_free_evaluation_point_is_a_copy():
    theta, state = first_step(AdamWScheduleFree(), THETA0, G)
    x = AdamWScheduleFree().evaluation_point(theta, state)
    x[0] = 99.0
    assert state.x[0] != 99.0


# ---------------------------------------------------------------------------
# ADOPT
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("decoupled", [False, True])
def test_adopt_first_step_only_measures_v(decoupled):
    theta, state = first_step(ADOPT(weight_decay=0.1, decoupled_weight_decay=decoupled), THETA0, G)
    np.testing.assert_array_equal(theta, THETA0)
    assert_close(state.v, (G if decoupled else G + 0.1 * THETA0) ** 2)
    assert np.all(state.m == 0) and state.t == 1


def test_adopt_second_step_normalises_by_the_previous_v_and_clips_at_one():
    g2 = np.array([0.25, 8.0, -6.0])
    thetas, state = run(ADOPT(lr=0.1, beta1=0.5, beta2=0.9), THETA0, [G, g2])
    n = np.clip(g2 / np.abs(G), -1.0, 1.0)  # [0.5, -2, -3] → clip at (t − 1)^0.25 = 1
    assert_close(thetas[1], THETA0 - 0.1 * 0.5 * n)
    assert_close(state.v, 0.9 * G**2 + 0.1 * g2**2)
    thetas, _ = run(ADOPT(lr=0.1, beta1=0.5, clip=False), THETA0, [G, g2])
    assert_close(thetas[1], THETA0 - 0.1 * 0.5 * g2 / np.abs(G))


# ---------------------------------------------------------------------------
# Cautious
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("inner", [AdamW(lr=0.1), Adam(lr=0.1), Lion(lr=0.1, weight_decay=0.5),
                                   SGD(lr=0.1, momentum=0.9, decoupled_weight_decay=True, weight_decay=0.1)])
def test_cautious_on_a_step_that_agrees_everywhere_is_the_inner_rule(inner):
    theta, state = first_step(Cautious(inner), THETA0, G)
    inner_theta, inner_state = first_step(inner, THETA0, G)
    assert_close(theta, inner_theta, rtol=1e-15)
    assert type(state) is type(inner_state)


def test_cautious_drops_the_disagreeing_components_and_rescales_the_rest():
    """SGD with momentum: b = 0.9 b + g; where b and g disagree in sign the step is dropped, the rest × 3/2."""
    rule = Cautious(SGD(lr=0.1, momentum=0.9))
    b0 = np.array([1.0, 1.0, -10.0])
    thetas, state = run(rule, THETA0, [b0, np.array([1.0, -0.5, 2.0])])
    b = 0.9 * b0 + np.array([1.0, -0.5, 2.0])  # [1.9, 0.4, −7]: the last two disagree with g
    assert_close(thetas[1], thetas[0] - 0.1 * b * np.array([3.0, 0.0, 0.0]))
    assert_close(state.b, b)  # the momentum is never masked
    nothing = run(rule, THETA0, [b0, -0.5 * b0])[0]  # b = 0.4 b0 against g = −0.5 b0
    assert_close(nothing[1], nothing[0])  # nothing agrees: no step


def test_cautious_names_and_wraps_a_rule_of_any_shape():
    assert Cautious(AdamW()).name == "Cautious AdamW"
    theta, _ = first_step(Cautious(Muon()), W0, GW)
    assert theta.shape == W0.shape
