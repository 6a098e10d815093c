# tasks: conv_backward_naive
# fails: inputs unchanged
# The forward hides its cache in an object the protocol can only name; the backward computes the right
# gradients and then zeroes the x inside it. The grader cannot see into the object: it must not say
# "unchanged".
import numpy as np

_reference_forward, _reference_backward = conv_forward_naive, conv_backward_naive  # noqa: F821


class Box:
    def __init__(self, items):
        self.items = items


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _reference_forward(x, w, b, conv_param)
    return out, Box(cache)


def conv_backward_naive(dout, cache):
    grads = _reference_backward(dout, cache.items)
    cache.items[0][...] = 0
    return grads
