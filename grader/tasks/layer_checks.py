"""Checks shared by the layer tasks: a forward case, a backward case through the student's own cache,
unchanged inputs (the backward's cache included), and speed against the reference loops; and the whole
grading of a naive layer with a documented cache (convolution, max pooling) from its :class:`Layer`.

A public case earns its points only when every hidden case of its task passes too (its expected values
ship with the notebook; see :func:`grader.tasks.base.public_earned_only_with_hidden`).

Speed, and the inputs drawn from the grading's secret: see :mod:`grader.tasks.speed`.
"""

from dataclasses import dataclass, replace
from typing import Callable

from grader.compare import BACKWARD_THRESHOLD, FORWARD_THRESHOLD, Verdict, compare_array, compare_arrays, item_count
from grader.report import Kind, Reason
from grader.sandbox.protocol import Ref
from grader.tasks import catalogue, speed
from grader.tasks.base import (
    CASE_KINDS,
    HIDDEN_CASE,
    PUBLIC_CASE,
    Outcome,
    cache_unchanged,
    call_failed,
    earned_only_if,
    inputs_unchanged,
    none_returned,
    outcome,
    public_earned_only_with_hidden,
    returned,
    was_cut,
)

# The one request form of every call a layer task makes to its naive function (cases and speed rounds):
# send, return_args and seed never tell the child which call is timed.
# Every call of the four timed tasks is timed (``timed``: its work read from the kernel, grader.sandbox.clock).
FORWARD_REQUEST = {"send": [0], "return_args": True, "seed": 0, "timed": True}
BACKWARD_REQUEST = {"send": "all", "return_args": "both", "seed": 0, "timed": True}
CACHE_REQUEST = {"keep": "forward", "send": "none", "seed": 0, "timed": True}  # the student's forward, for a cache
NOT_RETURNED = Verdict(False, "the arguments did not come back from the call")
UNVERIFIABLE_CACHE = Verdict(
    False,
    "your cache is too large or too deeply nested for the grader to check that "
    "your backward leaves it unchanged; keep it to the arrays and parameters "
    "backward needs",
)


@dataclass(frozen=True)
class Layer:
    """A naive layer task pair whose forward's arguments are also its documented cache (conv, pool)."""

    forward: str
    backward: str
    arg_names: tuple
    """The forward's arguments, which are also the items of the documented cache, e.g. ('x', 'pool_param')."""
    grad_names: tuple
    """What the backward returns, e.g. ('dx', 'dw', 'db')."""
    public_cases: dict
    """Task id -> parameters of its public case."""
    hidden_cases: tuple
    speed_case: dict
    """Parameters of the speed rounds' inputs, without the seed (each round's inputs are drawn)."""
    inputs: Callable
    """inputs(parameters) -> dict of the forward's arguments by name, and dout; parameters may hold "values",
    entropy of the grading's secret (see :func:`grader.tasks.speed.drawn_inputs`)."""
    describe: Callable
    """describe(parameters) -> one line for the check's name."""
    reference: tuple
    """(forward, backward) of the reference loops."""
    fast: tuple
    """(forward, backward) of the fast layers (the speed message's comparison)."""
    public_points: float = 2.0
    hidden_points: float = 1.0

    def cases(self, task_id):
        """(kind, parameters, points) of every graded case of a task: its public case, then the hidden ones."""
        yield PUBLIC_CASE, self.public_cases[task_id], self.public_points
        for case in self.hidden_cases:
            yield HIDDEN_CASE, case, self.hidden_points

    def graded(self, ctx, task_id):
        """(kind, parameters, points, inputs) of every graded case of a task: the public case as the notebook
        has it, the hidden ones drawn from the grading's secret."""
        for index, (kind, case, points) in enumerate(self.cases(task_id)):
            if kind == PUBLIC_CASE:
                inputs = self.inputs(case)
            else:
                inputs = speed.drawn_inputs(ctx, self, task_id, case, speed.GRADED, index)
            yield kind, case, points, inputs

    def arguments(self, inputs):
        return tuple(inputs[name] for name in self.arg_names)

    def reference_gradients(self, dout, cache):
        return self.as_gradients(self.reference[1](dout, cache))

    def as_gradients(self, grads):
        """A backward's return value as a tuple of its gradients (pool's backward returns dx alone)."""
        return grads if len(self.grad_names) > 1 else (grads,)


