"""Checks shared by the layer tasks: a forward case, a backward case through the student's own cache,
unchanged inputs (the backward's cache included), and speed against the reference loops; and the whole
grading of a naive layer with a documented cache (convolution, max pooling) from its :class:`Layer`.

A public case earns its points only when every hidden case of its task passes too (its expected values
ship with the notebook; see :func:`grader.tasks.base.public_earned_only_with_hidden`).

Speed: every call of the naive function a task makes is made with one and the same request
(FORWARD_REQUEST, or CACHE_REQUEST then BACKWARD_REQUEST), so nothing but the input tells the child which
call is timed; and every call into the submission is timed: each graded case and each of the SPEED_ROUNDS
rounds of the speed case, against the reference loops on the same input, timed in the grader with the
submission paused, interleaved with the student's calls. A backward's time includes a first attempt that
raised before a retry with the documented cache, and whatever the forward the grader calls for its cache
took beyond the forward's own pace in its own task (:func:`forward_excess`), so no work can move into a
call that is not the backward's. The check fails when the student's time exceeds the budget times
the reference's on the speed case (median of its rounds), on all calls together, on the graded cases
together, or on any single graded case; the last two count only when their reference time is at least
SPEED_FLOOR, and without the first call into a task's fresh fork (see Timing.alone). A measurement over
budget is confirmed before the point is lost: every graded case and speed round is timed again on inputs
drawn anew, and the check fails only when that second measurement is over budget too. Code that is slow is
slow twice; a loaded machine's hiccup rarely is.

Inputs: the public case is the notebook's own; every other input (hidden cases, speed rounds, confirmation)
is drawn from the grading's secret (TaskContext.secret, see :func:`drawn_inputs`), so neither code loaded
with the submission nor any call into it can know a later call's input, and no answer can be computed ahead
or remembered from a first pass. Verdicts do not depend on the draw: see :func:`drawn_inputs`.
"""
import statistics
import time
import zlib
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from grader.compare import BACKWARD_THRESHOLD, FORWARD_THRESHOLD, Verdict, compare_array, compare_arrays, item_count
from grader.report import Kind
from grader.sandbox.protocol import Ref
from grader.tasks import catalogue
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

SPEED_ROUNDS = 3  # rounds of the speed case; the median ratio is robust to one noisy round
# What a drawn input is for (one stream of the grading's secret each): a graded case, a speed round, and
# each of them drawn anew for the confirmation.
GRADED, SPEED, CONFIRMATION_GRADED, CONFIRMATION_SPEED = 1, 2, 3, 4
# A draw on which a reference value (nonzero) lies closer to zero than this fraction of its array's largest
# is drawn again: the rounding of another correct summation order (~1e-14 of that largest) then stays far
# below every threshold's share of the value, so correct code passes on every draw.
WELL_POSED = 1e-6
# A forward's pace varies a little from call to call (load, caches): a forward called for a backward's cache may
# take this many times its own pace in its own task before the rest counts as the backward's time.
FORWARD_PACE_MARGIN = 1.25
MAX_DRAWS = 100  # a draw is ill-posed with probability ~3e-3 (measured on conv, less on pool): 100 in a row is a bug
# A round trip to the child takes ~0.3-1 ms; a call (or a set of calls) whose reference loops take less
# than this measures that noise, not the student's code, so it counts only within the total of all calls.
SPEED_FLOOR = 2e-3
# The one request form of every call a layer task makes to its naive function (cases and speed rounds):
# send, return_args and seed never tell the child which call is timed.
FORWARD_REQUEST = {"send": [0], "return_args": True, "seed": 0}
BACKWARD_REQUEST = {"send": "all", "return_args": "both", "seed": 0}
CACHE_REQUEST = {"keep": "forward", "send": "none", "seed": 0}  # the student's forward, for a backward's cache
NOT_RETURNED = Verdict(False, "the arguments did not come back from the call")
UNVERIFIABLE_CACHE = Verdict(False, "your cache is too large or too deeply nested for the grader to check that "
                                    "your backward leaves it unchanged; keep it to the arrays and parameters "
                                    "backward needs")


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
    entropy of the grading's secret (see :func:`drawn_inputs`)."""
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
            inputs = self.inputs(case) if kind == PUBLIC_CASE else drawn_inputs(ctx, self, task_id, case, GRADED, index)
            yield kind, case, points, inputs

    def arguments(self, inputs):
        return tuple(inputs[name] for name in self.arg_names)

    def reference_gradients(self, dout, cache):
        grads = self.reference[1](dout, cache)
        return grads if len(self.grad_names) > 1 else (grads,)


@dataclass(frozen=True)
class Timing:
    """One timed call: the student's function and the reference loops on the same input."""

    label: str
    """The call's case, e.g. 'hidden case: x (2, 3, 7, 7), ...'."""
    student: float
    """Seconds of the call on the grader's clock (CallResult.seconds: the round trip)."""
    reference: float
    """Seconds of the reference loops on the same input, in the grader, with the submission paused."""
    alone: bool = True
    """False for a call judged only within the total of all calls: a task's first call, the first into the
    task's fresh fork, whose round trip is ~15 ms longer than the next ones' whatever it calls (measured: the
    sandbox's start-up, not the student's code)."""
    forward_excess: float = 0.0
    """For a backward: seconds the student's forward, called for this backward's cache, took beyond its own
    pace (see :func:`forward_excess`): work that may have been the backward's, counted as the backward's."""

    def with_forward_excess(self):
        return replace(self, student=self.student + self.forward_excess, forward_excess=0.0)


def drawn_inputs(ctx, layer, task_id, case, purpose, index):
    """The inputs of one call on the sizes of ``case``, drawn from the grading's secret (``ctx.secret``).

    Nothing the submission sees foretells them: not its own code, the notebook's cases or the generators of
    assignment.cases, nor any earlier call (dout comes from a stream of its own, so not even x tells anything
    about it). purpose: GRADED, SPEED, CONFIRMATION_GRADED or CONFIRMATION_SPEED; index: the call's place
    among those of its purpose.

    Verdicts do not depend on the draw. A correct implementation passes on every draw: a draw on which a
    reference value lies near zero (WELL_POSED) is drawn again. A mistake fails on every draw: a graded case
    keeps the layout its own seed gives where a verdict could hang on it (which element of each max-pooling
    window is largest: ties impossible, the order fixed, see pool.case_inputs); elsewhere a mistaken result
    differs from the right one by a nonzero polynomial of continuous values, which comes within a threshold
    of zero with negligible probability (tests/test_speed_secret.py tries every catalogued mistake on many
    draws). A speed round or a confirmation draws its layout from the secret too, so nothing remembered
    from a first pass applies to it.
    """
    for attempt in range(MAX_DRAWS):
        entropy = [ctx.secret, zlib.crc32(task_id.encode()), purpose, index, attempt]
        drawn = dict(case, values=entropy + [0])
        if purpose != GRADED:
            drawn["seed"] = entropy + [2]
        inputs = layer.inputs(drawn)
        inputs["dout"] = layer.inputs(dict(drawn, values=entropy + [1]))["dout"]
        if _well_posed(layer, inputs):
            return inputs
    raise RuntimeError(f"no well-posed draw of {case} in {MAX_DRAWS} attempts")


def _well_posed(layer, inputs):
    """Whether every nonzero value of the fast layers' output and gradients on ``inputs`` is at least
    WELL_POSED of the largest in its array (exact zeros are the same for every implementation)."""
    out, cache = layer.fast[0](*layer.arguments(inputs))
    grads = layer.fast[1](inputs["dout"], cache)
    for array in (out, *(grads if isinstance(grads, tuple) else (grads,))):
        magnitudes = np.abs(array[array != 0])
        if magnitudes.size and magnitudes.min() < WELL_POSED * magnitudes.max():
            return False
    return True


