# tasks: spatial_batchnorm_forward
# fails: train mode
# diagnosis: none
# The running variance is updated with the unbiased batch variance (ddof=1, as PyTorch does) while the
# batch is normalized with the biased one: the contract stores the biased variance, the one that
# normalizes the batch.
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if bn_param["mode"] == "train":
        mean, var = rows.mean(axis=0), rows.var(axis=0)
        for key, stat in (("running_mean", mean), ("running_var", rows.var(axis=0, ddof=1))):
            bn_param[key] = momentum * bn_param.get(key, np.zeros(C)) + (1 - momentum) * stat
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (rows - mean) * inv_std
    out = gamma * x_hat + beta
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (x_hat, gamma, inv_std)
