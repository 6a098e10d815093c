"""The classic mistakes of every task, and the evidence that names one: the grader's side of the one
catalogue whose texts (:mod:`assignment.mistakes`) the notebook's checks show as hints.

A mistake is named only by evidence, weighed over the whole task (:func:`diagnosed`):

- **a fingerprint**: on a failed case, what the student's code returned fits (validated and within the check's
  own threshold, shapes included) what a variant with that mistake (:mod:`grader.tasks.mistakes`) returns on
  the very same input. The case is **evidence** for the mistake only where that output differs (by more than
  DISTINCT) from the reference's and from what every other catalogued mistake of the task and every plausible
  alternative (:data:`ALTERNATIVES`: bugs the catalogue does not name, e.g. a group norm over (H, W) only,
  which is what C // G groups give at G = 1) return there. A failed case where the mistake's output differs
  from the reference's but the student's does not fit it **contradicts** the mistake;
- **an exception on a geometry**: for "divisibility assumed", an AssertionError on a case whose sizes do
  not divide by the stride, while every case whose sizes divide ran without one (:func:`settled`).

A mistake is named when at least EVIDENCE_CASES cases are evidence for it that the student's output fits, no
case contradicts it, and the task is not an untouched stub (nor has a check that says "not implemented").
Each case also names at most one mistake (exactly one must fit there). Variants run in the grader's process
on copies of the grader's own inputs; the student's value is only compared, through the same validating
comparisons as the check (grader.compare), so a hostile value can fit nothing but what it equals.

Left out on purpose: routing a pooling gradient to every tied maximum. Graded inputs have no ties (SPEC
section 4), so such code returns exactly what the reference does on every graded case and earns every
point; no evidence could tell it apart, and a probe with ties would name a "mistake" in code that passes.
Also silent: sizes swapped in a convolution where the swap makes a window run past the edge (the code
raises, and an exception alone does not tell this mistake from others). Not weighed: a case that passed
(the checks ask for a diagnosis on a failed case only), and a case where a variant does not apply (it
raises NotShown whether the mistake equals the reference there or its code would fail).
"""

import contextvars
import copy
import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

import solutions
from assignment.mistakes import text
from grader.report import Reason
from grader.tasks.base import definition_source, untouched_stub
from grader.tasks.mistakes import layers as L
from grader.tasks.mistakes import networks as net
from grader.tasks.mistakes import normalization as nm

RUNNING_STATS = "spatial_batchnorm_forward: running statistics"
"""Key of the running-statistics check's fingerprints: they return (running_mean, running_var)."""
ASSERTION = "AssertionError"  # the classic `assert (H + 2 * pad - HH) % stride == 0` of the course's older code
EVIDENCE_CASES = 2  # cases that must single a mistake out before it is named (one could be a coincidence)
DISTINCT = 1e-5  # rel_error between two outputs that a case tells apart: 10x the loosest check threshold (1e-6),
# so a value within a check's threshold of one of them cannot be within it of the other


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
        + _prints("bias_missing", L.conv_bias_missing)
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
        + _prints("eps_ignored", nm.bn_test_mode_eps_ignored)
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
        + _prints("bias_missing", net.bias_missing)
        + _prints("softmax_on_scores", net.softmax_on_scores)
    ),
}
SHAPE_FINGERPRINTED = ("w2_square_or_even",)  # named from a parameter's shape (diagnose_w2), not by a variant
EXCEPTION_FINGERPRINTED = ("divisibility_assumed",)  # named from an exception and the case's geometry


def _reference_backward(forward, backward):
    def reference(dout, args):
        _, cache = forward(*args)
        return backward(dout, cache)

    return reference


def _bn_reference(x, gamma, beta, bn_param):
    return solutions.spatial_batchnorm_forward(x, gamma, beta, nm._copied(bn_param))[0]


def _running_stats_reference(x, gamma, beta, bn_param):
    after = nm._copied(bn_param)
    solutions.spatial_batchnorm_forward(x, gamma, beta, after)
    return after["running_mean"], after["running_var"]


