"""What :mod:`grader.tasks.memo` keeps per process, kept on disk across processes (a fresh grader process per
submission: Gradescope's containers, an instructor's shell).

Two things, the same for every submission: the reference model's overfit run (its accuracy and seconds of
work, :func:`grader.tasks.convnet.reference_overfit`) and the examples each hypothesis property tried on a
passing implementation (:mod:`grader.tasks.properties`). Each entry is keyed by everything it depends on (the
data's content, the code's source, the versions); an entry whose key differs is simply not found. The
references' expected values are not kept: they cost about 0.04 s of a grading (measured with cProfile), and
on disk they would be the hidden cases' answers.

Where (:func:`folder`): ``$GRADER_CACHE_DIR`` if set (set but empty: no disk cache), else
``$XDG_CACHE_HOME/convnet-grader``, else ``~/.cache/convnet-grader``. None of these is where the sandbox may
write (its work folder and /tmp, private under bubblewrap; the work folder alone under Landlock; as root, the
sandbox's own uid, which this folder's mode 0700 keeps out). Only under weak isolation (no bubblewrap, no
Landlock, not root; the report says so) does student code run as the grader's user and could write here, as
it could anywhere the grader can.

Trust: the entries are the grader's own data, but a file is read back as untrusted bytes. The folder must be
this user's and writable by no one else; an entry is opened without following a symbolic link, must be a
regular file of at most MAX_ENTRY_BYTES, JSON (never pickle) carrying FORMAT, its kind and its whole key; the
caller then checks the value's types and ranges. Anything else is ignored and computed again. If the folder
cannot be made or written, grading goes on without it, as correct as with it.
"""

import collections
import functools
import hashlib
import json
import os
import re
import secrets
import stat
from pathlib import Path

ENV = "GRADER_CACHE_DIR"
FOLDER_NAME = "convnet-grader"
FORMAT = 1  # of an entry's JSON; a change makes every older entry not found
MAX_ENTRY_BYTES = 64 << 10  # one entry: a property's 25 examples take ~3 KiB
MAX_FILES = 200  # entries kept (stale ones pile up over upgrades): the oldest go first, at most ~13 MiB in all
SUFFIX, TEMPORARY = ".json", ".tmp"
# The names the cache writes (_file_name, _write's temporary files): the only files _make_room ever removes,
# so a folder shared with other files by mistake (a class's results, say) loses none of them.
OWN_NAME = re.compile(r"\.?[a-z]+-[0-9a-f]{40}\.json(\.[0-9]+\.[0-9a-f]{8}\.tmp)?")

_COUNTS = collections.Counter()  # (kind, 'found' | 'stored' | 'not stored') -> times, in this process


