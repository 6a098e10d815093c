# tasks: conv_backward_naive
# fails: speed
# diagnosis: none
import time

import numpy as np


def conv_backward_naive(dout, cache):
    # Correct, but after its loops it waits 60 times the CPU time they took: slow on an idle machine and
    # on a busy one alike (waiting counts as the call's time; only waiting for a CPU does not).
    started = time.thread_time()
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n, f, i, j in np.ndindex(*dout.shape):
        window = (n, slice(None), slice(i * s, i * s + HH), slice(j * s, j * s + WW))
        dw[f] += dout[n, f, i, j] * xp[window]
        dxp[window] += dout[n, f, i, j] * w[f]
    db = dout.sum(axis=(0, 2, 3))
    time.sleep(60 * (time.thread_time() - started))
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, db
