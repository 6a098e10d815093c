"""Spatial batch and group normalization with one classic mistake each (see the package docstring).

Both normalizations are written here over "sets": a 2-D array with one row per normalized set (a channel
for batchnorm, a (sample, group) for group norm), so one forward and one backward serve every variant.
``scale`` is how the standard deviation becomes a divisor: ``np.sqrt(var + eps)`` normally, ``np.sqrt(var)
+ eps`` for eps outside the square root.

Dimensions: N examples, C channels, H x W spatial, G groups; gamma, beta (C,) for batchnorm, (1, C, 1, 1)
for group norm.
"""

import numpy as np

from assignment.layers import batchnorm_backward, batchnorm_forward
from grader.tasks.mistakes import NotShown

DEFAULT_EPS = 1e-5  # both normalizations' documented default


def _inside(var, eps):
    """1 / sqrt(var + eps) and its derivative with respect to var."""
    inv = 1.0 / np.sqrt(var + eps)
    return inv, -0.5 * inv**3


def _outside(var, eps):
    """1 / (sqrt(var) + eps) and its derivative with respect to var."""
    root = np.sqrt(var)
    inv = 1.0 / (root + eps)
    return inv, -(inv**2) / (2 * root)


def _normalize_sets(sets, eps, scale=_inside):
    """(rows, M) -> x_hat of the same shape, each row with mean 0 divided by scale(var)."""
    centered = sets - sets.mean(axis=1, keepdims=True)
    inv, _ = scale(sets.var(axis=1, keepdims=True), eps)
    return centered * inv


def _normalize_sets_backward(sets, dx_hat, eps, scale=_inside):
    """d loss / d sets, from d loss / d x_hat (both (rows, M)) through :func:`_normalize_sets`."""
    size = sets.shape[1]
    centered = sets - sets.mean(axis=1, keepdims=True)
    inv, dinv = scale(sets.var(axis=1, keepdims=True), eps)
    dvar = dinv * np.sum(dx_hat * centered, axis=1, keepdims=True)
    dcentered = dx_hat * inv + dvar * 2 * centered / size
    return dcentered - dcentered.mean(axis=1, keepdims=True)


# -- spatial batchnorm ------------------------------------------------------------------------------


def _channel_sets(a):
    """(N, C, H, W) -> (C, N * H * W)."""
    return np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)


def _from_channel_sets(sets, shape):
    return np.moveaxis(sets.reshape(shape[1], shape[0], *shape[2:]), 0, 1)


def _copied(param):
    """A copy of a bn_param whose running statistics the 1-D batchnorm may update without touching the case's."""
    return {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in param.items()}


def _train_only(bn_param):
    if bn_param.get("mode") != "train":
        raise NotShown("test mode")


def _given_eps(param):
    return param.get("eps", DEFAULT_EPS) if isinstance(param, dict) else DEFAULT_EPS


def _batchnorm(x, gamma, beta, eps, scale=_inside):
    x_hat = _from_channel_sets(_normalize_sets(_channel_sets(x), eps, scale), x.shape)
    return gamma[:, None, None] * x_hat + beta[:, None, None]


def _batchnorm_backward(dout, x, gamma, eps, scale=_inside):
    x_hat = _from_channel_sets(_normalize_sets(_channel_sets(x), eps, scale), x.shape)
    dx_hat = _channel_sets(dout * gamma[:, None, None])
    dx = _from_channel_sets(_normalize_sets_backward(_channel_sets(x), dx_hat, eps, scale), x.shape)
    return dx, (dout * x_hat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))


def _eps_variants(eps):
    """The eps a code that ignores the given one uses: none at all, or the default in place of another."""
    return [0.0] + ([DEFAULT_EPS] if eps != DEFAULT_EPS else [])


def bn_reshape_without_transpose(x, gamma, beta, bn_param):
    """x.reshape(-1, C) into the 1-D batchnorm and out.reshape(x.shape) back (either mode)."""
    rows, _ = batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, _copied(bn_param))
    return rows.reshape(x.shape)


def bn_transpose_in_only(x, gamma, beta, bn_param):
    """Channels moved last on the way in, but the rows reshaped straight back to (N, C, H, W) (either mode)."""
    rows, _ = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]), gamma, beta, _copied(bn_param))
    return rows.reshape(x.shape)


def bn_per_pixel(x, gamma, beta, bn_param):
    """Statistics over N alone: one mean and variance per (channel, pixel)."""
    _train_only(bn_param)
    sets = x.reshape(x.shape[0], -1).T
    x_hat = _normalize_sets(sets, _given_eps(bn_param)).T.reshape(x.shape)
    return gamma[:, None, None] * x_hat + beta[:, None, None]


