"""The child's process limit and total memory limit, and a list of every process it started.

The kernel counts RLIMIT_NPROC per real uid and does not apply it to root. So:

- a grader running as an ordinary user sets RLIMIT_NPROC in the child to the processes its uid already has
  plus the limit (never above the hard limit);
- a grader running as root puts the child in a pids cgroup of its own (the v1 ``pids`` hierarchy, or
  cgroup v2 where the grader's cgroup has the pids controller enabled for its children), whose
  ``pids.max`` is the limit; the cgroup also lists every process the child started, even one that left
  its process group and dropped its environment, so all of them can be killed (unless the child runs as
  root outside bubblewrap: then it can leave the cgroup);
- where neither is possible, the limit is not enforced and the report says so.

Memory: RLIMIT_AS bounds each process; a grader running as root also puts the child in a memory cgroup
(v1 ``memory`` hierarchy, or v2's ``memory.max`` where enabled), which bounds all of its processes
together, the tmpfs files they write included. Without one the report says "memory limited per process only".
"""

import os
import select
import signal
import subprocess
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
NOT_ENFORCED = "process limit not enforced (the grader runs as root and cannot create a pids cgroup)"
KILL_WAIT = 0.2  # seconds kill_all goes on killing what is left in the cgroup (processes may fork meanwhile)
MEMORY_NEAR_LIMIT = 0.95  # a high-water mark this close to the memory limit counts as reaching it
MEMORY_PER_PROCESS = "memory limited per process only (no memory cgroup: the grader is not root or cannot create one)"


class ProcessLimit:
    """Limit the number of processes of one child: start it through :meth:`wrap`, with ``rlimit`` set."""

    def __init__(self, limit, token, memory_bytes=None):
        """token: the child's ``<grader pid>-<random hex>``, which names its cgroups; memory_bytes: the
        total memory of all its processes (a memory cgroup, as root), or None."""
        self.limit, self.cgroup, self.rlimit, self.memory_cgroup = limit, None, None, None
        self.memory_bytes = memory_bytes
        name = f"grader-{_pid_namespace()}-{token}"
        if os.getuid() != 0:
            self.rlimit = _nproc_limit(limit + processes_of(os.getuid()))
        else:
            self.cgroup = _create_cgroup(name, limit)
            if memory_bytes:
                self.memory_cgroup = _create_memory_cgroup(name, memory_bytes, self.cgroup)
        self._memory_failures = self._memory_failure_count()
        self._peak_since_mark = False

    @property
    def enforced(self):
        return self.cgroup is not None or self.rlimit is not None

    def notes(self):
        """What the report should say about limits that do not hold."""
        return ([] if self.enforced else [NOT_ENFORCED]) + ([] if self.memory_cgroup else [MEMORY_PER_PROCESS])

    def mark(self):
        """Judge the memory limit from now on (a task's fork starts): counters and the peak are reset."""
        self._memory_failures = self._memory_failure_count()
        self._peak_since_mark = False
        if self.memory_cgroup is not None:
            try:  # v1: writing 0 resets the high-water mark (v2's memory.peak cannot be reset for all readers)
                (self.memory_cgroup / "memory.max_usage_in_bytes").write_text("0")
                self._peak_since_mark = True
            except OSError:
                pass

    def memory_exceeded(self):
        """Whether the memory cgroup refused memory or killed a process, or its use came within
        MEMORY_NEAR_LIMIT of the limit, since :meth:`mark` (or the child's start)."""
        peak = self.memory_peak() if self._peak_since_mark else None  # an older task's peak says nothing
        near = peak is not None and self.memory_bytes and peak >= MEMORY_NEAR_LIMIT * self.memory_bytes
        return bool(near) or self._memory_failure_count() > self._memory_failures

    def memory_peak(self):
        """The memory cgroup's high-water mark in bytes (v1 since :meth:`mark`; v2 since the child started),
        or None without one."""
        if self.memory_cgroup is None:
            return None
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            try:
                return int((self.memory_cgroup / name).read_text())
            except (OSError, ValueError):
                continue
        return None

    def _memory_failure_count(self):
        if self.memory_cgroup is None:
            return 0
        try:
            if (self.memory_cgroup / "memory.events").exists():  # v2: oom and oom_kill counters
                fields = dict(line.split() for line in (self.memory_cgroup / "memory.events").read_text().splitlines())
                return int(fields.get("oom_kill", 0)) + int(fields.get("oom", 0))
            # v1: failcnt counts refused charges, oom_control's oom_kill the processes killed (some
            # kernels count only the latter).
            control = dict(
                line.split()
                for line in (self.memory_cgroup / "memory.oom_control").read_text().splitlines()
                if len(line.split()) == 2
            )
            return int((self.memory_cgroup / "memory.failcnt").read_text()) + int(control.get("oom_kill", 0))
        except (OSError, ValueError):
            return 0

    def wrap(self, argv):
        """The command that starts ``argv`` inside the cgroups: a shell that moves itself in, then execs.
        (Joining in a preexec_fn would run Python between fork and exec in a process with threads.)"""
        groups = [g for g in dict.fromkeys((self.cgroup, self.memory_cgroup)) if g is not None]
        return _joining(groups, argv) if groups else list(argv)

    def members(self):
        """Pids in the cgroup (none without one)."""
        return _members(self.cgroup) if self.cgroup is not None else []

    def kill_all(self):
        """SIGKILL every process in the cgroup (until none is left, as a process may fork meanwhile)."""
        if self.cgroup is None:
            return
        deadline, pause = time.monotonic() + KILL_WAIT, 0.001  # a killed process leaves within a millisecond or so
        while True:
            pids = _members(self.cgroup)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if time.monotonic() >= deadline:
                return
            time.sleep(pause)
            pause = min(2 * pause, 0.01)

    def close(self):
        """Kill what is left and remove the cgroups (a killed process leaves them a moment after SIGKILL)."""
        if self.cgroup is not None:
            self.kill_all()
        for group in dict.fromkeys((self.cgroup, self.memory_cgroup)):
            if group is not None:
                _remove(group)
        self.cgroup = self.memory_cgroup = None


def _remove(cgroup):
    for _ in range(100):
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def processes_of(uid):
    """How many processes (threads included, as RLIMIT_NPROC counts them) the real uid ``uid`` has."""
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return count


def _nproc_limit(wanted):
    """RLIMIT_NPROC to set: ``wanted``, but never above the hard limit (which only root may raise)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def _pid_namespace():
    """This process's PID namespace, as a number: pids mean something only within one namespace."""
    try:
        return os.readlink("/proc/self/ns/pid").split("[")[1].rstrip("]")
    except (OSError, IndexError):
        return "0"


def _create_cgroup(name, limit):
    """A new pids cgroup below the grader's own, with pids.max = limit, that a process can join; or None."""
    return _joinable_cgroup(_pids_cgroup_dirs(), name, {"pids.max": limit})


def _create_memory_cgroup(name, limit_bytes, pids_cgroup):
    """A memory cgroup holding at most ``limit_bytes`` (swap included where it is accounted), or None:
    under cgroup v2 the pids cgroup itself when its memory controller is enabled, else a v1 one."""
    if pids_cgroup is not None and (pids_cgroup / "memory.max").exists():
        try:
            (pids_cgroup / "memory.max").write_text(str(limit_bytes))
            if (pids_cgroup / "memory.swap.max").exists():
                (pids_cgroup / "memory.swap.max").write_text("0")
            return pids_cgroup
        except OSError:
            return None
    settings = {"memory.limit_in_bytes": limit_bytes, "memory.memsw.limit_in_bytes": limit_bytes}
    return _joinable_cgroup(
        _controller_dirs("memory", v2=False), name, settings, optional=("memory.memsw.limit_in_bytes",)
    )


def _joinable_cgroup(parents, name, settings, optional=()):
    """The cgroup ``name`` made below the first of ``parents`` where it can be created, given ``settings``
    (file -> value, in order; the ``optional`` files are written only where they exist) and joined; or None."""
    for parent in parents:
        _remove_stale(parent)
        path = parent / name
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            for file, value in settings.items():
                if file not in optional or (path / file).exists():
                    (path / file).write_text(str(value))
            if _can_join([path]):
                return path
        except OSError:
            pass
        _remove(path)
    return None


def _remove_stale(parent):
    """Remove the empty cgroups of graders that were killed before they could remove theirs: those of this
    PID namespace (where their pid can be looked up) whose grader process is gone."""
    for path in parent.glob(f"grader-{_pid_namespace()}-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                path.rmdir()  # fails, harmlessly, while a process is still in it
            except OSError:
                pass


def _can_join(paths):
    """Start a process in the cgroups as children will be: writing cgroup.procs can fail where creating
    the cgroup did not."""
    try:
        return exit_status(_joining(paths, ["/bin/true"]), timeout=10) == 0
    except (OSError, subprocess.SubprocessError):
        return False


def exit_status(argv, timeout):
    """The exit status of ``argv``, run to its end (killed after ``timeout`` seconds: TimeoutExpired).

    Not ``subprocess.run``: its wait with a timeout polls, sleeping up to milliseconds past a short process's
    exit; a pidfd (Linux 5.3) wakes this one as the process ends."""
    deadline = time.monotonic() + timeout
    process = subprocess.Popen(argv)
    try:
        try:
            pidfd = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            pidfd = None  # an older kernel: the wait below polls
        if pidfd is not None:
            try:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.poll(timeout * 1000)
            finally:
                os.close(pidfd)
        try:
            return process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise subprocess.TimeoutExpired(argv, timeout) from None
    except BaseException:
        process.kill()
        process.wait()
        raise


def _joining(cgroups, argv):
    """``argv`` run by a shell that first moves itself into each of ``cgroups``."""
    joins = " && ".join(f'echo $$ > "${index + 1}"' for index in range(len(cgroups)))
    script = f'{joins} && shift {len(cgroups)} && exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *(str(c / "cgroup.procs") for c in cgroups), *argv]


def _pids_cgroup_dirs():
    return _controller_dirs("pids")


def _controller_dirs(controller, v2=True):
    """Directories of the grader's own cgroup that have ``controller``: v2 first, then v1."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    dirs = []
    for line in lines:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "" and (CGROUP_ROOT / "cgroup.controllers").exists():
            if v2:
                dirs.insert(0, CGROUP_ROOT / path.lstrip("/"))
        elif controller in controllers.split(","):
            dirs.extend(_v1_dirs(controller, path))
    return [d for d in dirs if d.is_dir()]


def _v1_dirs(controller, path):
    """Where the cgroup ``path`` of a v1 hierarchy with ``controller`` is mounted: a mount shows the
    hierarchy from its root (a container may see only its own part of it)."""
    dirs = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return dirs
    for line in lines:
        fields, _, tail = line.partition(" - ")
        parts, tail_parts = fields.split(), tail.split()
        if not (
            len(parts) > 4
            and len(tail_parts) > 2
            and tail_parts[0] == "cgroup"
            and controller in tail_parts[2].split(",")
        ):
            continue
        root, mount = parts[3].rstrip("/"), Path(parts[4])
        if path == root or path.startswith(root + "/"):
            dirs.append(mount / path[len(root) :].lstrip("/"))
    return dirs


def _members(cgroup):
    try:
        return [int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []
