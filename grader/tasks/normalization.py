"""Checks of spatial batch normalization and spatial group normalization (tasks 6 to 9).

Each task has its public case (2 points) and hidden cases (1 point each); batchnorm forward also has
checks of its modes (running statistics given, with two momenta, and absent; test mode with the default eps
and two given ones, leaving bn_param unchanged); every task has an "inputs unchanged" check (SPEC section 3:
inputs are read-only, but the running statistics train mode stores in bn_param), and ends with properties
that hypothesis checks on generated inputs (SPEC section 4), 1 point each.

No point for an answer that could be copied or that holds for nothing: the public case earns its points
only when every hidden case of the task passes too (its expected values ship with the notebook; see
:func:`grader.tasks.base.public_earned_only_with_hidden`); a property that wrong values can satisfy too
("dx sums to zero" holds for all-zero gradients) earns its point only when the task's property comparing
with the reference passes as well (it still runs, so its message still points at the bug).

How a property runs: see :mod:`grader.tasks.properties`.
"""

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

import solutions
from assignment.cases import PUBLIC_GROUPS, batchnorm_inputs, groupnorm_inputs
from assignment.tasks import PUBLIC_CASES
from grader.compare import (
    BACKWARD_THRESHOLD,
    FORWARD_THRESHOLD,
    PROPERTY_THRESHOLD,
    RUNNING_STAT_THRESHOLD,
    Verdict,
    all_of,
    check_array,
    check_arrays,
    compare_array,
    compare_arrays,
    item_count,
)
from grader.report import Kind
from grader.sandbox.protocol import Ref
from grader.tasks import catalogue, memo
from grader.tasks.base import (
    CASE_KINDS,
    HIDDEN_CASE,
    PUBLIC_CASE,
    Outcome,
    call_failed,
    case_rng,
    changed_keys,
    inputs_unchanged,
    outcome,
    public_earned_only_with_hidden,
    returned,
)
from grader.tasks.layer_checks import NOT_RETURNED, backward_case, forward_case, unchanged_check
from grader.tasks.properties import Property, composite, property_outcomes, student_call

BN_FORWARD, BN_BACKWARD = "spatial_batchnorm_forward", "spatial_batchnorm_backward"
GN_FORWARD, GN_BACKWARD = "spatial_groupnorm_forward", "spatial_groupnorm_backward"

PUBLIC_POINTS, HIDDEN_POINTS, CHECK_POINTS = 2.0, 1.0, 1.0
DEFAULT_EPS = 1e-5  # SPEC section 3's default eps of both normalizations
LARGE_EPS = 0.5  # next to a variance of ~0.04, an ignored eps changes every output about fourfold
SMALL_SCALE = 0.2  # std of the inputs of the eps cases: their variance (0.04) is small against LARGE_EPS

# Spatial batchnorm in train mode. C, H, W all different, so a reshape that mixes the axes cannot pass
# by luck (x.reshape(-1, C) without moving C last fails every one of them).
BN_FORWARD_CASES = (
    dict(N=3, C=4, H=5, W=2, seed=601, scale=2.0, shift=-3.0),
    dict(N=2, C=5, H=3, W=4, seed=602, scale=3.0, shift=5.0),
    dict(N=1, C=2, H=6, W=3, seed=603, scale=1.5, shift=0.5),
    dict(N=4, C=3, H=2, W=5, seed=604, scale=SMALL_SCALE, shift=1.0, eps=LARGE_EPS),
)
BN_BACKWARD_CASES = (
    dict(N=3, C=4, H=2, W=5, seed=701, scale=2.0, shift=3.0),
    dict(N=1, C=5, H=3, W=4, seed=702, scale=4.0, shift=-6.0),
    dict(N=2, C=2, H=4, W=3, seed=703, scale=1.0, shift=0.0),
    dict(N=3, C=3, H=5, W=2, seed=704, scale=SMALL_SCALE, shift=1.0, eps=LARGE_EPS),
)
# Running statistics that are not zeros and a momentum that is not the default: a missing update, an
# update by assignment of the wrong shape, or the default momentum all show. A second case, with a momentum
# below one half, so that each of these mistakes is shown by two cases (a mistake is named only from two).
RUNNING_STATS_CASE = dict(N=4, C=3, H=5, W=2, seed=611, scale=2.0, shift=4.0, momentum=0.7)
LOW_MOMENTUM_CASE = dict(N=2, C=5, H=4, W=3, seed=615, scale=3.0, shift=-2.0, momentum=0.2)
# Running statistics far from the batch's (mean ~4, variance ~4): batch statistics in test mode show.
TEST_MODE_CASE = dict(N=3, C=4, H=2, W=5, seed=612, scale=2.0, shift=4.0)
# Test mode with an eps that is not the default: next to running variances of 0.5 to 1.5, an eps of 1e-5
# hard-coded in test mode changes every output by 15% or more.
TEST_MODE_EPS_CASE = dict(N=2, C=3, H=4, W=5, seed=614, scale=2.0, shift=4.0, eps=LARGE_EPS)
# And a small one, 1e-3: a hard-coded 1e-5 still changes the outputs by 0.03% to 0.1%, a second case that shows it.
TEST_MODE_SMALL_EPS_CASE = dict(N=3, C=2, H=5, W=4, seed=616, scale=2.0, shift=4.0, eps=1e-3)
# bn_param = {"mode": "train"} and nothing else: the running statistics start at zeros, momentum defaults to
# 0.9, and both statistics must be in bn_param after the call (0.1 * the batch's). Ones for the variance, a
# momentum of 0.1, or statistics kept only in a local variable all show.
BARE_TRAIN_CASE = dict(N=2, C=4, H=3, W=5, seed=613, scale=2.0, shift=4.0)
BARE_TRAIN_PARAM = {"mode": "train"}
BIASED_VARIANCE_HINT = (
    "; the running variance averages the biased batch variance (x.var(), ddof=0), the one that normalizes the "
    "batch, not the unbiased one PyTorch keeps"
)
RUNNING_KEYS = ("running_mean", "running_var")  # what train mode may store in bn_param (SPEC section 3)
BN_ARG_NAMES = ("x", "gamma", "beta", "bn_param")
GN_ARG_NAMES = ("x", "gamma", "beta", "G", "gn_param")

