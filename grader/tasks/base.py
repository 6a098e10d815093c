"""What every task module shares: outcomes, the context a task is graded in, and call failures."""
from dataclasses import dataclass

import numpy as np

from grader.compare import Verdict
from grader.sandbox.protocol import Opaque


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
        if isinstance(before, np.ndarray) and not _same_array(before, after):
            return Verdict(False, f"your function modified its input {name}; work on a copy (np.pad returns one)")
        if isinstance(before, dict) and not _same_dict(before, after):
            return Verdict(False, f"your function changed its input {name}; leave the parameter dict as given")
    return Verdict(True, "inputs unchanged")


def _same_dict(before, after):
    if not isinstance(after, dict) or after.keys() != before.keys():
        return False
    return all(np.array_equal(after[k], v) if isinstance(v, np.ndarray) else after[k] == v for k, v in before.items())


def _same_array(before, after):
    """Same type, dtype, shape and values (NaN equal to NaN)."""
    return (type(after) is np.ndarray and after.dtype == before.dtype and after.shape == before.shape
            and np.array_equal(after, before, equal_nan=True))


def cache_unchanged(before, after, item_names=()):
    """Verdict on whether a backward left its cache as it was: every array in it unchanged, none removed.

    before, after: the cache before and after the call, as the protocol decodes them (tuples, lists and
    dicts are walked; other objects arrive as Opaque and cannot be compared). item_names: the items of a
    documented cache, e.g. ('x', 'w', 'b', 'conv_param'), so the message says "x" rather than "item [0]".
    A modified cache gives another answer the next time backward runs on it.
    """
    for path, array in _arrays_in(before):
        after_item = _item_at(after, path)
        if isinstance(after_item, Opaque):
            continue  # too large or deep for the protocol to send back after the call: nothing to compare
        if after_item is _MISSING:
            return Verdict(False, f"your backward removed {_item_name(path, item_names)} from the cache; "
                                  "leave the cache as your forward returned it")
        if not _same_array(array, after_item):
            return Verdict(False, f"your backward modified the cache ({_item_name(path, item_names)}) in place; "
                                  "leave it as your forward returned it and write gradients into new arrays "
                                  "(dx = np.zeros_like(x), not dx = x)")
    return Verdict(True, "cache unchanged")


_MISSING = object()  # an item the cache no longer has


def was_cut(value, depth=0):
    """Whether part of a decoded value was left out by the protocol for its size (an Opaque that says so)."""
    if isinstance(value, Opaque):
        return value.cut
    if depth > 20:
        return True
    if isinstance(value, (tuple, list)):
        return any(was_cut(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(was_cut(item, depth + 1) for item in value.values())
    return False


def _arrays_in(value, path=()):
    """(path, array) for every array in a decoded value; a path is the keys and indices leading to it."""
    if type(value) is np.ndarray:
        yield path, value
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _arrays_in(item, path + (index,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays_in(item, path + (key,))


def _item_at(value, path):
    """The item of ``value`` at ``path``, or _MISSING."""
    for key in path:
        if isinstance(value, Opaque):
            return value  # the protocol could not send this part back: nothing to compare
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, (tuple, list)) and type(key) is int and key < len(value):
            value = value[key]
        else:
            return _MISSING
    return value


def _item_name(path, item_names):
    """'x' for the first item of a documented (x, w, b, conv_param) cache, else e.g. "item [2]['x_hat']"."""
    if len(path) == 1 and type(path[0]) is int and path[0] < len(item_names):
        return item_names[path[0]]
    return "item " + "".join(f"[{key!r}]" for key in path) if path else "its one array"


def case_rng(seed):
    """Every input of every case comes from its own seeded generator: same submission, same grade."""
    return np.random.default_rng(seed)
