# tasks: spatial_groupnorm_forward
# diagnosis: groups_as_group_size, eps_ignored
# not named: where both show no variant fits, and where only eps shows (C = 4, G = 2) it is one case
# Two mistakes at once: where both show, no variant makes both and nothing may be named; where only one shows
# (C = 4, G = 2: groups of G channels are then the right groups), that one is named.
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    grouped = x.reshape(N, C // G, -1)
    x_hat = (grouped - grouped.mean(axis=2, keepdims=True)) / grouped.std(axis=2, keepdims=True)
    return gamma * x_hat.reshape(x.shape) + beta, None