# Group norm. G = 1 and G = C are the edge cases; C = 8, G = 4 and C = 6, G = 3 have C // G != G, so
# groups confused with group size fail (so does the public case: C = 6, G = 2). C = W in two cases (6 and 4),
# so a gamma flattened to (C,) broadcasts silently along W instead of raising. Two cases give eps: 0.5, and
# 1e-3 in the second C = W case, whose C // G = G (groups of G channels are the right groups there, so code
# that also confuses the two shows only its eps).
GN_FORWARD_CASES = (
    dict(N=2, C=4, H=3, W=5, G=1, seed=801, scale=2.0, shift=1.0),
    dict(N=3, C=5, H=2, W=4, G=5, seed=802, scale=3.0, shift=-2.0),
    dict(N=2, C=8, H=3, W=3, G=4, seed=803, scale=1.0, shift=4.0),
    dict(N=2, C=6, H=5, W=6, G=3, seed=804, scale=2.0, shift=0.0),
    dict(N=2, C=4, H=3, W=2, G=2, seed=805, scale=SMALL_SCALE, shift=1.0, eps=LARGE_EPS),
    # gn_param = {}: the default eps (SPEC section 3); gn_param["eps"] raises KeyError. Small values (variance
    # 0.04), so an eps other than 1e-5 shows too.
    dict(N=2, C=6, H=2, W=3, G=3, seed=806, scale=SMALL_SCALE, shift=1.0, bare=True),
    dict(N=2, C=4, H=3, W=4, G=2, seed=807, scale=SMALL_SCALE, shift=-1.0, eps=1e-3),
)
GN_BACKWARD_CASES = (
    dict(N=2, C=3, H=4, W=5, G=1, seed=901, scale=2.0, shift=1.0),
    dict(N=2, C=4, H=3, W=2, G=4, seed=902, scale=3.0, shift=-2.0),
    dict(N=3, C=8, H=2, W=3, G=4, seed=903, scale=1.0, shift=4.0),
    dict(N=1, C=6, H=4, W=3, G=3, seed=904, scale=2.0, shift=0.0),
    dict(N=2, C=4, H=3, W=2, G=2, seed=905, scale=SMALL_SCALE, shift=1.0, eps=LARGE_EPS),
    dict(N=2, C=6, H=3, W=2, G=3, seed=906, scale=SMALL_SCALE, shift=-1.0, eps=1e-3),
)

# Generated examples stay small: every example is a round trip to the child (~0.3 ms each).
MAX_BATCH, MAX_CHANNELS, MAX_SIDE = 4, 8, 5
MAX_SEED = 2**16 - 1  # seeds of the values; hypothesis shrinks them to 0
EPS_CHOICES = (DEFAULT_EPS, 1e-3, LARGE_EPS)  # the default, a small one, one that dominates small variances
PROPERTY_SCALE, PROPERTY_SHIFT = 4.0, 1.0  # values spread over [-1, 3): a mean to subtract, a variance to divide
SHOWN_VALUES = 8  # a shrunk x this small is shown in full, so the student can rerun it by hand
NEGLIGIBLE_GRADIENT = 1e-12  # a dx this small in a whole set sums to ~0 anyway; keeps the ratio finite
GRADIENT_NAMES = ("dx", "dgamma", "dbeta")  # what both normalization backward passes return, in order


def _describe(case, mode="train"):
    """A case's parameters for its check name, e.g. 'x (2, 4, 3, 5), G = 1, eps 0.5'."""
    shape = (case["N"], case["C"], case["H"], case["W"])
    text = f"x {shape}" + (f", G = {case['G']}" if "G" in case else "") + (f", {mode} mode" if mode else "")
    text += ", gn_param = {} (default eps)" if case.get("bare") else ""
    return text + (f", eps {case['eps']:g}" if "eps" in case else "")


def _generated(generator, case):
    """The seeded arrays of a case (its eps, G, momentum are not the generator's business)."""
    keys = ("N", "C", "H", "W", "seed", "scale", "shift")
    return generator(**{key: case[key] for key in keys if key in case})


def _cases(task_id, hidden):
    yield PUBLIC_CASE, PUBLIC_CASES[task_id], PUBLIC_POINTS
    for case in hidden:
        yield HIDDEN_CASE, case, HIDDEN_POINTS


