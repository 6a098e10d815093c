"""Run student code in a child process and talk to it with plain arrays.

:class:`Session` is the only thing the checks use: ``session.call("conv_forward_naive", x, w, b, param)``
returns a :class:`CallResult` whatever the student's code does (raises, hangs, exits, crashes).
"""
import contextlib
import shutil
import time
from dataclasses import dataclass, replace

from grader.sandbox import protocol
from grader.sandbox.child import Child, ChildFailure, Limits, SandboxUnavailable, stage_directory

__all__ = ["CallResult", "Session", "Limits", "SandboxUnavailable"]

LOAD_BUDGET_FACTOR = 3  # loading all the definitions may take this many call timeouts
MAX_SKIPPED_STATEMENTS = 5  # statements that hang or crash skipped before loading is given up


@dataclass(frozen=True)
class CallResult:
    """What one call into student code gave."""

    ok: bool
    """True when the call returned (its value may still be wrong)."""
    value: object = None
    """The returned value (only the parts asked for), decoded: arrays are plain numpy arrays."""
    args_after: object = None
    """The arguments as they were after the call, when asked for (to detect modified inputs)."""
    args_before: object = None
    """The arguments as the function received them, when asked for with return_args="both" (a cache kept
    in the child, say); encoded like args_after, so the two compare item by item."""
    arity: int = None
    """len() of the returned tuple or list, None for other values."""
    result_type: str = ""
    """Type name of the returned value, e.g. 'builtins.tuple'."""
    error_kind: str = ""
    """'exception', 'timeout', 'crash' or 'protocol' when ok is False."""
    error_type: str = ""
    """The exception's class name, e.g. 'NotImplementedError'."""
    message: str = ""
    """One line saying what went wrong, for the student."""
    traceback: str = ""
    """The student's frames of the traceback."""
    output: str = ""
    """What the call printed (bounded)."""
    seconds: float = 0.0
    """Wall time of the call as seen by the grader: the round trip, not the start of a replacement child."""


