# tasks: spatial_groupnorm_forward
# diagnosis: groups_as_group_size, eps_ignored
# not named: where both show its output fits no variant, which contradicts each mistake (not that mistake alone)
# Two mistakes at once: where both show, no variant makes both and nothing may be named. Eps alone shows on two
# cases (C = 4, G = 2: groups of G channels are then the right groups there), but every other case, where both
# show, contradicts it, and a contradicted mistake is never named, however many cases support it.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    grouped = x.reshape(N, C // G, -1)
    x_hat = (grouped - grouped.mean(axis=2, keepdims=True)) / grouped.std(axis=2, keepdims=True)
    return gamma * x_hat.reshape(x.shape) + beta, None
