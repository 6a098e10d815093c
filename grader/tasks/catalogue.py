"""The classic mistakes of every task, and the evidence that names one: the grader's side of the one
catalogue whose texts (:mod:`assignment.mistakes`) the notebook's checks show as hints.

A mistake is named on a failed check only by evidence:

- **a fingerprint**: what the student's code returned fits (validated and within the check's own threshold,
  shapes included) what a variant with that mistake (:mod:`grader.tasks.mistakes`) returns on the very
  same input, and the reference did not (the check failed);
- **an exception on a geometry**: for "divisibility assumed", an AssertionError on a case whose sizes do
  not divide by the stride, while every case whose sizes divide ran without one (:func:`settled`).

Exactly one mistake must fit: when none or several do, nothing is said. Variants run in the grader's
process on copies of the grader's own inputs; the student's value is only compared, through the same
validating comparisons as the check (grader.compare), so a hostile value can fit nothing but what it equals.

Left out on purpose: routing a pooling gradient to every tied maximum. Graded inputs have no ties (SPEC
section 4), so such code returns exactly what the reference does on every graded case and earns every
point; no evidence could tell it apart, and a probe with ties would name a "mistake" in code that passes.
Also silent: sizes swapped in a convolution where the swap makes a window run past the edge (the code
raises, and an exception alone does not tell this mistake from others).
"""

import copy
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from assignment.mistakes import text
from grader.tasks.mistakes import layers as L
from grader.tasks.mistakes import networks as net
from grader.tasks.mistakes import normalization as nm

RUNNING_STATS = "spatial_batchnorm_forward: running statistics"
"""Key of the running-statistics check's fingerprints: they return (running_mean, running_var)."""
ASSERTION = "AssertionError"  # the classic `assert (H + 2 * pad - HH) % stride == 0` of the course's older code


@dataclass(frozen=True)
class Fingerprint:
    mistake: str
    """An id of assignment.mistakes.MISTAKES."""
    variant: Callable
    """variant(*the call's arguments) -> what code with the mistake returns (a list: several candidates)."""


def _prints(mistake, *variants):
    return tuple(Fingerprint(mistake, variant) for variant in variants)


FINGERPRINTS = {
    "conv_forward_naive": (
        _prints("stride_ignored", L.conv_stride_ignored, L.conv_stride_ignored_everywhere)
        + _prints("sizes_swapped", L.conv_square_from_height, L.conv_square_from_width)
    ),
    "conv_backward_naive": (
        _prints("pad_zero_slicing", L.conv_backward_pad_zero_slicing)
        + _prints("padding_not_cropped", L.conv_backward_not_cropped)
        + _prints("stride_ignored", L.conv_backward_stride_ignored)
    ),
    "max_pool_forward_naive": (
        _prints("stride_ignored", L.pool_stride_ignored, L.pool_stride_ignored_everywhere)
        + _prints("sizes_swapped", L.pool_window_from_height, L.pool_window_from_width, L.pool_sizes_crossed)
    ),
    "max_pool_backward_naive": (
        _prints("pool_backward_assigns", L.pool_backward_assigns)
        + _prints("argmax_square_window", L.pool_backward_argmax_square)
        + _prints("stride_ignored", L.pool_backward_stride_ignored)
        + _prints("sizes_swapped", L.pool_backward_window_from_height, L.pool_backward_window_from_width)
    ),
    "spatial_batchnorm_forward": (
        _prints("reshape_without_transpose", nm.bn_reshape_without_transpose, nm.bn_transpose_in_only)
        + _prints("per_pixel_normalization", nm.bn_per_pixel, nm.bn_per_pixel_over_channels)
        + _prints("eps_ignored", nm.bn_eps_ignored)
        + _prints("eps_outside_sqrt", nm.bn_eps_outside_sqrt)
        + _prints("test_mode_batch_stats", nm.bn_test_mode_batch_stats)
    ),
    RUNNING_STATS: (
        _prints("running_stats_not_updated", nm.running_not_updated)
        + _prints("running_stats_wrong_shape", nm.running_keepdims)
        + _prints("momentum_reversed", nm.running_momentum_reversed)
    ),
    "spatial_batchnorm_backward": (
        _prints("reshape_without_transpose", nm.bn_backward_reshape_without_transpose)
        + _prints("eps_ignored", nm.bn_backward_eps_ignored)
        + _prints("eps_outside_sqrt", nm.bn_backward_eps_outside_sqrt)
    ),
    "spatial_groupnorm_forward": (
        _prints("groups_as_group_size", nm.gn_groups_as_group_size)
        + _prints("per_pixel_normalization", nm.gn_per_pixel)
        + _prints("gamma_shape_c", nm.gn_gamma_flattened)
        + _prints("eps_ignored", nm.gn_eps_ignored)
        + _prints("eps_outside_sqrt", nm.gn_eps_outside_sqrt)
    ),
    "spatial_groupnorm_backward": (
        _prints("groups_as_group_size", nm.gn_backward_groups_as_group_size)
        + _prints("gamma_shape_c", nm.gn_backward_gamma_flattened)
        + _prints("eps_ignored", nm.gn_backward_eps_ignored)
        + _prints("eps_outside_sqrt", nm.gn_backward_eps_outside_sqrt)
    ),
    "three_layer_convnet": (
        _prints("reg_missing_half", net.reg_missing_half)
        + _prints("reg_gradient_missing", net.reg_gradient_missing)
        + _prints("reg_biases", net.reg_biases)
        + _prints("layer_order", net.layer_order)
    ),
}
SHAPE_FINGERPRINTED = ("w2_square_or_even",)  # named from a parameter's shape (diagnose_w2), not by a variant
EXCEPTION_FINGERPRINTED = ("divisibility_assumed",)  # named from an exception and the case's geometry


