"""Confine the process that runs student code: an unprivileged uid, no network, no kernel objects that
outlive a task, and (where the kernel has Landlock) a file system reduced to what the worker needs.

This module runs in the child (the stage holds a copy of it): standard library only. The grader decides
everything and writes it as a plain *spec* (``confine.json`` in the stage); the child only applies it:

- ``uids``: candidate uids (and as many gids) to drop to, the first that the kernel accepts is used
  (a process that starts as root; supplementary groups cleared), with ``nproc`` as RLIMIT_NPROC, which
  the kernel counts per uid and enforces for every uid but root;
- ``seccomp``: a filter refusing what reaches past the task: sockets other than AF_UNIX, connecting,
  binding and addressed sends; SysV IPC and POSIX message queues (they outlive the process that made
  them, and others' are reachable by id); memfd (memory no per-process limit counts); keyrings; ptrace
  and cross-process memory access; new namespaces; io_uring, bpf, perf and userfaultfd; mounting. ``clone3`` answers ENOSYS (its flags cannot be inspected: libc falls back to
  ``clone``, whose flags can);
- ``landlock``: rules ``[path, "read" | "write" | "device"]``; everything else on the file system is
  refused, TCP too, and (ABI 6) signals and abstract unix sockets outside the sandbox.

``no_new_privs`` is set first: a confined process can never gain privileges (setuid binaries), which
also lets an unprivileged process install the filter and the Landlock domain.
"""

import contextlib
import ctypes
import functools
import json
import os
import resource
import socket
import stat
import struct

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

# -- seccomp --------------------------------------------------------------------------------------

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SYSCALLS = {  # name: (x86_64, aarch64)
    "socket": (41, 198),
    "connect": (42, 203),
    "bind": (49, 200),
    "listen": (50, 201),
    "accept": (43, 202),
    "accept4": (288, 242),
    "sendto": (44, 206),
    "sendmsg": (46, 211),
    "sendmmsg": (307, 269),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "pidfd_getfd": (438, 438),
    "shmget": (29, 194),
    "semget": (64, 190),
    "msgget": (68, 186),
    "mq_open": (240, 180),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "unshare": (272, 97),
    "setns": (308, 268),
    "clone": (56, 220),
    "clone3": (435, 435),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "shmat": (30, 196),
    "shmctl": (31, 195),
    "shmdt": (67, 197),
    "semop": (65, 193),
    "semctl": (66, 191),
    "semtimedop": (220, 192),
    "msgsnd": (69, 189),
    "msgrcv": (70, 188),
    "msgctl": (71, 187),
    "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183),
    "mq_notify": (244, 184),
    "mq_getsetattr": (245, 185),
    "memfd_create": (319, 279),
    "memfd_secret": (447, 447),
}
REFUSED = (
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "sendmsg",
    "sendmmsg",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "shmget",
    "semget",
    "msgget",
    "mq_open",
    "keyctl",
    "add_key",
    "request_key",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    # Objects made by someone else are reachable by id (a segment of another user's, mode 0666):
    "shmat",
    "shmctl",
    "shmdt",
    "semop",
    "semctl",
    "semtimedop",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    # Memory no per-process limit counts (RLIMIT_AS does not see a memfd's pages).
    "memfd_create",
    "memfd_secret",
)
AF_UNIX = 1
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
CLONE_NEW_FLAGS = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
X32_BIT = 0x40000000  # x86_64's x32 ABI: another numbering, refused as a whole
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ/JGE/JSET|K, BPF_RET|K
_NR, _ARCH = 0, 4  # offsets in struct seccomp_data; args[i] at 16 + 8 i (low half first: little-endian)


def _arg(index, high=False):
    return 16 + 8 * index + (4 if high else 0)


