# tasks: spatial_groupnorm_backward
# diagnosis: eps_ignored
import numpy as np

EPS = 1e-5


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N = x.shape[0]
    grouped = x.reshape(N, G, -1)
    inv_std = 1.0 / np.sqrt(grouped.var(axis=2, keepdims=True) + EPS)  # gn_param's eps never read
    x_hat = ((grouped - grouped.mean(axis=2, keepdims=True)) * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N = dout.shape[0]
    dxh = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    dx = inv_std * (dxh - dxh.mean(axis=2, keepdims=True) - xh * (dxh * xh).mean(axis=2, keepdims=True))
    return (dx.reshape(dout.shape), (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True),
            dout.sum(axis=(0, 2, 3), keepdims=True))
