"""The grader's side of the child process: start it, talk to it with deadlines, replace it when it dies."""
import contextlib
import ctypes
import functools
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import assignment
from grader.sandbox import protocol
from grader.sandbox.launcher import build_command
from grader.sandbox.pids import NOT_ENFORCED, ProcessLimit

_WORKER_FILES = ("worker.py", "protocol.py")


PAUSE_SWEEPS = 20  # sweeps that stop a submission's processes, each finding those forked during the last
START_TIMEOUT = 60.0  # seconds for a new child to start and answer its first request (no student code yet)


class SandboxUnavailable(Exception):
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
    """A fresh directory holding the worker, the protocol and a copy of the ``assignment`` package."""
    stage = Path(tempfile.mkdtemp(prefix="grader-stage-"))
    here = Path(__file__).parent
    for name in _WORKER_FILES:
        shutil.copy(here / name, stage / name)
    shutil.copytree(
        Path(assignment.__file__).parent, stage / "assignment", ignore=shutil.ignore_patterns("__pycache__")
    )
    return stage


@dataclass
class Child:
    """One running child process. Use :class:`grader.sandbox.Session`, which replaces dead children."""

    stage: Path
    limits: Limits
    process: subprocess.Popen = None
    workdir: Path = None
    isolation: str = ""
    process_limit: ProcessLimit = None
    # The grader's pid first: a test can tell its own children's descendants from other runs'.
    token: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(8)}")
    _buffer: bytearray = field(default_factory=bytearray)

    def start(self, use_bwrap):
        """Start the child and wait until it answers; raises :class:`SandboxUnavailable` if it cannot."""
        self.workdir = Path(tempfile.mkdtemp(prefix="grader-child-"))
        command, self.isolation, home = build_command(self.stage, self.workdir, use_bwrap)
        self.process_limit = ProcessLimit(self.limits.processes, self.token)
        if not self.process_limit.enforced:
            self.isolation += f"; {NOT_ENFORCED}"
        try:
            self.process = subprocess.Popen(
                self.process_limit.wrap(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
                env=dict(_child_environment(home), GRADER_SANDBOX_TOKEN=self.token),
                start_new_session=True,  # its own process group, so every descendant can be killed at once
                preexec_fn=_limit_resources(self.limits, self.process_limit.rlimit),
            )
            self.request({"op": "ping"}, timeout=START_TIMEOUT)
        except (OSError, subprocess.SubprocessError, ChildFailure) as exc:
            self.cleanup()
            reason = exc.message if isinstance(exc, ChildFailure) else f"{type(exc).__name__}: {exc}"
            raise SandboxUnavailable(f"the process that runs student code could not start ({self.isolation}): "
                                     f"{reason}") from None

    def request(self, header, arrays=(), timeout=10.0):
        """Send one frame and wait for the answer; raises :class:`ChildFailure`."""
        deadline = time.monotonic() + timeout
        self._write_all(protocol.pack(header, arrays), deadline)
        try:
            return protocol.read_frame(lambda n: self._read_exact(n, deadline))
        except protocol.ProtocolError as exc:
            self.kill()
            raise ChildFailure("protocol", f"the child broke the protocol ({exc})") from None
        except (struct.error, RecursionError, TypeError, ValueError, AttributeError):
            self.kill()
            raise ChildFailure("protocol", "the child sent a malformed frame") from None

    def _write_all(self, data, deadline):
        """Write a frame within the deadline: a child that stops reading (a stopped or stuck process) must
        not block the grader on a full pipe."""
        fd, view = self.process.stdin.fileno(), memoryview(data)
        os.set_blocking(fd, False)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise ChildFailure("timeout", "timed out")
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except OSError:  # BrokenPipeError: the child is gone
                raise ChildFailure("crash", self._death_message()) from None

    def _read_exact(self, n, deadline):
        fd = self.process.stdout.fileno()
        while len(self._buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise ChildFailure("timeout", "timed out")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, max(n - len(self._buffer), 1 << 16))
            if not chunk:
                self.kill()
                raise ChildFailure("crash", self._death_message())
            self._buffer.extend(chunk)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def _death_message(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the child stopped answering"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            hint = " (memory limit?)" if name == "SIGKILL" else ""
            return f"the process running your code was killed by {name}{hint}"
        return f"the process running your code exited with status {code} (sys.exit or os._exit?)"

    def processes(self):
        """Pids of the child and of every process it started that can be found: its descendants, its
        cgroup's members and the carriers of its token (those outlive a child that died)."""
        found = set(marked_processes(self.token))
        if self.process_limit is not None:
            found |= set(self.process_limit.members())
        if self.process is not None and self.process.poll() is None:
            found |= set(descendants(self.process.pid))
        return found

    @contextlib.contextmanager
    def paused(self):
        """Stop (SIGSTOP) the child and everything it started while the grader times its own code, so no
        process of the submission competes with the reference for the CPU; resume them afterwards."""
        stopped = set()
        try:
            for _ in range(PAUSE_SWEEPS):  # until a sweep finds nothing new: processes fork meanwhile
                new = self.processes() - stopped
                for pid in new:
                    _signal(pid, signal.SIGSTOP)
                stopped |= new
                if not new:
                    break
            yield
        finally:
            for pid in stopped | self.processes():
                _signal(pid, signal.SIGCONT)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """Kill the child and everything it started, and remove its working directory."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        if self.process_limit is not None:
            self.process_limit.kill_all()
        kill_marked_processes(self.token)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._buffer.clear()

    def cleanup(self):
        self.kill()
        if self.process_limit is not None:
            self.process_limit.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def kill_marked_processes(token):
    """Kill every process that inherited this child's token: it catches descendants that left the
    process group (setsid, double fork), which killpg alone would miss."""
    for _ in range(3):  # a process may fork while the sweep runs
        found = marked_processes(token)
        for pid in found:
            _signal(pid, signal.SIGKILL)
        if not found:
            return


def marked_processes(token):
    """Pids of the processes whose environment carries this child's token."""
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
    """Pids of every process below ``root`` in the process tree (under bubblewrap: the whole sandbox)."""
    children = {}
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier.extend(children.get(pid, ()))
    return found


def _all_pids():
    me = os.getpid()
    return [int(e) for e in (os.listdir("/proc") if os.path.isdir("/proc") else ()) if e.isdigit() and int(e) != me]


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass


PR_SET_PDEATHSIG = 1


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