class Session:
    """Student definitions loaded in a child process; the child is replaced after any failure."""

    def __init__(self, cells, limits=None, timeout=10.0, use_bwrap=True):
        self.cells = cells
        self.limits = limits or Limits()
        self.timeout = timeout
        self.use_bwrap = use_bwrap
        self.stage = stage_directory()
        self.child = None
        self.load_errors = []
        self.defined = set()
        self.restarts = 0
        self.load_failure = None
        self.output_log = []
        self.timed_out = {}
        self.skipped = {}  # (cell, statement) -> load error of a statement that hung or killed the child

    @property
    def isolation_used(self):
        """How the child was isolated, or a note that no student code ran."""
        return self.child.isolation if self.child is not None else "no student code was run"

    def ensure_loaded(self):
        """Start the child and load the definitions if needed; a CallResult if that fails, else None."""
        if self.load_failure is None:
            try:
                self._ensure_child()
            except ChildFailure as failure:
                self._record_load_failure(failure)
        return self.load_failure

    def _record_load_failure(self, failure):
        # Loading as a whole broke (the protocol, the load budget, too many statements that hang):
        # every later call would break too.
        budget = self.timeout * LOAD_BUDGET_FACTOR
        reason = (f"your definitions took longer than {budget:g} s to load in all" if failure.kind == "timeout"
                  else failure.message)
        skipped = "".join(f"; skipped: {e['filename']} line {e['line']} ({e['kind']})" for e in self.skipped.values())
        self.load_failure = CallResult(ok=False, error_kind=failure.kind, message=f"loading your definitions: {reason}{skipped}")

    def take_output(self):
        """What student code printed since the last call of this method."""
        text, self.output_log = "".join(self.output_log), []
        return text

    def _ensure_child(self):
        if self.child is not None and self.child.alive():
            return self.child
        # One budget for the whole load, restarts after a skipped statement included; starting a child
        # is not the submission's time and is added back.
        deadline = time.monotonic() + self.timeout * LOAD_BUDGET_FACTOR
        while True:
            first = self.child is None
            if not first:
                self.child.cleanup()
                self.restarts += 1
                self._restage()  # the fallback child could write into the old stage
            self.child = Child(self.stage, self.limits)
            started = time.monotonic()
            try:
                self.child.start(self.use_bwrap)
            except SandboxUnavailable as exc:
                if first:
                    raise  # no student code has run: the machine's problem, so no grade
                raise ChildFailure("crash", f"the process running your code could not be restarted after "
                                            f"your code ran ({exc})") from None
            deadline += time.monotonic() - started
            if self._load(deadline):
                return self.child

    def _restage(self):
        shutil.rmtree(self.stage, ignore_errors=True)
        self.stage = stage_directory()

    def _load(self, deadline):
        """Load the definitions one statement at a time, each with its own deadline. A statement that hangs
        or kills the child is skipped from then on, so it costs only what it defines; returns False when
        the child must be restarted without it."""
        errors, defined, sent = [], None, set()
        for cell_index, cell in enumerate(self.cells):
            for statement_index, statement in enumerate(cell["statements"]):
                key = (cell_index, statement_index)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ChildFailure("timeout", "loading took longer than its budget")
                if key in self.skipped:
                    errors.append(self.skipped[key])
                    request = {"op": "forget", "names": self.skipped[key]["defines"]}
                    header, _ = self.child.request(request, timeout=min(self.timeout, remaining))
                    defined = header.get("defined", defined)
                    continue
                # The cell's source travels with its first statement only; the child keeps it.
                part = {"filename": cell["filename"], "statements": [statement]}
                if cell_index not in sent:
                    part["source"] = cell["source"]
                    sent.add(cell_index)
                try:
                    header, _ = self.child.request({"op": "load", "cells": [part]},
                                                   timeout=min(self.timeout, remaining))
                except ChildFailure as failure:
                    if failure.kind == "protocol":
                        raise
                    if failure.kind == "timeout" and self.timeout > remaining:
                        raise ChildFailure("timeout", "loading took longer than its budget") from None
                    if len(self.skipped) >= MAX_SKIPPED_STATEMENTS:
                        raise ChildFailure(failure.kind, f"{MAX_SKIPPED_STATEMENTS} statements hung or killed the "
                                                         f"process while loading; giving up") from None
                    self.skipped[key] = _skipped_statement(cell, statement, failure, self.timeout)
                    return False
                if isinstance(header.get("errors"), list):
                    errors.extend(e for e in header["errors"] if isinstance(e, dict))
                defined = header.get("defined", defined)
        self.load_errors = errors
        self.defined = {d for d in defined if isinstance(d, str)} if isinstance(defined, list) else set()
        return True

    def call(self, target, *args, kwargs=None, keep=None, send="all", return_args=False, seed=0, timeout=None):
        """Call ``target`` (a name, or (handle, attribute)) in the child with plain values as arguments."""
        tree, arrays = protocol.encode({"args": tuple(args), "kwargs": dict(kwargs or {})})
        if target in self.timed_out:
            return self.timed_out[target]
        key, target = target, {"name": target} if isinstance(target, str) else {"handle": target[0], "attr": target[1]}
        header = {
            "op": "call", "target": target, "args": tree["d"]["args"], "kwargs": tree["d"]["kwargs"],
            "keep": keep, "send": send, "return_args": return_args, "seed": seed,
        }
        result = self._request(header, arrays, timeout, wrapped=True)
        if result.error_kind == "timeout":
            # It would hang again: later calls of the same function fail at once with the same message.
            skipped = f"not run: {key if isinstance(key, str) else key[1]} already timed out in an earlier check ({result.message})"
            self.timed_out[key] = replace(result, message=skipped, seconds=0.0)
        return result

    def get_attribute(self, handle, attr, timeout=None):
        return self._request({"op": "getattr", "handle": handle, "attr": attr}, (), timeout)

    def set_attribute(self, handle, attr, value, timeout=None):
        tree, arrays = protocol.encode(value)
        return self._request({"op": "setattr", "handle": handle, "attr": attr, "value": tree}, arrays, timeout)

    def train(self, handle, data, solver_options, seed=0, timeout=None):
        """Train the model kept under ``handle`` with the provided Solver; value: {'params', 'loss_history'}."""
        data_tree, arrays = protocol.encode({"data": data, "solver": solver_options})
        header = {"op": "train", "handle": handle, "data": data_tree["d"]["data"],
                  "solver": data_tree["d"]["solver"], "seed": seed}
        return self._request(header, arrays, timeout)

    def _request(self, header, arrays, timeout, wrapped=False):
        if self.load_failure is not None:
            return self.load_failure
        timeout = self.timeout if timeout is None else timeout
        try:
            child = self._ensure_child()
        except ChildFailure as failure:
            self._record_load_failure(failure)
            return self.load_failure
        start = time.perf_counter()  # after a restart: the call's time is the call's own, as speed checks need
        try:
            reply, reply_arrays = child.request(header, arrays, timeout)
            result = _result(reply, reply_arrays, time.perf_counter() - start, wrapped)
            if result.output:
                self.output_log.append(result.output)
            return result
        except ChildFailure as failure:
            return CallResult(ok=False, error_kind=failure.kind, message=_failure_message(failure, timeout),
                              seconds=time.perf_counter() - start)

    @contextlib.contextmanager
    def paused(self):
        """Stop every process of the submission for the duration of a ``with`` block (see Child.paused)."""
        if self.child is None:
            yield
            return
        if not self.child.alive():
            self.child.kill()  # what a dead child left running would otherwise run on, unpaused
        with self.child.paused():
            yield

    def close(self):
        if self.child is not None:
            self.child.cleanup()
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _skipped_statement(cell, statement, failure, timeout):
    """The load error of a statement that hung or killed the child."""
    names = statement[2] if len(statement) > 2 and isinstance(statement[2], list) else []
    kind = "Timeout" if failure.kind == "timeout" else "Crash"
    return {"filename": cell["filename"], "line": statement[0], "defines": names, "type": kind,
            "kind": failure.kind, "message": _failure_message(failure, timeout) + "; this statement was skipped"}


def _failure_message(failure, timeout):
    if failure.kind == "timeout":
        return f"your code did not finish within {timeout:g} s (infinite loop?)"
    return failure.message


def _result(reply, arrays, seconds, wrapped):
    output = str(reply.get("output", ""))
    if not reply.get("ok"):
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        kind, name = "exception", str(error.get("type", "Exception"))
        return CallResult(ok=False, error_kind=kind, error_type=name,
                          message=f"{name}: {str(error.get('message', ''))[:300]}".rstrip(": "),
                          traceback=str(error.get("traceback", "")), output=output, seconds=seconds)
    try:
        values = protocol.decode(reply.get("values", {"v": None}), arrays)
    except (protocol.ProtocolError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        return CallResult(ok=False, error_kind="protocol", message=f"unreadable answer ({exc})", seconds=seconds)
    value, args_after, args_before = values, None, None
    if wrapped:
        if not isinstance(values, dict):
            return CallResult(ok=False, error_kind="protocol", message="unreadable answer", seconds=seconds)
        value, args_after, args_before = values.get("result"), values.get("args"), values.get("args_before")
    arity = reply.get("arity")
    return CallResult(ok=True, value=value, args_after=args_after, args_before=args_before,
                      arity=arity if type(arity) is int else None,
                      result_type=str(reply.get("result_type", ""))[:200], output=output, seconds=seconds)
