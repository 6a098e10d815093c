"""Fingerprint variants (instructor-only): code with one classic mistake each, run by the grader on a failed
case's inputs to see whether the student's output is exactly what that mistake gives.

These live with the grader and are never staged into the sandbox nor shipped with the student bundle
(the sandbox stages ``assignment`` only). The texts of the mistakes are in :mod:`assignment.mistakes`; the
table that ties variants to them is :mod:`grader.tasks.catalogue`.

Every variant takes the arguments the graded call took and returns what the mistaken code returns, in
the structure the check compares (an array, or a tuple of arrays). A variant raises :class:`NotShown` on
an input where the mistake cannot be told apart or the mistaken code would itself fail; any exception
means "does not fit".
"""


class NotShown(Exception):
    """The variant does not apply to this input (it would raise, or it equals the reference here)."""
