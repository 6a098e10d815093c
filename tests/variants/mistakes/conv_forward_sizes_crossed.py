# tasks: conv_forward_naive
# diagnosis: sizes_swapped
# not named: on every graded case where the swap changes the output size a window runs past the edge and the
# code raises, and an exception alone does not tell this mistake from others, so the grader stays silent
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    # Rows and columns paired the wrong way round.
    out_h = 1 + (W + 2 * pad - WW) // stride
    out_w = 1 + (H + 2 * pad - HH) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, out_h, out_w))
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    out[n, f, i, j] = np.sum(x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)
