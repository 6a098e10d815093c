"""Checks shared by the layer tasks: a forward case, a backward case through the student's own cache,
unchanged inputs, and speed against the reference loops."""
import statistics
import time

from grader.compare import BACKWARD_THRESHOLD, FORWARD_THRESHOLD, Verdict, all_of, compare_array
from grader.sandbox.protocol import Ref
from grader.tasks.base import Outcome, call_failed, earned_only_if, inputs_unchanged, outcome

SPEED_ROUNDS = 3  # interleaved rounds; the median ratio is robust to one noisy round


def forward_case(ctx, function, args, expected_out, label, points, threshold=FORWARD_THRESHOLD):
    """Call ``function(*args)`` expecting ``(out, cache)``; returns (Outcome, args after the call)."""
    result = ctx.session.call(function, *args, send=[0], return_args=True)
    if not result.ok:
        return call_failed(label, points, result), None
    if result.arity != 2:
        got = f"{result.arity} values" if result.arity is not None else result.result_type
        return Outcome(label, points, False, f"{function} should return (out, cache), got {got}"), None
    return outcome(label, points, compare_array("out", result.value[0], expected_out, threshold)), result.args_after


def student_cache(ctx, forward, forward_args, fallback, handle="forward"):
    """The cache the student's forward returns (kept in the child), or the documented one if it fails.

    Returns (cache or None, note, failed CallResult or None).
    """
    result = ctx.session.call(forward, *forward_args, keep=handle, send="none")
    if result.ok and result.arity == 2:
        return Ref(handle, 1), "", None
    if fallback is not None:
        return fallback, " (your forward failed, so the documented cache was used)", None
    if result.ok:
        result = type(result)(ok=False, error_kind="exception", message=f"{forward} did not return (out, cache)")
    return None, "", result


def backward_case(ctx, names, forward_args, dout, expected, label, points, fallback=None,
                  threshold=BACKWARD_THRESHOLD):
    """Grade ``backward(dout, cache)`` where cache comes from the student's own forward.

    names: (forward function, backward function, names of the returned gradients, e.g. ('dx', 'dw', 'db')).
    expected: the reference gradients, in the same order. Returns (Outcome, dout after the call).
    """
    forward, backward, grad_names = names
    cache, note, failed = student_cache(ctx, forward, forward_args, fallback)
    if failed is not None:
        failure = call_failed(label, points, failed)
        return Outcome(label, points, False, f"needs the cache of your {forward}, which failed: {failure.message}",
                       failure.failure), None
    result, retried = call_backward(ctx, backward, dout, cache, fallback, return_args=True)
    note = note or retried
    if not result.ok:
        return call_failed(label, points, result), None
    grads = _as_gradients(result, len(grad_names), backward)
    if isinstance(grads, Verdict):
        return outcome(label, points, grads), None
    verdict = all_of([compare_array(n, g, e, threshold) for n, g, e in zip(grad_names, grads, expected)])
    verdict = Verdict(verdict.passed, verdict.message + (note if verdict.passed else ""))
    after = result.args_after[0] if isinstance(result.args_after, tuple) else None
    return outcome(label, points, verdict), after


def _as_gradients(result, count, backward):
    if count == 1:
        return (result.value,)
    if result.arity != count:
        got = f"{result.arity} values" if result.arity is not None else result.result_type
        return Verdict(False, f"{backward} should return {count} gradients, got {got}")
    return tuple(result.value)


def unchanged_check(correct, checked, points=1.0):
    """One check over all cases: inputs came back unmodified. ``checked``: (sent args, args after) pairs."""
    for sent, after, names in checked:
        verdict = inputs_unchanged(sent, after, names)
        if not verdict.passed:
            return earned_only_if(correct, "inputs unchanged", points, verdict)
    return earned_only_if(correct, "inputs unchanged", points, Verdict(True, "your function left its inputs unchanged"))


def speed_check(ctx, correct, run_student, run_reference, run_fast, budget, points=1.0):
    """Time the student's call against the reference loops on the same inputs, interleaved.

    run_student(round) -> CallResult (its ``seconds`` is the grader's wall clock); run_reference(round) and
    run_fast(round) run in the grader's process on that round's inputs.
    """
    name = f"speed (at most {budget:g}x the reference loops)"
    if not correct:
        return earned_only_if(correct, name, points, Verdict(False, ""))
    ratios, fast_speedups = [], []
    for round_index in range(SPEED_ROUNDS):
        reference = _timed(run_reference, round_index)
        result = run_student(round_index)
        if not result.ok:
            return call_failed(name, points, result)
        fast = _timed(run_fast, round_index)
        ratios.append(result.seconds / reference)
        fast_speedups.append(result.seconds / fast)
    ratio, speedup = statistics.median(ratios), statistics.median(fast_speedups)
    message = f"your code took {ratio:.2f}x the reference loops' time; the fast layer is {speedup:.0f}x faster than yours"
    return outcome(name, points, Verdict(ratio <= budget, message))


def timed_backward(ctx, forward, backward, forward_args, dout, fallback):
    """Run the student's forward (untimed), then return the CallResult of the backward call."""
    cache, _, failed = student_cache(ctx, forward, forward_args, fallback, handle="speed")
    if failed is not None:
        return failed
    return call_backward(ctx, backward, dout, cache, fallback, send="none")[0]


def call_backward(ctx, backward, dout, cache, fallback, **options):
    """Call backward with the student's cache; if it raises and the cache format is documented (conv, pool),
    retry with the documented cache, so a forward that returns a bad cache costs only the forward task.

    Returns (CallResult, note for the message).
    """
    result = ctx.session.call(backward, dout, cache, **options)
    if result.ok or result.error_kind != "exception" or fallback is None or cache is fallback:
        return result, ""
    retry = ctx.session.call(backward, dout, fallback, **options)
    if retry.ok:
        return retry, " (with the cache your forward returned it raised; graded with the documented cache)"
    return result, ""


def _timed(function, round_index):
    start = time.perf_counter()
    function(round_index)
    return max(time.perf_counter() - start, 1e-6)
