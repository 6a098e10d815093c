"""The grader's errors: one hierarchy, each kind with the exit status it means (SPEC section 6).

A student's exception, timeout or wrong answer is never one of these: those are check results. These
say why a command could not give a grade at all, and :func:`grader.cli.main` turns each into one line
and its exit status, in one place.
"""

EXIT_OK, EXIT_BELOW_BAR, EXIT_USAGE, EXIT_NO_SANDBOX = 0, 1, 2, 3
EXIT_INTERNAL = 4  # the grader itself failed (a bug): never Python's 1, which would read as "below --fail-under"


class GraderError(Exception):
    """A command that cannot complete; ``exit_status`` says which kind, the message is one line."""

    exit_status = EXIT_INTERNAL
    prefix = ""  # what the one line says before the message


class UsageError(GraderError):
    """What the instructor asked cannot be done: a command line, a configuration, a data folder, an output
    path, a build (exit status 2)."""

    exit_status = EXIT_USAGE


class SubmissionError(GraderError):
    """The submission cannot be read at all (exit status 2, one line, no traceback)."""

    exit_status = EXIT_USAGE


class SandboxError(GraderError):
    """Student code cannot be run on this machine, before any of it ran: a problem of the grading machine,
    not of the submission, so no grade is given (exit status 3)."""

    exit_status = EXIT_NO_SANDBOX
    prefix = "no grade given: "
