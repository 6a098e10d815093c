# tasks: spatial_batchnorm_forward
# diagnosis: test_mode_batch_stats
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    param = dict(bn_param, mode="train") if bn_param["mode"] == "test" else bn_param
    rows, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, param)
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
