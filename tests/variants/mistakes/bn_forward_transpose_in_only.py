# tasks: spatial_batchnorm_forward
# diagnosis: reshape_without_transpose
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    C = x.shape[1]
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_rows, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    return out_rows.reshape(x.shape), cache  # straight back, without undoing the transpose
