"""The child: loads a student's definitions and answers the grader's calls, one frame at a time.

It runs in a sandbox directory holding only this file, ``protocol.py`` and the ``assignment`` package.
The protocol travels on private copies of the original stdin/stdout; the student's prints go to a
bounded buffer that is returned with each answer (and fd 1/2 to a file in the sandbox directory), so
nothing a student prints can corrupt a frame.

Requests (header fields):

- ``{"op": "load", "cells": [{"filename", "source", "statements": [[first_line, last_line, names], ...]}]}``
  (``source`` may be left out once a cell's source has been sent)
- ``{"op": "call", "target": {"name": n} | {"handle": h, "attr": a}, "args": tree, "kwargs": tree,
  "keep": handle or null, "send": "all" | "none" | [indices], "return_args": bool | "both", "seed": int}``
  (``return_args``: send the arguments back as they are after the call; "both": as they were before, too)
- ``{"op": "getattr" | "setattr", "handle": h, "attr": a, "value": tree}``
- ``{"op": "ping"}``: the first request, answered once the child is up (numpy imported, no student code yet)
- ``{"op": "forget", "names": [...]}``: drop names (those of a statement the grader skips)
- ``{"op": "train", "handle": h, "data": tree, "solver": tree, "seed": int}``
"""
import io
import linecache
import os
import random
import sys
import time
import traceback

# Only the sandbox directory and the interpreter's own paths: never the grader's project.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [_HERE] + [p for p in sys.path if p and "site-packages" in p or p.endswith((".zip", "lib-dynload"))
                         or os.path.basename(p).startswith("python3")]
sys.meta_path[:] = [finder for finder in sys.meta_path if "editable" not in type(finder).__module__.lower()]

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
    def __init__(self, channel_in, channel_out):
        self.channel_in, self.channel_out = channel_in, channel_out
        self.namespace = {"__name__": "submission", "__builtins__": __builtins__}
        self.handles = {}
        self.sources = {}  # cell filename -> source
        self.output = BoundedText()

    def serve(self):
        while True:
            try:
                header, arrays = protocol.read_frame(self._read_exact)
            except EOFError:
                return
            reply, reply_arrays = self.handle(header, arrays)
            reply["output"] = self.output.take()
            self.channel_out.write(protocol.pack(reply, reply_arrays))
            self.channel_out.flush()

    def _read_exact(self, n):
        data = self.channel_in.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def handle(self, header, arrays):
        op = getattr(self, "op_" + str(header.get("op")), None)
        if op is None:
            return {"ok": False, "error": {"type": "ProtocolError", "message": "unknown op"}}, []
        start = time.perf_counter()
        try:
            reply, reply_arrays = op(header, arrays)
        except BaseException as exc:  # the student's code may raise anything, SystemExit included
            reply, reply_arrays = {"ok": False, "error": describe_exception(exc)}, []
        reply["elapsed"] = time.perf_counter() - start
        return reply, reply_arrays

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
            padded = "\n" * (first - 1) + "".join(lines[first - 1:last])
            try:
                exec(compile(padded, filename, "exec"), self.namespace)
            except BaseException as exc:
                defines = names[0] if names else []
                errors.append({"filename": filename, "line": first, "defines": defines, **describe_exception(exc)})
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
        if isinstance(result, (tuple, list)):
            reply["arity"] = len(result)
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
    """The part of a result to send back: all, none, or some items of a tuple/list."""
    if send == "all":
        return result
    if send == "none" or not isinstance(result, (tuple, list)):
        return None
    return [result[i] if i < len(result) else None for i in send]


def seed(value):
    np.random.seed(value)
    random.seed(value)


def describe_exception(exc):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<")]
    lines = traceback.format_list(frames[-5:])
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": "".join(lines)[-4000:],
    }


def main():
    # Keep private copies of the protocol channels, then point fd 0/1/2 away from them.
    channel_in = os.fdopen(os.dup(0), "rb", buffering=0)
    channel_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    capture = os.open(os.path.join(os.getcwd(), "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    worker = Worker(_BufferedReader(channel_in), channel_out)
    sys.stdout = sys.stderr = worker.output
    sys.stdin = io.StringIO("")
    sys.setrecursionlimit(3000)
    worker.serve()


class _BufferedReader:
    """read(n) that returns exactly n bytes unless the stream ends."""

    def __init__(self, raw):
        self.raw = raw

    def read(self, n):
        chunks, remaining = [], n
        while remaining:
            chunk = self.raw.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


if __name__ == "__main__":
    main()
