# tasks: three_layer_convnet
# fails: dtype honoured in the computation
# diagnosis: none
# Parameters cast to dtype, but X cast to float64 whatever the dtype: a float32 model computes in float64, its
# gradients are float64, and the Solver's first update turns its float32 parameters into float64 ones.
import numpy as np
from assignment.layer_utils import (affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
                                    conv_relu_pool_forward)
from assignment.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.reg, self.dtype = reg, dtype
        C, H, W = input_dim
        shapes = {
            "W1": (num_filters, C, filter_size, filter_size), "b1": (num_filters,),
            "W2": (num_filters * (H // 2) * (W // 2), hidden_dim), "b2": (hidden_dim,),
            "W3": (hidden_dim, num_classes), "b3": (num_classes,),
        }
        self.params = {}
        for name, shape in shapes.items():
            value = weight_scale * np.random.randn(*shape) if name.startswith("W") else np.zeros(shape)
            self.params[name] = value.astype(dtype)

    def loss(self, X, y=None):
        p = self.params
        conv_param = {"stride": 1, "pad": (p["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, c1 = conv_relu_pool_forward(X.astype(np.float64), p["W1"], p["b1"], conv_param, pool_param)
        a2, c2 = affine_relu_forward(a1, p["W2"], p["b2"])
        scores, c3 = affine_forward(a2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        da2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        da1, grads["W2"], grads["b2"] = affine_relu_backward(da2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(da1, c1)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[name] ** 2)
            grads[name] += self.reg * p[name]
        return loss, grads
