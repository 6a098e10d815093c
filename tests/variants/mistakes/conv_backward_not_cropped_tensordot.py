# tasks: conv_backward_naive
# diagnosis: padding_not_cropped
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    grad_x = np.zeros(xp.shape)
    grad_w = np.zeros(w.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = xp[:, :, i * s:i * s + HH, j * s:j * s + WW]
            grad_w += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
            grad_x[:, :, i * s:i * s + HH, j * s:j * s + WW] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    # The gradient of the padded input is returned as it is.
    return grad_x, grad_w, dout.sum(axis=(0, 2, 3))
