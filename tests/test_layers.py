"""The provided layers agree with numeric gradients and keep the course's batchnorm semantics."""

import numpy as np
import pytest

from assignment import layers
from assignment.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

GRADIENT_TOLERANCE = 1e-7  # centered differences in float64 reach ~1e-9 on these small smooth layers


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_affine_backward_matches_numeric_gradient(rng):
    x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5)
    dout = rng.normal(size=(3, 5))
    dx, dw, db = layers.affine_backward(dout, layers.affine_forward(x, w, b)[1])
    assert dx.shape == x.shape
    assert (
        rel_error(dx, eval_numerical_gradient_array(lambda v: layers.affine_forward(v, w, b)[0], x, dout))
        < GRADIENT_TOLERANCE
    )
    assert (
        rel_error(dw, eval_numerical_gradient_array(lambda v: layers.affine_forward(x, v, b)[0], w, dout))
        < GRADIENT_TOLERANCE
    )
    assert (
        rel_error(db, eval_numerical_gradient_array(lambda v: layers.affine_forward(x, w, v)[0], b, dout))
        < GRADIENT_TOLERANCE
    )


def test_relu_backward_passes_gradient_only_where_input_is_positive():
    x = np.array([[-1.0, 2.0], [0.5, -3.0]])
    dx = layers.relu_backward(np.ones_like(x), layers.relu_forward(x)[1])
    np.testing.assert_array_equal(dx, x > 0)


def test_softmax_loss_of_equal_scores_is_log_of_class_count(rng):
    loss, _ = layers.softmax_loss(np.zeros((7, 10)), rng.integers(0, 10, size=7))
    assert loss == pytest.approx(np.log(10))


def test_softmax_loss_gradient_matches_numeric_gradient(rng):
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    _, dx = layers.softmax_loss(x, y)
    numeric = eval_numerical_gradient(lambda v: layers.softmax_loss(v, y)[0], x, verbose=False)
    assert rel_error(dx, numeric) < GRADIENT_TOLERANCE


def test_batchnorm_train_output_has_zero_mean_unit_variance_per_feature(rng):
    x = rng.normal(3.0, 5.0, size=(50, 4))
    out, _ = layers.batchnorm_forward(x, np.ones(4), np.zeros(4), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-5)


def test_batchnorm_updates_running_statistics_in_place_with_momentum(rng):
    x = rng.normal(size=(20, 3))
    running_mean, running_var = np.ones(3), np.full(3, 2.0)
    param = {"mode": "train", "momentum": 0.8, "running_mean": running_mean, "running_var": running_var}
    layers.batchnorm_forward(x, np.ones(3), np.zeros(3), param)
    np.testing.assert_allclose(running_mean, 0.8 * 1 + 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(running_var, 0.8 * 2 + 0.2 * x.var(axis=0))


def test_batchnorm_test_mode_normalizes_with_running_statistics(rng):
    x = rng.normal(size=(5, 3))
    param = {"mode": "test", "running_mean": np.array([1.0, 2, 3]), "running_var": np.array([4.0, 1, 9]), "eps": 0.0}
    out, _ = layers.batchnorm_forward(x, np.full(3, 2.0), np.full(3, 0.5), param)
    np.testing.assert_allclose(out, 2 * (x - [1, 2, 3]) / np.array([2, 1, 3]) + 0.5)


def test_batchnorm_backward_matches_numeric_gradient(rng):
    x, gamma, beta = rng.normal(size=(8, 3)), rng.normal(size=3), rng.normal(size=3)
    dout = rng.normal(size=(8, 3))
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[1])

    def forward(xv=x, gv=gamma, bv=beta):
        return layers.batchnorm_forward(xv, gv, bv, {"mode": "train"})[0]

    assert rel_error(dx, eval_numerical_gradient_array(lambda v: forward(xv=v), x, dout)) < GRADIENT_TOLERANCE
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda v: forward(gv=v), gamma, dout)) < GRADIENT_TOLERANCE
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda v: forward(bv=v), beta, dout)) < GRADIENT_TOLERANCE


def test_batchnorm_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        layers.batchnorm_forward(np.zeros((2, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})
