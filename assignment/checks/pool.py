"""The notebook's public checks of the naive max pooling: forward and backward."""

import copy

from assignment.checks.base import (
    Case,
    PublicChecks,
    call_student,
    case_inputs,
    case_title,
    check_cases,
    check_numeric,
    forward_out,
    returned_items,
    unchanged_check,
)
from assignment.mistakes import text as mistake_text
from assignment.tasks import PUBLIC_CASES

POOL_EDGE_HINT = (
    "this case has a non-square window and overlapping windows (stride < window): "
    "rows go with pool_height, columns with pool_width"
)
OVERLAP_HINT = mistake_text("pool_backward_assigns")
DIVISIBILITY_HINT = mistake_text("divisibility_assumed")
WINDOW_HINT = (
    "this case has a non-square window and a stride that does not divide H - pool_height: rows go with "
    "pool_height, columns with pool_width (np.unravel_index(np.argmax(window), window.shape) finds the "
    "maximum of any window), and window (i, j) starts at row i * stride and column j * stride"
)
POOL_FORWARD_HINTS = {
    "out": "out[n, c, i, j] is the max of x[n, c, i*s:i*s + ph, j*s:j*s + pw], one channel at a time; "
    "no padding, H' = 1 + (H - pool_height) // stride",
}
POOL_BACKWARD_HINTS = {
    "dx": "each dout[n, c, i, j] goes only to the position of its window's maximum "
    "(np.argmax, then np.unravel_index); every other position gets 0",
}


def describe(case):
    p = case.params
    return (
        f"{case_title(case)}: x {(p['N'], p['C'], p['H'], p['W'])}, pool {p['pool_height']}x"
        f"{p['pool_width']}, stride {p['stride']}"
    )


def _run_forward(forward, _, inputs, case):
    value = call_student("max_pool_forward_naive", forward, inputs["x"], inputs["pool_param"])
    out, _ = returned_items(value, ("out", "cache"), "max_pool_forward_naive")
    return {"out": out}


def _run_backward(backward, forward, inputs, case):
    args = copy.deepcopy((inputs["x"], inputs["pool_param"]))
    value = call_student("max_pool_forward_naive", forward, *args)
    _, cache = returned_items(value, ("out", "cache"), "max_pool_forward_naive")
    (dx,) = returned_items(
        call_student("max_pool_backward_naive", backward, inputs["dout"], cache),
        ("dx",),
        "max_pool_backward_naive",
    )
    return {"dx": dx}


def _check_forward(forward, _, measurements):
    task_id = "max_pool_forward_naive"
    check_cases(task_id, forward, None, POOL_FORWARD_HINTS, measurements, also=unchanged_check(task_id, measurements))


def _check_backward(backward, forward, measurements):
    task_id = "max_pool_backward_naive"
    also = unchanged_check(task_id, measurements, ("dout",))
    case, values = check_cases(task_id, backward, forward, POOL_BACKWARD_HINTS, measurements, also=also)
    inputs = case_inputs(task_id, case)
    dout, pool_param = inputs["dout"], inputs["pool_param"]

    def out_of(x):
        return forward_out("max_pool_forward_naive", forward, dout.shape, x, pool_param)

    check_numeric(task_id, case, values, out_of, {"x": inputs["x"]}, dout, measurements)


def non_dividing(params):
    """The rule a case of uneven windows tries, e.g. 'a non-square pool window (2x3), stride 3, which does not
    divide H - pool_height = 7 nor W - pool_width = 5'."""
    height, width, stride = params["pool_height"], params["pool_width"], params["stride"]
    return (
        f"a non-square pool window ({height}x{width}), stride {stride}, which does not divide "
        f"H - pool_height = {params['H'] - height} nor W - pool_width = {params['W'] - width}"
    )


# Non-square windows of both orientations with strides that divide neither side: gaps between the windows
# (stride 3 > pool_height) in the forward pass, overlapping rows (stride 2 < pool_height) in the backward pass.
FORWARD_STRIDE_CASE = dict(N=2, C=2, H=9, W=8, pool_height=2, pool_width=3, stride=3, seed=17)
BACKWARD_WINDOW_CASE = dict(N=2, C=2, H=8, W=9, pool_height=3, pool_width=2, stride=2, seed=18)

CHECKS = {
    "max_pool_forward_naive": PublicChecks(
        cases=(
            Case("public", PUBLIC_CASES["max_pool_forward_naive"]),
            Case(
                "edge",
                dict(N=2, C=2, H=6, W=7, pool_height=3, pool_width=2, stride=1, seed=13),
                POOL_EDGE_HINT,
                rule="a non-square pool window (3x2), overlapping (stride 1)",
            ),
            Case("stride", FORWARD_STRIDE_CASE, DIVISIBILITY_HINT, rule=non_dividing(FORWARD_STRIDE_CASE)),
        ),
        run=_run_forward,
        check=_check_forward,
        describe=describe,
    ),
    "max_pool_backward_naive": PublicChecks(
        cases=(
            Case("public", PUBLIC_CASES["max_pool_backward_naive"]),
            Case(
                "edge",
                dict(N=2, C=2, H=7, W=7, pool_height=3, pool_width=3, stride=2, seed=14),
                OVERLAP_HINT,
                rule="overlapping windows (3x3, stride 2)",
            ),
            Case("window", BACKWARD_WINDOW_CASE, WINDOW_HINT, rule=non_dividing(BACKWARD_WINDOW_CASE)),
        ),
        run=_run_backward,
        check=_check_backward,
        describe=describe,
    ),
}