def grade_layer_forward(ctx, layer):
    """Outcomes of a layer's forward: every case, unchanged inputs, speed over every call."""
    outcomes, unchanged, timings, calls = [], [], [], []
    for kind, case, points, inputs in layer.graded(ctx, layer.forward):
        label = f"{kind}: {layer.describe(case)}"
        args = layer.arguments(inputs)
        reference_seconds, (expected, _) = timed_reference(ctx, layer.reference[0], *args)
        result, call = forward_call(ctx, layer.forward, args, expected, label, points)
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        calls.append((args, call))
        unchanged.append(inputs_unchanged(args, call.args_after if call.ok else None, layer.arg_names))
        timings.append(_paced(ctx, layer, case, Timing(label, call.seconds, reference_seconds, alone=bool(timings))))
    outcomes = public_earned_only_with_hidden(catalogue.settled(layer.forward, outcomes, calls))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(layer_speed(ctx, layer, correct, timings, backward=False))
    return outcomes


def grade_layer_backward(ctx, layer):
    """Outcomes of a layer's backward through the cache of the student's own forward (the documented
    cache stands in when that forward fails); dout and the cache must come back unchanged."""
    outcomes, unchanged, timings, calls = [], [], [], []
    names = (layer.forward, layer.backward, layer.grad_names)
    for kind, case, points, inputs in layer.graded(ctx, layer.backward):
        label = f"{kind}: {layer.describe(case)}"
        args = layer.arguments(inputs)
        forward_seconds, _ = timed_reference(ctx, layer.reference[0], *args)
        reference_seconds, expected = timed_reference(ctx, layer.reference_gradients, inputs["dout"], args)
        result, inputs_verdict, call, cache_call = backward_call(ctx, names, args, inputs["dout"], expected, label,
                                                                 points, fallback=args, cache_names=layer.arg_names)
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        calls.append((args, call))
        unchanged.append(inputs_verdict)
        if call is not None:
            excess = forward_excess(ctx, layer, case, cache_call, forward_seconds, first=len(calls) == 1)
            timings.append(Timing(label, call.seconds, reference_seconds, forward_excess=excess))
    outcomes = public_earned_only_with_hidden(catalogue.settled(layer.backward, outcomes, calls))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(layer_speed(ctx, layer, correct, timings, backward=True))
    return outcomes


def layer_speed(ctx, layer, correct, timings, backward, points=1.0):
    """The speed check of a layer's forward or backward: the graded cases' ``timings``, then SPEED_ROUNDS
    rounds of the speed case, each called exactly as a graded case is and timed the same way; over budget,
    confirmed by a second measurement on fresh inputs (:func:`_confirmation`) before the point is lost.

    Only right answers are timed: a wrong output on the speed case fails the check (code that recognizes
    the speed case could otherwise return anything at once).
    """
    name = f"speed (at most {ctx.config.speed_budget:g}x the reference loops)"
    if not correct:
        return earned_only_if(correct, name, points, Verdict(False, ""), Kind.SPEED)
    measured = _speed_rounds(ctx, layer, timings, backward, SPEED)
    if isinstance(measured, Verdict) and not measured.passed:
        measured = _confirmation(ctx, layer, backward, measured)
    if isinstance(measured, Outcome):
        return replace(measured, name=name, points=points, kind=Kind.SPEED)
    return outcome(name, points, measured, kind=Kind.SPEED)


def _speed_rounds(ctx, layer, timings, backward, purpose):
    """The speed verdict from ``timings`` and SPEED_ROUNDS rounds of the speed case drawn for ``purpose``
    (SPEED, or CONFIRMATION_SPEED); a failed Outcome instead when a round's call fails or its output is wrong."""
    case = layer.describe(layer.speed_case)
    task = layer.backward if backward else layer.forward
    rounds, fast = [], []
    for index in range(SPEED_ROUNDS):
        inputs = drawn_inputs(ctx, layer, task, layer.speed_case, purpose, index)
        timing = _timed_case(ctx, layer, layer.speed_case, inputs, backward, f"speed case: {case}",
                             f"the speed case ({case})")
        if isinstance(timing, Outcome):
            return timing
        rounds.append(timing)
        fast.append(_fast_seconds(ctx, layer, inputs, backward))
    return speed_verdict(timings, rounds, fast, ctx.config.speed_budget)


