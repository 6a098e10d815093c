# tasks: spatial_batchnorm_forward
# fails: train mode without running statistics
# diagnosis: none
# A copy of bn_param goes to the 1-D batchnorm. Running statistics passed in are updated all the same (the
# copy holds the very same arrays, updated in place); when bn_param has none, the new ones are stored in the
# copy only, and lost.
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    param = dict(bn_param)
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
