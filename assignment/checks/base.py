"""What the checks of every family share: results, calling the student's code, measurements, cases, and
running a case against the stored expected values.

A family module (conv.py, pool.py, convnet.py, normalization.py, as in grader/tasks/) lists in ``CHECKS`` a
:class:`PublicChecks` per task of the table (:mod:`assignment.tasks`) whose row names the family.
"""

import contextlib
import copy
import functools
import math
import traceback
from dataclasses import dataclass, field
from importlib import import_module, resources
from pathlib import Path
from typing import Callable

import numpy as np

from assignment.compare import (
    BACKWARD_THRESHOLD,
    FORWARD_THRESHOLD,
    LOSS_THRESHOLD,
    NOT_AN_ARRAY,
    NOT_FINITE,
    NOT_FLOATING,
    NUMERIC_GRADIENT_THRESHOLD,
    NUMERIC_STEP,
    RUNNING_STAT_THRESHOLD,
    array_problem,
    rel_error,
)
from assignment.gradient_check import eval_numerical_gradient_array
from assignment.tasks import TABLE

EXPECTED_FILE = "public_expected.npz"

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"


# -- results ------------------------------------------------------------------------------------------


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
class CheckReport:
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
        return f"CheckReport({self.task_id!r}, status={self.status!r})"


class CheckStopped(Exception):
    """Ends a check early: code not written yet, an exception, or a value of the wrong kind."""

    def __init__(self, status, message, hint=""):
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


# -- calling student code ------------------------------------------------------------------------------


def call_student(what, function, *args, **kwargs):
    """``function(*args, **kwargs)``; its exceptions become a :class:`CheckStopped` saying where."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise CheckStopped(
            NOT_IMPLEMENTED,
            f"{what} raises NotImplementedError: it is not written yet (write it, then run this cell again)",
        ) from None
    except Exception as exc:
        raise CheckStopped(ERROR, f"{what} raised {exception_line(exc)}{_student_line(exc)}") from None


def exception_line(exc):
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _student_line(exc):
    """The line of the student's code where ``exc`` happened (not numpy's, not ours)."""
    frame = student_frame(traceback.extract_tb(exc.__traceback__)[1:])  # the first frame is _call itself
    if frame is None:
        return ""
    source = f": {frame.line.strip()}" if frame.line else ""
    return f"\n  at line {frame.lineno} of {frame.name}{source}"


def student_frame(frames):
    """The last of ``frames`` in the student's code (not numpy's, not ours), else the last one, or None."""
    theirs = [f for f in frames if not _is_library(f.filename)]
    return theirs[-1] if theirs else (frames[-1] if frames else None)


def _is_library(filename):
    libraries = (Path(np.__file__).parent, Path(__file__).parent.parent)  # numpy, assignment
    return any(str(Path(filename)).startswith(str(folder)) for folder in libraries)


def returned_items(value, names, what):
    """``value`` as a tuple of ``len(names)`` items, or a :class:`CheckStopped` saying what came back."""
    if len(names) == 1:
        return (value,)
    expected = f"({', '.join(names)})"
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        raise CheckStopped(FAILED, f"{what} should return a tuple {expected}; yours returned {describe_value(value)}")
    return tuple(value)


def describe_value(value):
    if value is None:
        return "None"
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return f"a {type(value).__name__}, a subclass of numpy.ndarray (return a plain ndarray: np.asarray)"
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    return f"a value of type {type(value).__name__}"


# -- measurements ---------------------------------------------------------------------------------------


def array_problem_text(value, expected_shape):
    """Why ``value`` is not a finite float ndarray of ``expected_shape``, or '' if it is."""
    problem = array_problem(value, expected_shape)
    if problem is None:
        return ""
    if problem.kind == NOT_AN_ARRAY:
        return f"expected a numpy.ndarray of shape {tuple(expected_shape)}, yours is {describe_value(value)}"
    if problem.kind == NOT_FLOATING:
        return (
            f"expected a floating dtype, yours is {value.dtype} (an array made with "
            f"np.zeros_like of an integer array, or dtype=int, truncates every value)"
        )
    if problem.kind == NOT_FINITE:
        return f"shape {value.shape} ok, but it holds {value[problem.index]} at index {problem.index}"
    return f"expected shape {tuple(expected_shape)}, yours {value.shape}"


def compare_to(case, quantity, value, expected, threshold, hint=""):
    """Measure ``value`` against ``expected`` (an ndarray) by the course's relative error."""
    problem = array_problem_text(value, expected.shape)
    if problem:
        return Measurement(case, quantity, False, problem, hint=hint)
    error, worst = rel_error(value, expected)
    passed = error <= threshold
    detail = f"shape {value.shape}, rel error {error:.1e} {'<=' if passed else '>'} {threshold:.0e}"
    if not passed:
        detail += f"; worst at index {worst}: yours {float(value[worst]):.6g}, expected {float(expected[worst]):.6g}"
    return Measurement(case, quantity, passed, detail, error, threshold, hint)


