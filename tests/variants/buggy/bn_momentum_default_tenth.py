# tasks: spatial_batchnorm_forward
# fails: train mode without running statistics
# diagnosis: none
# momentum defaults to 0.1, PyTorch's default, in the course's formula momentum * running + (1 - momentum) *
# batch statistic, where PyTorch's 0.1 weighs the batch: the default must be 0.9. Right whenever momentum is
# given.
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    if bn_param["mode"] == "train":
        mean, var = rows.mean(axis=0), rows.var(axis=0)
        for key, stat in (("running_mean", mean), ("running_var", var)):
            bn_param[key] = momentum * bn_param.get(key, np.zeros(C)) + (1 - momentum) * stat
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (rows - mean) * inv_std
    out = gamma * x_hat + beta
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (x_hat, gamma, inv_std)
