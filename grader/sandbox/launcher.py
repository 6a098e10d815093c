"""The command that starts the child: under bubblewrap when it is available, else a plain process.

The interpreter runs as ``python -I -S -B``: no site-packages, no ``.pth`` files, no editable-install
finders on ``sys.path``. It imports numpy from a folder that holds numpy alone (``LIB``).

Under bubblewrap the child sees a read-only root and system (/usr, /lib, /etc and the Python
installation), with every folder the grader imports packages from (site-packages, dist-packages, the
project of an editable install) hidden under an empty read-only tmpfs, whatever the kind of install;
numpy alone at /sandbox/lib; its own read-only stage (the worker, the protocol and a copy of
``assignment`` without stored expectations) at /sandbox/stage; a read-only /dev; a private writable
/sandbox/work and /tmp (size-limited tmpfs: the only writable places); no network; its own PID
namespace; uid 65534; and it dies with the grader. Without bubblewrap the forks confine themselves
(``confine.py``): as root, a uid of their own with seccomp and Landlock; otherwise seccomp and Landlock
under the grader's own uid (see :func:`confinement_spec`).
"""

import atexit
import functools
import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

STAGE, WORK, LIB = "/sandbox/stage", "/sandbox/work", "/sandbox/lib"
WORK_BYTES, TMP_BYTES = 256 << 20, 64 << 20  # what a submission may write under bubblewrap, in all
HIDDEN_BYTES = 4096  # the empty tmpfs laid over a package folder
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
BWRAP_ISOLATION = "bubblewrap (read-only system, no network, own PID namespace, unprivileged uid)"
WEAK_ISOLATION = (
    "weak isolation (bubblewrap unavailable, the grader is not root: student code runs as the grader's user)"
)
UNPRIVILEGED_ISOLATION = "unprivileged user"  # root without bubblewrap; made precise by confirmed_isolation
PYTHON_FLAGS = ("-I", "-S", "-B")  # isolated mode, no site module (so no site-packages), no .pyc writes


def build_command(stage, workdir, use_bwrap, processes=None):
    """Return (argv, isolation description, the child's view of its own folder) for a child serving
    ``stage/worker.py`` in ``workdir``, and write the confinement its forks apply into the stage (see
    ``confine.py``; ``processes``: RLIMIT_NPROC of the uid a root grader drops to). The description is
    provisional until the template's probe confirms it (:func:`confirmed_isolation`)."""
    bwrap = shutil.which("bwrap") if use_bwrap else None
    if bwrap and bwrap_works(bwrap):
        # bubblewrap holds the rest; the filter keeps kernel objects per task (where this machine has one)
        write_spec(stage, {"seccomp": seccomp_available()})
        return _bwrap_argv(bwrap, stage), BWRAP_ISOLATION, WORK
    unprivileged = os.geteuid() == 0
    # As root, the sandbox's uid gets a folder of its own inside the grader's: it can neither rename nor
    # replace that folder, which the template empties after every task.
    home = Path(workdir) / HOME if unprivileged else Path(workdir)
    home.mkdir(exist_ok=True)
    spec = confinement_spec(stage, home, unprivileged, processes)
    write_spec(stage, spec)
    argv = [os.path.realpath(sys.executable), *PYTHON_FLAGS, str(stage / "worker.py"), str(stage / "lib"), str(home)]
    return argv, UNPRIVILEGED_ISOLATION if unprivileged else WEAK_ISOLATION, str(home)


# -- without bubblewrap: the forks confine themselves -----------------------------------------------

SPEC_FILE = "confine.json"
HOME = "home"  # the sandbox uid's folder inside the work folder (root without bubblewrap)
FIRST_SANDBOX_UID = 1_000_000  # uids drawn per sandbox from here on: no account has them, no other sandbox shares one
LAST_SANDBOX_UID = 2_000_000_000
NOBODY = 65534  # the last resort, shared with every other sandbox and the system's own "nobody"
MIN_SANDBOX_UID = 1000  # below: the system's own accounts
PROBED_FILES = 20  # files of each forbidden folder the probe tries to open by name
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
_KERNEL_VIEWS = ("/proc", "/sys")  # read-only; another uid's /proc entries are guarded by the kernel
_NOT_STAGED_STDLIB = (
    "site-packages",
    "dist-packages",
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
)
MAX_RULE_DEPTH = 12  # folders followed down to a hidden one when the Landlock allow-list is laid around it


