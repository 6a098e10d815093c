"""The command that starts the child: under bubblewrap when it is available, else a plain process.

The interpreter runs as ``python -I -S -B``: no site-packages, no ``.pth`` files, no editable-install
finders on ``sys.path``. It imports numpy from a folder that holds numpy alone (``LIB``).

Under bubblewrap the child sees a read-only root and system (/usr, /lib, /etc and the Python
installation), with every folder the grader imports packages from (site-packages, dist-packages, the
project of an editable install) hidden under an empty read-only tmpfs, whatever the kind of install;
numpy alone at /sandbox/lib; its own read-only stage (the worker, the protocol and a copy of
``assignment`` without stored expectations) at /sandbox/stage; a read-only /dev; a private writable
/sandbox/work and /tmp (size-limited tmpfs: the only writable places); no network; its own PID
namespace; uid 65534; and it dies with the grader.
"""
import functools
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

STAGE, WORK, LIB = "/sandbox/stage", "/sandbox/work", "/sandbox/lib"
WORK_BYTES, TMP_BYTES = 256 << 20, 64 << 20  # what a submission may write under bubblewrap, in all
HIDDEN_BYTES = 4096  # the empty tmpfs laid over a package folder
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
BWRAP_ISOLATION = "bubblewrap (read-only system, no network, own PID namespace, unprivileged uid)"
WEAK_ISOLATION = "weak isolation (bubblewrap unavailable: plain child process with resource limits only)"
PYTHON_FLAGS = ("-I", "-S", "-B")  # isolated mode, no site module (so no site-packages), no .pyc writes


def build_command(stage, workdir, use_bwrap):
    """Return (argv, isolation description, the child's view of ``workdir``) for a child serving
    ``stage/worker.py`` in ``workdir``."""
    bwrap = shutil.which("bwrap") if use_bwrap else None
    if bwrap and bwrap_works(bwrap):
        return _bwrap_argv(bwrap, stage), BWRAP_ISOLATION, WORK
    argv = [sys.executable, *PYTHON_FLAGS, str(stage / "worker.py"), str(stage / "lib")]
    return argv, WEAK_ISOLATION, str(workdir)


@functools.lru_cache(maxsize=None)
def library_folder():
    """numpy's package folder, and the folder of the shared libraries its wheel bundles (numpy.libs)."""
    import numpy

    package = Path(numpy.__file__).resolve().parent
    bundled = package.parent / "numpy.libs"
    return tuple(p for p in (package, bundled) if p.is_dir())


def _python_roots():
    """Directories the interpreter and its standard library live in."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(r for r in roots if not r.startswith(_SYSTEM_DIRS))


def hidden_folders():
    """Folders inside the mounted trees that must look empty in the sandbox: every place the grader
    imports packages from but the standard library (site-packages, dist-packages, user site, the
    project of an editable install, PYTHONPATH), and the installed grader, references and assignment."""
    import site

    import assignment
    import grader
    import solutions

    stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    candidates = set(sys.path) | set(site.getsitepackages()) | {site.getusersitepackages()}
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:  # the base interpreter's own too
        candidates |= {sysconfig.get_path(key, vars={"base": prefix, "platbase": prefix}) for key in ("purelib", "platlib")}
    candidates |= set(glob.glob("/usr/lib/python3*/*-packages")) | set(glob.glob("/usr/local/lib/python3*/*-packages"))
    candidates |= {str(Path(module.__file__).parent) for module in (assignment, grader, solutions)}
    found = set()
    for path in candidates:
        real = os.path.realpath(path or os.getcwd())
        # Never the standard library, a folder above it, or one of its parts (lib-dynload); its
        # site-packages is not one of its parts.
        in_stdlib = any(_within(real, s) for s in stdlib) and "-packages" not in real
        needed = stdlib | {os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}
        # Nor the interpreter's own folder (sys.path[0] is the bin folder when a console script runs).
        if not os.path.isdir(real) or in_stdlib or any(_within(n, real) for n in needed):
            continue
        if any(_within(real, root) for root in _SYSTEM_DIRS + tuple(_python_roots())):
            found.add(real)
    # An empty tmpfs over a folder hides what is below it: a folder inside another is already hidden.
    return [f for f in sorted(found) if not any(_within(f, other) for other in found if other != f)]


def _within(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _bwrap_argv(bwrap, stage):
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534"]
    # Fresh /tmp, /proc and /dev first: a later bind (a venv under /tmp, the stage) must not be hidden by them.
    sized = supports_size(bwrap)
    argv += (["--size", str(TMP_BYTES)] if sized else []) + ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    for directory in _SYSTEM_DIRS:
        if os.path.exists(directory):
            argv += ["--ro-bind", directory, directory]
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    for folder in hidden_folders():
        argv += (["--size", str(HIDDEN_BYTES)] if sized else []) + ["--tmpfs", folder, "--remount-ro", folder]
    for source in library_folder():
        argv += ["--ro-bind", str(source), f"{LIB}/{source.name}"]
    argv += ["--ro-bind", str(stage), STAGE]
    # The work directory: a size-limited tmpfs, so a submission cannot fill the machine's disk (bubblewrap
    # older than 0.6 has no --size: then an unsized tmpfs, bounded by the memory limits only).
    argv += (["--size", str(WORK_BYTES)] if sized else []) + ["--tmpfs", WORK]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORK]
    python = sys.executable  # the venv's path, which exists inside the sandbox through its root
    return argv + ["--", python, *PYTHON_FLAGS, f"{STAGE}/worker.py", LIB, "/tmp"]


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
