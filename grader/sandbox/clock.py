"""How long a call into student code worked, measured by the kernel from the grader's side, the same way as
the grader's own reference code: time the CPU was the call's, not time it waited for a CPU.

A call's round trip on the wall clock grows with the machine's load: the fork waits to be scheduled when
the request arrives, is preempted while it computes, and the grader waits again when the reply arrives. On
a machine at load 15 a 1 ms call can take 50 ms, while the reference loops, timed inside the grader, hardly
wait at all. So a call's *work* is its round trip less what the kernel counted as waiting for a CPU (the
``run_delay`` of /proc/PID/schedstat) by the fork's thread and the grader's, and less the grader's own CPU
time in the round trip (encoding and decoding); never less than the fork's CPU time, all its threads
together (work moved to another thread is counted there). Time the fork chose to spend blocked (sleeping,
waiting for something) still counts: only waiting for a CPU is taken out, and the reference is measured
the same way (:func:`measured`).

Nothing here believes the child: every figure comes from the kernel, read by the grader. Work moved into
another process would leave the fork blocked and be counted, but for code that makes its own fork wait
for a CPU while another process works (a helper process that does the work while the fork's thread yields
its CPU to it: its run time becomes the fork's waiting). So the call's work is its whole round trip where
another process could have worked for it: where any process or thread was started on the machine during
the call (the kernel's last pid moved: this sees even a child the kernel reaped by itself, SIGCHLD
ignored), where the fork or the template has a child besides the fork at its end, or where a reaped
child's time arrived. The round trip is never less than the call's work, so these cases only cost a
submission the load-proofness, never a point it earned. Where the kernel does not give these figures (no
schedstat), the round trip it is, as before.
"""

import os
import threading
import time
from dataclasses import dataclass

_STAT_BYTES = 1024  # /proc/PID/stat up to cstime: a comm of at most 64 bytes and 14 numbers
_SCHEDSTAT_BYTES = 256  # three numbers
_CHILDREN_BYTES = 65536  # a thread's children: the pids cgroup and RLIMIT_NPROC keep them to a few hundred


@dataclass(frozen=True)
class Reading:
    """The kernel's figures at one moment of a call, nanoseconds (ticks for ``reaped``)."""

    wall: int
    grader_cpu: int
    grader_waited: int
    fork_cpu: int
    fork_waited: int
    reaped: int
    """CPU time of the fork's and the template's reaped children, in clock ticks: changes when a process
    the call started has ended."""
    last_pid: int
    """The last process id the kernel handed out (/proc/loadavg): changes when any process or thread was
    started on the machine, the fork's included, even one the kernel reaped by itself."""


class WorkClock:
    """The work of calls into one fork (``fork_pid``, a child of ``template_pid``), as the grader sees them."""

    def __init__(self, fork_pid, template_pid):
        self.fork_pid, self.template_pid = fork_pid, template_pid
        # Opened at the first reading and read again at every one (about 200 per task): see KernelFile.
        self.fork_schedstat = KernelFile(f"/proc/{fork_pid}/schedstat", _SCHEDSTAT_BYTES)
        self.stats = [KernelFile(f"/proc/{pid}/stat", _STAT_BYTES) for pid in (fork_pid, template_pid)]
        self.main_children = {
            pid: KernelFile(f"/proc/{pid}/task/{pid}/children", _CHILDREN_BYTES) for pid in (fork_pid, template_pid)
        }

    def read(self, ending=False):
        """The figures now, or None where one of them is not available. The wall clock is read outside the
        other figures (first at a call's start, last at its end, ``ending``), so every wait they count
        happened within the wall clock's interval."""
        last_pid = _last_pid() if not ending else None  # outermost too: a process started meanwhile shows
        wall = time.perf_counter_ns() if not ending else None
        grader_cpu = time.thread_time_ns()
        grader = _own_schedstat()
        fork = _schedstat_fields(self.fork_schedstat.read())
        fork_cpu = _process_cpu(self.fork_pid)
        reaped = [_reaped_ticks(_fields_after_name(stat.read())) for stat in self.stats]
        wall = time.perf_counter_ns() if ending else wall
        last_pid = _last_pid() if ending else last_pid
        if grader is None or fork is None or fork_cpu is None or None in reaped or last_pid is None:
            return None
        return Reading(wall, grader_cpu, grader[1], fork_cpu, fork[1], sum(reaped), last_pid)

    def work_seconds(self, before, after):
        """Seconds the call between readings ``before`` and ``after`` worked, or None where that cannot be
        told apart from its round trip (a reading is missing, or a process or thread was started meanwhile:
        work it did would not be the fork's, and it could keep the fork waiting for a CPU on purpose)."""
        if before is None or after is None or after.reaped != before.reaped or after.last_pid != before.last_pid:
            return None
        if self._started_processes():
            return None
        waited = (after.grader_waited - before.grader_waited) + (after.fork_waited - before.fork_waited)
        round_trip = (after.wall - before.wall) - (after.grader_cpu - before.grader_cpu) - waited
        return max(round_trip, after.fork_cpu - before.fork_cpu, 1000) / 1e9

    def work_since(self, before):
        """Seconds a call still running has worked since reading ``before`` (from any thread of the grader,
        whose calling thread is blocked meanwhile): the time since, less what the fork waited for a CPU,
        never less than its CPU time; or None if the fork is gone. A wait still going on is not counted
        yet: the figure may run ahead of the call's work by one wait, never behind it."""
        fork, cpu = _schedstat_fields(self.fork_schedstat.read()), _process_cpu(self.fork_pid)
        if before is None or fork is None or cpu is None:
            return None
        elapsed = time.perf_counter_ns() - before.wall - (fork[1] - before.fork_waited)
        return max(elapsed, cpu - before.fork_cpu) / 1e9

    def _started_processes(self):
        """Whether the fork has a child, or the template one besides the fork (or either cannot be read)."""
        fork_children = self._children(self.fork_pid)
        # The template runs no student code and starts no thread: its main thread's children are all of them.
        template_children = _pids(self.main_children[self.template_pid].read())
        if fork_children is None or template_children is None:
            return True
        return bool(fork_children) or template_children != {self.fork_pid}

    def _children(self, pid):
        """Pids of the children of every thread of ``pid``, or None where they cannot be read. The main
        thread's list is read from the file kept open; another thread's (a fork may start threads) is opened."""
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return None
        found = set()
        for tid in tids:
            if tid == str(pid):
                data = self.main_children[pid].read()
            else:
                data = read_once(f"/proc/{pid}/task/{tid}/children", _CHILDREN_BYTES)
            pids = _pids(data)
            if pids is None:
                return None
            found |= pids
        return found


class KernelFile:
    """A file of /proc, opened once and read again from its start at every reading: the kernel writes its
    text anew for each read, so one pread stands for an open, a read and a close (a call's two readings
    read six of them). Opened by the process that reads it (a grader forked since opens its own), and
    once only: the descriptor stays bound to the process it was opened for, so a pid used again by another
    process is never read in its place: the reading fails, as for a process that is gone."""

    def __init__(self, path, nbytes):
        self.path, self.nbytes, self.fd, self.owner = path, nbytes, None, None

    def read(self):
        """The file's text now (bytes, at most ``nbytes``), or None where it cannot be read."""
        if self.owner != os.getpid():
            self.close()
            self.owner = os.getpid()
            try:
                self.fd = os.open(self.path, os.O_RDONLY)  # not inherited by processes the grader starts
            except OSError:
                return None
        if self.fd is None:
            return None
        try:
            return os.pread(self.fd, self.nbytes, 0)
        except OSError:
            return None

    def close(self, _close=os.close, _getpid=os.getpid):  # bound now: __del__ may run at the interpreter's exit
        if self.fd is not None and self.owner == _getpid():
            try:
                _close(self.fd)
            except OSError:
                pass
        self.fd = None

    __del__ = close


_LOADAVG = KernelFile("/proc/loadavg", 128)
_THREAD = threading.local()  # each grader thread's own schedstat file (the calling thread's waits)


def measured(function, *args):
    """(seconds, return value) of the grader's own ``function(*args)``, measured as a call's work is: its
    wall time less what this thread waited for a CPU (its CPU time where schedstat is not available)."""
    wall = time.perf_counter_ns()  # outside the schedstat readings: every wait they count is within it
    before, cpu = _own_schedstat(), time.thread_time_ns()
    value = function(*args)
    cpu, after = time.thread_time_ns() - cpu, _own_schedstat()
    wall = time.perf_counter_ns() - wall
    if before is None or after is None:
        return max(cpu, 1000) / 1e9, value
    return max(wall - (after[1] - before[1]), 1000) / 1e9, value


def _last_pid():
    """The last process id handed out in the grader's PID namespace (every process of the sandbox has one in
    it too), or None."""
    try:
        return int(_LOADAVG.read().split()[4])
    except (AttributeError, ValueError, IndexError):
        return None


def _own_schedstat():
    """(ns on a CPU, ns waiting for one) of the calling thread, or None."""
    own = getattr(_THREAD, "schedstat", None)
    if own is None:
        own = _THREAD.schedstat = KernelFile("/proc/thread-self/schedstat", _SCHEDSTAT_BYTES)
    return _schedstat_fields(own.read())


def _schedstat_fields(data):
    """(ns on a CPU, ns waiting for one) from a schedstat file's text, or None."""
    try:
        fields = data.split()
        return int(fields[0]), int(fields[1])
    except (AttributeError, ValueError, IndexError):
        return None


def _process_cpu(pid):
    """CPU nanoseconds of process ``pid``, all its threads, those ended included (its CPU-time clock)."""
    try:
        return time.clock_gettime_ns(((~pid) << 3) | 2)  # CPUCLOCK_SCHED of the whole process
    except (OSError, OverflowError):
        return None


def stat_fields(pid, nbytes=_STAT_BYTES):
    """The fields of /proc/PID/stat after the command name ("pid (comm) state ppid ...": comm may hold ')'
    and spaces), as bytes, the state first (field 3), from its first ``nbytes`` bytes; None if the process is
    gone. Read raw: walking /proc reads every process's stat."""
    data = read_once(f"/proc/{pid}/stat", nbytes)
    return _fields_after_name(data) if data is not None else None


def read_once(path, nbytes):
    """At most ``nbytes`` of the file at ``path`` in one read (what /proc gives at once), or None if it is
    gone. Raw: walking /proc reads a file for every process."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.read(fd, nbytes)
        finally:
            os.close(fd)
    except OSError:
        return None


def _pids(data):
    """The set of pids in a children file's text, or None."""
    try:
        return {int(pid) for pid in data.split()}
    except (AttributeError, ValueError):
        return None


def _fields_after_name(data):
    try:
        return data.rsplit(b")", 1)[1].split()
    except (AttributeError, IndexError):
        return None


def _reaped_ticks(fields):
    """cutime + cstime (the CPU time of the children a process reaped), in clock ticks, from the fields of
    its stat (stat_fields), or None."""
    try:
        return int(fields[13]) + int(fields[14])  # fields 16 and 17 of stat; fields[0] is field 3
    except (TypeError, ValueError, IndexError):
        return None
