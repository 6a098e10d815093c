# tasks: max_pool_backward_naive
# diagnosis: stride_ignored
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i:i + ph, j:j + pw]
                    r, q = np.unravel_index(window.argmax(), window.shape)
                    dx[n, c, i + r, j + q] += dout[n, c, i, j]
    return dx
