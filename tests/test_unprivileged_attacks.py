"""Attacks on the unprivileged-user mode (a root grader where bubblewrap cannot start: Gradescope's container).

Each file in tests/attacks/unprivileged defines conv_forward_naive, which tries one family of things a
confined fork must not manage (read the references, write outside its work folder, reach the network or
another process, create kernel objects, use another system call ABI, gain privileges through setuid
binaries or inherited descriptors) and raises an exception saying ``tried N; MANAGED [...]``. It is graded
in-process with ``use_bwrap=False`` as root, which selects that mode; the test asserts that it tried
something and managed nothing, and checks from outside that nothing it aimed at changed.
"""

import os
import re
import socket
from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from tests.notebooks import write_notebook

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged mode is chosen by a root grader"),
]

ATTACK_DIR = Path(__file__).parent / "attacks" / "unprivileged"
ATTACKS = sorted(ATTACK_DIR.glob("*.py"))
TCP_PORT = 47611  # as in network.py
ABSTRACT = "\0grader-unprivileged-attack"
FILESYSTEM = "/tmp/grader-unprivileged-attack.sock"
SHARED = ("/tmp", "/var/tmp", "/dev/shm")
SYSV = ("/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg")


@pytest.fixture
def autograder_root(tmp_path, monkeypatch):
    """A Gradescope-like AUTOGRADER_ROOT, readable by every user as Gradescope leaves it."""
    root = tmp_path / "autograder"
    for name in ("source", "results"):
        (root / name).mkdir(parents=True)
        (root / name).chmod(0o755)
    (root / "source" / "secret.txt").write_text("the wheel with the references\n")
    (root / "source" / "secret.txt").chmod(0o644)
    tmp_path.chmod(0o755)
    monkeypatch.setenv("AUTOGRADER_ROOT", str(root))
    return root


@pytest.fixture
def listeners(request):
    """A TCP listener on 127.0.0.1, an abstract and a filesystem unix listener (open to every user)."""
    opened = []
    tcp = socket.socket()
    try:
        tcp.bind(("127.0.0.1", TCP_PORT))
        tcp.listen(4)
        opened.append(tcp)
    except OSError:
        tcp.close()  # the port is taken: the attack's socket() is refused first anyway
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(ABSTRACT)
    abstract.listen(4)
    opened.append(abstract)
    with_path = socket.socket(socket.AF_UNIX)
    if os.path.lexists(FILESYSTEM):
        os.unlink(FILESYSTEM)
    with_path.bind(FILESYSTEM)
    os.chmod(FILESYSTEM, 0o777)
    with_path.listen(4)
    opened.append(with_path)

    def close():
        for sock in opened:
            sock.close()
        if os.path.lexists(FILESYSTEM):
            os.unlink(FILESYSTEM)

    request.addfinalizer(close)
    for sock in opened:
        sock.setblocking(False)
    return opened


def _accepted(sockets):
    accepted = []
    for sock in sockets:
        try:
            connection, _ = sock.accept()
            connection.close()
            accepted.append(sock.getsockname())
        except (BlockingIOError, OSError):
            pass
    return accepted


def _shared_entries():
    return {folder: set(os.listdir(folder)) for folder in SHARED if os.path.isdir(folder)}


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda path: path.stem)
def test_unprivileged_fork_manages_nothing(attack, tmp_path, autograder_root, listeners):
    ipc_before = [Path(p).read_text() for p in SYSV]
    shared_before = _shared_entries()
    notebook = write_notebook(tmp_path, attack.read_text())
    report = grade(notebook, Config(use_bwrap=False, tasks=("conv_forward_naive",), timeout=20.0))

    assert report.isolation.startswith("unprivileged user (uid "), report.isolation
    message = report.tasks[0].checks[0].message
    found = re.search(r"tried (\d+); MANAGED (\[.*?\])", message)
    assert found, message
    assert int(found.group(1)) > 0, message
    assert found.group(2) == "[]", message
    assert not any(check.passed for check in report.tasks[0].checks if "case" in check.name)
    assert _accepted(listeners) == []
    assert [Path(p).read_text() for p in SYSV] == ipc_before
    created = {folder: sorted(set(os.listdir(folder)) - entries) for folder, entries in shared_before.items()}
    assert not any(name in ("attack-was-here", "attack-dir") for names in created.values() for name in names), created
    assert sorted(os.listdir(autograder_root / "results")) == []
    assert (autograder_root / "source" / "secret.txt").read_text() == "the wheel with the references\n"