# -- spatial batchnorm --------------------------------------------------------------------------------


def _bn_train_param(case):
    return {"mode": "train", **({"eps": case["eps"]} if "eps" in case else {})}


def grade_batchnorm_forward(ctx):
    """Public and hidden train-mode cases, running statistics (given and absent), test mode (default and given
    eps, bn_param left unchanged), inputs unchanged, properties."""
    outcomes, unchanged = [], []
    for kind, case, points in _cases(BN_FORWARD, BN_FORWARD_CASES):
        inputs = _generated(batchnorm_inputs, case)
        args = (inputs["x"], inputs["gamma"], inputs["beta"], _bn_train_param(case))
        expected = _bn_train_reference(memo.key(case), False)
        result, after = forward_case(ctx, BN_FORWARD, args, expected, f"{kind}: {_describe(case)}", points)
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        unchanged.append(_bn_inputs_unchanged(args, after))
    correct = all(o.passed for o in outcomes)
    for check, case in MODE_CHECKS:
        result, args, after = check(ctx, case)
        outcomes.append(result)
        if after is not None:  # a call that failed costs its own check only
            unchanged.append(_bn_inputs_unchanged(args, after))
    outcomes.append(unchanged_check(correct, unchanged))
    outcomes.extend(property_outcomes(ctx, BN_FORWARD_PROPERTIES))
    return public_earned_only_with_hidden(outcomes)


def grade_batchnorm_backward(ctx):
    """Public and hidden cases through the student's own cache (cache formats are free), which the backward
    must leave unchanged, as dout; properties."""
    outcomes, unchanged = [], []
    names = (BN_FORWARD, BN_BACKWARD, GRADIENT_NAMES)
    for kind, case, points in _cases(BN_BACKWARD, BN_BACKWARD_CASES):
        inputs = _generated(batchnorm_inputs, case)
        args = (inputs["x"], inputs["gamma"], inputs["beta"], _bn_train_param(case))
        expected = _bn_train_reference(memo.key(case), True)
        result, verdict = backward_case(
            ctx, names, args, inputs["dout"], expected, f"{kind}: {_describe(case)}", points
        )
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        unchanged.append(verdict)
    outcomes.append(unchanged_check(all(o.passed for o in outcomes), unchanged))
    outcomes.extend(property_outcomes(ctx, BN_BACKWARD_PROPERTIES))
    return public_earned_only_with_hidden(outcomes)


def _bn_inputs_unchanged(args, after):
    """Verdict on a batchnorm forward call: x, gamma, beta unchanged, and bn_param but for the running
    statistics (train mode may store them; that test mode leaves them is the test-mode checks' business)."""
    if type(after) is not tuple or item_count(after) != len(BN_ARG_NAMES):
        return NOT_RETURNED
    verdict = inputs_unchanged(args[:3], after[:3], BN_ARG_NAMES[:3])
    if not verdict.passed:
        return verdict
    changed = changed_keys(args[3], after[3], ignore=RUNNING_KEYS)
    if changed is None:
        return Verdict(False, "bn_param did not come back as a dict")
    if changed:
        keys = ", ".join(f"bn_param[{key!r}]" for key in changed)
        return Verdict(
            False,
            f"your function changed {keys}; leave bn_param as given, but for the running_mean and running_var "
            "that train mode stores in it (read defaults with bn_param.get(key, default))",
        )
    return Verdict(True, "inputs unchanged")


@memo.memoized
def _bn_train_reference(case_key, backward):
    """The reference on a train-mode case: its out, or (backward) its dx, dgamma, dbeta."""
    case = dict(case_key)
    inputs = _generated(batchnorm_inputs, case)
    out, cache = solutions.spatial_batchnorm_forward(
        inputs["x"], inputs["gamma"], inputs["beta"], _bn_train_param(case)
    )
    return solutions.spatial_batchnorm_backward(inputs["dout"], cache) if backward else out


def _bn_param_with_stats(case, mode):
    """A bn_param holding running statistics far from the case's batch statistics, drawn from its seed + 1."""
    rng = case_rng(case["seed"] + 1)
    extra = {"momentum": case["momentum"]} if mode == "train" else {"eps": case.get("eps", DEFAULT_EPS)}
    return {
        "mode": mode,
        **extra,
        "running_mean": rng.standard_normal(case["C"]),
        "running_var": 0.5 + rng.random(case["C"]),
    }


@memo.memoized
def _bn_stats_reference(case_key, mode):
    """The reference on a case with given running statistics: bn_param after a train-mode call, or the
    test-mode out."""
    case = dict(case_key)
    inputs = _generated(batchnorm_inputs, case)
    bn_param = _bn_param_with_stats(case, mode)
    out, _ = solutions.spatial_batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], bn_param)
    return bn_param if mode == "train" else out


def _mode_call(ctx, args, label):
    """A train-mode call whose bn_param comes back: (None, bn_param after the call, args after) or (the failed
    Outcome, None, args after or None)."""
    result = ctx.session.call(BN_FORWARD, *args, send="none", return_args=True)
    if not result.ok:
        return replace(call_failed(label, CHECK_POINTS, result), kind=Kind.MODE), None, None
    after = result.args_after[3] if item_count(result.args_after) == 4 else None
    if not isinstance(after, dict):
        failed = Outcome(label, CHECK_POINTS, False, "bn_param did not come back as a dict", kind=Kind.MODE)
        return failed, None, result.args_after
    return None, after, result.args_after


