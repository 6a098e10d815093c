# tasks: spatial_batchnorm_forward
# diagnosis: eps_outside_sqrt
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    C = x.shape[1]
    axes = (0, 2, 3)
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        bn_param["running_mean"] = momentum * bn_param.get("running_mean", np.zeros(C)) + (1 - momentum) * mean
        bn_param["running_var"] = momentum * bn_param.get("running_var", np.zeros(C)) + (1 - momentum) * var
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    x_hat = (x - mean[:, None, None]) / (np.sqrt(var[:, None, None]) + eps)
    return gamma[:, None, None] * x_hat + beta[:, None, None], None
