"""How fast a layer's naive functions are against the reference loops, and the secret inputs that keep the
timing honest.

Speed: every call of the naive function a task makes is made with one and the same request
(layer_checks' FORWARD_REQUEST, or CACHE_REQUEST then BACKWARD_REQUEST), so nothing but the input tells the child which
call is timed; and every call into the submission is timed: each graded case and each of the SPEED_ROUNDS
rounds of the speed case, against the reference loops on the same input, timed in the grader with the
submission paused, interleaved with the student's calls. Both sides are measured the same way, by the
kernel from the grader's side (grader.sandbox.clock): time on a CPU or blocked, not time spent waiting for
a CPU, so a busy machine changes neither side's share. A backward's time includes a first attempt that
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

Kept reference times (a long-lived process: a class worker): the speed case's inputs always have the same
sizes, so the reference loops' time on them hardly varies. Once a process has measured KEPT_SAMPLES speed
rounds of a function, a first measurement of a backward takes the least time it ever measured for each
reference instead of timing the loops again (the expected values come from the fast layers, which agree
with the loops to rounding). The least time makes the student's code look slowest, so it errs against the
student unless the reference now runs faster than it ever did in this process; and a verdict reached on
it passes only when it passes at KEPT_MARGIN of the budget, so a wrong pass would need the reference to run
more than twice as fast as its fastest measurement. One that fails even at the budget over KEPT_MARGIN is a
first measurement over budget: the confirmation, timed beside the reference, decides as usual. In
between, the speed rounds are made again on fresh inputs with the reference timed beside each call,
exactly as without kept times, and that measurement (and its confirmation) decides. A forward's speed
rounds are always timed beside the reference: they are also its pace (:func:`forward_excess`), which a
kept time would make look slower, so that a backward could move more work into it. The graded cases and
every confirmation are always timed beside the reference.
"""

import statistics
import zlib
from dataclasses import dataclass, replace

import numpy as np

from grader.compare import Verdict
from grader.report import Kind
from grader.sandbox import clock
from grader.tasks import memo
from grader.tasks.base import Outcome, earned_only_if, outcome

SPEED_ROUNDS = 3  # rounds of the speed case; the median ratio is robust to one noisy round
# What a drawn input is for (one stream of the grading's secret each): a graded case, a speed round, each of
# them drawn anew for the confirmation, and a speed round made again because kept times left it undecided.
GRADED, SPEED, CONFIRMATION_GRADED, CONFIRMATION_SPEED, MEASURED_SPEED = 1, 2, 3, 4, 5
# A draw on which a reference value (nonzero) lies closer to zero than this fraction of its array's largest
# is drawn again: the rounding of another correct summation order (~1e-14 of that largest) then stays far
# below every threshold's share of the value, so correct code passes on every draw.
WELL_POSED = 1e-6
# A forward's pace varies a little from call to call (load, caches): a forward called for a backward's cache may
# take this many times its own pace in its own task before the rest counts as the backward's time.
FORWARD_PACE_MARGIN = 1.25
MAX_DRAWS = 100  # a draw is ill-posed with probability ~3e-3 (measured on conv, less on pool): 100 in a row is a bug
# A call's fixed cost (encoding, decoding, the child's side of the protocol) is ~0.1-0.5 ms; a call (or a set
# of calls) whose reference loops take less than this measures that, not the student's code, so it counts
# only within the total of all calls.
SPEED_FLOOR = 2e-3
# Speed rounds of a function measured in this process before the least reference time seen stands in for
# timing the loops again: 3 is one grading's rounds, so a class worker times them in its first grading.
KEPT_SAMPLES = 3
# A verdict reached on kept reference times stands only if it passes at this fraction of the budget: far more
# than the few tens of percent by which a reference's time moves with the machine's state.
KEPT_MARGIN = 0.5


@dataclass(frozen=True)
class Timing:
    """One timed call: the student's function and the reference loops on the same input."""

    label: str
    """The call's case, e.g. 'hidden case: x (2, 3, 7, 7), ...'."""
    student: float
    """Seconds the call worked (CallResult.seconds: its round trip less waiting for a CPU)."""
    reference: float
    """Seconds the reference loops worked on the same input, in the grader, with the submission paused."""
    alone: bool = True
    """False for a call judged only within the total of all calls: a task's first call, the first into the
    task's fresh fork, whose round trip is ~15 ms longer than the next ones' whatever it calls (measured: the
    sandbox's start-up, not the student's code)."""
    forward_excess: float = 0.0
    """For a backward: seconds the student's forward, called for this backward's cache, took beyond its own
    pace (see :func:`forward_excess`): work that may have been the backward's, counted as the backward's."""
    kept: bool = False
    """Whether ``reference`` is a kept time (the least this process measured on these sizes), not measured
    beside this call (see :func:`round_reference`)."""
    fast_seconds: float | None = None
    """Seconds the fast layer took on the same input, where the reference side timed it already (a kept
    round's answer comes from the fast layers); None: not timed yet."""

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


def layer_speed(ctx, layer, correct, timings, backward, measure, points=1.0):
    """The speed check of a layer's forward or backward: the graded cases' ``timings``, then SPEED_ROUNDS
    rounds of the speed case, each called exactly as a graded case is and timed the same way; over budget,
    confirmed by a second measurement on fresh inputs (:func:`_confirmation`) before the point is lost.

    measure(ctx, layer, case, inputs, backward, label, reference) -> (Outcome of the output, Timing or None): one
    call made by the very function a graded case uses (the layer checks' speed round), so a round is a graded
    case's twin, against ``reference`` (a RoundReference: the reference's times and answer on those inputs).

    Only right answers are timed: a wrong output on the speed case fails the check (code that recognizes
    the speed case could otherwise return anything at once).
    """
    name = f"speed (at most {ctx.config.speed_budget:g}x the reference loops)"
    if not correct:
        return earned_only_if(correct, name, points, Verdict(False, ""), Kind.SPEED)
    # A forward's rounds are its pace for its backward's forward_excess: always timed beside the reference.
    measured = _speed_rounds(ctx, layer, timings, backward, SPEED, measure, kept=backward)
    if isinstance(measured, _KeptVerdict):  # not a clear pass on kept times: measured as if none were kept
        measured = _speed_rounds(ctx, layer, timings, backward, MEASURED_SPEED, measure)
    if isinstance(measured, Verdict) and not measured.passed:
        measured = _confirmation(ctx, layer, backward, measured, measure)
    if isinstance(measured, Outcome):
        return replace(measured, name=name, points=points, kind=Kind.SPEED)
    return outcome(name, points, measured, kind=Kind.SPEED)


class _KeptVerdict(Verdict):
    """A verdict on kept reference times that is neither a clear pass nor a clear fail: it does not stand."""


def _speed_rounds(ctx, layer, timings, backward, purpose, measure, kept=False):
    """The speed verdict from ``timings`` and SPEED_ROUNDS rounds of the speed case drawn for ``purpose``
    (SPEED, MEASURED_SPEED or CONFIRMATION_SPEED); a failed Outcome instead when a round's call fails or its
    output is wrong. ``kept``: the rounds may take kept reference times (:func:`round_reference`); if any did,
    a verdict that neither passes at KEPT_MARGIN of the budget nor fails at the budget over KEPT_MARGIN comes
    back as a _KeptVerdict (a failing one is only a first measurement: a measured confirmation decides)."""
    case = layer.describe(layer.speed_case)
    task = layer.backward if backward else layer.forward
    rounds, fast = [], []
    for index in range(SPEED_ROUNDS):
        inputs = drawn_inputs(ctx, layer, task, layer.speed_case, purpose, index)
        timing = _timed_case(
            ctx,
            layer,
            layer.speed_case,
            inputs,
            backward,
            f"speed case: {case}",
            f"the speed case ({case})",
            measure,
            kept=kept,
        )
        if isinstance(timing, Outcome):
            return timing
        rounds.append(timing)
        fast.append(_fast_seconds(ctx, layer, inputs, backward) if timing.fast_seconds is None else timing.fast_seconds)
    budget = ctx.config.speed_budget
    verdict = speed_verdict(timings, rounds, fast, budget)
    if not any(timing.kept for timing in rounds):
        return verdict
    clear_pass = speed_verdict(timings, rounds, fast, KEPT_MARGIN * budget).passed
    clear_fail = not speed_verdict(timings, rounds, fast, budget / KEPT_MARGIN).passed
    return verdict if clear_pass or clear_fail else _KeptVerdict(verdict.passed, verdict.message)


@dataclass(frozen=True)
class RoundReference:
    """The reference side of one speed round."""

    forward_seconds: float
    """Seconds of the reference forward on the round's inputs (a backward's forward_excess needs it)."""
    seconds: float
    """Seconds of the reference function under test (the forward's or the backward's)."""
    expected: object
    """Its right answer: out for a forward, the gradients' tuple for a backward."""
    kept: bool = False
    """Whether the times are kept ones (the least this process measured) rather than measured now."""
    fast_seconds: float | None = None
    """For kept times: seconds the fast layer under test took on the round's inputs, making ``expected``."""


def round_reference(ctx, layer, case, inputs, backward, kept=False):
    """The RoundReference of a timed call on ``inputs`` (drawn on the sizes of ``case``): the reference loops
    timed now (on the speed case, their times noted for this process), or, when ``kept``, on the speed case,
    and KEPT_SAMPLES calls on it were measured already, the least times measured, with the fast layers'
    answer."""
    args = layer.arguments(inputs)
    keys = []  # the speed case's sizes are the only ones whose times are kept (and ever looked up)
    if case == layer.speed_case:
        sizes = layer.describe(case)
        keys = [(layer.forward, sizes)] + ([(layer.backward, sizes)] if backward else [])
    kept_times = [_KEPT_TIMES.get(key) or (0, None) for key in keys]  # (rounds measured, least seconds)
    if kept and keys and all(count >= KEPT_SAMPLES for count, _ in kept_times):
        fast_seconds, expected = _timed_fast(ctx, layer, inputs, backward)  # timed once: the message needs it
        return RoundReference(kept_times[0][1], kept_times[-1][1], expected, kept=True, fast_seconds=fast_seconds)
    forward_seconds, (out, _) = timed_reference(ctx, layer.reference[0], *args)
    seconds, expected = forward_seconds, out
    if backward:
        seconds, expected = timed_reference(ctx, layer.reference_gradients, inputs["dout"], args)
    for key, (count, least), measured in zip(keys, kept_times, (forward_seconds, seconds)):
        _KEPT_TIMES.put(key, (count + 1, measured if least is None else min(least, measured)))
    return RoundReference(forward_seconds, seconds, expected)


# (reference function's task id, the speed case's sizes) -> (calls measured, the least seconds measured) of
# the reference loops in this process; registered with grader.tasks.memo, so memo.clear() forgets them.
_KEPT_TIMES = memo.BoundedStore()


def _confirmation(ctx, layer, backward, first, measure):
    """The verdict of a second measurement, on every graded case and speed round drawn anew; the check fails
    only when this one is over budget too (``first`` is the verdict of the first measurement)."""
    task = layer.backward if backward else layer.forward
    timings = []
    for index, (kind, case, _) in enumerate(layer.cases(task)):
        inputs = drawn_inputs(ctx, layer, task, case, CONFIRMATION_GRADED, index)
        described = layer.describe(case)
        timing = _timed_case(
            ctx,
            layer,
            case,
            inputs,
            backward,
            f"{kind} (drawn anew): {described}",
            f"the {kind} ({described}) drawn anew",
            measure,
        )
        if isinstance(timing, Outcome):
            return timing
        timings.append(timing)
    second = _speed_rounds(ctx, layer, timings, backward, CONFIRMATION_SPEED, measure)
    if isinstance(second, Outcome):
        return second
    if second.passed:
        return replace(
            second,
            message=f"{second.message} (a first measurement over budget was not confirmed "
            f"on fresh inputs: {first.message})",
        )
    return replace(second, message=f"{second.message}; over budget on two measurements, the second on fresh inputs")


def _timed_case(ctx, layer, case, inputs, backward, label, what, measure, kept=False):
    """The Timing of one call on ``inputs`` (drawn on the sizes of ``case``) made as a graded case is made, or
    a failed Outcome when the call fails or its output is wrong (only right answers are timed). ``kept``: the
    reference's time may be a kept one (:func:`round_reference`)."""
    reference = round_reference(ctx, layer, case, inputs, backward, kept)
    checked, timing = measure(ctx, layer, case, inputs, backward, label, reference)
    if checked.failure:
        return Outcome(label, 1.0, False, checked.message, checked.failure, reason=checked.reason)
    if not checked.passed:
        return Outcome(
            label, 1.0, False, f"your output on {what} was wrong: {checked.message}; only right answers are timed"
        )
    return replace(timing, kept=reference.kept, fast_seconds=reference.fast_seconds)


