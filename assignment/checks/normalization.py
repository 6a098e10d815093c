"""The notebook's public checks of spatial batch normalization and spatial group normalization: forward
(with gamma = 1, beta = 0 the output is standardized) and backward (against numeric gradients too), on the
public case and on a case per rule the notebook states: a given eps, a given momentum, running statistics
stored back when bn_param had none, test mode leaving bn_param unchanged, G = 1 and G = C, gn_param = {} (the
default eps); and on every case,
inputs left unchanged (x, gamma, beta; dout in the backward passes)."""

import copy

import numpy as np

from assignment.cases import PUBLIC_GROUPS
from assignment.checks.base import (
    Case,
    Measurement,
    PublicChecks,
    array_problem_text,
    bound,
    call_student,
    case_inputs,
    case_title,
    check_cases,
    check_numeric,
    describe_case,
    forward_out,
    returned_items,
    unchanged_check,
)
from assignment.compare import MOMENT_TOLERANCE
from assignment.mistakes import text as mistake_text
from assignment.tasks import PUBLIC_CASES

SMALL_SCALE, LARGE_EPS = 0.2, 0.5  # a variance of ~0.04 next to eps 0.5: an ignored eps changes every output
DEFAULT_EPS = 1e-5  # SPEC section 3's eps of both normalizations when the param dict has none
GIVEN_MOMENTUM = 0.7  # not the default 0.9, so a momentum that ignores bn_param shows
FORWARD_INPUTS = ("x", "gamma", "beta")  # read-only (SPEC section 3), like dout in the backward passes

TRANSPOSE_HINT = mistake_text("reshape_without_transpose")
EPS_HINT = mistake_text("eps_ignored")
RUNNING_VAR_HINT = (
    "running_var = momentum * running_var + (1 - momentum) * the batch variance that normalizes the batch "
    "(the biased one, np.var with ddof=0, as batchnorm_forward computes it; not PyTorch's unbiased running "
    "update), stored back into bn_param"
)
BATCHNORM_FORWARD_HINTS = {
    "train_out": TRANSPOSE_HINT,
    "running_mean": mistake_text("running_stats_not_updated"),
    "running_var": RUNNING_VAR_HINT,
    "test_out": mistake_text("test_mode_batch_stats"),
}
MOMENTUM_HINT = (
    "use the momentum given in bn_param (0.9 only when it has none): running = momentum * running + "
    "(1 - momentum) * batch statistic; pass bn_param itself to batchnorm_forward"
)
FRESH_HINT = (
    "when bn_param has no running statistics yet, they start at zeros of shape (C,) and the updated ones are "
    "stored into bn_param (batchnorm_forward does both when you pass it bn_param itself, not a copy)"
)
TEST_MODE_UNCHANGED_HINT = (
    "test mode only reads bn_param: normalize with its running_mean and running_var and leave them (and every "
    "other entry) as they were"
)
BATCHNORM_BACKWARD_HINTS = {
    "dx": TRANSPOSE_HINT,
    "dgamma": "dgamma and dbeta have shape (C,): sums over N, H and W",
    "dbeta": "dgamma and dbeta have shape (C,): sums over N, H and W",
}
GROUPS_HINT = mistake_text("groups_as_group_size")
DEFAULT_EPS_HINT = (
    f"gn_param may be empty: eps = gn_param.get('eps', {DEFAULT_EPS:g}) (gn_param['eps'] raises KeyError); this "
    "case's small variances show any other default"
)
GROUP_EDGE_HINT = (
    "G = 1 makes each sample one group (layer normalization) and G = C makes each channel one (instance "
    "normalization): x.reshape(N, G, -1), statistics along the last axis, works for every G that divides C"
)
GROUPNORM_FORWARD_HINTS = {"out": GROUPS_HINT}
GROUPNORM_BACKWARD_HINTS = {
    "dx": "per (sample, group) of M values, with dx_hat = dout * gamma: dx = (dx_hat - mean(dx_hat) "
    "- x_hat * mean(dx_hat * x_hat)) / sqrt(var + eps); the means are over the group",
    "dgamma": mistake_text("gamma_shape_c"),
    "dbeta": mistake_text("gamma_shape_c"),
}
BATCH_MOMENTS_HINT = (
    "statistics are per channel over (N, H, W): with gamma = 1 and beta = 0 every "
    "channel of the output has mean 0 and std 1"
)
GROUP_MOMENTS_HINT = (
    "statistics are per (sample, group) over (C // G, H, W): with gamma = 1 and "
    "beta = 0 every group of every sample has mean 0 and std 1"
)