def _running_stats_check(ctx, case):
    """Train mode must leave ``momentum * running + (1 - momentum) * batch_stat`` of shape (C,) in bn_param.

    Updating the arrays in place and assigning new arrays into the dict both leave bn_param holding the
    new statistics, and both are accepted: the dict comes back as it was after the call.
    Returns (Outcome, the call's arguments, the arguments after the call or None).
    """
    inputs = _generated(batchnorm_inputs, case)
    bn_param = _bn_param_with_stats(case, "train")
    args = (inputs["x"], inputs["gamma"], inputs["beta"], bn_param)
    expected = _bn_stats_reference(memo.key(case), "train")
    label = f"train mode: running mean and variance updated ({_describe(case, mode='')}, momentum {case['momentum']:g})"
    failed, after, args_after = _mode_call(ctx, args, label)
    if failed is not None:
        return failed, args, args_after
    verdicts = [_running_stat_verdict(key, after.get(key), bn_param[key], expected[key]) for key in RUNNING_KEYS]
    verdict = all_of(verdicts)
    if not verdict.passed:

        def fits(candidate):
            return all(
                compare_array(key, after.get(key), stat, RUNNING_STAT_THRESHOLD).passed
                for key, stat in zip(RUNNING_KEYS, candidate, strict=True)
            )

        verdict = replace(verdict, diagnosis=catalogue.diagnose(catalogue.RUNNING_STATS, args, fits))
    return outcome(label, CHECK_POINTS, verdict, kind=Kind.MODE), args, args_after


def _bare_train_check(ctx, case):
    """bn_param = {"mode": "train"} alone: the running statistics start at zeros, momentum defaults to 0.9, and
    both end up in bn_param (SPEC section 3: "also when bn_param had none before the call"). No mistake is
    named here: the catalogue's fingerprints of the running statistics need statistics passed in.
    Returns (Outcome, the call's arguments, the arguments after the call or None)."""
    inputs = _generated(batchnorm_inputs, case)
    args = (inputs["x"], inputs["gamma"], inputs["beta"], dict(BARE_TRAIN_PARAM))
    expected = _bn_bare_reference(memo.key(case))
    label = (
        f"train mode without running statistics: bn_param = {BARE_TRAIN_PARAM} starts them at zeros, momentum "
        f"0.9, and gets them stored ({_describe(case, mode='')})"
    )
    failed, after, args_after = _mode_call(ctx, args, label)
    if failed is not None:
        return failed, args, args_after
    verdict = all_of([_bare_running_stat_verdict(key, after.get(key), expected[key]) for key in RUNNING_KEYS])
    return outcome(label, CHECK_POINTS, verdict, kind=Kind.MODE), args, args_after


@memo.memoized
def _bn_bare_reference(case_key):
    """bn_param after the reference's train-mode call with bn_param = {"mode": "train"}."""
    inputs = _generated(batchnorm_inputs, dict(case_key))
    bn_param = dict(BARE_TRAIN_PARAM)
    solutions.spatial_batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], bn_param)
    return bn_param


def _bare_running_stat_verdict(key, value, expected):
    name = f"bn_param['{key}']"
    if value is None:
        return Verdict(
            False,
            f"{name} is missing after a train-mode call with bn_param = {BARE_TRAIN_PARAM}: when bn_param has no "
            "running statistics, start them at zeros and store the updated ones in bn_param",
        )
    verdict = compare_array(name, value, expected, RUNNING_STAT_THRESHOLD)
    if verdict.passed:
        return verdict
    return Verdict(
        False,
        f"{verdict.message} (with bn_param = {BARE_TRAIN_PARAM}, expected 0.1 * the batch statistic: the running "
        "statistics start at zeros and momentum defaults to 0.9)"
        + (BIASED_VARIANCE_HINT if key == "running_var" else ""),
    )


def _running_stat_verdict(key, value, before, expected):
    name = f"bn_param['{key}']"
    if value is None:
        return Verdict(False, f"{name} is missing after a train-mode call: update it in place or store it in bn_param")
    shape = check_array(name, value, expected.shape)
    if not shape.passed:
        return Verdict(False, shape.message + " (one running statistic per channel: shape (C,))")
    if np.array_equal(value, before):
        return Verdict(
            False,
            f"{name} was not updated in train mode (it still holds the values passed in); "
            "expected momentum * running + (1 - momentum) * batch statistic",
        )
    verdict = compare_array(name, value, expected, RUNNING_STAT_THRESHOLD)
    if verdict.passed or key != "running_var":
        return verdict
    return replace(verdict, message=verdict.message + BIASED_VARIANCE_HINT)


