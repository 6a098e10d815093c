"""The reference solutions agree with PyTorch (float64) on every edge case of SPEC section 4.

PyTorch is the trusted oracle: conv2d, max_pool2d, batch_norm and group_norm for the layers,
autograd for every backward pass, and the same three-layer net written in torch ops for
ThreeLayerConvNet.
"""

from typing import NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402  (only once torch is known to be present)

from assignment.gradient_check import rel_error  # noqa: E402
from solutions import (  # noqa: E402
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

# Both sides compute in float64 and differ only in summation order (~1e-15 per element); the
# margin covers outputs that happen to land near zero, where the relative error grows.
FORWARD_TOLERANCE = 1e-9
GRADIENT_TOLERANCE = 1e-9
# Initial weights: the sample std of n normal draws is off by about 1 / sqrt(2 n) of the
# true std; five of those standard errors never fails by chance.
STD_SIGMAS = 5.0


def _to_numpy(tensor):
    return tensor.detach().numpy()


def _leaf(array):
    """A float64 torch tensor that records its gradient, from a numpy array."""
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class ConvCase(NamedTuple):
    x_shape: tuple  # (N, C, H, W)
    w_shape: tuple  # (F, C, HH, WW)
    stride: int
    pad: int


CONV_CASES = [
    pytest.param(ConvCase((2, 3, 6, 6), (4, 3, 3, 3), 1, 0), id="pad0"),
    pytest.param(ConvCase((2, 3, 5, 5), (3, 3, 3, 3), 1, 2), id="pad2"),
    pytest.param(ConvCase((2, 3, 7, 7), (2, 3, 3, 3), 2, 1), id="stride2"),
    pytest.param(ConvCase((2, 2, 9, 9), (3, 2, 3, 3), 3, 0), id="stride3"),
    pytest.param(ConvCase((2, 3, 5, 8), (2, 3, 3, 3), 1, 1), id="H_ne_W"),
    pytest.param(ConvCase((2, 2, 6, 7), (3, 2, 2, 4), 1, 1), id="HH_ne_WW"),
    pytest.param(ConvCase((1, 3, 5, 6), (2, 3, 3, 3), 1, 1), id="N1"),
    pytest.param(ConvCase((2, 1, 6, 5), (3, 1, 3, 3), 1, 1), id="C1"),
    pytest.param(ConvCase((2, 3, 6, 5), (1, 3, 3, 3), 1, 1), id="F1"),
    pytest.param(ConvCase((2, 2, 8, 9), (3, 2, 3, 2), 3, 1), id="size_not_divisible_by_stride"),
    pytest.param(ConvCase((2, 2, 7, 10), (2, 2, 4, 3), 2, 2), id="everything_uneven"),
]


def _conv_inputs(case, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=case.x_shape)
    w = rng.normal(size=case.w_shape)
    b = rng.normal(size=case.w_shape[0])
    return x, w, b, {"stride": case.stride, "pad": case.pad}


def _torch_conv(x, w, b, conv_param):
    return F.conv2d(x, w, b, stride=conv_param["stride"], padding=conv_param["pad"])


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_torch_conv2d(case):
    x, w, b, conv_param = _conv_inputs(case)
    out, _ = conv_forward_naive(x, w, b, conv_param)
    expected = _to_numpy(_torch_conv(*map(torch.tensor, (x, w, b)), conv_param))
    assert out.shape == expected.shape
    assert rel_error(out, expected) < FORWARD_TOLERANCE


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_matches_torch_autograd(case):
    x, w, b, conv_param = _conv_inputs(case)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)

    tx, tw, tb = _leaf(x), _leaf(w), _leaf(b)
    _torch_conv(tx, tw, tb, conv_param).backward(torch.tensor(dout))
    for mine, leaf in ((dx, tx), (dw, tw), (db, tb)):
        assert mine.shape == leaf.shape
        assert rel_error(mine, _to_numpy(leaf.grad)) < GRADIENT_TOLERANCE


@pytest.mark.parametrize("case", CONV_CASES[:2])
def test_conv_forward_caches_its_own_arguments_and_leaves_x_unchanged(case):
    x, w, b, conv_param = _conv_inputs(case)
    x_before = x.copy()
    _, cache = conv_forward_naive(x, w, b, conv_param)
    assert len(cache) == 4
    assert all(cached is given for cached, given in zip(cache, (x, w, b, conv_param)))
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_output_and_gradients_keep_the_input_dtype(dtype):
    x, w, b, conv_param = _conv_inputs(ConvCase((1, 2, 4, 5), (2, 2, 3, 3), 1, 1))
    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    out, cache = conv_forward_naive(x, w, b, conv_param)
    grads = conv_backward_naive(np.ones_like(out), cache)
    assert out.dtype == dtype
    assert [g.dtype for g in grads] == [dtype] * 3