def _confirmation(ctx, layer, backward, first):
    """The verdict of a second measurement, on every graded case and speed round drawn anew; the check fails
    only when this one is over budget too (``first`` is the verdict of the first measurement)."""
    task = layer.backward if backward else layer.forward
    timings = []
    for index, (kind, case, _) in enumerate(layer.cases(task)):
        inputs = drawn_inputs(ctx, layer, task, case, CONFIRMATION_GRADED, index)
        described = layer.describe(case)
        timing = _timed_case(ctx, layer, case, inputs, backward, f"{kind} (drawn anew): {described}",
                             f"the {kind} ({described}) drawn anew")
        if isinstance(timing, Outcome):
            return timing
        timings.append(timing)
    second = _speed_rounds(ctx, layer, timings, backward, CONFIRMATION_SPEED)
    if isinstance(second, Outcome):
        return second
    if second.passed:
        return replace(second, message=f"{second.message} (a first measurement over budget was not confirmed "
                                       f"on fresh inputs: {first.message})")
    return replace(second, message=f"{second.message}; over budget on two measurements, the second on fresh inputs")


def _timed_case(ctx, layer, case, inputs, backward, label, what):
    """The Timing of one call on ``inputs`` (drawn on the sizes of ``case``) made as a graded case is made, or
    a failed Outcome when the call fails or its output is wrong (only right answers are timed)."""
    checked, timing = _speed_round(ctx, layer, case, inputs, backward, label)
    if checked.failure:
        return Outcome(label, 1.0, False, checked.message, checked.failure, reason=checked.reason)
    if not checked.passed:
        return Outcome(label, 1.0, False, f"your output on {what} was wrong: {checked.message}; "
                                          f"only right answers are timed")
    return timing


def _speed_round(ctx, layer, case, inputs, backward, label):
    """One round of the speed case, made by the very function a graded case uses (same request, same
    checks). Returns (Outcome of its output, Timing of its calls: None unless that outcome passed)."""
    args = layer.arguments(inputs)
    if backward:
        forward_seconds, _ = timed_reference(ctx, layer.reference[0], *args)
        reference_seconds, expected = timed_reference(ctx, layer.reference_gradients, inputs["dout"], args)
        checked, _, call, cache_call = backward_call(ctx, (layer.forward, layer.backward, layer.grad_names), args,
                                                     inputs["dout"], expected, label, 1.0, fallback=args,
                                                     cache_names=layer.arg_names, diagnosed=False)
        if not checked.passed:
            return checked, None
        excess = forward_excess(ctx, layer, case, cache_call, forward_seconds, first=False)
        return checked, Timing(label, call.seconds, reference_seconds, forward_excess=excess)
    reference_seconds, (expected, _) = timed_reference(ctx, layer.reference[0], *args)
    checked, call = forward_call(ctx, layer.forward, args, expected, label, 1.0, diagnosed=False)
    return checked, _paced(ctx, layer, case, Timing(label, call.seconds, reference_seconds)) if checked.passed else None


def _paced(ctx, layer, case, timing):
    """``timing``, a call of the forward in its own task, noted in ``ctx.paces`` as the forward's pace on inputs
    of the sizes of ``case`` (see :func:`forward_excess`)."""
    ctx.paces.setdefault(layer.forward, []).append((layer.describe(case), timing))
    return timing


