# tasks: spatial_batchnorm_forward
# diagnosis: per_pixel_normalization
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * bn_param.get("running_mean", 0) + (1 - momentum) * mean
        bn_param["running_var"] = momentum * bn_param.get("running_var", 0) + (1 - momentum) * var
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    out = (x - mean) / np.sqrt(var + eps)
    return gamma[:, None, None] * out + beta[:, None, None], None
