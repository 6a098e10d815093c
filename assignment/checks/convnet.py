"""The notebook's public checks of the three-layer convnet: fresh parameters (names, shapes, dtype, scale),
the initial loss, scores, loss and gradients for given weights (with and without reg; on odd input, with every
score near 1000, and in a float32 model, whose scores and gradients must be float32), and numeric gradients
of the student's own loss."""

import math

import numpy as np

from assignment.cases import network_inputs, param_shapes
from assignment.checks.base import (
    FAILED,
    Case,
    CheckStopped,
    Measurement,
    PublicChecks,
    array_problem_text,
    as_number,
    bound,
    call_student,
    case_inputs,
    case_title,
    compare_case,
    compare_number,
    compare_to,
    describe_case,
    describe_value,
    returned_items,
    run_case_saying_which,
    saying_which,
    threshold_of,
)
from assignment.compare import (
    FLOAT32_LOSS_THRESHOLD,
    FLOAT32_THRESHOLD,
    INIT_SCALE_TOLERANCE,
    INITIAL_LOSS_TOLERANCE,
    LOSS_THRESHOLD,
    NETWORK_GRADIENT_THRESHOLD,
    NETWORK_NUMERIC_STEP,
)
from assignment.gradient_check import eval_numerical_gradient
from assignment.mistakes import text as mistake_text
from assignment.tasks import PUBLIC_CASES

PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
WEIGHT_NAMES = ("W1", "W2", "W3")  # the regularized ones
NETWORK_HINTS = {
    "scores": "conv (stride 1, pad (filter_size - 1) // 2) - relu - 2x2 max pool (stride 2) - affine - "
    "relu - affine: conv_relu_pool_forward, affine_relu_forward and affine_forward do it; "
    "return the scores when y is None",
    "reg0.loss": "the data loss is softmax_loss(scores, y)[0]",
    "reg.loss": mistake_text("reg_missing_half"),
    "reg0.grads": "go back through the same layers in reverse order: affine_backward, "
    "affine_relu_backward, conv_relu_pool_backward",
    "reg.grads": mistake_text("reg_gradient_missing"),
}
SHAPES_HINT = (
    "W1 (F, C, fs, fs), b1 (F,), W2 (F * (H // 2) * (W // 2), hidden_dim), b2 (hidden_dim,), "
    "W3 (hidden_dim, num_classes), b3 (num_classes,); H and W may differ"
)
W2_HINT = mistake_text("w2_square_or_even")
ODD_INPUT_HINT = (
    "this case has odd sides that differ: pad (filter_size - 1) // 2 keeps H x W through the conv, the 2x2 "
    "pool floors odd sides, so the pooled output is (N, F, H // 2, W // 2), F * (H // 2) * (W // 2) values "
    "per example for the affine layer"
)
DTYPE_HINT = "cast every parameter with .astype(dtype)"
LARGE_SCORES_HINT = (
    "every score here is near 1000, where np.exp overflows (inf / inf = nan): subtract each row's largest "
    "score before exponentiating, which leaves the softmax unchanged (softmax_loss of assignment.layers does)"
)
FLOAT32_HINT = (
    "a float32 model computes in float32: X = X.astype(self.dtype) before the first layer, and new arrays in "
    "the dtype of what they come from (np.zeros_like, dtype=x.dtype); one float64 gradient and the Solver's "
    "first update turns the float32 parameters into float64"
)
INIT_HINT = "weights are weight_scale * np.random.randn(*shape), biases are zeros"
INITIAL_LOSS_HINT = (
    "with tiny weights every score is ~0, so the softmax is uniform and the loss is "
    "log(num_classes); check the softmax loss and that the scores use the weights"
)
REG_TERM_HINT = NETWORK_HINTS["reg.loss"]
NETWORK_NUMERIC_HINT = (
    "a gradient disagrees with the numeric gradient of your own loss: check the "
    "backward pass of that layer and the reg * W term"
)

# Networks whose freshly initialized parameters are checked: the digits' input, a non-square one, and one
# with odd sides that differ (F * H * W // 4 and F * (H // 2) * (W // 2) agree on even sides only).
NEW_NETWORKS = (
    dict(input_dim=(1, 8, 8), num_filters=8, filter_size=5, hidden_dim=20, num_classes=10),
    dict(input_dim=(3, 6, 10), num_filters=4, filter_size=3, hidden_dim=12, num_classes=7),
    dict(input_dim=(2, 7, 5), num_filters=3, filter_size=3, hidden_dim=9, num_classes=4),
)
# Given weights on odd sides that differ, with 5x5 filters (pad 2): scores, losses and gradients.
ODD_CASE = dict(
    num_inputs=3, input_dim=(2, 7, 5), num_filters=3, filter_size=5, hidden_dim=5, num_classes=6, reg=0.5, seed=19
)
# Every score near 1000 (b3 shifted): np.exp overflows past ~709, so a softmax that does not subtract each
# row's largest score gives nan; the scores' differences stay of order 1, so nothing saturates.
LARGE_SCORE_OFFSET = 1000.0
LARGE_SCORES_CASE = dict(
    num_inputs=4,
    input_dim=(3, 6, 8),
    num_filters=4,
    filter_size=3,
    hidden_dim=6,
    num_classes=10,
    reg=0.25,
    seed=23,
    score_offset=LARGE_SCORE_OFFSET,
)
FLOAT32_CASE = dict(
    num_inputs=4,
    input_dim=(3, 6, 8),
    num_filters=4,
    filter_size=3,
    hidden_dim=6,
    num_classes=10,
    reg=0.25,
    seed=24,
    float32_values=True,
)
INIT_WEIGHT_SCALE = 5e-2  # not the default 1e-3, so a scale that ignores the argument shows
INIT_SEED = 0  # np.random seed while a student's __init__ draws its weights
SANITY_NETWORK = dict(input_dim=(1, 8, 8), num_filters=8, filter_size=5, hidden_dim=20, num_classes=10)
SANITY_WEIGHT_SCALE = 1e-3  # tiny weights: every score ~0, so the loss is ~log(num_classes)
SANITY_EXAMPLES, SANITY_SEED = 20, 3


def describe(case):
    p = case.params
    return (
        f"{case_title(case)}: input_dim {p['input_dim']}, {p['num_filters']} filters of "
        f"{p['filter_size']}x{p['filter_size']}, hidden_dim {p['hidden_dim']}, "
        f"{p['num_inputs']} examples, given weights"
    )


def _network_hyper(params):
    keys = ("input_dim", "num_filters", "filter_size", "hidden_dim", "num_classes")
    return {key: params[key] for key in keys}


def _new_network(network_class, reg, **hyper):
    what = f"ThreeLayerConvNet({', '.join(f'{k}={v!r}' for k, v in hyper.items())}, reg={reg})"
    model = call_student(what, network_class, reg=reg, **hyper)
    if not isinstance(getattr(model, "params", None), dict):
        raise CheckStopped(
            FAILED,
            "ThreeLayerConvNet must keep its parameters in self.params, a dict of "
            f"name -> ndarray; yours has {describe_value(getattr(model, 'params', None))}",
        )
    return model


def _load_given(model, params, dtype=np.float64):
    """Replace the model's parameters by the given ones in ``dtype`` (after its own shapes were checked)."""
    for name, value in params.items():
        model.params[name] = value.astype(dtype)


def _dtype(case):
    """The dtype of the case's model: float64, but float32 in the float32 case."""
    return case.options.get("dtype", np.float64)


def _run_network_scores(network_class, inputs, params, dtype=np.float64):
    """The scores ``loss(X)`` of a network of ``dtype`` holding the given weights (X float64, as the Solver's)."""
    model = _new_network(network_class, 0.0, **_network_hyper(params), dtype=dtype)
    _load_given(model, inputs["params"], dtype)
    return {"scores": call_student("loss(X) (the scores)", model.loss, inputs["X"].copy())}


def _run_network(network_class, _, inputs, case, dtype=None):
    """Scores, and loss and gradients with reg = 0 and reg > 0 (the float32 case: reg > 0 only), for the given
    weights, in the case's dtype unless ``dtype`` is given."""
    params = case.params
    dtype = _dtype(case) if dtype is None else dtype
    values = _run_network_scores(network_class, inputs, params, dtype)
    regs = (("reg0", 0.0), ("reg", params["reg"]))
    for label, reg in regs[1:] if "dtype" in case.options else regs:
        model = _new_network(network_class, reg, **_network_hyper(params), dtype=dtype)
        _load_given(model, inputs["params"], dtype)
        value = call_student(f"loss(X, y) with reg={reg}", model.loss, inputs["X"].copy(), inputs["y"].copy())
        loss, grads = returned_items(value, ("loss", "grads"), "loss(X, y)")
        if not isinstance(grads, dict):
            raise CheckStopped(
                FAILED, f"loss(X, y) should return grads as a dict keyed like params; yours is {describe_value(grads)}"
            )
        values[f"{label}.loss"] = loss
        values.update({f"{label}.grads.{name}": grads.get(name) for name in PARAM_NAMES})
    return values


def _expect_network(network_class, _, inputs, case):
    """The expected values: every case in float64, the float32 case on its float32 values (what a float32
    computation approximates)."""
    return _run_network(network_class, _, inputs, case, dtype=np.float64)


def _thresholds(case):
    """The thresholds of the case's quantities: the float32 case's are float32 precision."""
    if "dtype" not in case.options:
        return threshold_of
    return lambda quantity: FLOAT32_LOSS_THRESHOLD if quantity.endswith("loss") else FLOAT32_THRESHOLD


def _check_network(network_class, _, measurements):
    """Fresh parameters, then the scores (the forward pass alone), then the loss and gradients; numeric
    gradients on the public case."""
    task_id = "three_layer_convnet"
    for hyper in NEW_NETWORKS:
        _check_new_network(network_class, hyper, measurements)
    cases = CHECKS[task_id].cases
    inputs = {case.key: case_inputs(task_id, case) for case in cases}
    for case in cases:
        with saying_which(task_id, case):
            scores = _run_network_scores(network_class, inputs[case.key], case.params, _dtype(case))
        compare_case(task_id, case, scores, NETWORK_HINTS, measurements, _thresholds(case))
    _check_initial_loss(network_class, measurements)
    values = {}
    for case in cases:
        values[case.key] = run_case_saying_which(task_id, case, network_class, inputs=inputs[case.key])
        if "dtype" in case.options:
            measurements.append(_computation_dtype(case, values[case.key]))
        del values[case.key]["scores"]  # compared above
        compare_case(task_id, case, values[case.key], NETWORK_HINTS, measurements, _thresholds(case))
        _check_reg_term(case, values[case.key], measurements)
    public = cases[0]
    _check_network_gradients(network_class, public, values[public.key], measurements)


def input_rule(input_dim):
    """The rule a network's input tries: 'odd and non-square input (7x5)', 'non-square input (6x10)' or ''."""
    _, height, width = input_dim
    kinds = [kind for kind, tried in (("odd", height % 2 or width % 2), ("non-square", height != width)) if tried]
    return f"{' and '.join(kinds)} input ({height}x{width})" if kinds else ""


def _check_new_network(network_class, hyper, measurements):
    """Parameter names, shapes, dtype (the default float32) and initial values of a new network."""
    np.random.seed(INIT_SEED)
    model = _new_network(network_class, 0.0, **hyper, weight_scale=INIT_WEIGHT_SCALE)
    rule = input_rule(hyper["input_dim"])
    label = (
        f"new network{f', on {rule}' if rule else ''}: input_dim {hyper['input_dim']}, {hyper['num_filters']} filters of "
        f"{hyper['filter_size']}x{hyper['filter_size']}, hidden_dim {hyper['hidden_dim']}, "
        f"{hyper['num_classes']} classes, weight_scale {INIT_WEIGHT_SCALE}"
    )
    expected = param_shapes(**hyper)
    wrong = [
        f"{name}: expected {shape}, yours {_shape_or_kind(model.params.get(name))}"
        for name, shape in expected.items()
        if _shape_or_kind(model.params.get(name)) != shape
    ]
    described = ", ".join(f"{name} {shape}" for name, shape in expected.items())
    measurements.append(
        Measurement(
            label,
            "parameter shapes",
            not wrong,
            "; ".join(wrong) if wrong else described,
            hint=W2_HINT if "odd" in rule else SHAPES_HINT,
        )
    )
    if wrong:
        return
    dtypes = {name: model.params[name].dtype for name in expected}
    odd = [f"{name} is {dtype}" for name, dtype in dtypes.items() if dtype != np.float32]
    measurements.append(
        Measurement(
            label,
            "dtype",
            not odd,
            "; ".join(odd) + " (expected float32, the default dtype)" if odd else "every parameter float32",
            hint=DTYPE_HINT,
        )
    )
    measurements.append(_initial_values(label, model.params))


def _shape_or_kind(value):
    if value is None:
        return "missing"
    return value.shape if type(value) is np.ndarray else describe_value(value)


def _initial_values(label, params):
    """Biases zero, weights with a sample std near weight_scale."""
    problems = [f"{name} is not all zeros" for name in ("b1", "b2", "b3") if np.any(params[name] != 0)]
    for name in WEIGHT_NAMES:
        std = float(np.std(params[name].astype(np.float64)))
        if abs(std / INIT_WEIGHT_SCALE - 1.0) > INIT_SCALE_TOLERANCE:
            problems.append(
                f"{name} has std {std:.3g}, expected {INIT_WEIGHT_SCALE:g} (within {INIT_SCALE_TOLERANCE:.0%})"
            )
    detail = "; ".join(problems) or (f"biases zero, weights' std within {INIT_SCALE_TOLERANCE:.0%} of weight_scale")
    return Measurement(label, "initial values", not problems, detail, hint=INIT_HINT)


