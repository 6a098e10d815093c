# tasks: spatial_groupnorm_backward
# diagnosis: none
import numpy as np


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N = dout.shape[0]
    dxh = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    dx = inv_std * (dxh - xh * (dxh * xh).mean(axis=2, keepdims=True))  # the mean path is missing
    return (dx.reshape(dout.shape), (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True),
            dout.sum(axis=(0, 2, 3), keepdims=True))
