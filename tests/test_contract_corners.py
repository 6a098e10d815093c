"""The contract's corners that a correct-looking submission can miss (issue 21): each has a graded case or check.

The buggy variants of tests/variants/buggy show that each corner costs points on exactly its task
(tests/test_grader_variants.py); the claims here are about the cases themselves (they exercise the corner, and
the reference passes them), about the backward's message when it had to be graded with the documented cache,
and, through a real child session, about what each new check says.
"""

import ast
import contextlib

import numpy as np
import pytest

import solutions
from assignment.compare import rel_error
from grader.config import Config
from grader.sandbox.session import CallResult, Session
from grader.tasks import conv, convnet, memo, normalization
from grader.tasks.base import TaskContext, changed_keys
from grader.tasks.layer_checks import backward_call
from notebooks import solution_cells

CONFIG = Config()
NOTE = "so your backward was given the documented cache instead of its own"


# -- a backward graded with the documented cache says so -----------------------------------------------------------


class ScriptedSession:
    """A session whose calls return the given CallResults in order."""

    def __init__(self, *results):
        self.results = list(results)

    def call(self, target, *args, **options):
        return self.results.pop(0)


def graded_backward(*results):
    """The Outcome of conv backward's first hidden case, its calls answered by ``results`` in order."""
    inputs = conv.case_inputs(conv.HIDDEN_CASES[0])
    args = conv.LAYER.arguments(inputs)
    expected = conv.LAYER.reference_gradients(inputs["dout"], args)
    names = (conv.LAYER.forward, conv.LAYER.backward, conv.LAYER.grad_names)
    ctx = TaskContext(ScriptedSession(*results), CONFIG)
    checked, *_ = backward_call(ctx, names, args, inputs["dout"], expected, "hidden case", 1.0, fallback=args)
    return checked


FORWARD_RAISED = CallResult(ok=False, error_kind="exception", error_type="IndexError", message="IndexError: oops")
UNPACK = "ValueError: not enough values to unpack (expected 3, got 4)"


def test_a_backward_that_raises_on_the_documented_cache_is_told_its_forward_failed():
    backward = CallResult(ok=False, error_kind="exception", error_type="ValueError", message=UNPACK)
    checked = graded_backward(FORWARD_RAISED, backward)
    assert not checked.passed
    assert checked.message == f"{UNPACK} (your conv_forward_naive raised, {NOTE})"


def test_a_backward_whose_gradients_are_wrong_on_the_documented_cache_is_told_its_forward_failed():
    wrong = CallResult(ok=True, value=(np.zeros((2, 3, 7, 7)), np.zeros((4, 3, 3, 3)), np.zeros(4)), arity=3)
    checked = graded_backward(FORWARD_RAISED, wrong)
    assert not checked.passed and checked.message.endswith(f"(your conv_forward_naive raised, {NOTE})")


def test_a_backward_stub_is_told_only_that_it_is_not_implemented():
    stub = CallResult(ok=False, error_kind="exception", error_type="NotImplementedError", message="")
    assert graded_backward(FORWARD_RAISED, stub).message == "not implemented yet (raises NotImplementedError)"


def test_a_forward_that_hangs_or_returns_no_cache_is_named_as_such():
    backward = CallResult(ok=False, error_kind="exception", error_type="ValueError", message=UNPACK)
    hung = CallResult(ok=False, error_kind="timeout", message="did not finish")
    assert f"(your conv_forward_naive failed, {NOTE})" in graded_backward(hung, backward).message
    no_cache = CallResult(ok=True, value=np.zeros(3))
    assert (
        f"(your conv_forward_naive did not return (out, cache), {NOTE})" in graded_backward(no_cache, backward).message
    )


# -- through a real child session ------------------------------------------------------------------------------------


@contextlib.contextmanager
def graded(*sources):
    """A TaskContext whose session has the reference solutions and then ``sources`` loaded in a child process."""
    cells = []
    for index, source in enumerate([*solution_cells(), *sources]):
        spans = [[node.lineno, node.end_lineno] for node in ast.parse(source).body]
        cells.append({"filename": f"<cell {index}>", "source": source, "statements": spans})
    with Session(cells, timeout=CONFIG.timeout, use_bwrap=CONFIG.use_bwrap) as session:
        yield TaskContext(session, CONFIG)


