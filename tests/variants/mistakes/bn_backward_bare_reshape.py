# tasks: spatial_batchnorm_backward
# diagnosis: reshape_without_transpose
from assignment.layers import batchnorm_backward


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
