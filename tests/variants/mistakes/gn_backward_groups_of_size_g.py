# tasks: spatial_groupnorm_backward
# diagnosis: groups_as_group_size
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    rows = x.reshape(N * (C // G), -1)
    inv_std = 1.0 / np.sqrt(rows.var(axis=1, keepdims=True) + eps)
    x_hat = ((rows - rows.mean(axis=1, keepdims=True)) * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, C // G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, groups = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    dxh = (dout * gamma).reshape(N * groups, -1)
    xh = x_hat.reshape(N * groups, -1)
    dx = inv_std * (dxh - dxh.mean(axis=1, keepdims=True) - xh * (dxh * xh).mean(axis=1, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta
