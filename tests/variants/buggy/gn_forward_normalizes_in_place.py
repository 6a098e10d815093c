# tasks: spatial_groupnorm_forward
# fails: inputs unchanged
# diagnosis: none
# Normalizes x in place through a grouped view of it (no copy of x made): right outputs and gradients, but
# the caller's x now holds x_hat.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    groups = x.reshape(x.shape[0], G, -1)  # a view: x is contiguous
    inv_std = 1.0 / np.sqrt(groups.var(axis=2, keepdims=True) + gn_param.get("eps", 1e-5))
    groups -= groups.mean(axis=2, keepdims=True)
    groups *= inv_std
    return gamma * x + beta, (x, gamma, inv_std, G)
