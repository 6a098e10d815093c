"""Reference naive max pooling, forward and backward (tasks ``max_pool_forward_naive`` and
``max_pool_backward_naive``).

Plain loops on purpose: the grader times students' naive code against these.

Dimensions: N examples, C channels, H x W input, ph x pw pool window, H' x W' output.
"""

import numpy as np

__all__ = ["max_pool_forward_naive", "max_pool_backward_naive"]


def max_pool_forward_naive(x, pool_param):
    """Maximum of each pooling window, per example and channel, without padding.

    Output size: ``H' = 1 + (H - ph) // stride`` and ``W' = 1 + (W - pw) // stride``.
    Windows may be non-square, may overlap (stride < window) or leave gaps
    (stride > window).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input; not modified.
    pool_param : dict
        ``pool_height`` (ph), ``pool_width`` (pw) and ``stride``, all ints >= 1.

    Returns
    -------
    out : ndarray, shape (N, C, H', W')
        Same dtype as x.
    cache : tuple (x, pool_param)
        For :func:`max_pool_backward_naive`.
    """
    pool_height, pool_width, stride = _pool_geometry(pool_param)
    num_images, channels, height, width = x.shape
    out_height = _output_size(height, pool_height, stride, "H", "pool_height")
    out_width = _output_size(width, pool_width, stride, "W", "pool_width")

    out = np.zeros((num_images, channels, out_height, out_width), dtype=x.dtype)
    for n in range(num_images):
        for c in range(channels):
            for i in range(out_height):
                top = i * stride
                for j in range(out_width):
                    left = j * stride
                    out[n, c, i, j] = x[n, c, top : top + pool_height, left : left + pool_width].max()
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Backward pass of :func:`max_pool_forward_naive`.

    Each upstream value goes to the position of its window's maximum (the first one if
    several are equal). Overlapping windows can share a maximum, so the gradient
    accumulates (``+=``) rather than being assigned.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
        Upstream gradient.
    cache : tuple (x, pool_param)
        As returned by :func:`max_pool_forward_naive`; x is (N, C, H, W).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, pool_param = cache
    pool_height, pool_width, stride = _pool_geometry(pool_param)
    num_images, channels, out_height, out_width = dout.shape

    dx = np.zeros_like(x)
    for n in range(num_images):
        for c in range(channels):
            for i in range(out_height):
                top = i * stride
                for j in range(out_width):
                    left = j * stride
                    window = x[n, c, top : top + pool_height, left : left + pool_width]
                    row, col = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + row, left + col] += dout[n, c, i, j]
    return dx


def _pool_geometry(pool_param):
    """``(pool_height, pool_width, stride)`` read from ``pool_param``."""
    return pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]


def _output_size(size, window, stride, size_name, window_name):
    """Number of whole windows along one axis; a ValueError when none fits."""
    if window > size:
        raise ValueError(f"pool window larger than the input: {window_name}={window} > {size_name}={size}")
    return 1 + (size - window) // stride
