"""The public checks behind the notebook's check cells.

``check(task_id, implementation)`` runs one task's public case on a student's function or class
and prints what to fix: PASS or FAIL, each quantity's relative error against its threshold, the
shapes (expected and yours) and, on failure, a hint specific to the task. It never raises: code
that is not written yet, raises, or returns the wrong kind of value is reported as such; with
``verbose=False`` it prints nothing and returns a :class:`CheckResult` saying what happened.

Expected values come from ``public_expected.npz`` next to this module, made from the reference
solutions by ``scripts/make_public_expected.py`` with the very runners below; the references do
not ship with the assignment. Backward passes are also compared with numeric gradients of the
student's own forward pass, and the network with properties that need no reference at all.

Each task has the public case of :data:`assignment.cases.PUBLIC_CASES` and, where a classic bug
hides from it (pad 0, overlapping pool windows), one edge case.
"""
import contextlib
import copy
import dataclasses
import math
import traceback
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from assignment.cases import (
    PUBLIC_CASES,
    PUBLIC_GROUPS,
    TASK_IDS,
    batchnorm_inputs,
    conv_inputs,
    groupnorm_inputs,
    pool_inputs,
)
from assignment.compare import (
    BACKWARD_THRESHOLD,
    FORWARD_THRESHOLD,
    INIT_SCALE_TOLERANCE,
    INITIAL_LOSS_TOLERANCE,
    LOSS_THRESHOLD,
    MOMENT_TOLERANCE,
    NETWORK_GRADIENT_THRESHOLD,
    NETWORK_NUMERIC_STEP,
    NOT_AN_ARRAY,
    NOT_FINITE,
    NOT_FLOATING,
    NUMERIC_GRADIENT_THRESHOLD,
    NUMERIC_STEP,
    RUNNING_STAT_THRESHOLD,
    array_problem,
    rel_error,
    relative_errors,
)
from assignment.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from assignment.mistakes import text as mistake_text

__all__ = ["check", "skip_until_implemented", "CheckResult", "Measurement", "TASK_IDS",
           "public_values", "render"]

EXPECTED_FILE = "public_expected.npz"

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measurement:
    """One quantity of a check and its verdict."""

    case: str
    """Which input, e.g. 'public case: x (2, 3, 4, 4), w (3, 3, 4, 4), stride 2, pad 1'."""
    quantity: str
    """What was measured, e.g. 'dx' or 'dx vs numeric gradient'."""
    passed: bool
    detail: str
    """The error against its threshold, or what was wrong (type, dtype, shape: expected vs yours)."""
    error: float = None
    """The relative (or absolute, for properties) error, when one was computed."""
    threshold: float = None
    """The largest error that passes."""
    hint: str = ""
    """The likely cause, shown when this measurement fails."""


@dataclass(frozen=True, repr=False)
class CheckResult:
    """What one call of :func:`check` found."""

    task_id: str
    status: str
    """'passed', 'failed', 'not implemented' or 'error' (the student's code raised)."""
    measurements: tuple = ()
    """Every :class:`Measurement` taken before the check finished or stopped."""
    message: str = ""
    """Why the check stopped early, if it did: the exception and the student's line, or the value."""
    hint: str = ""
    """A hint for the early stop, if there is one; for a backward pass whose forward pass fails its own
    check, "fix <forward> first"."""

    @property
    def passed(self):
        return self.status == PASSED

    @property
    def hints(self):
        """The hints of an early stop and of the failed measurements, in order, without repeats."""
        found = [self.hint] + [m.hint for m in self.measurements if not m.passed and m.hint]
        return tuple(dict.fromkeys(h for h in found if h))

    def __repr__(self):
        return f"CheckResult({self.task_id!r}, status={self.status!r})"


class _Stop(Exception):
    """Ends a check early: code not written yet, an exception, or a value of the wrong kind."""

    def __init__(self, status, message, hint=""):
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


