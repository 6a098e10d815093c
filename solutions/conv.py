"""Reference naive convolution, forward and backward (tasks ``conv_forward_naive`` and
``conv_backward_naive``).

The loops are deliberately the plain ones the course teaches: the grader times students'
naive code against these, so they must stay straightforward rather than vectorized.

Dimensions: N examples, C input channels, H x W input, F filters, HH x WW filter,
H' x W' output.
"""

import numpy as np

__all__ = ["conv_forward_naive", "conv_backward_naive"]


def conv_forward_naive(x, w, b, conv_param):
    """Convolution (cross-correlation) of a batch of images with a bank of filters.

    Each output value is the sum of a zero-padded input window times one filter, plus that
    filter's bias. Output size: ``H' = 1 + (H + 2 * pad - HH) // stride`` and
    ``W' = 1 + (W + 2 * pad - WW) // stride``; trailing rows and columns that do not fill a
    whole window are ignored.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input images; not modified.
    w : ndarray, shape (F, C, HH, WW)
        Filter weights.
    b : ndarray, shape (F,)
        Filter biases.
    conv_param : dict
        ``stride`` (int >= 1): step between windows, in pixels, along H and W;
        ``pad`` (int >= 0): zeros added on both sides of H and W.

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        Same dtype as x.
    cache : tuple (x, w, b, conv_param)
        The forward's own arguments, for :func:`conv_backward_naive`.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    num_images = x.shape[0]
    num_filters, _, filter_height, filter_width = w.shape
    x_pad = _pad_spatial(x, pad)
    out_height = _output_size(x_pad.shape[2], filter_height, stride, "H + 2 * pad", "HH")
    out_width = _output_size(x_pad.shape[3], filter_width, stride, "W + 2 * pad", "WW")

    out = np.zeros((num_images, num_filters, out_height, out_width), dtype=x.dtype)
    for n in range(num_images):
        for f in range(num_filters):
            for i in range(out_height):
                top = i * stride
                for j in range(out_width):
                    left = j * stride
                    window = x_pad[n, :, top : top + filter_height, left : left + filter_width]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Backward pass of :func:`conv_forward_naive`.

    Every output position sends ``dout * filter`` back to the input window it read, and
    ``dout * window`` to its filter. Windows overlap when stride < filter size, so the
    input gradient accumulates; it is computed on the padded input and then cropped.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient.
    cache : tuple (x, w, b, conv_param)
        As returned by :func:`conv_forward_naive`; x is (N, C, H, W), w is (F, C, HH, WW).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    num_images, num_filters, out_height, out_width = dout.shape
    _, _, filter_height, filter_width = w.shape
    x_pad = _pad_spatial(x, pad)

    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(num_images):
        for f in range(num_filters):
            for i in range(out_height):
                rows = slice(i * stride, i * stride + filter_height)
                for j in range(out_width):
                    cols = slice(j * stride, j * stride + filter_width)
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    # Explicit end indices: the tempting ``[pad:-pad]`` is empty when pad == 0.
    height, width = x.shape[2], x.shape[3]
    dx = dx_pad[:, :, pad : pad + height, pad : pad + width]
    return dx, dw, db


def _pad_spatial(x, pad):
    """Zero-pad the two spatial axes of ``x (N, C, H, W)`` to ``(N, C, H + 2p, W + 2p)``."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")


def _output_size(padded_size, window, stride, size_name, window_name):
    """Number of whole windows along one axis; a ValueError when none fits."""
    if window > padded_size:
        raise ValueError(f"filter larger than the padded input: {window_name}={window} > {size_name}={padded_size}")
    return 1 + (padded_size - window) // stride
