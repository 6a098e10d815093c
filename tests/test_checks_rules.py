"""Every rule the notebook states is tried by its public checks (SPEC section 4, "Fairness"): code that breaks
exactly one rule passes the cases that do not try it, fails the case that does, and the report names that
case's rule and gives its hint; the references pass every case."""

import numpy as np
import pytest

import solutions
from assignment import checks
from assignment.checks import ERROR, FAILED, check
from assignment.layer_utils import conv_relu_pool_forward
from assignment.tasks import TABLE

DEFAULT_EPS = 1e-5


def run(task_id, implementation, forward=None):
    return check(task_id, implementation, forward=forward, verbose=False)


def failing_labels(result):
    """The labels of the cases with a failed measurement, in order, without repeats."""
    return list(dict.fromkeys(m.case for m in result.measurements if not m.passed))


def case_of(task_id, key):
    return next(case for case in checks.CASES[task_id] if case.key == key)


def assert_fails_only_on(task_id, key, result):
    """Only the case ``key`` fails (or stops the check), and the report names its rule and gives its hint."""
    case = case_of(task_id, key)
    label = checks.base.describe_case(task_id, case)
    rendered = checks.render(result)
    assert result.status in (FAILED, ERROR), rendered
    assert case.rule and f"on {case.rule}" in label
    if result.status == ERROR or result.message:
        assert result.message.startswith(label), rendered
        assert not failing_labels(result), rendered
    else:
        assert failing_labels(result) == [label], rendered
    assert result.hints[0] == case.hint, rendered
    assert label in rendered and f"Hint: {case.hint}" in rendered
    before = [c for c in checks.CASES[task_id] if c.key != key]
    passed = {m.case for m in result.measurements if m.passed}
    assert {checks.base.describe_case(task_id, c) for c in before[:1]} <= passed


# -- convolution ----------------------------------------------------------------------------------------


def conv_forward_dividing_rows_only(x, w, b, conv_param):
    """The course's old assert, kept for rows only: fine while the stride divides H + 2 * pad - HH."""
    assert (x.shape[2] + 2 * conv_param["pad"] - w.shape[2]) % conv_param["stride"] == 0, "stride does not divide"
    return solutions.conv_forward_naive(x, w, b, conv_param)


def conv_backward_stride_ignored(dout, cache):
    """Windows one pixel apart whatever the stride: right while stride = 1."""
    x, w, b, conv_param = cache
    return solutions.conv_backward_naive(dout, (x, w, b, {**conv_param, "stride": 1}))


def conv_backward_square_filter(dout, cache):
    """Loops with the filter's height for its width too: right while HH = WW."""
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    size = w.shape[2]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for n, f, i, j in np.ndindex(*dout.shape):
        rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
        dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
        dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    return dx_pad[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))


def test_conv_forward_that_needs_a_dividing_stride_fails_the_stride_case():
    result = run("conv_forward_naive", conv_forward_dividing_rows_only)
    assert_fails_only_on("conv_forward_naive", "stride", result)
    assert "AssertionError: stride does not divide" in result.message


def test_conv_backward_that_ignores_the_stride_fails_the_stride_case():
    result = run("conv_backward_naive", conv_backward_stride_ignored, solutions.conv_forward_naive)
    assert_fails_only_on("conv_backward_naive", "stride", result)


def test_conv_backward_that_assumes_square_filters_fails_the_stride_case_whose_filter_is_3x2():
    result = run("conv_backward_naive", conv_backward_square_filter, solutions.conv_forward_naive)
    assert_fails_only_on("conv_backward_naive", "stride", result)
    assert "3x2 filter" in result.message


# -- max pooling ------------------------------------------------------------------------------------------


def pool_forward_dividing_stride(x, pool_param):
    """Asserts that the stride divides H - pool_height and W - pool_width."""
    for size, window in ((x.shape[2], pool_param["pool_height"]), (x.shape[3], pool_param["pool_width"])):
        assert (size - window) % pool_param["stride"] == 0, "stride does not divide"
    return solutions.max_pool_forward_naive(x, pool_param)


def pool_backward_square_window(dout, cache):
    """Takes every window as pool_height x pool_height: right while windows are square."""
    x, pool_param = cache
    size, stride = pool_param["pool_height"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride : i * stride + size, j * stride : j * stride + size]
        row, col = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + row, j * stride + col] += dout[n, c, i, j]
    return dx


