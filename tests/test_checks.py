"""The notebook's public checks (assignment/checks/): they pass the references, catch classic bugs
with the right hint, report unwritten code plainly, never raise, and their stored expectations are
those the references produce today."""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import solutions
from assignment import checks, compare
from assignment.checks import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, TASK_IDS, check
from assignment.layers import batchnorm_forward
from assignment.tasks import TABLE

ROOT = Path(__file__).resolve().parents[1]
FORWARD_OF = {
    "conv_backward_naive": solutions.conv_forward_naive,
    "max_pool_backward_naive": solutions.max_pool_forward_naive,
    "spatial_batchnorm_backward": solutions.spatial_batchnorm_forward,
    "spatial_groupnorm_backward": solutions.spatial_groupnorm_forward,
}
REFERENCES = {
    task_id: getattr(solutions, "ThreeLayerConvNet" if task_id == "three_layer_convnet" else task_id)
    for task_id in TASK_IDS
}
STORED_VALUES_TOLERANCE = 1e-12  # the same code on another machine may round a last bit differently


def run(task_id, implementation, forward=None):
    return check(task_id, implementation, forward=forward, verbose=False)


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# Correct code passes; the stored expectations are current
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_reference_passes_its_public_check(task_id):
    result = run(task_id, REFERENCES[task_id], FORWARD_OF.get(task_id))
    assert result.status == PASSED, checks.render(result)
    assert result.passed
    assert result.measurements and all(m.passed for m in result.measurements)


@pytest.mark.parametrize("task_id", [t for t in TASK_IDS if t in FORWARD_OF])
def test_backward_check_compares_with_numeric_gradients_below_threshold(task_id):
    result = run(task_id, REFERENCES[task_id], FORWARD_OF[task_id])
    numeric = [m for m in result.measurements if m.quantity.endswith("vs numeric gradient")]
    assert numeric
    assert all(m.error <= compare.NUMERIC_GRADIENT_THRESHOLD for m in numeric)


def test_network_check_measures_shapes_initial_loss_reg_term_and_numeric_gradients():
    result = run("three_layer_convnet", solutions.ThreeLayerConvNet)
    quantities = [m.quantity for m in result.measurements]
    assert quantities.count("parameter shapes") == len(checks.convnet.NEW_NETWORKS)
    assert any(q.startswith("initial loss") for q in quantities)
    assert any(q.startswith("loss rises with reg") for q in quantities)
    assert sum(q.endswith("vs numeric gradient (reg > 0)") for q in quantities) == len(checks.convnet.PARAM_NAMES)
    loss = next(m for m in result.measurements if m.quantity.startswith("initial loss"))
    assert loss.error <= compare.INITIAL_LOSS_TOLERANCE


def test_stored_expectations_equal_what_the_references_produce_now():
    fresh = load_script("make_public_expected").expected_values()
    stored = checks.base.stored_expected()
    assert sorted(stored) == sorted(fresh), "run python scripts/make_public_expected.py"
    for key, value in fresh.items():
        assert stored[key].shape == value.shape, key
        assert compare.relative_errors(stored[key], value).max(initial=0.0) <= STORED_VALUES_TOLERANCE, key


def test_stored_expectations_cover_every_case_of_every_task():
    stored = checks.base.stored_expected()
    for task_id in TASK_IDS:
        for case in checks.CASES[task_id]:
            assert any(key.startswith(f"{task_id}/{case.key}/") for key in stored), (task_id, case.key)


def test_student_package_never_imports_the_solutions():
    for path in (ROOT / "assignment").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.split(".")[0] == "solutions" for name in imported), path.name


# ---------------------------------------------------------------------------------------------
# Classic bugs fail with the hint that names them
# ---------------------------------------------------------------------------------------------


def conv_backward_pad_zero_bug(dout, cache):
    dx, dw, db = solutions.conv_backward_naive(dout, cache)
    x, _, _, conv_param = cache
    pad = conv_param["pad"]
    if pad == 0:
        return dx[:, :, 0:-0, 0:-0], dw, db  # what x_pad[:, :, p:-p] gives when p = 0
    return dx, dw, db


def max_pool_backward_assigning(dout, cache):
    """Routes gradients with = instead of +=: overlapping windows overwrite each other."""
    x, pool_param = cache
    height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride : i * stride + height, j * stride : j * stride + width]
        row, col = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * stride + row, j * stride + col] = dout[n, c, i, j]
    return dx