def seccomp_program(machine):
    """The filter as a list of (code, jt, jf, k) for this machine (``os.uname().machine``); None if unknown."""
    if machine not in AUDIT_ARCH:
        return None
    column = 0 if machine == "x86_64" else 1
    nr = {name: numbers[column] for name, numbers in _SYSCALLS.items()}
    errno = lambda value: (_RET, 0, 0, RET_ERRNO | value)  # noqa: E731
    allow = (_RET, 0, 0, RET_ALLOW)
    program = [(_LD, 0, 0, _ARCH), (_JEQ, 1, 0, AUDIT_ARCH[machine]), (_RET, 0, 0, RET_KILL_PROCESS), (_LD, 0, 0, _NR)]
    if machine == "x86_64":
        program += [(_JGE, 0, 1, X32_BIT), errno(EPERM)]
    for name in REFUSED:
        program += [(_JEQ, 0, 1, nr[name]), errno(EPERM)]
    program += [(_JEQ, 0, 1, nr["clone3"]), errno(ENOSYS)]
    # clone: refused with any namespace flag (the flags are its first argument).
    program += [(_JEQ, 0, 4, nr["clone"]), (_LD, 0, 0, _arg(0)), (_JSET, 0, 1, CLONE_NEW_FLAGS), errno(EPERM), allow]
    # socket: AF_UNIX only (pairs of them; connect and bind are refused above).
    program += [(_JEQ, 0, 4, nr["socket"]), (_LD, 0, 0, _arg(0)), (_JEQ, 0, 1, AF_UNIX), allow, errno(EAFNOSUPPORT)]
    # sendto: only without an address (libc's send() is sendto with a null address).
    program += [
        (_JEQ, 0, 6, nr["sendto"]),
        (_LD, 0, 0, _arg(4)),
        (_JEQ, 0, 3, 0),
        (_LD, 0, 0, _arg(4, high=True)),
        (_JEQ, 0, 1, 0),
        allow,
        errno(EPERM),
    ]
    return program + [allow]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp():
    """Install the filter in this process (and everything it starts); raises OSError where it cannot."""
    raw, fprog = _filter()
    _check(_libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


@functools.lru_cache(maxsize=None)
def _filter():
    """(the filter's instructions, the sock_fprog pointing at them), built once per process: the template
    builds it for every fork to install."""
    program = seccomp_program(os.uname().machine)
    if program is None:
        raise OSError(f"no seccomp filter for {os.uname().machine}")
    raw = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in program))
    return raw, _SockFprog(len(program), ctypes.addressof(raw))


# -- Landlock -------------------------------------------------------------------------------------

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same number on every architecture
_VERSION_FLAG, _RULE_PATH_BENEATH = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_CHANGES = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a file may grant


def landlock_abi():
    """The kernel's Landlock ABI version, or 0 where it has none (or it is disabled)."""
    try:
        version = _syscall(_CREATE_RULESET, None, 0, _VERSION_FLAG)
    except OSError:
        return 0
    return max(version, 0)


