"""Checks shared by the layer tasks: a forward case, a backward case through the student's own cache,
unchanged inputs (the backward's cache included), and speed against the reference loops; and the whole
grading of a naive layer with a documented cache (convolution, max pooling) from its :class:`Layer`."""
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from grader.compare import BACKWARD_THRESHOLD, FORWARD_THRESHOLD, Verdict, all_of, compare_array
from grader.sandbox.protocol import Ref
from grader.tasks.base import Outcome, cache_unchanged, call_failed, earned_only_if, inputs_unchanged, outcome, was_cut

SPEED_ROUNDS = 3  # interleaved rounds; the median ratio is robust to one noisy round
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
    """Parameters of the speed rounds' inputs, without the seed."""
    speed_seed: int
    """Round i of the speed check draws its inputs with seed speed_seed + i."""
    inputs: Callable
    """inputs(parameters) -> dict of the forward's arguments by name, and dout."""
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
        yield "public case", self.public_cases[task_id], self.public_points
        for case in self.hidden_cases:
            yield "hidden case", case, self.hidden_points

    def arguments(self, inputs):
        return tuple(inputs[name] for name in self.arg_names)

    def reference_gradients(self, dout, cache):
        grads = self.reference[1](dout, cache)
        return grads if len(self.grad_names) > 1 else (grads,)


def grade_layer_forward(ctx, layer):
    """Outcomes of a layer's forward: every case, unchanged inputs, speed."""
    outcomes, unchanged = [], []
    for kind, case, points in layer.cases(layer.forward):
        args = layer.arguments(layer.inputs(case))
        expected, _ = layer.reference[0](*args)
        result, after = forward_case(ctx, layer.forward, args, expected, f"{kind}: {layer.describe(case)}", points)
        outcomes.append(result)
        unchanged.append(inputs_unchanged(args, after, layer.arg_names))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(layer_speed(ctx, layer, correct, backward=False))
    return outcomes


def grade_layer_backward(ctx, layer):
    """Outcomes of a layer's backward through the cache of the student's own forward (the documented
    cache stands in when that forward fails); dout and the cache must come back unchanged."""
    outcomes, unchanged = [], []
    names = (layer.forward, layer.backward, layer.grad_names)
    for kind, case, points in layer.cases(layer.backward):
        inputs = layer.inputs(case)
        args = layer.arguments(inputs)
        expected = layer.reference_gradients(inputs["dout"], args)
        result, inputs_verdict = backward_case(ctx, names, args, inputs["dout"], expected,
                                               f"{kind}: {layer.describe(case)}", points, fallback=args,
                                               cache_names=layer.arg_names)
        outcomes.append(result)
        unchanged.append(inputs_verdict)
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(layer_speed(ctx, layer, correct, backward=True))
    return outcomes


def layer_speed(ctx, layer, correct, backward):
    """The speed check of a layer's forward or backward on its speed case."""
    rounds = [layer.inputs(dict(layer.speed_case, seed=layer.speed_seed + i)) for i in range(SPEED_ROUNDS)]
    args = [layer.arguments(inputs) for inputs in rounds]
    (reference_forward, reference_backward), (fast_forward, fast_backward) = layer.reference, layer.fast
    case = layer.describe(layer.speed_case)
    if not backward:
        return speed_check(
            ctx, correct,
            run_student=lambda i: ctx.session.call(layer.forward, *args[i], send=[0]),
            run_reference=lambda i: reference_forward(*args[i]),
            run_fast=lambda i: fast_forward(*args[i]),
            budget=ctx.config.speed_budget,
            check_output=forward_output(layer.forward),
            case=case,
        )
    fast_caches = [fast_forward(*args[i])[1] for i in range(SPEED_ROUNDS)]
    return speed_check(
        ctx, correct,
        run_student=lambda i: timed_backward(ctx, layer.forward, layer.backward, args[i], rounds[i]["dout"], args[i]),
        run_reference=lambda i: reference_backward(rounds[i]["dout"], args[i]),
        run_fast=lambda i: fast_backward(rounds[i]["dout"], fast_caches[i]),
        budget=ctx.config.speed_budget,
        check_output=backward_output(layer.backward, layer.grad_names),
        case=case,
    )


def forward_case(ctx, function, args, expected_out, label, points, threshold=FORWARD_THRESHOLD):
    """Call ``function(*args)`` expecting ``(out, cache)``; returns (Outcome, args after the call)."""
    result = ctx.session.call(function, *args, send=[0], return_args=True)
    if not result.ok:
        return call_failed(label, points, result), None
    return outcome(label, points, _out_verdict(result, function, expected_out, threshold)), result.args_after


def _out_verdict(result, function, expected_out, threshold):
    """The ``out`` of a forward called with send=[0] (only out comes back) against the reference's."""
    if result.arity != 2:
        return Verdict(False, f"{function} should return (out, cache), got {_returned(result)}")
    return compare_array("out", result.value[0], expected_out, threshold)


