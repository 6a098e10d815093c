# tasks: spatial_batchnorm_forward
# fails: test mode
# diagnosis: none
# Test mode normalizes with the running statistics it was given, then moves them towards the batch's as train
# mode does: right outputs, but test mode must leave bn_param unchanged (SPEC section 3).
from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    if bn_param["mode"] == "test":
        momentum = bn_param.get("momentum", 0.9)
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * rows.mean(axis=0)
        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * rows.var(axis=0)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache
