"""Naive convolution and max pooling with one classic mistake each (see the package docstring).

Dimensions: N examples, C channels, H x W input, F filters of HH x WW, ph x pw pool window, H' x W' output.
"""

import numpy as np

from grader.tasks.mistakes import NotShown

# -- convolution ------------------------------------------------------------------------------------


def _conv(x, w, b, pad, out_size, step):
    """Convolution whose output is ``out_size`` (H', W') and whose window (i, j) starts at (i * step, j * step)
    of the padded input; a window cut short by the edge raises, as ``window * w[f]`` does in a student's code."""
    _, _, filter_height, filter_width = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((x.shape[0], w.shape[0], *out_size))
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            window = x_pad[:, :, i * step : i * step + filter_height, j * step : j * step + filter_width]
            if window.shape[2:] != (filter_height, filter_width):
                raise NotShown("a window runs past the edge")
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w) + b
    return out


def _conv_backward(dout, x, w, pad, step, crop=True):
    """Gradients of :func:`_conv` (windows at multiples of ``step``); dx left padded unless ``crop``."""
    _, _, filter_height, filter_width = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * step, i * step + filter_height), slice(j * step, j * step + filter_width)
            if x_pad[:, :, rows, cols].shape[2:] != (filter_height, filter_width):
                raise NotShown("a window runs past the edge")
            dx_pad[:, :, rows, cols] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], x_pad[:, :, rows, cols])
    db = dout.sum(axis=(0, 2, 3))
    if not crop:
        return dx_pad, dw, db
    return dx_pad[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw, db


def _conv_sizes(x, w, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    height, width = x.shape[2:]
    filter_height, filter_width = w.shape[2:]
    return stride, pad, height + 2 * pad, width + 2 * pad, filter_height, filter_width


def conv_stride_ignored(x, w, b, conv_param):
    """Output size from the formula, but windows advance one pixel at a time."""
    stride, pad, height, width, fh, fw = _conv_sizes(x, w, conv_param)
    if stride == 1:
        raise NotShown("stride 1")
    return _conv(x, w, b, pad, (1 + (height - fh) // stride, 1 + (width - fw) // stride), 1)


def conv_stride_ignored_everywhere(x, w, b, conv_param):
    """Stride left out of the output size and of the windows alike: a stride-1 convolution."""
    stride, pad, height, width, fh, fw = _conv_sizes(x, w, conv_param)
    if stride == 1:
        raise NotShown("stride 1")
    return _conv(x, w, b, pad, (1 + height - fh, 1 + width - fw), 1)


def _square_conv(x, w, b, pad, side, stride, filter_side):
    """Candidates of a square output ``side`` x ``side``: the windows of the whole filter, or square windows
    ``filter_side`` x ``filter_side`` times the filter's corner w[:, :, :k, :k] (square filters assumed too).
    Where the filter is narrower than k the corner is not square: ``window * corner`` raises, or, for a corner
    one column (or row) wide, broadcasts it across the window, as numpy does in a student's code."""
    candidates = []
    corner = w[:, :, :filter_side, :filter_side]
    for filter_ in (w, corner):
        try:
            filter_ = filter_ if filter_ is w else np.broadcast_to(corner, (*w.shape[:2], filter_side, filter_side))
            candidates.append(_conv(x, filter_, b, pad, (side, side), stride))
        except (NotShown, ValueError):  # a window past the edge, or a corner that does not broadcast
            pass
    return candidates


def conv_square_from_height(x, w, b, conv_param):
    """H and HH used for both axes: W' = H' (and the filter HH x HH, or whole)."""
    stride, pad, height, width, fh, fw = _conv_sizes(x, w, conv_param)
    if (height, fh) == (width, fw):
        raise NotShown("square")
    return _square_conv(x, w, b, pad, 1 + (height - fh) // stride, stride, fh)


def conv_square_from_width(x, w, b, conv_param):
    """W and WW used for both axes: H' = W' (and the filter WW x WW, or whole)."""
    stride, pad, height, width, fh, fw = _conv_sizes(x, w, conv_param)
    if (height, fh) == (width, fw):
        raise NotShown("square")
    return _square_conv(x, w, b, pad, 1 + (width - fw) // stride, stride, fw)


def conv_bias_missing(x, w, b, conv_param):
    """The bias never added: out = sum(window * w[f]) alone."""
    stride, pad, height, width, fh, fw = _conv_sizes(x, w, conv_param)
    return _conv(x, w, np.zeros_like(b), pad, (1 + (height - fh) // stride, 1 + (width - fw) // stride), stride)


def conv_backward_pad_zero_slicing(dout, args):
    """dx cropped with dx_pad[:, :, p:-p, p:-p]: empty when p = 0."""
    x, w, _, conv_param = args
    pad = conv_param["pad"]
    if pad != 0:
        raise NotShown("pad > 0")
    dx, dw, db = _conv_backward(dout, x, w, pad, conv_param["stride"])
    return dx[:, :, 0:0, 0:0], dw, db


def conv_backward_not_cropped(dout, args):
    """dx returned with its padding, (N, C, H + 2p, W + 2p)."""
    x, w, _, conv_param = args
    if conv_param["pad"] == 0:
        raise NotShown("pad 0")
    return _conv_backward(dout, x, w, conv_param["pad"], conv_param["stride"], crop=False)


def conv_backward_stride_ignored(dout, args):
    """Windows of the backward pass advance one pixel at a time."""
    x, w, _, conv_param = args
    if conv_param["stride"] == 1:
        raise NotShown("stride 1")
    return _conv_backward(dout, x, w, conv_param["pad"], 1)


# -- max pooling ------------------------------------------------------------------------------------


def _pool_geometry(pool_param):
    return pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]


def _windows(x, out_size, window, step):
    """(i, j, the window (N, C, rows, cols) at (i * step, j * step)) for every output position; numpy's
    slicing cuts a window short at the edge, as a student's code does, and an empty one raises."""
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            patch = x[:, :, i * step : i * step + window[0], j * step : j * step + window[1]]
            if patch.size == 0:
                raise NotShown("an empty window")
            yield i, j, patch


def _pool(x, out_size, window, step):
    out = np.zeros((x.shape[0], x.shape[1], *out_size))
    for i, j, patch in _windows(x, out_size, window, step):
        out[:, :, i, j] = patch.max(axis=(2, 3))
    return out


def pool_stride_ignored(x, pool_param):
    """Output size from the formula, windows one pixel apart."""
    ph, pw, stride = _pool_geometry(pool_param)
    if stride == 1:
        raise NotShown("stride 1")
    return _pool(x, (1 + (x.shape[2] - ph) // stride, 1 + (x.shape[3] - pw) // stride), (ph, pw), 1)


def pool_stride_ignored_everywhere(x, pool_param):
    """A stride-1 pool: stride left out of the output size too."""
    ph, pw, stride = _pool_geometry(pool_param)
    if stride == 1:
        raise NotShown("stride 1")
    return _pool(x, (1 + x.shape[2] - ph, 1 + x.shape[3] - pw), (ph, pw), 1)


def pool_window_from_height(x, pool_param):
    """pool_height used for both sides of the window and of the output size."""
    ph, pw, stride = _pool_geometry(pool_param)
    if ph == pw:
        raise NotShown("square window")
    return _pool(x, (1 + (x.shape[2] - ph) // stride, 1 + (x.shape[3] - ph) // stride), (ph, ph), stride)


def pool_window_from_width(x, pool_param):
    """pool_width used for both sides of the window and of the output size."""
    ph, pw, stride = _pool_geometry(pool_param)
    if ph == pw:
        raise NotShown("square window")
    return _pool(x, (1 + (x.shape[2] - pw) // stride, 1 + (x.shape[3] - pw) // stride), (pw, pw), stride)


def pool_sizes_crossed(x, pool_param):
    """H' from W and W' from H (windows right)."""
    ph, pw, stride = _pool_geometry(pool_param)
    height, width = x.shape[2:]
    if (height, ph) == (width, pw):
        raise NotShown("square")
    return _pool(x, (1 + (width - pw) // stride, 1 + (height - ph) // stride), (ph, pw), stride)


def pool_window_from_stride(x, pool_param):
    """A plausible alternative, named nothing: windows stride x stride (output size right)."""
    ph, pw, stride = _pool_geometry(pool_param)
    return _pool(x, (1 + (x.shape[2] - ph) // stride, 1 + (x.shape[3] - pw) // stride), (stride, stride), stride)


def _pool_backward(dout, x, window, step, route):
    """dx of a max pool whose windows start at multiples of ``step``; ``route(dx, (n, c, top, left), patch,
    value)`` sends one upstream value from the window ``patch`` (rows, cols) at (top, left)."""
    dx = np.zeros_like(x)
    for i, j, patch in _windows(x, dout.shape[2:], window, step):
        for n, c in np.ndindex(*patch.shape[:2]):
            route(dx, (n, c, i * step, j * step), patch[n, c], dout[n, c, i, j])
    return dx


def _accumulate(dx, corner, patch, value):
    n, c, top, left = corner
    row, col = np.unravel_index(int(np.argmax(patch)), patch.shape)
    dx[n, c, top + row, left + col] += value


def _assign(dx, corner, patch, value):
    n, c, top, left = corner
    row, col = np.unravel_index(int(np.argmax(patch)), patch.shape)
    dx[n, c, top + row, left + col] = value


def pool_backward_assigns(dout, args):
    """Each upstream value assigned (=) to its window's maximum: shared maxima keep only the last."""
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)
    if stride >= max(ph, pw):
        raise NotShown("windows do not overlap")
    return _pool_backward(dout, x, (ph, pw), stride, _assign)


def pool_backward_stride_ignored(dout, args):
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)
    if stride == 1:
        raise NotShown("stride 1")
    return _pool_backward(dout, x, (ph, pw), 1, _accumulate)


def pool_backward_window_from_height(dout, args):
    """Windows pool_height x pool_height."""
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)
    if ph == pw:
        raise NotShown("square window")
    return _pool_backward(dout, x, (ph, ph), stride, _accumulate)


def pool_backward_window_from_width(dout, args):
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)
    if ph == pw:
        raise NotShown("square window")
    return _pool_backward(dout, x, (pw, pw), stride, _accumulate)


def pool_backward_argmax_square(dout, args):
    """The flat argmax split with the window's height as its row length: row, col = divmod(flat, pool_height)."""
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)
    if ph == pw:
        raise NotShown("square window")

    def route(dx, corner, patch, value):
        n, c, top, left = corner
        row, col = divmod(int(np.argmax(patch)), ph)
        dx[n, c, top + row, left + col] += value

    return _pool_backward(dout, x, (ph, pw), stride, route)


def pool_backward_window_from_stride(dout, args):
    """A plausible alternative, named nothing: windows stride x stride."""
    x, pool_param = args
    _, _, stride = _pool_geometry(pool_param)
    return _pool_backward(dout, x, (stride, stride), stride, _accumulate)


def pool_backward_argmax_transposed(dout, args):
    """A plausible alternative, named nothing: the window's argmax found right, its row and column swapped
    (a one-row window then routes as :func:`pool_backward_argmax_square` does)."""
    x, pool_param = args
    ph, pw, stride = _pool_geometry(pool_param)

    def route(dx, corner, patch, value):
        n, c, top, left = corner
        row, col = np.unravel_index(int(np.argmax(patch)), patch.shape)
        if top + col >= dx.shape[2] or left + row >= dx.shape[3]:
            raise NotShown("the swapped position is outside x")
        dx[n, c, top + col, left + row] += value

    return _pool_backward(dout, x, (ph, pw), stride, route)
