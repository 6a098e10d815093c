"""A call's work as the kernel counts it from the grader's side (grader.sandbox.clock): time on a CPU or
blocked counts, time waiting for a CPU does not, and nothing the child says is believed."""

import os
import time

import pytest

from benchmarks.bench_speed_load import busy
from grader.sandbox import clock
from grader.sandbox.clock import Reading, WorkClock
from grader.sandbox.session import Session
from tests.test_attacks import MODES
from tests.test_sandbox import cell

MS = 1_000_000  # nanoseconds


class _NoProcesses(WorkClock):
    def _started_processes(self):
        return False


def reading(wall=0, grader_cpu=0, grader_waited=0, fork_cpu=0, fork_waited=0, reaped=0, last_pid=100):
    return Reading(wall * MS, grader_cpu * MS, grader_waited * MS, fork_cpu * MS, fork_waited * MS, reaped, last_pid)


def test_waiting_for_a_cpu_is_taken_out_of_the_round_trip():
    work = _NoProcesses(1, 1).work_seconds(reading(), reading(wall=100, grader_cpu=5, grader_waited=20, fork_waited=40))
    assert work == pytest.approx(0.035)


def test_work_is_never_less_than_the_forks_cpu_time():
    # A fork whose main thread waits in the run queue while its other threads work: their CPU counts.
    work = _NoProcesses(1, 1).work_seconds(reading(), reading(wall=100, fork_cpu=90, fork_waited=95))
    assert work == pytest.approx(0.09)


def test_a_call_that_ended_a_process_is_not_measured_as_work():
    # A child that worked and was reaped: its time is in cutime, not in the fork's clock: the round trip counts.
    assert _NoProcesses(1, 1).work_seconds(reading(), reading(wall=100, fork_waited=90, reaped=3)) is None


def test_a_call_while_a_process_or_thread_was_started_is_not_measured_as_work():
    # Even one the kernel reaped by itself (SIGCHLD ignored), which leaves no trace in cutime.
    assert _NoProcesses(1, 1).work_seconds(reading(), reading(wall=100, fork_waited=90, last_pid=101)) is None


def test_a_reading_that_failed_is_not_measured_as_work():
    assert _NoProcesses(1, 1).work_seconds(None, reading(wall=100)) is None


def test_the_grader_measures_its_own_code_without_its_waits():
    def spin():
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass

    seconds, _ = clock.measured(spin)
    assert 0.05 <= seconds < 0.2


SOURCE = """
import os
import time

def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return 1.0

def nap(seconds):
    time.sleep(seconds)
    return 1.0

def spin_in_a_child(seconds):
    pid = os.fork()
    if pid == 0:
        spin(seconds)
        os._exit(0)
    os.waitpid(pid, 0)
    return 1.0
"""


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_call_that_computes_takes_its_cpu_time_on_a_busy_machine(use_bwrap):
    with Session([cell(SOURCE)], use_bwrap=use_bwrap) as session:
        assert session.call("spin", 0.01).ok  # the fork's start
        with busy(2 * (os.cpu_count() or 1)):
            started = time.perf_counter()
            result = session.call("spin", 0.2, timed=True)
            wall = time.perf_counter() - started
    assert result.ok
    assert 0.2 <= result.seconds < 0.3, (result.seconds, wall)


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_call_that_waits_or_works_in_another_process_counts_its_whole_time(use_bwrap):
    with Session([cell(SOURCE)], use_bwrap=use_bwrap) as session:
        naps = session.call("nap", 0.2, timed=True)
        offloaded = session.call("spin_in_a_child", 0.2, timed=True)
    assert naps.ok and naps.seconds >= 0.2
    assert offloaded.ok and offloaded.seconds >= 0.2


@pytest.mark.slow
def test_only_timed_calls_read_the_work_clock(monkeypatch):
    readings = []
    read = WorkClock.read

    def counted(self, ending=False):
        readings.append(ending)
        return read(self, ending)

    monkeypatch.setattr(WorkClock, "read", counted)
    with Session([cell(SOURCE)], use_bwrap=False) as session:
        assert session.call("spin", 0.01).ok
        assert not readings  # a property's or the convnet's call: its seconds are its round trip
        timed = session.call("spin", 0.01, timed=True)
    assert timed.ok and readings == [False, True]
    assert 0.01 <= timed.seconds < 0.5


HANGS = """
import time

def hangs():
    time.sleep(10**6)

def spins():
    while True:
        pass

def right(x):
    return 2 * x

def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return 1.0
"""


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", MODES)
def test_once_a_call_hung_later_calls_get_a_few_seconds_of_work_and_right_answers_are_not_charged(
    monkeypatch, use_bwrap
):
    from grader.sandbox import session as session_module

    monkeypatch.setattr(session_module, "HUNG_CALL_WORK", 0.5)
    with Session([cell(HANGS)], timeout=2.0, use_bwrap=use_bwrap) as session:
        first = session.call("hangs")
        started = time.perf_counter()
        second = session.call("spins")
        took = time.perf_counter() - started
        with busy(2 * (os.cpu_count() or 1)):
            neighbour = session.call("right", 21.0)
            working = session.call("spin", 0.2, timed=True)  # its work, not its round trip: the watch starts no thread
    assert first.error_kind == "timeout" and "within 2 s" in first.message
    assert second.error_kind == "timeout" and second.work_limit_hit
    assert "once a call of a submission has hung" in second.message
    assert took < 1.9  # its own 0.5 s of work (and a fork's start), not the 2 s timeout
    assert neighbour.ok and neighbour.value == 42.0
    assert working.ok and 0.2 <= working.seconds < 0.3, working.seconds