def test_pool_forward_that_needs_a_dividing_stride_fails_the_stride_case():
    result = run("max_pool_forward_naive", pool_forward_dividing_stride)
    assert_fails_only_on("max_pool_forward_naive", "stride", result)
    assert "a non-square pool window (2x3)" in result.message


def test_pool_backward_that_assumes_square_windows_fails_the_non_square_window_case():
    result = run("max_pool_backward_naive", pool_backward_square_window, solutions.max_pool_forward_naive)
    assert_fails_only_on("max_pool_backward_naive", "window", result)
    assert "a non-square pool window (3x2)" in checks.render(result)


# -- the network ------------------------------------------------------------------------------------------


class NetworkW2FromArea(solutions.ThreeLayerConvNet):
    """Sizes W2 with F * H * W // 4 rows: right for even sides only."""

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, hidden_dim=100, weight_scale=1e-3, **kwargs):
        super().__init__(
            input_dim=input_dim, num_filters=num_filters, hidden_dim=hidden_dim, weight_scale=weight_scale, **kwargs
        )
        _, height, width = input_dim
        rows = num_filters * height * width // 4
        self.params["W2"] = (weight_scale * np.random.randn(rows, hidden_dim)).astype(self.params["W2"].dtype)


class NetworkFlattenedByArea(solutions.ThreeLayerConvNet):
    """Flattens the pooled output into F * H * W // 4 values: right for even sides only."""

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pooled, _ = conv_relu_pool_forward(X, W1, b1, conv_param, {"pool_height": 2, "pool_width": 2, "stride": 2})
        N, _, H, W = X.shape
        pooled.reshape(N, W1.shape[0] * H * W // 4)  # raises where the pool floored an odd side
        return super().loss(X, y)


def test_network_whose_w2_is_sized_by_area_fails_on_the_odd_input_only():
    result = run("three_layer_convnet", NetworkW2FromArea)
    failed = [m for m in result.measurements if not m.passed]
    assert [m.quantity for m in failed] == ["parameter shapes"], checks.render(result)
    assert failed[0].case.startswith("new network, on odd and non-square input (7x5)")
    assert "W2: expected (18, 9), yours (26, 9)" in failed[0].detail
    assert result.hints[0] == checks.convnet.W2_HINT


def test_network_that_flattens_by_area_stops_on_the_odd_case_and_names_it():
    result = run("three_layer_convnet", NetworkFlattenedByArea)
    assert_fails_only_on("three_layer_convnet", "odd", result)
    assert "odd and non-square input (7x5)" in result.message


class NetworkComputingInFloat64(solutions.ThreeLayerConvNet):
    """Casts X to float64 whatever the dtype: a float32 model returns float64 scores and gradients."""

    def _forward(self, X):
        return super()._forward(X.astype(np.float64))


class NetworkWithUnshiftedSoftmax(solutions.ThreeLayerConvNet):
    """Its own softmax, exponentiating the scores as they are: inf / inf = nan once a score passes ~709."""

    def loss(self, X, y=None):
        scores, caches = self._forward(X.astype(self.dtype, copy=False))
        if y is None:
            return scores
        exp = np.exp(scores)
        probs = exp / exp.sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(probs[np.arange(n), y]).mean()
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        grads = self._backward(dscores / n, caches)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * np.sum(self.params[name] ** 2)
            grads[name] += self.reg * self.params[name]
        return loss, grads


def test_network_that_computes_in_float64_fails_the_float32_case_on_dtype_only():
    result = run("three_layer_convnet", NetworkComputingInFloat64)
    assert_fails_only_on("three_layer_convnet", "float32", result)
    failed = [m for m in result.measurements if not m.passed]
    assert [m.quantity for m in failed] == ["dtype of scores and gradients"]
    assert "scores is float64" in failed[0].detail and "dW2 is float64" in failed[0].detail


# The notebook shows numpy's overflow warnings; the test config makes them errors (the check would then report
# the warning as an exception on the same case).
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_network_with_an_unshifted_softmax_fails_the_large_scores_case():
    result = run("three_layer_convnet", NetworkWithUnshiftedSoftmax)
    assert_fails_only_on("three_layer_convnet", "large", result)
    failed = {m.quantity for m in result.measurements if not m.passed}
    assert {"reg0.loss", "reg.loss", "reg.grads.W1"} <= failed and "scores" not in failed
    assert "np.exp overflows" in result.hints[0]


def test_the_reference_computing_in_float32_passes_the_float32_case_to_float32_precision():
    result = run("three_layer_convnet", solutions.ThreeLayerConvNet)
    label = checks.base.describe_case("three_layer_convnet", case_of("three_layer_convnet", "float32"))
    errors = [m.error for m in result.measurements if m.case == label and m.error is not None]
    assert result.passed and errors and max(errors) < checks.convnet.FLOAT32_THRESHOLD / 10


# -- spatial batch normalization ------------------------------------------------------------------------


def batchnorm_eps_ignored(x, gamma, beta, bn_param):
    """Normalizes with the default eps whatever bn_param says (the running statistics still update)."""
    param = {**bn_param, "eps": DEFAULT_EPS}
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, param)
    bn_param.update({k: v for k, v in param.items() if k.startswith("running")})
    return out, cache


