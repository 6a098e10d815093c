# tasks: conv_backward_naive
# diagnosis: none
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                    dw[f] += dout[n, f, i, j] * window
                    dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += dout[n, f, i, j] * w[f]
    db = dout[0].sum(axis=(1, 2))  # only the first example's gradient
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, db
