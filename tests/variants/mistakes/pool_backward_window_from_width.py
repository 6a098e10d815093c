# tasks: max_pool_backward_naive
# diagnosis: sizes_swapped
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    k, s = pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + k, j * s:j * s + k]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx
