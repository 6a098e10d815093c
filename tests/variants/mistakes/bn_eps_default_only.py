# tasks: spatial_batchnorm_forward
# diagnosis: eps_ignored
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    param = {key: value for key, value in bn_param.items() if key != "eps"}  # eps dropped: default 1e-5
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, param)
    for key in ("running_mean", "running_var"):
        bn_param[key] = param[key]
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
