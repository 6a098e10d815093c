# tasks: max_pool_backward_naive
# diagnosis: pool_backward_assigns
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            region = dx[:, :, i * s:i * s + ph, j * s:j * s + pw]
            # Written over, not added to: a position two windows share keeps only the later one's gradient.
            np.copyto(region, (mask * dout[:, :, i, j][:, :, None, None]), where=mask)
    return dx
