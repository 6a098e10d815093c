"""Answers every request twice: first a forged reply frame (echoing the request's id, read from the worker's
frames) with a correct-looking answer, then the worker's own reply, which is left in the socket as the answer
to the next request. Both answers are zeros of the right shape: wrong, so the attacked task earns nothing."""
import sys

import numpy as np


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