def _test_mode_check(ctx, case):
    """Test mode normalizes with the given running statistics (shape (C,)), not the batch's, and the given eps;
    it leaves bn_param unchanged (SPEC section 3).

    Returns (Outcome, the call's arguments, the arguments after the call or None).
    """
    inputs = _generated(batchnorm_inputs, case)
    args = (inputs["x"], inputs["gamma"], inputs["beta"], _bn_param_with_stats(case, "test"))
    expected = _bn_stats_reference(memo.key(case), "test")
    given = "eps" if "eps" in case else "running mean and variance"
    label = f"test mode: normalizes with the given {given}, leaves bn_param unchanged ({_describe(case, mode='')})"
    result, after = forward_case(ctx, BN_FORWARD, args, expected, label, CHECK_POINTS)
    if result.passed:
        verdict = _test_mode_param_verdict(args[3], after)
        result = result if verdict.passed else outcome(label, CHECK_POINTS, verdict)
    return replace(result, kind=Kind.MODE), args, after


def _test_mode_param_verdict(bn_param, args_after):
    """bn_param after a test-mode call is bn_param as given: no running statistic moved, no key added."""
    after = args_after[3] if type(args_after) is tuple and item_count(args_after) == 4 else None
    changed = changed_keys(bn_param, after)
    if changed is None:
        return Verdict(False, "bn_param did not come back as a dict")
    if changed:
        keys = ", ".join(f"bn_param[{key!r}]" for key in changed)
        return Verdict(
            False,
            f"test mode changed {keys}: test mode must leave bn_param unchanged (update the running "
            "statistics in train mode only)",
        )
    return Verdict(True, "out right; bn_param unchanged")


# The checks of batchnorm's modes, in the order they are reported: check(ctx, case) -> (Outcome, the call's
# arguments, the arguments after the call or None).
MODE_CHECKS = (
    (_running_stats_check, RUNNING_STATS_CASE),
    (_running_stats_check, LOW_MOMENTUM_CASE),
    (_bare_train_check, BARE_TRAIN_CASE),
    (_test_mode_check, TEST_MODE_CASE),
    (_test_mode_check, TEST_MODE_EPS_CASE),
    (_test_mode_check, TEST_MODE_SMALL_EPS_CASE),
)


# -- spatial group norm -------------------------------------------------------------------------------


def _gn_case_args(case, inputs):
    gn_param = {} if case.get("bare") else {"eps": case.get("eps", DEFAULT_EPS)}
    return inputs["x"], inputs["gamma"], inputs["beta"], case["G"], gn_param


def _with_groups(case):
    """The public cases in the task table carry no G: the notebook uses PUBLIC_GROUPS."""
    return {"G": PUBLIC_GROUPS, **case}


def grade_groupnorm_forward(ctx):
    """Public case, G = 1, G = C, G in between, eps given, gn_param = {}; inputs unchanged; properties."""
    outcomes, unchanged = [], []
    for kind, case, points in _cases(GN_FORWARD, GN_FORWARD_CASES):
        case = _with_groups(case)
        args = _gn_case_args(case, _generated(groupnorm_inputs, case))
        expected = _gn_reference(memo.key(case), False)
        result, after = forward_case(ctx, GN_FORWARD, args, expected, f"{kind}: {_describe(case, mode='')}", points)
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        unchanged.append(inputs_unchanged(args, after, GN_ARG_NAMES) if after is not None else NOT_RETURNED)
    outcomes.append(unchanged_check(all(o.passed for o in outcomes), unchanged))
    outcomes.extend(property_outcomes(ctx, GN_FORWARD_PROPERTIES))
    return public_earned_only_with_hidden(outcomes)


def grade_groupnorm_backward(ctx):
    """Public and hidden cases through the student's own cache: dx, dgamma and dbeta (1, C, 1, 1), dout and the
    cache unchanged; properties."""
    outcomes, unchanged = [], []
    names = (GN_FORWARD, GN_BACKWARD, GRADIENT_NAMES)
    for kind, case, points in _cases(GN_BACKWARD, GN_BACKWARD_CASES):
        case = _with_groups(case)
        inputs = _generated(groupnorm_inputs, case)
        args = _gn_case_args(case, inputs)
        expected = _gn_reference(memo.key(case), True)
        result, verdict = backward_case(
            ctx, names, args, inputs["dout"], expected, f"{kind}: {_describe(case, mode='')}", points
        )
        outcomes.append(replace(result, kind=CASE_KINDS[kind]))
        unchanged.append(verdict)
    outcomes.append(unchanged_check(all(o.passed for o in outcomes), unchanged))
    outcomes.extend(property_outcomes(ctx, GN_BACKWARD_PROPERTIES))
    return public_earned_only_with_hidden(outcomes)


@memo.memoized
def _gn_reference(case_key, backward):
    """The reference on a group norm case (G given): its out, or (backward) its dx, dgamma, dbeta."""
    case = dict(case_key)
    inputs = _generated(groupnorm_inputs, case)
    out, cache = solutions.spatial_groupnorm_forward(*_gn_case_args(case, inputs))
    return solutions.spatial_groupnorm_backward(inputs["dout"], cache) if backward else out