def write_spec(stage, spec):
    (Path(stage) / SPEC_FILE).write_text(json.dumps(spec))


def read_spec(stage):
    try:
        return json.loads((Path(stage) / SPEC_FILE).read_text())
    except (OSError, ValueError):
        return {}


def confinement_spec(stage, workdir, unprivileged, processes=None):
    """What each fork applies: Landlock rules where the kernel has Landlock, the seccomp filter, and as root
    an unprivileged uid of its own (the standard library and numpy staged where that uid cannot reach them)."""
    from grader.sandbox import confine

    spec = {
        "seccomp": seccomp_available(),
        "landlock": confine.landlock_abi(),
        "grader_pid": os.getpid(),
        "forbidden": forbidden_paths(),
        "unwritable": [str(stage)] + [str(folder) for folder in autograder_folders()],
    }
    if unprivileged:
        uid = sandbox_uid()
        spec |= {
            "uids": [[uid, uid], [NOBODY, NOBODY]],
            "nproc": processes,
            "stdlib": stage_unreachable(stage),
            "stdlib_original": os.path.realpath(sysconfig.get_paths()["stdlib"]),
        }
        os.chmod(stage, 0o755)  # readable, not writable, by the sandbox's uid
    spec["rules"] = (
        landlock_rules(stage, workdir) + [[h, "read"] for h in _REACHABLE_HOLDERS] if spec["landlock"] else []
    )
    return spec


def sandbox_uid(uid_map="/proc/self/uid_map", passwd="/etc/passwd"):
    """A uid for one sandbox, drawn at random among those this (user) namespace maps that no account has:
    from FIRST_SANDBOX_UID up where the map reaches that far (a plain container, a machine), else from the
    highest mapped range (a rootless container maps 0..65535). No other sandbox draws the same one but
    by a chance of about one in the range's size."""
    ranges = _mapped_ranges(uid_map)
    accounts = _account_uids(passwd)
    wide = [
        (max(low, FIRST_SANDBOX_UID), min(high, LAST_SANDBOX_UID))
        for low, high in ranges
        if min(high, LAST_SANDBOX_UID) > max(low, FIRST_SANDBOX_UID)
    ]
    pool = wide or [(max(low, MIN_SANDBOX_UID), high) for low, high in ranges if high > max(low, MIN_SANDBOX_UID)]
    taken = accounts | {NOBODY}
    for _ in range(100):
        low, high = pool[secrets.randbelow(len(pool))] if pool else (NOBODY, NOBODY + 1)
        uid = low + secrets.randbelow(high - low)
        if uid not in taken:
            return uid
    # Nearly every mapped uid has an account: the free ones, if any, one by one (a small map: rootless).
    free = (uid for low, high in pool for uid in range(low, min(high, low + 1_000_000)) if uid not in taken)
    return next(free, NOBODY)


def _mapped_ranges(uid_map):
    """[(first, end)) of the uids this namespace maps, from /proc/self/uid_map ("inside outside count")."""
    try:
        lines = Path(uid_map).read_text().splitlines()
    except OSError:
        return [(0, 2**32 - 1)]
    ranges = []
    for line in lines:
        fields = line.split()
        if len(fields) == 3 and all(f.isdigit() for f in fields):
            ranges.append((int(fields[0]), min(int(fields[0]) + int(fields[2]), 2**32 - 1)))
    return ranges


def _account_uids(passwd):
    try:
        return {
            int(line.split(":")[2])
            for line in Path(passwd).read_text().splitlines()
            if line.count(":") >= 2 and line.split(":")[2].isdigit()
        }
    except OSError:
        return set()


