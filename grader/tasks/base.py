"""What every task module shares: outcomes, the context a task is graded in, and call failures.

Two rules every task applies through the helpers here:

- **A public case earns its points only when every hidden case of the same task passes too**
  (:func:`public_earned_only_with_hidden`). The public cases' expected values ship to students
  (``assignment/public_expected.npz``, used by the notebook's checks), so an answer right on the public case
  alone may have been looked up; otherwise the public case is "not awarded", and its message still says
  whether the answer to it was right.
- **A comparison fails closed.** Arguments, caches and parameter dicts are compared item by item, exactly
  as many as were sent; a value of another type is a different value; a comparison of nothing, or of an
  object the protocol could only name (an Opaque), fails.
"""

import ast
import functools
import secrets
from dataclasses import dataclass, field

import numpy as np

from grader.compare import Verdict, item_count
from grader.report import Kind, Reason
from grader.sandbox.protocol import Opaque

PUBLIC_CASE, HIDDEN_CASE = "public case", "hidden case"  # how the names of a task's case checks begin
CASE_KINDS = {PUBLIC_CASE: Kind.PUBLIC, HIDDEN_CASE: Kind.HIDDEN}  # the kind of a case check, by its label
SECRET_BITS = 128  # a grading's secret: far too many values to enumerate
UNCOMPARABLE_CACHE = (
    "the grader cannot check that your backward leaves its cache unchanged: {where} came back "
    "as {what!r}, which the grader cannot see into; keep the cache to arrays, numbers, strings, "
    "None and tuples, lists and dicts of them"
)


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
    diagnosis: str = ""
    """The classic mistake the evidence shows (one sentence with its fix), or empty."""
    kind: str = ""
    """What the check is: one of grader.report.KINDS (every task sets it; scoring refuses an outcome without)."""
    reason: str = Reason.NONE
    """Why it earned nothing although it may have been right: one of grader.report.REASONS."""


@dataclass
class TaskContext:
    """What a task's checks need: the child session with the student's code, the run's config, and the
    grading's secret."""

    session: object
    """A :class:`grader.sandbox.session.Session`."""
    config: object
    """A :class:`grader.config.Config`."""
    secret: int = field(default_factory=lambda: secrets.randbits(SECRET_BITS), repr=False)
    """Drawn anew for every grading and never sent to the child: the entropy of the layer tasks' hidden,
    speed and confirmation inputs (:func:`grader.tasks.speed.drawn_inputs`), so that no call into the
    submission can foresee the input of a later one."""
    paces: dict = field(default_factory=dict)
    """Forward task id -> (case description, Timing) of every timed call its own task made in this grading: a
    backward's speed check tells the forward's own pace from work moved into it
    (:func:`grader.tasks.speed.forward_excess`)."""
    raised_in_own_task: set = field(default_factory=set)
    """Forward task ids whose function raised in their own task of this grading: a forward broken for all to
    see, whose failing calls for a backward's cache are not charged to the backward (forward_excess)."""


def outcome(name, points, verdict, failure="", kind=""):
    return Outcome(
        name=name,
        points=points,
        passed=verdict.passed,
        message=verdict.message,
        failure=failure,
        diagnosis=verdict.diagnosis,
        kind=kind,
    )


def returned(result):
    """What a call returned, counted in what the grader decoded: 'N values', None, or the type of the value."""
    count = item_count(result.value)
    if count is not None:
        return f"{count} values"
    return "None" if result.value is None and result.result_type == "builtins.NoneType" else result.result_type


def none_returned(ctx, definition, shown, value, names):
    """The Verdict on a call that returned None where a value was expected, or None if it did not.

    definition: what was called, as the notebook defines it: "conv_forward_naive", or ("ThreeLayerConvNet",
    "loss") for a method; shown: how the message names the call, e.g. "model.loss(X)". value: what the call
    returned, as the grader decoded it; names: the arrays it should return, in order (one name: the value
    itself is that array, e.g. ('dx',); several: a tuple, e.g. ('out', 'cache') or ('dx', 'dw', 'db')).

    "Not implemented yet" is said only when the definition's source, as the grader extracted it, is still
    the course's stub style (see :func:`untouched_stub`); code that computes something and returns None
    is told so, with a hint when it has no ``return`` of a value at all.
    """
    whole = len(names) > 1 and item_count(value) == len(names)
    if value is not None and not (whole and any(item is None for item in value)):
        return None  # a value, none of its items None: the source need not be read
    node = definition_source(ctx, definition)
    stub = node is not None and untouched_stub(node)
    if value is None:
        if stub:
            return Verdict(False, f"not implemented yet: {shown} returned None (its body is still the stub)")
        if node is not None and not _returns_a_value(node):
            return Verdict(False, f"{shown} returned None (did you forget `return`?)")
        return Verdict(False, f"{shown} returned None")
    if whole and stub:
        missing = [name for name, item in zip(names, value) if item is None]
        if missing:
            return Verdict(
                False,
                f"not implemented yet: {shown} returned None as {', '.join(missing)} (its body is still the stub)",
            )
    return None