def test_conv_forward_rejects_a_filter_larger_than_the_padded_input():
    x, w, b, _ = _conv_inputs(ConvCase((1, 1, 3, 3), (1, 1, 5, 5), 1, 0))
    with pytest.raises(ValueError, match="HH=5"):
        conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------


class PoolCase(NamedTuple):
    x_shape: tuple  # (N, C, H, W)
    pool_height: int
    pool_width: int
    stride: int


POOL_CASES = [
    pytest.param(PoolCase((2, 3, 8, 8), 2, 2, 2), id="square_2x2"),
    pytest.param(PoolCase((2, 2, 7, 9), 2, 3, 2), id="non_square_window"),
    pytest.param(PoolCase((2, 2, 6, 6), 3, 3, 1), id="overlapping"),
    pytest.param(PoolCase((2, 2, 7, 8), 3, 2, 2), id="overlapping_non_square"),
    pytest.param(PoolCase((2, 2, 9, 10), 2, 2, 3), id="stride_larger_than_window"),
    pytest.param(PoolCase((1, 1, 5, 11), 2, 2, 2), id="H_ne_W_N1_C1"),
]


def _pool_inputs(case, seed=0):
    """Input without ties (a shuffle of distinct values), so every window has one maximum."""
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.prod(case.x_shape)).reshape(case.x_shape).astype(np.float64)
    pool_param = {"pool_height": case.pool_height, "pool_width": case.pool_width, "stride": case.stride}
    return x / x.size - 0.5, pool_param


def _torch_pool(x, pool_param):
    window = (pool_param["pool_height"], pool_param["pool_width"])
    return F.max_pool2d(x, window, stride=pool_param["stride"])


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_forward_matches_torch_max_pool2d(case):
    x, pool_param = _pool_inputs(case)
    out, _ = max_pool_forward_naive(x, pool_param)
    expected = _to_numpy(_torch_pool(torch.tensor(x), pool_param))
    assert out.shape == expected.shape
    # Max picks an element: no arithmetic, so the values are identical.
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_backward_matches_torch_autograd(case):
    x, pool_param = _pool_inputs(case)
    out, cache = max_pool_forward_naive(x, pool_param)
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx = max_pool_backward_naive(dout, cache)

    tx = _leaf(x)
    _torch_pool(tx, pool_param).backward(torch.tensor(dout))
    assert dx.shape == x.shape
    assert rel_error(dx, _to_numpy(tx.grad)) < GRADIENT_TOLERANCE


def test_max_pool_backward_adds_up_gradients_of_windows_sharing_a_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the maximum of all four overlapping 2x2 windows
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    _, cache = max_pool_forward_naive(x, pool_param)
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    dx = max_pool_backward_naive(dout, cache)
    assert dx[0, 0, 1, 1] == dout.sum()
    assert np.count_nonzero(dx) == 1


# ---------------------------------------------------------------------------------------------
# Spatial batch normalization
# ---------------------------------------------------------------------------------------------

BATCHNORM_SHAPES = [
    pytest.param((4, 3, 5, 6), id="N4_C3_H5_W6"),
    pytest.param((2, 5, 4, 3), id="N2_C5_H4_W3"),
    pytest.param((1, 2, 7, 4), id="N1_C2_H7_W4"),
]


def _batchnorm_inputs(shape, seed=0):
    """x with per-channel offsets and scales, and non-trivial gamma and beta."""
    rng = np.random.default_rng(seed)
    channels = shape[1]
    offsets = rng.normal(scale=3.0, size=(1, channels, 1, 1))
    scales = rng.uniform(0.5, 4.0, size=(1, channels, 1, 1))
    x = offsets + scales * rng.normal(size=shape)
    gamma = rng.uniform(0.5, 2.0, size=channels)
    beta = rng.normal(size=channels)
    return x, gamma, beta


