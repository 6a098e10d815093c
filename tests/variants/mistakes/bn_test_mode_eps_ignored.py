# tasks: spatial_batchnorm_forward
# diagnosis: eps_ignored
# eps ignored in test mode only: named from the test-mode cases, where the given eps is not the default
import numpy as np
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    if bn_param["mode"] == "test":
        mean, var = bn_param["running_mean"], bn_param["running_var"]
        x_hat = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None])  # eps forgotten here
        return gamma[None, :, None, None] * x_hat + beta[None, :, None, None], None
    rows, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
