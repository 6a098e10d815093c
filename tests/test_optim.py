"""Every update rule minimizes a quadratic and keeps its state in the config it returns."""

import numpy as np
import pytest

from assignment import optim

RULES = {
    "sgd": {"learning_rate": 0.1},
    "sgd_momentum": {"learning_rate": 0.02},
    "rmsprop": {"learning_rate": 0.01},
    "adam": {"learning_rate": 0.05},
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_update_rule_drives_a_quadratic_to_its_minimum(name):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    w, config = np.zeros_like(target), dict(RULES[name])
    for _ in range(2000):
        w, config = getattr(optim, name)(w, 2 * (w - target), config)
    np.testing.assert_allclose(w, target, atol=1e-2)


def test_adam_first_step_moves_each_weight_by_the_learning_rate():
    # With bias correction the first step is lr * g / (|g| + eps), i.e. lr in the gradient's direction.
    w, dw = np.zeros(3), np.array([0.1, -5.0, 40.0])
    next_w, config = optim.adam(w, dw, {"learning_rate": 0.01})
    np.testing.assert_allclose(next_w, -0.01 * np.sign(dw), rtol=1e-6)
    assert config["t"] == 1


def test_sgd_momentum_accumulates_velocity():
    w, config = np.zeros(2), {"learning_rate": 1.0, "momentum": 0.5}
    w, config = optim.sgd_momentum(w, np.ones(2), config)
    w, config = optim.sgd_momentum(w, np.ones(2), config)
    np.testing.assert_allclose(w, [-2.5, -2.5])
