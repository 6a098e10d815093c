"""The classic mistakes of the nine tasks: an id, the tasks it shows in, and one sentence naming it with its fix.

One catalogue serves two readers. The notebook's checks (:mod:`assignment.checks`) show a text as the hint of
a failed measurement; the grader names a mistake in its report only when the evidence shows it (what the
student's code returned equals what code with that mistake returns on the same input). The grader's
fingerprints live with the grader, not here: this module holds ids and texts, no reference code.
"""

from dataclasses import dataclass

__all__ = ["Mistake", "MISTAKES", "text"]


@dataclass(frozen=True)
class Mistake:
    """One classic mistake."""

    id: str
    """Stable name, used by the grader's fingerprints and in reports."""
    tasks: tuple
    """Task ids (assignment.cases.TASK_IDS) it shows in."""
    text: str
    """One sentence: what the code does wrong, then the fix."""


_CONV_POOL = ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive")
_BN = ("spatial_batchnorm_forward", "spatial_batchnorm_backward")
_GN = ("spatial_groupnorm_forward", "spatial_groupnorm_backward")

_ALL = (
    Mistake(
        "pad_zero_slicing",
        ("conv_backward_naive",),
        "pad = 0 slicing: dx_pad[:, :, p:-p, p:-p] is empty when p = 0; crop with "
        "dx_pad[:, :, p:p + H, p:p + W] instead",
    ),
    Mistake(
        "padding_not_cropped",
        ("conv_backward_naive",),
        "padding not cropped: dx must have x's shape (N, C, H, W); crop the padded gradient with "
        "dx_pad[:, :, p:p + H, p:p + W] before returning it",
    ),
    Mistake(
        "stride_ignored",
        _CONV_POOL,
        "stride ignored: window (i, j) starts at row i * stride and column j * stride, not at (i, j)",
    ),
    Mistake(
        "sizes_swapped",
        ("conv_forward_naive", "max_pool_forward_naive", "max_pool_backward_naive"),
        "height and width mixed up: rows go with H and HH (pool_height), columns with W and WW "
        "(pool_width); H' = 1 + (H + 2 * pad - HH) // stride and W' = 1 + (W + 2 * pad - WW) // stride",
    ),
    Mistake(
        "divisibility_assumed",
        _CONV_POOL,
        "sizes assumed to divide evenly: the stride need not divide H + 2 * pad - HH; drop the assert and "
        "use H' = 1 + (H + 2 * pad - HH) // stride, which ignores the trailing rows and columns",
    ),
    Mistake(
        "pool_backward_assigns",
        ("max_pool_backward_naive",),
        "overlapping windows must accumulate (+=): one input can be the maximum of several windows, "
        "and each of them sends it a gradient, so dx[...] = dout[...] loses all but the last",
    ),
    Mistake(
        "argmax_square_window",
        ("max_pool_backward_naive",),
        "argmax index arithmetic assumes a square window: the flat argmax of a pool_height x pool_width "
        "window is row * pool_width + col, so use np.unravel_index(np.argmax(window), window.shape)",
    ),
    Mistake(
        "reshape_without_transpose",
        _BN,
        "reshape without transpose: move C last before reshaping, x.transpose(0, 2, 3, 1).reshape(-1, C), "
        "so each row is one pixel's C channels (a bare reshape mixes channels), and undo both steps in "
        "reverse order on the way out",
    ),
    Mistake(
        "running_stats_not_updated",
        ("spatial_batchnorm_forward",),
        "running statistics not updated: pass bn_param itself to batchnorm_forward, which updates "
        "running_mean and running_var in place as momentum * running + (1 - momentum) * batch statistic, "
        "or store the new ones back into bn_param",
    ),
    Mistake(
        "running_stats_wrong_shape",
        ("spatial_batchnorm_forward",),
        "running statistics of the wrong shape: running_mean and running_var hold one value per channel, "
        "shape (C,), averaged over N, H and W",
    ),
    Mistake(
        "momentum_reversed",
        ("spatial_batchnorm_forward",),
        "momentum the wrong way round: running = momentum * running + (1 - momentum) * batch statistic",
    ),
    Mistake(
        "test_mode_batch_stats",
        ("spatial_batchnorm_forward",),
        "test mode used the batch's statistics: in test mode normalize with bn_param's running_mean and running_var",
    ),
    Mistake(
        "groups_as_group_size",
        _GN,
        "groups confused with channels per group: G is the number of groups, C // G the channels in each; "
        "x.reshape(N, G, -1) puts each (sample, group) in one row",
    ),
    Mistake(
        "per_pixel_normalization",
        ("spatial_batchnorm_forward", "spatial_groupnorm_forward"),
        "statistics taken per pixel: the mean and variance are over the spatial axes H and W too "
        "(batchnorm: over N, H, W per channel; group norm: over C // G, H, W per sample and group)",
    ),
    Mistake(
        "gamma_shape_c",
        _GN,
        "gamma and beta flattened to (C,): in group norm they have shape (1, C, 1, 1), so keep that shape "
        "(a (C,) array broadcasts along W) and return dgamma, dbeta of shape (1, C, 1, 1) "
        "(sum over axes (0, 2, 3) with keepdims=True)",
    ),
    Mistake(
        "eps_ignored",
        _BN + _GN,
        "eps ignored: divide by np.sqrt(var + eps) with the eps given in the parameter dict (default 1e-5)",
    ),
    Mistake(
        "eps_outside_sqrt",
        _BN + _GN,
        "eps outside the square root: divide by np.sqrt(var + eps), not np.sqrt(var) + eps",
    ),
    Mistake(
        "reg_missing_half",
        ("three_layer_convnet",),
        "the L2 term counts twice (its 0.5 left out, or the term added a second time): the loss adds "
        "0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2)) once, whose gradient is reg * W",
    ),
    Mistake(
        "reg_gradient_missing",
        ("three_layer_convnet",),
        "regularization missing from the gradients: add reg * W to the gradients of W1, W2 and W3 (not to the biases)",
    ),
    Mistake(
        "reg_biases",
        ("three_layer_convnet",),
        "biases regularized: the L2 term and its gradient cover W1, W2 and W3 only, not b1, b2, b3",
    ),
    Mistake(
        "bias_missing",
        ("conv_forward_naive", "three_layer_convnet"),
        "bias missing: every output of filter f gets + b[f] (the convnet: b1, b2 and b3 in their layers, "
        "through the conv and affine layers that take them)",
    ),
    Mistake(
        "softmax_on_scores",
        ("three_layer_convnet",),
        "softmax applied to the scores: loss(X) returns the last affine layer's raw scores, and softmax_loss "
        "takes those same scores (it applies the softmax itself)",
    ),
    Mistake(
        "w2_square_or_even",
        ("three_layer_convnet",),
        "W2 sized for square or even inputs: the 2x2 pool floors odd sides, so W2 has "
        "F * (H // 2) * (W // 2) rows (not F * H * W // 4, nor H used for W)",
    ),
    Mistake(
        "layer_order",
        ("three_layer_convnet",),
        "layers in the wrong order: the architecture is conv - relu - 2x2 max pool - affine - relu - affine, "
        "the relu after the hidden affine and none on the scores",
    ),
)

MISTAKES = {mistake.id: mistake for mistake in _ALL}


def text(mistake_id):
    """The sentence of a catalogued mistake (a KeyError names an id that is not catalogued)."""
    return MISTAKES[mistake_id].text
