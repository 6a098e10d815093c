# tasks: conv_backward_naive
# diagnosis: padding_not_cropped
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, c = i * stride, j * stride
                    dx[n, :, r:r + HH, c:c + WW] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, r:r + HH, c:c + WW] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    return dx, dw, db
