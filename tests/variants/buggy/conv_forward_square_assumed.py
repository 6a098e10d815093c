# tasks: conv_forward_naive
# diagnosis: sizes_swapped
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    # Square images and filters assumed: H and HH used for both dimensions.
    Ho = Wo = 1 + (H + 2 * p - HH) // s
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * s:i * s + HH, j * s:j * s + HH] * w[f, :, :, :HH]) + b[f]
    return out, (x, w, b, conv_param)