# -- generated examples -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One generated input: its shapes, G, eps, and the seed its values come from."""

    N: int
    C: int
    H: int
    W: int
    G: int
    """Groups (group norm); batchnorm examples carry G = C and do not show it."""
    eps: float
    seed: int
    grouped: bool = True
    """Whether G belongs in the description (False for batchnorm)."""

    @property
    def shape(self):
        return (self.N, self.C, self.H, self.W)

    def describe(self):
        groups = f", G = {self.G}" if self.grouped else ""
        text = f"x {self.shape}{groups}, eps {self.eps:g} (values from seed {self.seed})"
        x = self.arrays()[0]
        if x.size <= SHOWN_VALUES:
            text += f"; x.ravel() = {np.array2string(x.ravel(), precision=4, separator=', ')}"
        return text

    def arrays(self):
        """x, gamma, beta (1, C, 1, 1) and dout, all (N, C, H, W) but gamma and beta.

        x is a shuffled grid of distinct values: no two closer than PROPERTY_SCALE / size, so no
        normalized set is constant (its variance is at least ~1e-5 for the largest examples). Made once per
        process (the kept examples come back in every grading), read-only.
        """
        return _example_arrays(self.N, self.C, self.H, self.W, self.seed)

    def to_data(self):
        """The example as a dict of plain values (its fields), as the disk cache keeps it."""
        return asdict(self)

    @classmethod
    def from_data(cls, data, groups):
        """The example ``data`` (from :meth:`to_data`, read back from disk) describes; ValueError or TypeError if
        it is not one :func:`_examples` could have drawn for ``groups`` (a damaged file must not make a huge
        array, nor an example a correct implementation fails, such as a set of one value)."""
        if type(data) is not dict or set(data) != {field.name for field in fields(cls)}:
            raise TypeError("not the fields of an Example")
        if any(type(data[name]) is not int for name in ("N", "C", "H", "W", "G", "seed")):
            raise TypeError("N, C, H, W, G and seed must be ints")
        if type(data["eps"]) is not float or type(data["grouped"]) is not bool:
            raise TypeError("eps must be a float, grouped a bool")
        example = cls(**data)
        within = (
            1 <= example.N <= MAX_BATCH
            and 1 <= example.C <= MAX_CHANNELS
            and 1 <= example.H <= MAX_SIDE
            and 1 <= example.W <= MAX_SIDE
            and example.G in _divisors(example.C)
            and example.G == _groups(groups, example.C, example.G)
            and example.grouped == (groups != "batch")
            and example.W >= _least_width(groups, example.N, example.C, example.G, example.H)
            and example.eps in EPS_CHOICES
            and 0 <= example.seed <= MAX_SEED
        )
        if not within:
            raise ValueError(f"{example} is out of the examples' bounds")
        return example


@memo.memoized
def _example_arrays(N, C, H, W, seed):
    rng = case_rng(seed)
    size = N * C * H * W
    x = PROPERTY_SCALE * (rng.permutation(size) / size - 0.5) + PROPERTY_SHIFT
    gamma = 1.0 + 0.5 * rng.standard_normal((1, C, 1, 1))
    beta = rng.standard_normal((1, C, 1, 1))
    return x.reshape(N, C, H, W), gamma, beta, rng.standard_normal((N, C, H, W))


def _groups(groups, channels, drawn):
    """G for ``groups``: 1 for 'one', C for 'all' and 'batch', else ``drawn`` (any divisor of C)."""
    return {"one": 1, "all": channels, "batch": channels}.get(groups, drawn)


def _least_width(groups, N, C, G, H):
    """The least W that puts at least 2 values in every normalized set (a single value has no variance)."""
    others = N * H if groups == "batch" else (C // G) * H
    return 1 if others >= 2 else 2


def _divisors(number):
    return [d for d in range(1, number + 1) if number % d == 0]


def _draw_int(draw, low, high):
    """An int in [low, high] built from boolean draws; it shrinks towards ``low``.

    Not ``st.integers`` or ``st.sampled_from``: hypothesis mixes integer literals found in the loaded
    local modules into integer draws, so the examples would depend on what else happens to be imported
    (pytest or the CLI, an editable or a regular install). Booleans are never mixed that way, so a
    grading generates the same examples wherever it runs.
    """
    from hypothesis import strategies as st  # only ever drawing: hypothesis is imported already

    span, value = high - low, 0
    for bit in range(span.bit_length()):
        value |= draw(st.booleans()) << bit
    return low + value % (span + 1)


def _draw_item(draw, items):
    return items[_draw_int(draw, 0, len(items) - 1)]


@composite
def _examples(draw, groups):
    """Examples whose normalized sets hold at least 2 values (a single value has no variance).

    groups: 'divisor' (any G dividing C; shrinks to G = 1), 'one' (G = 1), 'all' (G = C) or
    'batch' (batchnorm: the sets are the channels over (N, H, W)).
    """
    channels = _draw_int(draw, 1, MAX_CHANNELS)
    G = _groups(groups, channels, None) or _draw_item(draw, _divisors(channels))
    N = _draw_int(draw, 1, MAX_BATCH)
    H = _draw_int(draw, 1, MAX_SIDE)
    W = _draw_int(draw, _least_width(groups, N, channels, G, H), MAX_SIDE)
    eps = _draw_item(draw, EPS_CHOICES)
    seed = _draw_int(draw, 0, MAX_SEED)
    return Example(N, channels, H, W, G, eps, seed, grouped=groups != "batch")


# -- the properties -----------------------------------------------------------------------------------


def _property(name, groups, check, role=""):
    """A property of the normalizations, checked on :func:`_examples` of ``groups`` (see
    :class:`grader.tasks.properties.Property`)."""
    return Property(name, _examples, groups, check, role, example=Example)


def _forward_out(ctx, target, args, shape):
    """The student's ``out`` for ``args``, validated as a finite float array of ``shape``; (out or None, Verdict)."""
    result = student_call(ctx, target, *args, send=[0])
    if item_count(result.value) != 2:
        return None, Verdict(False, f"{target} should return (out, cache), got {returned(result)}")
    verdict = check_array("out", result.value[0], shape)
    return (result.value[0] if verdict.passed else None), verdict


def _backward_grads(ctx, forward, backward, forward_args, dout, shapes):
    """The student's gradients through the cache of their own forward, each validated; (grads or None, Verdict)."""
    result = student_call(ctx, forward, *forward_args, keep="property", send="none")
    if item_count(result.value) != 2:
        return None, Verdict(False, f"{forward} should return (out, cache), got {returned(result)}")
    result = student_call(ctx, backward, dout, Ref("property", 1))
    if item_count(result.value) != len(shapes):
        return None, Verdict(False, f"{backward} should return {len(shapes)} gradients, got {returned(result)}")
    verdict = check_arrays(GRADIENT_NAMES, result.value, shapes)
    return (tuple(result.value) if verdict.passed else None), verdict


def _group_sets(a, G):
    """(N, C, H, W) -> (N * G, (C // G) * H * W): one row per (sample, group)."""
    return a.reshape(a.shape[0] * G, -1)


def _group_label(G):
    return lambda row: f"group (n={row // G}, g={row % G})"


def _channel_sets(a):
    """(N, C, H, W) -> (C, N * H * W): one row per channel."""
    return np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)