REFERENCES = {
    "conv_forward_naive": lambda *args: solutions.conv_forward_naive(*args)[0],
    "conv_backward_naive": _reference_backward(solutions.conv_forward_naive, solutions.conv_backward_naive),
    "max_pool_forward_naive": lambda *args: solutions.max_pool_forward_naive(*args)[0],
    "max_pool_backward_naive": _reference_backward(solutions.max_pool_forward_naive, solutions.max_pool_backward_naive),
    "spatial_batchnorm_forward": _bn_reference,
    RUNNING_STATS: _running_stats_reference,
    "spatial_batchnorm_backward": _reference_backward(
        lambda x, gamma, beta, bn_param: solutions.spatial_batchnorm_forward(x, gamma, beta, nm._copied(bn_param)),
        solutions.spatial_batchnorm_backward,
    ),
    "spatial_groupnorm_forward": lambda *args: solutions.spatial_groupnorm_forward(*args)[0],
    "spatial_groupnorm_backward": _reference_backward(
        solutions.spatial_groupnorm_forward, solutions.spatial_groupnorm_backward
    ),
    "three_layer_convnet": net.network_loss,
}
"""What the right code returns, in the structure the fingerprints of the same key return."""

ALTERNATIVES = {
    "max_pool_forward_naive": (L.pool_window_from_stride,),
    "max_pool_backward_naive": (L.pool_backward_window_from_stride, L.pool_backward_argmax_transposed),
    "spatial_groupnorm_forward": (nm.gn_instance_norm, nm.gn_layer_norm),
    "spatial_groupnorm_backward": (nm.gn_backward_instance_norm, nm.gn_backward_layer_norm),
}
"""Plausible bugs the catalogue names nothing for, found on real code where a fingerprint collided with them:
a case where one of them returns what a mistake returns is no evidence for that mistake."""


@dataclass(frozen=True)
class Finding:
    """What one failed case says about the catalogued mistakes of its task."""

    case: str = ""
    """A digest of the case's input: a check that repeats an input adds no evidence."""
    supports: frozenset = frozenset()
    """Mistakes the student's output fits where no plausible alternative returns that output."""
    contradicts: frozenset = frozenset()
    """Mistakes whose output differs from the reference's here while the student's output fits none of it
    (and every variant of the mistake ran: a way of writing it whose output is unknown here contradicts nothing)."""


@dataclass
class Ledger:
    """The findings of every diagnosed case of one task, as it is graded."""

    findings: list = field(default_factory=list)

    def supported(self):
        """Mistake -> the number of cases that are evidence for it, of mistakes no case contradicts."""
        contradicted = {m for f in self.findings for m in f.contradicts}
        counts = Counter(m for case, m in {(f.case or id(f), m) for f in self.findings for m in f.supports})
        return {mistake: count for mistake, count in counts.items() if mistake not in contradicted}


_LEDGER: contextvars.ContextVar = contextvars.ContextVar("diagnosis_ledger", default=None)


def _record(finding):
    ledger = _LEDGER.get()
    if ledger is not None:
        ledger.findings.append(finding)


def diagnosed(task, ctx):
    """``task.grade(ctx)``'s outcomes, each diagnosis kept only if the evidence over the whole task names it:
    at least EVIDENCE_CASES cases single the mistake out, none contradicts it, and the task's definition is
    no untouched stub, nor does any of its checks say "not implemented"."""
    ledger = Ledger()
    token = _LEDGER.set(ledger)
    try:
        outcomes = task.grade(ctx)
    finally:
        _LEDGER.reset(token)
    named = set()
    if not stubbed(ctx, task.definition) and not any(o.reason == Reason.NOT_IMPLEMENTED for o in outcomes):
        named = {text(m) for m, count in ledger.supported().items() if count >= EVIDENCE_CASES}
    return [o if not o.diagnosis or o.diagnosis in named else replace(o, diagnosis="") for o in outcomes]


def stubbed(ctx, definition):
    """Whether the graded definition (a function, or a class's methods) is still the course's stub somewhere."""
    nodes = [definition_source(ctx, definition)]
    if nodes[0] is None:
        nodes = [definition_source(ctx, (definition, method)) for method in ("__init__", "loss")]
    return any(node is not None and untouched_stub(node) for node in nodes)


