# tasks: max_pool_forward_naive
# diagnosis: none
# The window sized by the stride (stride x stride): where the stride equals one side of a non-square window it
# equals a window sized by that side, which is no evidence of height and width mixed up.
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out_h, out_w = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * s:i * s + s, j * s:j * s + s].max(axis=(2, 3))
    return out, (x, pool_param)