OWN_CACHE = """
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    raise IndexError("the forward is not finished")


def conv_backward_naive(dout, cache):
    x, x_pad, w, b, conv_param = cache  # its own cache format: x padded too
    raise AssertionError("not reached")
"""


@pytest.mark.slow
def test_a_backward_expecting_its_own_cache_is_told_that_its_forward_failed_in_every_failed_case():
    with graded(OWN_CACHE) as ctx:
        outcomes = conv.grade_backward(ctx)
    cases = [o for o in outcomes if "case" in o.name]
    assert cases and all(not o.passed for o in cases)
    assert all("not enough values to unpack" in o.message and NOTE in o.message for o in cases)
    assert all("your conv_forward_naive raised" in o.message for o in cases)


# -- the convolution: a stride larger than the filter -------------------------------------------------------------


def covered_rows(size, pad, window, stride):
    """How many rows of the padded input the windows reach: (H' - 1) * stride + window."""
    return (size + 2 * pad - window) // stride * stride + window


def test_a_conv_case_has_a_stride_larger_than_its_filter_leaving_rows_and_columns_of_x_in_no_window():
    wide = [c for c in conv.HIDDEN_CASES if c["stride"] > max(c["HH"], c["WW"])]
    assert wide
    case = wide[0]
    assert covered_rows(case["H"], case["pad"], case["HH"], case["stride"]) < case["pad"] + case["H"]
    assert covered_rows(case["W"], case["pad"], case["WW"], case["stride"]) < case["pad"] + case["W"]
    inputs = conv.case_inputs(case)
    args = (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"])
    _, cache = solutions.conv_forward_naive(*args)
    dx, _, _ = solutions.conv_backward_naive(inputs["dout"], cache)
    assert dx.shape == inputs["x"].shape and not dx[:, :, -1, :].any() and not dx[:, :, :, -1].any()


# -- the normalizations ----------------------------------------------------------------------------------------------


def test_the_batchnorm_mode_checks_send_test_mode_another_eps_and_train_mode_a_bare_param():
    checks = normalization.MODE_CHECKS
    assert (normalization._test_mode_check, normalization.TEST_MODE_EPS_CASE) in checks
    assert normalization.TEST_MODE_EPS_CASE["eps"] != normalization.DEFAULT_EPS
    assert (normalization._bare_train_check, normalization.BARE_TRAIN_CASE) in checks
    assert normalization.BARE_TRAIN_PARAM == {"mode": "train"}
    for _, case in normalization.MODE_CHECKS:
        assert len({case["C"], case["H"], case["W"]}) == 3, case


def test_the_reference_stores_running_statistics_from_zeros_with_momentum_nine_tenths_in_a_bare_param():
    case = normalization.BARE_TRAIN_CASE
    expected = normalization._bn_bare_reference(memo.key(case))
    x = normalization._generated(normalization.batchnorm_inputs, case)["x"]
    assert np.allclose(expected["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-14)
    assert np.allclose(expected["running_var"], 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-14)


def test_a_group_norm_case_sends_an_empty_gn_param():
    bare = [case for case in normalization.GN_FORWARD_CASES if case.get("bare")]
    assert bare
    inputs = normalization._generated(normalization.groupnorm_inputs, bare[0])
    assert normalization._gn_case_args(bare[0], inputs)[4] == {}


def test_changed_keys_names_added_removed_and_changed_keys_but_the_ignored():
    before = {"mode": "train", "eps": 1e-5, "running_mean": np.zeros(2)}
    after = {"mode": "train", "momentum": 0.9, "running_mean": np.ones(2), "running_var": np.ones(2)}
    assert changed_keys(before, after) == ["eps", "momentum", "running_mean", "running_var"]
    assert changed_keys(before, after, ignore=("running_mean", "running_var")) == ["eps", "momentum"]
    assert changed_keys(before, dict(before)) == []
    assert changed_keys(before, None) is None


GN_COPYING_PARAM = """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    gn_param.setdefault("eps", 1e-5)  # writes the default into the caller's dict
    return _reference_gn_forward(x, gamma, beta, G, gn_param)
"""
ALIASES = "_reference_gn_forward = spatial_groupnorm_forward\n"


@pytest.mark.slow
def test_a_group_norm_that_writes_into_an_empty_gn_param_fails_only_inputs_unchanged():
    with graded(ALIASES, GN_COPYING_PARAM) as ctx:
        outcomes = normalization.grade_groupnorm_forward(ctx)
    [failed] = [o for o in outcomes if not o.passed]
    assert failed.name == "inputs unchanged"
    assert failed.message == "your function changed its input gn_param; leave the parameter dict as given"


BN_ADDING_MOMENTUM = """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    bn_param.setdefault("momentum", 0.9)
    return _reference_bn_forward(x, gamma, beta, bn_param)
"""


@pytest.mark.slow
def test_a_batchnorm_that_stores_more_than_running_statistics_fails_inputs_unchanged_and_test_mode():
    with graded("_reference_bn_forward = spatial_batchnorm_forward\n", BN_ADDING_MOMENTUM) as ctx:
        outcomes = normalization.grade_batchnorm_forward(ctx)
    failed = {o.name.split(" (")[0]: o.message for o in outcomes if not o.passed}
    assert failed["inputs unchanged"].startswith("your function changed bn_param['momentum']; leave bn_param as given")
    test_modes = [message for name, message in failed.items() if name.startswith("test mode")]
    assert len(test_modes) == 2 and all("test mode changed bn_param['momentum']" in m for m in test_modes)
    assert len(failed) == 3


# -- the convnet -----------------------------------------------------------------------------------------------------


def unshifted_softmax_loss(scores, y):
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return -np.log(probs[np.arange(len(y)), y]).mean()


def test_large_scores_overflow_an_unshifted_softmax_but_not_the_reference():
    params, X, y = convnet.loss_case(convnet.SQUARE_NET, convnet.LARGE_SCORE_SEED, convnet.LARGE_SCORE_OFFSET)
    model = convnet._reference_model(convnet.SQUARE_NET, convnet.REG, params)
    scores = model.loss(X)
    assert scores.min() > 709  # np.exp(709.8) is the largest float64
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(unshifted_softmax_loss(scores, y))
    loss, grads = model.loss(X, y)
    plain = convnet._reference_model(
        convnet.SQUARE_NET, convnet.REG, dict(params, b3=params["b3"] - convnet.LARGE_SCORE_OFFSET)
    )
    plain_loss, plain_grads = plain.loss(X, y)  # the offset shifts every score alike: same softmax
    assert np.isfinite(loss) and loss == pytest.approx(plain_loss, rel=1e-12)
    assert all(rel_error(grads[name], plain_grads[name])[0] < 1e-9 for name in convnet.PARAM_NAMES)


def test_the_reference_computing_in_float32_is_well_within_the_float32_thresholds():
    params, X, y = convnet.loss_case(convnet.SQUARE_NET, convnet.FLOAT32_SEED)
    model = solutions.ThreeLayerConvNet(**convnet.SQUARE_NET, reg=convnet.REG, dtype=np.float32)
    model.params = {name: value.astype(np.float32) for name, value in params.items()}
    scores, (loss, grads) = model.loss(X), model.loss(X, y)
    expected_scores, expected_loss, expected_grads = convnet._float32_reference(
        memo.key(convnet.SQUARE_NET), convnet.REG, convnet.FLOAT32_SEED
    )
    assert scores.dtype == np.float32 and all(grads[name].dtype == np.float32 for name in convnet.PARAM_NAMES)
    margin = 10  # another summation order may err more than the reference does; not ten times more
    assert rel_error(scores, expected_scores)[0] * margin < convnet.FLOAT32_THRESHOLD
    assert rel_error(float(loss), expected_loss)[0] * margin < convnet.FLOAT32_LOSS_THRESHOLD
    for name in convnet.PARAM_NAMES:
        assert rel_error(grads[name], expected_grads[name])[0] * margin < convnet.FLOAT32_THRESHOLD, name
