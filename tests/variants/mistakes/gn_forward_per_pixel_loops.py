# tasks: spatial_groupnorm_forward
# diagnosis: per_pixel_normalization
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    size = C // G
    out = np.zeros_like(x)
    for n in range(N):
        for g in range(G):
            block = x[n, g * size:(g + 1) * size]  # (size, H, W)
            mu = np.mean(block, axis=0)
            sigma = np.sqrt(np.var(block, axis=0) + eps)
            out[n, g * size:(g + 1) * size] = (block - mu) / sigma
    return gamma * out + beta, None
