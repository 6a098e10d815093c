# tasks: spatial_batchnorm_forward
# diagnosis: running_stats_wrong_shape
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    eps = bn_param.get("eps", 1e-5)
    m = bn_param.get("momentum", 0.9)
    count = N * H * W
    if bn_param["mode"] == "train":
        mu = np.sum(x, axis=(0, 2, 3), keepdims=True) / count
        sigma2 = np.sum((x - mu) ** 2, axis=(0, 2, 3), keepdims=True) / count
        for key, stat in (("running_mean", mu), ("running_var", sigma2)):
            previous = np.reshape(bn_param.get(key, np.zeros(C)), (1, C, 1, 1))
            bn_param[key] = m * previous + (1 - m) * stat
    else:
        mu = bn_param["running_mean"].reshape(1, C, 1, 1)
        sigma2 = bn_param["running_var"].reshape(1, C, 1, 1)
    out = gamma.reshape(1, C, 1, 1) * (x - mu) / np.sqrt(sigma2 + eps) + beta.reshape(1, C, 1, 1)
    return out, None