def compare_number(case, quantity, value, expected, threshold, hint=""):
    """Measure a scalar (a Python or numpy float, or an array of one float) against ``expected``."""
    number = as_number(value)
    if number is None:
        return Measurement(
            case,
            quantity,
            False,
            f"expected a finite number, yours is {describe_value(value)} {value!r:.60}",
            hint=hint,
        )
    error, _ = rel_error(number, expected)
    passed = error <= threshold
    detail = (
        f"yours {number:.8g}, expected {float(expected):.8g}, rel error {error:.1e} "
        f"{'<=' if passed else '>'} {threshold:.0e}"
    )
    return Measurement(case, quantity, passed, detail, error, threshold, hint)


def as_number(value):
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) or (
        type(value) is np.ndarray and value.size == 1 and value.dtype.kind == "f"
    ):
        number = float(np.asarray(value).reshape(()))
        return number if math.isfinite(number) else None
    return None


def bound(case, quantity, error, tolerance, what, hint=""):
    """A property measured as an error that must stay within ``tolerance``."""
    passed = error <= tolerance
    detail = f"{what} {error:.1e} {'<=' if passed else '>'} {tolerance:.0e}"
    return Measurement(case, quantity, passed, detail, error, tolerance, hint)


# -- cases ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input of a task's public checks."""

    key: str
    """Names the case in public_expected.npz."""
    params: dict
    """Arguments of the task's input generator in :mod:`assignment.cases`."""
    hint: str = ""
    """Why this case exists: shown when it fails."""
    rule: str = ""
    """The rule of the notebook that this case tries, for its label, e.g. 'a non-square pool window (2x3)';
    '' for the public case."""
    options: dict = field(default_factory=dict)
    """How the task is called besides the generated arrays (normalizations): G, eps, momentum, and for
    batchnorm 'fresh' (a bn_param without running statistics), e.g. {'G': 1} or {'eps': 0.5}."""


def case_title(case):
    """The start of a case's label: 'public case', or 'stride case, on a stride that does not divide ...'."""
    return f"{case.key} case, on {case.rule}" if case.rule else f"{case.key} case"


# -- a task's public checks, by family --------------------------------------------------------------------


@dataclass(frozen=True)
class PublicChecks:
    """The public checks of one task in the notebook, as its family module declares them."""

    cases: tuple
    """The :class:`Case` s, public first; each may add an edge a classic bug hides from the public case."""
    run: Callable
    """run(implementation, forward, inputs, case) -> {quantity: value}: what the code produces on a case
    (scripts/make_public_expected.py runs the references through it too, so both take identical steps)."""
    check: Callable
    """check(implementation, forward, measurements): appends every Measurement; raises CheckStopped to stop."""
    describe: Callable
    """describe(case) -> the label of the case's measurements, e.g. 'public case: x (2, 3, 4, 4), ...'."""
    expect: Callable = None
    """expect(implementation, forward, inputs, case) -> {quantity: value}: how scripts/make_public_expected.py
    computes the expected values when ``run`` would not (the convnet's float32 case is expected in float64, on
    the same float32 values); None: with ``run``."""


