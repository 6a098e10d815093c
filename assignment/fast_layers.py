"""Fast convolution and max pooling layers, vectorized in plain numpy.

Drop-in replacements for the naive loops of the assignment, with the same
``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)`` API and the same results
(to rounding): every stride, padding, non-square input, filter and pool window, and
overlapping pools. No compiled extension is needed.

How they are fast:

- The convolution is one matrix product per image ("im2col"): the windows of the padded
  input are copied out of a strided view into a ``(C * HH * WW + 1, H' * W')`` patch
  matrix, whose extra row of ones carries the bias. The forward pass keeps the patch
  matrices in its cache, trading memory (about ``C * HH * WW`` times the output of one
  filter) for a backward pass that needs no second copy.
- The input gradient scatters ``w.T @ dout`` back onto the input. The padded gradient is
  kept split by stride phase (the rows ``y`` with the same ``y % stride`` together, and
  likewise the columns), where everything a kernel offset sends back lands on one
  contiguous run of memory: the scatter is ``HH * WW`` plain vector additions.
- Max pooling copies the ``ph * pw`` positions of all windows into contiguous planes, takes
  the maximum plane by plane, and records the flat input index of each window's maximum;
  the backward pass is then one ``np.bincount``, which also adds up the gradients of a
  position that is the maximum of several overlapping windows.
- The work goes a block of images at a time, so that the temporary buffers stay small:
  large short-lived arrays cost more in page faults than in arithmetic.

Dimensions: N images, C channels, H x W input, F filters, HH x WW filter, ph x pw pool
window, H' x W' output, s stride.
"""

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "conv_forward_fast",
    "conv_backward_fast",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
]

# Temporary buffers per block of images: about a core's L2 cache, so that they are reused
# while still in cache, and well above numpy's per-call overhead of a few microseconds.
BLOCK_BYTES = 768 * 1024


class ConvGeometry(NamedTuple):
    """Sizes of one convolution, validated; see :func:`conv_geometry`."""

    num_images: int
    channels: int
    height: int
    width: int
    num_filters: int
    filter_height: int
    filter_width: int
    stride: int
    pad: int
    out_height: int
    out_width: int

    @property
    def patch_size(self):
        """Values under one filter, ``C * HH * WW``."""
        return self.channels * self.filter_height * self.filter_width

    @property
    def out_area(self):
        """Output positions per image and filter, ``H' * W'``."""
        return self.out_height * self.out_width


class PoolGeometry(NamedTuple):
    """Sizes of one max pooling, validated; see :func:`pool_geometry`."""

    num_images: int
    channels: int
    height: int
    width: int
    pool_height: int
    pool_width: int
    stride: int
    out_height: int
    out_width: int


def conv_forward_fast(x, w, b, conv_param):
    """Convolution (cross-correlation) of a batch of images with a bank of filters.

    ``out[n, f, i, j] = sum(x_pad[n, :, i*s : i*s + HH, j*s : j*s + WW] * w[f]) + b[f]``
    where ``x_pad`` is x with ``pad`` zeros on both sides of H and W. Output size:
    ``H' = 1 + (H + 2 * pad - HH) // stride``, ``W' = 1 + (W + 2 * pad - WW) // stride``;
    trailing rows and columns that do not fill a whole window are ignored.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input images; not modified.
    w : ndarray, shape (F, C, HH, WW)
        Filter weights.
    b : ndarray, shape (F,)
        Filter biases.
    conv_param : dict
        ``stride`` (int >= 1) and ``pad`` (int >= 0).

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        Same floating dtype as x (float64 for an integer x).
    cache : tuple (x, w, b, conv_param, patches)
        The naive layer's cache, then the patch matrices ``patches`` (ndarray, shape
        (N, C * HH * WW + 1, H' * W')) for the backward pass. The backward pass also
        accepts the naive layer's 4-tuple and then rebuilds the patches.
    """
    geo = conv_geometry(x.shape, w.shape, b.shape, conv_param)
    dtype = _float_dtype(x)
    # The bias is one more filter column, matched by the row of ones of the patches.
    weights = np.concatenate([w.reshape(geo.num_filters, -1), b.reshape(-1, 1)], axis=1)
    patches = _patches(x, geo, dtype)
    out = np.matmul(weights.astype(dtype, copy=False), patches)
    out = out.reshape(geo.num_images, geo.num_filters, geo.out_height, geo.out_width)
    return out, (x, w, b, conv_param, patches)


