"""The grader's side of the sandbox: start the template process, fork it once per task, talk to a task's
fork with deadlines and budgets, and kill everything a task started.

:class:`Sandbox` is the template (see ``worker.py``): it never runs student code. :meth:`Sandbox.fork`
gives a :class:`Channel` to a fresh fork of it, which loads the definitions and answers one task's
calls; :meth:`Sandbox.end_task` kills that fork and every process it started and waits until the
template has emptied the scratch folders. Everything read from a channel is hostile bytes: a frame is
bounded in size before it is read, must answer the request it was read for (a random id), and the
whole submission has one budget of bytes it may send back.
"""

import contextlib
import ctypes
import functools
import importlib.util
import marshal
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import assignment
from grader import boundary
from grader.errors import SandboxError
from grader.sandbox import protocol
from grader.sandbox.cgroups import NOT_ENFORCED, ProcessLimit
from grader.sandbox.clock import WorkClock, read_once, stat_fields
from grader.sandbox.confine import remove_tree
from grader.sandbox.launcher import (
    BWRAP_ISOLATION,
    HOME,
    NOBODY,
    UNPRIVILEGED_ISOLATION,
    WORK_BYTES,
    build_command,
    confirmed_isolation,
    library_folder,
    read_spec,
)

_WORKER_FILES = ("worker.py", "protocol.py", "confine.py")
# What the sandbox's copy of ``assignment`` leaves out: the public cases' expected values (the notebook's
# checks read them; in the sandbox they would be answers to look up).
_NOT_STAGED = ("__pycache__", "public_expected.npz")

PAUSE_SWEEPS = 20  # sweeps that stop a task's processes, each finding those forked during the last
STOP_WAIT = 0.05  # seconds a sweep waits for the processes it signalled to stop (they stop within microseconds)
STOP_POLL = 2e-4  # seconds between looks at whether they have
KILL_INTERVAL = 0.05  # seconds between sweeps that kill a task's processes, until the template reports them gone
START_TIMEOUT = 60.0  # seconds for the template to start and answer (no student code yet)
END_TIMEOUT = 10.0  # seconds for the template to reap a task's killed processes and empty the scratch folders
MAX_WORK_ENTRIES = 10_000  # files and folders in the sandbox uid's folder (root without bubblewrap)


class SandboxUnavailable(SandboxError):
    """The child could not be started at all, before any student code ran: a problem of the grading machine,
    not of the submission, so no grade is given."""


class ChildFailure(Exception):
    """The child did not answer: it timed out, died, or broke the protocol."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind  # "timeout", "crash" or "protocol"
        self.message = message


@dataclass
class Limits:
    """Resource limits of the child (see :class:`grader.config.Config`)."""

    memory_bytes: int = 2 << 30
    file_bytes: int = 64 << 20
    processes: int = 64
    cpu_seconds: int = 600


def stage_directory():
    """A fresh directory holding the worker, the protocol, a copy of ``assignment`` without stored
    expectations, and ``lib/`` (numpy, linked in the fallback; mounted over it under bubblewrap)."""
    stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
    here = Path(__file__).parent
    for name in _WORKER_FILES:
        shutil.copy2(here / name, stage / name)  # its time too: the bytecode below is checked against it
    package = Path(assignment.__file__).parent
    shutil.copytree(package, stage / "assignment", ignore=shutil.ignore_patterns(*_NOT_STAGED))
    _stage_bytecode(here, stage, _WORKER_FILES[1:])  # the worker itself runs as a script: never from bytecode
    _stage_bytecode(package, stage / "assignment", [p.relative_to(stage / "assignment") for p in _staged(stage)])
    (stage / "lib").mkdir()
    for source in library_folder():
        (stage / "lib" / source.name).symlink_to(source, target_is_directory=True)
    return stage


def _staged(stage):
    return sorted((stage / "assignment").rglob("*.py"))


def _stage_bytecode(origin, copy, names):
    """Beside each of ``names`` (paths relative to ``copy``, copies of those in ``origin`` with their times),
    its bytecode: the template then imports them without compiling them (about a fifth of its start). The
    interpreter's own cached file where it holds for the source (Python checks it against the copy's time and
    size, which are the original's), else one compiled once per grader process and checked by hash (PEP 552).
    Either way a file that does not match its source is compiled anew at import, as with no bytecode."""
    for name in names:
        source = Path(origin) / name
        info = source.stat()
        cached = importlib.util.cache_from_source(str(source))
        target = Path(importlib.util.cache_from_source(str(Path(copy) / name)))
        target.parent.mkdir(exist_ok=True)
        target.parent.chmod(0o755)  # whatever the umask: the sandbox's uid reads them as it reads the sources
        if _holds(cached, info):
            shutil.copyfile(cached, target)
        else:
            target.write_bytes(_bytecode(str(source), info.st_mtime_ns, info.st_size))
        target.chmod(0o644)


def _holds(cached, info):
    """Whether the timestamp-checked .pyc ``cached`` was compiled from a source of ``info``'s time and size."""
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
    except OSError:
        return False
    expected = struct.pack(
        "<4sIII", importlib.util.MAGIC_NUMBER, 0, int(info.st_mtime) & _MASK32, info.st_size & _MASK32
    )
    return header == expected