def describe_batchnorm(case):
    p, options = case.params, case.options
    settings = "".join(f", {name} {options[name]:g}" for name in ("eps", "momentum") if name in options)
    start = ", bn_param = {'mode': 'train'}" if options.get("fresh") else ""
    return f"{case_title(case)}: x {(p['N'], p['C'], p['H'], p['W'])}{settings}{start}"


def describe_groupnorm(case):
    p, options = case.params, case.options
    eps = f", eps {options['eps']:g}" if "eps" in options else ""
    bare = ", gn_param = {}" if options.get("bare") else ""
    return f"{case_title(case)}: x {(p['N'], p['C'], p['H'], p['W'])}, G = {options['G']}{eps}{bare}"


def given_running_stats(channels, seed):
    """Running statistics, shape (C,) each, that the batchnorm case starts from (train) or uses (test)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)


def _bn_params(case, mode, channels):
    """The bn_param of a batchnorm case in ``mode``: the given running statistics (none for a 'fresh' case in
    train mode), and the case's eps (both modes) and momentum (train mode)."""
    param = {"mode": mode}
    if not case.options.get("fresh"):
        running_mean, running_var = given_running_stats(channels, case.params["seed"] + 1)  # their own stream
        param.update(running_mean=running_mean, running_var=running_var)
    names = ("eps", "momentum") if mode == "train" else ("eps",)
    param.update({name: case.options[name] for name in names if name in case.options})
    return param


def _gn_param(case):
    """gn_param = {} for the 'bare' case (the default eps), else the case's eps (the default one if none)."""
    return {} if case.options.get("bare") else {"eps": case.options.get("eps", DEFAULT_EPS)}


def _run_batchnorm_forward(forward, _, inputs, case):
    """Train mode (out and the running statistics it leaves in bn_param), then test mode with the given
    running statistics (not for a 'fresh' case, which has none)."""
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    # Test mode gets copies taken now: a train mode that changes x in place is reported once, by the unchanged
    # check, not once more as a wrong test_out (test mode's own writes show in that check too, see its also).
    test_arrays = (x.copy(), gamma.copy(), beta.copy())
    train_param = _bn_params(case, "train", x.shape[1])
    value = call_student("spatial_batchnorm_forward (train mode)", forward, x, gamma, beta, train_param)
    train_out, _ = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")
    values = {
        "train_out": train_out,
        "running_mean": train_param.get("running_mean"),
        "running_var": train_param.get("running_var"),
    }
    if case.options.get("fresh"):
        return values
    test_param = _bn_params(case, "test", x.shape[1])
    value = call_student("spatial_batchnorm_forward (test mode)", forward, *test_arrays, test_param)
    values["test_out"] = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")[0]
    return values


def _run_batchnorm_backward(backward, forward, inputs, case):
    train_param = _bn_params(case, "train", inputs["x"].shape[1])
    value = call_student(
        "spatial_batchnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], train_param
    )
    _, cache = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")
    value = call_student("spatial_batchnorm_backward", backward, inputs["dout"], cache)
    names = ("dx", "dgamma", "dbeta")
    return dict(zip(names, returned_items(value, names, "spatial_batchnorm_backward")))


def _run_groupnorm_forward(forward, _, inputs, case):
    G = case.options["G"]
    value = call_student(
        "spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], G, _gn_param(case)
    )
    out, _ = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")
    return {"out": out}


def _run_groupnorm_backward(backward, forward, inputs, case):
    G = case.options["G"]
    value = call_student(
        "spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], G, _gn_param(case)
    )
    _, cache = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")
    value = call_student("spatial_groupnorm_backward", backward, inputs["dout"], cache)
    names = ("dx", "dgamma", "dbeta")
    return dict(zip(names, returned_items(value, names, "spatial_groupnorm_backward")))


