# tasks: spatial_groupnorm_forward
# diagnosis: groups_as_group_size
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    x_hat = np.empty_like(x)
    for n in range(N):
        for start in range(0, C, G):  # steps of G channels: groups of size G
            block = x[n, start:start + G]
            x_hat[n, start:start + G] = (block - block.mean()) / np.sqrt(block.var() + eps)
    return gamma * x_hat + beta, None