_MASK32 = 0xFFFFFFFF  # a .pyc records its source's time and size in 32 bits


@functools.lru_cache(maxsize=256)
def _bytecode(path, mtime_ns, size):
    """A checked-hash .pyc of the source file ``path`` as it is (its time and size are the cache's key)."""
    source = Path(path).read_bytes()
    code = compile(source, path, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + _CHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source)
    return header + marshal.dumps(code)


_CHECKED_HASH = 0b11  # a .pyc's flags: hash-based, checked at each import


@dataclass
class ReplyBudget:
    """Bytes the whole submission may still send back; a reply that would exceed it is a protocol failure."""

    remaining: int = boundary.SUBMISSION_REPLY_BYTES

    def take(self, nbytes):
        if nbytes > self.remaining:
            raise protocol.ProtocolError(
                f"your code sent back more than {boundary.SUBMISSION_REPLY_BYTES >> 20} MiB in all"
            )
        self.remaining -= nbytes


class Channel:
    """The socket to one task's fork: one request, one reply, each with a deadline."""

    def __init__(self, sock, budget, owned=True):
        """owned: whether a failure closes the socket (the control socket is closed by Sandbox.kill only)."""
        self.sock, self.budget, self.owned, self.closed = sock, budget, owned, False
        # Non-blocking, and every wait a poll up to the request's deadline: a read or write whose bytes are
        # there costs one system call (a socket timeout costs two more per read: a mode switch and a poll).
        sock.setblocking(False)

    def request(self, header, arrays=(), timeout=10.0):
        """Send one frame and wait for its answer; raises :class:`ChildFailure` (the channel is then closed)."""
        deadline = time.monotonic() + timeout
        request_id = secrets.token_hex(8)
        try:
            self._send(protocol.pack(dict(header, id=request_id), arrays), deadline)
            reply, reply_arrays = self._read_frame(deadline)
        except protocol.ProtocolError as exc:
            self.close()
            raise ChildFailure("protocol", f"the child broke the protocol ({exc})") from None
        except (struct.error, RecursionError, TypeError, ValueError, AttributeError, MemoryError):
            self.close()
            raise ChildFailure("protocol", "the child sent a malformed frame") from None
        if reply.get("id") != request_id:
            self.close()
            raise ChildFailure("protocol", "the child broke the protocol (an answer to another request)")
        return reply, reply_arrays

    def _send(self, data, deadline):
        """Send all of ``data`` by the deadline: a child that stops reading cannot block the grader."""
        view, sent = memoryview(data), 0
        while sent < len(view):
            try:
                sent += self.sock.send(view[sent:])
            except BlockingIOError:
                self._wait(select.POLLOUT, deadline)
            except OSError:
                self.close()
                raise ChildFailure("crash", "") from None

    def _read_frame(self, deadline):
        """One frame, every size checked (and charged to the budget) before it is read; arrays are views of
        one buffer (no copies)."""
        return boundary.read_reply(lambda n: self._read_exact(n, deadline), self.budget.take)

    def _read_exact(self, n, deadline):
        buffer = bytearray(n)
        view, got = memoryview(buffer), 0
        while got < n:
            if time.monotonic() >= deadline:  # however fast the bytes come: a reply has the request's time
                self._timed_out()
            try:
                count = self.sock.recv_into(view[got:])
            except BlockingIOError:
                self._wait(select.POLLIN, deadline)
                continue
            except OSError:
                count = 0
            if not count:
                self.close()
                raise ChildFailure("crash", "")
            got += count
        return buffer

    def _wait(self, events, deadline):
        """Wait until the socket is ready for ``events`` (or broken), at most until ``deadline``."""
        remaining = deadline - time.monotonic()
        poller = select.poll()
        poller.register(self.sock, events)
        if remaining <= 0 or not poller.poll(remaining * 1000):
            self._timed_out()

    def _timed_out(self):
        self.close()
        raise ChildFailure("timeout", "timed out")

    def idle(self):
        """True when the fork is still there and has sent nothing since its last answer. A fork that died
        between calls (its own background thread can kill it) reads as the end of the stream, and bytes
        it sent unasked are a forged answer waiting for the next request: either way it must be replaced."""
        try:
            ready, _, _ = _select_readable(self.sock, 0)
        except (OSError, ValueError):
            return False
        return not ready

    def close(self):
        if self.owned and not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.close()