def _check_moments(label, out, shape, units, hint, measurements):
    """With gamma = 1, beta = 0: each unit of ``units(out)`` (rows) has mean 0 and std 1."""
    problem = array_problem_text(out, shape)
    if problem:
        measurements.append(Measurement(label, "out", False, problem, hint=hint))
        return
    rows = units(out)
    mean_error = float(np.abs(rows.mean(axis=1)).max())
    std_error = float(np.abs(rows.std(axis=1) - 1.0).max())
    measurements.append(bound(label, "mean 0", mean_error, MOMENT_TOLERANCE, "largest |mean|", hint))
    measurements.append(bound(label, "std 1", std_error, MOMENT_TOLERANCE, "largest |std - 1|", hint))


def _check_batchnorm_forward(forward, _, measurements):
    task_id = "spatial_batchnorm_forward"
    inputs_unchanged = unchanged_check(task_id, measurements, FORWARD_INPUTS)
    bn_param_unchanged = _test_mode_unchanged_check(task_id, forward, measurements)

    def also(case, inputs):
        bn_param_unchanged(case, inputs)  # a test-mode call on the case's own arrays, then:
        inputs_unchanged(case, inputs)

    case, _ = check_cases(task_id, forward, None, BATCHNORM_FORWARD_HINTS, measurements, also=also)
    x = case_inputs(task_id, case)["x"]
    channels = x.shape[1]
    value = call_student(
        "spatial_batchnorm_forward (train mode)", forward, x, np.ones(channels), np.zeros(channels), {"mode": "train"}
    )
    out = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")[0]
    label = f"{case.key} case with gamma = 1, beta = 0 (train mode)"

    def per_channel(out):
        return out.transpose(1, 0, 2, 3).reshape(channels, -1)

    _check_moments(label, out, x.shape, per_channel, BATCH_MOMENTS_HINT, measurements)


def _test_mode_unchanged_check(task_id, forward, measurements):
    """``also`` for batchnorm forward: a test-mode call leaves bn_param as it was (every entry, same values)."""

    def check_unchanged(case, inputs):
        if case.options.get("fresh"):
            return  # no running statistics to test with
        param = _bn_params(case, "test", inputs["x"].shape[1])
        before = copy.deepcopy(param)
        call_student(
            "spatial_batchnorm_forward (test mode)", forward, inputs["x"], inputs["gamma"], inputs["beta"], param
        )
        changed = sorted(
            set(param) ^ set(before) | {k for k in set(param) & set(before) if not _same(param[k], before[k])}
        )
        detail = f"your test mode changed bn_param: {', '.join(changed)}" if changed else "bn_param as it was"
        measurements.append(
            Measurement(
                describe_case(task_id, case),
                "bn_param unchanged by test mode",
                not changed,
                detail,
                hint=TEST_MODE_UNCHANGED_HINT,
            )
        )

    return check_unchanged


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
    return type(a) is type(b) and a == b


def _check_batchnorm_backward(backward, forward, measurements):
    task_id = "spatial_batchnorm_backward"
    also = unchanged_check(task_id, measurements, ("dout",))
    case, values = check_cases(task_id, backward, forward, BATCHNORM_BACKWARD_HINTS, measurements, also=also)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return forward_out("spatial_batchnorm_forward", forward, x.shape, x, gamma, beta, {"mode": "train"})

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


def _check_groupnorm_forward(forward, _, measurements):
    task_id = "spatial_groupnorm_forward"
    also = unchanged_check(task_id, measurements, FORWARD_INPUTS)
    case, _ = check_cases(task_id, forward, None, GROUPNORM_FORWARD_HINTS, measurements, also=also)
    x = case_inputs(task_id, case)["x"]
    ones, zeros = np.ones((1, x.shape[1], 1, 1)), np.zeros((1, x.shape[1], 1, 1))
    value = call_student("spatial_groupnorm_forward", forward, x, ones, zeros, PUBLIC_GROUPS, _gn_param(case))
    out = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")[0]
    label = f"{case.key} case with gamma = 1, beta = 0"

    def per_group(out):
        return out.reshape(x.shape[0] * PUBLIC_GROUPS, -1)

    _check_moments(label, out, x.shape, per_group, GROUP_MOMENTS_HINT, measurements)


