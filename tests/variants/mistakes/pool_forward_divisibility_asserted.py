# tasks: max_pool_forward_naive
# diagnosis: divisibility_assumed
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    assert (H - ph) % s == 0 and (W - pw) % s == 0, "Invalid pool params"
    out = np.zeros((N, C, (H - ph) // s + 1, (W - pw) // s + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)