def render(result):
    """The text a check cell prints for ``result``."""
    verdict = {PASSED: "PASS", FAILED: "FAIL", NOT_IMPLEMENTED: "not implemented yet", ERROR: "ERROR"}
    lines = [f"{result.task_id}: {verdict.get(result.status, result.status)}"]
    case = None
    for m in result.measurements:
        if m.case != case:
            case = m.case
            lines.append(f"  {case}")
        lines.append(f"    {'ok  ' if m.passed else 'FAIL'}  {m.quantity}: {m.detail}")
    if result.message:
        lines.extend(f"  {line}" for line in result.message.splitlines())
    if result.hints:
        # The first failure is most often the cause of the ones after it: one hint, not a list.
        lines.append(f"  Hint: {result.hints[0]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------

def check(task_id, implementation, forward=None, verbose=True):
    """Run the public checks of one task on the student's code, and print the report or return it.

    Parameters
    ----------
    task_id : str
        One of :data:`TASK_IDS`.
    implementation : callable
        The student's function, or for ``three_layer_convnet`` the class.
    forward : callable, optional
        For a backward task, the student's matching forward function: the backward pass is
        checked with the cache it returns.
    verbose : bool
        Print the report and return nothing, so that a check cell shows the report alone; with
        False, print nothing and return the result (tests, scripts).

    Returns
    -------
    CheckResult or None
        None when the report was printed. Never raises: exceptions of the student's code are part
        of the result.
    """
    result = _forward_first(_checked(task_id, implementation, forward), forward)
    if verbose:
        print(render(result))
        return None
    return result


def _checked(task_id, implementation, forward):
    """The :class:`CheckResult` of one task's public checks."""
    measurements = []
    try:
        with _preserved_random_state():
            _run_checks(task_id, implementation, forward, measurements)
        status, message, hint = (PASSED if all(m.passed for m in measurements) else FAILED), "", ""
    except _Stop as stop:
        status, message, hint = stop.status, stop.message, stop.hint
    except Exception as exc:  # a value so odd that a check tripped on it; still the student's
        status, message, hint = ERROR, f"the check could not finish: {_exception_line(exc)}", ""
    return CheckResult(task_id, status, tuple(measurements), message, hint)


FORWARD_FIRST_HINT = ("fix {forward} first: it fails its own check, and this check runs your backward "
                      "pass on the cache your {forward} returns, so its errors show up here too")


def _forward_first(result, forward):
    """``result``, with the hint "fix <forward> first" when it is a failed backward check whose forward
    pass fails its own check: the backward's own hint would blame code that may well be right."""
    forward_id = _NEEDS_FORWARD.get(result.task_id)
    if forward_id is None or result.status not in (FAILED, ERROR) or not callable(forward):
        return result
    if _checked(forward_id, forward, None).passed:
        return result
    return dataclasses.replace(result, hint=FORWARD_FIRST_HINT.format(forward=forward_id))


@contextlib.contextmanager
def skip_until_implemented(*names):
    """For the notebook's experiment cells: skip the block, in one line, while the code it uses is
    unwritten or fails.

    Code that is not written yet (``NotImplementedError``) gets a note to write it; any other
    exception gets one line with the exception and the line it came from. Either way the
    notebook runs on (*Restart & Run All* does not stop here): the task's check cell says more.

    Parameters
    ----------
    *names : str
        What the block uses, for the note (e.g. ``"conv_forward_naive"``).

    Examples
    --------
    >>> with skip_until_implemented("conv_forward_naive"):
    ...     out, _ = conv_forward_naive(x, w, b, conv_param)
    """
    them = "it" if len(names) == 1 else "them"
    try:
        yield
    except NotImplementedError:
        print(f"Skipped: this cell uses {', '.join(names)}; implement {them} first, then run it again.")
    except Exception as exc:
        print(f"Skipped: {_one_line(_exception_line(exc), SKIP_MESSAGE_WIDTH)}{_where(exc)}; this cell uses "
              f"{', '.join(names)}: fix {them} (the check cell says more), then run it again.")


SKIP_MESSAGE_WIDTH = 200  # characters of an exception's message in a skipped cell's one line


def _where(exc):
    """' (line N of function: source)' for the student's line where ``exc`` happened, or ''."""
    frame = _student_frame(traceback.extract_tb(exc.__traceback__))
    if frame is None:
        return ""
    source = f": {_one_line(frame.line, SKIP_MESSAGE_WIDTH)}" if frame.line else ""
    return f" (line {frame.lineno} of {frame.name}{source})"


def _one_line(text, width):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _run_checks(task_id, implementation, forward, measurements):
    if task_id not in TASK_IDS:
        raise _Stop(ERROR, f"unknown task id {task_id!r}; the tasks are: {', '.join(TASK_IDS)}")
    what = "a class" if task_id == "three_layer_convnet" else "a function"
    _require_callable(implementation, what, task_id)
    if task_id in _NEEDS_FORWARD:
        if forward is None:
            raise _Stop(FAILED, f"this check needs your forward pass too: check({task_id!r}, "
                                f"{task_id}, forward={_NEEDS_FORWARD[task_id]})")
        _require_callable(forward, "a function", f"forward= ({_NEEDS_FORWARD[task_id]})")
    try:
        _CHECKS[task_id](implementation, forward, measurements)
    except _Stop as stop:
        forward_name = _NEEDS_FORWARD.get(task_id, "")
        if stop.status == NOT_IMPLEMENTED and forward_name and stop.message.startswith(forward_name):
            stop.message += (f"\n{task_id} is checked with the cache your {forward_name} returns: "
                             f"write {forward_name} first")
        raise


def _require_callable(value, what, name):
    if not callable(value):
        raise _Stop(FAILED, f"{name}: expected {what}, got {_describe(value)}")


@contextlib.contextmanager
def _preserved_random_state():
    """Checks seed np.random (students' __init__ draws from it); the notebook's state is kept."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


# ---------------------------------------------------------------------------------------------
# Calling student code
# ---------------------------------------------------------------------------------------------

def _call(what, function, *args, **kwargs):
    """``function(*args, **kwargs)``; its exceptions become a :class:`_Stop` saying where."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise _Stop(NOT_IMPLEMENTED, f"{what} raises NotImplementedError: it is not written yet "
                                     f"(write it, then run this cell again)") from None
    except Exception as exc:
        raise _Stop(ERROR, f"{what} raised {_exception_line(exc)}{_student_line(exc)}") from None


def _exception_line(exc):
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _student_line(exc):
    """The line of the student's code where ``exc`` happened (not numpy's, not ours)."""
    frame = _student_frame(traceback.extract_tb(exc.__traceback__)[1:])  # the first frame is _call itself
    if frame is None:
        return ""
    source = f": {frame.line.strip()}" if frame.line else ""
    return f"\n  at line {frame.lineno} of {frame.name}{source}"


def _student_frame(frames):
    """The last of ``frames`` in the student's code (not numpy's, not ours), else the last one, or None."""
    theirs = [f for f in frames if not _is_library(f.filename)]
    return theirs[-1] if theirs else (frames[-1] if frames else None)


def _is_library(filename):
    libraries = (Path(np.__file__).parent, Path(__file__).parent)
    return any(str(Path(filename)).startswith(str(folder)) for folder in libraries)


def _returns(value, names, what):
    """``value`` as a tuple of ``len(names)`` items, or a :class:`_Stop` saying what came back."""
    if len(names) == 1:
        return (value,)
    expected = f"({', '.join(names)})"
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        raise _Stop(FAILED, f"{what} should return a tuple {expected}; yours returned "
                            f"{_describe(value)}")
    return tuple(value)


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return (f"a {type(value).__name__}, a subclass of numpy.ndarray (return a plain ndarray: "
                f"np.asarray)")
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a value of type {type(value).__name__}"


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------

def _array_problem(value, expected_shape):
    """Why ``value`` is not a finite float ndarray of ``expected_shape``, or '' if it is."""
    problem = array_problem(value, expected_shape)
    if problem is None:
        return ""
    if problem.kind == NOT_AN_ARRAY:
        return f"expected a numpy.ndarray of shape {tuple(expected_shape)}, yours is {_describe(value)}"
    if problem.kind == NOT_FLOATING:
        return (f"expected a floating dtype, yours is {value.dtype} (an array made with "
                f"np.zeros_like of an integer array, or dtype=int, truncates every value)")
    if problem.kind == NOT_FINITE:
        return f"shape {value.shape} ok, but it holds {value[problem.index]} at index {problem.index}"
    return f"expected shape {tuple(expected_shape)}, yours {value.shape}"


_relative_errors = relative_errors  # the name the project's tests know


def _compare(case, quantity, value, expected, threshold, hint=""):
    """Measure ``value`` against ``expected`` (an ndarray) by the course's relative error."""
    problem = _array_problem(value, expected.shape)
    if problem:
        return Measurement(case, quantity, False, problem, hint=hint)
    error, worst = rel_error(value, expected)
    passed = error <= threshold
    detail = f"shape {value.shape}, rel error {error:.1e} {'<=' if passed else '>'} {threshold:.0e}"
    if not passed:
        detail += (f"; worst at index {worst}: yours {float(value[worst]):.6g}, "
                   f"expected {float(expected[worst]):.6g}")
    return Measurement(case, quantity, passed, detail, error, threshold, hint)


def _compare_number(case, quantity, value, expected, threshold, hint=""):
    """Measure a scalar (a Python or numpy float, or an array of one float) against ``expected``."""
    number = _as_number(value)
    if number is None:
        return Measurement(case, quantity, False, f"expected a finite number, yours is "
                                                  f"{_describe(value)} {value!r:.60}", hint=hint)
    error, _ = rel_error(number, expected)
    passed = error <= threshold
    detail = (f"yours {number:.8g}, expected {float(expected):.8g}, rel error {error:.1e} "
              f"{'<=' if passed else '>'} {threshold:.0e}")
    return Measurement(case, quantity, passed, detail, error, threshold, hint)


def _as_number(value):
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) or (
            type(value) is np.ndarray and value.size == 1 and value.dtype.kind == "f"):
        number = float(np.asarray(value).reshape(()))
        return number if math.isfinite(number) else None
    return None


def _bound(case, quantity, error, tolerance, what, hint=""):
    """A property measured as an error that must stay within ``tolerance``."""
    passed = error <= tolerance
    detail = f"{what} {error:.1e} {'<=' if passed else '>'} {tolerance:.0e}"
    return Measurement(case, quantity, passed, detail, error, tolerance, hint)


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One input of a task's public checks."""

    key: str
    """Names the case in public_expected.npz."""
    params: dict
    """Arguments of the task's input generator in :mod:`assignment.cases`."""
    hint: str = ""
    """Why this case exists: shown when it fails."""


# Hints that name a classic mistake come from the one catalogue the grader's report shares (assignment.mistakes).
PAD_ZERO_HINT = mistake_text("pad_zero_slicing")
CONV_EDGE_HINT = ("this case has pad = 0, H != W and HH != WW: pair H with HH and W with WW, and "
                  "make sure pad = 0 works")
POOL_EDGE_HINT = ("this case has a non-square window and overlapping windows (stride < window): "
                  "rows go with pool_height, columns with pool_width")
OVERLAP_HINT = mistake_text("pool_backward_assigns")

CASES = {
    "conv_forward_naive": (
        Case("public", PUBLIC_CASES["conv_forward_naive"]),
        Case("edge", dict(N=2, C=2, H=5, W=7, F=3, HH=3, WW=2, stride=2, pad=0, seed=11),
             CONV_EDGE_HINT),
    ),
    "conv_backward_naive": (
        Case("public", PUBLIC_CASES["conv_backward_naive"]),
        Case("edge", dict(N=2, C=2, H=5, W=6, F=2, HH=3, WW=3, stride=1, pad=0, seed=12),
             PAD_ZERO_HINT),
    ),
    "max_pool_forward_naive": (
        Case("public", PUBLIC_CASES["max_pool_forward_naive"]),
        Case("edge", dict(N=2, C=2, H=6, W=7, pool_height=3, pool_width=2, stride=1, seed=13),
             POOL_EDGE_HINT),
    ),
    "max_pool_backward_naive": (
        Case("public", PUBLIC_CASES["max_pool_backward_naive"]),
        Case("edge", dict(N=2, C=2, H=7, W=7, pool_height=3, pool_width=3, stride=2, seed=14),
             OVERLAP_HINT),
    ),
    "spatial_batchnorm_forward": (Case("public", PUBLIC_CASES["spatial_batchnorm_forward"]),),
    "spatial_batchnorm_backward": (Case("public", PUBLIC_CASES["spatial_batchnorm_backward"]),),
    "spatial_groupnorm_forward": (Case("public", PUBLIC_CASES["spatial_groupnorm_forward"]),),
    "spatial_groupnorm_backward": (Case("public", PUBLIC_CASES["spatial_groupnorm_backward"]),),
    # Given weights for the network: small enough for a numeric gradient of every parameter.
    "three_layer_convnet": (
        Case("public", dict(num_inputs=4, input_dim=(3, 6, 8), num_filters=4, filter_size=3,
                            hidden_dim=6, num_classes=10, reg=0.25, seed=5)),
    ),
}
_NEEDS_FORWARD = {
    "conv_backward_naive": "conv_forward_naive",
    "max_pool_backward_naive": "max_pool_forward_naive",
    "spatial_batchnorm_backward": "spatial_batchnorm_forward",
    "spatial_groupnorm_backward": "spatial_groupnorm_forward",
}


def _describe_case(task_id, case):
    p = case.params
    label = f"{case.key} case"
    if task_id.startswith("conv"):
        return (f"{label}: x {(p['N'], p['C'], p['H'], p['W'])}, w {(p['F'], p['C'], p['HH'], p['WW'])}, "
                f"stride {p['stride']}, pad {p['pad']}")
    if task_id.startswith("max_pool"):
        return (f"{label}: x {(p['N'], p['C'], p['H'], p['W'])}, pool {p['pool_height']}x"
                f"{p['pool_width']}, stride {p['stride']}")
    if task_id.startswith("spatial_groupnorm"):
        return f"{label}: x {(p['N'], p['C'], p['H'], p['W'])}, G = {PUBLIC_GROUPS}"
    if task_id.startswith("spatial_batchnorm"):
        return f"{label}: x {(p['N'], p['C'], p['H'], p['W'])}"
    return (f"{label}: input_dim {p['input_dim']}, {p['num_filters']} filters of "
            f"{p['filter_size']}x{p['filter_size']}, hidden_dim {p['hidden_dim']}, "
            f"{p['num_inputs']} examples, given weights")


# ---------------------------------------------------------------------------------------------
# Runners: the values a task's code produces on a case. make_public_expected.py runs the same
# runners on the reference solutions, so student and reference go through identical steps.
# ---------------------------------------------------------------------------------------------

