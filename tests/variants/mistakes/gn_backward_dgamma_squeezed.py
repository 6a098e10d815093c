# tasks: spatial_groupnorm_backward
# diagnosis: gamma_shape_c
import numpy as np


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N, C, H, W = dout.shape
    dgamma = np.einsum("nchw,nchw->c", dout, x_hat)
    dbeta = np.einsum("nchw->c", dout)
    M = C // G * H * W
    dxh = (dout * gamma).reshape(N, G, M)
    xh = x_hat.reshape(N, G, M)
    dx = inv_std / M * (M * dxh - dxh.sum(axis=2, keepdims=True) - xh * (dxh * xh).sum(axis=2, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta
