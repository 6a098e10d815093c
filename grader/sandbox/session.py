"""A submission's definitions loaded in the sandbox, one fresh fork per task: what the checks talk to.

:class:`Session` is the only thing the checks use: ``session.call("conv_forward_naive", x, w, b, param)``
returns a :class:`CallResult` whatever the student's code does (raises, hangs, exits, crashes, forges
its replies). Each task runs in a fresh fork of a template process that never runs student code
(:meth:`Session.begin_task`), so nothing one task's code leaves behind reaches another. The whole
submission has one budget: of restarts, of loading time, of wall time in student code, and of bytes sent
back; once it is spent, every later call fails at once with a message saying which.
"""

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, replace

from grader import boundary
from grader.sandbox import protocol
from grader.sandbox.confine import remove_tree
from grader.sandbox.launcher import WORK_BYTES
from grader.sandbox.supervisor import (
    MAX_WORK_ENTRIES,
    ChildFailure,
    Death,
    Limits,
    ReplyBudget,
    Sandbox,
    SandboxUnavailable,
    stage_directory,
)

LOAD_BUDGET_FACTOR = 3  # loading the definitions into one task's fork may take this many call timeouts
MAX_SKIPPED_STATEMENTS = 5  # statements that hang or crash skipped before loading is given up
MAX_RESTARTS = 16  # forks (or whole sandboxes) replaced after a crash, timeout or broken protocol, per submission
SUBMISSION_SECONDS = 600.0  # wall time a submission's code may take in all: calls, loading, training
OUTPUT_PER_TASK = 16 * 1024  # characters of student prints kept per task
# Load errors of a first load above which later forks still load one statement at a time: loading all at
# once answers with every error in one reply, whose header the protocol bounds (1 MiB).
MAX_ERRORS_AT_ONCE = 20
WROTE_TOO_MUCH = (
    f"your code wrote more than {WORK_BYTES >> 20} MiB (or {MAX_WORK_ENTRIES} files) into its "
    f"folder, the limit of what it may write"
)
AT_ONCE_SLACK = 2  # loading all at once may take this many times the measured one-at-a-time load, plus a timeout
# Once a call of a submission has hung (timed out), every later call of it may work this many seconds (on a CPU
# or blocked, as grader.sandbox.clock counts: the machine's load does not bring it closer); a right answer to
# any call but training takes well under a second of work, so no correct task is charged for another's hang,
# and a submission that hangs everywhere costs one timeout and a few seconds per task, not a timeout each.
HUNG_CALL_WORK = 5.0
HUNG_AGAIN = (
    f"your code did not finish within {HUNG_CALL_WORK:g} s of work (infinite loop?): once a call of a submission "
    f"has hung, its later calls get {HUNG_CALL_WORK:g} s (a right answer takes well under one)"
)
# Seconds to wait, after a fork's connection broke, for the template's report that it exited, before it is
# killed: a report means it died on its own (honest reports take milliseconds).
EXIT_REPORT_WAIT = 1.0


@dataclass(frozen=True)
class CallResult:
    """What one call into student code gave, as the grader decoded it."""

    ok: bool
    """True when the call returned (its value may still be wrong)."""
    value: object = None
    """The returned value (only the parts asked for), decoded: arrays are plain numpy arrays."""
    args_after: object = None
    """The arguments as they were after the call, when asked for (to detect modified inputs)."""
    args_before: object = None
    """The arguments as the function received them, when asked for with return_args="both" (a cache kept
    in the child, say); encoded like args_after, so the two compare item by item."""
    arity: int | None = None
    """How many items the returned tuple or list had, counted by the grader in what it decoded (items it
    did not ask for arrive as protocol.Opaque); None for other values."""
    result_type: str = ""
    """Type name of the returned value as the child described it (printable, bounded), e.g. 'builtins.tuple'."""
    error_kind: str = ""
    """'exception', 'timeout', 'crash' or 'protocol' when ok is False."""
    error_type: str = ""
    """The exception's class name, e.g. 'NotImplementedError' (printable, bounded)."""
    message: str = ""
    """One line saying what went wrong, for the student (printable, bounded)."""
    traceback: str = ""
    """The student's frames of the traceback (printable, bounded)."""
    where: str = ""
    """Where the exception was raised in the student's code, e.g. '<nb.ipynb cell 23> line 12: dx[n] += 1':
    the innermost frame in a cell, its line read from the grader's copy of the cell; "" if none."""
    output: str = ""
    """What the call printed (printable, bounded)."""
    work_limit_hit: bool = False
    """The call was stopped because it worked longer than it was given (Session.train's work_limit, or
    HUNG_CALL_WORK once the submission has hung)."""
    seconds: float = 0.0
    """Seconds the call worked, as the kernel counts them from the grader's side: its round trip less the time
    the fork and the grader waited for a CPU and the grader's own work in it (grader.sandbox.clock), so the
    machine's load hardly changes it; the plain round trip where that cannot be measured or the call was not
    ``timed`` (Session.call). Never the start of a replacement fork."""


class Session:
    """Student definitions loaded in a fork of the sandbox's template, one fork per task."""

    def __init__(self, cells=(), limits=None, timeout=10.0, use_bwrap=True, budget_seconds=SUBMISSION_SECONDS):
        self.define(cells)
        self.limits = limits or Limits()
        self.timeout = timeout
        self.use_bwrap = use_bwrap
        self.stage = stage_directory()
        self.sandbox = None
        self.launched = None  # a template started by launch(), not yet waited for: the first fork's
        self.channel = None  # the current task's fork
        self.task = None
        self.fresh_fork = True  # the next fork is a task's first, not a restart
        self.load_errors = []
        self.defined = set()
        self.restarts = 0
        self.load_failure = None
        self.output_log, self.output_kept = [], 0
        self.failed_targets = {}  # target -> the CallResult of its timeout or crash: not called again
        self.hung = False  # a call timed out: later calls get HUNG_CALL_WORK seconds of work
        self.skipped = {}  # (cell, statement) -> load error of a statement that hung or killed the child
        self.replies = ReplyBudget()
        self.budget_seconds = budget_seconds
        self.spent_seconds = 0.0
        self.last_call = None  # the target of the last call the fork answered
        self.load_at_once = (
            False  # every statement loaded one at a time once, none skipped: later forks load all in one request
        )
        self.load_seconds = 0.0  # how long that one-at-a-time load took: loading all at once is given about as long
        self.last_death = None  # how the fork of the last request that crashed ended (a Death)
        self.load_retried = set()  # statements run again after the system killed the fork loading them

    def define(self, cells: list | tuple) -> None:
        """The submission's cells (grader.extract's), loaded into each task's fork; before the first task."""
        self.cells = cells
        self.sources = {cell["filename"]: cell["source"] for cell in cells}  # where an error's line is read

    def launch(self) -> None:
        """Start the template now without waiting for it: the first fork waits for its answer, so its start
        (a python importing numpy, under bubblewrap) runs on another core while the grader reads the
        submission. A template that cannot start says so at the first fork, as one started there would."""
        if self.sandbox is None and self.launched is None:
            self.launched = Sandbox(self.stage, self.limits)
            self.launched.launch(self.use_bwrap)

    @property
    def isolation_used(self) -> str:
        """How the child was isolated, or a note that no student code ran."""
        return self.sandbox.isolation if self.sandbox is not None else "no student code was run"

    def begin_task(self, task_id: str) -> None:
        """Grade ``task_id`` next: its calls go to a fresh fork, with nothing an earlier task left behind."""
        self._end_fork()
        if self.load_failure is not None and self.load_failure.error_kind == "timeout":
            self.load_failure = None  # a load over its budget is that fork's: the next task loads anew
        self.task, self.fresh_fork, self.last_call = task_id, True, None
        self.output_log, self.output_kept = [], 0

    def ensure_loaded(self) -> "CallResult | None":
        """Start a fork and load the definitions if needed; a CallResult if that fails, else None."""
        if self.load_failure is None:
            try:
                self._ensure_fork()
            except ChildFailure as failure:
                self._record_load_failure(failure)
        return self.load_failure

    def take_output(self) -> str:
        """What student code printed since the last call of this method (bounded per task)."""
        text, self.output_log = "".join(self.output_log), []
        return text

    # -- forks --------------------------------------------------------------------------------------

    def _ensure_fork(self):
        if self.channel is not None and not self.channel.closed:
            if self.channel.idle():
                return self.channel
            self._blame_last_call()
            self.channel.close()  # it died between calls, or wrote what nobody asked for: replace it
        # One budget for this load, restarts after a skipped statement included; starting a new sandbox
        # is not the submission's time and is added back.
        deadline, starting = time.monotonic() + self._load_budget(), 0.0
        while True:
            if self.channel is not None or not self.fresh_fork:
                self._count_restart()
            self._end_fork()
            self.fresh_fork = False
            started = time.monotonic()
            self.channel = self._new_fork()
            starting += time.monotonic() - started
            if self._load(deadline + starting):
                return self.channel

    def _blame_last_call(self):
        """The fork died after its last answer or sent bytes nobody asked for: what the last call started
        did it (a thread, a process). That function is not called again, so it cannot spend the
        submission's restarts, and neighbouring tasks, one call at a time."""
        key, self.last_call = self.last_call, None
        if key is not None and key not in self.failed_targets:
            name = key if isinstance(key, str) else key[1]
            self.failed_targets[key] = CallResult(
                ok=False,
                error_kind="crash",
                message=f"not run: after {name} returned in an earlier check, the process running it died or sent "
                f"data nobody asked for (a thread or process your code started?)",
            )

    def _count_restart(self):
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise ChildFailure(
                "crash",
                f"your code crashed, hung or broke the process running it "
                f"{MAX_RESTARTS} times; nothing more of it is run",
            )

    def _new_fork(self):
        """A fork of the template, starting (or replacing) the template if it is gone."""
        if self.sandbox is not None and self.sandbox.alive():
            try:
                return self.sandbox.fork(self.replies)
            except ChildFailure:
                pass  # the template died or stopped answering: replace the whole sandbox
        first = self.sandbox is None
        if not first:
            self.sandbox.cleanup()
            self._restage()  # the fallback's stage is writable by the child
        self.sandbox, self.launched = self.launched or Sandbox(self.stage, self.limits), None
        try:
            self.sandbox.start(self.use_bwrap)
        except SandboxUnavailable as exc:
            if first:
                raise  # no student code has run: the machine's problem, so no grade
            raise ChildFailure(
                "crash", f"the process running your code could not be restarted after your code ran ({exc})"
            ) from None
        return self.sandbox.fork(self.replies)

    def _end_fork(self):
        """Kill the current fork and everything it started; the fork's exit code, or None."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.sandbox is None:
            return None
        try:
            return self.sandbox.end_task()
        except ChildFailure:
            self.sandbox.kill()  # the template is stopped or gone: the next fork replaces it
            return None

    def _restage(self):
        remove_tree(self.stage)
        self.stage = stage_directory()

    def _load_budget(self):
        """The budget of one load: LOAD_BUDGET_FACTOR call timeouts for each fork that loads the definitions
        (honest loads take milliseconds), so slow but honest definitions loaded again after another task's
        crash cost that task's restarts nothing of a neighbour's load. Every load is also charged to the
        submission's time in all (SUBMISSION_SECONDS), which bounds the whole grading."""
        return min(self.timeout * LOAD_BUDGET_FACTOR, self._remaining())

    def _remaining(self):
        return self.budget_seconds - self.spent_seconds

    # -- loading ------------------------------------------------------------------------------------

    def _record_load_failure(self, failure):
        # Loading as a whole broke (the protocol, the load budget, too many statements that hang, the
        # restart budget): every later call would break too.
        budget = self.timeout * LOAD_BUDGET_FACTOR
        reason = (
            f"your definitions took longer than {budget:g} s to load" if failure.kind == "timeout" else failure.message
        )
        skipped = "".join(f"; skipped: {e['filename']} line {e['line']} ({e['kind']})" for e in self.skipped.values())
        self.load_failure = CallResult(
            ok=False,
            error_kind=failure.kind,
            message=boundary.printable(f"loading your definitions: {reason}{skipped}"),
        )

    def _load(self, deadline):
        """Load the definitions one statement at a time, each with its own deadline. A statement that hangs
        or kills the fork is skipped from then on, so it costs only what it defines; returns False when
        the fork must be replaced without it.

        Once every statement has loaded that way with none skipped (the first fork of an honest submission),
        later forks load them all in one request (:meth:`_load_all_at_once`): the same statements in the
        same order, with the load errors the one-at-a-time load found."""
        if self.load_at_once:
            return self._load_all_at_once(deadline)
        errors, defined, sent, began = [], None, set(), time.monotonic()
        for cell_index, cell in enumerate(self.cells):
            for statement_index, statement in enumerate(cell["statements"]):
                key = (cell_index, statement_index)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ChildFailure("timeout", "loading took longer than its budget")
                if key in self.skipped:
                    errors.append(self.skipped[key])
                    header, _ = self._timed_request(
                        {"op": "forget", "names": self.skipped[key]["defines"]}, (), min(self.timeout, remaining)
                    )
                    defined = header.get("defined", defined)
                    continue
                # The cell's source travels with its first statement only; the fork keeps it.
                part = {"filename": cell["filename"], "statements": [statement]}
                if cell_index not in sent:
                    part["source"] = cell["source"]
                    sent.add(cell_index)
                try:
                    header, _ = self._timed_request({"op": "load", "cells": [part]}, (), min(self.timeout, remaining))
                except ChildFailure as failure:
                    if failure.kind == "protocol":
                        raise
                    if failure.kind == "timeout" and self.timeout > remaining:
                        raise ChildFailure("timeout", "loading took longer than its budget") from None
                    if len(self.skipped) >= MAX_SKIPPED_STATEMENTS:
                        raise ChildFailure(
                            failure.kind,
                            f"{MAX_SKIPPED_STATEMENTS} statements hung or killed the process while loading; giving up",
                        ) from None
                    message = self._describe(failure, self.timeout)  # a statement's own deadline: it was not the budget
                    if self._retry_after(self.last_death) and key not in self.load_retried:
                        self.load_retried.add(key)  # killed by the system: run once more (a restart) before skipping
                        return False
                    self.skipped[key] = _skipped_statement(cell, statement, failure.kind, message)
                    return False
                errors.extend(boundary.load_errors(header.get("errors"), cell, statement))
                defined = header.get("defined", defined)
        self.load_errors = errors
        self.defined = boundary.names(defined)
        self.load_at_once = not self.skipped and len(errors) <= MAX_ERRORS_AT_ONCE
        self.load_seconds = time.monotonic() - began
        return True

    def _load_all_at_once(self, deadline):
        """Every statement in one request (one round trip instead of one per statement). Should it hang, kill
        the fork or break the protocol, which the same statements did not do one at a time, loading goes back
        to one statement at a time in a new fork, so the culprit is found and skipped (or the protocol
        failure reported) as before."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChildFailure("timeout", "loading took longer than its budget")
        allowed = self.timeout + AT_ONCE_SLACK * self.load_seconds  # as one statement, plus the measured load
        try:
            header, _ = self._timed_request({"op": "load", "cells": list(self.cells)}, (), min(allowed, remaining))
        except ChildFailure:
            self.load_at_once = False
            self._end_fork()
            return False
        self.defined = boundary.names(header.get("defined"))
        return True

    def _timed_request(self, header, arrays, timeout):
        """One request to the current fork, charged to the submission's time budget."""
        start = time.monotonic()
        try:
            return self.channel.request(header, arrays, timeout)
        finally:
            self.spent_seconds += time.monotonic() - start

    def _describe(self, failure, timeout):
        """The student's message for a ChildFailure of a request given ``timeout`` seconds. The fork is ended
        at once (a hung one must not run on while the grader works); how a dead fork ended comes from the
        template (and is kept in ``last_death``)."""
        self.last_death = None
        if failure.kind == "crash" and not failure.message:
            self.last_death = self._death()
            return self.last_death.message
        self._end_fork()
        if failure.kind == "timeout":
            return f"your code did not finish within {timeout:g} s (infinite loop?)"
        return failure.message

    def _death(self):
        """How the current fork, whose connection broke, ended; the fork is ended. Whether it exited on its
        own is asked of the template before anything is killed; the memory figures, before the next fork."""
        sandbox = self.sandbox
        report = sandbox.wait_for_exit(EXIT_REPORT_WAIT) if sandbox is not None and sandbox.alive() else None
        memory_hit = sandbox is not None and sandbox.memory_limit_hit()
        peak = sandbox.memory_peak() if sandbox is not None else None
        code = self._end_fork()
        if report is None:
            return Death(code=None, memory_hit=memory_hit)
        return Death(
            code=report.status if report.status is not None else code,
            on_its_own=True,
            memory_hit=memory_hit,
            cpu_seconds=report.cpu,
            cpu_limit=float(self.limits.cpu_seconds),
            peak_bytes=peak if peak is not None else report.maxrss,
            memory_limit=self.limits.memory_bytes,
        )

    # -- calls --------------------------------------------------------------------------------------

    def call(
        self,
        target: str | tuple[str, str],
        *args: object,
        kwargs: dict | None = None,
        keep: str | None = None,
        send: str | list[int] = "all",
        return_args: bool | str = False,
        seed: int = 0,
        timeout: float | None = None,
        timed: bool = False,
    ) -> CallResult:
        """Call ``target`` (a name, or (handle, attribute)) in the fork with plain values as arguments.
        ``timed``: the result's seconds are the call's work, read from the kernel (two readings of a few /proc
        files, a tenth of a call's cost); otherwise its round trip (only the speed checks read them)."""
        key = target if isinstance(target, str) else tuple(target)
        if key in self.failed_targets:
            return self.failed_targets[key]
        tree, arrays = protocol.encode({"args": tuple(args), "kwargs": dict(kwargs or {})})
        header = {
            "op": "call",
            "target": {"name": target} if isinstance(target, str) else {"handle": target[0], "attr": target[1]},
            "args": tree["d"]["args"],
            "kwargs": tree["d"]["kwargs"],
            "keep": keep,
            "send": send,
            "return_args": return_args,
            "seed": seed,
        }
        result = self._request(header, arrays, timeout, wrapped=True, timed=timed)
        if self._retry_after(self.last_death) and isinstance(target, str) and not _refers_to_handles((args, kwargs)):
            result = self._retried(result, header, arrays, timeout, timed)
        self.last_call = key if result.ok or result.error_kind == "exception" else None
        if result.error_kind in ("timeout", "crash", "protocol"):
            # It would hang, crash or break the protocol again: later calls of the same function fail at
            # once with the same message (and cost no restart).
            name = key if isinstance(key, str) else key[1]
            verb = {
                "timeout": "timed out",
                "crash": "crashed the process running it",
                "protocol": "broke the protocol",
            }[result.error_kind]
            self.failed_targets[key] = replace(
                result, seconds=0.0, message=f"not run: {name} already {verb} in an earlier check ({result.message})"
            )
        return result

    @staticmethod
    def _retry_after(death):
        """Whether a request whose fork ended as ``death`` is run once more: the system killed it, none of the
        submission's limits did. A call that uses what an earlier call left in the fork (a handle) is not,
        as the new fork does not hold it."""
        return death is not None and death.killed_by_system

    def _retried(self, first, header, arrays, timeout, timed):
        """The call run once more in a new fork (a restart, counted against the submission's budget; never
        retried again). Its time is both runs' together, so a run killed on purpose buys no speed."""
        again = self._request(header, arrays, timeout, wrapped=True, timed=timed)
        killed_again = self.last_death is not None and self.last_death.killed_by_system
        self.last_death = None
        message = f"{again.message} (it was run twice and killed both times)" if killed_again else again.message
        return replace(again, seconds=first.seconds + again.seconds, message=message)

    def get_attribute(self, handle: str, attr: str, timeout: float | None = None) -> CallResult:
        return self._request({"op": "getattr", "handle": handle, "attr": attr}, (), timeout)

    def set_attribute(self, handle: str, attr: str, value: object, timeout: float | None = None) -> CallResult:
        tree, arrays = protocol.encode(value)
        return self._request({"op": "setattr", "handle": handle, "attr": attr, "value": tree}, arrays, timeout)

    def train(
        self,
        handle: str,
        data: dict,
        solver_options: dict,
        seed: int = 0,
        timeout: float | None = None,
        work_limit: float | None = None,
    ) -> CallResult:
        """Train the model kept under ``handle`` with the provided Solver; value: {'params', 'loss_history'}.
        ``work_limit``: seconds of work the training may take (on a CPU or blocked, not waiting for one: see
        grader.sandbox.clock; the fork is stopped beyond them, CallResult.work_limit_hit), besides the
        ``timeout`` of wall time."""
        data_tree, arrays = protocol.encode({"data": data, "solver": solver_options})
        header = {
            "op": "train",
            "handle": handle,
            "data": data_tree["d"]["data"],
            "solver": data_tree["d"]["solver"],
            "seed": seed,
        }
        return self._request(header, arrays, timeout, work_limit=work_limit)

    def _request(self, header, arrays, timeout, wrapped=False, work_limit=None, timed=False):
        self.last_death = None
        if self.load_failure is not None:
            return self.load_failure
        try:
            self._ensure_fork()
        except ChildFailure as failure:
            self._record_load_failure(failure)
            return self.load_failure
        self.last_death = None  # a death while loading (the statement's own, handled there) is not this call's
        remaining = self._remaining()
        if remaining <= 0:
            return CallResult(
                ok=False,
                error_kind="timeout",
                message=f"not run: your code used up the {self.budget_seconds:g} s it may take in all",
            )
        timeout = min(self.timeout if timeout is None else timeout, remaining)
        after_a_hang = work_limit is None and self.hung
        work_limit = HUNG_CALL_WORK if after_a_hang else work_limit
        clock = self.sandbox.work_clock if timed or work_limit is not None else None
        # The watch's thread starts before the first reading: a thread started during the call would make
        # the call's work its round trip (grader.sandbox.clock counts every process or thread started).
        watch = _WorkWatch(clock, work_limit) if work_limit is not None and clock is not None else None
        before = clock.read() if clock is not None else None
        if watch is not None:
            watch.begin(before)
        start = time.perf_counter()  # after a restart: the call's time is the call's own, as speed checks need
        try:
            reply, reply_arrays = self._timed_request(header, arrays, timeout)
        except ChildFailure as failure:
            seconds = time.perf_counter() - start
            if watch is not None and watch.stop():
                self._end_fork()
                self.hung = True
                message = HUNG_AGAIN if after_a_hang else f"stopped after {work_limit:.1f} s of work, its limit"
                return CallResult(ok=False, error_kind="timeout", message=message, seconds=seconds, work_limit_hit=True)
            self.hung = self.hung or failure.kind == "timeout"
            return CallResult(
                ok=False, error_kind=failure.kind, message=self._describe(failure, timeout), seconds=seconds
            )
        if watch is not None and watch.stop():
            self._end_fork()  # answered as the limit was reached, and killed: the next call gets a new fork
        seconds = time.perf_counter() - start
        if clock is not None:
            work = clock.work_seconds(before, clock.read(ending=True))
            seconds = seconds if work is None else min(work, seconds)
        if self.sandbox.wrote_too_much():
            self._end_fork()  # the template empties the folder
            return CallResult(ok=False, error_kind="crash", message=WROTE_TOO_MUCH, seconds=seconds)
        result = boundary.call_result(CallResult, reply, reply_arrays, seconds, wrapped, self.load_errors, self.sources)
        self._keep_output(result.output)
        return result

    def _keep_output(self, text):
        room = OUTPUT_PER_TASK - self.output_kept
        if text and room > 0:
            self.output_log.append(text[:room])
            self.output_kept += min(len(text), room)

    @contextlib.contextmanager
    def paused(self):
        """Stop every process of the current task for the duration of a ``with`` block (Sandbox.paused)."""
        if self.sandbox is None or not self.sandbox.alive():
            yield
            return
        with self.sandbox.paused():
            yield

    def close(self) -> None:
        self._end_fork()
        for sandbox in (self.sandbox, self.launched):
            if sandbox is not None:
                sandbox.cleanup()
        remove_tree(self.stage)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _WorkWatch:
    """Kills the fork of a running call once the call has worked ``limit`` seconds (WorkClock.work_since: on
    a CPU or blocked, not waiting for a CPU, so the machine's load does not bring the limit closer)."""

    POLL = 0.1  # seconds between two looks at the call's work

    def __init__(self, clock, limit):
        self.clock, self.before, self.limit = clock, None, limit
        self.begun, self.done, self.hit = threading.Event(), threading.Event(), False
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def begin(self, before):
        """Start counting the call's work from the reading ``before`` (None: nothing can be counted)."""
        self.before = before
        self.begun.set()

    def _watch(self):
        while not self.begun.wait(self.POLL):
            if self.done.is_set():
                return
        if self.before is None:
            return
        while not self.done.wait(self.POLL):
            used = self.clock.work_since(self.before)
            if used is not None and used > self.limit:
                self.hit = True
                with contextlib.suppress(OSError):
                    os.kill(self.clock.fork_pid, signal.SIGKILL)
                return

    def stop(self):
        """Stop watching; whether the limit was hit."""
        self.done.set()
        self.begun.set()
        self.thread.join()
        return self.hit


def _refers_to_handles(value, depth=0):
    """Whether arguments hold a protocol.Ref: a value an earlier call left in the fork."""
    if isinstance(value, protocol.Ref) or depth > protocol.MAX_DEPTH:
        return True
    if isinstance(value, (tuple, list)):
        return any(_refers_to_handles(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(_refers_to_handles(item, depth + 1) for item in value.values())
    return False


def _skipped_statement(cell, statement, kind, message):
    """The load error of a statement that hung or killed the fork."""
    names = statement[2] if len(statement) > 2 and isinstance(statement[2], list) else []
    return {
        "filename": cell["filename"],
        "line": statement[0],
        "defines": names,
        "type": kind.capitalize(),
        "kind": kind,
        "message": boundary.printable(message + "; this statement was skipped"),
    }
