# tasks: spatial_groupnorm_forward
# diagnosis: none
# One set per sample over (C, H, W), whatever G is (a layer norm): right at G = 1, and at G = C it equals what
# C // G groups give; that alone is no evidence of groups confused with channels per group.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N = x.shape[0]
    flat = x.reshape(N, -1)
    x_hat = (flat - flat.mean(axis=1, keepdims=True)) / np.sqrt(flat.var(axis=1, keepdims=True) + eps)
    return gamma * x_hat.reshape(x.shape) + beta, None
