# tasks: conv_forward_naive, conv_backward_naive, max_pool_forward_naive, max_pool_backward_naive, spatial_batchnorm_forward, spatial_batchnorm_backward, spatial_groupnorm_forward, spatial_groupnorm_backward
# Answers that are right on the public cases only, as a submission that looks up the expected values the
# notebook ships (assignment/public_expected.npz) would be; zeros of the right shape everywhere else.
import numpy as np

from assignment.cases import PUBLIC_GROUPS, batchnorm_inputs, conv_inputs, groupnorm_inputs, pool_inputs
from assignment.tasks import PUBLIC_CASES

_conv_forward, _conv_backward = conv_forward_naive, conv_backward_naive  # noqa: F821 (the references)
_pool_forward, _pool_backward = max_pool_forward_naive, max_pool_backward_naive  # noqa: F821
_bn_forward, _bn_backward = spatial_batchnorm_forward, spatial_batchnorm_backward  # noqa: F821
_gn_forward, _gn_backward = spatial_groupnorm_forward, spatial_groupnorm_backward  # noqa: F821
_INPUTS = {"conv": conv_inputs, "max_pool": pool_inputs, "spatial_batchnorm": batchnorm_inputs,
           "spatial_groupnorm": groupnorm_inputs}


def _public(task, array, key):
    """Whether ``array`` has the shape of the public case's ``key`` (x or dout) of ``task``."""
    family = task.rsplit("_", 2 if task.endswith("naive") else 1)[0]
    case = PUBLIC_CASES[task]
    if family == "spatial_groupnorm" or family == "spatial_batchnorm":
        case = {k: v for k, v in case.items() if k in ("N", "C", "H", "W", "seed", "scale", "shift")}
    return array.shape == _INPUTS[family](**case)[key].shape


def _looked_up(task, out, key, array):
    return out if _public(task, array, key) else np.zeros_like(out)


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _conv_forward(x, w, b, conv_param)
    return _looked_up("conv_forward_naive", out, "x", x), cache


def conv_backward_naive(dout, cache):
    grads = _conv_backward(dout, cache)
    return tuple(_looked_up("conv_backward_naive", g, "dout", dout) for g in grads)


def max_pool_forward_naive(x, pool_param):
    out, cache = _pool_forward(x, pool_param)
    return _looked_up("max_pool_forward_naive", out, "x", x), cache


def max_pool_backward_naive(dout, cache):
    return _looked_up("max_pool_backward_naive", _pool_backward(dout, cache), "dout", dout)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    if not _public("spatial_batchnorm_forward", x, "x"):
        param = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in bn_param.items()}
        return np.zeros_like(x), _bn_forward(x, gamma, beta, param)[1]
    return _bn_forward(x, gamma, beta, bn_param)


def spatial_batchnorm_backward(dout, cache):
    grads = _bn_backward(dout, cache)
    return tuple(_looked_up("spatial_batchnorm_backward", g, "dout", dout) for g in grads)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    out, cache = _gn_forward(x, gamma, beta, G, gn_param)
    public = _public("spatial_groupnorm_forward", x, "x") and G == PUBLIC_GROUPS
    return (out if public else np.zeros_like(out)), cache


def spatial_groupnorm_backward(dout, cache):
    grads = _gn_backward(dout, cache)
    return tuple(_looked_up("spatial_groupnorm_backward", g, "dout", dout) for g in grads)