@pytest.mark.parametrize("momentum, eps", [(0.9, 1e-5), (0.7, 1e-2)])
@pytest.mark.parametrize("shape", BATCHNORM_SHAPES)
def test_spatial_batchnorm_train_matches_torch_batch_norm(shape, momentum, eps):
    x, gamma, beta = _batchnorm_inputs(shape)
    channels = shape[1]
    running_mean, running_var = np.linspace(-1, 1, channels), np.linspace(0.5, 2, channels)
    bn_param = {
        "mode": "train",
        "momentum": momentum,
        "eps": eps,
        "running_mean": running_mean.copy(),
        "running_var": running_var.copy(),
    }
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)

    torch_mean, torch_var = torch.tensor(running_mean), torch.tensor(running_var)
    # torch blends with weight `momentum` on the batch statistic: the opposite of ours.
    expected = F.batch_norm(
        torch.tensor(x),
        torch_mean,
        torch_var,
        torch.tensor(gamma),
        torch.tensor(beta),
        training=True,
        momentum=1 - momentum,
        eps=eps,
    )
    assert rel_error(out, _to_numpy(expected)) < FORWARD_TOLERANCE
    assert rel_error(bn_param["running_mean"], torch_mean.numpy()) < FORWARD_TOLERANCE
    # torch's running variance uses the unbiased batch variance; ours, like the course's,
    # the biased one, so it is checked against the formula instead of against torch.
    biased_var = x.var(axis=(0, 2, 3))
    expected_var = momentum * running_var + (1 - momentum) * biased_var
    assert rel_error(bn_param["running_var"], expected_var) < FORWARD_TOLERANCE


def test_spatial_batchnorm_updates_the_callers_running_arrays_in_place():
    x, gamma, beta = _batchnorm_inputs((2, 3, 4, 5))
    running_mean, running_var = np.zeros(3), np.ones(3)
    bn_param = {"mode": "train", "running_mean": running_mean, "running_var": running_var}
    spatial_batchnorm_forward(x, gamma, beta, bn_param)
    assert bn_param["running_mean"] is running_mean
    np.testing.assert_allclose(running_mean, 0.1 * x.mean(axis=(0, 2, 3)))


def test_spatial_batchnorm_creates_running_statistics_of_shape_C_by_default():
    x, gamma, beta = _batchnorm_inputs((2, 3, 4, 5))
    bn_param = {"mode": "train"}
    spatial_batchnorm_forward(x, gamma, beta, bn_param)
    assert bn_param["running_mean"].shape == (3,)
    assert bn_param["running_var"].shape == (3,)


@pytest.mark.parametrize("shape", BATCHNORM_SHAPES)
def test_spatial_batchnorm_test_mode_matches_torch_with_given_running_statistics(shape):
    x, gamma, beta = _batchnorm_inputs(shape)
    channels = shape[1]
    running_mean, running_var = np.linspace(-2, 1, channels), np.linspace(0.3, 3, channels)
    bn_param = {"mode": "test", "eps": 1e-3, "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)

    expected = F.batch_norm(*map(torch.tensor, (x, running_mean, running_var, gamma, beta)), training=False, eps=1e-3)
    assert rel_error(out, _to_numpy(expected)) < FORWARD_TOLERANCE
    np.testing.assert_array_equal(bn_param["running_mean"], running_mean)
    np.testing.assert_array_equal(bn_param["running_var"], running_var)


@pytest.mark.parametrize("shape", BATCHNORM_SHAPES)
def test_spatial_batchnorm_backward_matches_torch_autograd(shape):
    x, gamma, beta = _batchnorm_inputs(shape)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)

    tx, tgamma, tbeta = _leaf(x), _leaf(gamma), _leaf(beta)
    F.batch_norm(tx, None, None, tgamma, tbeta, training=True, eps=1e-5).backward(torch.tensor(dout))
    for mine, leaf in ((dx, tx), (dgamma, tgamma), (dbeta, tbeta)):
        assert mine.shape == leaf.shape
        assert rel_error(mine, _to_numpy(leaf.grad)) < GRADIENT_TOLERANCE


# ---------------------------------------------------------------------------------------------
# Spatial group normalization
# ---------------------------------------------------------------------------------------------

GROUPNORM_CASES = [
    pytest.param((2, 6, 4, 5), 1, id="G1_layer_norm"),
    pytest.param((2, 6, 4, 5), 6, id="G_eq_C_instance_norm"),
    pytest.param((3, 6, 5, 3), 2, id="G2"),
    pytest.param((2, 6, 3, 4), 3, id="G3"),
    pytest.param((1, 8, 3, 5), 4, id="N1_G4"),
]


