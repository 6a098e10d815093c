"""Provided layers: affine, ReLU, softmax loss and the 1-D batch normalization.

Every layer is a pair ``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)``.
Dimensions: N examples, D features, M outputs, C classes.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        Inputs; each example is flattened to D = d_1 * ... * d_k values.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple (x, w, b)
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple (x, w, b) from the forward pass

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise ``max(0, x)``; x of any shape. Returns (out, x)."""
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`; ``dout`` has the shape of x. Returns dx."""
    x = cache
    return dout * (x > 0)


def softmax_loss(x, y):
    """Softmax cross-entropy loss averaged over the batch.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores.
    y : ndarray of int, shape (N,)
        Labels, ``0 <= y[i] < C``.

    Returns
    -------
    loss : float
    dx : ndarray, shape (N, C)
        Gradient of the loss with respect to x.
    """
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    dx /= n
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization over the batch axis, per feature.

    In ``'train'`` mode the batch mean and variance normalize x, and the running averages are
    updated in place: ``running = momentum * running + (1 - momentum) * batch_stat``.
    In ``'test'`` mode the running averages normalize x.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma : ndarray, shape (D,)
        Scale.
    beta : ndarray, shape (D,)
        Shift.
    bn_param : dict
        ``mode`` ('train' or 'test', required), ``eps`` (default 1e-5), ``momentum``
        (default 0.9), ``running_mean`` and ``running_var`` (shape (D,), default zeros; created
        in ``bn_param`` when absent).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple or None
        What the backward pass needs (train mode); None in test mode.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))

    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        out = gamma * x_hat + beta
        # In place, so that a caller holding the arrays sees the update.
        running_mean *= momentum
        running_mean += (1 - momentum) * mean
        running_var *= momentum
        running_var += (1 - momentum) * var
        cache = (x_hat, gamma, inv_std)
    elif mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        cache = None
    else:
        raise ValueError(f"batchnorm mode must be 'train' or 'test', got {mode!r}")

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in train mode.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : from :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
    """
    x_hat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # Simplified form of the chain rule through the batch mean and variance.
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, dgamma, dbeta
