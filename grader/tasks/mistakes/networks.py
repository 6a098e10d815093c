"""The three-layer convnet with one classic mistake each (see the package docstring).

One parameterized network (:func:`network_loss`) gives every variant: where the relus are, which parameters
the L2 term covers, its factor, and whether its gradient is added. Inputs are those of the grader's loss
checks: float64 params keyed W1..b3 with the contract's shapes, X (N, C, H, W), y (N,) or None, reg.
"""

import numpy as np

from assignment.layer_utils import conv_relu_pool_backward, conv_relu_pool_forward
from assignment.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss
from grader.tasks.mistakes import NotShown

WEIGHTS = ("W1", "W2", "W3")
BIASES = ("b1", "b2", "b3")
ALL_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def _softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _smaller_sets(names):
    """Every subset of ``names`` but ``names`` itself, the empty one first."""
    return [tuple(n for i, n in enumerate(names) if mask >> i & 1) for mask in range(2 ** len(names) - 1)]


def network_loss(
    params,
    X,
    y,
    reg,
    hidden_relu=True,
    output_relu=False,
    loss_terms=WEIGHTS,
    grad_terms=WEIGHTS,
    factor=0.5,
    grad_factor=1.0,
    biases=BIASES,
    softmax=None,
):
    """Scores (y None) or (loss, grads) of conv - relu - pool - affine - [relu] - affine - [relu].

    loss_terms, grad_terms: the parameters the L2 term covers in the loss and in the gradients;
    factor: of reg * sum(p ** 2) in the loss; grad_factor: of reg * p in the gradients; biases: those the
    layers add (the others are left out of the forward pass); softmax: None, or the scores turned into
    probabilities before they are returned and given to softmax_loss, whose gradient then goes back through
    the softmax ("jacobian") or straight to the last affine layer ("ignored").
    """
    params = {
        name: np.zeros_like(value) if name in BIASES and name not in biases else value for name, value in params.items()
    }
    fs = params["W1"].shape[2]
    conv_param = {"stride": 1, "pad": (fs - 1) // 2}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    pooled, conv_cache = conv_relu_pool_forward(X, params["W1"], params["b1"], conv_param, pool_param)
    hidden, hidden_cache = affine_forward(pooled, params["W2"], params["b2"])
    if hidden_relu:
        hidden, hidden_relu_cache = relu_forward(hidden)
    scores, scores_cache = affine_forward(hidden, params["W3"], params["b3"])
    if output_relu:
        scores, scores_relu_cache = relu_forward(scores)
    logits = scores
    if softmax is not None:
        scores = _softmax(logits)
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    if softmax == "jacobian":
        dscores = scores * (dscores - np.sum(dscores * scores, axis=1, keepdims=True))
    grads = {}
    if output_relu:
        dscores = relu_backward(dscores, scores_relu_cache)
    dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
    if hidden_relu:
        dhidden = relu_backward(dhidden, hidden_relu_cache)
    dpooled, grads["W2"], grads["b2"] = affine_backward(dhidden, hidden_cache)
    _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
    loss += factor * reg * sum(np.sum(params[name] ** 2) for name in loss_terms)
    for name in grad_terms:
        grads[name] = grads[name] + grad_factor * reg * params[name]
    return float(loss), grads


def _with_reg(reg):
    if reg == 0:
        raise NotShown("reg = 0")


def reg_missing_half(params, X, y, reg):
    """reg * sum(W ** 2) in the loss: with the gradient reg * W, or with 2 * reg * W (its own derivative)."""
    _with_reg(reg)
    return [network_loss(params, X, y, reg, factor=1.0), network_loss(params, X, y, reg, factor=1.0, grad_factor=2.0)]


def reg_gradient_missing(params, X, y, reg):
    """reg * W left out of the gradient of some weights (all three, or only one or two of them)."""
    _with_reg(reg)
    return [network_loss(params, X, y, reg, grad_terms=terms) for terms in _smaller_sets(WEIGHTS)]


def reg_biases(params, X, y, reg):
    """Every parameter regularized: in the loss and the gradients, or in the loss alone."""
    _with_reg(reg)
    return [
        network_loss(params, X, y, reg, loss_terms=ALL_PARAMS, grad_terms=ALL_PARAMS),
        network_loss(params, X, y, reg, loss_terms=ALL_PARAMS),
    ]


def layer_order(params, X, y, reg):
    """A relu on the scores: after the hidden one (affine_relu used twice), or moved there from the hidden
    layer (affine then affine_relu)."""
    return [
        network_loss(params, X, y, reg, output_relu=True),
        network_loss(params, X, y, reg, hidden_relu=False, output_relu=True),
    ]


def bias_missing(params, X, y, reg):
    """A layer's bias never added in the forward pass (any of b1, b2, b3, or several of them)."""
    return [network_loss(params, X, y, reg, biases=kept) for kept in _smaller_sets(BIASES)]


def softmax_on_scores(params, X, y, reg):
    """Softmax probabilities in place of the scores: returned by loss(X), and given to softmax_loss, whose
    gradient goes through the softmax or straight to the last affine layer."""
    if y is None:
        return network_loss(params, X, y, reg, softmax="ignored")
    return [network_loss(params, X, y, reg, softmax=way) for way in ("jacobian", "ignored")]


def w2_rows(input_dim, num_filters):
    """The rows of W2 that code sizing it for even or square inputs gives (the contract: F * (H // 2) * (W // 2))."""
    _, height, width = input_dim
    return {num_filters * height * width // 4, num_filters * (height // 2) ** 2, num_filters * (width // 2) ** 2}
