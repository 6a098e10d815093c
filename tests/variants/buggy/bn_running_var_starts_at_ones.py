# tasks: spatial_batchnorm_forward
# fails: train mode without running statistics
# diagnosis: none
# The running variance starts at ones when bn_param has none (as a fresh PyTorch layer's does); the contract
# starts both running statistics at zeros. Right whenever the statistics are passed in.
import numpy as np
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    bn_param.setdefault("running_mean", np.zeros(C))
    bn_param.setdefault("running_var", np.ones(C))
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