def diagnose(key, args, fits):
    """The text of the one catalogued mistake that this case singles out and the student's output fits, or "";
    the case's :class:`Finding` is recorded for :func:`diagnosed` to weigh with the task's other cases.

    key: a task id (or RUNNING_STATS); args: the arguments of the graded call, as the grader sent them
    (for a backward: ``(dout, forward_args)``); fits(candidate) -> bool: the failed check's own comparison of
    the student's value against ``candidate`` in place of the reference. Call it only when that comparison
    against the reference failed.
    """
    finding = examine(key, args, fits)
    _record(finding)
    return text(next(iter(finding.supports))) if len(finding.supports) == 1 else ""


def examine(key, args, fits):
    """The :class:`Finding` of one failed case (see :func:`diagnose` for the arguments)."""
    outputs, unknown = {}, set()  # mistake -> its candidates on this case; mistakes a variant of which gave none
    for fingerprint in FINGERPRINTS.get(key, ()):
        candidates = _candidates(fingerprint, args)
        outputs.setdefault(fingerprint.mistake, []).extend(candidates)
        unknown |= set() if candidates else {fingerprint.mistake}
    alternatives = [c for variant in ALTERNATIVES.get(key, ()) for c in _candidates(Fingerprint("", variant), args)]
    reference = _candidates(Fingerprint("", REFERENCES[key]), args) if key in REFERENCES else []
    fitted = {mistake for mistake, candidates in outputs.items() if any(fits(c) for c in candidates)}
    fits_alternative = any(fits(c) for c in alternatives)
    supports, contradicts = set(), set()
    for mistake, candidates in outputs.items():
        shown = [c for c in candidates if all(_distinct(c, r) for r in reference)]
        if mistake not in fitted:
            contradicts |= {mistake} if shown and reference and mistake not in unknown else set()
            continue
        others = alternatives + reference + [c for m, cs in outputs.items() if m != mistake for c in cs]
        single = [c for c in shown if all(_distinct(c, o) for o in others)]
        if reference and fitted == {mistake} and not fits_alternative and any(fits(c) for c in single):
            supports.add(mistake)
    return Finding(_digest((key, args)), frozenset(supports), frozenset(contradicts))


def _digest(value):
    """A digest of an input (arrays by dtype, shape and bytes; containers item by item; the rest by repr)."""
    found = hashlib.sha256()

    def feed(item):
        if isinstance(item, np.ndarray):
            found.update(f"array{item.dtype}{item.shape}".encode())
            found.update(np.ascontiguousarray(item).tobytes())
        elif isinstance(item, (tuple, list)):
            found.update(f"{type(item).__name__}{len(item)}".encode())
            for element in item:
                feed(element)
        elif isinstance(item, dict):
            found.update(f"dict{len(item)}".encode())
            for key in sorted(item, key=repr):
                feed(key)
                feed(item[key])
        else:
            found.update(repr(item).encode())

    feed(value)
    return found.hexdigest()


def _distinct(a, b):
    """Whether two outputs (arrays, numbers, or tuples, lists and dicts of them) differ by more than DISTINCT
    somewhere, or in their structure."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not isinstance(a, (tuple, list)) or not isinstance(b, (tuple, list)) or len(a) != len(b):
            return True
        return any(_distinct(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        if not isinstance(a, dict) or not isinstance(b, dict) or a.keys() != b.keys():
            return True
        return any(_distinct(a[k], b[k]) for k in a)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return True
    if a.size == 0:
        return False
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))) > DISTINCT


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
    if divides(task_id, forward_args) is not False:
        return ""
    _record(Finding(_digest((task_id, forward_args)), supports=frozenset({"divisibility_assumed"})))
    return text("divisibility_assumed")


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
        _record(Finding(contradicts=frozenset({"w2_square_or_even"})))
        return ""
    _record(Finding(_digest(input_dim), supports=frozenset({"w2_square_or_even"})))
    return text("w2_square_or_even")


def fingerprinted():
    """Ids of every mistake the grader can name (the rest of assignment.mistakes are hints only)."""
    ids = {f.mistake for prints in FINGERPRINTS.values() for f in prints}
    return ids | set(SHAPE_FINGERPRINTED) | set(EXCEPTION_FINGERPRINTED)
