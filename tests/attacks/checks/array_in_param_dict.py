# tasks: conv_forward_naive
# fails: inputs unchanged
# A right output, and conv_param['stride'] replaced by an array afterwards: comparing the dict as it came
# back must say "changed", not evaluate the truth value of an array (an internal grader error).
import numpy as np

_reference_forward = conv_forward_naive  # noqa: F821


def conv_forward_naive(x, w, b, conv_param):
    result = _reference_forward(x, w, b, conv_param)
    conv_param["stride"] = np.array([conv_param["stride"]] * 2)
    return result
