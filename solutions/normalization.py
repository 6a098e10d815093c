"""Reference spatial batch normalization and spatial group normalization (tasks
``spatial_batchnorm_forward/backward`` and ``spatial_groupnorm_forward/backward``).

Dimensions: N examples, C channels, H x W spatial, G groups of C // G contiguous channels.
"""

import numpy as np

from assignment.layers import batchnorm_backward, batchnorm_forward

__all__ = [
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
]

DEFAULT_EPS = 1e-5  # the course's default, also used by assignment.layers.batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization per channel, with statistics over (N, H, W).

    Every pixel of every image is one "example" of C features for the 1-D batchnorm of
    :func:`assignment.layers.batchnorm_forward`, which does the work.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (C,)
        Per-channel scale.
    beta : ndarray, shape (C,)
        Per-channel shift.
    bn_param : dict
        ``mode`` ('train' or 'test'), ``eps`` (default 1e-5), ``momentum`` (default 0.9),
        ``running_mean`` and ``running_var`` (shape (C,), default zeros). In train mode the
        running statistics are updated in place as
        ``momentum * running + (1 - momentum) * batch_stat`` (biased batch variance); in
        test mode they normalize x.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : object
        The 1-D batchnorm's cache, for :func:`spatial_batchnorm_backward` (None in test mode).
    """
    rows_out, cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)
    return _rows_to_nchw(rows_out, x.shape), cache


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward` in train mode.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
        Upstream gradient.
    cache : object
        As returned by :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (C,)
    dbeta : ndarray, shape (C,)
    """
    drows, dgamma, dbeta = batchnorm_backward(_channels_last_rows(dout), cache)
    return _rows_to_nchw(drows, dout.shape), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalization: per example, normalize each group of C // G channels.

    For every (sample n, group g), with the M = (C // G) * H * W values of that group:
    ``mu = mean(x)``, ``var = mean((x - mu) ** 2)``, ``x_hat = (x - mu) / sqrt(var + eps)``;
    then ``out = gamma[c] * x_hat + beta[c]`` per channel c. Group g holds the contiguous
    channels ``g * C // G`` to ``(g + 1) * C // G - 1``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (1, C, 1, 1)
        Per-channel scale.
    beta : ndarray, shape (1, C, 1, 1)
        Per-channel shift.
    G : int
        Number of groups; must divide C.
    gn_param : dict or None
        ``eps`` (default 1e-5), added to the variance.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple (x_hat, gamma, inv_std, G)
        x_hat (N, C, H, W) normalized input, inv_std (N, G, 1) = 1 / sqrt(var + eps).
    """
    eps = (gn_param or {}).get("eps", DEFAULT_EPS)
    grouped = _grouped(x, G)
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = ((grouped - mean) * inv_std).reshape(x.shape)
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std, G)


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_groupnorm_forward`.

    Staged, for one (sample, group) with M values, writing ``mean_g`` for the mean over
    the group and ``s = 1 / sqrt(var + eps)``:

    1. affine: ``dbeta[c] = sum dout``, ``dgamma[c] = sum dout * x_hat`` over (N, H, W);
       ``dx_hat = dout * gamma[c]``.
    2. through ``var``: ``dvar = -s**3 / 2 * sum(dx_hat * (x - mu))``, and
       ``d var / d x_i = 2 (x_i - mu) / M``; together ``-s * x_hat * mean_g(dx_hat * x_hat)``.
    3. through ``mu``: ``-s * mean_g(dx_hat)`` (the var path adds nothing here because
       ``sum(x - mu) = 0``).
    4. direct path: ``s * dx_hat``.

    Sum: ``dx = s * (dx_hat - mean_g(dx_hat) - x_hat * mean_g(dx_hat * x_hat))``.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
        Upstream gradient.
    cache : tuple
        As returned by :func:`spatial_groupnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (1, C, 1, 1)
    dbeta : ndarray, shape (1, C, 1, 1)
    """
    x_hat, gamma, inv_std, G = cache
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)

    dx_hat = _grouped(dout * gamma, G)
    x_hat_grouped = _grouped(x_hat, G)
    through_mean = dx_hat.mean(axis=2, keepdims=True)
    through_var = x_hat_grouped * (dx_hat * x_hat_grouped).mean(axis=2, keepdims=True)
    dx = inv_std * (dx_hat - through_mean - through_var)
    return dx.reshape(dout.shape), dgamma, dbeta


def _channels_last_rows(x):
    """``(N, C, H, W)`` -> ``(N * H * W, C)``: one row per pixel, channels as features.

    The transpose matters: a bare reshape would mix channels into the rows.
    """
    channels = x.shape[1]
    return x.transpose(0, 2, 3, 1).reshape(-1, channels)


def _rows_to_nchw(rows, shape):
    """Inverse of :func:`_channels_last_rows`: ``(N * H * W, C)`` -> ``shape (N, C, H, W)``."""
    num_images, channels, height, width = shape
    nchw = rows.reshape(num_images, height, width, channels).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(nchw)


def _grouped(x, G):
    """``(N, C, H, W)`` -> ``(N, G, (C // G) * H * W)``: one row per (sample, group).

    Channels of a group are contiguous, so a reshape (no transpose) gathers them.
    """
    num_images, channels = x.shape[:2]
    if G < 1 or channels % G != 0:
        raise ValueError(f"G must be a positive divisor of C={channels}, got G={G}")
    return x.reshape(num_images, G, -1)