def _groupnorm_inputs(shape, seed=0):
    """x with per-channel offsets and scales; gamma, beta of shape (1, C, 1, 1), non-trivial."""
    x, gamma, beta = _batchnorm_inputs(shape, seed)
    return x, gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1)


def _torch_group_norm(x, gamma, beta, G, eps):
    return F.group_norm(x, G, gamma.reshape(-1), beta.reshape(-1), eps=eps)


@pytest.mark.parametrize("eps", [1e-5, 0.5])
@pytest.mark.parametrize("shape, G", GROUPNORM_CASES)
def test_spatial_groupnorm_forward_matches_torch_group_norm(shape, G, eps):
    x, gamma, beta = _groupnorm_inputs(shape)
    out, _ = spatial_groupnorm_forward(x, gamma, beta, G, {"eps": eps})
    expected = _torch_group_norm(*map(torch.tensor, (x, gamma, beta)), G, eps)
    assert out.shape == x.shape
    assert rel_error(out, _to_numpy(expected)) < FORWARD_TOLERANCE


@pytest.mark.parametrize("gn_param", [{}, None])
def test_spatial_groupnorm_defaults_eps_to_1e_5(gn_param):
    x, gamma, beta = _groupnorm_inputs((2, 4, 3, 3))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, 2, gn_param)
    expected = _torch_group_norm(*map(torch.tensor, (x, gamma, beta)), 2, 1e-5)
    assert rel_error(out, _to_numpy(expected)) < FORWARD_TOLERANCE


@pytest.mark.parametrize("eps", [1e-5, 0.5])
@pytest.mark.parametrize("shape, G", GROUPNORM_CASES)
def test_spatial_groupnorm_backward_matches_torch_autograd(shape, G, eps):
    x, gamma, beta = _groupnorm_inputs(shape)
    out, cache = spatial_groupnorm_forward(x, gamma, beta, G, {"eps": eps})
    dout = np.random.default_rng(1).normal(size=out.shape)
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)

    tx, tgamma, tbeta = _leaf(x), _leaf(gamma), _leaf(beta)
    _torch_group_norm(tx, tgamma, tbeta, G, eps).backward(torch.tensor(dout))
    for mine, leaf in ((dx, tx), (dgamma, tgamma), (dbeta, tbeta)):
        assert mine.shape == leaf.shape
        assert rel_error(mine, _to_numpy(leaf.grad)) < GRADIENT_TOLERANCE


@pytest.mark.parametrize("G", [0, 4])
def test_spatial_groupnorm_rejects_G_that_does_not_divide_C(G):
    x, gamma, beta = _groupnorm_inputs((1, 6, 2, 2))
    with pytest.raises(ValueError, match=f"G={G}"):
        spatial_groupnorm_forward(x, gamma, beta, G, {})


# ---------------------------------------------------------------------------------------------
# ThreeLayerConvNet
# ---------------------------------------------------------------------------------------------


class NetCase(NamedTuple):
    input_dim: tuple  # (C, H, W)
    num_filters: int
    filter_size: int
    hidden_dim: int
    num_classes: int


NET_CASES = [
    pytest.param(NetCase((3, 8, 8), 4, 3, 10, 5), id="square"),
    pytest.param(NetCase((2, 7, 10), 3, 5, 6, 4), id="non_square_odd_H"),
    pytest.param(NetCase((1, 9, 6), 5, 1, 7, 3), id="non_square_filter1"),
]
REGULARIZATIONS = [pytest.param(0.0, id="reg0"), pytest.param(0.7, id="reg0.7")]
NUM_EXAMPLES = 6


def _net_and_data(case, reg, dtype=np.float64, seed=0):
    """A net (seeded weights of std 0.3, non-zero biases) so every gradient is sizeable, and data."""
    np.random.seed(seed)
    net = ThreeLayerConvNet(
        input_dim=case.input_dim,
        num_filters=case.num_filters,
        filter_size=case.filter_size,
        hidden_dim=case.hidden_dim,
        num_classes=case.num_classes,
        weight_scale=0.3,
        reg=reg,
        dtype=dtype,
    )
    rng = np.random.default_rng(seed)
    for name in ("b1", "b2", "b3"):
        net.params[name] = rng.normal(scale=0.1, size=net.params[name].shape).astype(dtype)
    X = rng.normal(size=(NUM_EXAMPLES, *case.input_dim))
    y = rng.integers(0, case.num_classes, size=NUM_EXAMPLES)
    return net, X, y