def conv_backward_fast(dout, cache):
    """Backward pass of :func:`conv_forward_fast` (also of the naive forward pass).

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient.
    cache : tuple (x, w, b, conv_param[, patches])
        From the forward pass; x is (N, C, H, W), w is (F, C, HH, WW), b is (F,).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Dtype of x (float64 for an integer x).
    dw : ndarray, shape (F, C, HH, WW)
        Dtype of w.
    db : ndarray, shape (F,)
        Dtype of b.
    """
    x, w, b, conv_param = cache[:4]
    geo = conv_geometry(x.shape, w.shape, b.shape, conv_param)
    out_rows = (geo.num_images, geo.num_filters, geo.out_area)
    _check_shape("dout", dout.shape, out_rows[:2] + (geo.out_height, geo.out_width))
    dtype = _float_dtype(x)
    patches = cache[4] if len(cache) > 4 else _patches(x, geo, dtype)
    _check_shape("cached patches", patches.shape, (geo.num_images, geo.patch_size + 1, geo.out_area))
    dout = dout.astype(dtype, copy=False)
    # Per image, dout (F, H' * W') @ patches.T; the ones row of the patches gives db.
    dweights = np.matmul(dout.reshape(out_rows), patches.transpose(0, 2, 1)).sum(axis=0)
    dx = _input_grad(dout, w.astype(dtype, copy=False), geo)
    dw = dweights[:, :-1].reshape(w.shape).astype(_float_dtype(w), copy=False)
    db = dweights[:, -1].astype(_float_dtype(b))
    return dx, dw, db


def max_pool_forward_fast(x, pool_param):
    """Maximum of each pooling window, per image and channel, without padding.

    Output size: ``H' = 1 + (H - ph) // stride``, ``W' = 1 + (W - pw) // stride``.
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
    cache : tuple (x, pool_param, argmax)
        ``argmax`` (ndarray of intp, shape (N * C * H' * W',)) is the flat index into x of
        each window's maximum: with ties, the first of the tied positions in row-major
        order within the window, the one ``np.argmax`` picks in the naive loops.
    """
    geo = pool_geometry(x.shape, pool_param)
    out = np.empty((geo.num_images, geo.channels, geo.out_height, geo.out_width), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.intp)
    bytes_per_image = out[:1].nbytes * geo.pool_height * geo.pool_width
    for start, stop in _blocks(geo.num_images, _block_size(bytes_per_image)):
        _pool_block(x, geo, start, stop, out[start:stop], argmax[start:stop])
    return out, (x, pool_param, argmax.reshape(-1))


def max_pool_backward_fast(dout, cache):
    """Backward pass of :func:`max_pool_forward_fast` (also of the naive forward pass).

    Each upstream value goes to the position of its window's maximum; with ties, to the
    first of the tied positions in row-major order within the window. A position that is
    the maximum of several overlapping windows receives the sum of their gradients.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
        Upstream gradient.
    cache : tuple (x, pool_param, argmax) or (x, pool_param)
        From the forward pass; x is (N, C, H, W). Without ``argmax`` (the naive layer's
        cache), the maxima are located again.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Same dtype as x (float64 for an integer x).
    """
    x, pool_param = cache[:2]
    geo = pool_geometry(x.shape, pool_param)
    _check_shape("dout", dout.shape, (geo.num_images, geo.channels, geo.out_height, geo.out_width))
    argmax = cache[2] if len(cache) > 2 else max_pool_forward_fast(x, pool_param)[1][2]
    _check_shape("cached argmax", argmax.shape, (dout.size,))
    # bincount sums the weights that share an index: overlapping windows accumulate.
    dx = np.bincount(argmax, weights=dout.reshape(-1), minlength=x.size)
    return dx.reshape(x.shape).astype(_float_dtype(x), copy=False)


