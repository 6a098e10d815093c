# tasks: max_pool_backward_naive
# diagnosis: argmax_square_window
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = divmod(int(np.argmax(window)), ph)
        dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx
