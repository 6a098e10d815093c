import _thread
import atexit
import subprocess
import sys
import threading
import time

_reference_backward = conv_backward_naive
_registered = []


def _linger():
    # Would run if the process ended normally: starts a process in a session of its own (it keeps the sandbox
    # token, so the test sees it if it survives) and takes its time, while a pool check waits for an answer.
    subprocess.Popen(["/bin/sleep", "30"], start_new_session=True)
    time.sleep(2)


def _in_pool(frame):
    while frame is not None:
        if frame.f_code.co_name.startswith("max_pool"):
            return True
        frame = frame.f_back
    return False


def _end_after_a_pool_call():
    # Once a pool function has run in this process and returned, end the process "normally"
    # (KeyboardInterrupt in the main thread while it waits for the next request), so the atexit hook runs.
    main, seen = threading.main_thread().ident, False
    for _ in range(2000):  # 20 s at most
        in_pool = _in_pool(sys._current_frames().get(main))
        if seen and not in_pool:
            _thread.interrupt_main()
            return
        seen = seen or in_pool
        time.sleep(0.01)


def conv_backward_naive(dout, cache):
    if not _registered:
        _registered.append(True)
        atexit.register(_linger)
        threading.Thread(target=_end_after_a_pool_call, daemon=True).start()
    return _reference_backward(dout, cache)