def seccomp_available():
    """Whether there is a seccomp filter for this machine's architecture (x86_64, aarch64)."""
    from grader.sandbox import confine

    return confine.seccomp_program(os.uname().machine) is not None


def forbidden_paths():
    """What a confined process must not read, which the template's probe tries: the grader and the
    references wherever they are installed, and the Gradescope autograder's own files. (Landlock also
    refuses every other hidden folder; without it, other users' view of those is the system's affair.)"""
    import grader
    import solutions

    folders = [os.path.realpath(Path(module.__file__).parent) for module in (grader, solutions)]
    folders += [str(folder) for folder in autograder_folders()]
    # Each folder, and files in it by name: a folder others may pass through but not list (mode 0711)
    # still gives its files to whoever knows their names.
    return folders + [path for folder in folders for path in _some_files(folder)]


def autograder_folders():
    """Gradescope's autograder files (source: the zip, the wheel with the references; results), where they are."""
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    return [root / name for name in ("source", "results") if (root / name).is_dir()]


def _some_files(folder, count=PROBED_FILES):
    """Up to ``count`` files under ``folder`` (first level first), as the grader (root) sees them."""
    found, folders = [], [folder]
    while folders and len(found) < count:
        try:
            with os.scandir(folders.pop(0)) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        found.append(entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
        except OSError:
            continue
    return found[:count]


def stage_unreachable(stage):
    """Make what the unprivileged uid must import reachable: numpy (and its bundled libraries) and the
    standard library are linked (or copied) into a folder it can read when a folder above them is closed
    to other users (a venv in a private folder, a Python installed under /root). Returns the standard
    library's folders to use instead of the interpreter's, or None when those are reachable."""
    libraries = library_folder()
    if not all(reachable(source) for source in libraries):
        # Side by side, as in site-packages: numpy's extensions find numpy.libs through $ORIGIN/../../.
        for source, copy in zip(libraries, _reachable_copy(tuple(str(s) for s in libraries))):
            link = Path(stage) / "lib" / source.name
            link.unlink()
            link.symlink_to(copy, target_is_directory=True)
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    dynload = [p for p in sys.path if p.endswith("lib-dynload")]
    if reachable(stdlib) and all(reachable(p) for p in dynload):
        return None
    (copy,) = _reachable_copy((stdlib,), _NOT_STAGED_STDLIB)
    return [copy] + [
        os.path.join(copy, os.path.relpath(os.path.realpath(d), stdlib))
        if _within(os.path.realpath(d), stdlib)
        else _reachable_copy((os.path.realpath(d),))[0]
        for d in dynload
    ]


_REACHABLE = {}  # (sources, ignore) -> their copies, made once per grader process
_REACHABLE_HOLDERS = []  # the folders of those copies: Landlock lets the sandbox read them


def _reachable_copy(sources, ignore=()):
    """One copy per grader process of the folders ``sources`` side by side (hard links: no bytes copied
    where it can), in a folder of their own that every user can read and only root can write; removed
    when the process exits (made again should anything have removed it meanwhile). Returns the copies."""
    targets = _REACHABLE.get((sources, ignore))
    if targets is not None and all(os.path.isdir(target) for target in targets):
        return targets
    holder = tempfile.mkdtemp(prefix="grader-reachable-")
    atexit.register(shutil.rmtree, holder, True)
    _REACHABLE_HOLDERS.append(holder)
    os.chmod(holder, 0o755)
    targets = tuple(str(Path(holder) / Path(source).name) for source in sources)
    for source, target in zip(sources, targets):
        _link_tree(Path(source), Path(target), ignore)
    _REACHABLE[(sources, ignore)] = targets
    return targets


def reachable(path):
    """Whether any user can open ``path`` (a folder): every folder on the way searchable by others, and
    the folder itself readable."""
    path = os.path.realpath(path)
    try:
        if os.stat(path).st_mode & 0o005 != 0o005:
            return False
        parent = os.path.dirname(path)
        while parent != path:
            if not os.stat(parent).st_mode & 0o001:
                return False
            path, parent = parent, os.path.dirname(parent)
    except OSError:
        return False
    return True


def _link_tree(source, target, ignore=()):
    """A copy of ``source`` at ``target`` made of hard links (the same files, no bytes copied), or of
    copies where the two are on different file systems."""

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        source,
        target,
        symlinks=True,
        copy_function=link_or_copy,
        ignore=shutil.ignore_patterns(*ignore) if ignore else None,
    )
    os.chmod(target, 0o755)


