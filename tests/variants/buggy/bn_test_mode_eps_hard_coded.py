# tasks: spatial_batchnorm_forward
# fails: test mode: normalizes with the given eps
# diagnosis: eps_ignored
# Train mode through the course's batchnorm_forward; test mode written out by hand with the default eps
# hard-coded: right whenever eps is 1e-5, wrong for any other eps given in bn_param.
import numpy as np
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    if bn_param["mode"] == "test":
        mean = bn_param["running_mean"].reshape(1, C, 1, 1)
        std = np.sqrt(bn_param["running_var"].reshape(1, C, 1, 1) + 1e-5)
        return gamma.reshape(1, C, 1, 1) * (x - mean) / std + beta.reshape(1, C, 1, 1), None
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
