# tasks: spatial_batchnorm_forward
# diagnosis: momentum_reversed
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    eps = bn_param.get("eps", 1e-5)
    keep = bn_param.get("momentum", 0.9)
    bn_param.setdefault("running_mean", np.zeros(C))
    bn_param.setdefault("running_var", np.zeros(C))
    if bn_param["mode"] == "train":
        mu, var = np.mean(x, axis=(0, 2, 3)), np.var(x, axis=(0, 2, 3))
        bn_param["running_mean"] *= 1 - keep
        bn_param["running_mean"] += keep * mu
        bn_param["running_var"] *= 1 - keep
        bn_param["running_var"] += keep * var
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
    x_hat = (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + eps)
    return gamma[:, None, None] * x_hat + beta[:, None, None], None