def _returned(result):
    return f"{result.arity} values" if result.arity is not None else result.result_type


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
                  threshold=BACKWARD_THRESHOLD, cache_names=()):
    """Grade ``backward(dout, cache)`` where cache comes from the student's own forward.

    names: (forward function, backward function, names of the returned gradients, e.g. ('dx', 'dw', 'db')).
    expected: the reference gradients, in the same order. cache_names: the items of the documented
    cache, e.g. ('x', 'w', 'b', 'conv_param'), to name the one a backward modifies.
    Returns (Outcome, Verdict on whether dout and the cache came back unchanged).
    """
    forward, backward, grad_names = names
    cache, note, failed = student_cache(ctx, forward, forward_args, fallback)
    if failed is not None:
        failure = call_failed(label, points, failed)
        return Outcome(label, points, False, f"needs the cache of your {forward}, which failed: {failure.message}",
                       failure.failure), NOT_RETURNED
    result, retried = call_backward(ctx, backward, dout, cache, fallback, return_args="both")
    note = note or retried
    if not result.ok:
        return call_failed(label, points, result), NOT_RETURNED
    verdict = _gradients_verdict(result, backward, grad_names, expected, threshold)
    verdict = Verdict(verdict.passed, verdict.message + (note if verdict.passed else ""))
    before = fallback if retried else _cache_before(cache, result)
    return outcome(label, points, verdict), _backward_inputs_unchanged(dout, before, result.args_after, cache_names)


def _cache_before(cache, result):
    """The cache as the backward received it, to compare with the cache after the call: what the grader
    sent, or, for the student's own cache kept in the child, the copy the child took just before the call
    (encoded like the cache after it). None if it did not come back."""
    if not isinstance(cache, Ref):
        return cache
    before = result.args_before
    return before[1] if isinstance(before, tuple) and len(before) == 2 else None


def _backward_inputs_unchanged(dout, cache, args_after, cache_names):
    """Verdict on a backward call made with return_args="both": dout and every array of the cache unchanged.

    cache: the cache as it was before the call (None: it did not come back). A cache that did not come
    back whole cannot be shown unchanged: the point is not given (fail closed).
    """
    if not isinstance(args_after, tuple) or len(args_after) != 2:
        return NOT_RETURNED
    verdict = inputs_unchanged((dout,), args_after[:1], ("dout",))
    if not verdict.passed:
        return verdict
    if cache is None or was_cut(cache) or was_cut(args_after[1]):
        return UNVERIFIABLE_CACHE
    return cache_unchanged(cache, args_after[1], cache_names)


def _gradients_verdict(result, backward, grad_names, expected, threshold):
    """The gradients a backward returned against the reference's ``expected`` (same order as grad_names)."""
    grads = _as_gradients(result, len(grad_names), backward)
    if isinstance(grads, Verdict):
        return grads
    return all_of([compare_array(n, g, e, threshold) for n, g, e in zip(grad_names, grads, expected)])


def _as_gradients(result, count, backward):
    if count == 1:
        return (result.value,)
    if result.arity != count:
        return Verdict(False, f"{backward} should return {count} gradients, got {_returned(result)}")
    return tuple(result.value)


def unchanged_check(correct, verdicts, points=1.0):
    """One check over all cases: each case's Verdict on whether its inputs came back unmodified."""
    failing = next((verdict for verdict in verdicts if not verdict.passed), None)
    verdict = failing or Verdict(True, "your function left its inputs unchanged")
    return earned_only_if(correct, "inputs unchanged", points, verdict)


def speed_check(ctx, correct, run_student, run_reference, run_fast, budget, check_output, case, points=1.0):
    """Time the student's call against the reference loops on the same inputs, interleaved.

    run_student(round) -> CallResult (its ``seconds`` is the grader's wall clock) that sends the outputs
    back; run_reference(round) and run_fast(round) run in the grader's process on that round's inputs.
    check_output(CallResult, the reference's return value) -> Verdict: a fast answer counts only if it is
    right, or code that recognizes the speed case could return anything at once. case: its description.
    """
    name = f"speed (at most {budget:g}x the reference loops)"
    if not correct:
        return earned_only_if(correct, name, points, Verdict(False, ""))
    ratios, fast_speedups = [], []
    for round_index in range(SPEED_ROUNDS):
        with ctx.session.paused():  # the submission's processes must not slow the reference down
            reference_seconds, reference = _timed(run_reference, round_index)
        result = run_student(round_index)
        if not result.ok:
            return call_failed(name, points, result)
        verdict = check_output(result, reference)
        if not verdict.passed:
            return Outcome(name, points, False, f"your output on the speed case ({case}) was wrong: "
                                                f"{verdict.message}; only right answers are timed")
        with ctx.session.paused():
            fast_seconds, _ = _timed(run_fast, round_index)
        ratios.append(result.seconds / reference_seconds)
        fast_speedups.append(result.seconds / fast_seconds)
    ratio, speedup = statistics.median(ratios), statistics.median(fast_speedups)
    message = f"your code took {ratio:.2f}x the reference loops' time; the fast layer is {speedup:.0f}x faster than yours"
    return outcome(name, points, Verdict(ratio <= budget, message))


def forward_output(forward, threshold=FORWARD_THRESHOLD):
    """A speed round's ``check_output`` for ``forward`` called with send=[0]: its out against the reference's."""
    return lambda result, reference: _out_verdict(result, forward, reference[0], threshold)


def backward_output(backward, grad_names, threshold=BACKWARD_THRESHOLD):
    """A speed round's ``check_output`` for ``backward``: every gradient against the reference's return value."""

    def check(result, reference):
        expected = reference if len(grad_names) > 1 else (reference,)
        return _gradients_verdict(result, backward, grad_names, expected, threshold)

    return check


def timed_backward(ctx, forward, backward, forward_args, dout, fallback):
    """Run the student's forward (untimed), then return the CallResult of the backward call, gradients sent back."""
    cache, _, failed = student_cache(ctx, forward, forward_args, fallback, handle="speed")
    if failed is not None:
        return failed
    return call_backward(ctx, backward, dout, cache, fallback)[0]


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
    """(seconds, return value) of ``function(round_index)``."""
    start = time.perf_counter()
    value = function(round_index)
    return max(time.perf_counter() - start, 1e-6), value
