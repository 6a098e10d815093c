# tasks: max_pool_backward_naive
# diagnosis: pool_backward_assigns, argmax_square_window
# Two mistakes at once: each case names the one its windows show (square overlapping windows: the assignment;
# non-square windows that do not overlap: the argmax), and a case that shows both names neither.
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        flat = np.argmax(x[n, c, i * s:i * s + ph, j * s:j * s + pw])
        dx[n, c, i * s + flat // ph, j * s + flat % ph] = dout[n, c, i, j]
    return dx