def paced(ctx, layer, case, timing):
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
    than a speed point. A call for the cache that raised counts nothing when the forward raised in its own
    task too (ctx.raised_in_own_task): a broken forward (one that runs out of memory, say) costs its own
    task, while one that raises only where a backward follows (work done for it, then an exception) is
    still charged. The excess may be the backward's work moved into a call the grader makes for the
    backward, so it counts as the backward's. Nothing counts for a call that timed out or crashed (its fork is
    gone, and with it whatever it computed), nor for the first call into the task's fresh fork (its start-up;
    the public case follows it, and its dout is published anyway).
    """
    if first or cache_call is None or not (cache_call.ok or cache_call.error_kind == "exception"):
        return 0.0
    if not cache_call.ok and layer.forward in ctx.raised_in_own_task:
        return 0.0  # a forward that raised in its own task too: broken for all to see, not hiding work
    own = [(d, t) for d, t in ctx.paces.get(layer.forward, ()) if t.alone]
    same = [t for d, t in own if d == layer.describe(case)]
    if same:
        allowed = FORWARD_PACE_MARGIN * max(
            max(t.student for t in same), max(t.student / t.reference for t in same) * reference_seconds
        )
    else:
        ratios = [FORWARD_PACE_MARGIN * t.student / t.reference for _, t in own]
        allowed = max([ctx.config.speed_budget] + ratios) * reference_seconds
    return max(0.0, cache_call.seconds - allowed)


def _fast_seconds(ctx, layer, inputs, backward):
    """Seconds the fast layer takes on a speed round's inputs (the message's comparison only)."""
    return _timed_fast(ctx, layer, inputs, backward)[0]


def _timed_fast(ctx, layer, inputs, backward):
    """(seconds, answer) of the fast layer under test on a speed round's inputs: the forward's out, or the
    backward's gradients (only the backward timed: the cache it needs is made first)."""
    fast_forward, fast_backward = layer.fast
    args = layer.arguments(inputs)
    if not backward:
        seconds, (out, _) = timed_reference(ctx, fast_forward, *args)
        return seconds, out
    _, cache = fast_forward(*args)
    seconds, gradients = timed_reference(ctx, fast_backward, inputs["dout"], cache)
    return seconds, layer.as_gradients(gradients)


def speed_verdict(cases, rounds, fast_seconds, budget):
    """Verdict on the student's speed from every timed call (see the module docstring for the rule).

    cases: the :class:`Timing` of each graded case; rounds: of each round of the speed case; fast_seconds:
    the fast layer's time on each round. The message gives the speed case's median ratio and how much
    faster the fast layer is, as the notebook does, and what went over the budget if anything did. A
    backward's timings are judged alone, then with their ``forward_excess`` counted.
    """
    ratio = _median_ratio(rounds)
    speedup = statistics.median(r.student / f for r, f in zip(rounds, fast_seconds, strict=True))
    message = (
        f"your code took {ratio:.2f}x the reference loops' time; the fast layer is {speedup:.0f}x faster than yours"
    )
    if ratio > budget:
        return Verdict(False, message)
    over = _over_budget(cases, rounds, budget)
    if over:
        what, measured = over
        return Verdict(
            False,
            f"{message} on the speed case, but {what} it took {measured:.1f}x "
            f"the reference loops' time (budget {budget:g}x)",
        )
    if any(timing.forward_excess for timing in (*cases, *rounds)):
        counted = [t.with_forward_excess() for t in cases], [t.with_forward_excess() for t in rounds]
        counted_ratio = _median_ratio(counted[1])
        over = ("on the speed case", counted_ratio) if counted_ratio > budget else _over_budget(*counted, budget)
        if over:
            what, measured = over
            return Verdict(
                False,
                f"{message}, but with the time your forward took beyond its own pace when the "
                f"grader called it for the cache your backward is given, {what} your backward "
                f"took {measured:.1f}x the reference loops' time (budget {budget:g}x)",
            )
    return Verdict(True, message)


def _median_ratio(rounds):
    return statistics.median(r.student / r.reference for r in rounds)


def _over_budget(cases, rounds, budget):
    """(what, ratio) of the first group of timed calls over budget (all calls, the graded cases together,
    each graded case; the last two only above SPEED_FLOOR and without a fork's first call), or None."""
    alone = [timing for timing in cases if timing.alone]
    groups = [
        (f"over all {len(cases) + len(rounds)} timed calls together", list(cases) + list(rounds), 0.0),
        (f"over the {len(alone)} graded cases together", alone, SPEED_FLOOR),
    ]
    groups += [(f"on the {timing.label}", [timing], SPEED_FLOOR) for timing in alone]
    for what, timings, floor in groups:
        reference = sum(t.reference for t in timings)
        student = sum(t.student for t in timings)
        if timings and reference >= floor and student > budget * reference:
            return what, student / reference
    return None


def timed_reference(ctx, function, *args):
    """(seconds, return value) of the grader's own ``function(*args)``, measured as a call into the
    submission is (grader.sandbox.clock: time on a CPU or blocked, not time waiting for one), while every
    process of the submission is stopped, so none can slow it down (and buy a speed point)."""
    with ctx.session.paused():
        return clock.measured(function, *args)