def definition_source(ctx, definition):
    """The ast node of the last definition of ``definition`` (a name, or (class, method)) among the cells
    the session loads (the last definition wins, as in Restart & Run All), or None."""
    name, method = (definition, None) if isinstance(definition, str) else definition
    found = None
    for cell in getattr(ctx.session, "cells", ()):
        lines = cell["source"].splitlines(keepends=True)
        for first, last, *names in cell["statements"]:
            if names and name in names[0]:
                found = "".join(lines[first - 1 : last])
    tree = _parsed(found) if found is not None else None
    node = next((n for n in (tree.body if tree else ()) if getattr(n, "name", None) == name), None)
    if method is not None and isinstance(node, ast.ClassDef):
        node = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == method), None)
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


@functools.lru_cache(maxsize=16)
def _parsed(source):
    """The ast of a definition's source (parsed once per run, as several checks may ask), or None."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def untouched_stub(function):
    """Whether a function's body is still the course's stub style: nothing but a docstring, ``pass``,
    comments (never in the ast), names bound to constants or to what the stub already wrote (``out =
    None``, ``cache = (x, w, b, conv_param)``, ``W1 = self.params['W1']``), ``if`` on such values, and
    ``return`` of them. Any call, arithmetic, loop or store into an array or attribute is code."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return all(_stub_statement(statement) for statement in body)


def _stub_statement(node):
    if isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return True
    if isinstance(node, ast.Assign):
        return all(_plain_target(t) for t in node.targets) and _inert(node.value)
    if isinstance(node, ast.AnnAssign):
        return _plain_target(node.target) and (node.value is None or _inert(node.value))
    if isinstance(node, ast.Return):
        return node.value is None or _inert(node.value)
    if isinstance(node, ast.If):
        test = node.test
        tested = [test.left, *test.comparators] if isinstance(test, ast.Compare) else [test]
        return all(_inert(t) for t in tested) and all(_stub_statement(s) for s in node.body + node.orelse)
    return False


def _plain_target(target):
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain_target(t) for t in target.elts)


