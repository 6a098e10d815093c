# tasks: max_pool_forward_naive
# fails: speed
# diagnosis: none
import numpy as np


def max_pool_forward_naive(x, pool_param):
    # Correct, but it computes every window forty times over: CPU-bound, ~40x the reference loops'
    # time on an idle machine and on a busy one alike.
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
    for _ in range(40):
        for n, c, i, j in np.ndindex(*out.shape):
            out[n, c, i, j] = np.max(x[n, c, i * s:i * s + ph, j * s:j * s + pw])
    return out, (x, pool_param)