@dataclass
class Sandbox:
    """The template process, under bubblewrap or as a plain process. Use :class:`grader.sandbox.session.Session`."""

    stage: Path
    limits: Limits
    process: subprocess.Popen = None
    control: socket.socket = None
    workdir: Path = None
    isolation: str = ""
    process_limit: ProcessLimit = None
    template_pid: int = None
    """The template's pid as the grader sees it."""
    # The grader's pid first: a test can tell its own children's descendants from other runs'.
    token: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(8)}")
    fork_pending: bool = False
    work_clock: WorkClock = None
    """How long calls into the current fork worked (see grader.sandbox.clock), or None where not known."""
    """True between a fork and the template's report that it and its processes are gone."""
    fork_exit: boundary.TemplateEvent = None
    """The template's report that the current fork exited ({"status", "maxrss", "cpu"}), once it came."""
    fork_ended: boundary.TemplateEvent = None
    """The template's report that the current fork and all its processes are gone, once it came."""
    sandbox_uid: int = None
    """The uid student code runs as, where the grader (root, no bubblewrap) chose it; None otherwise."""
    sweep_shared_folders: bool = False
    """Whether files that uid left in the machine's shared writable folders must be removed after each
    task (no Landlock kept it to its work folder)."""
    launched: bool = False
    """Whether :meth:`launch` ran (the template's process may still be starting)."""
    launch_failure: Exception = None
    """What stopped :meth:`launch`, for :meth:`start` to raise."""
    spec: dict = None
    """The confinement the stage's spec asks for (launcher.read_spec), which the template's probe must confirm."""
    outside_task: frozenset = None
    """Under bubblewrap with a pids cgroup: the cgroup's processes that are not a task's (bubblewrap's and
    the template). Every other process in the cgroup is then a task's, and listing the cgroup replaces
    walking /proc (see :meth:`task_processes`); None where that does not hold."""

    def launch(self, use_bwrap):
        """Start the template's process without waiting for it: its python and numpy start on another core
        while the grader works, and :meth:`start` waits for its answer. What fails here is raised by start,
        as it would have been had start launched it (so a submission that needs no fork never sees it)."""
        if self.launched:
            return
        self.launched = True
        try:
            self._launch(use_bwrap)
        except Exception as exc:  # raised again, unchanged, by start
            self.launch_failure = exc

    def _launch(self, use_bwrap):
        self.workdir = Path(tempfile.mkdtemp(prefix="grader-child-"))
        command, self.isolation, home = build_command(self.stage, self.workdir, use_bwrap, self.limits.processes)
        self.spec = read_spec(self.stage)
        if self.isolation == UNPRIVILEGED_ISOLATION:
            _prctl_call(PR_SET_DUMPABLE, 0)  # the grader: no other uid may trace it or read its memory
        self.process_limit = ProcessLimit(self.limits.processes, self.token, self.limits.memory_bytes)
        grader_end, child_end = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                self.process_limit.wrap(command),
                stdin=child_end.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
                env=dict(_child_environment(home), GRADER_SANDBOX_TOKEN=self.token),
                start_new_session=True,  # its own process group, so every descendant can be killed at once
                preexec_fn=_limit_resources(self.limits, self.process_limit.rlimit),
            )
            self.control = grader_end
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            grader_end.close()
            raise self._unavailable(exc) from None
        finally:
            child_end.close()

    def start(self, use_bwrap):
        """Start the template (unless :meth:`launch` did) and wait until it answers; raises
        :class:`SandboxUnavailable` if it cannot."""
        self.launch(use_bwrap)
        if self.launch_failure is not None:
            failure, self.launch_failure = self.launch_failure, None
            raise failure
        try:
            reply = self._control_reply({"op": "ping"}, START_TIMEOUT)
            self.template_pid = self._find_template(boundary.template_pid(reply))
            self._confirm_confinement(self.spec, boundary.confinement_report(reply))
            self.outside_task = self._processes_outside_task()
        except (OSError, subprocess.SubprocessError, ChildFailure, ValueError) as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc):
        """The sandbox cleaned up, and the SandboxUnavailable that says why it could not start."""
        self.cleanup()
        reason = exc.message if isinstance(exc, ChildFailure) else f"{type(exc).__name__}: {exc}"
        return SandboxUnavailable(
            f"the process that runs student code could not start ({self.isolation}): {reason or 'it exited at once'}"
        )

    def _confirm_confinement(self, spec, report):
        """State the isolation that the template's probe confirmed (ValueError where it does not hold), and
        give the work folder to the sandbox's uid."""
        unprivileged = self.isolation == UNPRIVILEGED_ISOLATION
        self.isolation = confirmed_isolation(self.isolation, spec, report)
        notes = self.process_limit.notes()
        if unprivileged:
            self.sandbox_uid = report[0]
            # Without Landlock, what the uid left where anyone may write is removed, unless the uid is not
            # this sandbox's alone (65534, the last resort): then others' files would go too.
            self.sweep_shared_folders = not spec.get("landlock") and self.sandbox_uid != NOBODY
            os.chmod(self.workdir, 0o755)
            os.chown(self.workdir / HOME, self.sandbox_uid, self.sandbox_uid)
            if spec.get("nproc"):
                notes = [note for note in notes if note != NOT_ENFORCED]  # RLIMIT_NPROC holds for that uid
        self.isolation += "".join(f"; {note}" for note in notes)

    def _control_reply(self, header, timeout, fds=()):
        """Send a control request (with ``fds`` passed alongside) and read one answer; the template runs no
        student code, but a task's processes can stop or kill it, so the answer still has a deadline."""
        channel = Channel(self.control, ReplyBudget(), owned=False)
        deadline = time.monotonic() + timeout
        if fds:
            socket.send_fds(self.control, [protocol.pack(header)], list(fds))
        else:
            channel._send(protocol.pack(header), deadline)
        reply, _ = channel._read_frame(deadline)
        return reply

    def _find_template(self, inner_pid):
        """The template's pid in the grader's namespace: under bubblewrap it has another pid inside."""
        if self.process is None or inner_pid is None:
            raise ChildFailure("protocol", "the template did not say its pid")
        for pid in descendants(self.process.pid):
            if _namespace_pids(pid)[-1:] == [inner_pid]:
                return pid
        raise ChildFailure("crash", "the template process could not be found")

    def _processes_outside_task(self):
        """What the cgroup holds before any task ran, when its listing can stand for the template's
        descendants: under bubblewrap, where no process can leave the cgroup (cgroupfs is not mounted in
        the sandbox and its processes are unprivileged) or be reparented above the template (a subreaper)."""
        if not self.isolation.startswith(BWRAP_ISOLATION):
            return None
        members = set(self.process_limit.members())
        if self.template_pid not in members:
            return None
        return frozenset(members - (set(descendants(self.template_pid)) - {self.template_pid}))

    def fork(self, budget):
        """A :class:`Channel` to a fresh fork of the template; raises ChildFailure if the template is gone."""
        grader_end, fork_end = socket.socketpair()
        try:
            reply = self._control_reply({"op": "fork"}, START_TIMEOUT, fds=[fork_end.fileno()])
        except (ChildFailure, OSError, protocol.ProtocolError, struct.error) as exc:
            grader_end.close()
            raise ChildFailure("crash", f"the process running your code could not be restarted ({exc})") from None
        finally:
            fork_end.close()
        if boundary.template_event(reply).event != "started":
            grader_end.close()
            raise ChildFailure("crash", "the process running your code could not be restarted")
        self.fork_pending, self.fork_exit, self.fork_ended = True, None, None
        if self.process_limit is not None:
            self.process_limit.mark()  # the memory limit is judged per fork
        self.work_clock = self._work_clock()
        return Channel(grader_end, budget)

    def _work_clock(self):
        """The :class:`WorkClock` of the fresh fork, found by the grader itself: the task's only process
        before it ran any student code (it waits for its first request). None where that is not so."""
        processes = self.task_processes()
        if len(processes) != 1:
            return None
        return WorkClock(next(iter(processes)), self.template_pid)

    def end_task(self):
        """Kill the current fork and everything it started; the fork's exit code (negative: the signal
        that killed it) or None. Raises ChildFailure if the template does not confirm (a task's code
        stopped or killed it): the whole sandbox must then be replaced."""
        if not self.fork_pending:
            return None
        self.fork_pending = False
        deadline = time.monotonic() + END_TIMEOUT
        while self.fork_ended is None and time.monotonic() < deadline:
            self._kill_task_processes()
            _signal(self.template_pid, signal.SIGCONT)  # a task may have stopped it
            try:
                self._read_events(KILL_INTERVAL)
            except ChildFailure as failure:
                if failure.kind != "timeout" or time.monotonic() > deadline:
                    raise
        if self.fork_ended is None:
            raise ChildFailure("timeout", "the processes of a task could not be stopped")
        self._sweep()
        return self.fork_ended.status

    def wait_for_exit(self, timeout):
        """The template's report that the current fork exited, if it comes within ``timeout`` (before
        anything is killed: a report then means the fork died on its own); or None."""
        deadline = time.monotonic() + timeout
        try:
            while self.fork_exit is None and self.fork_pending and time.monotonic() < deadline:
                self._read_events(deadline - time.monotonic())
        except (ChildFailure, OSError, ValueError, protocol.ProtocolError, struct.error):
            return None  # the template is gone or broken: end_task will say so
        return self.fork_exit

    def _read_events(self, timeout):
        """Read the template's reports on the current fork that come within ``timeout``: 'exited', then
        'ended' (which ends the wait)."""
        deadline = time.monotonic() + timeout
        while self.fork_ended is None:
            ready, _, _ = _select_readable(self.control, max(deadline - time.monotonic(), 0))
            if not ready:
                raise ChildFailure("timeout", "timed out")
            reply, _ = Channel(self.control, ReplyBudget(), owned=False)._read_frame(time.monotonic() + END_TIMEOUT)
            event = boundary.template_event(reply)
            if event.event not in ("exited", "ended"):
                raise ChildFailure("protocol", "unexpected answer from the template")
            if event.event == "ended":
                self.fork_ended = event
            if self.fork_exit is None and event.status is not None:
                self.fork_exit = event
                return

    def _kill_task_processes(self):
        for pid in self.task_processes():
            _signal(pid, signal.SIGKILL)

    def task_processes(self):
        """Pids of every process of the current task: the template's descendants (it is their subreaper).
        Under bubblewrap with a pids cgroup, the cgroup's members but bubblewrap's and the template (one
        file read instead of one per process on the machine: a speed check pauses the task ~50 times)."""
        if self.template_pid is None:
            return set()
        if self.outside_task is not None:
            members = set(self.process_limit.members())
            if self.template_pid in members:
                return members - self.outside_task
        return set(descendants(self.template_pid)) - {self.template_pid}

    @contextlib.contextmanager
    def paused(self):
        """Stop (SIGSTOP) every process of the current task while the grader times its own code, so none
        competes with the reference for the CPU; resume them afterwards."""
        stopped = set()
        try:
            for _ in range(PAUSE_SWEEPS):  # until a sweep finds nothing new: processes fork meanwhile
                new = self.task_processes() - stopped
                for pid in new:
                    _signal(pid, signal.SIGSTOP)
                stopped |= new
                if not new:
                    break
                _wait_until_stopped(new, STOP_WAIT)  # so the next sweep sees every process they forked
            yield
        finally:
            for pid in stopped:  # exactly those stopped: the last sweep found no other process of the task
                _signal(pid, signal.SIGCONT)

    def alive(self):
        return self.process is not None and self.process.poll() is None and self.control is not None

    def memory_limit_hit(self):
        """Whether the submission's memory cgroup has killed or refused something, or its use came near the
        limit, since the current fork started (False without one: the per-process limit raises MemoryError)."""
        return self.process_limit is not None and self.process_limit.memory_exceeded()

    def memory_peak(self):
        """Bytes the submission's processes held at most since the current fork started (memory cgroup),
        or None where it is not known."""
        return self.process_limit.memory_peak() if self.process_limit is not None else None

    def kill(self):
        """Kill the template and everything it started."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in descendants(self.process.pid):
            _signal(pid, signal.SIGKILL)
        self.process.wait()
        if self.process_limit is not None:
            self.process_limit.kill_all()
        kill_marked_processes(self.token)
        if self.control is not None:
            self.control.close()
            self.control = None
        self.fork_pending = False

    def wrote_too_much(self):
        """Whether the sandbox's uid holds more than WORK_BYTES (or MAX_WORK_ENTRIES entries) in its folder.
        Under bubblewrap that folder is a tmpfs of that size; as root without bubblewrap it is on the
        machine's disk, so the grader looks after every call that returns (a fork that fails is ended and
        its folder emptied anyway; what one call writes is bounded by its time). The walk stops at the limits:
        a folder of millions of entries costs the grader no more than MAX_WORK_ENTRIES."""
        if self.sandbox_uid is None:
            return False
        total, entries, folders = 0, 0, [str(self.workdir / HOME)]
        while folders:
            try:
                with os.scandir(folders.pop()) as listing:
                    for entry in listing:
                        entries += 1
                        with contextlib.suppress(OSError):
                            info = entry.stat(follow_symlinks=False)
                            total += info.st_blocks * 512
                            if entry.is_dir(follow_symlinks=False):
                                folders.append(entry.path)
                        if total > WORK_BYTES or entries > MAX_WORK_ENTRIES:
                            return True
            except OSError:
                continue
        return False

    def _sweep(self):
        if self.sweep_shared_folders and self.sandbox_uid is not None:
            remove_files_of(self.sandbox_uid)

    def cleanup(self):
        self.kill()
        self._sweep()
        if self.process_limit is not None:
            self.process_limit.close()
        if self.workdir is not None:
            remove_tree(self.workdir)  # without recursion: a task may have left a tree thousands deep


SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue")  # where any uid may create files


def remove_files_of(uid, folders=SHARED_WRITABLE):
    """Remove what ``uid`` created in the machine's shared writable folders (and one level below, in a
    sticky folder there such as /tmp/.X11-unix): nothing a submission writes outlives its task."""
    for folder in folders:
        for entry in _entries(folder):
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_uid == uid:
                _remove(entry)
            elif entry.is_dir(follow_symlinks=False) and info.st_mode & 0o1002 == 0o1002:
                for inner in _entries(entry.path):
                    with contextlib.suppress(OSError):
                        if inner.stat(follow_symlinks=False).st_uid == uid:
                            _remove(inner)


def _entries(folder):
    try:
        return list(os.scandir(folder))
    except OSError:
        return []


def _remove(entry):
    with contextlib.suppress(OSError):
        if entry.is_dir(follow_symlinks=False):
            remove_tree(entry.path)  # never follows a link, never recurses
        else:
            os.unlink(entry.path)


def _select_readable(sock, timeout):
    return select.select([sock], [], [], timeout)


KILLED_BY_THE_SYSTEM = "the process running your code was killed by the system (not by this submission's limits)"
CPU_SLACK = 1.0  # seconds: a fork killed within this of the CPU time limit was killed by that limit


@dataclass(frozen=True)
class Death:
    """How a task's fork ended, as the grader learned it (from the template and the memory cgroup)."""

    code: int = None
    """Its exit code (negative: the signal that killed it), or None if not known."""
    on_its_own: bool = False
    """It exited before the grader killed anything (the template reported it at once)."""
    memory_hit: bool = False
    """The memory cgroup refused or killed something, or its use came near the limit, during this fork."""
    cpu_seconds: float = None
    """CPU time the fork used, where known."""
    cpu_limit: float = None
    """The per-process CPU time limit (RLIMIT_CPU, whose hard limit is a SIGKILL)."""
    peak_bytes: int = None
    """The memory high-water mark (the cgroup's, else the fork's own peak resident size), where known."""
    memory_limit: int = None
    """The submission's memory limit in bytes."""

    @property
    def cpu_limit_hit(self):
        return (
            self.cpu_seconds is not None
            and self.cpu_limit is not None
            and self.cpu_seconds >= self.cpu_limit - CPU_SLACK
        )

    @property
    def killed_by_system(self):
        """SIGKILL, on its own, and none of this submission's limits reached: not the submission's doing."""
        return self.on_its_own and self.code == -signal.SIGKILL and not self.memory_hit and not self.cpu_limit_hit

    @property
    def message(self):
        """What to tell the student."""
        if self.memory_hit:
            return (
                "the process running your code was killed: it used more memory than the limit allows in all"
                + self._peak()
            )
        if self.on_its_own and self.cpu_limit_hit and self.code in (-signal.SIGKILL, -signal.SIGXCPU):
            return f"the process running your code was killed: it used its {self.cpu_limit:g} s of CPU time"
        if not self.on_its_own or self.code is None:
            return "the process running your code stopped answering"
        if self.killed_by_system:
            return KILLED_BY_THE_SYSTEM + self._peak()
        if self.code < 0:
            name = signal.Signals(-self.code).name if -self.code in signal.valid_signals() else str(-self.code)
            return f"the process running your code was killed by {name}"
        return f"the process running your code exited with status {self.code} (sys.exit or os._exit?)"

    def _peak(self):
        if self.peak_bytes is None:
            return ""
        limit = f" (the limit is {self.memory_limit / MIB:.0f} MiB)" if self.memory_limit else ""
        return f"; its memory high-water mark was {self.peak_bytes / MIB:.0f} MiB{limit}"


