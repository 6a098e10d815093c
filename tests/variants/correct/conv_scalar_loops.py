# tasks: conv_forward_naive, conv_backward_naive
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    total = b[f]
                    for c in range(C):
                        for di in range(HH):
                            for dj in range(WW):
                                r, q = i * stride + di - pad, j * stride + dj - pad
                                if 0 <= r < H and 0 <= q < W:
                                    total += x[n, c, r, q] * w[f, c, di, dj]
                    out[n, f, i, j] = total
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for di in range(HH):
                        for dj in range(WW):
                            r, q = i * stride + di - pad, j * stride + dj - pad
                            if 0 <= r < H and 0 <= q < W:
                                dx[n, :, r, q] += g * w[f, :, di, dj]
                                dw[f, :, di, dj] += g * x[n, :, r, q]
    return dx, dw, db