def bn_per_pixel_over_channels(x, gamma, beta, bn_param):
    """Each pixel normalized over its C channels (a layer norm of every pixel)."""
    _train_only(bn_param)
    sets = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    x_hat = _normalize_sets(sets, _given_eps(bn_param)).reshape(x.shape[0], *x.shape[2:], x.shape[1])
    return gamma[:, None, None] * x_hat.transpose(0, 3, 1, 2) + beta[:, None, None]


def bn_eps_ignored(x, gamma, beta, bn_param):
    """Every output eps-free code (or code that uses the default eps in place of the given one) gives: a
    list of candidates, all the same mistake."""
    _train_only(bn_param)
    return [_batchnorm(x, gamma, beta, eps) for eps in _eps_variants(_given_eps(bn_param))]


def bn_eps_outside_sqrt(x, gamma, beta, bn_param):
    _train_only(bn_param)
    return _batchnorm(x, gamma, beta, _given_eps(bn_param), _outside)


def bn_test_mode_batch_stats(x, gamma, beta, bn_param):
    """Test mode normalized with the batch's own statistics."""
    if bn_param.get("mode") != "test":
        raise NotShown("train mode")
    return _batchnorm(x, gamma, beta, _given_eps(bn_param))


def bn_test_mode_eps_ignored(x, gamma, beta, bn_param):
    """Test mode (only) normalizing with the running statistics but without the given eps (none, or the
    default in its place)."""
    if bn_param.get("mode") != "test":
        raise NotShown("train mode")
    mean, var = (bn_param[key][None, :, None, None] for key in ("running_mean", "running_var"))
    return [
        gamma[None, :, None, None] * (x - mean) / np.sqrt(var + eps) + beta[None, :, None, None]
        for eps in _eps_variants(_given_eps(bn_param))
    ]


def _bare_rows(a):
    return a.reshape(-1, a.shape[1])


def _channels_last_rows(a):
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def bn_backward_reshape_without_transpose(dout, args):
    """Every mix of bare reshapes and transposes, in the forward's rows, dout's rows and dx's way back,
    except the right one (all three transposed)."""
    x, gamma, beta, bn_param = args
    N, C, H, W = x.shape
    back = {
        "bare": lambda rows: rows.reshape(x.shape),
        "transposed": lambda rows: rows.reshape(N, H, W, C).transpose(0, 3, 1, 2),
    }
    candidates = []
    for forward_rows in (_bare_rows, _channels_last_rows):
        _, cache = batchnorm_forward(forward_rows(x), gamma, beta, _copied(bn_param))
        for dout_rows in (_bare_rows, _channels_last_rows):
            drows, dgamma, dbeta = batchnorm_backward(dout_rows(dout), cache)
            for way, to_nchw in back.items():
                if (forward_rows, dout_rows, way) != (_channels_last_rows, _channels_last_rows, "transposed"):
                    candidates.append((to_nchw(drows), dgamma, dbeta))
    return candidates


def bn_backward_eps_ignored(dout, args):
    x, gamma, _, bn_param = args
    return [_batchnorm_backward(dout, x, gamma, eps) for eps in _eps_variants(_given_eps(bn_param))]


def bn_backward_eps_outside_sqrt(dout, args):
    x, gamma, _, bn_param = args
    return _batchnorm_backward(dout, x, gamma, _given_eps(bn_param), _outside)


# -- running statistics: what a train-mode call leaves in bn_param, (running_mean, running_var) ------


def _batch_stats(x):
    return x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))


def running_not_updated(x, gamma, beta, bn_param):
    """The running statistics as they were passed in."""
    return bn_param["running_mean"], bn_param["running_var"]


def running_keepdims(x, gamma, beta, bn_param):
    """The right values, shaped (1, C, 1, 1) by keepdims=True."""
    momentum = bn_param.get("momentum", 0.9)
    mean, var = (stat.reshape(1, -1, 1, 1) for stat in _batch_stats(x))
    return (
        momentum * bn_param["running_mean"].reshape(1, -1, 1, 1) + (1 - momentum) * mean,
        momentum * bn_param["running_var"].reshape(1, -1, 1, 1) + (1 - momentum) * var,
    )


def running_momentum_reversed(x, gamma, beta, bn_param):
    """(1 - momentum) * running + momentum * batch statistic."""
    momentum = bn_param.get("momentum", 0.9)
    mean, var = _batch_stats(x)
    return (
        (1 - momentum) * bn_param["running_mean"] + momentum * mean,
        (1 - momentum) * bn_param["running_var"] + momentum * var,
    )


