# tasks: max_pool_forward_naive
# diagnosis: sizes_swapped
import numpy as np


def max_pool_forward_naive(x, pool_param):
    size, stride = pool_param["pool_height"], pool_param["stride"]  # square windows assumed
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - size) // stride, 1 + (W - size) // stride))
    for n in range(N):
        for c in range(C):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size].max()
    return out, (x, pool_param)