def batchnorm_momentum_fixed(x, gamma, beta, bn_param):
    """Averages with momentum 0.9 whatever bn_param says."""
    param = {**bn_param, "momentum": 0.9}
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, param)
    bn_param.update({k: v for k, v in param.items() if k.startswith("running")})
    return out, cache


def batchnorm_stats_kept_only_when_given(x, gamma, beta, bn_param):
    """Updates running statistics that bn_param has, but never stores new ones into it."""
    if "running_mean" in bn_param:
        return solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    return solutions.spatial_batchnorm_forward(x, gamma, beta, dict(bn_param))


def batchnorm_running_var_from_ones(x, gamma, beta, bn_param):
    """Starts a missing running variance at ones."""
    bn_param.setdefault("running_var", np.ones(x.shape[1]))
    return solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)


def batchnorm_unbiased_running_var(x, gamma, beta, bn_param):
    """PyTorch's convention: the running variance averages the unbiased batch variance."""
    old = bn_param.get("running_var", np.zeros(x.shape[1])).copy()
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "train":
        momentum = bn_param.get("momentum", 0.9)
        count = x.size // x.shape[1]
        unbiased = x.var(axis=(0, 2, 3)) * count / (count - 1)
        bn_param["running_var"] = momentum * old + (1 - momentum) * unbiased
    return out, cache


def batchnorm_test_mode_moves_running_stats(x, gamma, beta, bn_param):
    """Normalizes right in test mode, then also moves the running mean towards the batch's."""
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "test":
        bn_param["running_mean"] = 0.9 * bn_param["running_mean"] + 0.1 * x.mean(axis=(0, 2, 3))
    return out, cache


def test_batchnorm_that_ignores_a_given_eps_fails_the_eps_case():
    result = run("spatial_batchnorm_forward", batchnorm_eps_ignored)
    assert_fails_only_on("spatial_batchnorm_forward", "eps", result)
    failed = {m.quantity for m in result.measurements if not m.passed}
    assert failed == {"train_out", "test_out"}


def test_batchnorm_whose_test_mode_alone_ignores_eps_fails_the_eps_case():
    def test_mode_eps_ignored(x, gamma, beta, bn_param):
        if bn_param["mode"] == "test":
            return batchnorm_eps_ignored(x, gamma, beta, bn_param)
        return solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)

    result = run("spatial_batchnorm_forward", test_mode_eps_ignored)
    assert_fails_only_on("spatial_batchnorm_forward", "eps", result)
    assert {m.quantity for m in result.measurements if not m.passed} == {"test_out"}


def test_batchnorm_that_ignores_a_given_momentum_fails_the_momentum_case():
    result = run("spatial_batchnorm_forward", batchnorm_momentum_fixed)
    assert_fails_only_on("spatial_batchnorm_forward", "momentum", result)
    assert {m.quantity for m in result.measurements if not m.passed} == {"running_mean", "running_var"}


@pytest.mark.parametrize(
    "implementation, failed",
    [
        (batchnorm_stats_kept_only_when_given, {"running_mean", "running_var"}),
        (batchnorm_running_var_from_ones, {"running_var"}),
    ],
    ids=["not-stored-back", "running-var-from-ones"],
)
def test_batchnorm_that_mishandles_a_bn_param_without_running_stats_fails_the_fresh_case(implementation, failed):
    result = run("spatial_batchnorm_forward", implementation)
    assert_fails_only_on("spatial_batchnorm_forward", "fresh", result)
    assert {m.quantity for m in result.measurements if not m.passed} == failed


def test_batchnorm_with_the_unbiased_running_variance_fails_and_is_told_it_is_the_biased_one():
    result = run("spatial_batchnorm_forward", batchnorm_unbiased_running_var)
    assert result.status == FAILED
    assert {m.quantity for m in result.measurements if not m.passed} == {"running_var"}
    assert result.hints[0] == checks.normalization.RUNNING_VAR_HINT
    assert "biased" in result.hints[0] and "PyTorch" in result.hints[0]