def _check_initial_loss(network_class, measurements):
    """Tiny weights and reg = 0: every score ~0, so the loss is ~log(num_classes)."""
    np.random.seed(INIT_SEED)
    model = _new_network(network_class, 0.0, **SANITY_NETWORK, weight_scale=SANITY_WEIGHT_SCALE, dtype=np.float64)
    rng = np.random.default_rng(SANITY_SEED)
    X = rng.standard_normal((SANITY_EXAMPLES, *SANITY_NETWORK["input_dim"]))
    y = rng.integers(0, SANITY_NETWORK["num_classes"], SANITY_EXAMPLES)
    loss = _loss_number(model, X, y)
    expected = math.log(SANITY_NETWORK["num_classes"])
    label = (
        f"sanity: {SANITY_EXAMPLES} random examples, weight_scale {SANITY_WEIGHT_SCALE}, "
        f"reg 0, {SANITY_NETWORK['num_classes']} classes"
    )
    measurements.append(
        bound(
            label,
            f"initial loss {loss:.4f} ~ log(10) = {expected:.4f}",
            abs(loss - expected) / expected,
            INITIAL_LOSS_TOLERANCE,
            "relative distance",
            INITIAL_LOSS_HINT,
        )
    )


def _loss_number(model, X, y):
    value = call_student("loss(X, y)", model.loss, X.copy(), y.copy())
    loss = as_number(returned_items(value, ("loss", "grads"), "loss(X, y)")[0])
    if loss is None:
        raise CheckStopped(
            FAILED,
            f"loss(X, y) should return (loss, grads) with loss a finite number; "
            f"your loss is {describe_value(value[0])}",
        )
    return loss


def _computation_dtype(case, values):
    """The scores and every gradient (reg > 0) of the case's model are arrays of its dtype."""
    dtype = np.dtype(_dtype(case))
    arrays = {"scores": values["scores"], **{f"d{name}": values[f"reg.grads.{name}"] for name in PARAM_NAMES}}
    wrong = [
        f"{name} is {array.dtype}"
        for name, array in arrays.items()
        if isinstance(array, np.ndarray) and array.dtype != dtype
    ]
    detail = f"{'; '.join(wrong)} (expected {dtype}, the model's dtype)" if wrong else f"every one {dtype}"
    label = describe_case("three_layer_convnet", case)
    return Measurement(label, "dtype of scores and gradients", not wrong, detail, hint=case.hint)


def _check_reg_term(case, values, measurements):
    """The loss with reg > 0 exceeds the loss with reg = 0 by exactly 0.5 * reg * sum(W**2)."""
    if "reg0.loss" not in values:
        return  # the float32 case: reg > 0 only
    with_reg, without = as_number(values["reg.loss"]), as_number(values["reg0.loss"])
    if with_reg is None or without is None:
        return  # already reported
    params = network_inputs(**case.params)["params"]
    expected = 0.5 * case.params["reg"] * sum(np.sum(params[name] ** 2) for name in WEIGHT_NAMES)
    measurements.append(
        compare_number(
            describe_case("three_layer_convnet", case),
            f"loss rises with reg = {case.params['reg']} by 0.5 * reg * sum(W**2)",
            with_reg - without,
            expected,
            LOSS_THRESHOLD,
            REG_TERM_HINT,
        )
    )


def _check_network_gradients(network_class, case, values, measurements):
    """Numeric gradient of the student's own loss (reg > 0, float64) for every parameter."""
    inputs = network_inputs(**case.params)
    model = _new_network(network_class, case.params["reg"], **_network_hyper(case.params), dtype=np.float64)
    _load_given(model, inputs["params"])
    label = describe_case("three_layer_convnet", case)
    for name in PARAM_NAMES:
        analytic = values[f"reg.grads.{name}"]
        param = model.params[name]
        if array_problem_text(analytic, param.shape):
            continue  # already reported against the stored expected value
        numeric = eval_numerical_gradient(
            lambda _: _loss_number(model, inputs["X"], inputs["y"]), param, verbose=False, h=NETWORK_NUMERIC_STEP
        )
        measurements.append(
            compare_to(
                label,
                f"d{name} vs numeric gradient (reg > 0)",
                analytic,
                numeric,
                NETWORK_GRADIENT_THRESHOLD,
                NETWORK_NUMERIC_HINT,
            )
        )


CHECKS = {
    "three_layer_convnet": PublicChecks(
        cases=(
            Case("public", PUBLIC_CASES["three_layer_convnet"]),
            Case("odd", ODD_CASE, ODD_INPUT_HINT, rule=input_rule(ODD_CASE["input_dim"])),
            Case(
                "large",
                LARGE_SCORES_CASE,
                LARGE_SCORES_HINT,
                rule=f"every score near {LARGE_SCORE_OFFSET:g} (b3 shifted by {LARGE_SCORE_OFFSET:g})",
            ),
            Case(
                "float32",
                FLOAT32_CASE,
                FLOAT32_HINT,
                rule="a float32 model (dtype=np.float32, float32 weights, float64 X): float32 scores and gradients",
                options={"dtype": np.float32},
            ),
        ),
        run=_run_network,
        check=_check_network,
        describe=describe,
        expect=_expect_network,
    ),
}
