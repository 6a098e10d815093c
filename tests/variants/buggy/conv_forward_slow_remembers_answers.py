# tasks: conv_forward_naive
# fails: speed
# diagnosis: none
# Far slower than straightforward loops, but remembers every answer it gave: a speed measurement repeated
# on the same inputs would find it instant. The confirmation of a failed speed check draws new inputs.
import time

import numpy as np

_answers = {}


def conv_forward_naive(x, w, b, conv_param):
    key = (x.tobytes(), x.shape, w.tobytes(), w.shape, b.tobytes(), conv_param["stride"], conv_param["pad"])
    if key in _answers:
        return _answers[key].copy(), (x, w, b, conv_param)
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * s:i * s + HH, j * s:j * s + WW] * w[f]) + b[f]
                    time.sleep(5e-4)
    _answers[key] = out.copy()
    return out, (x, w, b, conv_param)
