"""Every reference backward pass agrees with centered-difference numeric gradients (float64).

Independent of PyTorch: the only oracle here is the definition of the derivative, through
``assignment.gradient_check``.
"""

from typing import NamedTuple

import numpy as np
import pytest

from assignment.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from solutions import (
    ThreeLayerConvNet,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)

# Centered differences with h = 1e-5 in float64 carry a rounding error of about
# 1e-16 * |f| / h ~ 1e-10 absolute, so gradient elements near 1e-4 reach ~1e-6 relative;
# a wrong backward pass is off by 1e-2 or more. (Seeded inputs keep every ReLU and max kink
# farther than h from the evaluation points.)
GRADIENT_TOLERANCE = 1e-6


def _numeric_gradients(forward, inputs, dout):
    """Numeric gradient of ``sum(forward(*inputs) * dout)`` for each of ``inputs`` in turn."""
    grads = []
    for position, array in enumerate(inputs):

        def forward_of_one(value, position=position):
            args = list(inputs)
            args[position] = value
            return forward(*args)

        grads.append(eval_numerical_gradient_array(forward_of_one, array, dout))
    return grads


def _assert_gradients_close(analytic, numeric, tolerance=GRADIENT_TOLERANCE):
    for name, mine, expected in zip(("first", "second", "third"), analytic, numeric):
        assert mine.shape == expected.shape, name
        assert rel_error(mine, expected) < tolerance, name


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class ConvCase(NamedTuple):
    x_shape: tuple  # (N, C, H, W)
    w_shape: tuple  # (F, C, HH, WW)
    stride: int
    pad: int


CONV_CASES = [
    pytest.param(ConvCase((2, 3, 5, 5), (2, 3, 3, 3), 1, 1), id="pad1_stride1"),
    pytest.param(ConvCase((2, 2, 5, 6), (3, 2, 3, 3), 1, 0), id="pad0"),
    pytest.param(ConvCase((1, 2, 4, 5), (2, 2, 3, 2), 1, 2), id="pad2_non_square_filter"),
    pytest.param(ConvCase((2, 2, 7, 6), (2, 2, 3, 3), 2, 1), id="stride2_H_ne_W"),
    pytest.param(ConvCase((2, 1, 8, 7), (2, 1, 2, 3), 3, 1), id="stride3_uneven"),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_matches_numeric_gradients(case):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=case.x_shape), rng.normal(size=case.w_shape)
    b = rng.normal(size=case.w_shape[0])
    conv_param = {"stride": case.stride, "pad": case.pad}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.normal(size=out.shape)

    def forward(x_, w_, b_):
        return conv_forward_naive(x_, w_, b_, conv_param)[0]

    _assert_gradients_close(conv_backward_naive(dout, cache), _numeric_gradients(forward, (x, w, b), dout))


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------

POOL_CASES = [
    pytest.param((2, 2, 6, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}, id="2x2_stride2"),
    pytest.param((2, 2, 6, 7), {"pool_height": 3, "pool_width": 3, "stride": 1}, id="overlapping"),
    pytest.param((1, 3, 7, 6), {"pool_height": 3, "pool_width": 2, "stride": 2}, id="overlapping_non_square"),
    pytest.param((2, 1, 7, 8), {"pool_height": 2, "pool_width": 2, "stride": 3}, id="stride_larger_than_window"),
]


@pytest.mark.parametrize("x_shape, pool_param", POOL_CASES)
def test_max_pool_backward_matches_numeric_gradient(x_shape, pool_param):
    rng = np.random.default_rng(0)
    # Distinct values at least 1 / size apart: a step of h never changes a window's maximum.
    x = rng.permutation(np.prod(x_shape)).reshape(x_shape) / np.prod(x_shape)
    out, cache = max_pool_forward_naive(x, pool_param)
    dout = rng.normal(size=out.shape)

    def forward(x_):
        return max_pool_forward_naive(x_, pool_param)[0]

    _assert_gradients_close([max_pool_backward_naive(dout, cache)], _numeric_gradients(forward, (x,), dout))


# ---------------------------------------------------------------------------------------------
# Normalizations
# ---------------------------------------------------------------------------------------------


def _normalization_inputs(shape, affine_shape, seed=0):
    """x with per-channel offsets and scales, non-trivial gamma, beta, and an upstream dout."""
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = rng.normal(scale=3.0, size=(1, channels, 1, 1)) + rng.uniform(0.5, 4.0, size=(1, channels, 1, 1)) * rng.normal(
        size=shape
    )
    gamma = rng.uniform(0.5, 2.0, size=affine_shape)
    beta = rng.normal(size=affine_shape)
    return x, gamma, beta, rng.normal(size=shape)


@pytest.mark.parametrize(
    "shape", [pytest.param((3, 2, 4, 5), id="N3_C2_H4_W5"), pytest.param((2, 4, 3, 2), id="N2_C4_H3_W2")]
)
def test_spatial_batchnorm_backward_matches_numeric_gradients(shape):
    x, gamma, beta, dout = _normalization_inputs(shape, shape[1])

    def forward(x_, gamma_, beta_):
        return spatial_batchnorm_forward(x_, gamma_, beta_, {"mode": "train"})[0]

    _, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    _assert_gradients_close(
        spatial_batchnorm_backward(dout, cache), _numeric_gradients(forward, (x, gamma, beta), dout)
    )


@pytest.mark.parametrize("G", [pytest.param(1, id="G1"), pytest.param(2, id="G2"), pytest.param(4, id="G_eq_C")])
def test_spatial_groupnorm_backward_matches_numeric_gradients(G):
    shape = (2, 4, 3, 5)
    x, gamma, beta, dout = _normalization_inputs(shape, (1, shape[1], 1, 1))
    gn_param = {"eps": 1e-5}

    def forward(x_, gamma_, beta_):
        return spatial_groupnorm_forward(x_, gamma_, beta_, G, gn_param)[0]

    _, cache = spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
    _assert_gradients_close(
        spatial_groupnorm_backward(dout, cache), _numeric_gradients(forward, (x, gamma, beta), dout)
    )


# ---------------------------------------------------------------------------------------------
# ThreeLayerConvNet
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reg", [pytest.param(0.0, id="reg0"), pytest.param(0.5, id="reg0.5")])
@pytest.mark.parametrize(
    "input_dim", [pytest.param((2, 6, 6), id="square"), pytest.param((1, 5, 8), id="non_square_odd_H")]
)
def test_convnet_gradients_match_numeric_gradients_of_the_loss(input_dim, reg):
    np.random.seed(0)
    net = ThreeLayerConvNet(
        input_dim=input_dim,
        num_filters=3,
        filter_size=3,
        hidden_dim=7,
        num_classes=4,
        weight_scale=0.3,
        reg=reg,
        dtype=np.float64,
    )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, *input_dim))
    y = rng.integers(0, 4, size=3)
    _, grads = net.loss(X, y)

    for name, param in net.params.items():
        numeric = eval_numerical_gradient(lambda _: net.loss(X, y)[0], param, verbose=False)
        assert rel_error(grads[name], numeric) < GRADIENT_TOLERANCE, name
