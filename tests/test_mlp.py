"""The numpy MLP: its hand-written gradient against finite differences, its layout in θ, bad input."""

import numpy as np
import pytest

from lessons_lib.mlp import MLP


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    model = MLP((5, 4, 3, 3))  # two hidden layers, so backprop goes through a ReLU twice
    return model, model.init(seed=1), rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)


def test_gradient_matches_central_differences(small):
    model, theta, X, y = small
    loss, grad = model.loss_and_grad(theta, X, y)
    h = 1e-6
    numeric = np.array([(model.loss(theta + e, X, y) - model.loss(theta - e, X, y)) / (2 * h) for e in np.eye(len(theta)) * h])
    assert loss == model.loss(theta, X, y)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_loss_is_the_mean_cross_entropy_of_the_softmax(small):
    model, theta, X, y = small
    z = model.logits(theta, X)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.isclose(model.loss(theta, X, y), -np.mean(np.log(p[np.arange(len(y)), y])), rtol=1e-13)


def test_uniform_logits_give_log_of_the_class_count():
    model = MLP((3, 10))
    assert np.isclose(model.loss(np.zeros(model.n_params), np.ones((4, 3)), np.arange(4)), np.log(10))


def test_huge_logits_do_not_overflow():
    model = MLP((1, 2))
    theta = np.array([1e3, -1e3, 0.0, 0.0])  # W = [[1000, -1000]], b = 0
    loss, grad = model.loss_and_grad(theta, np.array([[1.0]]), np.array([1]))
    assert np.isclose(loss, 2000.0) and np.isfinite(grad).all()


def test_layers_are_views_in_order_weights_then_bias(small):
    model, theta, _, _ = small
    assert model.n_params == (5 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 3 == len(theta)
    shapes = [(W.shape, b.shape) for W, b in model.layers(theta)]
    assert shapes == [((5, 4), (4,)), ((4, 3), (3,)), ((3, 3), (3,))]
    W1, b1 = model.layers(theta)[0]
    assert np.shares_memory(W1, theta) and np.array_equal(W1.ravel(), theta[:20]) and np.array_equal(b1, theta[20:24])
    assert model.weight_mask().sum() == 5 * 4 + 4 * 3 + 3 * 3
    assert np.all(theta[~model.weight_mask()] == 0)  # biases start at 0


def test_init_is_seeded_with_he_variance():
    model = MLP((400, 300, 10))
    theta = model.init(seed=3)
    assert np.array_equal(theta, model.init(seed=3)) and not np.array_equal(theta, model.init(seed=4))
    W1 = model.layers(theta)[0][0]
    assert abs(W1.var() - 2 / 400) < 0.05 * 2 / 400


def test_predict_and_accuracy(small):
    model, theta, X, y = small
    predicted = model.predict(theta, X)
    assert predicted.shape == (7,) and model.accuracy(theta, X, predicted) == 1.0
    assert model.accuracy(theta, X, y) == np.mean(predicted == y)


def test_loss_and_accuracy_are_the_two_from_one_forward_pass(small):
    model, theta, X, y = small
    assert model.loss_and_accuracy(theta, X, y) == (model.loss(theta, X, y), model.accuracy(theta, X, y))
    z = model.logits(theta, X)  # the same numbers, written out
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss, accuracy = model.loss_and_accuracy(theta, X, y)
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(len(y)), y])), rtol=1e-13)
    assert accuracy == np.mean(np.argmax(p, axis=1) == y)


@pytest.mark.parametrize("sizes", [(), (64,), (64, 0, 10), (64, 32, 1), (64, 2.5, 10), "64-32-10", None, (64, True, 10)])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes|classes"):
        MLP(sizes)


def test_bad_theta_inputs_and_labels(small):
    model, theta, X, y = small
    with pytest.raises(ValueError, match="theta must be a flat vector of the 51 parameters"):
        model.loss(theta[:-1], X, y)
    with pytest.raises(ValueError, match="theta contains NaN"):
        model.loss(np.full_like(theta, np.nan), X, y)
    with pytest.raises(ValueError, match=r"X must be a non-empty batch of shape \(n, 5\)"):
        model.loss(theta, X[:, :4], y)
    with pytest.raises(ValueError, match="y must hold one whole-number class label 0 … 2"):
        model.loss(theta, X, y + 1)
    with pytest.raises(ValueError, match="y must hold"):
        model.loss(theta, X, y.astype(float))
    with pytest.raises(ValueError, match="y must hold"):
        model.accuracy(theta, X, y[:3])
    with pytest.raises(ValueError, match="seed must be a whole number"):
        model.init(seed=-1)
