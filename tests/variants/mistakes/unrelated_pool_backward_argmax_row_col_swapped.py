# tasks: max_pool_backward_naive
# diagnosis: none
# Row and column of the window's argmax swapped: on a one-row window it routes exactly as the square-window
# argmax does, which is no evidence of a square window assumed.
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        if i * s + q < x.shape[2] and j * s + r < x.shape[3]:
            dx[n, c, i * s + q, j * s + r] += dout[n, c, i, j]
    return dx
