"""How a returned value is compared with the expected one: the named thresholds, the course's relative error
with where its maximum is, and the validation every array passes before a number is compared.

One module serves both readers: the notebook's checks (:mod:`assignment.checks`) and the grader
(:mod:`grader.compare`, which adds what only hostile values from the sandbox need). Each words its own
messages from the :class:`ArrayProblem` found here, so a student reads the same rule in both places.
"""

from dataclasses import dataclass

import numpy as np

# Thresholds on the course's relative error max(|a - b| / max(1e-8, |a| + |b|)). Correct float64 code of any
# style (loops, vectorized, einsum, other summation orders) agrees with the reference to ~1e-12; every known bug
# is off by more than 1e-3. The thresholds sit in between.
FORWARD_THRESHOLD = 1e-7  # layer outputs: sums of a few hundred products at most
BACKWARD_THRESHOLD = 1e-6  # gradients: longer sums, cancellation in normalization backward passes
LOSS_THRESHOLD = 1e-8  # a scalar: the softmax loss plus 0.5 * reg * sum(W**2)
RUNNING_STAT_THRESHOLD = 1e-8  # running mean/var: one multiply-add per element
PROPERTY_THRESHOLD = 1e-5  # mean 0 / variance 1 of normalized groups: eps shifts the variance slightly
INIT_SCALE_TOLERANCE = 0.2  # sample std of >= 10,000 normal draws is within 2% of weight_scale; 20% is loose
# A float32 model (given float32 weights and float64 X, as the Solver gives it) against float64 on the same
# float32 values: the reference in float32 errs by up to ~2e-4 per element (near-zero elements carry the
# rounding of sums of larger terms) and ~1e-7 on the loss; room for any summation order, none for a wrong formula.
FLOAT32_THRESHOLD = 1e-3
FLOAT32_LOSS_THRESHOLD = 1e-5

# The notebook's own measurements, which need no reference.
# Centered differences with step NUMERIC_STEP are accurate to ~1e-8 relative on these smooth layers; near-zero
# entries of a gradient make the relative error of the worst entry larger.
NUMERIC_GRADIENT_THRESHOLD = 1e-5
NUMERIC_STEP = 1e-5  # the course's default step
# The network's loss has ReLU and max-pool kinks; a step that crosses one costs accuracy.
NETWORK_GRADIENT_THRESHOLD = 1e-4
NETWORK_NUMERIC_STEP = 1e-6
MOMENT_TOLERANCE = 1e-4  # |mean| and |std - 1| of normalized values: eps shrinks the std by eps / 2var
INITIAL_LOSS_TOLERANCE = 0.01  # relative distance of the initial loss from log(num_classes)

RELATIVE_ERROR_FLOOR = 1e-8  # the course's denominator floor: two values both near zero agree


def relative_errors(received, expected):
    """The course's ``|a - b| / max(1e-8, |a| + |b|)``, element by element, in float64.

    Parameters
    ----------
    received, expected : array_like of one shape (or broadcastable), or numbers

    Returns
    -------
    ndarray of the broadcast shape
    """
    received = np.asarray(received, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return np.abs(received - expected) / np.maximum(RELATIVE_ERROR_FLOOR, np.abs(received) + np.abs(expected))


def rel_error(received, expected):
    """The course's ``max(|a - b| / max(1e-8, |a| + |b|))``, with where the maximum is.

    Returns
    -------
    (float, tuple of int)
        The largest relative error and its index; (0.0, ()) when there is nothing to compare.
    """
    errors = relative_errors(received, expected)
    if errors.size == 0:
        return 0.0, ()
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    return float(errors[worst]), tuple(int(i) for i in worst)


# What can be wrong with a returned array, in the order it is checked.
NOT_AN_ARRAY, NOT_FLOATING, WRONG_SHAPE, NOT_FINITE = "not an array", "not floating", "wrong shape", "not finite"


@dataclass(frozen=True)
class ArrayProblem:
    """Why a value is not a finite float ndarray of the expected shape."""

    kind: str
    """NOT_AN_ARRAY (not exactly numpy.ndarray: None, a list, a subclass...), NOT_FLOATING, WRONG_SHAPE or
    NOT_FINITE."""
    index: tuple = ()
    """For NOT_FINITE: the index of the first value that is not finite."""


def array_problem(value, expected_shape):
    """The :class:`ArrayProblem` of ``value`` against ``expected_shape``, or None if it is a real (not a
    subclass) float ndarray of exactly that shape with only finite values."""
    if type(value) is not np.ndarray:
        return ArrayProblem(NOT_AN_ARRAY)
    if value.dtype.kind != "f":
        return ArrayProblem(NOT_FLOATING)
    if value.shape != tuple(expected_shape):
        return ArrayProblem(WRONG_SHAPE)
    if not np.all(np.isfinite(value)):
        return ArrayProblem(NOT_FINITE, tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0]))
    return None
