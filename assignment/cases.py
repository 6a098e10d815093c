"""Seeded inputs for the nine tasks: the public cases the notebook checks, and the generators behind them.

The grader uses the same generators with its own hidden parameters. Every array is float64 and comes from
``numpy.random.default_rng(seed)``, so a case is fully described by its parameters.
"""
import numpy as np

# The nine tasks of SPEC section 3, in its order: the notebook's stubs, the checks, the grader's table.
TASK_IDS = (
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "three_layer_convnet",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
)


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


# The public case of each task: the parameters the notebook's check cells use.
PUBLIC_CASES = {
    "conv_forward_naive": dict(N=2, C=3, H=4, W=4, F=3, HH=4, WW=4, stride=2, pad=1, seed=1),
    "conv_backward_naive": dict(N=4, C=3, H=5, W=5, F=2, HH=3, WW=3, stride=1, pad=1, seed=2),
    "max_pool_forward_naive": dict(N=2, C=3, H=4, W=4, pool_height=2, pool_width=2, stride=2, seed=3),
    "max_pool_backward_naive": dict(N=3, C=2, H=8, W=8, pool_height=2, pool_width=2, stride=2, seed=4),
    "spatial_batchnorm_forward": dict(N=10, C=3, H=4, W=5, seed=6, scale=4.0, shift=10.0),
    "spatial_batchnorm_backward": dict(N=2, C=3, H=4, W=5, seed=7, scale=5.0, shift=12.0),
    "spatial_groupnorm_forward": dict(N=2, C=6, H=4, W=5, seed=8, scale=4.0, shift=10.0),
    "spatial_groupnorm_backward": dict(N=2, C=6, H=4, W=5, seed=9, scale=5.0, shift=12.0),
}
PUBLIC_GROUPS = 2  # G of both public group-norm cases (C = 6 channels, groups of 3)