def test_batchnorm_whose_test_mode_moves_the_running_stats_fails_the_unchanged_check():
    result = run("spatial_batchnorm_forward", batchnorm_test_mode_moves_running_stats)
    assert result.status == FAILED
    failed = [m for m in result.measurements if not m.passed]
    assert failed and all(m.quantity == "bn_param unchanged by test mode" for m in failed)
    assert "running_mean" in failed[0].detail
    assert result.hints[0] == checks.normalization.TEST_MODE_UNCHANGED_HINT


def batchnorm_forward_caching_x(x, gamma, beta, bn_param):
    """Right (it passes its own check), with a cache of x, gamma and the eps it used."""
    out, _ = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    return out, (x, gamma, bn_param.get("eps", DEFAULT_EPS))


def batchnorm_backward_from_x(dout, cache, fixed_eps=None):
    """Recomputes the statistics from x; with ``fixed_eps``, ignores the eps the forward pass used."""
    x, gamma, eps = cache
    axes = (0, 2, 3)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + (eps if fixed_eps is None else fixed_eps))
    x_hat = (x - mean) * inv_std
    dx_hat = dout * gamma.reshape(1, -1, 1, 1)
    dx = inv_std * (dx_hat - dx_hat.mean(axes, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axes, keepdims=True))
    return dx, (dout * x_hat).sum(axes), dout.sum(axes)


def test_batchnorm_backward_that_ignores_the_given_eps_fails_the_eps_case():
    forward = batchnorm_forward_caching_x
    assert run("spatial_batchnorm_backward", batchnorm_backward_from_x, forward).passed
    assert run("spatial_batchnorm_forward", forward).passed

    def default_eps(dout, cache):
        return batchnorm_backward_from_x(dout, cache, fixed_eps=DEFAULT_EPS)

    result = run("spatial_batchnorm_backward", default_eps, forward)
    assert_fails_only_on("spatial_batchnorm_backward", "eps", result)


# -- spatial group normalization ------------------------------------------------------------------------


def own_groupnorm_forward(x, gamma, beta, G, gn_param, eps=None, squeeze=False):
    """Group norm written out; ``eps`` fixes it whatever gn_param says, ``squeeze`` drops one-sized axes."""
    eps = gn_param.get("eps", DEFAULT_EPS) if eps is None else eps
    N = x.shape[0]
    grouped = x.reshape(N, G, -1)
    if squeeze:
        grouped = grouped.squeeze()
    mean = grouped.mean(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(grouped.var(axis=2, keepdims=True) + eps)
    x_hat = ((grouped - mean) * inv_std).reshape(x.shape)
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, G)


def test_groupnorm_that_squeezes_its_groups_fails_the_g_equals_1_case():
    def squeezed(x, gamma, beta, G, gn_param):
        return own_groupnorm_forward(x, gamma, beta, G, gn_param, squeeze=True)

    result = run("spatial_groupnorm_forward", squeezed)
    assert_fails_only_on("spatial_groupnorm_forward", "G=1", result)


def test_groupnorm_wrong_at_g_equals_c_fails_the_g_equals_c_case():
    def instance_norm_over_rows(x, gamma, beta, G, gn_param):
        if G == x.shape[1]:  # one channel per group: normalized over each row only
            mean, var = x.mean(axis=3, keepdims=True), x.var(axis=3, keepdims=True)
            return gamma * (x - mean) / np.sqrt(var + gn_param.get("eps", DEFAULT_EPS)) + beta, None
        return solutions.spatial_groupnorm_forward(x, gamma, beta, G, gn_param)

    result = run("spatial_groupnorm_forward", instance_norm_over_rows)
    assert_fails_only_on("spatial_groupnorm_forward", "G=C", result)


def test_groupnorm_that_ignores_a_given_eps_fails_the_eps_case():
    def eps_ignored(x, gamma, beta, G, gn_param):
        return own_groupnorm_forward(x, gamma, beta, G, gn_param, eps=DEFAULT_EPS)

    result = run("spatial_groupnorm_forward", eps_ignored)
    assert_fails_only_on("spatial_groupnorm_forward", "eps", result)


def test_groupnorm_that_requires_eps_in_gn_param_stops_on_the_default_eps_case():
    def eps_required(x, gamma, beta, G, gn_param):
        return own_groupnorm_forward(x, gamma, beta, G, gn_param, eps=gn_param["eps"])

    result = run("spatial_groupnorm_forward", eps_required)
    assert_fails_only_on("spatial_groupnorm_forward", "default eps", result)
    assert "KeyError: 'eps'" in result.message


