"""The notebook's public checks of the naive convolution: forward and backward."""

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

# Hints that name a classic mistake come from the one catalogue the grader's report shares (assignment.mistakes).
PAD_ZERO_HINT = mistake_text("pad_zero_slicing")
CONV_EDGE_HINT = "this case has pad = 0, H != W and HH != WW: pair H with HH and W with WW, and make sure pad = 0 works"
DIVISIBILITY_HINT = mistake_text("divisibility_assumed")
STRIDE_HINT = (
    "this case has stride 2, which does not divide H + 2 * pad - HH, and a non-square filter: window (i, j) "
    "starts at row i * stride and column j * stride of x_pad, rows go with HH and columns with WW, and the "
    "rows and columns after the last window get no gradient"
)
CONV_FORWARD_HINTS = {
    "out": "out[n, f, i, j] = sum(x_pad[n, :, i*s:i*s + HH, j*s:j*s + WW] * w[f]) + b[f]: all C "
    "channels, windows starting at i * stride in the padded input, the bias once per output; "
    "H' = 1 + (H + 2 * pad - HH) // stride",
}
CONV_BACKWARD_HINTS = {
    "dx": "add w[f] * dout[n, f, i, j] into the window of a zero dx_pad (windows overlap: +=), "
    "then crop the padding away",
    "dw": "dw[f] accumulates x_pad window * dout[n, f, i, j] over n, i and j",
    "db": "db[f] is dout[:, f] summed over N, H' and W'",
}


def describe(case):
    p = case.params
    return (
        f"{case_title(case)}: x {(p['N'], p['C'], p['H'], p['W'])}, w {(p['F'], p['C'], p['HH'], p['WW'])}, "
        f"stride {p['stride']}, pad {p['pad']}"
    )


def _run_forward(forward, _, inputs, case):
    args = (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"])
    out, _ = returned_items(call_student("conv_forward_naive", forward, *args), ("out", "cache"), "conv_forward_naive")
    return {"out": out}


def _run_backward(backward, forward, inputs, case):
    args = copy.deepcopy((inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"]))
    _, cache = returned_items(
        call_student("conv_forward_naive", forward, *args), ("out", "cache"), "conv_forward_naive"
    )
    grads = call_student("conv_backward_naive", backward, inputs["dout"], cache)
    return dict(zip(("dx", "dw", "db"), returned_items(grads, ("dx", "dw", "db"), "conv_backward_naive")))


def _check_forward(forward, _, measurements):
    task_id = "conv_forward_naive"
    check_cases(task_id, forward, None, CONV_FORWARD_HINTS, measurements, also=unchanged_check(task_id, measurements))


def _check_backward(backward, forward, measurements):
    task_id = "conv_backward_naive"
    also = unchanged_check(task_id, measurements, ("dout",))
    case, values = check_cases(task_id, backward, forward, CONV_BACKWARD_HINTS, measurements, also=also)
    inputs = case_inputs(task_id, case)
    dout, conv_param = inputs["dout"], inputs["conv_param"]

    def out_of(x, w, b):
        return forward_out("conv_forward_naive", forward, dout.shape, x, w, b, conv_param)

    arrays = {name: inputs[name] for name in ("x", "w", "b")}
    check_numeric(task_id, case, values, out_of, arrays, dout, measurements)


def non_dividing(params):
    """The rule a case of uneven windows tries, e.g. 'stride 3, which does not divide H + 2 * pad - HH = 8 nor
    W + 2 * pad - WW = 5'."""
    stride, pad = params["stride"], params["pad"]
    spans = f"H + 2 * pad - HH = {params['H'] + 2 * pad - params['HH']} nor W + 2 * pad - WW = " + str(
        params["W"] + 2 * pad - params["WW"]
    )
    return f"stride {stride}, which does not divide {spans}, with a {params['HH']}x{params['WW']} filter"


# Strides that divide neither span, and filters of both orientations (HH > WW, HH < WW); windows with gaps
# between them (stride 3 > HH) in the forward pass, and a backward pass with a stride at all.
FORWARD_STRIDE_CASE = dict(N=1, C=2, H=8, W=6, F=2, HH=2, WW=3, stride=3, pad=1, seed=15)
BACKWARD_STRIDE_CASE = dict(N=2, C=2, H=8, W=7, F=2, HH=3, WW=2, stride=2, pad=1, seed=16)

CHECKS = {
    "conv_forward_naive": PublicChecks(
        cases=(
            Case("public", PUBLIC_CASES["conv_forward_naive"]),
            Case(
                "edge",
                dict(N=2, C=2, H=5, W=7, F=3, HH=3, WW=2, stride=2, pad=0, seed=11),
                CONV_EDGE_HINT,
                rule="pad 0, a non-square input and a non-square filter (3x2)",
            ),
            Case("stride", FORWARD_STRIDE_CASE, DIVISIBILITY_HINT, rule=non_dividing(FORWARD_STRIDE_CASE)),
        ),
        run=_run_forward,
        check=_check_forward,
        describe=describe,
    ),
    "conv_backward_naive": PublicChecks(
        cases=(
            Case("public", PUBLIC_CASES["conv_backward_naive"]),
            Case(
                "edge",
                dict(N=2, C=2, H=5, W=6, F=2, HH=3, WW=3, stride=1, pad=0, seed=12),
                PAD_ZERO_HINT,
                rule="pad 0",
            ),
            Case("stride", BACKWARD_STRIDE_CASE, STRIDE_HINT, rule=non_dividing(BACKWARD_STRIDE_CASE)),
        ),
        run=_run_backward,
        check=_check_backward,
        describe=describe,
    ),
}
