"""Checks of the naive convolution: forward and backward, public and hidden cases, inputs, speed."""
import solutions
from assignment.cases import PUBLIC_CASES, conv_inputs
from assignment.fast_layers import conv_backward_fast, conv_forward_fast
from grader.tasks.base import inputs_unchanged
from grader.tasks.layer_checks import (
    backward_case,
    backward_output,
    forward_case,
    forward_output,
    speed_check,
    timed_backward,
    unchanged_check,
)

# Hidden cases: every edge of SPEC section 4 (pad 0 and 2, strides 2 and 3, H != W, HH != WW, N = C = F = 1).
HIDDEN_CASES = (
    dict(N=2, C=3, H=7, W=7, F=4, HH=3, WW=3, stride=1, pad=0, seed=101),
    dict(N=2, C=2, H=6, W=6, F=3, HH=3, WW=3, stride=1, pad=2, seed=102),
    dict(N=2, C=3, H=9, W=9, F=2, HH=3, WW=3, stride=2, pad=1, seed=103),
    dict(N=1, C=2, H=11, W=10, F=2, HH=3, WW=3, stride=3, pad=1, seed=104),
    dict(N=2, C=2, H=5, W=8, F=3, HH=3, WW=3, stride=1, pad=1, seed=105),
    dict(N=2, C=2, H=7, W=6, F=2, HH=2, WW=4, stride=1, pad=0, seed=106),
    dict(N=1, C=1, H=6, W=5, F=1, HH=3, WW=2, stride=2, pad=1, seed=107),
    dict(N=2, C=3, H=8, W=7, F=2, HH=4, WW=3, stride=3, pad=2, seed=108),
)
SPEED_CASE = dict(N=2, C=3, H=16, W=16, F=4, HH=3, WW=3, stride=1, pad=1)
PUBLIC_POINTS, HIDDEN_POINTS = 2.0, 1.0
FORWARD, BACKWARD = "conv_forward_naive", "conv_backward_naive"
ARG_NAMES = ("x", "w", "b", "conv_param")  # the forward's arguments, and the items of the documented cache
GRAD_NAMES = ("dx", "dw", "db")


def describe(case):
    return (f"x {case['N'], case['C'], case['H'], case['W']}, w {case['F'], case['C'], case['HH'], case['WW']}, "
            f"stride {case['stride']}, pad {case['pad']}")


def _cases(task_id):
    yield "public case", PUBLIC_CASES[task_id], PUBLIC_POINTS
    for case in HIDDEN_CASES:
        yield "hidden case", case, HIDDEN_POINTS


def grade_forward(ctx):
    outcomes, unchanged = [], []
    for kind, case, points in _cases(FORWARD):
        inputs = conv_inputs(**case)
        args = (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"])
        expected, _ = solutions.conv_forward_naive(*args)
        result, after = forward_case(ctx, FORWARD, args, expected, f"{kind}: {describe(case)}", points)
        outcomes.append(result)
        unchanged.append(inputs_unchanged(args, after, ARG_NAMES))
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(_speed(ctx, correct, backward=False))
    return outcomes


def grade_backward(ctx):
    """Outcomes of ``conv_backward_naive`` through the cache of the student's own forward; dout and that
    cache must come back unchanged."""
    outcomes, unchanged = [], []
    names = (FORWARD, BACKWARD, GRAD_NAMES)
    for kind, case, points in _cases(BACKWARD):
        inputs = conv_inputs(**case)
        args = (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"])
        _, cache = solutions.conv_forward_naive(*args)
        expected = solutions.conv_backward_naive(inputs["dout"], cache)
        result, inputs_verdict = backward_case(ctx, names, args, inputs["dout"], expected,
                                               f"{kind}: {describe(case)}", points, fallback=args,
                                               cache_names=ARG_NAMES)
        outcomes.append(result)
        unchanged.append(inputs_verdict)
    correct = all(o.passed for o in outcomes)
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.append(_speed(ctx, correct, backward=True))
    return outcomes


def _speed(ctx, correct, backward):
    rounds = [conv_inputs(**SPEED_CASE, seed=900 + i) for i in range(3)]

    def args(i):
        return rounds[i]["x"], rounds[i]["w"], rounds[i]["b"], rounds[i]["conv_param"]

    if not backward:
        return speed_check(
            ctx, correct,
            run_student=lambda i: ctx.session.call(FORWARD, *args(i), send=[0]),
            run_reference=lambda i: solutions.conv_forward_naive(*args(i)),
            run_fast=lambda i: conv_forward_fast(*args(i)),
            budget=ctx.config.speed_budget,
            check_output=forward_output(FORWARD),
            case=describe(SPEED_CASE),
        )
    fast_caches = [conv_forward_fast(*args(i))[1] for i in range(3)]

    def run_student(i):
        return timed_backward(ctx, FORWARD, BACKWARD, args(i), rounds[i]["dout"], args(i))

    return speed_check(
        ctx, correct,
        run_student=run_student,
        run_reference=lambda i: solutions.conv_backward_naive(rounds[i]["dout"], args(i)),
        run_fast=lambda i: conv_backward_fast(rounds[i]["dout"], fast_caches[i]),
        budget=ctx.config.speed_budget,
        check_output=backward_output(BACKWARD, GRAD_NAMES),
        case=describe(SPEED_CASE),
    )