MIB = 1 << 20


def _namespace_pids(pid):
    """A process's pid in each PID namespace it belongs to, outermost first (the NSpid line)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return [int(n) for n in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return [pid]


def kill_marked_processes(token):
    """Kill every process that inherited this sandbox's token: a last sweep, after the tree and the cgroup."""
    for _ in range(3):  # a process may fork while the sweep runs
        found = marked_processes(token)
        for pid in found:
            _signal(pid, signal.SIGKILL)
        if not found:
            return


def marked_processes(token):
    """Pids of the processes whose environment carries this sandbox's token."""
    marker, found = f"GRADER_SANDBOX_TOKEN={token}".encode(), []
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker in handle.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


def descendants(root):
    """Pids of ``root`` and every process below it in the process tree: read down from ``root`` through each
    of its threads' lists of children, in time that grows with the tree, not with the machine (a pause of a
    task's processes takes two such walks, a speed check some fifty pauses); where the kernel keeps no such
    lists, by the parent of every process on the machine."""
    return _walk(root, _children_of if _children_lists() else _children_by_parent())


def _walk(root, children_of):
    """``root`` and every pid below it, ``children_of(pid)`` giving each one's children (each pid once)."""
    found, frontier, seen = [], [root], set()
    while frontier:
        pid = frontier.pop()
        if pid in seen:
            continue
        seen.add(pid)
        found.append(pid)
        frontier.extend(children_of(pid))
    return found