def checks_of(task_id):
    """The :class:`PublicChecks` of ``task_id``: its row's family module's ``CHECKS`` entry."""
    return import_module(f"assignment.checks.{TABLE[task_id].family}").CHECKS[task_id]


def case_inputs(task_id, case):
    """The seeded inputs of ``case`` of ``task_id`` (its row's generator), fresh on every call."""
    return TABLE[task_id].inputs(**case.params)


def describe_case(task_id, case):
    return checks_of(task_id).describe(case)


def run_case(task_id, case, implementation, forward=None, inputs=None):
    """The values ``implementation`` produces on ``case``, keyed by quantity.

    ``inputs`` defaults to fresh :func:`case_inputs`; forward passes receive its arrays
    uncopied, so a caller can see whether they were modified. Raises :class:`CheckStopped` when the
    code raises or returns the wrong kind of value.
    """
    inputs = case_inputs(task_id, case) if inputs is None else inputs
    return checks_of(task_id).run(implementation, forward, inputs, case)


def run_case_saying_which(task_id, case, implementation, forward=None, inputs=None):
    """:func:`run_case`, whose early stop says which case it happened on (see :func:`saying_which`)."""
    with saying_which(task_id, case):
        return run_case(task_id, case, implementation, forward, inputs)


@contextlib.contextmanager
def saying_which(task_id, case):
    """When the code raises or returns the wrong kind of value on a case that tries a rule (not the public
    case), the report names the case and its rule, and gives the case's hint."""
    try:
        yield
    except CheckStopped as stop:
        if case.rule and stop.status != NOT_IMPLEMENTED:
            indented = "\n".join(f"  {line}" for line in stop.message.splitlines())
            stop.message = f"{describe_case(task_id, case)}\n{indented}"
            stop.hint = stop.hint or case.hint
        raise


def expected_key(task_id, case, quantity):
    return f"{task_id}/{case.key}/{quantity}"