def diagnose(key, args, fits):
    """The text of the one catalogued mistake whose variant's output ``fits``, or "".

    key: a task id (or RUNNING_STATS); args: the arguments of the graded call, as the grader sent them
    (for a backward: ``(dout, forward_args)``); fits(candidate) -> bool: the failed check's own comparison of
    the student's value against ``candidate`` in place of the reference. Call it only when that comparison
    against the reference failed.
    """
    found = set()
    for fingerprint in FINGERPRINTS.get(key, ()):
        if fingerprint.mistake not in found and any(fits(c) for c in _candidates(fingerprint, args)):
            found.add(fingerprint.mistake)
    return text(found.pop()) if len(found) == 1 else ""


def _candidates(fingerprint, args):
    """What the variant returns on copies of ``args``: [] where it does not apply or cannot run."""
    try:
        value = fingerprint.variant(*copy.deepcopy(args))
    except Exception:  # NotShown, or the mistaken code failing on this input as a student's would
        return []
    return value if isinstance(value, list) else [value]


def diagnose_raised(task_id, forward_args, result):
    """The divisibility text when a conv/pool call raised an AssertionError on a case whose sizes do not
    divide by the stride, else "" (confirmed or withdrawn over the whole task by :func:`settled`)."""
    if result is None or result.ok or result.error_kind != "exception" or result.error_type != ASSERTION:
        return ""
    dividing = divides(task_id, forward_args)
    return text("divisibility_assumed") if dividing is False else ""


def divides(task_id, forward_args):
    """Whether the stride divides the sizes its windows sweep, for a conv or pool task (None otherwise)."""
    if task_id.startswith("conv"):
        x, w, _, conv_param = forward_args
        stride, pad = conv_param["stride"], conv_param["pad"]
        spans = (x.shape[2] + 2 * pad - w.shape[2], x.shape[3] + 2 * pad - w.shape[3])
    elif task_id.startswith("max_pool"):
        x, pool_param = forward_args
        stride = pool_param["stride"]
        spans = (x.shape[2] - pool_param["pool_height"], x.shape[3] - pool_param["pool_width"])
    else:
        return None
    return all(span % stride == 0 for span in spans)


def settled(task_id, outcomes, calls):
    """``outcomes`` of a task's graded cases, their divisibility diagnoses kept only if the task's calls
    bear them out: some case whose sizes divide ran without an AssertionError, and none raised one.

    calls: (forward arguments, CallResult or None) of each graded case, in any order.
    """
    raised = [
        divides(task_id, args)
        for args, result in calls
        if result is not None and not result.ok and result.error_type == ASSERTION
    ]
    ran = [divides(task_id, args) for args, result in calls if result is not None and result.ok]
    if any(raised) or not any(ran):
        divisibility = text("divisibility_assumed")
        return [replace(o, diagnosis="") if o.diagnosis == divisibility else o for o in outcomes]
    return list(outcomes)


def diagnose_w2(params, input_dim, num_filters, hidden_dim, shapes):
    """The W2 text when every parameter has the contract's shape but W2, whose rows are what sizing it for
    even or square inputs gives; else "". shapes: the contract's shapes by name."""
    if not isinstance(params, dict) or any(name not in params for name in shapes):
        return ""
    if any(type(params[name]) is not np.ndarray for name in shapes):
        return ""
    wrong = [name for name, shape in shapes.items() if params[name].shape != tuple(shape)]
    if wrong != ["W2"] or params["W2"].ndim != 2:
        return ""
    rows, columns = params["W2"].shape
    if columns != hidden_dim or rows not in net.w2_rows(input_dim, num_filters):
        return ""
    return text("w2_square_or_even")


def fingerprinted():
    """Ids of every mistake the grader can name (the rest of assignment.mistakes are hints only)."""
    ids = {f.mistake for prints in FINGERPRINTS.values() for f in prints}
    return ids | set(SHAPE_FINGERPRINTED) | set(EXCEPTION_FINGERPRINTED)
