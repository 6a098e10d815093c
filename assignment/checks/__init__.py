"""The public checks behind the notebook's check cells.

``check(task_id, implementation)`` runs one task's public case on a student's function or class
and prints what to fix: PASS or FAIL, each quantity's relative error against its threshold, the
shapes (expected and yours) and, on failure, a hint specific to the task. It never raises: code
that is not written yet, raises, or returns the wrong kind of value is reported as such; with
``verbose=False`` it prints nothing and returns a :class:`CheckReport` saying what happened.

Expected values come from ``public_expected.npz`` in the package, made from the reference
solutions by ``scripts/make_public_expected.py`` with the very runners of the family modules; the
references do not ship with the assignment. Backward passes are also compared with numeric gradients
of the student's own forward pass, and the network with properties that need no reference at all.

Each task of the table (:mod:`assignment.tasks`) is checked by the module of its family here (conv, pool,
convnet, normalization, as in grader/tasks/): its public case, then a case for each rule the notebook states
that the public case does not try (pad 0, strides that do not divide, non-square filters and pool windows,
odd and non-square inputs, every score near 1000, a float32 model, a given eps or momentum, gn_param = {},
G = 1 and G = C, ...), each labelled with its rule, so that code that passes every check loses points in the
grade only on hidden variations of those rules, on speed or on the training run (SPEC section 4, "Fairness"). The comparisons are :mod:`assignment.compare`'s.
"""

import contextlib
import dataclasses
import traceback
from collections.abc import Mapping
from importlib import import_module

import numpy as np

from assignment.checks.base import (
    ERROR,
    EXPECTED_FILE,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    CheckReport,
    CheckStopped,
    Measurement,
    case_inputs,
    checks_of,
    describe_value,
    exception_line,
    expected_key,
    student_frame,
)
from assignment.tasks import TABLE, TASK_IDS

__all__ = [
    "check",
    "skip_until_implemented",
    "CheckReport",
    "Measurement",
    "TASK_IDS",
    "CASES",
    "EXPECTED_FILE",
    "public_values",
    "render",
    "PASSED",
    "FAILED",
    "NOT_IMPLEMENTED",
    "ERROR",
]

# Every family module, loaded with the package (the sandbox preloads it before any fork).
for _family in dict.fromkeys(task.family for task in TABLE.values()):
    import_module(f"assignment.checks.{_family}")


def _forward_of(task_id):
    """The id of the forward whose cache a backward task is checked with, or None."""
    task = TABLE.get(task_id)
    return task.forward if task is not None and task.forward else None


class _Cases(Mapping):
    """Task id -> its public checks' :class:`Case` s (a live view of the table and the family modules)."""

    def __getitem__(self, task_id):
        return checks_of(task_id).cases

    def __iter__(self):
        return iter(TASK_IDS)

    def __len__(self):
        return len(TASK_IDS)


CASES = _Cases()


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
    CheckReport or None
        None when the report was printed. Never raises: exceptions of the student's code are part
        of the result.
    """
    result = _forward_first(_checked(task_id, implementation, forward), forward)
    if verbose:
        print(render(result))
        return None
    return result


def _checked(task_id, implementation, forward):
    """The :class:`CheckReport` of one task's public checks."""
    measurements = []
    try:
        with _preserved_random_state():
            _run_checks(task_id, implementation, forward, measurements)
        status, message, hint = (PASSED if all(m.passed for m in measurements) else FAILED), "", ""
    except CheckStopped as stop:
        status, message, hint = stop.status, stop.message, stop.hint
    except Exception as exc:  # a value so odd that a check tripped on it; still the student's
        status, message, hint = ERROR, f"the check could not finish: {exception_line(exc)}", ""
    return CheckReport(task_id, status, tuple(measurements), message, hint)


FORWARD_FIRST_HINT = (
    "fix {forward} first: it fails its own check, and this check runs your backward "
    "pass on the cache your {forward} returns, so its errors show up here too"
)


def _forward_first(result, forward):
    """``result``, with the hint "fix <forward> first" when it is a failed backward check whose forward
    pass fails its own check: the backward's own hint would blame code that may well be right."""
    forward_id = _forward_of(result.task_id)
    if not forward_id or result.status not in (FAILED, ERROR) or not callable(forward):
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
        print(
            f"Skipped: {_one_line(exception_line(exc), SKIP_MESSAGE_WIDTH)}{_where(exc)}; this cell uses "
            f"{', '.join(names)}: fix {them} (the check cell says more), then run it again."
        )


SKIP_MESSAGE_WIDTH = 200  # characters of an exception's message in a skipped cell's one line


def _where(exc):
    """' (line N of function: source)' for the student's line where ``exc`` happened, or ''."""
    frame = student_frame(traceback.extract_tb(exc.__traceback__))
    if frame is None:
        return ""
    source = f": {_one_line(frame.line, SKIP_MESSAGE_WIDTH)}" if frame.line else ""
    return f" (line {frame.lineno} of {frame.name}{source})"


def _one_line(text, width):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _run_checks(task_id, implementation, forward, measurements):
    if task_id not in TASK_IDS:
        raise CheckStopped(ERROR, f"unknown task id {task_id!r}; the tasks are: {', '.join(TASK_IDS)}")
    task = TABLE[task_id]
    _require_callable(implementation, "a class" if task.is_class else "a function", task_id)
    if task.forward:
        if forward is None:
            raise CheckStopped(
                FAILED,
                f"this check needs your forward pass too: check({task_id!r}, "
                f"{task.definition}, forward={TABLE[task.forward].definition})",
            )
        _require_callable(forward, "a function", f"forward= ({task.forward})")
    try:
        checks_of(task_id).check(implementation, forward, measurements)
    except CheckStopped as stop:
        forward_name = task.forward
        if stop.status == NOT_IMPLEMENTED and forward_name and stop.message.startswith(forward_name):
            stop.message += (
                f"\n{task_id} is checked with the cache your {forward_name} returns: write {forward_name} first"
            )
        raise


def _require_callable(value, what, name):
    if not callable(value):
        raise CheckStopped(FAILED, f"{name}: expected {what}, got {describe_value(value)}")


@contextlib.contextmanager
def _preserved_random_state():
    """Checks seed np.random (students' __init__ draws from it); the notebook's state is kept."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


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
        forward = implementations.get(_forward_of(task_id))
        checks = checks_of(task_id)
        for case in checks.cases:
            produced = (checks.expect or checks.run)(
                implementations[task_id], forward, case_inputs(task_id, case), case
            )
            for quantity, value in produced.items():
                values[expected_key(task_id, case, quantity)] = np.asarray(value, dtype=np.float64)
    return values
