import os
import time


def conv_forward_naive(x, w, b, conv_param):
    for _ in range(40):  # bounded: enough to show every descendant is gone after grading
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
        except OSError:
            break
    raise RuntimeError("forked a swarm")
