"""What every task module shares: outcomes, the context a task is graded in, and call failures."""
from dataclasses import dataclass

import numpy as np

from grader.compare import Verdict


@dataclass(frozen=True)
class Outcome:
    """One check's result before points are scaled to the task's weight."""

    name: str
    """What was checked, with the case's parameters."""
    points: float
    """Relative points of the check within its task."""
    passed: bool
    message: str
    """For the student: what was expected, what came back, the error against the threshold."""
    failure: str = ""
    """'error' or 'timeout' when the student's code raised, crashed or hung in this check."""


@dataclass
class TaskContext:
    """What a task's checks need: the child session with the student's code, and the run's config."""

    session: object
    """A :class:`grader.sandbox.Session`."""
    config: object
    """A :class:`grader.config.Config`."""


def outcome(name, points, verdict, failure=""):
    return Outcome(name=name, points=points, passed=verdict.passed, message=verdict.message, failure=failure)


def call_failed(name, points, result):
    """The outcome of a check whose call into student code did not return."""
    failure = "timeout" if result.error_kind == "timeout" else "error"
    message = result.message
    if result.traceback:
        last = [line.strip() for line in result.traceback.strip().splitlines() if line.strip()]
        if last:
            message += f" (at {last[-2] if len(last) > 1 else last[-1]})"
    if result.error_type == "NotImplementedError":
        message = "not implemented yet (raises NotImplementedError)"
    return Outcome(name=name, points=points, passed=False, message=message, failure=failure)


def earned_only_if(correct, name, points, verdict, what="outputs"):
    """Speed and unmodified-input checks earn points only alongside correct outputs."""
    if not correct:
        return Outcome(name, points, False, f"not awarded: earned only when every {what} check passes")
    return outcome(name, points, verdict)


def inputs_unchanged(sent, received_after, names):
    """Verdict on whether the student's function left its array inputs as they were."""
    if not isinstance(received_after, tuple) or len(received_after) != len(sent):
        return Verdict(False, "the arguments did not come back from the call")
    for name, before, after in zip(names, sent, received_after):
        if isinstance(before, np.ndarray) and not (
            type(after) is np.ndarray and after.shape == before.shape and np.array_equal(after, before)
        ):
            return Verdict(False, f"your function modified its input {name}; work on a copy (np.pad returns one)")
        if isinstance(before, dict) and not _same_dict(before, after):
            return Verdict(False, f"your function changed its input {name}; leave the parameter dict as given")
    return Verdict(True, "inputs unchanged")


def _same_dict(before, after):
    if not isinstance(after, dict) or after.keys() != before.keys():
        return False
    return all(np.array_equal(after[k], v) if isinstance(v, np.ndarray) else after[k] == v for k, v in before.items())


def case_rng(seed):
    """Every input of every case comes from its own seeded generator: same submission, same grade."""
    return np.random.default_rng(seed)