def _inert(node):
    """A value that computes nothing: constants, names, and tuples, lists, dicts, attributes and
    subscripts of them."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_inert(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _inert(k) for k in node.keys) and all(_inert(v) for v in node.values)
    if isinstance(node, ast.Attribute):
        return _inert(node.value)
    if isinstance(node, ast.Subscript):
        return _inert(node.value) and _inert(node.slice)
    return False


def _returns_a_value(function):
    """Whether the function itself (not a function nested in it) has a ``return`` with a value."""
    pending = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            pending.extend(ast.iter_child_nodes(node))
    return False


# What a student reads; the category itself travels as the outcome's reason (grader.report.Reason).
NOT_IMPLEMENTED = "not implemented yet (raises NotImplementedError)"  # a call that raised NotImplementedError
NOT_AWARDED = "not awarded"  # how the message of a check not given its points begins (earned only alongside others)
NOT_RUN = "not run: "  # how the message of a check skipped because an earlier call failed begins (convnet)


def call_failed(name, points, result):
    """The outcome of a check whose call into student code did not return."""
    failure = "timeout" if result.error_kind == "timeout" else "error"
    message = result.message
    if result.where:
        message += f" (at {result.where})"
    reason = Reason.NONE
    if result.error_type == "NotImplementedError":
        message, reason = NOT_IMPLEMENTED, Reason.NOT_IMPLEMENTED
    return Outcome(name=name, points=points, passed=False, message=message, failure=failure, reason=reason)


def earned_only_if(correct, name, points, verdict, kind, what="outputs"):
    """Speed and unmodified-input checks earn points only alongside correct outputs."""
    if not correct:
        return Outcome(
            name,
            points,
            False,
            f"{NOT_AWARDED}: earned only when every {what} check passes",
            kind=kind,
            reason=Reason.NOT_AWARDED,
        )
    return outcome(name, points, verdict, kind=kind)


def public_earned_only_with_hidden(outcomes):
    """``outcomes`` of a task, with its public case "not awarded" unless every hidden case passed too.

    The public case's expected values ship with the notebook, so a right answer to it alone proves nothing.
    A public case whose answer was wrong keeps its own message; a task without any hidden case awards no
    public case (nothing backs it up).
    """
    outcomes = list(outcomes)
    hidden = [o for o in outcomes if o.kind == Kind.HIDDEN]
    failing = sum(not o.passed for o in hidden)
    if hidden and not failing:
        return outcomes
    return [_withheld(o, failing, len(hidden)) if o.kind == Kind.PUBLIC and o.passed else o for o in outcomes]


def _withheld(public, failing, total):
    why = f"{failing} of {total} hidden cases failed" if total else "no hidden case was graded"
    return Outcome(
        public.name,
        public.points,
        False,
        f"{NOT_AWARDED}: a public case earns its points only when every hidden case of the task passes "
        f"too, as its expected values ship with the notebook ({why}); your answer to the public case "
        f"itself was right ({public.message})",
        kind=public.kind,
        reason=Reason.NOT_AWARDED,
    )


def inputs_unchanged(sent, received_after, names):
    """Verdict on whether the student's function left every input as it was: arrays by type, dtype, shape and
    values, everything else (parameter dicts, numbers) by type and value. Exactly the arguments sent must
    come back; no argument at all compares nothing and fails."""
    if len(names) != len(sent):
        raise ValueError(f"inputs_unchanged: {len(names)} names for {len(sent)} arguments")
    if type(received_after) is not tuple or item_count(received_after) != len(sent):
        return Verdict(False, "the arguments did not come back from the call")
    if not sent:
        return Verdict(False, "nothing was compared (no argument)")
    for name, before, after in zip(names, sent, received_after, strict=True):
        if _same_value(before, after):
            continue
        if isinstance(before, np.ndarray):
            return Verdict(
                False,
                f"your function modified its input {name}; work on a copy (np.pad({name}, ...) and {name} - mean "
                f"return new arrays, {name} -= mean writes into the caller's)",
            )
        if isinstance(before, dict):
            return Verdict(False, f"your function changed its input {name}; leave the parameter dict as given")
        return Verdict(False, f"your function changed its input {name}; leave it as given")
    return Verdict(True, "inputs unchanged")


def changed_keys(before, after, ignore=()):
    """The keys of a parameter dict that a call added, removed or changed (compared as :func:`inputs_unchanged`
    compares), sorted, but those in ``ignore``; None if ``after`` is not a dict at all."""
    if type(after) is not dict:
        return None
    keys = (before.keys() | after.keys()) - set(ignore)
    changed = [k for k in keys if k not in before or k not in after or not _same_value(before[k], after[k])]
    return sorted(changed, key=repr)


def _same_value(before, after):
    """Whether ``after`` is ``before`` as it was: the same type at every level, arrays compared by
    :func:`_same_array`, tuples, lists and dicts item by item, scalars by value (NaN equal to NaN). An
    array's truth value is never asked for, and values of different types are different."""
    if type(after) is not type(before):
        return False
    if type(before) is np.ndarray:
        return _same_array(before, after)
    if isinstance(before, (tuple, list)):
        return len(before) == len(after) and all(_same_value(b, a) for b, a in zip(before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same_value(v, after[k]) for k, v in before.items())
    if isinstance(before, (float, np.floating)) and before != before:
        return bool(after != after)  # NaN
    return bool(before == after)


def _same_array(before, after):
    """Same type, dtype, shape and values (NaN equal to NaN)."""
    return (
        type(after) is np.ndarray
        and after.dtype == before.dtype
        and after.shape == before.shape
        and np.array_equal(after, before, equal_nan=True)
    )


def cache_unchanged(before, after, item_names=()):
    """Verdict on whether a backward left its cache as it was: every array and number in it unchanged, none
    removed (items added are not looked at).

    before, after: the cache before and after the call, as the protocol decodes them (tuples, lists and
    dicts are walked; other objects arrive as Opaque). An Opaque anywhere in either cannot be compared, so
    the verdict fails (fail closed), as does a cache with nothing in it to compare. item_names: the items of
    a documented cache, e.g. ('x', 'w', 'b', 'conv_param'), so the message says "x" rather than "item [0]".
    A modified cache gives another answer the next time backward runs on it.
    """
    for value in (before, after):
        found = _first_opaque(value)
        if found is not None:
            path, opaque = found
            where = f"the cache's {_item_name(path, item_names)}" if path else "the cache"
            return Verdict(False, UNCOMPARABLE_CACHE.format(what=opaque.description, where=where))
    leaves = list(_leaves(before))
    if not leaves:
        return Verdict(False, "nothing was compared: the cache holds no array or number")
    for path, item in leaves:
        after_item = _item_at(after, path)
        if after_item is _MISSING:
            return Verdict(
                False,
                f"your backward removed {_item_name(path, item_names)} from the cache; "
                "leave the cache as your forward returned it",
            )
        if _same_value(item, after_item):
            continue
        if type(item) is np.ndarray:
            return Verdict(
                False,
                f"your backward modified the cache ({_item_name(path, item_names)}) in place; "
                "leave it as your forward returned it and write gradients into new arrays "
                "(dx = np.zeros_like(x), not dx = x)",
            )
        return Verdict(
            False,
            f"your backward changed the cache ({_item_name(path, item_names)}); leave it as your forward returned it",
        )
    return Verdict(True, "cache unchanged")


def _first_opaque(value, path=()):
    """(path, Opaque) of the first object in a decoded value that the protocol could only name, or None."""
    if isinstance(value, Opaque):
        return path, value
    items = enumerate(value) if isinstance(value, (tuple, list)) else value.items() if isinstance(value, dict) else ()
    for key, item in items:
        found = _first_opaque(item, path + (key,))
        if found is not None:
            return found
    return None


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


def _leaves(value, path=()):
    """(path, item) for every array and scalar (number, string, None) in a decoded value; a path is the keys
    and indices leading to it."""
    if isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _leaves(item, path + (index,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    else:
        yield path, value


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
