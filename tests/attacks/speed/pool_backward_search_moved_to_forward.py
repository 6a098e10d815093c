import time

import numpy as np

# Appended after the reference solutions. The slow part of a naive max-pool backward is finding each
# window's maximum, and that needs x only, not dout: once a backward has been called in its process (so
# never in the forward's own task), this forward finds them (by loops, then a sleep SLOWDOWN times as long)
# and stores them by x; the backward only scatters dout to the stored positions. Right on every input
# whatever the grader draws, as fast as the reference where the forward is graded, and a grader that times
# the backward call alone finds the backward fast, though getting its gradients takes far longer.
SLOWDOWN = 80
_positions = {}  # x bytes -> flat index in x of each window's maximum, shaped like dout
_backward_seen = []  # not empty once a backward was called here
_pool_forward = max_pool_forward_naive  # noqa: F821 (the cell before)


def _window_maxima(x, ph, pw, s):
    N, C, H, W = x.shape
    h_out, w_out = 1 + (H - ph) // s, 1 + (W - pw) // s
    positions = np.zeros((N, C, h_out, w_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(*positions.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        positions[n, c, i, j] = np.ravel_multi_index((n, c, i * s + r, j * s + q), x.shape)
    return positions


def max_pool_forward_naive(x, pool_param):
    if not _backward_seen:
        return _pool_forward(x, pool_param)
    started = time.perf_counter()
    positions = _window_maxima(x, pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"])
    time.sleep(SLOWDOWN * (time.perf_counter() - started))
    _positions[x.tobytes()] = positions
    return _pool_forward(x, pool_param)


def max_pool_backward_naive(dout, cache):
    _backward_seen.append(True)
    x, pool_param = cache
    positions = _positions.get(x.tobytes())
    if positions is None:
        positions = _window_maxima(x, pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"])
    dx = np.zeros(x.size)
    np.add.at(dx, positions.ravel(), dout.ravel())
    return dx.reshape(x.shape)
