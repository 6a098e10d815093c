# tasks: spatial_groupnorm_forward
# diagnosis: gamma_shape_c
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    grouped = x.reshape(N, G, -1)
    x_hat = ((grouped - grouped.mean(axis=2, keepdims=True))
             / np.sqrt(grouped.var(axis=2, keepdims=True) + eps)).reshape(x.shape)
    gamma, beta = gamma.ravel(), beta.ravel()  # (C,) "like batchnorm"
    return gamma * x_hat + beta, None