def grade_layer_forward(ctx, layer):
    """Outcomes of a layer's forward: every case, unchanged inputs, speed over every call."""
    outcomes, unchanged, timings, calls = [], [], [], []
    for kind, case, points, inputs in layer.graded(ctx, layer.forward):
        label = f"{kind}: {layer.describe(case)}"
        args = layer.arguments(inputs)
        reference_seconds, (expected, _) = speed.timed_reference(ctx, layer.reference[0], *args)
        result, call = forward_call(ctx, layer.forward, args, expected, label, points)
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        calls.append((args, call))
        unchanged.append(inputs_unchanged(args, call.args_after if call.ok else None, layer.arg_names))
        timing = speed.Timing(label, call.seconds, reference_seconds, alone=bool(timings))
        timings.append(speed.paced(ctx, layer, case, timing))
        if call.error_kind == "exception":
            ctx.raised_in_own_task.add(layer.forward)
    outcomes = public_earned_only_with_hidden(catalogue.settled(layer.forward, outcomes, calls))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(speed.layer_speed(ctx, layer, correct, timings, backward=False, measure=_speed_round))
    return outcomes


def grade_layer_backward(ctx, layer):
    """Outcomes of a layer's backward through the cache of the student's own forward (the documented
    cache stands in when that forward fails); dout and the cache must come back unchanged."""
    outcomes, unchanged, timings, calls = [], [], [], []
    names = (layer.forward, layer.backward, layer.grad_names)
    for kind, case, points, inputs in layer.graded(ctx, layer.backward):
        label = f"{kind}: {layer.describe(case)}"
        args = layer.arguments(inputs)
        forward_seconds, _ = speed.timed_reference(ctx, layer.reference[0], *args)
        reference_seconds, expected = speed.timed_reference(ctx, layer.reference_gradients, inputs["dout"], args)
        result, inputs_verdict, call, cache_call = backward_call(
            ctx, names, args, inputs["dout"], expected, label, points, fallback=args, cache_names=layer.arg_names
        )
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        calls.append((args, call))
        unchanged.append(inputs_verdict)
        if call is not None:
            excess = speed.forward_excess(ctx, layer, case, cache_call, forward_seconds, first=len(calls) == 1)
            timings.append(speed.Timing(label, call.seconds, reference_seconds, forward_excess=excess))
    outcomes = public_earned_only_with_hidden(catalogue.settled(layer.backward, outcomes, calls))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(speed.layer_speed(ctx, layer, correct, timings, backward=True, measure=_speed_round))
    return outcomes


def _speed_round(ctx, layer, case, inputs, backward, label, reference):
    """One round of the speed case, made by the very function a graded case uses (same request, same
    checks), against ``reference`` (speed.RoundReference: the reference's times and answer on ``inputs``).
    Returns (Outcome of its output, Timing of its calls: None unless that outcome passed)."""
    args = layer.arguments(inputs)
    if backward:
        checked, _, call, cache_call = backward_call(
            ctx,
            (layer.forward, layer.backward, layer.grad_names),
            args,
            inputs["dout"],
            reference.expected,
            label,
            1.0,
            fallback=args,
            cache_names=layer.arg_names,
            diagnosed=False,
        )
        if not checked.passed:
            return checked, None
        excess = speed.forward_excess(ctx, layer, case, cache_call, reference.forward_seconds, first=False)
        return checked, speed.Timing(label, call.seconds, reference.seconds, forward_excess=excess)
    checked, call = forward_call(ctx, layer.forward, args, reference.expected, label, 1.0, diagnosed=False)
    if not checked.passed:
        return checked, None
    return checked, speed.paced(ctx, layer, case, speed.Timing(label, call.seconds, reference.seconds))


def forward_case(ctx, function, args, expected_out, label, points, threshold=FORWARD_THRESHOLD):
    """Call ``function(*args)`` expecting ``(out, cache)``; returns (Outcome, args after the call or None)."""
    checked, result = forward_call(ctx, function, args, expected_out, label, points, threshold)
    return checked, result.args_after if result.ok else None