def forward_excess(ctx, layer, case, cache_call, reference_seconds, first):
    """Seconds the student's forward, called for a backward's cache (``cache_call``, its CallResult, on inputs of
    the sizes of ``case``), took beyond its own pace; ``reference_seconds``: the reference forward's on the same
    input.

    Its own pace: what it took on inputs of those sizes in its own task of this grading (its own fork, where
    no backward follows), FORWARD_PACE_MARGIN times the most of its seconds there and of its ratio to the
    reference loops there applied to ``reference_seconds`` (the first is robust to a reference too short to
    time steadily, the second to a machine that got busier). Where that task timed no such inputs (it times
    the speed case only when every answer was right), the speed budget or FORWARD_PACE_MARGIN times its
    highest ratio on any sizes, whichever is larger: a broken or hostile forward, slow everywhere, costs its
    own task's points, not the backward's, and one that gave up right answers to be timed less gives up more
    than a speed point. The excess may be the backward's work moved into a call the grader makes for the
    backward, so it counts as the backward's. Nothing counts for a call that timed out or crashed (its fork is
    gone, and with it whatever it computed), nor for the first call into the task's fresh fork (its start-up;
    the public case follows it, and its dout is published anyway).
    """
    if first or cache_call is None or not (cache_call.ok or cache_call.error_kind == "exception"):
        return 0.0
    own = [(d, t) for d, t in ctx.paces.get(layer.forward, ()) if t.alone]
    same = [t for d, t in own if d == layer.describe(case)]
    if same:
        allowed = FORWARD_PACE_MARGIN * max(max(t.student for t in same),
                                            max(t.student / t.reference for t in same) * reference_seconds)
    else:
        ratios = [FORWARD_PACE_MARGIN * t.student / t.reference for _, t in own]
        allowed = max([ctx.config.speed_budget] + ratios) * reference_seconds
    return max(0.0, cache_call.seconds - allowed)


def _fast_seconds(ctx, layer, inputs, backward):
    """Seconds the fast layer takes on a speed round's inputs (the message's comparison only)."""
    fast_forward, fast_backward = layer.fast
    args = layer.arguments(inputs)
    if not backward:
        return timed_reference(ctx, fast_forward, *args)[0]
    _, cache = fast_forward(*args)
    return timed_reference(ctx, fast_backward, inputs["dout"], cache)[0]


def speed_verdict(cases, rounds, fast_seconds, budget):
    """Verdict on the student's speed from every timed call (see the module docstring for the rule).

    cases: the :class:`Timing` of each graded case; rounds: of each round of the speed case; fast_seconds:
    the fast layer's time on each round. The message gives the speed case's median ratio and how much
    faster the fast layer is, as the notebook does, and what went over the budget if anything did. A
    backward's timings are judged alone, then with their ``forward_excess`` counted.
    """
    ratio = _median_ratio(rounds)
    speedup = statistics.median(r.student / f for r, f in zip(rounds, fast_seconds, strict=True))
    message = (f"your code took {ratio:.2f}x the reference loops' time; "
               f"the fast layer is {speedup:.0f}x faster than yours")
    if ratio > budget:
        return Verdict(False, message)
    over = _over_budget(cases, rounds, budget)
    if over:
        what, measured = over
        return Verdict(False, f"{message} on the speed case, but {what} it took {measured:.1f}x "
                              f"the reference loops' time (budget {budget:g}x)")
    if any(timing.forward_excess for timing in (*cases, *rounds)):
        counted = [t.with_forward_excess() for t in cases], [t.with_forward_excess() for t in rounds]
        counted_ratio = _median_ratio(counted[1])
        over = ("on the speed case", counted_ratio) if counted_ratio > budget else _over_budget(*counted, budget)
        if over:
            what, measured = over
            return Verdict(False, f"{message}, but with the time your forward took beyond its own pace when the "
                                  f"grader called it for the cache your backward is given, {what} your backward "
                                  f"took {measured:.1f}x the reference loops' time (budget {budget:g}x)")
    return Verdict(True, message)


def _median_ratio(rounds):
    return statistics.median(r.student / r.reference for r in rounds)