def conv_geometry(x_shape, w_shape, b_shape, conv_param):
    """Validate the shapes and parameters of a convolution and compute its output size.

    Parameters
    ----------
    x_shape : tuple (N, C, H, W)
    w_shape : tuple (F, C, HH, WW)
    b_shape : tuple (F,)
    conv_param : dict with ``stride`` (int >= 1) and ``pad`` (int >= 0)

    Returns
    -------
    ConvGeometry

    Raises
    ------
    ValueError
        Naming the offending argument and its value.
    """
    _check_ndim("x", x_shape, 4, "(N, C, H, W)")
    _check_ndim("w", w_shape, 4, "(F, C, HH, WW)")
    num_images, channels, height, width = x_shape
    num_filters, w_channels, filter_height, filter_width = w_shape
    if w_channels != channels:
        raise ValueError(
            f"w has {w_channels} channels but x has {channels}: w.shape={tuple(w_shape)}, x.shape={tuple(x_shape)}"
        )
    _check_shape("b", b_shape, (num_filters,))
    stride = _int_param(conv_param, "stride", "conv_param", minimum=1)
    pad = _int_param(conv_param, "pad", "conv_param", minimum=0)
    out_height = _window_count(height + 2 * pad, filter_height, stride, "H + 2 * pad", "HH")
    out_width = _window_count(width + 2 * pad, filter_width, stride, "W + 2 * pad", "WW")
    return ConvGeometry(
        num_images,
        channels,
        height,
        width,
        num_filters,
        filter_height,
        filter_width,
        stride,
        pad,
        out_height,
        out_width,
    )


def pool_geometry(x_shape, pool_param):
    """Validate the shape and parameters of a max pooling and compute its output size.

    Parameters
    ----------
    x_shape : tuple (N, C, H, W)
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride`` (ints >= 1)

    Returns
    -------
    PoolGeometry

    Raises
    ------
    ValueError
        Naming the offending argument and its value.
    """
    _check_ndim("x", x_shape, 4, "(N, C, H, W)")
    num_images, channels, height, width = x_shape
    pool_height = _int_param(pool_param, "pool_height", "pool_param", minimum=1)
    pool_width = _int_param(pool_param, "pool_width", "pool_param", minimum=1)
    stride = _int_param(pool_param, "stride", "pool_param", minimum=1)
    out_height = _window_count(height, pool_height, stride, "H", "pool_height")
    out_width = _window_count(width, pool_width, stride, "W", "pool_width")
    return PoolGeometry(num_images, channels, height, width, pool_height, pool_width, stride, out_height, out_width)


def _patches(x, geo, dtype):
    """The im2col patch matrix of every image, with a last row of ones.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    geo : ConvGeometry
    dtype : numpy dtype of the result

    Returns
    -------
    patches : ndarray, shape (N, C * HH * WW + 1, H' * W')
        ``patches[n, (c, i, j), (y, z)] = x_pad[n, c, y*s + i, z*s + j]``, then ones.
    """
    patches = np.empty((geo.num_images, geo.patch_size + 1, geo.out_area), dtype)
    patches[:, -1] = 1
    padded_shape = (geo.channels, geo.height + 2 * geo.pad, geo.width + 2 * geo.pad)
    block = _block_size(np.prod(padded_shape) * patches.itemsize)
    # Zeroed once: each block overwrites only the interior, so the border stays zero.
    padded = np.zeros((min(block, geo.num_images),) + padded_shape, dtype) if geo.pad else None
    interior = (slice(geo.pad, geo.pad + geo.height), slice(geo.pad, geo.pad + geo.width))
    for start, stop in _blocks(geo.num_images, block):
        source = x[start:stop]
        if geo.pad:
            source = padded[: stop - start]
            source[(slice(None), slice(None)) + interior] = x[start:stop]
        target = patches[start:stop, :-1].reshape(
            (stop - start, geo.channels, geo.filter_height, geo.filter_width, geo.out_height, geo.out_width)
        )
        target[...] = _conv_windows(source, geo)
    return patches


