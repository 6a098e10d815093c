"""The child: a template process that never runs student code, and one fork of it per task.

It runs in a sandbox holding this file, ``protocol.py``, a copy of the ``assignment`` package (without
stored expectations) and numpy, started as ``python -I -S -B worker.py LIB [SCRATCH...]``: LIB is the
folder holding numpy (and nothing else), SCRATCH the writable folders emptied after every task (by
default the working folder). No
site-packages is on ``sys.path``.

The template imports numpy and ``assignment``, makes itself non-dumpable (a process of the submission,
same uid, cannot ptrace it or read its memory) and a child subreaper (every process a task starts stays
its descendant, so the grader finds and kills them all), then answers the grader on its control socket
(fd 0):

- ``{"op": "ping"}``: answered with ``{"ok": true, "pid": ...}`` (its pid as it sees it);
- ``{"op": "fork"}`` with a socket passed alongside (SCM_RIGHTS): it forks; the fork closes the control
  socket and serves that task's requests on the new socket; the template answers
  ``{"event": "started", "pid": ...}``; when the fork itself exits it reports ``{"event": "exited",
  "status", "maxrss", "cpu"}`` at once; it waits until the fork *and every process it started* are gone
  (the grader kills them), empties the scratch folders and answers ``{"event": "ended", ...}`` (the
  same fields).

So no state a task's code leaves behind (patched modules, profilers, threads, signal handlers, atexit
hooks, files) reaches another task. A fork's requests (header fields; every reply echoes ``id``):

- ``{"op": "load", "cells": [{"filename", "source", "statements": [[first_line, last_line, names], ...]}]}``
  (``source`` may be left out once a cell's source has been sent)
- ``{"op": "call", "target": {"name": n} | {"handle": h, "attr": a}, "args": tree, "kwargs": tree,
  "keep": handle or null, "send": "all" | "none" | [indices], "return_args": bool | "both", "seed": int}``
  (``return_args``: send the arguments back as they are after the call; "both": as they were before, too)
- ``{"op": "getattr" | "setattr", "handle": h, "attr": a, "value": tree}``
- ``{"op": "forget", "names": [...]}``: drop names (those of a statement the grader skips)
- ``{"op": "train", "handle": h, "data": tree, "solver": tree, "seed": int}``

Student code runs in the fork and can rewrite anything in it, this module included: the grader treats
every reply as hostile bytes and believes nothing it says about itself.
"""

import contextlib
import ctypes
import functools
import io
import json
import linecache
import os
import random
import socket
import stat
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
# The grader's spec for confine.apply, beside this file (absent: none); the same name as launcher.SPEC_FILE,
# written again here because this file runs alone in the sandbox (standard library and numpy only).
CONFINEMENT_FILE = "confine.json"


