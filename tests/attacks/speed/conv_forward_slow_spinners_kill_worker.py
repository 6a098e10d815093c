import os
import signal
import time

# Appended after conv_forward_slow_with_spinners (tests/variants/buggy): the same slow forward and busy
# processes, and after each speed-case answer a helper kills the process that runs this code, so a
# grader that pauses only a live child's processes would leave the busy ones running.
_slow_forward = conv_forward_naive  # noqa: F821 (defined by the cell before)


def _kill_me_soon():
    """Kill this process once it has answered and waits for the next request (blocked reading its pipe)."""
    worker = os.getpid()
    if os.fork() == 0:
        os.setsid()
        deadline = time.monotonic() + 5
        try:
            while time.monotonic() < deadline:
                with open(f"/proc/{worker}/syscall") as handle:
                    if handle.read().startswith("0 "):  # read(2): the answer has gone out
                        os.kill(worker, signal.SIGKILL)
                        break
                time.sleep(0.0005)
        finally:
            os._exit(0)


def conv_forward_naive(x, w, b, conv_param):
    try:
        return _slow_forward(x, w, b, conv_param)
    finally:
        if x.shape[-1] == 16:  # the speed case only: every graded case is answered normally
            _kill_me_soon()