def spatial_batchnorm_bare_reshape(x, gamma, beta, bn_param):
    """Reshapes without moving C last: rows mix channels."""
    out, cache = batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)
    return out.reshape(x.shape), cache


def spatial_groupnorm_groups_of_size_g(x, gamma, beta, G, gn_param):
    """Takes G as the group size instead of the number of groups."""
    grouped = x.reshape(x.shape[0], x.shape[1] // G, -1)
    x_hat = (grouped - grouped.mean(axis=2, keepdims=True)) / np.sqrt(grouped.var(axis=2, keepdims=True) + 1e-5)
    return gamma * x_hat.reshape(x.shape) + beta, None


class NetworkWithoutRegGradient(solutions.ThreeLayerConvNet):
    """Adds the L2 term to the loss but forgets it in the gradients."""

    def loss(self, X, y=None):
        if y is None:
            return super().loss(X)
        loss, grads = super().loss(X, y)
        for name in ("W1", "W2", "W3"):
            grads[name] = grads[name] - self.reg * self.params[name]
        return loss, grads


class NetworkSquareInputAssumed(solutions.ThreeLayerConvNet):
    """Sizes W2 with H twice, as if every input were square."""

    def __init__(self, input_dim=(3, 32, 32), **kwargs):
        channels, height, _ = input_dim
        super().__init__(input_dim=(channels, height, height), **kwargs)


@pytest.mark.parametrize(
    "task_id, implementation, forward, hint",
    [
        ("conv_backward_naive", conv_backward_pad_zero_bug, solutions.conv_forward_naive, checks.conv.PAD_ZERO_HINT),
        (
            "max_pool_backward_naive",
            max_pool_backward_assigning,
            solutions.max_pool_forward_naive,
            checks.pool.OVERLAP_HINT,
        ),
        (
            "spatial_batchnorm_forward",
            spatial_batchnorm_bare_reshape,
            None,
            checks.normalization.BATCHNORM_FORWARD_HINTS["train_out"],
        ),
        ("spatial_groupnorm_forward", spatial_groupnorm_groups_of_size_g, None, checks.normalization.GROUPS_HINT),
        ("three_layer_convnet", NetworkWithoutRegGradient, None, checks.convnet.NETWORK_HINTS["reg.grads"]),
        ("three_layer_convnet", NetworkSquareInputAssumed, None, checks.convnet.SHAPES_HINT),
    ],
    ids=[
        "conv-pad-zero",
        "pool-overlap-assigned",
        "batchnorm-bare-reshape",
        "groupnorm-G-as-size",
        "network-no-reg-gradient",
        "network-square-input",
    ],
)
def test_classic_bug_fails_with_the_hint_that_names_it(task_id, implementation, forward, hint):
    result = run(task_id, implementation, forward)
    assert result.status == FAILED
    assert result.hints[0] == hint
    assert f"Hint: {hint}" in checks.render(result)


def test_pad_zero_bug_reports_expected_and_received_shapes():
    result = run("conv_backward_naive", conv_backward_pad_zero_bug, solutions.conv_forward_naive)
    failed = [m for m in result.measurements if not m.passed]
    assert [m.quantity for m in failed] == ["dx"]
    assert failed[0].detail == "expected shape (2, 2, 5, 6), yours (2, 2, 0, 0)"
    assert failed[0].case.startswith("edge case")


def test_wrong_values_report_the_error_against_the_threshold_and_the_worst_entry():
    result = run("max_pool_backward_naive", max_pool_backward_assigning, solutions.max_pool_forward_naive)
    failed = next(m for m in result.measurements if not m.passed)
    assert failed.error > failed.threshold == compare.BACKWARD_THRESHOLD
    assert f"> {compare.BACKWARD_THRESHOLD:.0e}" in failed.detail
    assert "yours" in failed.detail and "expected" in failed.detail


def test_forward_that_modifies_its_input_fails_the_unchanged_check():
    def conv_forward_in_place(x, w, b, conv_param):
        out, _ = solutions.conv_forward_naive(x, w, b, conv_param)
        x *= 2.0
        return out, (x, w, b, conv_param)

    result = run("conv_forward_naive", conv_forward_in_place)
    assert result.status == FAILED
    unchanged = [m for m in result.measurements if m.quantity == "x unchanged"]
    assert unchanged and not any(m.passed for m in unchanged)
    assert all(m.passed for m in result.measurements if m.quantity == "out")


# ---------------------------------------------------------------------------------------------
# Unwritten code, exceptions and garbage: reported, never raised
# ---------------------------------------------------------------------------------------------


def not_written(*args, **kwargs):
    raise NotImplementedError


class NetworkNotWritten:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_stub_is_reported_as_not_implemented(task_id):
    stub = NetworkNotWritten if task_id == "three_layer_convnet" else not_written
    forward = not_written if task_id in FORWARD_OF else None
    result = run(task_id, stub, forward)
    assert result.status == NOT_IMPLEMENTED
    assert not result.passed
    assert "raises NotImplementedError" in result.message
    assert checks.render(result).startswith(f"{task_id}: not implemented yet")


def test_backward_stub_with_written_forward_is_reported_as_not_implemented():
    result = run("conv_backward_naive", not_written, solutions.conv_forward_naive)
    assert result.status == NOT_IMPLEMENTED
    assert result.message.startswith("conv_backward_naive raises NotImplementedError")


def test_backward_check_with_unwritten_forward_says_to_write_the_forward_first():
    result = run("spatial_groupnorm_backward", solutions.spatial_groupnorm_backward, not_written)
    assert result.status == NOT_IMPLEMENTED
    assert "write spatial_groupnorm_forward first" in result.message


def test_exception_is_reported_with_type_message_and_the_students_line():
    def conv_forward_naive(x, w, b, conv_param):
        window = x[10]  # out of bounds
        return window, None

    result = run("conv_forward_naive", conv_forward_naive)
    assert result.status == ERROR
    assert "IndexError: index 10 is out of bounds" in result.message
    assert "of conv_forward_naive: window = x[10]  # out of bounds" in result.message


def test_exception_inside_numpy_points_at_the_students_line():
    def max_pool_forward_naive(x, pool_param):
        return np.reshape(x, (7, 7)), None

    result = run("max_pool_forward_naive", max_pool_forward_naive)
    assert result.status == ERROR
    assert result.message.startswith("max_pool_forward_naive raised ValueError")
    assert "return np.reshape(x, (7, 7)), None" in result.message


class Sneaky:
    """Compares equal to everything and breaks when converted: nothing may trust it."""

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no")


class SubArray(np.ndarray):
    pass


GARBAGE = {
    "None": None,
    "string": "out",
    "three values": (np.zeros(3), None, None),
    "list of floats": ([0.5, 0.25], None),
    "int dtype": (np.zeros((2, 3, 2, 2), dtype=int), None),
    "nan": (np.full((2, 3, 2, 2), np.nan), None),
    "ndarray subclass": (np.zeros((2, 3, 2, 2)).view(SubArray), None),
    "sneaky object": (Sneaky(), Sneaky()),
}


@pytest.mark.parametrize("task_id", TASK_IDS)
@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_garbage_is_reported_as_failed_never_raised(task_id, garbage):
    value = GARBAGE[garbage]

    def returns_garbage(*args, **kwargs):
        return value

    class NetworkReturningGarbage(solutions.ThreeLayerConvNet):
        def loss(self, X, y=None):
            return value

    implementation = NetworkReturningGarbage if task_id == "three_layer_convnet" else returns_garbage
    result = run(task_id, implementation, FORWARD_OF.get(task_id))
    assert result.status in (FAILED, ERROR)
    assert result.message or any(not m.passed and m.detail for m in result.measurements)


@pytest.mark.parametrize(
    "garbage, phrase",
    [
        ("None", "should return a tuple (out, cache); yours returned None"),
        ("int dtype", "expected a floating dtype, yours is int64"),
        ("nan", "it holds nan at index (0, 0, 0, 0)"),
        ("ndarray subclass", "a subclass of numpy.ndarray"),
        ("list of floats", "yours is a list of 2 values"),
    ],
)
def test_garbage_is_described_plainly(garbage, phrase):
    value = GARBAGE[garbage]
    result = run("conv_forward_naive", lambda *args: value)
    assert phrase in checks.render(result)


def test_network_without_params_dict_is_told_where_parameters_go():
    class NoParams:
        def __init__(self, **kwargs):
            pass

    result = run("three_layer_convnet", NoParams)
    assert result.status == FAILED
    assert "self.params" in result.message


def test_backward_check_without_forward_says_how_to_pass_it():
    result = run("conv_backward_naive", solutions.conv_backward_naive)
    assert result.status == FAILED
    assert "forward=conv_forward_naive" in result.message


@pytest.mark.parametrize(
    "task_id, implementation",
    [("no_such_task", not_written), ("conv_forward_naive", "not a function"), ("three_layer_convnet", None)],
)
def test_bad_arguments_are_reported_not_raised(task_id, implementation):
    result = run(task_id, implementation)
    assert not result.passed
    assert result.message


def test_check_leaves_the_global_random_state_as_it_was():
    np.random.seed(7)
    expected = np.random.rand(3)
    np.random.seed(7)
    run("three_layer_convnet", solutions.ThreeLayerConvNet)
    assert np.array_equal(np.random.rand(3), expected)


def test_check_prints_the_report_and_returns_nothing_for_a_cell_to_show(capsys):
    assert check("conv_forward_naive", solutions.conv_forward_naive) is None
    printed = capsys.readouterr().out
    assert printed.strip() == checks.render(run("conv_forward_naive", solutions.conv_forward_naive))
    assert printed.startswith("conv_forward_naive: PASS")
    assert f"<= {compare.FORWARD_THRESHOLD:.0e}" in printed


def test_skip_until_implemented_notes_unwritten_code_in_one_line(capsys):
    with checks.skip_until_implemented("conv_forward_naive"):
        raise NotImplementedError
    printed = capsys.readouterr().out
    assert printed.startswith("Skipped: ") and "implement it first" in printed and printed.count("\n") == 1


def test_skip_until_implemented_reports_a_failing_function_in_one_line_and_lets_the_cell_end(capsys):
    def conv_forward_naive(x):
        out_height = 1 + (x.shape[2] - 3) / 2  # / instead of //
        return np.zeros((1, 1, out_height, out_height))

    with checks.skip_until_implemented("conv_forward_naive", "conv_backward_naive"):
        conv_forward_naive(np.zeros((1, 1, 7, 7)))
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and printed.startswith("Skipped: TypeError: ")
    assert "of conv_forward_naive: return np.zeros((1, 1, out_height, out_height))" in printed
    assert "fix them" in printed


def test_skip_until_implemented_lets_an_interrupt_through():
    with pytest.raises(KeyboardInterrupt), checks.skip_until_implemented("conv_forward_naive"):
        raise KeyboardInterrupt


def doubled(forward):
    """``forward`` with its output doubled and its cache kept: a forward that fails its own check."""

    def wrong_forward(*args):
        out, cache = forward(*args)
        return 2 * out, cache

    return wrong_forward


@pytest.mark.parametrize(
    "task_id, wrong_forward",
    [
        ("conv_backward_naive", doubled(solutions.conv_forward_naive)),
        ("max_pool_backward_naive", doubled(solutions.max_pool_forward_naive)),
        ("spatial_batchnorm_backward", spatial_batchnorm_bare_reshape),  # no transpose: the rows mix channels
        ("spatial_groupnorm_backward", doubled(solutions.spatial_groupnorm_forward)),
    ],
    ids=["conv-doubled", "pool-doubled", "batchnorm-no-transpose", "groupnorm-doubled"],
)
def test_a_right_backward_run_through_a_wrong_forward_is_told_to_fix_the_forward_first(task_id, wrong_forward):
    forward_id = TABLE[task_id].forward
    assert not run(forward_id, wrong_forward).passed
    result = run(task_id, REFERENCES[task_id], wrong_forward)
    assert result.status in (FAILED, ERROR)
    assert result.hints[0] == checks.FORWARD_FIRST_HINT.format(forward=forward_id)
    assert f"Hint: fix {forward_id} first" in checks.render(result)


def test_a_wrong_backward_with_a_right_forward_keeps_its_own_hint():
    result = run(
        "spatial_batchnorm_backward",
        lambda dout, cache: (dout, dout.sum((0, 2, 3)), dout.sum((0, 2, 3))),
        solutions.spatial_batchnorm_forward,
    )
    assert result.status == FAILED
    assert result.hints[0] == checks.normalization.BATCHNORM_BACKWARD_HINTS["dx"]