def landlock_rules(stage, workdir):
    """The Landlock allow-list: the system and the Python installation read-only, minus every hidden folder
    (a rule grants a whole tree, so the list is laid around them), numpy and the stage read-only, the work
    folder writable, and the usual device files."""
    rules = list(_system_rules())
    rules += [[str(source), "read"] for source in library_folder()]
    rules += [[str(stage), "read"], [str(workdir), "write"]]
    return rules + [[device, "device"] for device in _DEVICES]


@functools.lru_cache(maxsize=None)
def _system_rules():
    hidden = [os.path.realpath(h) for h in hidden_folders()]
    roots = [d for d in _SYSTEM_DIRS if os.path.isdir(d)] + _python_roots() + list(_KERNEL_VIEWS)
    rules = []
    for root in dict.fromkeys(os.path.realpath(r) for r in roots):
        rules += _around(root, hidden, 0)
    return tuple(rules)


def _around(folder, hidden, depth):
    """Read rules covering ``folder`` but none of ``hidden``."""
    if any(_within(folder, h) for h in hidden):
        return []
    if not any(_within(h, folder) for h in hidden):
        return [[folder, "read"]]
    if depth > MAX_RULE_DEPTH:
        return []
    rules = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        rules += _around(os.path.realpath(entry.path), hidden, depth + 1)
    return rules


def confirmed_isolation(isolation, spec, report):
    """The isolation the report states, from what the template's probe found (``report``: (uid, found) as
    grader.boundary.confinement_report read it, or None). Raises ValueError naming what did not hold where
    the grader runs as root without bubblewrap: there an unconfined fork would run as root next to everything."""
    if not spec:
        return isolation
    if report is None:
        raise ValueError("the sandbox did not report its confinement")
    uid, found = report
    refused = [item for item in found if item.startswith("confine:")]
    if refused:  # every fork would exit before running anything: the machine's problem, never the student's
        raise ValueError("student code could not be confined here: " + "; ".join(refused)[:600])
    if isolation == BWRAP_ISOLATION:
        return isolation
    if isolation == UNPRIVILEGED_ISOLATION and (found or type(uid) is not int):
        advice = (
            ""
            if spec.get("landlock")
            else (
                " (this kernel has no Landlock: make those unreadable to other users, e.g. chmod -R o-rwx, or "
                "install bubblewrap)"
            )
        )
        raise ValueError(
            "student code could not be confined here: as an unprivileged user it could "
            + "; ".join(found or ["not drop to any uid"])[:600]
            + advice
        )
    files = (
        f"file system confined (Landlock ABI {spec['landlock']})"
        if spec.get("landlock")
        else "file access by permissions only (no Landlock)"
    )
    if isolation == UNPRIVILEGED_ISOLATION:
        shared = " shared with other processes: concurrent gradings can reach each other" if uid == NOBODY else ""
        return f"unprivileged user (uid {uid}{shared}), no network (seccomp), {files}, no bubblewrap"
    holds = "no network (seccomp)" if "open a TCP socket" not in found else "network open"
    return f"{WEAK_ISOLATION[:-1]}; {holds}; {files}" + "".join(f"; a submission can {item}" for item in found) + ")"


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
        candidates |= {
            sysconfig.get_path(key, vars={"base": prefix, "platbase": prefix}) for key in ("purelib", "platlib")
        }
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
    # The venv's path, which exists inside the sandbox through its root, made absolute: bubblewrap cannot
    # exec a path relative to the grader's folder (python started as ../venv/bin/python).
    python = os.path.abspath(sys.executable)
    return argv + ["--", python, *PYTHON_FLAGS, f"{STAGE}/worker.py", LIB, WORK, "/tmp"]


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
        result = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0
