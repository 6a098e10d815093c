"""Floods the channel the worker answers on with garbage: frame-like prefixes (a header length just under the
limit) followed by bytes that are no JSON, for up to 2 s or 1 GiB, whichever comes first."""
import gc
import socket
import struct
import time

import numpy as np

FLOOD_BYTES, FLOOD_SECONDS = 1 << 30, 2.0


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
    junk = (struct.pack(">I", (1 << 20) - 1) + b"\xff{[\x00" * 65536) * 4
    sent, deadline = 0, time.monotonic() + FLOOD_SECONDS
    try:
        while sent < FLOOD_BYTES and time.monotonic() < deadline:
            _send_to_grader(junk)
            sent += len(junk)
    except OSError:
        pass
    return np.zeros(1), None