# -- spatial group norm -----------------------------------------------------------------------------


def _groupnorm(x, gamma, beta, G, eps, scale=_inside):
    x_hat = _normalize_sets(x.reshape(x.shape[0] * G, -1), eps, scale).reshape(x.shape)
    return gamma * x_hat + beta


def _groupnorm_backward(dout, x, gamma, G, eps, scale=_inside):
    sets = x.reshape(x.shape[0] * G, -1)
    x_hat = _normalize_sets(sets, eps, scale).reshape(x.shape)
    dx = _normalize_sets_backward(sets, (dout * gamma).reshape(sets.shape), eps, scale).reshape(x.shape)
    return dx, (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True), dout.sum(axis=(0, 2, 3), keepdims=True)


def _group_size_as_groups(x, G):
    """G read as the channels per group: C // G groups. Not shown where that is G again (G * G = C)."""
    groups = x.shape[1] // G
    if groups == G:
        raise NotShown("C // G == G")
    return groups


def gn_groups_as_group_size(x, gamma, beta, G, gn_param):
    return _groupnorm(x, gamma, beta, _group_size_as_groups(x, G), _given_eps(gn_param))


def gn_per_pixel(x, gamma, beta, G, gn_param):
    """Statistics per (sample, group, pixel) over the group's channels only."""
    N, C, H, W = x.shape
    if C // G == 1:
        raise NotShown("one channel per group")
    grouped = x.reshape(N, G, C // G, H, W)
    sets = np.moveaxis(grouped, 2, -1).reshape(-1, C // G)
    x_hat = np.moveaxis(_normalize_sets(sets, _given_eps(gn_param)).reshape(N, G, H, W, C // G), -1, 2)
    return gamma * x_hat.reshape(x.shape) + beta


def gn_gamma_flattened(x, gamma, beta, G, gn_param):
    """gamma and beta flattened to (C,): they broadcast along W (which must then equal C)."""
    if x.shape[1] != x.shape[3] or x.shape[1] == 1:
        raise NotShown("C != W: the mistake raises")
    x_hat = _normalize_sets(x.reshape(x.shape[0] * G, -1), _given_eps(gn_param)).reshape(x.shape)
    return gamma.reshape(-1) * x_hat + beta.reshape(-1)


def gn_eps_ignored(x, gamma, beta, G, gn_param):
    return [_groupnorm(x, gamma, beta, G, eps) for eps in _eps_variants(_given_eps(gn_param))]


def gn_eps_outside_sqrt(x, gamma, beta, G, gn_param):
    return _groupnorm(x, gamma, beta, G, _given_eps(gn_param), _outside)


def gn_instance_norm(x, gamma, beta, G, gn_param):
    """A plausible alternative, named nothing: one set per (sample, channel), whatever G (an instance norm;
    what C // G groups give at G = 1)."""
    return _groupnorm(x, gamma, beta, x.shape[1], _given_eps(gn_param))


def gn_layer_norm(x, gamma, beta, G, gn_param):
    """A plausible alternative, named nothing: one set per sample, whatever G (a layer norm; what C // G groups
    give at G = C)."""
    return _groupnorm(x, gamma, beta, 1, _given_eps(gn_param))


def gn_backward_instance_norm(dout, args):
    x, gamma, _, G, gn_param = args
    return _groupnorm_backward(dout, x, gamma, x.shape[1], _given_eps(gn_param))


def gn_backward_layer_norm(dout, args):
    x, gamma, _, G, gn_param = args
    return _groupnorm_backward(dout, x, gamma, 1, _given_eps(gn_param))


def gn_backward_groups_as_group_size(dout, args):
    x, gamma, _, G, gn_param = args
    return _groupnorm_backward(dout, x, gamma, _group_size_as_groups(x, G), _given_eps(gn_param))


def gn_backward_gamma_flattened(dout, args):
    """Right dx, but dgamma and dbeta of shape (C,)."""
    x, gamma, _, G, gn_param = args
    dx, dgamma, dbeta = _groupnorm_backward(dout, x, gamma, G, _given_eps(gn_param))
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)


def gn_backward_eps_ignored(dout, args):
    x, gamma, _, G, gn_param = args
    return [_groupnorm_backward(dout, x, gamma, G, eps) for eps in _eps_variants(_given_eps(gn_param))]


def gn_backward_eps_outside_sqrt(dout, args):
    x, gamma, _, G, gn_param = args
    return _groupnorm_backward(dout, x, gamma, G, _given_eps(gn_param), _outside)
