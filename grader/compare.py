"""Validation of what student code returned, and comparison with the reference.

Every value is validated before a number is compared: the right arity, a real numpy.ndarray, a floating
dtype, exactly the expected shape, all finite. The thresholds, the relative error and the array validation
are :mod:`assignment.compare`'s, which the notebook's checks use too; this module words the grader's messages
and adds what only values from the sandbox need (Opaque objects, counted items, scalars).

Everything compared here came back from the sandbox and is hostile: several items are compared only when
there are exactly as many as expected (counted in what the grader decoded, never by a len() the child could
override), and a comparison of nothing fails.
"""

from dataclasses import dataclass

import numpy as np

from assignment.compare import (  # noqa: F401  (the thresholds are named in one place, shared with the notebook)
    BACKWARD_THRESHOLD,
    FLOAT32_LOSS_THRESHOLD,
    FLOAT32_THRESHOLD,
    FORWARD_THRESHOLD,
    INIT_SCALE_TOLERANCE,
    LOSS_THRESHOLD,
    NOT_AN_ARRAY,
    NOT_FINITE,
    NOT_FLOATING,
    PROPERTY_THRESHOLD,
    RUNNING_STAT_THRESHOLD,
    array_problem,
    rel_error,
)
from grader.sandbox.protocol import Opaque


@dataclass(frozen=True)
class Verdict:
    """Whether a value passed, and a message a student can act on."""

    passed: bool
    message: str
    diagnosis: str = ""
    """The classic mistake the evidence shows (grader.tasks.catalogue), or empty."""


def check_array(name, value, expected_shape):
    """A real float ndarray of exactly ``expected_shape`` with only finite values, or why not."""
    if isinstance(value, Opaque):
        return Verdict(False, f"{name}: expected a numpy.ndarray, got {value.description}")
    problem = array_problem(value, expected_shape)
    if problem is None:
        return Verdict(True, "")
    if problem.kind == NOT_AN_ARRAY:
        got = "None" if value is None else type(value).__name__
        return Verdict(False, f"{name}: expected a numpy.ndarray, got {got}")
    if problem.kind == NOT_FLOATING:
        return Verdict(False, f"{name}: expected a floating dtype, got {value.dtype}")
    if problem.kind == NOT_FINITE:
        return Verdict(False, f"{name}: contains {value[problem.index]} at index {problem.index}")
    return Verdict(False, f"{name}: expected shape {tuple(expected_shape)}, got {value.shape}")


def compare_array(name, value, expected, threshold):
    """Validate, then compare with the reference by relative error."""
    verdict = check_array(name, value, expected.shape)
    if not verdict.passed:
        return verdict
    error, worst = rel_error(value, expected)
    if error > threshold:
        return Verdict(
            False,
            f"{name}: relative error {error:.2e} > {threshold:.0e}; worst at index {worst}: "
            f"yours {value[worst]:.6g}, expected {expected[worst]:.6g}",
        )
    return Verdict(True, f"{name}: relative error {error:.1e} <= {threshold:.0e}")


def check_scalar(name, value, expected, threshold):
    """A real finite number (Python or numpy float, or a 0-d / size-1 array) close to ``expected``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer, np.ndarray)):
        return Verdict(False, f"{name}: expected a number, got {getattr(value, 'description', type(value).__name__)}")
    if isinstance(value, np.ndarray) and (type(value) is not np.ndarray or value.size != 1 or value.dtype.kind != "f"):
        return Verdict(False, f"{name}: expected a number, got an array of shape {value.shape} and dtype {value.dtype}")
    try:
        number = float(np.asarray(value).reshape(())) if not isinstance(value, int) else float(value)
    except OverflowError:  # a Python int beyond the float range, e.g. 10 ** 400
        return Verdict(
            False, f"{name}: got an int too large for a float ({_digits(value)} digits), expected about {expected:.8g}"
        )
    if not np.isfinite(number):
        return Verdict(False, f"{name}: got {number}")
    error, _ = rel_error(number, expected)
    if error > threshold:
        return Verdict(
            False, f"{name}: yours {number:.8g}, expected {expected:.8g} (relative error {error:.1e} > {threshold:.0e})"
        )
    return Verdict(True, f"{name}: relative error {error:.1e} <= {threshold:.0e}")


def _digits(number):
    """How many decimal digits an int has, without converting it to a string (huge ints are slow to print)."""
    return int(abs(number).bit_length() * 0.30103) + 1


def item_count(value):
    """How many items a plain tuple or list holds (the base type's own length: a subclass cannot lie), else None."""
    if type(value) is tuple:
        return tuple.__len__(value)
    if type(value) is list:
        return list.__len__(value)
    return None


def check_tuple(value, arity, what):
    """A plain tuple or list (as the protocol decodes one) of exactly ``arity`` items, or why not."""
    count = item_count(value)
    if count is None:
        got = "None" if value is None else getattr(value, "description", type(value).__name__)
        return Verdict(False, f"{what} should return a tuple of {arity} values, got {got}")
    if count != arity:
        return Verdict(False, f"{what} should return {arity} values, got {count}")
    return Verdict(True, "")


def compare_arrays(names, values, expected, threshold):
    """:func:`compare_array` of each of ``values`` (a plain tuple or list of exactly ``len(names)`` items, or
    this fails) against ``expected``, in the same order as ``names``."""
    verdict = check_tuple(values, len(names), "the function")
    if not verdict.passed:
        return verdict
    return all_of([compare_array(n, v, e, threshold) for n, v, e in zip(names, values, expected, strict=True)])


def check_arrays(names, values, shapes):
    """:func:`check_array` of each of ``values`` (exactly ``len(names)`` of them, or this fails) for its shape."""
    verdict = check_tuple(values, len(names), "the function")
    if not verdict.passed:
        return verdict
    return all_of([check_array(n, v, s) for n, v, s in zip(names, values, shapes, strict=True)])


def all_of(verdicts):
    """The first failing verdict, or a pass whose message joins the passing ones; no verdict at all fails
    (a check that compared nothing shows nothing)."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict(False, "nothing was compared (the grader found nothing to check)")
    for verdict in verdicts:
        if not verdict.passed:
            return verdict
    return Verdict(True, "; ".join(v.message for v in verdicts if v.message))
