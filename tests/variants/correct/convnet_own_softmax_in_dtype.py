# tasks: three_layer_convnet
# Its own softmax cross-entropy through log-sum-exp (stable for scores of any size), every array in the
# model's dtype: float32 scores and gradients for a float32 model, float64 for a float64 one.
import numpy as np
from assignment.layer_utils import (affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
                                    conv_relu_pool_forward)
from assignment.layers import affine_backward, affine_forward


def cross_entropy(scores, y):
    """Mean softmax cross-entropy of scores (N, K) and its gradient, in the scores' dtype."""
    top = scores.max(axis=1, keepdims=True)
    log_norm = top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
    log_probs = scores - log_norm
    N = len(y)
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    return -log_probs[np.arange(N), y].sum() / N, dscores / scores.dtype.type(N)


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.reg, self.dtype = reg, dtype
        C, H, W = input_dim
        weight_shapes = {
            "W1": (num_filters, C, filter_size, filter_size),
            "W2": (num_filters * (H // 2) * (W // 2), hidden_dim),
            "W3": (hidden_dim, num_classes),
        }
        self.params = {}
        for index, (name, shape) in enumerate(weight_shapes.items(), start=1):
            self.params[name] = (weight_scale * np.random.randn(*shape)).astype(dtype)
            self.params[f"b{index}"] = np.zeros(shape[0] if index == 1 else shape[1], dtype=dtype)

    def loss(self, X, y=None):
        p = self.params
        X = np.asarray(X, dtype=self.dtype)
        conv_param = {"stride": 1, "pad": (p["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, c1 = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        a2, c2 = affine_relu_forward(a1, p["W2"], p["b2"])
        scores, c3 = affine_forward(a2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = cross_entropy(scores, y)
        grads = {}
        da2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        da1, grads["W2"], grads["b2"] = affine_relu_backward(da2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(da1, c1)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(p[name] * p[name])
            grads[name] += self.reg * p[name]
        return float(loss), grads
