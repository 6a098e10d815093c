# tasks: spatial_groupnorm_forward
# diagnosis: none
# eps read as gn_param["eps"]: right whenever eps is given, a KeyError on gn_param = {}, whose eps is the
# default 1e-5.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param["eps"]
    groups = x.reshape(x.shape[0], G, -1)
    mean = groups.mean(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(groups.var(axis=2, keepdims=True) + eps)
    x_hat = ((groups - mean) * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, G)
