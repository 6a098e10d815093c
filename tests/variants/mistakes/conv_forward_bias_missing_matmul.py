# tasks: conv_forward_naive
# diagnosis: bias_missing
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    filters = w.reshape(F, -1)
    out = np.empty((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            cols = xp[:, :, i * s:i * s + HH, j * s:j * s + WW].reshape(N, -1)
            out[:, :, i, j] = cols @ filters.T
    return out, (x, w, b, conv_param)
