"""Checks of the naive max pooling: forward and backward, public and hidden cases, inputs, speed.

Each hidden case targets a known bug: non-square windows (``pool_height`` used for both axes),
H != W (H used for W), overlapping windows and stride larger than the window (stride ignored or
assumed equal to the window), sizes the windows do not tile, N = C = 1, windows sharing their
maximum (a backward pass that assigns instead of accumulating), and two non-square windows (3 x 2 and 2 x 3)
where a flat argmax split by the window's height stays inside x (a mistake is named only from two cases that
show it).
"""

import numpy as np

import solutions
from assignment.cases import pool_inputs
from assignment.fast_layers import max_pool_backward_fast, max_pool_forward_fast
from assignment.tasks import PUBLIC_CASES, TABLE
from grader.tasks.layer_checks import Layer, grade_layer_backward, grade_layer_forward

HIDDEN_CASES = (
    dict(N=2, C=3, H=6, W=8, pool_height=2, pool_width=3, stride=2, seed=201),  # non-square window
    dict(N=2, C=2, H=5, W=5, pool_height=3, pool_width=3, stride=1, seed=202),  # overlapping windows
    dict(N=2, C=2, H=7, W=9, pool_height=3, pool_width=3, stride=2, seed=203),  # overlap, stride 2
    dict(N=2, C=3, H=8, W=8, pool_height=2, pool_width=2, stride=3, seed=204),  # stride > window
    dict(N=2, C=2, H=7, W=5, pool_height=2, pool_width=2, stride=2, seed=205),  # H != W, not tiled
    dict(N=1, C=1, H=6, W=9, pool_height=3, pool_width=2, stride=2, seed=206),  # N = C = 1, not tiled
    dict(N=2, C=2, H=9, W=10, pool_height=1, pool_width=2, stride=3, seed=207),  # 1-row window, gaps
    # Every (n, c) plane gets a peak at (2, 2): the maximum of the 3 x 2 = 6 windows that cover it.
    dict(N=2, C=2, H=5, W=6, pool_height=3, pool_width=2, stride=1, seed=208, peak=(2, 2)),
    # A wide window, windows apart (no overlap), rows not tiled (H = 7): a flat argmax split by the window's
    # height (row = flat // 2, up to 2) still lands inside x, so the routing shows instead of raising.
    dict(N=2, C=2, H=7, W=9, pool_height=2, pool_width=3, stride=3, seed=209),
)
# 2,048 windows: 5-8 ms for the reference forward loops, long enough to time (SPEED_FLOOR), short enough
# to repeat; the ratio per window does not depend on N.
SPEED_CASE = dict(N=2, C=4, H=32, W=32, pool_height=2, pool_width=2, stride=2)
PEAK_BASE = 1.0  # pool_inputs draws from [-0.5, 0.5): peaks above 1.0 are each window's maximum
# A value drawn from the grading's secret lies this far into the slot of width 1 / size that its rank owns:
# every value distinct (gaps of at least 0.2 / size), the order of the values the rank's.
JITTER = (0.1, 0.9)


def describe(case):
    """One line naming a case's input shape, window and stride, for the check's name."""
    peak = ", windows sharing their maximum" if "peak" in case else ""
    return (
        f"x {case['N'], case['C'], case['H'], case['W']}, pool {case['pool_height']}x{case['pool_width']}, "
        f"stride {case['stride']}{peak}"
    )


def case_inputs(case):
    """The inputs of a case: ``pool_inputs`` of its parameters, with its designed peaks if it has any.

    A case with "values" (entropy of the grading's secret, see :func:`grader.tasks.speed.drawn_inputs`)
    keeps the order of x's values that its own seed gives, so every window's maximum lies where it lies on
    every draw (no verdict depends on the draw), while the values themselves and dout come from "values".

    Returns
    -------
    dict with x (N, C, H, W), pool_param and dout (N, C, H', W'); x has no ties.
    """
    params = {key: value for key, value in case.items() if key not in ("peak", "values")}
    inputs = pool_inputs(**params)
    secret = np.random.default_rng(case["values"]) if "values" in case else None
    if secret is not None:
        x = inputs["x"]
        ranks = np.rint((x + 0.5) * x.size)  # pool_inputs' x is a permutation of 0 .. size - 1, scaled
        inputs["x"] = (ranks + secret.uniform(*JITTER, x.shape)) / x.size - 0.5
        inputs["dout"] = secret.standard_normal(inputs["dout"].shape)
    if "peak" in case:
        x = inputs["x"]
        row, col = case["peak"]
        planes = case["N"] * case["C"]
        offsets = 0.0 if secret is None else secret.uniform(*JITTER, (case["N"], case["C"]))
        # Distinct peaks, all above every other value: still no ties anywhere.
        x[:, :, row, col] = PEAK_BASE + (np.arange(planes).reshape(case["N"], case["C"]) + offsets) / planes
    return inputs


LAYER = Layer(
    forward="max_pool_forward_naive",
    backward="max_pool_backward_naive",
    arg_names=TABLE["max_pool_forward_naive"].arg_names,
    grad_names=TABLE["max_pool_backward_naive"].returns,
    public_cases=PUBLIC_CASES,
    hidden_cases=HIDDEN_CASES,
    speed_case=SPEED_CASE,
    inputs=case_inputs,
    describe=describe,
    reference=(solutions.max_pool_forward_naive, solutions.max_pool_backward_naive),
    fast=(max_pool_forward_fast, max_pool_backward_fast),
)


def grade_forward(ctx):
    """Outcomes of ``max_pool_forward_naive``: every case, unchanged inputs, speed."""
    return grade_layer_forward(ctx, LAYER)


def grade_backward(ctx):
    """Outcomes of ``max_pool_backward_naive`` through the cache of the student's own forward; dout and that
    cache must come back unchanged."""
    return grade_layer_backward(ctx, LAYER)


GRADERS = {LAYER.forward: grade_forward, LAYER.backward: grade_backward}
