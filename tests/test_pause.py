"""The speed checks' pause: every process of a task stopped while the grader times its reference, found by
listing the sandbox's cgroup under bubblewrap as by walking /proc, and resumed afterwards."""

import time

import numpy as np
import pytest
from test_sandbox import MODES, cell

from grader.sandbox import supervisor
from grader.sandbox.session import Session

# Three processes in sessions of their own, each forking a grandchild, all sleeping: the task's processes.
FORKS = """import os
import time

def start(n):
    for _ in range(int(n[0])):
        if os.fork() == 0:
            os.setsid()
            os.fork()
            time.sleep(30)
            os._exit(0)
    return n
"""


def wait_for(find, count, timeout=5.0):
    """``find()`` once it holds ``count`` items (the children fork their own asynchronously), or at the timeout."""
    deadline = time.monotonic() + timeout
    found = find()
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.01)
        found = find()
    return found


def states(pids):
    return {supervisor._state_and_parent(pid)[0] for pid in pids if supervisor._state_and_parent(pid) is not None}


@pytest.mark.parametrize("use_bwrap", MODES)
def test_the_pause_stops_every_process_of_the_task_and_resumes_exactly_them(use_bwrap):
    with Session((cell(FORKS),), timeout=5.0, use_bwrap=use_bwrap) as session:
        session.begin_task("pause")
        assert session.call("start", np.array([3.0])).ok
        sandbox = session.sandbox
        walked = wait_for(lambda: set(supervisor.descendants(sandbox.template_pid)) - {sandbox.template_pid}, 1 + 3 + 3)
        assert len(walked) == 1 + 3 + 3  # the fork, its children and their children
        assert sandbox.task_processes() == walked
        if use_bwrap and "process limit not enforced" not in sandbox.isolation:
            assert sandbox.outside_task is not None  # the cgroup's listing is what was compared
        with session.paused():
            assert states(walked) <= {"T", "t"}
        assert "T" not in states(walked)