def test_groupnorm_with_another_default_eps_fails_the_default_eps_case():
    def default_eps_too_large(x, gamma, beta, G, gn_param):
        return own_groupnorm_forward(x, gamma, beta, G, gn_param, eps=gn_param.get("eps", 1e-3))

    result = run("spatial_groupnorm_forward", default_eps_too_large)
    assert_fails_only_on("spatial_groupnorm_forward", "default eps", result)


@pytest.mark.parametrize("key", ["G=1", "G=C", "eps"])
def test_groupnorm_backward_wrong_on_one_rule_fails_that_rule_s_case(key):
    case = case_of("spatial_groupnorm_backward", key)

    def forward(x, gamma, beta, G, gn_param):
        out, cache = solutions.spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
        return out, (
            cache,
            G == case.options["G"] and gn_param.get("eps", DEFAULT_EPS) == case.options.get("eps", DEFAULT_EPS),
        )

    def backward(dout, cache):
        cache, on_the_rule = cache
        dx, dgamma, dbeta = solutions.spatial_groupnorm_backward(dout, cache)
        return (dx * 1.01 if on_the_rule else dx), dgamma, dbeta

    result = run("spatial_groupnorm_backward", backward, forward)
    assert_fails_only_on("spatial_groupnorm_backward", key, result)


# -- inputs are read-only ---------------------------------------------------------------------------------


def batchnorm_centering_x_in_place(x, gamma, beta, bn_param):
    """Right output, but x is centred in place on the way."""
    out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    x -= x.mean(axis=(0, 2, 3), keepdims=True)
    return out, cache


def groupnorm_scaling_gamma_in_place(x, gamma, beta, G, gn_param):
    out, cache = solutions.spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
    gamma *= 1.0 + 1e-3
    return out, cache


def in_place_on_dout(backward):
    """``backward`` that scales dout in place after using it."""

    def scaling_dout(dout, cache):
        grads = backward(dout, cache)
        dout *= 2.0
        return grads

    return scaling_dout


@pytest.mark.parametrize(
    "task_id, implementation, changed",
    [
        ("spatial_batchnorm_forward", batchnorm_centering_x_in_place, "x"),
        ("spatial_groupnorm_forward", groupnorm_scaling_gamma_in_place, "gamma"),
    ],
    ids=["batchnorm-x", "groupnorm-gamma"],
)
def test_a_normalization_that_changes_its_inputs_fails_the_unchanged_check(task_id, implementation, changed):
    result = run(task_id, implementation)
    assert result.status == FAILED
    failed = [m for m in result.measurements if not m.passed]
    assert failed and {m.quantity for m in failed} == {"x, gamma, beta unchanged"}, checks.render(result)
    assert all(m.detail == f"your function modified its input {changed}" for m in failed)
    assert len(failed) == len(checks.CASES[task_id])  # every case
    assert result.hints[0] == checks.base.INPUTS_UNCHANGED_HINT


def test_a_batchnorm_test_mode_that_changes_x_fails_the_unchanged_check():
    def test_mode_in_place(x, gamma, beta, bn_param):
        out, cache = solutions.spatial_batchnorm_forward(x, gamma, beta, bn_param)
        if bn_param["mode"] == "test":
            x *= 0.5
        return out, cache

    result = run("spatial_batchnorm_forward", test_mode_in_place)
    failed = [m for m in result.measurements if not m.passed]
    assert failed and {m.quantity for m in failed} == {"x, gamma, beta unchanged"}, checks.render(result)


@pytest.mark.parametrize("task_id", [t for t in TABLE if TABLE[t].forward])
def test_a_backward_pass_that_changes_dout_fails_the_unchanged_check(task_id):
    forward = getattr(solutions, TABLE[task_id].forward)
    result = run(task_id, in_place_on_dout(getattr(solutions, task_id)), forward)
    assert result.status == FAILED
    failed = [m for m in result.measurements if not m.passed]
    assert failed and {m.quantity for m in failed} == {"dout unchanged"}
    assert result.hints[0] == checks.base.INPUTS_UNCHANGED_HINT


# -- the references pass every case ---------------------------------------------------------------------


def test_every_task_but_the_public_case_s_has_cases_that_each_name_a_rule():
    for task_id in TABLE:
        public, *others = checks.CASES[task_id]
        assert public.key == "public" and not public.rule
        assert others and all(case.rule and case.hint for case in others), task_id
