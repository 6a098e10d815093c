"""Checks of the naive convolution: forward and backward, public and hidden cases, inputs, speed."""

import solutions
from assignment.cases import conv_inputs
from assignment.fast_layers import conv_backward_fast, conv_forward_fast
from assignment.tasks import PUBLIC_CASES, TABLE
from grader.tasks.layer_checks import Layer, grade_layer_backward, grade_layer_forward

# Hidden cases: every edge of SPEC section 4 (pad 0 and 2, strides 2 and 3, H != W, HH != WW, N = C = F = 1),
# a stride larger than the filter (gaps between windows, and the last rows and columns of x in no window, so
# their dx is zero and a dx_pad sized by what the windows cover is too small), and H < W with a square filter
# (the last: with H = 5, W = 8, one of two cases where code that assumes square images, W' taken from H, keeps
# its windows inside x, so its output shows the mistake instead of an exception; a mistake is named from two).
# Graded, their values come from the grading's secret (speed.drawn_inputs); a seed here gives the case
# as written, for the project's tests.
HIDDEN_CASES = (
    dict(N=2, C=3, H=7, W=7, F=4, HH=3, WW=3, stride=1, pad=0, seed=101),
    dict(N=2, C=2, H=6, W=6, F=3, HH=3, WW=3, stride=1, pad=2, seed=102),
    dict(N=2, C=3, H=9, W=9, F=2, HH=3, WW=3, stride=2, pad=1, seed=103),
    dict(N=1, C=2, H=11, W=10, F=2, HH=3, WW=3, stride=3, pad=1, seed=104),
    dict(N=2, C=2, H=5, W=8, F=3, HH=3, WW=3, stride=1, pad=1, seed=105),
    dict(N=2, C=2, H=7, W=6, F=2, HH=2, WW=4, stride=1, pad=0, seed=106),
    dict(N=1, C=1, H=6, W=5, F=1, HH=3, WW=2, stride=2, pad=1, seed=107),
    dict(N=2, C=3, H=8, W=7, F=2, HH=4, WW=3, stride=3, pad=2, seed=108),
    dict(N=2, C=2, H=8, W=7, F=3, HH=2, WW=1, stride=3, pad=1, seed=109),
    dict(N=2, C=2, H=6, W=9, F=2, HH=3, WW=3, stride=2, pad=1, seed=110),
)
# 1,024 output values of 27 products each: ~5-10 ms for the reference forward loops, long enough to time
# (SPEED_FLOOR), short enough to repeat; the ratio per value does not depend on N.
SPEED_CASE = dict(N=1, C=3, H=16, W=16, F=4, HH=3, WW=3, stride=1, pad=1)


def case_inputs(case):
    """The inputs of a case: ``conv_inputs`` of its sizes, drawn from its "values" entropy (the grading's secret,
    see :func:`grader.tasks.speed.drawn_inputs`) if it has one, else from its own seed.

    Returns
    -------
    dict with x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param and dout (N, F, H', W').
    """
    params = dict(case)
    values = params.pop("values", None)
    if values is not None:
        params["seed"] = values
    return conv_inputs(**params)


def describe(case):
    return (
        f"x {case['N'], case['C'], case['H'], case['W']}, w {case['F'], case['C'], case['HH'], case['WW']}, "
        f"stride {case['stride']}, pad {case['pad']}"
    )


LAYER = Layer(
    forward="conv_forward_naive",
    backward="conv_backward_naive",
    arg_names=TABLE["conv_forward_naive"].arg_names,
    grad_names=TABLE["conv_backward_naive"].returns,
    public_cases=PUBLIC_CASES,
    hidden_cases=HIDDEN_CASES,
    speed_case=SPEED_CASE,
    inputs=case_inputs,
    describe=describe,
    reference=(solutions.conv_forward_naive, solutions.conv_backward_naive),
    fast=(conv_forward_fast, conv_backward_fast),
)


def grade_forward(ctx):
    """Outcomes of ``conv_forward_naive``: every case, unchanged inputs, speed."""
    return grade_layer_forward(ctx, LAYER)


def grade_backward(ctx):
    """Outcomes of ``conv_backward_naive`` through the cache of the student's own forward; dout and that
    cache must come back unchanged."""
    return grade_layer_backward(ctx, LAYER)


GRADERS = {LAYER.forward: grade_forward, LAYER.backward: grade_backward}