def _conv_windows(padded, geo):
    """Read-only view of every filter window of ``padded``, without a copy.

    Parameters
    ----------
    padded : ndarray, shape (n, C, H + 2 * pad, W + 2 * pad)
    geo : ConvGeometry

    Returns
    -------
    windows : ndarray view, shape (n, C, HH, WW, H', W')
        ``windows[n, c, i, j, y, z] = padded[n, c, y*s + i, z*s + j]``.
    """
    s_n, s_c, s_h, s_w = padded.strides
    shape = padded.shape[:2] + (geo.filter_height, geo.filter_width, geo.out_height, geo.out_width)
    strides = (s_n, s_c, s_h, s_w, s_h * geo.stride, s_w * geo.stride)
    return as_strided(padded, shape, strides, writeable=False)


class _PhaseGrid(NamedTuple):
    """A padded image split by stride phase, where the input gradient is accumulated.

    Padded pixel (y, x) lives in phase plane ``(y % s, x % s)`` at row ``y // s`` and
    column ``x // s`` of a ``rows x cols`` grid. Output (u, v) of kernel offset (i, j)
    reads padded pixel ``(u*s + i, v*s + j)``: phase ``(i % s, j % s)``, grid position
    ``(u + i // s, v + j // s)``. So if the output is also laid out on a ``rows x cols``
    grid (zeros outside its H' x W' corner), the offset's whole output is the same grid
    shifted by ``(i // s) * cols + j // s`` values: with the grids of every channel and
    image of a block stored one after the other in both layouts, one vector addition
    adds it in. Every nonzero value stays inside its own grid; only zeros spill over into
    the next one.
    """

    stride: int
    rows: int
    cols: int

    @classmethod
    def of(cls, geo):
        """The grid of a convolution: ``ceil((H + 2 * pad) / s)`` rows, likewise cols."""
        s = geo.stride
        return cls(s, -(-(geo.height + 2 * geo.pad) // s), -(-(geo.width + 2 * geo.pad) // s))

    @property
    def area(self):
        """Values in one phase plane of one image and channel."""
        return self.rows * self.cols

    def run_start(self, i, j, phase_size):
        """Flat start of kernel offset (i, j)'s run, for phase blocks of ``phase_size``."""
        s = self.stride
        return ((i % s) * s + j % s) * phase_size + (i // s) * self.cols + j // s

    def bytes_per_image(self, geo, itemsize):
        """Working set of one image in :func:`_input_grad_block`."""
        planes = geo.num_filters + geo.patch_size + self.stride**2 * geo.channels
        return planes * self.area * itemsize


def _weights_by_offset(w):
    """The filters as a matrix whose rows are ordered by kernel offset, then channel.

    Parameters
    ----------
    w : ndarray, shape (F, C, HH, WW)

    Returns
    -------
    rows : ndarray, shape (HH * WW * C, F)
        ``rows[(i, j, c), f] = w[f, c, i, j]``.
    """
    return w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])


def _input_grad(dout, w, geo):
    """Gradient of the input: every output's ``dout * w`` added back onto its window.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
    w : ndarray, shape (F, C, HH, WW)
        In the dtype of dout.
    geo : ConvGeometry

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    phases = _PhaseGrid.of(geo)
    weight_rows = _weights_by_offset(w)
    dx = np.empty((geo.num_images, geo.channels, geo.height, geo.width), dout.dtype)
    block = _block_size(phases.bytes_per_image(geo, dout.itemsize))
    # dout of a block, laid out filter-major on the phase grid. Zeroed once: each block
    # overwrites only the H' x W' corner of every grid, so the rest stays zero.
    wide = np.zeros((geo.num_filters, min(block, geo.num_images), phases.rows, phases.cols), dout.dtype)
    for start, stop in _blocks(geo.num_images, block):
        wide_block = wide[:, : stop - start]
        wide_block[:, :, : geo.out_height, : geo.out_width] = dout[start:stop].transpose(1, 0, 2, 3)
        _input_grad_block(wide_block, weight_rows, geo, phases, dx[start:stop])
    return dx


def _input_grad_block(wide, weight_rows, geo, phases, dx):
    """Input gradient of a block of images, written into ``dx``.

    Parameters
    ----------
    wide : ndarray, shape (F, n, rows, cols)
        dout of the block on the phase grid: ``wide[f, n, :H', :W'] = dout[n, f]``, zeros
        elsewhere.
    weight_rows : ndarray, shape (HH * WW * C, F)
        From :func:`_weights_by_offset`.
    geo : ConvGeometry
    phases : _PhaseGrid
    dx : ndarray, shape (n, C, H, W)
        Written.
    """
    num_filters, num_images = wide.shape[:2]
    # Row (i, j, c), column (n, grid position): what offset (i, j) sends back to channel c.
    grads = np.matmul(weight_rows, wide.reshape(num_filters, -1))
    grid = _scatter_runs(grads, geo, phases, num_images)
    _unphase(grid, geo, dx)


def _scatter_runs(grads, geo, phases, num_images):
    """Add each kernel offset's run into the phase-split padded gradient.

    Parameters
    ----------
    grads : ndarray, shape (HH * WW * C, n * rows * cols)
        Rows ordered by offset (i, j), then channel; columns by image, then grid position.
    geo : ConvGeometry
    phases : _PhaseGrid
    num_images : int
        n.

    Returns
    -------
    grid : ndarray, shape (s, s, C, n, rows, cols)
        The padded input gradient, by phase.
    """
    s = phases.stride
    phase_size = geo.channels * num_images * phases.area
    starts = [phases.run_start(i, j, phase_size) for i in range(geo.filter_height) for j in range(geo.filter_width)]
    # Room for the overhang of the last offset's run, the most shifted; it carries zeros.
    overhang = phases.run_start(geo.filter_height - 1, geo.filter_width - 1, 0)
    flat = np.zeros(s * s * phase_size + overhang, grads.dtype)
    runs = grads.reshape(-1)
    for k, start in enumerate(starts):
        target = flat[start : start + phase_size]
        np.add(target, runs[k * phase_size : (k + 1) * phase_size], out=target)
    return flat[: s * s * phase_size].reshape(s, s, geo.channels, num_images, phases.rows, phases.cols)


def _unphase(grid, geo, dx):
    """Copy the phase-split padded gradient into dx, dropping the padding.

    Parameters
    ----------
    grid : ndarray, shape (s, s, C, n, rows, cols)
    geo : ConvGeometry
    dx : ndarray, shape (n, C, H, W)
        Written.
    """
    s = geo.stride
    col_spans = [_phase_span(phase_x, geo.pad, geo.width, s) for phase_x in range(s)]
    for phase_y in range(s):
        first_row, top, num_rows = _phase_span(phase_y, geo.pad, geo.height, s)
        for phase_x, (first_col, left, num_cols) in enumerate(col_spans):
            block = grid[phase_y, phase_x, :, :, top : top + num_rows, left : left + num_cols]
            dx[:, :, first_row::s, first_col::s] = block.transpose(1, 0, 2, 3)


def _phase_span(phase, pad, size, stride):
    """Where one stride phase of a padded axis falls in the unpadded axis.

    Returns
    -------
    first : int
        First unpadded index whose padded index ``first + pad`` is in the phase.
    grid_start : int
        Its grid index, ``(first + pad) // stride``.
    count : int
        Unpadded indices in the phase.
    """
    first = (phase - pad) % stride
    return first, (first + pad) // stride, len(range(first, size, stride))


def _pool_block(x, geo, start, stop, out, argmax):
    """Max pooling of images ``start:stop``, with the flat index of each maximum.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    geo : PoolGeometry
    start, stop : int
    out : ndarray, shape (stop - start, C, H', W')
        Written: the maxima.
    argmax : ndarray of intp, shape (stop - start, C, H', W')
        Written: flat indices into x of the maxima.
    """
    # Contiguous planes, one per window position: elementwise work on strided views costs
    # several times more than this one copy.
    planes = np.ascontiguousarray(_pool_windows(x[start:stop], geo))
    planes = planes.reshape((-1,) + out.shape)
    first = _running_maximum(planes, out)
    np.take(_window_offsets(geo), first, out=argmax, mode="clip")  # in range: skip checks
    _add_window_corners(argmax, geo, start)


def _pool_windows(x, geo):
    """Read-only view of the pooling windows of x, window position first, without a copy.

    Parameters
    ----------
    x : ndarray, shape (n, C, H, W)
    geo : PoolGeometry

    Returns
    -------
    windows : ndarray view, shape (ph, pw, n, C, H', W')
        ``windows[i, j, n, c, y, z] = x[n, c, y*s + i, z*s + j]``.
    """
    s_n, s_c, s_h, s_w = x.strides
    shape = (geo.pool_height, geo.pool_width) + x.shape[:2] + (geo.out_height, geo.out_width)
    strides = (s_h, s_w, s_n, s_c, s_h * geo.stride, s_w * geo.stride)
    return as_strided(x, shape, strides, writeable=False)


def _running_maximum(planes, out):
    """Maximum over the planes, and the index of the first plane that reaches it.

    A plane that beats the running maximum strictly is the new first maximum, so the
    first maximum is the last plane that did; ties keep the earlier plane. Branch-free
    on purpose: a masked assignment per plane is several times slower, its mask being
    unpredictable.

    Parameters
    ----------
    planes : ndarray, shape (K, n, C, H', W')
    out : ndarray, shape (n, C, H', W')
        Written: the maximum over the K planes.

    Returns
    -------
    first : ndarray of unsigned ints, shape (n, C, H', W')
        Index in ``0..K-1`` of the first plane equal to the maximum (where the maximum is
        NaN: of the last plane before the first NaN that beat its predecessors).
    """
    index_type = np.min_scalar_type(planes.shape[0])
    first = np.zeros(out.shape, index_type)
    beats = np.empty(out.shape, bool)
    index = np.empty(out.shape, index_type)
    np.copyto(out, planes[0])
    for k in range(1, planes.shape[0]):
        np.greater(planes[k], out, out=beats)
        np.maximum(out, planes[k], out=out)
        # Strict improvements happen at increasing k: the largest is the last.
        np.multiply(beats, k, out=index, dtype=index_type)
        np.maximum(first, index, out=first)
    return first


def _window_offsets(geo):
    """Offset in x of each window position from the window's top-left corner.

    Returns
    -------
    offsets : ndarray of intp, shape (ph * pw,)
        Row-major over the window: ``offsets[i * pw + j] = i * W + j``.
    """
    rows, cols = np.divmod(np.arange(geo.pool_height * geo.pool_width, dtype=np.intp), geo.pool_width)
    return rows * geo.width + cols


def _add_window_corners(offsets, geo, start):
    """Add the flat index in x of each window's top-left corner to ``offsets``, in place.

    Parameters
    ----------
    offsets : ndarray of intp, shape (n, C, H', W')
        Offsets within the windows of images ``start:start + n``.
    geo : PoolGeometry
    start : int
    """
    num_planes = offsets.shape[0] * geo.channels
    by_plane = offsets.reshape(num_planes, geo.out_height, geo.out_width)
    rows = np.arange(geo.out_height, dtype=np.intp) * (geo.stride * geo.width)
    cols = np.arange(geo.out_width, dtype=np.intp) * geo.stride
    by_plane += rows[:, None] + cols
    first_plane = start * geo.channels
    planes = np.arange(first_plane, first_plane + num_planes, dtype=np.intp)
    by_plane += (planes * (geo.height * geo.width))[:, None, None]


def _block_size(bytes_per_image):
    """Images per block: as many as fit in ``BLOCK_BYTES``, at least one."""
    return max(1, BLOCK_BYTES // max(1, int(bytes_per_image)))


def _blocks(count, size):
    """``range(count)`` as consecutive ``(start, stop)`` blocks of ``size`` (the last shorter)."""
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _float_dtype(array):
    """The dtype of the array if it is floating, else float64."""
    return array.dtype if np.issubdtype(array.dtype, np.floating) else np.dtype(np.float64)


def _window_count(size, window, stride, size_name, window_name):
    """Number of whole windows along one axis; a ValueError when none fits."""
    if window > size:
        raise ValueError(f"window larger than the input: {window_name}={window} > {size_name}={size}")
    return 1 + (size - window) // stride


def _int_param(params, key, params_name, minimum):
    """``params[key]`` checked to be an int of at least ``minimum``."""
    if key not in params:
        raise ValueError(f"{params_name} has no {key!r}: {params_name}={params!r}")
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{params_name}[{key!r}] must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_ndim(name, shape, ndim, layout):
    """A ValueError unless ``shape`` has ``ndim`` axes."""
    if len(shape) != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {tuple(shape)}")


def _check_shape(name, shape, expected):
    """A ValueError unless ``shape`` equals ``expected``."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {tuple(shape)}")
