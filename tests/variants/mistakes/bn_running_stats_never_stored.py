# tasks: spatial_batchnorm_forward
# diagnosis: running_stats_not_updated
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    C = x.shape[1]
    if bn_param["mode"] == "train":
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))
    else:
        mean = bn_param.get("running_mean", np.zeros(C))
        var = bn_param.get("running_var", np.ones(C))
    x_hat = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps)
    out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    return out, (x_hat, gamma, var, eps)
