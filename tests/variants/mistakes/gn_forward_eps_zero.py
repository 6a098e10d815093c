# tasks: spatial_groupnorm_forward
# diagnosis: eps_ignored
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N = x.shape[0]
    grouped = x.reshape(N, G, -1)
    x_hat = (grouped - grouped.mean(axis=2, keepdims=True)) / grouped.std(axis=2, keepdims=True)
    return gamma * x_hat.reshape(x.shape) + beta, None
