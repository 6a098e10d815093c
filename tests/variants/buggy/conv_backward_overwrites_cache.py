# tasks: conv_backward_naive
# fails: inputs unchanged
# diagnosis: none
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    H, W = x.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[f] += dout[n, f, i, j] * xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                    dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += dout[n, f, i, j] * w[f]
    # "Saves memory" by reusing x for dx: the gradients are right, but the cache's x is overwritten.
    dx = x
    dx[...] = dxp[:, :, p:p + H, p:p + W]
    return dx, dw, dout.sum(axis=(0, 2, 3))
