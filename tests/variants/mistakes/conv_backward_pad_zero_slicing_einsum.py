# tasks: conv_backward_naive
# diagnosis: pad_zero_slicing
import numpy as np


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * stride, j * stride
            patch = x_pad[:, :, top:top + HH, left:left + WW]
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], patch)
            dx_pad[:, :, top:top + HH, left:left + WW] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    dx = dx_pad[:, :, pad:-pad, pad:-pad]
    return dx, dw, np.sum(dout, axis=(0, 2, 3))