def forward_call(ctx, function, args, expected_out, label, points, threshold=FORWARD_THRESHOLD, diagnosed=True):
    """Call ``function(*args)`` with FORWARD_REQUEST expecting ``(out, cache)``; returns (Outcome, CallResult).

    A failed outcome names the classic mistake the evidence shows (grader.tasks.catalogue) unless not
    ``diagnosed`` (the speed rounds: their outcome only says the output was wrong).
    """
    result = ctx.session.call(function, *args, **FORWARD_REQUEST)
    if not result.ok:
        failed = call_failed(label, points, result)
        diagnosis = catalogue.diagnose_raised(function, args, result) if diagnosed else ""
        return replace(failed, diagnosis=diagnosis), result
    verdict = none_returned(ctx, function, function, result.value, ("out", "cache")) or _out_verdict(
        result, function, expected_out, threshold
    )
    if diagnosed and not verdict.passed and item_count(result.value) == 2:
        out = result.value[0]
        verdict = replace(
            verdict,
            diagnosis=catalogue.diagnose(
                function, args, lambda candidate: compare_array("out", out, candidate, threshold).passed
            ),
        )
    return outcome(label, points, verdict), result


def _out_verdict(result, function, expected_out, threshold):
    """The ``out`` of a forward called with send=[0] (only out comes back) against the reference's."""
    if item_count(result.value) != 2:
        return Verdict(False, f"{function} should return (out, cache), got {returned(result)}")
    return compare_array("out", result.value[0], expected_out, threshold)


def student_cache(ctx, forward, forward_args, fallback):
    """The cache the student's forward returns (kept in the child), or the documented one if it fails.

    Returns (cache or None, note, failed CallResult or None, CallResult of the forward call).
    """
    call = result = ctx.session.call(forward, *forward_args, **CACHE_REQUEST)
    if result.ok and item_count(result.value) == 2:
        return Ref(CACHE_REQUEST["keep"], 1), "", None, call
    if fallback is not None:
        return fallback, substitute_note(forward, result), None, call
    if result.ok:
        result = type(result)(ok=False, error_kind="exception", message=f"{forward} did not return (out, cache)")
    return None, "", result, call


def substitute_note(forward, result):
    """What a backward's messages add when it was graded with the documented cache because the student's own
    forward failed (raised, hung, or did not return (out, cache)): a backward written for its own cache format
    may fail on the documented one, and the student must know why."""
    if result.ok:
        what = "did not return (out, cache)"
    else:
        what = "raised" if result.error_kind == "exception" else "failed"
    return f" (your {forward} {what}, so your backward was given the documented cache instead of its own)"


def _noted(failed, note):
    """A failed call's outcome with ``note`` added, unless the call was an untouched stub's (nothing to explain)."""
    if not note or failed.reason == Reason.NOT_IMPLEMENTED:
        return failed
    return replace(failed, message=failed.message + note)


def backward_case(
    ctx, names, forward_args, dout, expected, label, points, fallback=None, threshold=BACKWARD_THRESHOLD, cache_names=()
):
    """Grade ``backward(dout, cache)`` where cache comes from the student's own forward.

    names: (forward function, backward function, names of the returned gradients, e.g. ('dx', 'dw', 'db')).
    expected: the reference gradients, in the same order. cache_names: the items of the documented
    cache, e.g. ('x', 'w', 'b', 'conv_param'), to name the one a backward modifies.
    Returns (Outcome, Verdict on whether dout and the cache came back unchanged).
    """
    checked, unchanged, _, _ = backward_call(
        ctx, names, forward_args, dout, expected, label, points, fallback, threshold, cache_names
    )
    return checked, unchanged


def backward_call(
    ctx,
    names,
    forward_args,
    dout,
    expected,
    label,
    points,
    fallback=None,
    threshold=BACKWARD_THRESHOLD,
    cache_names=(),
    diagnosed=True,
):
    """:func:`backward_case`, also returning the CallResult of the backward call (None if it was not made) and
    that of the forward called for its cache; a failed outcome names the mistake the evidence shows unless not
    ``diagnosed`` (see :func:`forward_call`)."""
    forward, backward, grad_names = names
    cache, note, failed, cache_call = student_cache(ctx, forward, forward_args, fallback)
    if failed is not None:
        failure = call_failed(label, points, failed)
        return (
            Outcome(
                label,
                points,
                False,
                f"needs the cache of your {forward}, which failed: {failure.message}",
                failure.failure,
                reason=failure.reason,
            ),
            NOT_RETURNED,
            None,
            cache_call,
        )
    result, retried = call_backward(ctx, backward, dout, cache, fallback)
    note = note or retried
    if not result.ok:
        failed = call_failed(label, points, result)
        diagnosis = catalogue.diagnose_raised(backward, forward_args, result) if diagnosed else ""
        return replace(_noted(failed, note), diagnosis=diagnosis), NOT_RETURNED, result, cache_call
    verdict = none_returned(ctx, backward, backward, result.value, grad_names)
    if verdict is None:  # a None returned is not the cache's doing: the note goes with gradients only
        verdict = _gradients_verdict(result, backward, grad_names, expected, threshold)
        verdict = Verdict(verdict.passed, verdict.message + note)
    if diagnosed and not verdict.passed:
        verdict = replace(verdict, diagnosis=_diagnosed_gradients(result, names, dout, forward_args, threshold))
    before = fallback if retried else _cache_before(cache, result)
    unchanged = _backward_inputs_unchanged(dout, before, result.args_after, cache_names)
    return outcome(label, points, verdict), unchanged, result, cache_call


