# tasks: max_pool_backward_naive
# fails: speed
# diagnosis: none
import time

import numpy as np


def max_pool_backward_naive(dout, cache):
    # Correct, but after its loops it waits 60 times the CPU time they took: slow on an idle machine and
    # on a busy one alike (waiting counts as the call's time; only waiting for a CPU does not).
    started = time.thread_time()
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    time.sleep(60 * (time.thread_time() - started))
    return dx