def folder():
    """The cache folder (perhaps not made yet), or None: the disk cache is off ($GRADER_CACHE_DIR set but
    empty) or there is no home folder to keep it in."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        try:
            base = os.path.join(Path.home(), ".cache")
        except (RuntimeError, KeyError):
            return None
    return Path(base) / FOLDER_NAME


def load(kind, key):
    """The value stored for ``kind`` and ``key`` (a dict of plain JSON values), or None: not there, not
    readable, or not an entry of this kind and key."""
    directory = _open_folder(create=False)
    if directory is None:
        return None
    try:
        raw = _read(directory, _file_name(kind, key))
    finally:
        os.close(directory)
    try:
        entry = json.loads(raw, parse_constant=_no_constant) if raw is not None else None
    except (ValueError, RecursionError):
        return None
    if type(entry) is not dict or entry.get("format") != FORMAT or entry.get("kind") != kind:
        return None
    if entry.get("key") != _plain(key):
        return None
    _COUNTS[kind, "found"] += 1  # found as written; the caller may still find its value unusable
    return entry.get("value")


def store(kind, key, value):
    """Keep ``value`` (plain JSON: dicts, lists, strings, finite numbers) for ``kind`` and ``key``; whether it
    was written. Written whole or not at all: to a temporary file of its own, then renamed over the entry
    (os.replace is atomic). So parallel writers of one entry (grade-class workers, Dask workers) are safe:
    a reader finds the old file or one writer's whole file, never a mix; and any writer's will do (the same
    examples, the same accuracy; the reference's work as each measured it)."""
    written = _store(kind, key, value)
    _COUNTS[kind, "stored" if written else "not stored"] += 1
    return written


def statistics():
    """{(kind, 'found' | 'stored' | 'not stored'): times} in this process: what :func:`load` found and
    :func:`store` wrote or could not write."""
    return dict(_COUNTS)


def _store(kind, key, value):
    try:
        data = json.dumps({"format": FORMAT, "kind": kind, "key": key, "value": value}, allow_nan=False).encode()
    except (TypeError, ValueError):
        return False
    if len(data) > MAX_ENTRY_BYTES:
        return False
    directory = _open_folder(create=True)
    if directory is None:
        return False
    try:
        _make_room(directory)
        return _write(directory, _file_name(kind, key), data)
    finally:
        os.close(directory)


@functools.lru_cache(maxsize=None)
def source_digest(*paths):
    """sha256 (hex) of the files at ``paths``, names and contents: a key part that changes with the code.
    Read once per process. OSError if one cannot be read (the caller then keeps nothing)."""
    digest = hashlib.sha256()
    for path in paths:
        content = Path(path).read_bytes()
        digest.update(f"{Path(path).name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _file_name(kind, key):
    return f"{kind}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:40]}{SUFFIX}"


def _plain(key):
    """``key`` as it reads back from JSON (tuples as lists), to compare with a stored one."""
    return json.loads(json.dumps(key))


def _no_constant(name):
    raise ValueError(f"{name} is not a value the cache writes")


def _open_folder(create):
    """A descriptor of the cache folder, made (mode 0700) if ``create``; None when there is none, or when it is
    not this user's alone (another user could have put entries in it)."""
    path = folder()
    if path is None:
        return None
    try:
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The folder itself is not followed either: a link planted where it should be is no cache.
        directory = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    status = os.fstat(directory)
    if status.st_uid != os.geteuid() or status.st_mode & 0o022:
        os.close(directory)
        return None
    return directory


def _read(directory, name):
    """The bytes of regular file ``name`` in ``directory`` if it has at most MAX_ENTRY_BYTES, else None. A
    symbolic link is refused (O_NOFOLLOW), and a FIFO cannot make the open wait (O_NONBLOCK)."""
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory)
    except OSError:
        return None
    with os.fdopen(handle, "rb") as reading:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_ENTRY_BYTES:
            return None
        try:
            raw = reading.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
    return raw if len(raw) <= MAX_ENTRY_BYTES else None


def _write(directory, name, data):
    """Write ``data`` as ``name`` through a new temporary file (O_EXCL | O_NOFOLLOW: nothing planted is
    followed or reused); whether it was written."""
    temporary = f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY}"
    try:
        handle = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory
        )
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as writing:
            writing.write(data)
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        return True
    except OSError:
        _remove(directory, temporary)
        return False


def _make_room(directory):
    """Remove the oldest of the cache's files (entries, and temporary files a killed writer left) until one
    more fits within MAX_FILES. Only names the cache writes are touched; a link is removed, never followed."""
    try:
        with os.scandir(directory) as entries:
            ours = [
                (entry.stat(follow_symlinks=False).st_mtime, entry.name)
                for entry in entries
                if OWN_NAME.fullmatch(entry.name)
            ]
    except OSError:
        return
    for _, name in sorted(ours)[: max(0, len(ours) - MAX_FILES + 1)]:
        _remove(directory, name)


def _remove(directory, name):
    try:
        os.unlink(name, dir_fd=directory)
    except OSError:  # gone already: another writer made room too
        pass
