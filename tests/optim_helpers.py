"""What the unit tests of the update rules share: a start, a gradient, a run, and a tight comparison."""

import numpy as np

THETA0 = np.array([1.0, -2.0, 0.5])
G = np.array([0.5, -4.0, 2.0])


def assert_close(actual, expected, rtol=2e-15):
    """Relative comparison at 2e-15 (a few ulps of rounding); zero expected entries must be exactly zero."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=0)


def first_step(rule, theta=THETA0, grad=G):
    """One step of ``rule`` from its initial state."""
    return rule.step(theta, grad, rule.init(theta))


def run(rule, theta, grads):
    """θ after each step of ``rule`` fed ``grads`` (a list), and the last state."""
    state = rule.init(theta)
    thetas = []
    for g in grads:
        theta, state = rule.step(theta, g, state)
        thetas.append(theta)
    return np.array(thetas), state
