# tasks: three_layer_convnet
# diagnosis: w2_square_or_even
import numpy as np
from assignment.layer_utils import (affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
                                    conv_relu_pool_forward)
from assignment.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.reg, self.dtype = reg, dtype
        C, H, W = input_dim
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * H * W // 4, hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1, W2, b2, W3, b3 = (self.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, c1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        a2, c2 = affine_relu_forward(a1, W2, b2)
        scores, c3 = affine_forward(a2, W3, b3)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        da2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        da1, grads["W2"], grads["b2"] = affine_relu_backward(da2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(da1, c1)
        for k in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(self.params[k] ** 2)
            grads[k] += self.reg * self.params[k]
        return loss, grads