def _run_conv_forward(forward, inputs):
    args = (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"])
    out, _ = _returns(_call("conv_forward_naive", forward, *args), ("out", "cache"), "conv_forward_naive")
    return {"out": out}


def _run_conv_backward(backward, forward, inputs):
    args = copy.deepcopy((inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"]))
    _, cache = _returns(_call("conv_forward_naive", forward, *args), ("out", "cache"), "conv_forward_naive")
    grads = _call("conv_backward_naive", backward, inputs["dout"].copy(), cache)
    return dict(zip(("dx", "dw", "db"), _returns(grads, ("dx", "dw", "db"), "conv_backward_naive")))


def _run_pool_forward(forward, inputs):
    value = _call("max_pool_forward_naive", forward, inputs["x"], inputs["pool_param"])
    out, _ = _returns(value, ("out", "cache"), "max_pool_forward_naive")
    return {"out": out}


def _run_pool_backward(backward, forward, inputs):
    args = copy.deepcopy((inputs["x"], inputs["pool_param"]))
    value = _call("max_pool_forward_naive", forward, *args)
    _, cache = _returns(value, ("out", "cache"), "max_pool_forward_naive")
    (dx,) = _returns(_call("max_pool_backward_naive", backward, inputs["dout"].copy(), cache),
                     ("dx",), "max_pool_backward_naive")
    return {"dx": dx}


def given_running_stats(channels, seed):
    """Running statistics, shape (C,) each, that the batchnorm case starts from (train) or uses (test)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)


def _run_batchnorm_forward(forward, inputs, seed):
    x, gamma, beta = inputs["x"], inputs["gamma"], inputs["beta"]
    running_mean, running_var = given_running_stats(x.shape[1], seed)
    train_param = {"mode": "train", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    value = _call("spatial_batchnorm_forward (train mode)", forward, x, gamma, beta, train_param)
    train_out, _ = _returns(value, ("out", "cache"), "spatial_batchnorm_forward")
    test_param = {"mode": "test", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    value = _call("spatial_batchnorm_forward (test mode)", forward, x, gamma, beta, test_param)
    test_out, _ = _returns(value, ("out", "cache"), "spatial_batchnorm_forward")
    return {"train_out": train_out, "running_mean": train_param.get("running_mean"),
            "running_var": train_param.get("running_var"), "test_out": test_out}


def _run_batchnorm_backward(backward, forward, inputs):
    value = _call("spatial_batchnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"],
                  {"mode": "train"})
    _, cache = _returns(value, ("out", "cache"), "spatial_batchnorm_forward")
    value = _call("spatial_batchnorm_backward", backward, inputs["dout"].copy(), cache)
    names = ("dx", "dgamma", "dbeta")
    return dict(zip(names, _returns(value, names, "spatial_batchnorm_backward")))


def _run_groupnorm_forward(forward, inputs):
    value = _call("spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"],
                  PUBLIC_GROUPS, {})
    out, _ = _returns(value, ("out", "cache"), "spatial_groupnorm_forward")
    return {"out": out}


def _run_groupnorm_backward(backward, forward, inputs):
    value = _call("spatial_groupnorm_forward", forward, inputs["x"], inputs["gamma"], inputs["beta"],
                  PUBLIC_GROUPS, {})
    _, cache = _returns(value, ("out", "cache"), "spatial_groupnorm_forward")
    value = _call("spatial_groupnorm_backward", backward, inputs["dout"].copy(), cache)
    names = ("dx", "dgamma", "dbeta")
    return dict(zip(names, _returns(value, names, "spatial_groupnorm_backward")))


# ---------------------------------------------------------------------------------------------
# The network's case
# ---------------------------------------------------------------------------------------------

PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
WEIGHT_NAMES = ("W1", "W2", "W3")  # the regularized ones
GIVEN_WEIGHT_STD = 0.3  # scores of order 1: the softmax neither saturates nor is flat


def param_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes):
    """The contract's parameter shapes (SPEC section 3): W2 has F * (H // 2) * (W // 2) rows."""
    channels, height, width = input_dim
    return {
        "W1": (num_filters, channels, filter_size, filter_size), "b1": (num_filters,),
        "W2": (num_filters * (height // 2) * (width // 2), hidden_dim), "b2": (hidden_dim,),
        "W3": (hidden_dim, num_classes), "b3": (num_classes,),
    }


def network_inputs(num_inputs, input_dim, num_filters, filter_size, hidden_dim, num_classes, reg, seed):
    """Inputs of the network case: X (N, C, H, W), y (N,) and given float64 parameters.

    Biases are nonzero on purpose, so a network that ignores one is caught.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_inputs, *input_dim))
    y = rng.integers(0, num_classes, num_inputs)
    shapes = param_shapes(input_dim, num_filters, filter_size, hidden_dim, num_classes)
    params = {name: GIVEN_WEIGHT_STD * rng.standard_normal(shape) for name, shape in shapes.items()}
    return {"X": X, "y": y, "params": params}


def _network_hyper(params):
    keys = ("input_dim", "num_filters", "filter_size", "hidden_dim", "num_classes")
    return {key: params[key] for key in keys}


def _new_network(network_class, reg, **hyper):
    what = f"ThreeLayerConvNet({', '.join(f'{k}={v!r}' for k, v in hyper.items())}, reg={reg})"
    model = _call(what, network_class, reg=reg, **hyper)
    if not isinstance(getattr(model, "params", None), dict):
        raise _Stop(FAILED, "ThreeLayerConvNet must keep its parameters in self.params, a dict of "
                            f"name -> ndarray; yours has {_describe(getattr(model, 'params', None))}")
    return model


def _load_given(model, params):
    """Replace the model's parameters by the given ones (after its own shapes were checked)."""
    for name, value in params.items():
        model.params[name] = value.copy()


def _run_network_scores(network_class, inputs, params):
    """The scores ``loss(X)`` of a float64 network holding the given weights."""
    model = _new_network(network_class, 0.0, **_network_hyper(params), dtype=np.float64)
    _load_given(model, inputs["params"])
    return {"scores": _call("loss(X) (the scores)", model.loss, inputs["X"].copy())}


def _run_network(network_class, inputs, params):
    """Scores, and loss and gradients with reg = 0 and reg > 0, for the given weights."""
    values = _run_network_scores(network_class, inputs, params)
    for label, reg in (("reg0", 0.0), ("reg", params["reg"])):
        model = _new_network(network_class, reg, **_network_hyper(params), dtype=np.float64)
        _load_given(model, inputs["params"])
        value = _call(f"loss(X, y) with reg={reg}", model.loss, inputs["X"].copy(), inputs["y"].copy())
        loss, grads = _returns(value, ("loss", "grads"), "loss(X, y)")
        if not isinstance(grads, dict):
            raise _Stop(FAILED, f"loss(X, y) should return grads as a dict keyed like params; yours "
                                f"is {_describe(grads)}")
        values[f"{label}.loss"] = loss
        values.update({f"{label}.grads.{name}": grads.get(name) for name in PARAM_NAMES})
    return values


# ---------------------------------------------------------------------------------------------
# Running a case for the expected values, or for a student
# ---------------------------------------------------------------------------------------------

_INPUTS = {
    "conv": conv_inputs, "max_pool": pool_inputs, "spatial_batchnorm": batchnorm_inputs,
    "spatial_groupnorm": groupnorm_inputs, "three_layer_convnet": network_inputs,
}


def case_inputs(task_id, case):
    """The seeded inputs of ``case`` of ``task_id``, fresh on every call."""
    family = next(prefix for prefix in _INPUTS if task_id.startswith(prefix))
    return _INPUTS[family](**case.params)


# Task id -> runner(implementation, forward, inputs, case) -> {quantity: value}.
_RUNNERS = {
    "conv_forward_naive": lambda impl, _, inputs, case: _run_conv_forward(impl, inputs),
    "conv_backward_naive": lambda impl, fwd, inputs, case: _run_conv_backward(impl, fwd, inputs),
    "max_pool_forward_naive": lambda impl, _, inputs, case: _run_pool_forward(impl, inputs),
    "max_pool_backward_naive": lambda impl, fwd, inputs, case: _run_pool_backward(impl, fwd, inputs),
    "spatial_batchnorm_forward": lambda impl, _, inputs, case: _run_batchnorm_forward(
        impl, inputs, case.params["seed"] + 1),
    "spatial_batchnorm_backward": lambda impl, fwd, inputs, case: _run_batchnorm_backward(
        impl, fwd, inputs),
    "spatial_groupnorm_forward": lambda impl, _, inputs, case: _run_groupnorm_forward(impl, inputs),
    "spatial_groupnorm_backward": lambda impl, fwd, inputs, case: _run_groupnorm_backward(
        impl, fwd, inputs),
    "three_layer_convnet": lambda impl, _, inputs, case: _run_network(impl, inputs, case.params),
}


def run_case(task_id, case, implementation, forward=None, inputs=None):
    """The values ``implementation`` produces on ``case``, keyed by quantity.

    ``inputs`` defaults to fresh :func:`case_inputs`; forward passes receive its arrays
    uncopied, so a caller can see whether they were modified. Raises :class:`_Stop` when the
    code raises or returns the wrong kind of value.
    """
    inputs = case_inputs(task_id, case) if inputs is None else inputs
    return _RUNNERS[task_id](implementation, forward, inputs, case)


def public_values(implementations):
    """Every expected value of the public checks, from ``implementations`` (the references).

    Parameters
    ----------
    implementations : dict of str to callable
        Task id -> function (``three_layer_convnet`` -> class).

    Returns
    -------
    dict of str to ndarray
        ``'<task_id>/<case key>/<quantity>'`` -> float64 array (a 0-d array for a loss).
    """
    values = {}
    for task_id in TASK_IDS:
        forward = implementations.get(_NEEDS_FORWARD.get(task_id))
        for case in CASES[task_id]:
            produced = run_case(task_id, case, implementations[task_id], forward)
            for quantity, value in produced.items():
                values[_key(task_id, case, quantity)] = np.asarray(value, dtype=np.float64)
    return values


def _key(task_id, case, quantity):
    return f"{task_id}/{case.key}/{quantity}"


def _expected():
    """The stored expected values (read on every check, so a regenerated file is picked up)."""
    resource = resources.files("assignment") / EXPECTED_FILE
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# The threshold of each quantity (by its last name part); gradients get BACKWARD_THRESHOLD.
THRESHOLDS = {
    "out": FORWARD_THRESHOLD, "train_out": FORWARD_THRESHOLD, "test_out": FORWARD_THRESHOLD,
    "scores": FORWARD_THRESHOLD, "loss": LOSS_THRESHOLD,
    "running_mean": RUNNING_STAT_THRESHOLD, "running_var": RUNNING_STAT_THRESHOLD,
}


def _compare_case(task_id, case, values, hints, measurements):
    """Compare every produced quantity of ``case`` with its stored expected value."""
    expected = _expected()
    label = _describe_case(task_id, case)
    for quantity, value in values.items():
        reference = expected[_key(task_id, case, quantity)]
        threshold = THRESHOLDS.get(quantity.split(".")[-1], BACKWARD_THRESHOLD)
        hint = case.hint or _hint(hints, quantity)
        compare = _compare_number if reference.ndim == 0 else _compare
        measurements.append(compare(label, quantity, value, reference, threshold, hint))


def _hint(hints, quantity):
    """The hint of ``quantity`` ('reg.grads.W1'), else of its prefixes ('reg.grads', 'reg')."""
    parts = quantity.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in hints:
            return hints[".".join(parts[:end])]
    return ""


# ---------------------------------------------------------------------------------------------
# The checks of each task
# ---------------------------------------------------------------------------------------------

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
POOL_FORWARD_HINTS = {
    "out": "out[n, c, i, j] is the max of x[n, c, i*s:i*s + ph, j*s:j*s + pw], one channel at a time; "
           "no padding, H' = 1 + (H - pool_height) // stride",
}
POOL_BACKWARD_HINTS = {
    "dx": "each dout[n, c, i, j] goes only to the position of its window's maximum "
          "(np.argmax, then np.unravel_index); every other position gets 0",
}
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
NUMERIC_HINT = ("your backward pass disagrees with the numeric gradient of your own forward pass: "
                "differentiate the forward you wrote, term by term")


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
SHAPES_HINT = ("W1 (F, C, fs, fs), b1 (F,), W2 (F * (H // 2) * (W // 2), hidden_dim), b2 (hidden_dim,), "
               "W3 (hidden_dim, num_classes), b3 (num_classes,); H and W may differ")
DTYPE_HINT = "cast every parameter with .astype(dtype)"
INIT_HINT = "weights are weight_scale * np.random.randn(*shape), biases are zeros"
INITIAL_LOSS_HINT = ("with tiny weights every score is ~0, so the softmax is uniform and the loss is "
                     "log(num_classes); check the softmax loss and that the scores use the weights")
REG_TERM_HINT = NETWORK_HINTS["reg.loss"]
NETWORK_NUMERIC_HINT = ("a gradient disagrees with the numeric gradient of your own loss: check the "
                        "backward pass of that layer and the reg * W term")
BATCH_MOMENTS_HINT = ("statistics are per channel over (N, H, W): with gamma = 1 and beta = 0 every "
                      "channel of the output has mean 0 and std 1")
GROUP_MOMENTS_HINT = ("statistics are per (sample, group) over (C // G, H, W): with gamma = 1 and "
                      "beta = 0 every group of every sample has mean 0 and std 1")

# Networks whose freshly initialized parameters are checked: the digits' input, and a non-square one.
NEW_NETWORKS = (
    dict(input_dim=(1, 8, 8), num_filters=8, filter_size=5, hidden_dim=20, num_classes=10),
    dict(input_dim=(3, 6, 10), num_filters=4, filter_size=3, hidden_dim=12, num_classes=7),
)
INIT_WEIGHT_SCALE = 5e-2  # not the default 1e-3, so a scale that ignores the argument shows
INIT_SEED = 0  # np.random seed while a student's __init__ draws its weights
SANITY_NETWORK = dict(input_dim=(1, 8, 8), num_filters=8, filter_size=5, hidden_dim=20, num_classes=10)
SANITY_WEIGHT_SCALE = 1e-3  # tiny weights: every score ~0, so the loss is ~log(num_classes)
SANITY_EXAMPLES, SANITY_SEED = 20, 3


def _check_cases(task_id, implementation, forward, hints, measurements, also=None):
    """Run and compare every case of a task; ``also(case, inputs)`` adds checks per case.

    Returns the public case and its values.
    """
    public = None
    for case in CASES[task_id]:
        inputs = case_inputs(task_id, case)
        values = run_case(task_id, case, implementation, forward, inputs)
        _compare_case(task_id, case, values, hints, measurements)
        if also is not None:
            also(case, inputs)
        public = public or (case, values)
    return public


def _unchanged_check(task_id, measurements):
    """``also`` for forward layers: x must come back as it was."""
    def check_unchanged(case, inputs):
        same = np.array_equal(inputs["x"], case_inputs(task_id, case)["x"])
        measurements.append(Measurement(
            _describe_case(task_id, case), "x unchanged", same,
            "your function left x as it was" if same else "your function modified its input x",
            hint="" if same else "x must not change: pad into a new array (np.pad returns one) "
                                 "instead of writing into x"))
    return check_unchanged


def _forward_out(what, forward, shape, *args):
    """The ``out`` of the student's forward pass, checked to be a float array of ``shape``."""
    value = _returns(_call(what, forward, *copy.deepcopy(args)), ("out", "cache"), what)[0]
    problem = _array_problem(value, shape)
    if problem:
        raise _Stop(FAILED, f"no numeric gradient: out of your {what}: {problem}")
    return value


def _check_numeric(task_id, case, values, out_of, arrays, dout, measurements):
    """Compare the analytic ``d<name>`` with numeric gradients of ``sum(out_of(**arrays) * dout)``."""
    label = _describe_case(task_id, case)
    for name, array in arrays.items():
        analytic = values[f"d{name}"]
        if _array_problem(analytic, array.shape):
            continue  # already reported against the stored expected value

        def out_at(value, name=name):
            return out_of(**{**arrays, name: value})

        numeric = eval_numerical_gradient_array(out_at, array.copy(), dout, h=NUMERIC_STEP)
        measurements.append(_compare(label, f"d{name} vs numeric gradient", analytic, numeric,
                                     NUMERIC_GRADIENT_THRESHOLD, NUMERIC_HINT))


def _check_conv_forward(forward, _, measurements):
    task_id = "conv_forward_naive"
    _check_cases(task_id, forward, None, CONV_FORWARD_HINTS, measurements,
                 also=_unchanged_check(task_id, measurements))


def _check_conv_backward(backward, forward, measurements):
    task_id = "conv_backward_naive"
    case, values = _check_cases(task_id, backward, forward, CONV_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)
    dout, conv_param = inputs["dout"], inputs["conv_param"]

    def out_of(x, w, b):
        return _forward_out("conv_forward_naive", forward, dout.shape, x, w, b, conv_param)

    arrays = {name: inputs[name] for name in ("x", "w", "b")}
    _check_numeric(task_id, case, values, out_of, arrays, dout, measurements)


def _check_pool_forward(forward, _, measurements):
    task_id = "max_pool_forward_naive"
    _check_cases(task_id, forward, None, POOL_FORWARD_HINTS, measurements,
                 also=_unchanged_check(task_id, measurements))


def _check_pool_backward(backward, forward, measurements):
    task_id = "max_pool_backward_naive"
    case, values = _check_cases(task_id, backward, forward, POOL_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)
    dout, pool_param = inputs["dout"], inputs["pool_param"]

    def out_of(x):
        return _forward_out("max_pool_forward_naive", forward, dout.shape, x, pool_param)

    _check_numeric(task_id, case, values, out_of, {"x": inputs["x"]}, dout, measurements)


def _check_moments(label, out, shape, units, hint, measurements):
    """With gamma = 1, beta = 0: each unit of ``units(out)`` (rows) has mean 0 and std 1."""
    problem = _array_problem(out, shape)
    if problem:
        measurements.append(Measurement(label, "out", False, problem, hint=hint))
        return
    rows = units(out)
    mean_error = float(np.abs(rows.mean(axis=1)).max())
    std_error = float(np.abs(rows.std(axis=1) - 1.0).max())
    measurements.append(_bound(label, "mean 0", mean_error, MOMENT_TOLERANCE, "largest |mean|", hint))
    measurements.append(_bound(label, "std 1", std_error, MOMENT_TOLERANCE, "largest |std - 1|", hint))


def _check_batchnorm_forward(forward, _, measurements):
    task_id = "spatial_batchnorm_forward"
    case, _ = _check_cases(task_id, forward, None, BATCHNORM_FORWARD_HINTS, measurements)
    x = case_inputs(task_id, case)["x"]
    channels = x.shape[1]
    value = _call("spatial_batchnorm_forward (train mode)", forward, x, np.ones(channels),
                  np.zeros(channels), {"mode": "train"})
    out = _returns(value, ("out", "cache"), "spatial_batchnorm_forward")[0]
    label = f"{case.key} case with gamma = 1, beta = 0 (train mode)"

    def per_channel(out):
        return out.transpose(1, 0, 2, 3).reshape(channels, -1)

    _check_moments(label, out, x.shape, per_channel, BATCH_MOMENTS_HINT, measurements)


def _check_batchnorm_backward(backward, forward, measurements):
    task_id = "spatial_batchnorm_backward"
    case, values = _check_cases(task_id, backward, forward, BATCHNORM_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return _forward_out("spatial_batchnorm_forward", forward, x.shape, x, gamma, beta,
                            {"mode": "train"})

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    _check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


def _check_groupnorm_forward(forward, _, measurements):
    task_id = "spatial_groupnorm_forward"
    case, _ = _check_cases(task_id, forward, None, GROUPNORM_FORWARD_HINTS, measurements)
    x = case_inputs(task_id, case)["x"]
    ones, zeros = np.ones((1, x.shape[1], 1, 1)), np.zeros((1, x.shape[1], 1, 1))
    value = _call("spatial_groupnorm_forward", forward, x, ones, zeros, PUBLIC_GROUPS, {})
    out = _returns(value, ("out", "cache"), "spatial_groupnorm_forward")[0]
    label = f"{case.key} case with gamma = 1, beta = 0"

    def per_group(out):
        return out.reshape(x.shape[0] * PUBLIC_GROUPS, -1)

    _check_moments(label, out, x.shape, per_group, GROUP_MOMENTS_HINT, measurements)


def _check_groupnorm_backward(backward, forward, measurements):
    task_id = "spatial_groupnorm_backward"
    case, values = _check_cases(task_id, backward, forward, GROUPNORM_BACKWARD_HINTS, measurements)
    inputs = case_inputs(task_id, case)

    def out_of(x, gamma, beta):
        return _forward_out("spatial_groupnorm_forward", forward, x.shape, x, gamma, beta,
                            PUBLIC_GROUPS, {})

    arrays = {name: inputs[name] for name in ("x", "gamma", "beta")}
    _check_numeric(task_id, case, values, out_of, arrays, inputs["dout"], measurements)


# ---------------------------------------------------------------------------------------------
# The network's checks
# ---------------------------------------------------------------------------------------------

def _check_network(network_class, _, measurements):
    """Fresh parameters, then the scores (the forward pass alone), then the loss and gradients."""
    task_id = "three_layer_convnet"
    for hyper in NEW_NETWORKS:
        _check_new_network(network_class, hyper, measurements)
    (case,) = CASES[task_id]
    inputs = case_inputs(task_id, case)
    scores = _run_network_scores(network_class, inputs, case.params)
    _compare_case(task_id, case, scores, NETWORK_HINTS, measurements)
    _check_initial_loss(network_class, measurements)
    values = run_case(task_id, case, network_class, inputs=inputs)
    del values["scores"]  # compared above
    _compare_case(task_id, case, values, NETWORK_HINTS, measurements)
    _check_reg_term(case, values, measurements)
    _check_network_gradients(network_class, case, values, measurements)


def _check_new_network(network_class, hyper, measurements):
    """Parameter names, shapes, dtype (the default float32) and initial values of a new network."""
    np.random.seed(INIT_SEED)
    model = _new_network(network_class, 0.0, **hyper, weight_scale=INIT_WEIGHT_SCALE)
    label = (f"new network: input_dim {hyper['input_dim']}, {hyper['num_filters']} filters of "
             f"{hyper['filter_size']}x{hyper['filter_size']}, hidden_dim {hyper['hidden_dim']}, "
             f"{hyper['num_classes']} classes, weight_scale {INIT_WEIGHT_SCALE}")
    expected = param_shapes(**hyper)
    wrong = [f"{name}: expected {shape}, yours {_shape_or_kind(model.params.get(name))}"
             for name, shape in expected.items() if _shape_or_kind(model.params.get(name)) != shape]
    described = ", ".join(f"{name} {shape}" for name, shape in expected.items())
    measurements.append(Measurement(label, "parameter shapes", not wrong,
                                    "; ".join(wrong) if wrong else described, hint=SHAPES_HINT))
    if wrong:
        return
    dtypes = {name: model.params[name].dtype for name in expected}
    odd = [f"{name} is {dtype}" for name, dtype in dtypes.items() if dtype != np.float32]
    measurements.append(Measurement(label, "dtype", not odd, "; ".join(odd) + " (expected float32, the "
                                    "default dtype)" if odd else "every parameter float32",
                                    hint=DTYPE_HINT))
    measurements.append(_initial_values(label, model.params))


def _shape_or_kind(value):
    if value is None:
        return "missing"
    return value.shape if type(value) is np.ndarray else _describe(value)


def _initial_values(label, params):
    """Biases zero, weights with a sample std near weight_scale."""
    problems = [f"{name} is not all zeros" for name in ("b1", "b2", "b3") if np.any(params[name] != 0)]
    for name in WEIGHT_NAMES:
        std = float(np.std(params[name].astype(np.float64)))
        if abs(std / INIT_WEIGHT_SCALE - 1.0) > INIT_SCALE_TOLERANCE:
            problems.append(f"{name} has std {std:.3g}, expected {INIT_WEIGHT_SCALE:g} "
                            f"(within {INIT_SCALE_TOLERANCE:.0%})")
    detail = "; ".join(problems) or (f"biases zero, weights' std within {INIT_SCALE_TOLERANCE:.0%} "
                                     f"of weight_scale")
    return Measurement(label, "initial values", not problems, detail, hint=INIT_HINT)


def _check_initial_loss(network_class, measurements):
    """Tiny weights and reg = 0: every score ~0, so the loss is ~log(num_classes)."""
    np.random.seed(INIT_SEED)
    model = _new_network(network_class, 0.0, **SANITY_NETWORK, weight_scale=SANITY_WEIGHT_SCALE,
                         dtype=np.float64)
    rng = np.random.default_rng(SANITY_SEED)
    X = rng.standard_normal((SANITY_EXAMPLES, *SANITY_NETWORK["input_dim"]))
    y = rng.integers(0, SANITY_NETWORK["num_classes"], SANITY_EXAMPLES)
    loss = _loss_number(model, X, y)
    expected = math.log(SANITY_NETWORK["num_classes"])
    label = (f"sanity: {SANITY_EXAMPLES} random examples, weight_scale {SANITY_WEIGHT_SCALE}, "
             f"reg 0, {SANITY_NETWORK['num_classes']} classes")
    measurements.append(_bound(label, f"initial loss {loss:.4f} ~ log(10) = {expected:.4f}",
                               abs(loss - expected) / expected, INITIAL_LOSS_TOLERANCE,
                               "relative distance", INITIAL_LOSS_HINT))


def _loss_number(model, X, y):
    value = _call("loss(X, y)", model.loss, X.copy(), y.copy())
    loss = _as_number(_returns(value, ("loss", "grads"), "loss(X, y)")[0])
    if loss is None:
        raise _Stop(FAILED, f"loss(X, y) should return (loss, grads) with loss a finite number; "
                            f"your loss is {_describe(value[0])}")
    return loss


def _check_reg_term(case, values, measurements):
    """The loss with reg > 0 exceeds the loss with reg = 0 by exactly 0.5 * reg * sum(W**2)."""
    with_reg, without = _as_number(values["reg.loss"]), _as_number(values["reg0.loss"])
    if with_reg is None or without is None:
        return  # already reported
    params = network_inputs(**case.params)["params"]
    expected = 0.5 * case.params["reg"] * sum(np.sum(params[name] ** 2) for name in WEIGHT_NAMES)
    measurements.append(_compare_number(_describe_case("three_layer_convnet", case),
                                        f"loss rises with reg = {case.params['reg']} by "
                                        "0.5 * reg * sum(W**2)", with_reg - without, expected,
                                        LOSS_THRESHOLD, REG_TERM_HINT))


def _check_network_gradients(network_class, case, values, measurements):
    """Numeric gradient of the student's own loss (reg > 0, float64) for every parameter."""
    inputs = network_inputs(**case.params)
    model = _new_network(network_class, case.params["reg"], **_network_hyper(case.params),
                         dtype=np.float64)
    _load_given(model, inputs["params"])
    label = _describe_case("three_layer_convnet", case)
    for name in PARAM_NAMES:
        analytic = values[f"reg.grads.{name}"]
        param = model.params[name]
        if _array_problem(analytic, param.shape):
            continue  # already reported against the stored expected value
        numeric = eval_numerical_gradient(lambda _: _loss_number(model, inputs["X"], inputs["y"]),
                                          param, verbose=False, h=NETWORK_NUMERIC_STEP)
        measurements.append(_compare(label, f"d{name} vs numeric gradient (reg > 0)", analytic, numeric,
                                     NETWORK_GRADIENT_THRESHOLD, NETWORK_NUMERIC_HINT))


_CHECKS = {
    "conv_forward_naive": _check_conv_forward,
    "conv_backward_naive": _check_conv_backward,
    "max_pool_forward_naive": _check_pool_forward,
    "max_pool_backward_naive": _check_pool_backward,
    "three_layer_convnet": _check_network,
    "spatial_batchnorm_forward": _check_batchnorm_forward,
    "spatial_batchnorm_backward": _check_batchnorm_backward,
    "spatial_groupnorm_forward": _check_groupnorm_forward,
    "spatial_groupnorm_backward": _check_groupnorm_backward,
}
