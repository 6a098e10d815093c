"""Reference three-layer convolutional network (task ``three_layer_convnet``).

Architecture: conv - relu - 2x2 max pool - affine - relu - affine - softmax, built from the
sandwich layers of :mod:`assignment.layer_utils` and the layers of :mod:`assignment.layers`.

Dimensions: N examples, C x H x W input, F filters of fs x fs, hidden_dim hidden units,
num_classes classes.
"""

import numpy as np

from assignment.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from assignment.layers import affine_backward, affine_forward, softmax_loss

__all__ = ["ThreeLayerConvNet"]

POOL_SIZE = 2  # the architecture's fixed 2x2 max pool with stride 2 halves H and W
WEIGHT_NAMES = ("W1", "W2", "W3")  # the regularized parameters; biases are not


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has stride 1 and pad ``(filter_size - 1) // 2``, which keeps H x W for
    the odd filter sizes this network accepts; the pool then floors odd sizes to H // 2.

    Parameters
    ----------
    input_dim : tuple of int (C, H, W)
        Shape of one input image; H and W may differ.
    num_filters : int
        F, the number of convolution filters.
    filter_size : int
        fs, the (odd) side of the square filters.
    hidden_dim : int
        Units of the hidden affine layer.
    num_classes : int
        Scores per example.
    weight_scale : float
        Standard deviation of the normal initial weights.
    reg : float
        L2 strength: the loss adds ``0.5 * reg * sum(W ** 2)`` for W1, W2, W3.
    dtype : numpy dtype
        Dtype of every parameter and of the computation.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1 (F, C, fs, fs)``, ``b1 (F,)``, ``W2 (F * (H // 2) * (W // 2), hidden_dim)``,
        ``b2 (hidden_dim,)``, ``W3 (hidden_dim, num_classes)``, ``b3 (num_classes,)``.
    """

    def __init__(
        self,
        input_dim=(3, 32, 32),
        num_filters=32,
        filter_size=7,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
        dtype=np.float32,
    ):
        if filter_size % 2 == 0:
            # An even filter with pad (fs - 1) // 2 shrinks the image by one pixel, and W2's
            # shape, fixed by the contract to F * (H // 2) * (W // 2) rows, would not fit.
            raise ValueError(f"filter_size must be odd, got filter_size={filter_size}")
        self.reg = reg
        self.dtype = dtype
        self.filter_size = filter_size
        channels, height, width = input_dim
        pooled_size = num_filters * (height // POOL_SIZE) * (width // POOL_SIZE)
        shapes = {
            "W1": (num_filters, channels, filter_size, filter_size),
            "b1": (num_filters,),
            "W2": (pooled_size, hidden_dim),
            "b2": (hidden_dim,),
            "W3": (hidden_dim, num_classes),
            "b3": (num_classes,),
        }
        self.params = {name: _initial_value(name, shape, weight_scale, dtype) for name, shape in shapes.items()}

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
            Input images.
        y : ndarray of int, shape (N,), optional
            Labels in ``0 .. num_classes - 1``.

        Returns
        -------
        scores : ndarray, shape (N, num_classes)
            When y is None.
        loss : float
            When y is given: mean softmax cross-entropy plus the L2 term.
        grads : dict of str to ndarray
            When y is given: the gradient of ``loss`` for every entry of ``params``, same
            keys and shapes.
        """
        scores, caches = self._forward(X.astype(self.dtype, copy=False))
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        grads = self._backward(dscores, caches)
        reg_loss = 0.0
        for name in WEIGHT_NAMES:
            weights = self.params[name]
            reg_loss += 0.5 * self.reg * np.sum(weights * weights)
            grads[name] += self.reg * weights
        return float(data_loss + reg_loss), grads

    def _forward(self, X):
        """Scores ``(N, num_classes)`` for ``X (N, C, H, W)`` and the three layers' caches."""
        p = self.params
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        pool_param = {"pool_height": POOL_SIZE, "pool_width": POOL_SIZE, "stride": POOL_SIZE}
        pooled, conv_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        return scores, (conv_cache, hidden_cache, scores_cache)

    @staticmethod
    def _backward(dscores, caches):
        """Data-loss gradients of every parameter, from ``dscores (N, num_classes)``."""
        conv_cache, hidden_cache, scores_cache = caches
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
        return grads


def _initial_value(name, shape, weight_scale, dtype):
    """Weights ``W*`` from N(0, weight_scale ** 2), biases ``b*`` zero; ``shape``, ``dtype``."""
    if name.startswith("W"):
        return (weight_scale * np.random.randn(*shape)).astype(dtype)
    return np.zeros(shape, dtype=dtype)
