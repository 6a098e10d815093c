# tasks: spatial_batchnorm_forward
# diagnosis: running_stats_wrong_shape
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    C = x.shape[1]
    g, b = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    if bn_param["mode"] == "train":
        mean = x.mean(axis=(0, 2, 3), keepdims=True)
        var = x.var(axis=(0, 2, 3), keepdims=True)
        running_mean = bn_param.get("running_mean", np.zeros(C)).reshape(1, C, 1, 1)
        running_var = bn_param.get("running_var", np.zeros(C)).reshape(1, C, 1, 1)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean = bn_param["running_mean"].reshape(1, C, 1, 1)
        var = bn_param["running_var"].reshape(1, C, 1, 1)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return g * x_hat + b, (x_hat, g, var, eps)