def _over_budget(cases, rounds, budget):
    """(what, ratio) of the first group of timed calls over budget (all calls, the graded cases together,
    each graded case; the last two only above SPEED_FLOOR and without a fork's first call), or None."""
    alone = [timing for timing in cases if timing.alone]
    groups = [(f"over all {len(cases) + len(rounds)} timed calls together", list(cases) + list(rounds), 0.0),
              (f"over the {len(alone)} graded cases together", alone, SPEED_FLOOR)]
    groups += [(f"on the {timing.label}", [timing], SPEED_FLOOR) for timing in alone]
    for what, timings, floor in groups:
        reference = sum(t.reference for t in timings)
        student = sum(t.student for t in timings)
        if timings and reference >= floor and student > budget * reference:
            return what, student / reference
    return None


def timed_reference(ctx, function, *args):
    """(seconds, return value) of the grader's own ``function(*args)``, run while every process of the
    submission is stopped, so none can slow it down (and buy a speed point)."""
    with ctx.session.paused():
        start = time.perf_counter()
        value = function(*args)
        return max(time.perf_counter() - start, 1e-6), value


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
    verdict = (none_returned(ctx, function, function, result.value, ("out", "cache"))
               or _out_verdict(result, function, expected_out, threshold))
    if diagnosed and not verdict.passed and item_count(result.value) == 2:
        out = result.value[0]
        verdict = replace(verdict, diagnosis=catalogue.diagnose(
            function, args, lambda candidate: compare_array("out", out, candidate, threshold).passed))
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
        return fallback, " (your forward failed, so the documented cache was used)", None, call
    if result.ok:
        result = type(result)(ok=False, error_kind="exception", message=f"{forward} did not return (out, cache)")
    return None, "", result, call


def backward_case(ctx, names, forward_args, dout, expected, label, points, fallback=None,
                  threshold=BACKWARD_THRESHOLD, cache_names=()):
    """Grade ``backward(dout, cache)`` where cache comes from the student's own forward.

    names: (forward function, backward function, names of the returned gradients, e.g. ('dx', 'dw', 'db')).
    expected: the reference gradients, in the same order. cache_names: the items of the documented
    cache, e.g. ('x', 'w', 'b', 'conv_param'), to name the one a backward modifies.
    Returns (Outcome, Verdict on whether dout and the cache came back unchanged).
    """
    checked, unchanged, _, _ = backward_call(ctx, names, forward_args, dout, expected, label, points, fallback,
                                             threshold, cache_names)
    return checked, unchanged


def backward_call(ctx, names, forward_args, dout, expected, label, points, fallback=None,
                  threshold=BACKWARD_THRESHOLD, cache_names=(), diagnosed=True):
    """:func:`backward_case`, also returning the CallResult of the backward call (None if it was not made) and
    that of the forward called for its cache; a failed outcome names the mistake the evidence shows unless not
    ``diagnosed`` (see :func:`forward_call`)."""
    forward, backward, grad_names = names
    cache, note, failed, cache_call = student_cache(ctx, forward, forward_args, fallback)
    if failed is not None:
        failure = call_failed(label, points, failed)
        return Outcome(label, points, False, f"needs the cache of your {forward}, which failed: {failure.message}",
                       failure.failure, reason=failure.reason), NOT_RETURNED, None, cache_call
    result, retried = call_backward(ctx, backward, dout, cache, fallback)
    note = note or retried
    if not result.ok:
        failed = call_failed(label, points, result)
        diagnosis = catalogue.diagnose_raised(backward, forward_args, result) if diagnosed else ""
        return replace(failed, diagnosis=diagnosis), NOT_RETURNED, result, cache_call
    verdict = (none_returned(ctx, backward, backward, result.value, grad_names)
               or _gradients_verdict(result, backward, grad_names, expected, threshold))
    verdict = Verdict(verdict.passed, verdict.message + (note if verdict.passed else ""))
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
        return len(expected) == len(grad_names) and _gradients_verdict(result, backward, grad_names, expected,
                                                                       threshold).passed

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
    verdict = failing or Verdict(bool(verdicts), "your function left its inputs unchanged" if verdicts
                                 else "nothing was compared (no case was graded)")
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
        return (replace(retry, seconds=result.seconds + retry.seconds),
                " (with the cache your forward returned it raised; graded with the documented cache)")
    return result, ""