def _children_of(pid):
    """Pids of the children of every thread of ``pid`` (none where it is gone)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children = []
    for tid in tids:
        listed = read_once(f"/proc/{pid}/task/{tid}/children", _CHILDREN_BYTES) or b""
        children += [int(child) for child in listed.split() if child.isdigit()]
    return children


_CHILDREN_BYTES = 65536  # a thread's children: the pids cgroup and RLIMIT_NPROC keep them to a few hundred


@functools.lru_cache(maxsize=None)
def _children_lists():
    """Whether the kernel lists each thread's children (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN)."""
    return os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children")


def _children_by_parent():
    """children_of for :func:`_walk` where the kernel keeps no lists of children: every process on the
    machine read once, each under its parent."""
    children = {}
    for pid in _all_pids():
        parent = _parent(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    return lambda pid: children.get(pid, ())


def _parent(pid):
    """The parent pid of ``pid``, or None if it is gone."""
    state = _state_and_parent(pid)
    return state[1] if state is not None else None


def _state_and_parent(pid):
    """(state letter, parent pid) from /proc/PID/stat, or None if the process is gone."""
    fields = stat_fields(pid, _STAT_BYTES)
    try:
        return fields[0].decode("ascii", "replace"), int(fields[1])
    except (TypeError, ValueError, IndexError):
        return None


def _wait_until_stopped(pids, timeout):
    """Wait (at most ``timeout`` seconds) until every process of ``pids`` is stopped or gone. A process stops
    on its way back to user space, so a fork it was making is finished, and its child listed, by then."""
    deadline = time.monotonic() + timeout
    waiting, pause = set(pids), STOP_POLL / 16
    while waiting and time.monotonic() < deadline:
        waiting = {pid for pid in waiting if (_state_and_parent(pid) or ("X",))[0] not in _STOPPED_OR_GONE}
        if waiting:
            time.sleep(pause)  # short first (the timer's slack makes it ~0.1 ms): an idle process stops at once
            pause = min(2 * pause, STOP_POLL)


_STOPPED_OR_GONE = frozenset("TtZX")  # stopped, traced, zombie, dead


_STAT_BYTES = 512  # /proc/PID/stat up to the parent pid: the pid, a comm of at most 64 bytes, the state


def _all_pids():
    me = os.getpid()
    return [int(e) for e in (os.listdir("/proc") if os.path.isdir("/proc") else ()) if e.isdigit() and int(e) != me]


def _signal(pid, signum):
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except OSError:
        pass


PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def _prctl_call(option, value):
    prctl = _prctl()
    if prctl is not None:
        prctl(option, value, 0, 0, 0)


@functools.lru_cache(maxsize=None)
def _prctl():
    """libc's prctl, looked up in the grader (not between fork and exec), or None off Linux."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _child_environment(home):
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        # One BLAS thread: the grader owns the other core, and timings stay comparable.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _limit_resources(limits, nproc):
    """The function that sets the child's limits, in the child, before it execs; it also asks the kernel
    to kill the child when the grader dies (bubblewrap's --die-with-parent does the same for the sandbox)."""
    import resource

    prctl = _prctl()

    def apply():
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        for which, value in (
            (resource.RLIMIT_AS, limits.memory_bytes),
            (resource.RLIMIT_FSIZE, limits.file_bytes),
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(which, (value, value))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply
