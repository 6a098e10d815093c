"""Checks of the student's ``ThreeLayerConvNet`` (task ``three_layer_convnet``, SPEC sections 3 and 4).

The student's class is instantiated in the child; the grader reads ``params`` back, or replaces them
with weights it drew itself, then compares ``loss`` with the reference :class:`solutions.ThreeLayerConvNet`
holding the same weights. The last check trains the student's model with the provided Solver and
measures the training accuracy of the weights that come back, with the reference forward pass.

Points (relative, scaled to the task's weight): shapes 1 + 1, dtype of the parameters 1, dtype of the
computation 1, initial scale 1, scores 2, loss and gradients with reg = 0 2, with reg > 0 2, on a non-square
input 2, with scores in the thousands 1, overfit 3. The loss checks weigh most: they are what a student must
get right for the network to learn.

What "dtype honoured" means (SPEC section 3: every parameter "cast to dtype"; section 4: "dtype honoured"):
the parameters are created in ``dtype``, and ``loss`` computes in it, so that scores and every gradient come
back in ``dtype`` (the reference documents dtype as that "of every parameter and of the computation", and the
notebook's stub casts X to it). Parameters alone would not do: the Solver's update rules build the next
weights from the gradients (Adam's ``w - lr * m / ...``), so one float64 gradient turns a float32 model into a
float64 one after its first step, and the dtype asked for holds only until training starts.
"""

import functools
import hashlib
import os
import platform
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

import assignment
import solutions
from assignment.cases import param_shapes
from assignment.data import get_data
from assignment.solver import Solver
from grader.compare import (
    BACKWARD_THRESHOLD,
    FLOAT32_LOSS_THRESHOLD,
    FLOAT32_THRESHOLD,
    FORWARD_THRESHOLD,
    INIT_SCALE_TOLERANCE,
    LOSS_THRESHOLD,
    Verdict,
    all_of,
    check_array,
    check_scalar,
    check_tuple,
    compare_array,
)
from grader.report import Kind, Reason
from grader.sandbox import clock
from grader.tasks import catalogue, disk, memo
from grader.tasks.base import NOT_RUN, Outcome, call_failed, case_rng, none_returned, outcome

CLASS = "ThreeLayerConvNet"
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
MODEL = "model"  # handle of the instance a check works on in the child

# The contract's defaults, and non-square inputs, two with odd sides (the pool floors them: 9 x 7 -> 4 x 3), so
# that a W2 sized for even sides (F * H * W // 4) shows on two of them (a mistake is named only from two).
DEFAULT_NET = dict(input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10)
NON_SQUARE_NETS = (
    dict(input_dim=(3, 10, 14), num_filters=6, filter_size=3, hidden_dim=20, num_classes=7),
    dict(input_dim=(2, 9, 7), num_filters=5, filter_size=5, hidden_dim=12, num_classes=4),
    dict(input_dim=(1, 7, 11), num_filters=4, filter_size=3, hidden_dim=6, num_classes=3),
)
# Every weight has >= 10,000 entries, so its sample std is within ~1% of weight_scale.
INIT_NET = dict(input_dim=(8, 8, 8), num_filters=32, filter_size=7, hidden_dim=100, num_classes=100)
INIT_WEIGHT_SCALE = 3e-2  # not the default 1e-3, so a scale that ignores the argument shows
INIT_SEED = 0  # np.random seed in the child while __init__ draws its weights
PROBE_NET = {}  # the first check's constructor call, ThreeLayerConvNet(): if it fails, no check can run

# Small nets for the loss checks: every parameter has a few dozen to a few hundred entries.
SQUARE_NET = dict(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10, num_classes=5)
NON_SQUARE_NET = dict(input_dim=(2, 9, 7), num_filters=3, filter_size=5, hidden_dim=8, num_classes=4)
LOSS_EXAMPLES = 6  # N of the loss checks' batch
# Scores of order 1: the softmax neither saturates nor is flat, so every gradient is far from zero.
GRADER_WEIGHT_STD, GRADER_BIAS_STD = 0.2, 0.1
# Nonzero biases make "regularizing the biases" visible; 0.05 keeps the L2 term comparable to the data
# loss, so a missing 0.5 or a missing gradient term is off by 10% or more.
REG = 0.05
# Every score near 1000 (b3 shifted by this much): exp overflows past ~709, so a softmax that does not
# subtract each row's maximum (or some other shift) gives inf / inf = nan; the scores' differences stay of
# order 1, so nothing saturates, and loss and gradients are those of the unshifted scores.
LARGE_SCORE_OFFSET = 1000.0
LARGE_SCORE_SEED = 505
# The dtype of the computation: a float32 model (the default dtype) is given float32 weights and float64
# X, as the Solver gives it; its scores and gradients must come back float32, right to float32 precision
# (FLOAT32_THRESHOLD: measured on seeds 500-519 of SQUARE_NET).
FLOAT32_SEED = 506

# Overfit small data (SPEC section 4): the course's architecture and hyper-parameters.
OVERFIT_NET = dict(num_filters=32, filter_size=7, hidden_dim=100, num_classes=10)
OVERFIT_EXAMPLES = 100
OVERFIT_WEIGHT_SCALE = 1e-2
OVERFIT_SEED = 231  # fixes the grader's initial weights and the Solver's minibatches, in both runs
SOLVER_OPTIONS = {
    "update_rule": "adam",
    "optim_config": {"learning_rate": 1e-3},
    "batch_size": 50,
    "num_epochs": 15,
    "num_train_samples": None,
    "verbose": False,
}
# SPEC section 4's bar. Observed on the embedded digits: the reference reaches 0.99 with OVERFIT_SEED
# (0.99-1.00 for Solver seeds 0-9, final minibatch loss 0.02-0.12), in ~2 s in the grader's process and
# well under 1 s in the single-threaded child; correct students in other styles (own loops, einsum)
# reach the same 0.99, as they follow the same path: same weights, same minibatches, float64 throughout.
OVERFIT_ACCURACY = 0.9
OVERFIT_MARGIN = 0.05  # a student may fall this far below the reference's own accuracy (1 example = 0.01)
# The overfit training may work this many times as long as the reference's own training (work as
# grader.sandbox.clock counts it: on a CPU or blocked, not waiting for a CPU; a model built on the sandwich
# layers takes ~1-3x, one built on naive loops ~300x), and at least TRAIN_WORK_FLOOR seconds;
# Config.train_timeout bounds its wall time besides.
TRAIN_WORK_FACTOR = 30
TRAIN_WORK_FLOOR = 10.0


class _CallFailed(Exception):
    """A call into student code did not return; ``doing`` says what the grader was asking for."""

    def __init__(self, result, doing):
        super().__init__(doing)
        self.result, self.doing = result, doing


CONSTRUCTOR_NOT_RUN = f"{NOT_RUN}the constructor failed"


def grade(ctx):
    """Outcomes of every check of ``three_layer_convnet``.

    The class is first created as the first check creates it (``ThreeLayerConvNet()``, the contract's
    defaults). If that fails, the failure is reported once, under that check, as what it is (the call, the
    exception, the student's line); every other check says it was not run, since each creates the class too.
    """
    probe = ctx.session.call(CLASS, kwargs=_model_kwargs(PROBE_NET), send="none", seed=INIT_SEED)
    if not probe.ok:
        (first, first_points, first_check), *rest = CHECKS
        failed = call_failed(first, first_points, probe)
        reported = Outcome(
            first,
            first_points,
            False,
            constructor_failure(_signature(PROBE_NET), failed.message, probe),
            failed.failure,
            kind=check_kind(first_check),
            reason=failed.reason,
        )
        return [reported] + [
            Outcome(name, points, False, CONSTRUCTOR_NOT_RUN, kind=check_kind(check), reason=Reason.NOT_RUN)
            for name, points, check in rest
        ]
    return [_run(ctx, name, points, check) for name, points, check in CHECKS]


def constructor_failure(call, message, result):
    """'ThreeLayerConvNet() raised AttributeError: ... (at <cell> line 3: ...)', or what else happened."""
    if result.error_type == "NotImplementedError":
        return f"{call} is {message}"
    if result.error_kind == "exception":
        return f"{call} raised {message}"
    return f"{call} failed: {message}"


def _run(ctx, name, points, check):
    try:
        return outcome(name, points, check(ctx), kind=check_kind(check))
    except _CallFailed as failed:
        result = call_failed(name, points, failed.result)
        return Outcome(
            name,
            points,
            False,
            f"{failed.doing}: {result.message}",
            result.failure,
            kind=check_kind(check),
            reason=result.reason,
        )


# ---------------------------------------------------------------------------------------------
# Parameters: names, shapes, dtype, initial scale
# ---------------------------------------------------------------------------------------------


def expected_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes):
    """The contract's parameter shapes, as the notebook's checks know them (assignment.cases.param_shapes).

    Returns
    -------
    dict of str to tuple
        W1 (F, C, fs, fs), b1 (F,), W2 (F * (H // 2) * (W // 2), hidden_dim), b2 (hidden_dim,),
        W3 (hidden_dim, num_classes), b3 (num_classes,).
    """
    return param_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes)


def check_default_shapes(ctx):
    """Names and shapes of ``ThreeLayerConvNet()``'s params (input_dim (3, 32, 32))."""
    params = _initial_params(ctx, PROBE_NET)
    return _shapes_verdict(params, DEFAULT_NET, f"{CLASS}()")


def check_non_square_shapes(ctx):
    """Names and shapes for non-square input_dim, odd sides included."""
    verdicts = []
    for net in NON_SQUARE_NETS:
        params = _initial_params(ctx, net)
        verdicts.append(_shapes_verdict(params, net, _signature(net)))
    return all_of(verdicts)


def check_dtype(ctx):
    """Every parameter is an array with the dtype asked for: float32 by default, float64 when given.
    Arrays first: a numpy scalar such as np.float32(0.0) has a dtype too. (Shapes have their own checks.)"""
    verdicts = []
    for dtype, kwargs in ((np.float32, {}), (np.float64, {"dtype": np.float64})):
        params = _initial_params(ctx, _model_kwargs(SQUARE_NET, **kwargs))
        verdict = _names_verdict(params, _signature(SQUARE_NET, **kwargs))
        if verdict.passed:
            verdict = _arrays_verdict(params, _signature(SQUARE_NET, **kwargs))
        if verdict.passed:
            verdict = _dtype_verdict(params, dtype, _signature(SQUARE_NET, **kwargs))
        verdicts.append(verdict)
    return all_of(verdicts)


def check_computation_dtype(ctx):
    """A float32 model (the default dtype) computes in float32: with float32 weights and float64 X (as the Solver
    passes it), ``loss(X)`` returns float32 scores and ``loss(X, y)`` float32 gradients, each right to float32
    precision."""
    params, X, y = loss_case(SQUARE_NET, FLOAT32_SEED)
    params = {name: value.astype(np.float32) for name, value in params.items()}
    _model_holding(ctx, SQUARE_NET, REG, params, dtype=np.float32)
    scores = _call(ctx.session.call((MODEL, "loss"), X), "calling model.loss(X) of a float32 model")
    value = _call(ctx.session.call((MODEL, "loss"), X, y), "calling model.loss(X, y) of a float32 model")
    expected_scores, expected_loss, expected_grads = _float32_reference(memo.key(SQUARE_NET), REG, FLOAT32_SEED)
    verdict = none_returned(ctx, (CLASS, "loss"), "model.loss(X)", scores, ("scores",)) or none_returned(
        ctx, (CLASS, "loss"), "model.loss(X, y)", value, ("loss", "grads")
    )
    if verdict is not None:
        return verdict
    verdict = check_tuple(value, 2, "loss(X, y)")
    if not verdict.passed:
        return verdict
    loss, grads = value
    verdict = all_of(
        [
            compare_array("scores", scores, expected_scores, FLOAT32_THRESHOLD),
            check_scalar("loss", loss, expected_loss, FLOAT32_LOSS_THRESHOLD),
            _gradients_verdict(grads, expected_grads, FLOAT32_THRESHOLD),
        ]
    )
    if not verdict.passed:
        return replace(verdict, message=f"a float32 model: {verdict.message}")
    arrays = {"scores": scores, **{f"grads['{name}']": grads[name] for name in PARAM_NAMES}}
    wrong = [f"{name} is {array.dtype}" for name, array in arrays.items() if array.dtype != np.float32]
    if wrong:
        return Verdict(
            False,
            f"a float32 model computed in another dtype: {', '.join(wrong)}, expected float32; compute in "
            "self.dtype (X = X.astype(self.dtype); new arrays with dtype=x.dtype or np.zeros_like), or the "
            "Solver's first update turns the float32 parameters into float64",
        )
    return Verdict(True, "a float32 model returns float32 scores and gradients, right to float32 precision")


@memo.memoized
def _float32_reference(net_key, reg, seed):
    """(scores, loss, grads) of :func:`loss_case` with weights and X rounded to float32, computed in float64:
    what a float32 computation approximates."""
    net = dict(net_key)
    params, X, y = loss_case(net, seed)
    rounded = {name: value.astype(np.float32).astype(np.float64) for name, value in params.items()}
    X = X.astype(np.float32).astype(np.float64)
    model = _reference_model(net, reg, rounded)
    return (model.loss(X), *model.loss(X, y))


def check_init_scale(ctx):
    """Weights' sample std within INIT_SCALE_TOLERANCE of weight_scale; biases exactly zero."""
    kwargs = _model_kwargs(INIT_NET, weight_scale=INIT_WEIGHT_SCALE, dtype=np.float64)
    what = _signature(INIT_NET, weight_scale=INIT_WEIGHT_SCALE, dtype=np.float64)
    params = _initial_params(ctx, kwargs)
    verdict = _shapes_verdict(params, INIT_NET, what)
    if not verdict.passed:
        return verdict
    return all_of([_scale_verdict(name, params[name], what) for name in PARAM_NAMES])


def _initial_params(ctx, kwargs):
    """``ThreeLayerConvNet(**kwargs).params`` as the child built it."""
    _call(
        ctx.session.call(CLASS, kwargs=kwargs, keep=MODEL, send="none", seed=INIT_SEED),
        f"creating {_signature(kwargs)}",
    )
    return _call(ctx.session.get_attribute(MODEL, "params"), "reading model.params")


def _names_verdict(params, what):
    if not isinstance(params, dict):
        got = getattr(params, "description", type(params).__name__)
        return Verdict(False, f"{what}: self.params should be a dict, got {got}")
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        return Verdict(False, f"{what}: self.params has no {', '.join(missing)} (its keys: {sorted(params)})")
    return Verdict(True, "")


def _shapes_verdict(params, net, what):
    verdict = _names_verdict(params, what)
    if not verdict.passed:
        return verdict
    shapes = expected_shapes(**net)
    verdict = all_of([check_array(f"{what}: {name}", params[name], shape) for name, shape in shapes.items()])
    if not verdict.passed:
        return replace(
            verdict,
            diagnosis=catalogue.diagnose_w2(params, net["input_dim"], net["num_filters"], net["hidden_dim"], shapes),
        )
    return Verdict(True, f"{what}: every parameter has the contract's shape")


def _arrays_verdict(params, what):
    for name in PARAM_NAMES:
        if type(params[name]) is not np.ndarray:
            got = getattr(params[name], "description", type(params[name]).__name__)
            return Verdict(False, f"{what}: {name} should be a numpy.ndarray, got {got}")
    return Verdict(True, "")


def _dtype_verdict(params, dtype, what):
    """Every parameter (already checked to be an ndarray) has ``dtype``, a numpy scalar type."""
    expected = np.dtype(dtype)
    for name in PARAM_NAMES:
        if params[name].dtype != expected:
            return Verdict(
                False,
                f"{what}: {name} has dtype {params[name].dtype}, expected {expected} (cast every "
                f"parameter with .astype(dtype))",
            )
    return Verdict(True, f"{what}: every parameter is {expected}")


def _scale_verdict(name, value, what):
    if name.startswith("b"):
        if np.any(value != 0):
            largest = float(np.max(np.abs(value)))
            return Verdict(False, f"{what}: {name} should start at zero, got max |{name}| = {largest:.3g}")
        return Verdict(True, f"{name} zero")
    std = float(np.std(value.astype(np.float64)))
    error = abs(std / INIT_WEIGHT_SCALE - 1.0)
    message = f"{name}: sample std {std:.3g}, expected weight_scale = {INIT_WEIGHT_SCALE:g}"
    if error > INIT_SCALE_TOLERANCE:
        return Verdict(
            False,
            f"{what}: {message} (off by {error:.0%} > {INIT_SCALE_TOLERANCE:.0%}; "
            f"draw weight_scale * np.random.randn(...))",
        )
    return Verdict(True, message)


# ---------------------------------------------------------------------------------------------
# Scores, loss and gradients for weights the grader chose
# ---------------------------------------------------------------------------------------------


def check_scores(ctx):
    """``loss(X)`` with y None returns the reference's scores (N, num_classes)."""
    params, X, _ = loss_case(SQUARE_NET, seed=501)
    _model_holding(ctx, SQUARE_NET, 0.0, params)
    scores = _call(ctx.session.call((MODEL, "loss"), X), "calling model.loss(X)")
    expected = _reference_loss(memo.key(SQUARE_NET), 0.0, 501, False)
    verdict = none_returned(ctx, (CLASS, "loss"), "model.loss(X)", scores, ("scores",)) or compare_array(
        "scores", scores, expected, FORWARD_THRESHOLD
    )
    if verdict.passed:
        return verdict
    return replace(
        verdict,
        diagnosis=catalogue.diagnose(
            "three_layer_convnet",
            (params, X, None, 0.0),
            lambda candidate: compare_array("scores", scores, candidate, FORWARD_THRESHOLD).passed,
        ),
    )


def check_loss_no_reg(ctx):
    return _loss_verdict(ctx, SQUARE_NET, 0.0, seed=502)


def check_loss_reg(ctx):
    return _loss_verdict(ctx, SQUARE_NET, REG, seed=503)


def check_loss_non_square(ctx):
    return _loss_verdict(ctx, NON_SQUARE_NET, REG, seed=504)


def check_loss_large_scores(ctx):
    """Scores near LARGE_SCORE_OFFSET: the loss and gradients are finite and right (a numerically stable softmax)."""
    verdict = _loss_verdict(ctx, SQUARE_NET, REG, seed=LARGE_SCORE_SEED, score_offset=LARGE_SCORE_OFFSET)
    if verdict.passed:
        return verdict
    return replace(
        verdict,
        message=f"{verdict.message} (every score here is near {LARGE_SCORE_OFFSET:g}, where np.exp overflows: "
        "subtract each row's largest score before exponentiating, which leaves the softmax unchanged)",
    )


def loss_case(net, seed, score_offset=0.0):
    """Weights the grader draws, and a batch; ``score_offset`` is added to b3, so to every score.

    Returns
    -------
    params : dict of str to float64 ndarray, shapes as :func:`expected_shapes`
    X : ndarray, shape (LOSS_EXAMPLES, C, H, W)
    y : ndarray of int64, shape (LOSS_EXAMPLES,)
    """
    rng = case_rng(seed)
    params = {
        name: (GRADER_WEIGHT_STD if name.startswith("W") else GRADER_BIAS_STD) * rng.standard_normal(shape)
        for name, shape in expected_shapes(**net).items()
    }
    params["b3"] += score_offset
    X = rng.standard_normal((LOSS_EXAMPLES, *net["input_dim"]))
    y = rng.integers(0, net["num_classes"], size=LOSS_EXAMPLES)
    return params, X, y


def _loss_verdict(ctx, net, reg, seed, score_offset=0.0):
    params, X, y = loss_case(net, seed, score_offset)
    _model_holding(ctx, net, reg, params)
    value = _call(ctx.session.call((MODEL, "loss"), X, y), "calling model.loss(X, y)")
    verdict = none_returned(ctx, (CLASS, "loss"), "model.loss(X, y)", value, ("loss", "grads")) or check_tuple(
        value, 2, "loss(X, y)"
    )
    if not verdict.passed:
        return verdict
    expected_loss, expected_grads = _reference_loss(memo.key(net), reg, seed, True, score_offset)
    loss, grads = value

    def against(candidate_loss, candidate_grads):
        return all_of(
            [check_scalar("loss", loss, candidate_loss, LOSS_THRESHOLD), _gradients_verdict(grads, candidate_grads)]
        )

    verdict = against(expected_loss, expected_grads)
    if verdict.passed:
        return verdict
    return replace(
        verdict,
        diagnosis=catalogue.diagnose(
            "three_layer_convnet",
            (params, X, y, reg),
            lambda candidate: type(candidate) is tuple and against(*candidate).passed,
        ),
    )


def _gradients_verdict(grads, expected, threshold=BACKWARD_THRESHOLD):
    if not isinstance(grads, dict):
        got = getattr(grads, "description", type(grads).__name__)
        return Verdict(False, f"grads should be a dict keyed like params, got {got}")
    missing = [name for name in PARAM_NAMES if name not in grads]
    if missing:
        return Verdict(False, f"grads has no {', '.join(missing)} (its keys: {sorted(grads)})")
    return all_of([compare_array(f"grads['{name}']", grads[name], expected[name], threshold) for name in PARAM_NAMES])


def _model_holding(ctx, net, reg, params, dtype=np.float64):
    """A student model in the child (float64 unless ``dtype`` says otherwise) whose params are replaced by
    ``params``."""
    kwargs = _model_kwargs(net, reg=reg, dtype=dtype)
    _call(
        ctx.session.call(CLASS, kwargs=kwargs, keep=MODEL, send="none", seed=INIT_SEED),
        f"creating {_signature(kwargs)}",
    )
    _call(ctx.session.set_attribute(MODEL, "params", params), "setting model.params")


@memo.memoized
def _reference_loss(net_key, reg, seed, with_labels, score_offset=0.0):
    """The reference's ``loss(X, y)`` (with_labels) or ``loss(X)`` on :func:`loss_case` of the net, seed and
    score offset."""
    net = dict(net_key)
    params, X, y = loss_case(net, seed, score_offset)
    return _reference_model(net, reg, params).loss(X, y if with_labels else None)


def _reference_model(net, reg, params):
    """The reference network, float64, holding copies of ``params``."""
    model = _without_global_draws(lambda: solutions.ThreeLayerConvNet(**net, reg=reg, dtype=np.float64))
    model.params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    return model


# ---------------------------------------------------------------------------------------------
# Overfit small data
# ---------------------------------------------------------------------------------------------


def check_overfit(ctx):
    """The student's model, from the grader's weights, overfits 100 examples under the Solver."""
    data = overfit_data(ctx.config.data_dir)
    net = dict(OVERFIT_NET, input_dim=data["X_train"].shape[1:])
    kwargs = _model_kwargs(net, weight_scale=OVERFIT_WEIGHT_SCALE, dtype=np.float64)
    _call(
        ctx.session.call(CLASS, kwargs=kwargs, keep=MODEL, send="none", seed=INIT_SEED),
        f"creating {_signature(kwargs)}",
    )
    _call(ctx.session.set_attribute(MODEL, "params", overfit_initial_params(net)), "setting model.params")
    reference, reference_work = reference_overfit(ctx.config.data_dir)
    work_limit = max(TRAIN_WORK_FLOOR, TRAIN_WORK_FACTOR * reference_work)
    hung = ctx.session.failed_targets.get((MODEL, "loss"))
    if hung is not None:  # training calls loss() hundreds of times: it would hang, crash or break again
        return Verdict(False, f"not trained: {hung.message.removeprefix('not run: ')}")
    result = ctx.session.train(
        MODEL, data, SOLVER_OPTIONS, seed=OVERFIT_SEED, timeout=ctx.config.train_timeout, work_limit=work_limit
    )
    if result.work_limit_hit:
        return Verdict(False, _too_slow(work_limit, reference_work))
    trained = _call(result, "training with the Solver")
    params = trained.get("params") if isinstance(trained, dict) else None
    verdict = _shapes_verdict(params, net, "the trained model.params")
    if not verdict.passed:
        return verdict
    accuracy = training_accuracy(params, net, data)
    bar = max(OVERFIT_ACCURACY, reference - OVERFIT_MARGIN)
    message = (
        f"training accuracy {accuracy:.2f} on the {OVERFIT_EXAMPLES} training examples after "
        f"{SOLVER_OPTIONS['num_epochs']} epochs (the reference reaches {reference:.2f}; the bar is {bar:.2f})"
    )
    if accuracy < bar:
        message += "; check that loss() uses the weights in self.params and that every gradient is right"
    return Verdict(accuracy >= bar, message)


def overfit_data(data_dir):
    """The first 100 training examples, as the Solver's training and validation sets.

    Validating on the training set makes the Solver hand back the weights of its best *training*
    accuracy, the quantity graded, rather than those of a validation set the model never fits.

    Returns
    -------
    dict with X_train, X_val (100, C, H, W) float64 and y_train, y_val (100,) int64; do not modify.
    """
    X, y = _overfit_examples(data_dir)
    return {"X_train": X, "y_train": y, "X_val": X, "y_val": y}


@memo.memoized
def _overfit_examples(data_dir):
    """(X (100, C, H, W), y (100,)): the first training examples of the data set, read once per process."""
    data = get_data(data_dir, num_training=OVERFIT_EXAMPLES, num_validation=0, num_test=0)
    return data["X_train"], data["y_train"]


def overfit_initial_params(net):
    """The grader's initial weights: N(0, OVERFIT_WEIGHT_SCALE ** 2) weights, zero biases, float64."""
    rng = case_rng(OVERFIT_SEED)
    return {
        name: OVERFIT_WEIGHT_SCALE * rng.standard_normal(shape) if name.startswith("W") else np.zeros(shape)
        for name, shape in expected_shapes(**net).items()
    }


def training_accuracy(params, net, data):
    """Fraction of the training examples the reference forward pass with ``params`` classifies right."""
    scores = _reference_model(net, 0.0, params).loss(data["X_train"])
    return float(np.mean(np.argmax(scores, axis=1) == data["y_train"]))


def _too_slow(work_limit, reference_work):
    """The overfit check's message for a training stopped at ``work_limit`` seconds of work."""
    return (
        f"too slow (or stuck): training was stopped after {work_limit:.1f} s of work, "
        f"{work_limit / reference_work:.0f}x the reference's whole training ({reference_work:.2f} s) "
        "(the limit is relative to the reference's work, so a busy machine does not bring it closer); "
        "build loss() on the sandwich layers of assignment.layer_utils (conv_relu_pool_forward, "
        "affine_relu_forward and their backward passes, which use the fast layers), not on naive loops"
    )


@memo.memoized
def reference_overfit(data_dir):
    """:func:`reference_overfit_run`'s (training accuracy, seconds of work), read from the disk cache
    (grader.tasks.disk) when it holds the run on the same examples with the same code, and kept there after a
    run: a fresh process (a Gradescope container) need not train the reference again."""
    key = _overfit_key(data_dir)
    kept = _overfit_from_data(disk.load(OVERFIT_KIND, key)) if key is not None else None
    if kept is not None:
        return kept
    accuracy, work = reference_overfit_run(data_dir)
    if key is not None:
        disk.store(OVERFIT_KIND, key, {"accuracy": accuracy, "work": work})
    return accuracy, work


OVERFIT_KIND = "overfit"
MAX_REFERENCE_WORK = 600.0  # seconds: a kept figure above this is not one the reference's training takes


def _overfit_key(data_dir):
    """What the reference's run depends on: the examples it trains on (their bytes, not the folder's name),
    the code it runs (every module of the references and of ``assignment``, this module, the work clock),
    numpy, Python; and, for its work, this machine: its processor, the number of CPUs and the BLAS threads
    asked for (a figure from another machine, or from a process with other threads, is not found: the
    training limit is relative to the reference's work on the machine that grades). None if a source cannot
    be read."""
    X, y = _overfit_examples(data_dir)
    data = hashlib.sha256(f"{X.dtype} {X.shape} {y.dtype} {y.shape}".encode())
    data.update(np.ascontiguousarray(X).tobytes())
    data.update(np.ascontiguousarray(y).tobytes())
    modules = [Path(package.__file__).parent for package in (solutions, assignment)]
    paths = sorted(str(path) for folder in modules for path in folder.glob("*.py")) + [__file__, clock.__file__]
    try:
        code = disk.source_digest(*paths)
    except OSError:
        return None
    return {
        "data": data.hexdigest(),
        "code": code,
        "numpy": np.__version__,
        "python": "%d.%d" % sys.version_info[:2],
        "machine": platform.machine(),
        "processor": _processor(),
        "cpus": os.cpu_count(),
        "threads": [
            os.environ.get(name, "") for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        ],
    }


def _processor():
    """The processor's model name as the kernel gives it ('' where /proc/cpuinfo has none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def _overfit_from_data(value):
    """(accuracy, work) from a kept entry, or None unless it is an accuracy in [0, 1] and a positive work below
    MAX_REFERENCE_WORK, both floats."""
    if type(value) is not dict or set(value) != {"accuracy", "work"}:
        return None
    accuracy, work = value["accuracy"], value["work"]
    if type(accuracy) is not float or type(work) is not float:
        return None
    if not (0.0 <= accuracy <= 1.0 and 0.0 < work <= MAX_REFERENCE_WORK):
        return None
    return accuracy, work


@memo.memoized
def reference_overfit_run(data_dir):
    """(training accuracy, seconds of work) of the reference network trained exactly as the student's model
    is (once per process and data folder: grader.tasks.memo). The seconds are measured as a call's work is
    (grader.sandbox.clock: time on a CPU, not waiting for one), which the machine's load hardly changes, so
    they are kept with the accuracy."""
    data = overfit_data(data_dir)
    net = dict(OVERFIT_NET, input_dim=data["X_train"].shape[1:])
    model = _reference_model(net, 0.0, overfit_initial_params(net))
    train = functools.partial(_without_global_draws, Solver(model, data, **SOLVER_OPTIONS).train, seed=OVERFIT_SEED)
    seconds, _ = clock.measured(train)
    return training_accuracy(model.params, net, data), seconds


def _without_global_draws(function, seed=None):
    """Run ``function`` (seeding np.random first if ``seed`` is given) and restore np.random's state.

    The reference draws from numpy's global generator; the rest of the grader must not see it move.
    """
    state = np.random.get_state()
    try:
        if seed is not None:
            np.random.seed(seed)
        return function()
    finally:
        np.random.set_state(state)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _call(result, doing):
    """The value of a call into student code, or _CallFailed saying what the grader was doing."""
    if not result.ok:
        raise _CallFailed(result, doing)
    return result.value


def _model_kwargs(net, **extra):
    """Constructor keyword arguments: the net's architecture plus ``extra``, as the protocol carries them."""
    kwargs = dict(net, **extra)
    if "input_dim" in kwargs:
        kwargs["input_dim"] = tuple(int(n) for n in kwargs["input_dim"])
    return kwargs


def _signature(kwargs, **extra):
    """The constructor call as a student would write it, e.g. 'ThreeLayerConvNet(reg=0.05, dtype=np.float64)'."""
    arguments = ", ".join(
        f"{key}={value!r}" if key != "dtype" else f"dtype=np.{np.dtype(value).name}"
        for key, value in dict(kwargs, **extra).items()
    )
    return f"{CLASS}({arguments})"


CHECKS = (
    ("parameter names and shapes, default input_dim (3, 32, 32)", 1.0, check_default_shapes),
    (
        f"parameter names and shapes, non-square input_dim {', '.join(str(n['input_dim']) for n in NON_SQUARE_NETS)}",
        1.0,
        check_non_square_shapes,
    ),
    ("dtype honoured: float32 by default, float64 when asked", 1.0, check_dtype),
    (
        "dtype honoured in the computation: a float32 model returns float32 scores and gradients",
        1.0,
        check_computation_dtype,
    ),
    ("initial scale: weights' std is weight_scale, biases zero", 1.0, check_init_scale),
    ("scores: loss(X) returns the class scores (N, num_classes)", 2.0, check_scores),
    ("loss and every gradient, reg = 0", 2.0, check_loss_no_reg),
    (f"loss and every gradient, reg = {REG}", 2.0, check_loss_reg),
    (
        f"loss and every gradient, non-square input_dim {NON_SQUARE_NET['input_dim']}, reg = {REG}",
        2.0,
        check_loss_non_square,
    ),
    (
        f"loss and every gradient with every score near {LARGE_SCORE_OFFSET:g}, reg = {REG} (a softmax that "
        "cannot overflow)",
        1.0,
        check_loss_large_scores,
    ),
    (f"overfit {OVERFIT_EXAMPLES} training examples (Adam, {SOLVER_OPTIONS['num_epochs']} epochs)", 3.0, check_overfit),
)
# The checks on what the notebook itself uses (Kind.PUBLIC_CHECK, shown before grades are published, as a public
# case is): the contract's defaults (which also report a constructor that fails), the quantities the notebook's
# check cell compares on given weights (scores, loss and gradients with and without reg) and the overfit run the
# notebook makes itself. The others are variations it never uses (Kind.HIDDEN_CHECK): non-square input_dims and
# the initial scale under a weight_scale that is not the default.
NOTEBOOK_CHECKS = frozenset(
    (check_default_shapes, check_dtype, check_scores, check_loss_no_reg, check_loss_reg, check_overfit)
)


def check_kind(check):
    """The kind of one of CHECKS' functions: Kind.PUBLIC_CHECK or Kind.HIDDEN_CHECK (see NOTEBOOK_CHECKS)."""
    return Kind.PUBLIC_CHECK if check in NOTEBOOK_CHECKS else Kind.HIDDEN_CHECK


GRADERS = {"three_layer_convnet": grade}