def _torch_three_layer(params, X, y, filter_size, reg):
    """Scores, and the loss with 0.5 * reg * sum(W ** 2), built from torch ops."""
    p = params
    conv = F.conv2d(torch.tensor(X), p["W1"], p["b1"], stride=1, padding=(filter_size - 1) // 2)
    pooled = F.max_pool2d(F.relu(conv), 2, stride=2)
    hidden = F.relu(pooled.flatten(start_dim=1) @ p["W2"] + p["b2"])
    scores = hidden @ p["W3"] + p["b3"]
    l2 = sum((p[name] ** 2).sum() for name in ("W1", "W2", "W3"))
    loss = F.cross_entropy(scores, torch.tensor(y)) + 0.5 * reg * l2
    return scores, loss


@pytest.mark.parametrize("reg", REGULARIZATIONS)
@pytest.mark.parametrize("case", NET_CASES)
def test_convnet_scores_loss_and_every_gradient_match_torch(case, reg):
    net, X, y = _net_and_data(case, reg)
    scores = net.loss(X)
    loss, grads = net.loss(X, y)

    leaves = {name: _leaf(value) for name, value in net.params.items()}
    torch_scores, torch_loss = _torch_three_layer(leaves, X, y, case.filter_size, reg)
    torch_loss.backward()
    assert rel_error(scores, _to_numpy(torch_scores)) < FORWARD_TOLERANCE
    assert rel_error(loss, torch_loss.item()) < FORWARD_TOLERANCE
    assert set(grads) == set(net.params)
    for name, leaf in leaves.items():
        assert grads[name].shape == net.params[name].shape, name
        assert rel_error(grads[name], _to_numpy(leaf.grad)) < GRADIENT_TOLERANCE, name


SHAPE_CASES = [
    pytest.param(NetCase((3, 32, 32), 32, 7, 100, 10), id="course_defaults"),
    pytest.param(NetCase((1, 9, 14), 8, 3, 20, 5), id="non_square_odd_H"),
    pytest.param(NetCase((2, 7, 10), 4, 5, 11, 3), id="non_square_odd_H_even_W"),
]


def _expected_shapes(case):
    channels, height, width = case.input_dim
    pooled = case.num_filters * (height // 2) * (width // 2)
    fs = case.filter_size
    return {
        "W1": (case.num_filters, channels, fs, fs),
        "b1": (case.num_filters,),
        "W2": (pooled, case.hidden_dim),
        "b2": (case.hidden_dim,),
        "W3": (case.hidden_dim, case.num_classes),
        "b3": (case.num_classes,),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SHAPE_CASES)
def test_convnet_parameters_have_the_contract_shapes_and_dtype(case, dtype):
    net = ThreeLayerConvNet(*case, dtype=dtype)
    assert {name: value.shape for name, value in net.params.items()} == _expected_shapes(case)
    assert all(value.dtype == dtype for value in net.params.values())


@pytest.mark.parametrize("weight_scale", [1e-3, 5e-2])
def test_convnet_initial_weights_have_std_weight_scale_and_biases_are_zero(weight_scale):
    np.random.seed(0)
    net = ThreeLayerConvNet(weight_scale=weight_scale, dtype=np.float64)
    for name in ("W1", "W2", "W3"):
        weights = net.params[name]
        standard_error = weight_scale / np.sqrt(2 * weights.size)
        assert abs(weights.std() - weight_scale) < STD_SIGMAS * standard_error, name
        assert abs(weights.mean()) < STD_SIGMAS * weight_scale / np.sqrt(weights.size), name
    for name in ("b1", "b2", "b3"):
        np.testing.assert_array_equal(net.params[name], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", NET_CASES[:2])
def test_convnet_computes_in_its_dtype(case, dtype):
    net, X, y = _net_and_data(case, reg=0.1, dtype=dtype)
    scores = net.loss(X)
    loss, grads = net.loss(X, y)
    assert scores.dtype == dtype
    assert scores.shape == (NUM_EXAMPLES, case.num_classes)
    assert isinstance(loss, float)
    assert all(grads[name].dtype == dtype for name in net.params)


def test_convnet_rejects_an_even_filter_size():
    with pytest.raises(ValueError, match="filter_size=4"):
        ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=4)
