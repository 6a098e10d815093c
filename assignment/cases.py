"""Seeded inputs of the tasks: the generators behind every case (the public ones are in the task table,
:mod:`assignment.tasks`).

The grader uses the same generators with its own hidden parameters. Every array is float64 and comes from
``numpy.random.default_rng(seed)``, so a case is fully described by its parameters.
"""

import numpy as np


def conv_inputs(N, C, H, W, F, HH, WW, stride, pad, seed):
    """Inputs of a convolution and an upstream gradient for its output.

    Returns
    -------
    dict with x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {'stride', 'pad'} and
    dout (N, F, H', W') where H' = 1 + (H + 2 * pad - HH) // stride, W' likewise.
    """
    rng = np.random.default_rng(seed)
    h_out = 1 + (H + 2 * pad - HH) // stride
    w_out = 1 + (W + 2 * pad - WW) // stride
    return {
        "x": rng.standard_normal((N, C, H, W)),
        "w": rng.standard_normal((F, C, HH, WW)),
        "b": rng.standard_normal(F),
        "conv_param": {"stride": stride, "pad": pad},
        "dout": rng.standard_normal((N, F, h_out, w_out)),
    }


def pool_inputs(N, C, H, W, pool_height, pool_width, stride, seed):
    """Inputs of a max pool, without ties (every value distinct), and an upstream gradient.

    Returns
    -------
    dict with x (N, C, H, W), pool_param {'pool_height', 'pool_width', 'stride'} and
    dout (N, C, H', W') where H' = 1 + (H - pool_height) // stride, W' likewise.
    """
    rng = np.random.default_rng(seed)
    size = N * C * H * W
    # A permutation of distinct values: no window has a tie, so the argmax is unique.
    x = (rng.permutation(size) / size - 0.5).reshape(N, C, H, W)
    h_out = 1 + (H - pool_height) // stride
    w_out = 1 + (W - pool_width) // stride
    return {
        "x": x,
        "pool_param": {"pool_height": pool_height, "pool_width": pool_width, "stride": stride},
        "dout": rng.standard_normal((N, C, h_out, w_out)),
    }


def batchnorm_inputs(N, C, H, W, seed, scale=1.0, shift=0.0):
    """Inputs of a spatial batch normalization: x (N, C, H, W), gamma (C,), beta (C,), dout (N, C, H, W)."""
    rng = np.random.default_rng(seed)
    return {
        "x": scale * rng.standard_normal((N, C, H, W)) + shift,
        "gamma": 1.0 + 0.5 * rng.standard_normal(C),
        "beta": rng.standard_normal(C),
        "dout": rng.standard_normal((N, C, H, W)),
    }


def groupnorm_inputs(N, C, H, W, seed, scale=1.0, shift=0.0):
    """Inputs of a spatial group normalization: x (N, C, H, W), gamma and beta (1, C, 1, 1), dout (N, C, H, W)."""
    rng = np.random.default_rng(seed)
    return {
        "x": scale * rng.standard_normal((N, C, H, W)) + shift,
        "gamma": 1.0 + 0.5 * rng.standard_normal((1, C, 1, 1)),
        "beta": rng.standard_normal((1, C, 1, 1)),
        "dout": rng.standard_normal((N, C, H, W)),
    }


PUBLIC_GROUPS = 2  # G of both public group-norm cases (C = 6 channels, groups of 3)


GIVEN_WEIGHT_STD = 0.3  # scores of order 1: the softmax neither saturates nor is flat


def param_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes):
    """The contract's parameter shapes (SPEC section 3): W2 has F * (H // 2) * (W // 2) rows."""
    channels, height, width = input_dim
    return {
        "W1": (num_filters, channels, filter_size, filter_size),
        "b1": (num_filters,),
        "W2": (num_filters * (height // 2) * (width // 2), hidden_dim),
        "b2": (hidden_dim,),
        "W3": (hidden_dim, num_classes),
        "b3": (num_classes,),
    }


def network_inputs(
    num_inputs,
    input_dim,
    num_filters,
    filter_size,
    hidden_dim,
    num_classes,
    reg,
    seed,
    score_offset=0.0,
    float32_values=False,
):
    """Inputs of the network case: X (N, C, H, W), y (N,) and given float64 parameters.

    Biases are nonzero on purpose, so a network that ignores one is caught. ``score_offset`` is added to b3,
    so to every score; with ``float32_values`` X and the parameters are rounded to float32 (and kept
    float64), so a float32 model holds exactly the values a float64 computation is given.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_inputs, *input_dim))
    y = rng.integers(0, num_classes, num_inputs)
    shapes = param_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes)
    params = {name: GIVEN_WEIGHT_STD * rng.standard_normal(shape) for name, shape in shapes.items()}
    params["b3"] += score_offset
    if float32_values:
        X = X.astype(np.float32).astype(np.float64)
        params = {name: value.astype(np.float32).astype(np.float64) for name, value in params.items()}
    return {"X": X, "y": y, "params": params}
