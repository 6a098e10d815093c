"""The command that starts the child: under bubblewrap when it is available, else a plain process.

Under bubblewrap the child sees a read-only system (/usr, /lib, /etc and the Python installation), its
own read-only stage (the worker, the protocol and a copy of ``assignment``) at /sandbox/stage, a private
writable /sandbox/work and /tmp (size-limited tmpfs), no network, its own PID namespace, uid 65534, and dies with the grader. The
grader's code, the reference solutions and everything else on the machine are not mounted.
"""
import functools
import os
import shutil
import subprocess
import sys

STAGE, WORK = "/sandbox/stage", "/sandbox/work"
WORK_BYTES, TMP_BYTES = 256 << 20, 64 << 20  # what a submission may write under bubblewrap, in all
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
BWRAP_ISOLATION = "bubblewrap (read-only system, no network, own PID namespace, unprivileged uid)"
WEAK_ISOLATION = "weak isolation (bubblewrap unavailable: plain child process with resource limits only)"


def build_command(stage, workdir, use_bwrap):
    """Return (argv, isolation description, the child's view of ``workdir``) for a child serving
    ``stage/worker.py`` in ``workdir``."""
    bwrap = shutil.which("bwrap") if use_bwrap else None
    if bwrap and bwrap_works(bwrap):
        return _bwrap_argv(bwrap, stage, workdir), BWRAP_ISOLATION, WORK
    return [sys.executable, "-I", "-B", str(stage / "worker.py")], WEAK_ISOLATION, str(workdir)


def _python_roots():
    """Directories the interpreter and its packages (numpy) live in."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(r for r in roots if not r.startswith(_SYSTEM_DIRS))


def _bwrap_argv(bwrap, stage, workdir):
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534"]
    # Fresh /tmp, /proc and /dev first: a later bind (a venv under /tmp, the stage) must not be hidden by them.
    sized = supports_size(bwrap)
    argv += (["--size", str(TMP_BYTES)] if sized else []) + ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    for directory in _SYSTEM_DIRS:
        if os.path.exists(directory):
            argv += ["--ro-bind", directory, directory]
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    argv += ["--ro-bind", str(stage), STAGE]
    # The work directory: a size-limited tmpfs, so a submission cannot fill the machine's disk (bubblewrap
    # older than 0.6 has no --size: then the grader's directory, bounded only per file by RLIMIT_FSIZE).
    argv += ["--size", str(WORK_BYTES), "--tmpfs", WORK] if sized else ["--bind", str(workdir), WORK]
    argv += ["--chdir", WORK]
    python = sys.executable  # the venv's path, which exists inside the sandbox through its root
    return argv + ["--", python, "-I", "-B", f"{STAGE}/worker.py"]


@functools.lru_cache(maxsize=None)
def supports_size(bwrap):
    """Whether this bubblewrap can limit the size of a tmpfs (--size, bubblewrap 0.6 and later)."""
    try:
        result = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in result.stdout + result.stderr


@functools.lru_cache(maxsize=None)
def bwrap_works(bwrap):
    """Whether bubblewrap can start a sandbox here (it needs user namespaces or setuid)."""
    try:
        result = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                                capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0
