# tasks: spatial_batchnorm_forward
# diagnosis: none
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), beta, gamma, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
