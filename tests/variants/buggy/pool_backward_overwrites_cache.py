# tasks: max_pool_backward_naive
# fails: inputs unchanged
# diagnosis: none
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    routes = []
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        routes.append((n, c, i * s + r, j * s + q, dout[n, c, i, j]))
    # "Saves memory" by reusing x for dx: the gradient is right, but the cache's x is overwritten.
    dx = x
    dx[...] = 0
    for n, c, row, col, gradient in routes:
        dx[n, c, row, col] += gradient
    return dx
