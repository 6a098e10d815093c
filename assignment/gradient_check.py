"""Numeric gradients by centered differences, and the relative error students compare with."""

import numpy as np

from assignment.compare import relative_errors


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    return float(np.max(relative_errors(x, y)))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numeric gradient of a scalar function at x, by centered differences.

    Parameters
    ----------
    f : callable
        Takes one array of the shape of x and returns a float.
    x : ndarray, any shape
        Point of evaluation; changed temporarily, restored on return.
    verbose : bool
        Print each coordinate and its gradient.
    h : float
        Step.

    Returns
    -------
    grad : ndarray, shape of x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numeric gradient of ``sum(f(x) * df)`` at x: the backward pass of f for upstream df.

    Parameters
    ----------
    f : callable
        Takes one array of the shape of x and returns an array of the shape of df.
    x : ndarray, any shape
        Changed temporarily, restored on return.
    df : ndarray, shape of f(x)
        Upstream gradient.
    h : float

    Returns
    -------
    grad : ndarray, shape of x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = f(x).copy()
        x[ix] = old - h
        neg = f(x).copy()
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad
