# tasks: spatial_batchnorm_backward
# fails: inputs unchanged
# diagnosis: none
# Reuses the cache's x_hat as scratch space: right gradients, but a second backward through the same cache
# would get other ones.
def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    N, C, H, W = dout.shape
    drows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dbeta, dgamma = drows.sum(axis=0), (drows * x_hat).sum(axis=0)
    dx_hat = drows * gamma
    x_hat *= (dx_hat * x_hat).mean(axis=0)
    drows = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat)
    return drows.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
