# tasks: conv_forward_naive
# A correct loop implementation whose first 12 calls (every graded case and speed round of the first
# measurement) each lose 0.2 s, as on a machine that is busy for a while: a speed verdict over budget is
# confirmed on fresh inputs, so a moment of load does not cost a correct submission its speed point.
import time

import numpy as np

_calls_so_far = [0]


def conv_forward_naive(x, w, b, conv_param):
    _calls_so_far[0] += 1
    if _calls_so_far[0] <= 12:
        time.sleep(0.2)
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.empty((N, F, H_out, W_out), dtype=x.dtype)
    for row in range(H_out):
        for col in range(W_out):
            top, left = row * stride, col * stride
            window = padded[:, :, top:top + HH, left:left + WW]
            out[:, :, row, col] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)