def _check_groupnorm_backward(backward, forward, measurements):
    task_id = "spatial_groupnorm_backward"
    also = unchanged_check(task_id, measurements, ("dout",))
    case, values = check_cases(task_id, backward, forward, GROUPNORM_BACKWARD_HINTS, measurements, also=also)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return forward_out(
            "spatial_groupnorm_forward", forward, x.shape, x, gamma, beta, PUBLIC_GROUPS, _gn_param(case)
        )

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


def _public(task_id, **options):
    return Case("public", PUBLIC_CASES[task_id], options=options)


def _eps_case(params, G=None):
    options = {"eps": LARGE_EPS, **({"G": G} if G else {})}
    params = dict(params, scale=SMALL_SCALE, shift=1.0)
    return Case("eps", params, EPS_HINT, rule=f"a given eps ({LARGE_EPS:g})", options=options)


def _group_cases(seeds):
    """G = 1, G = C and a given eps (with G in between), on shapes of their own."""
    one, every, eps = seeds
    return (
        Case(
            "G=1",
            dict(N=2, C=4, H=3, W=4, seed=one, scale=2.0, shift=1.0),
            GROUP_EDGE_HINT,
            rule="G = 1 (one group per sample: layer normalization)",
            options={"G": 1},
        ),
        Case(
            "G=C",
            dict(N=2, C=3, H=4, W=3, seed=every, scale=3.0, shift=-2.0),
            GROUP_EDGE_HINT,
            rule="G = C (one channel per group: instance normalization)",
            options={"G": 3},
        ),
        _eps_case(dict(N=2, C=6, H=3, W=2, seed=eps), G=3),
    )


CHECKS = {
    "spatial_batchnorm_forward": PublicChecks(
        (
            _public("spatial_batchnorm_forward"),
            Case(
                "eps",
                dict(N=4, C=3, H=3, W=5, seed=20, scale=SMALL_SCALE, shift=1.0),
                EPS_HINT,
                rule=f"a given eps ({LARGE_EPS:g}), in train and in test mode",
                options={"eps": LARGE_EPS},
            ),
            Case(
                "momentum",
                dict(N=3, C=4, H=2, W=3, seed=21, scale=2.0, shift=4.0),
                MOMENTUM_HINT,
                rule=f"a given momentum ({GIVEN_MOMENTUM:g})",
                options={"momentum": GIVEN_MOMENTUM},
            ),
            Case(
                "fresh",
                dict(N=2, C=5, H=3, W=4, seed=22, scale=3.0, shift=-2.0),
                FRESH_HINT,
                rule="a bn_param without running statistics (they start at zeros and are stored into it)",
                options={"fresh": True},
            ),
        ),
        _run_batchnorm_forward,
        _check_batchnorm_forward,
        describe_batchnorm,
    ),
    "spatial_batchnorm_backward": PublicChecks(
        (_public("spatial_batchnorm_backward"), _eps_case(dict(N=3, C=2, H=4, W=3, seed=23))),
        _run_batchnorm_backward,
        _check_batchnorm_backward,
        describe_batchnorm,
    ),
    "spatial_groupnorm_forward": PublicChecks(
        (
            _public("spatial_groupnorm_forward", G=PUBLIC_GROUPS),
            *_group_cases((24, 25, 26)),
            Case(
                "default eps",
                dict(N=2, C=6, H=2, W=3, seed=30, scale=SMALL_SCALE, shift=1.0),
                DEFAULT_EPS_HINT,
                rule=f"gn_param = {{}} (the default eps, {DEFAULT_EPS:g})",
                options={"G": 3, "bare": True},
            ),
        ),
        _run_groupnorm_forward,
        _check_groupnorm_forward,
        describe_groupnorm,
    ),
    "spatial_groupnorm_backward": PublicChecks(
        (_public("spatial_groupnorm_backward", G=PUBLIC_GROUPS), *_group_cases((27, 28, 29))),
        _run_groupnorm_backward,
        _check_groupnorm_backward,
        describe_groupnorm,
    ),
}