def stored_expected():
    """The stored expected values: read again whenever the file changed, so a regenerated file is picked up.

    Returns a new dict on every call (of the same read-only arrays)."""
    resource = resources.files("assignment") / EXPECTED_FILE
    try:
        stat = Path(str(resource)).stat()
    except OSError:  # not a plain file (a zipped package): read it every time
        return dict(_read_expected(resource))
    return dict(_stored_expected_as_of(str(resource), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=1)
def _stored_expected_as_of(path, mtime_ns, size):
    """The arrays of the file at ``path`` as it was at (mtime_ns, size): one read per version of the file."""
    return _read_expected(Path(path))


def _read_expected(resource):
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for array in arrays.values():
        array.flags.writeable = False  # shared between checks: nobody may change an expected value
    return arrays


# The threshold of each quantity (by its last name part); gradients get BACKWARD_THRESHOLD.
THRESHOLDS = {
    "out": FORWARD_THRESHOLD,
    "train_out": FORWARD_THRESHOLD,
    "test_out": FORWARD_THRESHOLD,
    "scores": FORWARD_THRESHOLD,
    "loss": LOSS_THRESHOLD,
    "running_mean": RUNNING_STAT_THRESHOLD,
    "running_var": RUNNING_STAT_THRESHOLD,
}


def threshold_of(quantity):
    """The threshold of ``quantity`` ('reg.grads.W1'): by its last name part, a gradient's otherwise."""
    return THRESHOLDS.get(quantity.split(".")[-1], BACKWARD_THRESHOLD)


def compare_case(task_id, case, values, hints, measurements, thresholds=threshold_of):
    """Compare every produced quantity of ``case`` with its stored expected value, within ``thresholds(quantity)``."""
    expected = stored_expected()
    label = describe_case(task_id, case)
    for quantity, value in values.items():
        reference = expected[expected_key(task_id, case, quantity)]
        threshold = thresholds(quantity)
        hint = case.hint or hint_for(hints, quantity)
        compare = compare_number if reference.ndim == 0 else compare_to
        measurements.append(compare(label, quantity, value, reference, threshold, hint))


def hint_for(hints, quantity):
    """The hint of ``quantity`` ('reg.grads.W1'), else of its prefixes ('reg.grads', 'reg')."""
    parts = quantity.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in hints:
            return hints[".".join(parts[:end])]
    return ""


def check_cases(task_id, implementation, forward, hints, measurements, also=None):
    """Run and compare every case of a task; ``also(case, inputs)`` adds checks per case.

    Returns the public case and its values.
    """
    public = None
    for case in checks_of(task_id).cases:
        inputs = case_inputs(task_id, case)
        with saying_which(task_id, case):
            values = run_case(task_id, case, implementation, forward, inputs)
            compare_case(task_id, case, values, hints, measurements)
            if also is not None:
                also(case, inputs)
        public = public or (case, values)
    return public


X_UNCHANGED_HINT = "x must not change: pad into a new array (np.pad returns one) instead of writing into x"
INPUTS_UNCHANGED_HINT = (
    "the arrays you are given are the caller's: compute into new arrays (x - mean makes one; x -= mean, "
    "x[...] = or np.subtract(x, mean, out=x) change the caller's x)"
)


def unchanged_check(task_id, measurements, names=("x",)):
    """``also`` for a task whose run passes the case's arrays ``names`` uncopied: they must come back as they
    were (SPEC section 3: inputs are read-only)."""
    what = ", ".join(names)

    def check_unchanged(case, inputs):
        fresh = case_inputs(task_id, case)
        changed = [name for name in names if not np.array_equal(inputs[name], fresh[name])]
        if changed:
            detail = f"your function modified its input {', '.join(changed)}"
            hint = X_UNCHANGED_HINT if changed == ["x"] and names == ("x",) else INPUTS_UNCHANGED_HINT
        else:
            detail, hint = f"your function left {what} as {'it was' if len(names) == 1 else 'they were'}", ""
        measurements.append(
            Measurement(describe_case(task_id, case), f"{what} unchanged", not changed, detail, hint=hint)
        )

    return check_unchanged


def forward_out(what, forward, shape, *args):
    """The ``out`` of the student's forward pass, checked to be a float array of ``shape``."""
    value = returned_items(call_student(what, forward, *copy.deepcopy(args)), ("out", "cache"), what)[0]
    problem = array_problem_text(value, shape)
    if problem:
        raise CheckStopped(FAILED, f"no numeric gradient: out of your {what}: {problem}")
    return value


NUMERIC_HINT = (
    "your backward pass disagrees with the numeric gradient of your own forward pass: "
    "differentiate the forward you wrote, term by term"
)


def check_numeric(task_id, case, values, out_of, arrays, dout, measurements):
    """Compare the analytic ``d<name>`` with numeric gradients of ``sum(out_of(**arrays) * dout)``."""
    label = describe_case(task_id, case)
    for name, array in arrays.items():
        analytic = values[f"d{name}"]
        if array_problem_text(analytic, array.shape):
            continue  # already reported against the stored expected value

        def out_at(value, name=name):
            return out_of(**{**arrays, name: value})

        numeric = eval_numerical_gradient_array(out_at, array.copy(), dout, h=NUMERIC_STEP)
        measurements.append(
            compare_to(
                label, f"d{name} vs numeric gradient", analytic, numeric, NUMERIC_GRADIENT_THRESHOLD, NUMERIC_HINT
            )
        )
