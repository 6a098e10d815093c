# tasks: max_pool_backward_naive
# diagnosis: argmax_square_window
import numpy as np


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    HH, WW, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                for w in range(W_out):
                    patch = x[n, c, h * stride:h * stride + HH, w * stride:w * stride + WW]
                    index = patch.argmax()
                    row = index // HH
                    col = index % HH
                    dx[n, c, h * stride + row, w * stride + col] += dout[n, c, h, w]
    return dx
