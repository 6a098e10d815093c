# tasks: spatial_batchnorm_forward
# diagnosis: running_stats_not_updated
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    param = {key: (value.copy() if hasattr(value, "copy") else value) for key, value in bn_param.items()}
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
