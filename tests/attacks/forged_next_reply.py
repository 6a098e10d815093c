"""Answers every request twice: first a forged reply frame (echoing the request's id, read from the worker's
frames) with a correct-looking answer, then the worker's own reply, which is left in the socket as the answer
to the next request. Both answers are zeros of the right shape: wrong, so the attacked task earns nothing."""
import gc
import socket
import sys

import numpy as np


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
    stride, pad = conv_param["stride"], conv_param["pad"]
    height = 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride
    width = 1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride
    out = np.zeros((x.shape[0], w.shape[0], height, width), dtype=x.dtype)
    protocol = sys.modules["protocol"]  # the worker's own wire format
    tree, arrays = protocol.encode({"result": (out, None), "args": (x, w, b, conv_param), "args_before": None})
    header = {"ok": True, "result_type": "builtins.tuple", "values": tree, "output": "", "id": _request_id()}
    _send_to_grader(protocol.pack(header, arrays))
    return out, None
