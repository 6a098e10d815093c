# tasks: spatial_batchnorm_forward
# Written out by hand: defaults read with bn_param.get, the running statistics assigned as new arrays in train
# mode (not updated in place), test mode reading bn_param only. Its cache is the 1-D batchnorm's, which the
# reference backward takes.
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(C))
    running_var = bn_param.get("running_var", np.zeros(C))
    if bn_param["mode"] == "train":
        mean, var = rows.mean(axis=0), rows.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (rows - mean) * inv_std
    out = (gamma * x_hat + beta).reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, (x_hat, gamma, inv_std)