def _channel_label(row):
    return f"channel c={row}"


def _standardized(out_sets, x_sets, eps, label):
    """Each row of out has mean 0 and the variance var / (var + eps) of its inputs' row."""
    means = out_sets.mean(axis=1)
    worst = int(np.argmax(np.abs(means)))
    if abs(means[worst]) > PROPERTY_THRESHOLD:
        return Verdict(False, f"{label(worst)} has mean {means[worst]:.3g}, expected 0")
    x_var = x_sets.var(axis=1)
    expected, variances = x_var / (x_var + eps), out_sets.var(axis=1)
    worst = int(np.argmax(np.abs(variances - expected)))
    if abs(variances[worst] - expected[worst]) > PROPERTY_THRESHOLD:
        return Verdict(
            False,
            f"{label(worst)} has variance {variances[worst]:.6g}, expected {expected[worst]:.6g} "
            "(1 up to eps: var / (var + eps) of its inputs)",
        )
    return Verdict(True, "")


def _sums_to_zero(dx_sets, label, over):
    """Each row of dx sums to 0: shifting a whole normalized set by a constant leaves the output unchanged."""
    sums, sizes = dx_sets.sum(axis=1), np.abs(dx_sets).sum(axis=1)
    relative = np.abs(sums) / np.maximum(sizes, NEGLIGIBLE_GRADIENT)
    worst = int(np.argmax(relative))
    if relative[worst] > PROPERTY_THRESHOLD:
        return Verdict(
            False,
            f"dx sums to {sums[worst]:.3g} over {label(worst)} (sum of |dx| {sizes[worst]:.3g}); "
            f"expected 0, since adding a constant to a whole {over} leaves the output unchanged",
        )
    return Verdict(True, "")


def _normalized(x, axes, eps):
    """Plain numpy normalization over ``axes`` (keepdims): the oracle of layer and instance norm."""
    centered = x - x.mean(axis=axes, keepdims=True)
    return centered / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _gn_example_args(example, identity=False):
    """(x, gamma, beta, G, gn_param) of an example; gamma = 1, beta = 0 when ``identity``."""
    x, gamma, beta, _ = example.arrays()
    if identity:
        gamma, beta = np.ones_like(gamma), np.zeros_like(beta)
    return x, gamma, beta, example.G, {"eps": example.eps}


def _bn_example_args(example, identity=False):
    """(x, gamma, beta, bn_param) of an example in train mode, gamma and beta of shape (C,)."""
    x, gamma, beta, _ = example.arrays()
    if identity:
        gamma, beta = np.ones_like(gamma), np.zeros_like(beta)
    return x, gamma.reshape(-1), beta.reshape(-1), {"mode": "train", "eps": example.eps}


def _gn_standardizes(ctx, example):
    args = _gn_example_args(example, identity=True)
    out, verdict = _forward_out(ctx, GN_FORWARD, args, example.shape)
    if out is None:
        return verdict
    sets = _group_sets(out, example.G), _group_sets(args[0], example.G)
    return _standardized(*sets, example.eps, _group_label(example.G))


def _gn_matches(axes):
    """A check: group norm's output is the plain normalization over ``axes``, then the per-channel affine."""

    def check(ctx, example):
        x, gamma, beta, _, _ = args = _gn_example_args(example)
        out, verdict = _forward_out(ctx, GN_FORWARD, args, example.shape)
        if out is None:
            return verdict
        return compare_array("out", out, gamma * _normalized(x, axes, example.eps) + beta, FORWARD_THRESHOLD)

    return check