def _cache_before(cache, result):
    """The cache as the backward received it, to compare with the cache after the call: what the grader
    sent, or, for the student's own cache kept in the child, the copy the child took just before the call
    (encoded like the cache after it). None if it did not come back."""
    if not isinstance(cache, Ref):
        return cache
    before = result.args_before
    return before[1] if type(before) is tuple and item_count(before) == 2 else None


def _backward_inputs_unchanged(dout, cache, args_after, cache_names):
    """Verdict on a backward call made with return_args="both": dout and every array of the cache unchanged.

    cache: the cache as it was before the call (None: it did not come back). A cache that did not come
    back whole cannot be shown unchanged: the point is not given (fail closed).
    """
    if type(args_after) is not tuple or item_count(args_after) != 2:
        return NOT_RETURNED
    verdict = inputs_unchanged((dout,), args_after[:1], ("dout",))
    if not verdict.passed:
        return verdict
    if cache is None or was_cut(cache) or was_cut(args_after[1]):
        return UNVERIFIABLE_CACHE
    return cache_unchanged(cache, args_after[1], cache_names)


def _gradients_verdict(result, backward, grad_names, expected, threshold):
    """The gradients a backward returned against the reference's ``expected`` (same order as grad_names):
    exactly as many as grad_names, counted in what the grader decoded (not the child's arity or len())."""
    grads = _as_gradients(result, len(grad_names), backward)
    if isinstance(grads, Verdict):
        return grads
    return compare_arrays(grad_names, grads, expected, threshold)


def _diagnosed_gradients(result, names, dout, forward_args, threshold):
    """The catalogued mistake whose gradients the backward's failed reply equals, or ""."""
    _, backward, grad_names = names

    def fits(candidate):
        expected = candidate if isinstance(candidate, tuple) else (candidate,)
        return (
            len(expected) == len(grad_names)
            and _gradients_verdict(result, backward, grad_names, expected, threshold).passed
        )

    return catalogue.diagnose(backward, (dout, forward_args), fits)


def _as_gradients(result, count, backward):
    if count == 1:
        return (result.value,)
    if item_count(result.value) != count:
        return Verdict(False, f"{backward} should return {count} gradients, got {returned(result)}")
    return tuple(result.value)


def unchanged_check(correct, verdicts, points=1.0):
    """One check over all cases: each case's Verdict on whether its inputs came back unmodified."""
    failing = next((verdict for verdict in verdicts if not verdict.passed), None)
    verdict = failing or Verdict(
        bool(verdicts),
        "your function left its inputs unchanged" if verdicts else "nothing was compared (no case was graded)",
    )
    return earned_only_if(correct, "inputs unchanged", points, verdict, Kind.INPUTS_UNCHANGED)


def call_backward(ctx, backward, dout, cache, fallback):
    """Call backward (BACKWARD_REQUEST) with the student's cache; if it raises and the cache format is
    documented (conv, pool), retry with the documented cache, so a forward that returns a bad cache costs
    only the forward task. A retry's time is both calls' together: work done before raising is not free.

    Returns (CallResult, note for the message).
    """
    result = ctx.session.call(backward, dout, cache, **BACKWARD_REQUEST)
    if result.ok or result.error_kind != "exception" or fallback is None or cache is fallback:
        return result, ""
    retry = ctx.session.call(backward, dout, fallback, **BACKWARD_REQUEST)
    if retry.ok:
        return (
            replace(retry, seconds=result.seconds + retry.seconds),
            " (with the cache your forward returned it raised; graded with the documented cache)",
        )
    return result, ""
