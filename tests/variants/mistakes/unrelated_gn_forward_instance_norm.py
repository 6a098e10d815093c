# tasks: spatial_groupnorm_forward
# diagnosis: none
# Statistics per (sample, channel) over (H, W) only, whatever G is (an instance norm): at G = 1 it equals what
# C // G groups give, at G = C it is right; neither is evidence of groups confused with channels per group.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    out = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return out, (x, gamma, mean, var, eps)