def _gn_forward_agrees(ctx, example):
    args = _gn_example_args(example)
    out, verdict = _forward_out(ctx, GN_FORWARD, args, example.shape)
    if out is None:
        return verdict
    return compare_array("out", out, _example_reference(example, "group", False), FORWARD_THRESHOLD)


def _gn_backward_agrees(ctx, example):
    args, dout = _gn_example_args(example), example.arrays()[3]
    expected = _example_reference(example, "group", True)
    return _gradients_agree(ctx, (GN_FORWARD, GN_BACKWARD), args, dout, expected)


def _gn_dx_sums_to_zero(ctx, example):
    args, dout = _gn_example_args(example, identity=True), example.arrays()[3]
    affine = (1, example.C, 1, 1)
    grads, verdict = _backward_grads(ctx, GN_FORWARD, GN_BACKWARD, args, dout, (example.shape, affine, affine))
    if grads is None:
        return verdict
    return _sums_to_zero(_group_sets(grads[0], example.G), _group_label(example.G), "group")


def _bn_standardizes(ctx, example):
    args = _bn_example_args(example, identity=True)
    out, verdict = _forward_out(ctx, BN_FORWARD, args, example.shape)
    if out is None:
        return verdict
    return _standardized(_channel_sets(out), _channel_sets(args[0]), example.eps, _channel_label)


def _bn_forward_agrees(ctx, example):
    args = _bn_example_args(example)
    out, verdict = _forward_out(ctx, BN_FORWARD, args, example.shape)
    if out is None:
        return verdict
    return compare_array("out", out, _example_reference(example, "batch", False), FORWARD_THRESHOLD)


def _bn_backward_agrees(ctx, example):
    args, dout = _bn_example_args(example), example.arrays()[3]
    expected = _example_reference(example, "batch", True)
    return _gradients_agree(ctx, (BN_FORWARD, BN_BACKWARD), args, dout, expected)


def _bn_dx_sums_to_zero(ctx, example):
    args, dout = _bn_example_args(example, identity=True), example.arrays()[3]
    shapes = (example.shape, (example.C,), (example.C,))
    grads, verdict = _backward_grads(ctx, BN_FORWARD, BN_BACKWARD, args, dout, shapes)
    if grads is None:
        return verdict
    return _sums_to_zero(_channel_sets(grads[0]), _channel_label, "channel")


@memo.memoized
def _example_reference(example, norm, backward):
    """The reference on a generated example: group norm ('group') or batchnorm in train mode ('batch');
    its out, or (backward) its dx, dgamma, dbeta."""
    dout = example.arrays()[3]
    if norm == "group":
        out, cache = solutions.spatial_groupnorm_forward(*_gn_example_args(example))
        return solutions.spatial_groupnorm_backward(dout, cache) if backward else out
    x, gamma, beta, bn_param = _bn_example_args(example)
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    return solutions.spatial_batchnorm_backward(dout, cache) if backward else out


def _gradients_agree(ctx, functions, args, dout, expected):
    """dx, dgamma, dbeta through the student's own cache against the reference's ``expected``."""
    grads, verdict = _backward_grads(ctx, *functions, args, dout, [e.shape for e in expected])
    if grads is None:
        return verdict
    return compare_arrays(GRADIENT_NAMES, grads, expected, BACKWARD_THRESHOLD)


BN_FORWARD_PROPERTIES = (
    _property(
        "property: train-mode output has the input's shape; with gamma = 1, beta = 0 every channel has "
        "mean 0 and variance 1 (up to eps) over (N, H, W)",
        "batch",
        _bn_standardizes,
    ),
    _property("property: train-mode output agrees with the reference", "batch", _bn_forward_agrees),
)
BN_BACKWARD_PROPERTIES = (
    _property("property: dx, dgamma, dbeta agree with the reference", "batch", _bn_backward_agrees, "reference"),
    _property(
        "property: with gamma = 1, dx sums to zero over (N, H, W) for every channel",
        "batch",
        _bn_dx_sums_to_zero,
        "needs reference",
    ),
)
GN_FORWARD_PROPERTIES = (
    _property(
        "property: output has the input's shape; with gamma = 1, beta = 0 every (sample, group) has "
        "mean 0 and variance 1 (up to eps)",
        "divisor",
        _gn_standardizes,
    ),
    _property("property: G = 1 is layer norm over (C, H, W)", "one", _gn_matches((1, 2, 3))),
    _property("property: G = C is instance norm over (H, W)", "all", _gn_matches((2, 3))),
    _property("property: output agrees with the reference", "divisor", _gn_forward_agrees),
)
GN_BACKWARD_PROPERTIES = (
    _property("property: dx, dgamma, dbeta agree with the reference", "divisor", _gn_backward_agrees, "reference"),
    _property(
        "property: with gamma = 1, dx sums to zero over every (sample, group)",
        "divisor",
        _gn_dx_sums_to_zero,
        "needs reference",
    ),
)


GRADERS = {
    BN_FORWARD: grade_batchnorm_forward,
    BN_BACKWARD: grade_batchnorm_backward,
    GN_FORWARD: grade_groupnorm_forward,
    GN_BACKWARD: grade_groupnorm_backward,
}
