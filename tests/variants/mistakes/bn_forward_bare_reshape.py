# tasks: spatial_batchnorm_forward
# diagnosis: reshape_without_transpose
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.reshape(N * H * W, C), gamma, beta, bn_param)
    return out.reshape(N, C, H, W), cache