def _read_spec():
    try:
        with open(os.path.join(_HERE, CONFINEMENT_FILE)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


SPEC = _read_spec() if __name__ == "__main__" else {}
if __name__ == "__main__":
    # The stage, the folder holding numpy, and the interpreter's standard library (or the stage's copy of
    # it, where the unprivileged uid could not reach the original): never site-packages.
    _stdlib = SPEC.get("stdlib") or [p for p in sys.path if p and p != _HERE and "-packages" not in p]
    sys.path[:] = [_HERE, sys.argv[1]] + _stdlib
    if SPEC.get("stdlib"):  # packages imported at startup (encodings...) look for their modules in the copy too
        _original = SPEC["stdlib_original"].rstrip("/") + "/"
        for _module in list(sys.modules.values()):
            _paths = getattr(_module, "__path__", None)
            if isinstance(_paths, list):
                _paths[:] = [
                    SPEC["stdlib"][0] + "/" + p[len(_original) :] if p.startswith(_original) else p for p in _paths
                ]

import confine  # noqa: E402
import numpy as np  # noqa: E402
import protocol  # noqa: E402

OUTPUT_LIMIT = 64 * 1024  # characters of student output kept per call


class BoundedText(io.TextIOBase):
    """A text stream that keeps the first OUTPUT_LIMIT characters written and counts the rest."""

    def __init__(self):
        self.parts, self.kept, self.dropped = [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = OUTPUT_LIMIT - self.kept
        if room > 0:  # a flood past the limit is only counted, not kept as a list of empty strings
            self.parts.append(text[:room])
        self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - room)
        return len(text)

    def take(self):
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... ({self.dropped} more characters not kept)"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text


class Worker:
    """Serves one task's requests on its socket, in the fork."""

    def __init__(self, channel):
        self.channel = channel
        self.namespace = {"__name__": "submission", "__builtins__": __builtins__}
        self.handles = {}
        self.sources = {}  # cell filename -> source
        self.output = BoundedText()

    def serve(self):
        sys.stdout = sys.stderr = self.output
        reader = _SocketReader(self.channel)
        while True:
            try:
                header, arrays = protocol.read_frame(reader.read_exact)
            except EOFError:
                return
            reply, reply_arrays = self.handle(header, arrays)
            reply["output"] = self.output.take()
            reply["id"] = header.get("id")
            self.channel.sendall(protocol.pack(reply, reply_arrays))

    def handle(self, header, arrays):
        op = getattr(self, "op_" + str(header.get("op")), None)
        if op is None:
            return {"ok": False, "error": {"type": "ProtocolError", "message": "unknown op"}}, []
        try:
            return op(header, arrays)
        except BaseException as exc:  # the student's code may raise anything, SystemExit included
            return {"ok": False, "error": describe_exception(exc, self.sources)}, []

    # -- operations -------------------------------------------------------------------------------

    def op_load(self, header, arrays):
        errors = []
        for cell in header["cells"]:
            errors.extend(self._load_cell(cell))
        return {"ok": True, "errors": errors, "defined": self._defined()}, []

    def _defined(self):
        return sorted(k for k in self.namespace if not k.startswith("__"))

    def _load_cell(self, cell):
        filename = cell["filename"]
        if "source" in cell:  # sent with a cell's first statement; later statements name the cell only
            self.sources[filename] = cell["source"]
        source = self.sources[filename]
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        errors = []
        for first, last, *names in cell["statements"]:
            padded = "\n" * (first - 1) + "".join(lines[first - 1 : last])
            try:
                exec(compile(padded, filename, "exec"), self.namespace)
            except BaseException as exc:
                defines = names[0] if names else []
                errors.append(
                    {"filename": filename, "line": first, "defines": defines, **describe_exception(exc, self.sources)}
                )
                for name in defines:  # a failed redefinition must not leave an older one in place
                    self.namespace.pop(name, None)
        return errors

    def op_ping(self, header, arrays):
        return {"ok": True}, []

    def op_forget(self, header, arrays):
        for name in header["names"]:  # a skipped redefinition must not leave an older one in place
            self.namespace.pop(name, None)
        return {"ok": True, "defined": self._defined()}, []

    def op_call(self, header, arrays):
        function = self._target(header["target"])
        args = protocol.decode(header.get("args", {"t": []}), arrays, self.handles)
        kwargs = protocol.decode(header.get("kwargs", {"d": {}}), arrays, self.handles)
        before = snapshot(args) if header.get("return_args") == "both" else None
        seed(header.get("seed", 0))
        result = function(*args, **kwargs)
        if header.get("keep"):
            self.handles[header["keep"]] = result
        reply = {"ok": True, "result_type": protocol.describe(result)}
        sent = select(result, header.get("send", "all"))
        values = {"result": sent, "args": args if header.get("return_args") else None, "args_before": before}
        tree, out_arrays = protocol.encode(values)
        reply["values"] = tree
        return reply, out_arrays

    def op_getattr(self, header, arrays):
        tree, out_arrays = protocol.encode(getattr(self.handles[header["handle"]], header["attr"]))
        return {"ok": True, "values": tree}, out_arrays

    def op_setattr(self, header, arrays):
        value = protocol.decode(header["value"], arrays, self.handles)
        setattr(self.handles[header["handle"]], header["attr"], value)
        return {"ok": True}, []

    def op_train(self, header, arrays):
        from assignment.solver import Solver

        model = self.handles[header["handle"]]
        data = protocol.decode(header["data"], arrays)
        options = protocol.decode(header["solver"], arrays)
        seed(header.get("seed", 0))
        solver = Solver(model, data, **options)
        solver.train()
        tree, out_arrays = protocol.encode({"params": model.params, "loss_history": solver.loss_history})
        return {"ok": True, "values": tree}, out_arrays

    def _target(self, target):
        if "handle" in target:
            return getattr(self.handles[target["handle"]], target["attr"])
        name = target["name"]
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined")
        return self.namespace[name]


def snapshot(value, depth=0):
    """A copy of the arrays in ``value`` and of the tuples, lists and dicts holding them, as they are now
    (arguments before a call that may modify them). Walking a student's container runs the student's code
    (a tuple subclass's __iter__, say): it is part of the call, with the call's deadline."""
    if depth > protocol.MAX_DEPTH:
        return None
    if type(value) is np.ndarray:
        return value.copy()
    if isinstance(value, (tuple, list)):
        items = [snapshot(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if type(value) is dict:
        return {key: snapshot(item, depth + 1) for key, item in value.items()}
    return value


def select(result, send):
    """The part of a result to send back: all, or a tuple/list of the same length whose items not asked
    for (all of them for "none") are replaced by NOT_SENT. The grader counts the items it decodes; the
    items are walked with the base types' own methods, not with whatever a subclass overrides."""
    if send == "all":
        return result
    if not isinstance(result, (tuple, list)):
        return None if send == "none" else result
    items = list(tuple.__iter__(result) if isinstance(result, tuple) else list.__iter__(result))
    wanted = () if send == "none" else send
    return tuple(item if index in wanted else protocol.NOT_SENT for index, item in enumerate(items))


def seed(value):
    np.random.seed(value)
    random.seed(value)


def describe_exception(exc, cells=()):
    """The exception's type, message and student frames; ``where``: [filename, line] of the innermost frame
    in one of ``cells`` (the cells' filenames), the line of the statement that failed (on Python 3.11 and
    later the line of the failing instruction, even inside a multi-line statement), or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<")]
    lines = traceback.format_list(frames[-5:])
    innermost = next((f for f in reversed(frames) if f.filename in cells), None)
    return {
        "type": type(exc).__name__[:300],
        "message": str(exc)[:2000],
        "traceback": "".join(lines)[-4000:],
        "where": [innermost.filename, innermost.lineno] if innermost is not None else None,
    }


PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
CONFINE_FAILED = 120  # a fork's exit status when it could not be confined (it ran no student code)
ANCILLARY_FDS = 4  # file descriptors taken from one control message at most (the grader sends one)


class Template:
    """Answers the grader's control requests; forks a Worker per task and outlives every one of them."""

    def __init__(self, control, scratch, confinement=None, report=None, ruleset=None):
        """scratch: descriptors of the folders emptied after every task; confinement: the spec every fork
        applies before it serves (None: none); report: what the startup probe found, sent with every ping;
        ruleset: the spec's Landlock rules made once (confine.prepare), each fork's copy applied and closed."""
        self.control, self.scratch = control, scratch
        self.modes = [stat.S_IMODE(os.fstat(folder).st_mode) for folder in scratch]  # as the sandbox made them
        self.confinement, self.report, self.ruleset = confinement, report or {}, ruleset
        self.reader = _SocketReader(control, keep_fds=True)

    def serve(self):
        while True:
            try:
                header, _ = protocol.read_frame(self.reader.read_exact)
            except EOFError:
                return
            if header.get("op") == "fork" and self.reader.fds:
                self.fork(self.reader.fds.pop(0))
            else:
                self.reply({"ok": True, "pid": os.getpid(), "confinement": self.report})
            for fd in self.reader.fds:  # nothing else travels with a request
                os.close(fd)
            self.reader.fds.clear()

    def reply(self, header):
        self.control.sendall(protocol.pack(header))

    def fork(self, fd):
        pid = os.fork()
        if pid == 0:
            self._become_worker(fd)
        os.close(fd)
        self.reply({"ok": True, "event": "started", "pid": pid})
        exited = _reap_every_descendant(pid, lambda report: self.reply({"ok": True, "event": "exited", **report}))
        for folder, mode in zip(self.scratch, self.modes):
            with contextlib.suppress(OSError):
                os.fchmod(folder, mode)  # a task may have locked its folder: the next one could not enter it
            confine.empty_folder(folder)
        self.reply({"ok": True, "event": "ended", **exited})

    def _become_worker(self, fd):
        code = 0
        try:
            self.control.close()  # the control channel stays the template's own
            os.setsid()
            for folder in self.scratch:
                os.close(folder)
            if self.confinement:
                code = CONFINE_FAILED
                confine.apply(self.confinement, self.ruleset)  # before any student code; no fork runs unconfined
                code = 0
            elif self.ruleset is not None:
                os.close(self.ruleset)
            os.chdir(os.environ.get("HOME") or ".")  # its own folder (the template's may be root's)
            _prctl(PR_SET_PDEATHSIG, 9)  # dies with the template (SIGKILL); set after the uid changed, which clears it
            Worker(socket.socket(fileno=fd)).serve()
        except BaseException:  # the student's code may have broken anything: end quietly
            code = code or 1
        finally:
            os._exit(code)


def _reap_every_descendant(pid, on_exit):
    """Wait until the fork and every process it started are gone (they are reparented to this
    subreaper). When the fork itself is reaped, ``on_exit`` gets its report at once (the grader learns
    that it died on its own, before anyone killed it); the report is returned too: {"status": the fork's
    exit status as waitstatus_to_exitcode gives it, or None if it was not seen; "maxrss": its peak
    resident memory in bytes; "cpu": its CPU seconds}."""
    report = {"status": None}
    while True:
        try:
            reaped, raw, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return report
        except InterruptedError:
            continue
        if reaped == pid:
            report = {
                "status": os.waitstatus_to_exitcode(raw),
                "maxrss": usage.ru_maxrss * 1024,
                "cpu": usage.ru_utime + usage.ru_stime,
            }
            on_exit(report)


def _prctl(option, value):
    try:
        return _libc().prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return -1


@functools.lru_cache(maxsize=None)
def _libc():
    """libc, looked up once in the template: every fork has it."""
    return ctypes.CDLL(None, use_errno=True)


def _preload():
    """Import what a task may use before any fork: a fork then starts with it loaded, and nothing a
    task's code changes on disk (the fallback's stage is writable) reaches the template."""
    import numpy.random  # noqa: F401  (numpy 2 loads it lazily; every fork seeds it)

    import assignment.checks  # noqa: F401  (the notebook's own imports name it)
    import assignment.data  # noqa: F401
    import assignment.fast_layers  # noqa: F401
    import assignment.gradient_check  # noqa: F401
    import assignment.layer_utils  # noqa: F401
    import assignment.layers  # noqa: F401
    import assignment.optim  # noqa: F401
    import assignment.solver  # noqa: F401


def main():
    # The control socket is fd 0; fd 0, 1 and 2 are then pointed away from it, at /dev/null (prints are
    # kept per call in a bounded buffer that travels with the reply): no file that every fork shares.
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    # The folders a task may write, held open from now on: they are emptied through these descriptors,
    # whatever a task renames or links in their place.
    scratch = [os.open(folder, confine.FOLDER_FLAGS) for folder in (sys.argv[2:] or [os.getcwd()])]
    _preload()
    confinement, report, ruleset = choose_confinement(SPEC)
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    sys.stdout = sys.stderr = BoundedText()  # the template prints nothing; a fork swaps in its own
    sys.stdin = io.StringIO("")
    sys.setrecursionlimit(3000)
    Template(control, scratch, confinement, report, ruleset).serve()


def choose_confinement(spec):
    """(the spec every fork applies, what a probe fork so confined could still do, the spec's Landlock rules
    made once or None). Each candidate uid is tried in turn (a container may not map the first); if none
    can be confined, forks apply the spec anyway and exit with CONFINE_FAILED: no fork runs unconfined."""
    if not spec:
        return None, {}, None
    try:
        ruleset = confine.prepare(spec)
    except OSError as exc:
        return dict(spec, refuse=True), {"found": [f"confine: {exc}"[:300]]}, None
    found = []
    for uid, gid in spec.get("uids") or [(None, None)]:
        chosen = dict(spec, uid=uid, gid=gid)
        found = confine.probe(
            chosen, spec.get("forbidden", []), spec.get("grader_pid"), spec.get("unwritable", []), ruleset
        )
        if not any(item.startswith("confine:") for item in found):
            return chosen, {"uid": uid, "found": found}, ruleset
    return dict(spec, refuse=True), {"found": found}, ruleset


class _SocketReader:
    """read_exact(n) over a socket; with keep_fds, file descriptors passed alongside are collected."""

    CHUNK = 1 << 16  # bytes asked for at once: a request's header, and most requests whole, in one read

    def __init__(self, sock, keep_fds=False):
        self.sock, self.keep_fds, self.buffer, self.fds = sock, keep_fds, bytearray(), []

    def read_exact(self, n):
        """The next ``n`` bytes, as a bytearray of their own: arrays cut from it are writable without a copy."""
        if not self.keep_fds and n - len(self.buffer) > self.CHUNK:
            return self._read_large(n)
        while len(self.buffer) < n:
            if self.keep_fds:
                chunk, fds, _, _ = socket.recv_fds(self.sock, self.CHUNK, ANCILLARY_FDS)
                self.fds.extend(fds)
            else:
                chunk = self.sock.recv(self.CHUNK)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data = self.buffer[:n]
        del self.buffer[:n]
        return data

    def _read_large(self, n):
        """A large body read straight into its own buffer (no copy through the read-ahead buffer)."""
        data, have = bytearray(n), len(self.buffer)
        data[:have] = self.buffer
        self.buffer.clear()
        view = memoryview(data)
        while have < n:
            count = self.sock.recv_into(view[have:])
            if not count:
                raise EOFError
            have += count
        return data


if __name__ == "__main__":
    main()
