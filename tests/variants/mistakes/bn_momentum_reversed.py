# tasks: spatial_batchnorm_forward
# diagnosis: momentum_reversed
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    C = x.shape[1]
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    if bn_param["mode"] == "train":
        mean, var = rows.mean(axis=0), rows.var(axis=0)
        bn_param["running_mean"] = (1 - momentum) * bn_param.get("running_mean", np.zeros(C)) + momentum * mean
        bn_param["running_var"] = (1 - momentum) * bn_param.get("running_var", np.zeros(C)) + momentum * var
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    out = gamma * (rows - mean) / np.sqrt(var + eps) + beta
    return out.reshape(x.shape[0], x.shape[2], x.shape[3], C).transpose(0, 3, 1, 2), None