def _handled(abi):
    rights = EXECUTE | WRITE_FILE | READ_FILE | READ_DIR | _CHANGES
    rights |= (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    return rights


def _rights(kind, handled):
    """What a rule of ``kind`` grants: read (and execute) a tree, write within a tree, or use a device file."""
    if kind == "read":
        wanted = EXECUTE | READ_FILE | READ_DIR
    elif kind == "write":
        wanted = handled
    else:  # "device": /dev/null and the like
        wanted = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV
    return wanted & handled


def restrict_filesystem(rules, abi, prepared=None):
    """Allow only ``rules`` ([path, kind] pairs, see :func:`_rights`) from now on; missing paths are left out.
    ``prepared``: a descriptor of the same rules made by :func:`ruleset` (this process's copy: it is closed)."""
    ruleset = prepared if prepared is not None else make_ruleset(rules, abi)
    try:
        _syscall(_RESTRICT_SELF, ruleset, 0)  # needs no_new_privs, set by apply()
    finally:
        os.close(ruleset)


def make_ruleset(rules, abi):
    """A Landlock ruleset holding ``rules`` (a descriptor), not yet applied to anyone: the template makes it
    once and every fork restricts itself with its copy (one system call instead of two per rule)."""
    handled = _handled(abi)
    attr = struct.pack(
        "QQQ",
        handled,
        NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(_CREATE_RULESET, buffer, size, 0)
    try:
        for path, kind in rules:
            _add_path_rule(ruleset, path, _rights(kind, handled))
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def _add_path_rule(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        if rights:
            attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
            _syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, attr, 0)
    finally:
        os.close(fd)


# -- the whole confinement ------------------------------------------------------------------------


def drop_privileges(uid, gid, nproc):
    """Become ``uid``/``gid`` with no supplementary group, at most ``nproc`` processes of that uid."""
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError("the privileges could not be dropped")


def apply(spec, ruleset=None):
    """Apply ``spec`` to this process (see the module's docstring); raises OSError if any part fails.
    ``ruleset``: this process's copy of the spec's rules made by :func:`make_ruleset` (closed here), else
    they are made now."""
    if spec.get("refuse"):
        raise OSError("no candidate uid could be confined")
    if spec.get("uid") is not None:
        drop_privileges(spec["uid"], spec["gid"], spec.get("nproc"))
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if spec.get("landlock"):
        restrict_filesystem(spec["rules"], spec["landlock"], ruleset)
    elif ruleset is not None:
        os.close(ruleset)
    if spec.get("seccomp"):
        install_seccomp()


def prepare(spec):
    """What every fork that applies ``spec`` shares, made once in the template, which applies none of it to
    itself: libc looked up, the seccomp filter built, and the Landlock ruleset with its rules (a descriptor
    each fork applies and closes, see :func:`apply`; None without Landlock). Raises OSError if it cannot."""
    _libc()
    if spec.get("seccomp"):
        _filter()
    return make_ruleset(spec["rules"], spec["landlock"]) if spec.get("landlock") else None


def probe(spec, forbidden, grader_pid, unwritable=(), ruleset=None):
    """Confine a fork of this process with ``spec`` (and ``ruleset``, see :func:`apply`) and try there what a
    confined process must not do:
    open a TCP socket, read or list each of ``forbidden``, create a file in each of ``unwritable``, signal
    ``grader_pid``, create a SysV shared memory segment. Returns what it managed, as short names (empty: everything held); "confine: ..." if
    the confinement itself failed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            found = _attempts(spec, forbidden, grader_pid, unwritable, ruleset)
        except BaseException as exc:  # noqa: BLE001  (any failure to confine is the answer)
            found = [f"confine: {exc}"[:300]]
        os.write(write_end, json.dumps(found).encode()[:60000])
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read(65536)
    os.waitpid(pid, 0)
    try:
        found = json.loads(data)
    except ValueError:
        return ["confine: the probe died"]
    return [str(item) for item in found] if isinstance(found, list) else ["confine: the probe died"]


def _attempts(spec, forbidden, grader_pid, unwritable, ruleset):
    apply(spec, ruleset)
    found = []
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        found.append("open a TCP socket")
    except OSError:
        pass
    for path in forbidden:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").close()
            found.append(f"read {path}")
        except OSError:
            pass
    for folder in unwritable:
        path = os.path.join(folder, ".grader-probe")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.unlink(path)
            found.append(f"write in {folder}")
        except OSError:
            pass
    if grader_pid:
        try:
            os.kill(grader_pid, 0)
            found.append("signal the grader")
        except OSError:
            pass
    libc = _libc()
    segment = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if segment >= 0:
        libc.shmctl(segment, 0, None)  # IPC_RMID
        found.append("create a SysV shared memory segment")
    return found


def empty_folder(fd):
    """Remove everything inside the folder open as ``fd``, never following a link, without recursion and
    with three descriptors open at most (a folder, its parent on the way up, a listing) (a tree thousands of folders deep is removed like a flat one).
    A folder its owner locked (mode 000, say) is unlocked first: whoever empties it owns what is in it, or is
    root. Errors are skipped: what cannot be removed stays. Going back up, each folder is checked to be the
    one gone down from: nothing outside the folder is touched, whatever was renamed or linked."""
    current, trail, given_up = os.dup(fd), [], [set()]  # trail: (name, identity of the folder above it)
    try:
        _unlock(current)
        while True:
            inner = _first_subfolder(current, given_up[-1])
            if inner is not None:
                trail.append((inner[1], _identity(current)))
                os.close(current)
                current = inner[0]
                given_up.append(set())
                continue
            if not trail:
                return
            name, above = trail.pop()
            parent = os.open("..", FOLDER_FLAGS, dir_fd=current)
            os.close(current)
            current = parent
            if _identity(current) != above:
                return  # the tree was moved meanwhile: stop rather than touch anything else
            given_up.pop()
            try:
                os.rmdir(name, dir_fd=current)
            except OSError:
                given_up[-1].add(name)  # left as it is: never entered again
    finally:
        os.close(current)


FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC  # a folder, never through a link


def _identity(fd):
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _first_subfolder(folder, given_up):
    """Unlink every non-folder entry of ``folder``; return (fd, name) of a subfolder still in it that is not
    in ``given_up`` (unlocked: see :func:`_unlock`), or None."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in given_up:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    inner = _open_locked(entry.name, folder)
                    _unlock(inner)
                    return inner, entry.name
                os.unlink(entry.name, dir_fd=folder)
            except OSError:
                given_up.add(entry.name)
    return None


def _open_locked(name, folder):
    """The subfolder ``name`` of ``folder`` opened, made enterable first where its mode forbids it."""
    try:
        return os.open(name, FOLDER_FLAGS, dir_fd=folder)
    except PermissionError:
        path = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        try:
            os.chmod(f"/proc/self/fd/{path}", UNLOCKED)  # a folder, never through a link: opened so above
        finally:
            os.close(path)
        return os.open(name, FOLDER_FLAGS, dir_fd=folder)


def _unlock(fd):
    """Let the folder open as ``fd`` be listed and emptied by its owner (its entries removed)."""
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_mode & UNLOCKED != UNLOCKED:
            os.fchmod(fd, UNLOCKED)


UNLOCKED = 0o700  # what the owner needs of a folder to empty it: list, enter, remove entries


def remove_tree(path):
    """Remove ``path`` (a folder, not followed if it is a link) and everything in it, as :func:`empty_folder`."""
    try:
        fd = os.open(path, FOLDER_FLAGS)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    try:
        empty_folder(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)


@functools.lru_cache(maxsize=None)
def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _syscall(number, *args):
    converted = [
        ctypes.c_void_p(None) if a is None else a if isinstance(a, ctypes.Array) else ctypes.c_long(a) for a in args
    ]
    result = _libc().syscall(ctypes.c_long(number), *converted)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"syscall {number}: {os.strerror(error)}")
    return result


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
