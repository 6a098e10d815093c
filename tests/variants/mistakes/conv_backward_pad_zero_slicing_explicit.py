# tasks: conv_backward_naive
# diagnosis: pad_zero_slicing
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    S, P = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Hp, Wp = H + 2 * P, W + 2 * P
    xp = np.zeros((N, C, Hp, Wp))
    xp[:, :, P:P + H, P:P + W] = x
    dxp, dw, db = np.zeros((N, C, Hp, Wp)), np.zeros(w.shape), np.zeros(F)
    for n in range(N):
        for f in range(F):
            db[f] += dout[n, f].sum()
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    g = dout[n, f, i, j]
                    dw[f] += g * xp[n, :, i * S:i * S + HH, j * S:j * S + WW]
                    dxp[n, :, i * S:i * S + HH, j * S:j * S + WW] += g * w[f]
    return dxp[:, :, P:Hp - P if P else 0, P:Wp - P if P else 0], dw, db
