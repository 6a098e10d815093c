"""The notebook's public checks of spatial batch normalization and spatial group normalization: forward
(with gamma = 1, beta = 0 the output is standardized) and backward (against numeric gradients too)."""

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
    check_cases,
    check_numeric,
    forward_out,
    returned_items,
)
from assignment.compare import MOMENT_TOLERANCE
from assignment.mistakes import text as mistake_text
from assignment.tasks import PUBLIC_CASES

TRANSPOSE_HINT = mistake_text("reshape_without_transpose")
BATCHNORM_FORWARD_HINTS = {
    "train_out": TRANSPOSE_HINT,
    "running_mean": mistake_text("running_stats_not_updated"),
    "test_out": mistake_text("test_mode_batch_stats"),
}
BATCHNORM_FORWARD_HINTS["running_var"] = BATCHNORM_FORWARD_HINTS["running_mean"]
BATCHNORM_BACKWARD_HINTS = {
    "dx": TRANSPOSE_HINT,
    "dgamma": "dgamma and dbeta have shape (C,): sums over N, H and W",
    "dbeta": "dgamma and dbeta have shape (C,): sums over N, H and W",
}
GROUPS_HINT = mistake_text("groups_as_group_size")
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
    p = case.params
    return f"{case.key} case: x {(p['N'], p['C'], p['H'], p['W'])}"


def describe_groupnorm(case):
    p = case.params
    return f"{case.key} case: x {(p['N'], p['C'], p['H'], p['W'])}, G = {PUBLIC_GROUPS}"


def given_running_stats(channels, seed):
    """Running statistics, shape (C,) each, that the batchnorm case starts from (train) or uses (test)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)


def _run_batchnorm_forward(forward, _, inputs, case):
    seed = case.params["seed"] + 1  # the running statistics' own stream
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    running_mean, running_var = given_running_stats(x.shape[1], seed)
    train_param = {"mode": "train", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    value = call_student("spatial_batchnorm_forward (train mode)", forward, x, gamma, beta, train_param)
    train_out, _ = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")
    test_param = {"mode": "test", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    value = call_student("spatial_batchnorm_forward (test mode)", forward, x, gamma, beta, test_param)
    test_out, _ = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")
    return {
        "train_out": train_out,
        "running_mean": train_param.get("running_mean"),
        "running_var": train_param.get("running_var"),
        "test_out": test_out,
    }


def _run_batchnorm_backward(backward, forward, inputs, case):
    value = call_student(
        "spatial_batchnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], {"mode": "train"}
    )
    _, cache = returned_items(value, ("out", "cache"), "spatial_batchnorm_forward")
    value = call_student("spatial_batchnorm_backward", backward, inputs["dout"].copy(), cache)
    names = ("dx", "dgamma", "dbeta")
    return dict(zip(names, returned_items(value, names, "spatial_batchnorm_backward")))


def _run_groupnorm_forward(forward, _, inputs, case):
    value = call_student(
        "spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], PUBLIC_GROUPS, {}
    )
    out, _ = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")
    return {"out": out}


def _run_groupnorm_backward(backward, forward, inputs, case):
    value = call_student(
        "spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"], PUBLIC_GROUPS, {}
    )
    _, cache = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")
    value = call_student("spatial_groupnorm_backward", backward, inputs["dout"].copy(), cache)
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
    case, _ = check_cases(task_id, forward, None, BATCHNORM_FORWARD_HINTS, measurements)
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


def _check_batchnorm_backward(backward, forward, measurements):
    task_id = "spatial_batchnorm_backward"
    case, values = check_cases(task_id, backward, forward, BATCHNORM_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return forward_out("spatial_batchnorm_forward", forward, x.shape, x, gamma, beta, {"mode": "train"})

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


def _check_groupnorm_forward(forward, _, measurements):
    task_id = "spatial_groupnorm_forward"
    case, _ = check_cases(task_id, forward, None, GROUPNORM_FORWARD_HINTS, measurements)
    x = case_inputs(task_id, case)["x"]
    ones, zeros = np.ones((1, x.shape[1], 1, 1)), np.zeros((1, x.shape[1], 1, 1))
    value = call_student("spatial_groupnorm_forward", forward, x, ones, zeros, PUBLIC_GROUPS, {})
    out = returned_items(value, ("out", "cache"), "spatial_groupnorm_forward")[0]
    label = f"{case.key} case with gamma = 1, beta = 0"

    def per_group(out):
        return out.reshape(x.shape[0] * PUBLIC_GROUPS, -1)

    _check_moments(label, out, x.shape, per_group, GROUP_MOMENTS_HINT, measurements)


def _check_groupnorm_backward(backward, forward, measurements):
    task_id = "spatial_groupnorm_backward"
    case, values = check_cases(task_id, backward, forward, GROUPNORM_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return forward_out("spatial_groupnorm_forward", forward, x.shape, x, gamma, beta, PUBLIC_GROUPS, {})

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


def _public(task_id):
    return (Case("public", PUBLIC_CASES[task_id]),)


CHECKS = {
    "spatial_batchnorm_forward": PublicChecks(
        _public("spatial_batchnorm_forward"), _run_batchnorm_forward, _check_batchnorm_forward, describe_batchnorm
    ),
    "spatial_batchnorm_backward": PublicChecks(
        _public("spatial_batchnorm_backward"), _run_batchnorm_backward, _check_batchnorm_backward, describe_batchnorm
    ),
    "spatial_groupnorm_forward": PublicChecks(
        _public("spatial_groupnorm_forward"), _run_groupnorm_forward, _check_groupnorm_forward, describe_groupnorm
    ),
    "spatial_groupnorm_backward": PublicChecks(
        _public("spatial_groupnorm_backward"), _run_groupnorm_backward, _check_groupnorm_backward, describe_groupnorm
    ),
}
