"""Root without bubblewrap (Gradescope's container, Docker without CAP_SYS_ADMIN): student code runs as an
unprivileged uid of its own, with no network, no SysV IPC and (where the kernel has Landlock) a file
system reduced to what the worker needs.

The container is simulated: the grader runs as root with a ``bwrap`` on PATH that fails the way it fails
there. A probe submission tries what a student who wants points would try, and reports what it managed.
"""

import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import solutions
from grader.config import Config
from grader.pipeline import grade
from grader.sandbox import confine, launcher
from grader.sandbox.launcher import landlock_rules, reachable
from grader.sandbox.session import SandboxUnavailable
from grader.sandbox.supervisor import remove_files_of
from tests.notebooks import solution_cells, stub_cells, write_notebook

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged mode is chosen by a root grader")

GRADER = Path(sys.executable).with_name("grader")
# Under bubblewrap where it starts, and in the unprivileged mode a root grader falls back to.
BOTH_MODES = [
    pytest.param(
        True,
        marks=pytest.mark.skipif(
            not launcher.bwrap_works(launcher.shutil.which("bwrap") or "bwrap"), reason="no bubblewrap"
        ),
    ),
    False,
]
NAMESPACE_ERROR = "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces."

PROBE = """
import ctypes, glob, json, os, socket

SOLUTIONS, ROOT, PORT, PROJECT = {solutions!r}, {root!r}, {port!r}, {project!r}


def conv_forward_naive(x, w, b, conv_param):
    found = {{"read": [], "wrote": [], "connected": [], "signalled": [], "ipc": []}}
    for path in glob.glob(SOLUTIONS + "/*.py") + [ROOT + "/source/secret.txt", ROOT + "/results/results.json"]:
        try:
            found["read"].append((path, len(open(path).read())))
        except OSError:
            pass
    for folder in (ROOT + "/results", ROOT + "/source", PROJECT, "/tmp"):
        try:
            with open(os.path.join(folder, "probe-was-here"), "w") as handle:
                handle.write("x")
            found["wrote"].append(folder)
        except OSError:
            pass
    for host in ("127.0.0.1", "localhost"):
        try:
            socket.create_connection((host, PORT), timeout=1).close()
            found["connected"].append(host)
        except OSError:
            pass
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            owner = [line.split()[1] for line in open(f"/proc/{{entry}}/status") if line.startswith("Uid:")][0]
            if owner == "0":
                os.kill(int(entry), 0)
                found["signalled"].append(int(entry))
        except (OSError, IndexError):
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget(0x5eed, 4096, 0o1666) >= 0:
        found["ipc"].append("shm")
    raise RuntimeError("PROBE " + json.dumps(found))
"""


@pytest.fixture
def container(tmp_path):
    """(environment of a grader in the simulated container, the AUTOGRADER_ROOT it sees)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text(f"#!/bin/sh\necho '{NAMESPACE_ERROR}' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    root = tmp_path / "autograder"
    for name in ("source", "results", "submission"):
        (root / name).mkdir(parents=True)
        (root / name).chmod(0o755)  # as Gradescope leaves them: only the sandbox's uid keeps them out
    (root / "source" / "secret.txt").write_text("the wheel with the references\n")
    (root / "source" / "secret.txt").chmod(0o644)
    tmp_path.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", AUTOGRADER_ROOT=str(root))
    return env, root


def _grade(env, notebook, *options):
    out = notebook.parent / "report.json"
    done = subprocess.run(
        [str(GRADER), "grade", str(notebook), "--json", str(out), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_probe_reads_writes_reaches_and_signals_nothing(tmp_path, container, request):
    env, root = container
    listener = socket.socket()
    request.addfinalizer(listener.close)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    project = str(Path(solutions.__file__).parent.parent)
    probe = PROBE.format(
        solutions=str(Path(solutions.__file__).parent), root=str(root), port=listener.getsockname()[1], project=project
    )
    ipc_before = Path("/proc/sysvipc/shm").read_text()
    report, printed = _grade(env, write_notebook(tmp_path, probe), "--tasks", "conv_forward_naive")

    message = " ".join(check["message"] for task in report["tasks"] for check in task["checks"])
    assert "PROBE " in message, message
    found = json.loads(message.split("PROBE ", 1)[1].split("}", 1)[0] + "}")
    assert found == {"read": [], "wrote": [], "connected": [], "signalled": [], "ipc": []}
    with pytest.raises(socket.timeout):
        listener.accept()
    for folder in (root / "results", root / "source", Path(project), Path("/tmp")):
        assert not (folder / "probe-was-here").exists()
    assert Path("/proc/sysvipc/shm").read_text() == ipc_before
    assert report["isolation"].startswith("unprivileged user (uid "), report["isolation"]
    assert "no network (seccomp)" in report["isolation"]


@pytest.mark.slow
def test_solved_notebook_scores_full_marks_and_the_stub_nothing(tmp_path, container):
    env, _ = container
    (tmp_path / "solved").mkdir()
    (tmp_path / "stub").mkdir()
    solved, _ = _grade(env, write_notebook(tmp_path / "solved", *solution_cells()))
    stub, _ = _grade(env, write_notebook(tmp_path / "stub", *stub_cells().values()))
    assert solved["score"] == pytest.approx(solved["max_score"]) == pytest.approx(100.0)
    assert stub["score"] == 0.0
    assert solved["isolation"].startswith("unprivileged user (uid ")


def _in_fork(function):
    """Run ``function`` in a fork of this process; its return value (JSON) comes back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001
            result = f"raised {type(exc).__name__}: {exc}"
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_filter_refuses_network_ipc_and_namespaces_but_not_unix_pairs():
    def attempt():
        confine.apply({"seccomp": True})
        outcomes = {}
        libc = ctypes.CDLL(None, use_errno=True)
        unix = socket.socket(socket.AF_UNIX)
        for name, action in (
            ("inet", lambda: socket.socket(socket.AF_INET).close()),
            ("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()),
            ("unix_connect", lambda: unix.connect("\0grader-test")),
            ("pair", lambda: [end.close() for end in socket.socketpair()]),
            ("fork", lambda: os.waitpid(os.fork() or os._exit(0), 0)),
        ):
            try:
                action()
                outcomes[name] = "allowed"
            except OSError as exc:
                outcomes[name] = exc.errno
        unix.close()
        outcomes["unshare"] = libc.unshare(0x10000000) or "allowed"  # CLONE_NEWUSER
        outcomes["unshare_errno"] = ctypes.get_errno()
        outcomes["shmget"] = libc.shmget(0, 4096, 0o1600)
        outcomes["msgget"] = libc.msgget(0, 0o1600)
        outcomes["semget"] = libc.semget(0, 1, 0o1600)
        return outcomes

    outcomes = _in_fork(attempt)
    assert isinstance(outcomes, dict), outcomes
    assert outcomes["inet"] == outcomes["inet6"] == 97  # EAFNOSUPPORT
    assert outcomes["unix_connect"] == outcomes["unshare_errno"] == 1  # EPERM
    assert outcomes["unshare"] == -1
    assert outcomes["pair"] == outcomes["fork"] == "allowed"
    assert outcomes["shmget"] == outcomes["msgget"] == outcomes["semget"] == -1


@pytest.mark.skipif(confine.landlock_abi() == 0, reason="the kernel has no Landlock")
def test_landlock_allows_the_system_and_the_work_folder_and_refuses_the_references(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    stage = tmp_path / "stage"
    stage.mkdir()
    rules = landlock_rules(stage, work)

    def attempt():
        confine.apply({"landlock": confine.landlock_abi(), "rules": rules})
        outcomes = {
            "python": os.path.exists(sys.executable),
            "numpy": bool(os.listdir(os.path.dirname(ctypes.__file__))),
        }
        (work / "written").write_text("ok")
        outcomes["work"] = (work / "written").read_text()
        for name, path in (("references", Path(solutions.__file__)), ("outside", tmp_path / "outside.txt")):
            try:
                path.open("a").close()
                outcomes[name] = "opened"
            except OSError as exc:
                outcomes[name] = exc.errno
        return outcomes

    outcomes = _in_fork(attempt)
    assert outcomes["work"] == "ok" and outcomes["python"] and outcomes["numpy"]
    assert outcomes["references"] == outcomes["outside"] == 13  # EACCES
    assert not (tmp_path / "outside.txt").exists()


def test_files_a_sandbox_uid_left_in_shared_folders_are_removed(tmp_path):
    shared = tmp_path / "shared"
    sticky = shared / "sticky"
    sticky.mkdir(parents=True)
    sticky.chmod(0o1777)
    uid = 1_234_567
    for path in (shared / "left.txt", sticky / "inner.txt", shared / "mine.txt"):
        path.write_text("x")
    (shared / "folder").mkdir()
    (shared / "folder" / "deep.txt").write_text("x")
    for path in (shared / "left.txt", sticky / "inner.txt", shared / "folder"):
        os.chown(path, uid, uid)
    remove_files_of(uid, folders=(str(shared),))
    assert sorted(p.name for p in shared.rglob("*")) == ["mine.txt", "sticky"]


def test_a_folder_under_a_private_one_is_not_reachable():
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # /tmp: pytest's own tmp_path is private
        private = Path(folder) / "private"
        (private / "inner").mkdir(parents=True)
        Path(folder).chmod(0o755)
        private.chmod(0o700)
        assert not reachable(private / "inner")
        private.chmod(0o755)
        assert reachable(private / "inner")


def test_without_landlock_references_other_users_can_read_stop_the_grading_with_what_to_do(tmp_path, monkeypatch):
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # as an install anyone can read (pytest's is private)
        Path(folder).chmod(0o755)
        references = Path(folder) / "solutions"
        references.mkdir(mode=0o755)
        (references / "conv.py").write_text("the answers")
        (references / "conv.py").chmod(0o644)
        monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
        monkeypatch.setattr(launcher, "forbidden_paths", lambda: [str(references)])
        with pytest.raises(SandboxUnavailable) as raised:
            grade(write_notebook(tmp_path, *solution_cells()), Config(tasks=("conv_forward_naive",), use_bwrap=False))
    assert f"read {references}" in str(raised.value)
    assert "chmod -R o-rwx" in str(raised.value)


def test_without_landlock_references_closed_to_other_users_are_enough(tmp_path, monkeypatch):
    private = tmp_path / "references"
    private.mkdir(mode=0o700)
    (private / "conv.py").write_text("secret")
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    monkeypatch.setattr(launcher, "forbidden_paths", lambda: [str(private)])
    report = grade(write_notebook(tmp_path, *solution_cells()), Config(tasks=("conv_forward_naive",), use_bwrap=False))
    assert report.score == pytest.approx(report.max_score)
    assert "file access by permissions only (no Landlock)" in report.isolation


DEEP_TREE = """
import os


def conv_forward_naive(x, w, b, conv_param):
    fd = os.open(".", os.O_RDONLY)
    for _ in range(5000):  # deeper than any recursion limit: removing it must not recurse
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    raise RuntimeError("left a tree 5,000 deep")
"""


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", BOTH_MODES, ids=["bwrap", "unprivileged"])
def test_a_tree_thousands_of_folders_deep_costs_only_its_task_and_is_removed(tmp_path, use_bwrap, monkeypatch):
    temporary = Path(tempfile.mkdtemp(dir="/tmp"))  # the grader's temporary folders, watched (other runs use /tmp)
    temporary.chmod(0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    try:
        report = grade(
            write_notebook(tmp_path, *solution_cells(), DEEP_TREE),
            Config(tasks=("conv_forward_naive", "max_pool_forward_naive"), use_bwrap=use_bwrap),
        )
        left = list(temporary.glob("grader-child-*"))
    finally:
        confine.remove_tree(str(temporary))
    deep, neighbour = report.tasks
    assert deep.score == 0.0 and "5,000 deep" in deep.message
    assert neighbour.score == pytest.approx(neighbour.max_score)
    assert left == []


SWAP_HOME = """
import os


def conv_forward_naive(x, w, b, conv_param):
    home, managed = os.getcwd(), []
    os.symlink({victim!r}, "link")  # emptying the folder must remove the link, not what it points to
    try:
        os.rename(home, home + "-moved")
        os.symlink({victim!r}, home)
        managed.append("swapped its folder for a link")
    except OSError:
        pass
    raise RuntimeError("MANAGED " + repr(managed))
"""


@pytest.mark.slow
def test_without_landlock_a_task_cannot_make_the_root_template_empty_another_folder(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep")
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    monkeypatch.setattr(launcher, "forbidden_paths", lambda: [])
    report = grade(
        write_notebook(tmp_path, SWAP_HOME.format(victim=str(victim))),
        Config(tasks=("conv_forward_naive",), use_bwrap=False),
    )
    assert "MANAGED []" in report.tasks[0].message, report.tasks[0].message
    assert (victim / "precious.txt").read_text() == "keep"


FORK_MANY = """
import os
import time


def conv_forward_naive(x, w, b, conv_param):
    started = 0
    for _ in range(150):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        except OSError:
            break
    raise RuntimeError(f"started {started} processes")
"""


@pytest.mark.slow
def test_the_process_limit_holds_for_the_sandbox_uid_without_a_pids_cgroup(tmp_path, monkeypatch):
    from grader.sandbox import cgroups

    monkeypatch.setattr(cgroups, "_create_cgroup", lambda *args: None)  # as in a container that has none
    report = grade(
        write_notebook(tmp_path, FORK_MANY), Config(tasks=("conv_forward_naive",), use_bwrap=False, processes=20)
    )
    started = int(report.tasks[0].message.split("started ", 1)[1].split()[0])
    assert started < 20
    assert "process limit not enforced" not in report.isolation


def test_the_filter_refuses_kernel_objects_made_by_others_and_memfd():
    libc = ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(0, 4096, 0o1666)  # made by root, open to every user: reachable by its id
    assert segment >= 0
    try:

        def attempt():
            confine.apply({"seccomp": True})
            address = ctypes.c_void_p(libc.shmat(segment, None, 0)).value
            memfd = libc.memfd_create(b"x", 0)
            return {"shmat": address, "memfd": memfd}

        outcomes = _in_fork(attempt)
    finally:
        libc.shmctl(segment, 0, None)
    assert isinstance(outcomes, dict), outcomes
    assert outcomes["shmat"] == ctypes.c_void_p(-1).value and outcomes["memfd"] == -1


WRITES = """
import os


def conv_forward_naive(x, w, b, conv_param):
    if {files}:
        for index in range({files}):
            open(f"f{{index}}", "w").close()
    else:
        for index in range(5):
            with open(f"big{{index}}", "wb") as handle:
                handle.write(bytes(54 << 20))  # 270 MiB in all, each file under the 64 MiB per-file limit
    return x, None
"""


@pytest.mark.slow
@pytest.mark.parametrize("files", [0, 10_001], ids=["bytes", "entries"])
def test_writing_more_than_the_work_folder_holds_fails_the_call_and_is_removed(tmp_path, files):
    report = grade(
        write_notebook(tmp_path, WRITES.format(files=files)), Config(tasks=("conv_forward_naive",), use_bwrap=False)
    )
    assert report.tasks[0].score == 0.0
    assert "wrote more than 256 MiB (or 10000 files)" in report.tasks[0].message, report.tasks[0].message


@pytest.mark.slow
def test_numpy_and_the_standard_library_out_of_the_uids_reach_are_linked_where_it_can_read_them(tmp_path, monkeypatch):
    monkeypatch.setattr(launcher, "reachable", lambda path: False)  # a venv in a private folder, Python under /root
    monkeypatch.setattr(launcher, "_REACHABLE", {})
    report = grade(
        write_notebook(tmp_path, *solution_cells()),
        Config(tasks=("conv_forward_naive", "spatial_groupnorm_forward"), use_bwrap=False),
    )
    assert report.score == pytest.approx(report.max_score), [t.message for t in report.tasks]
    assert report.isolation.startswith("unprivileged user (uid ")


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", BOTH_MODES, ids=["bwrap", "unprivileged"])
def test_a_confinement_that_cannot_be_applied_stops_the_grading_whatever_the_mode(tmp_path, monkeypatch, use_bwrap):
    write_spec = launcher.write_spec
    # A uid no kernel has: every fork's confinement fails, as a missing seccomp or Landlock would.
    monkeypatch.setattr(
        launcher, "write_spec", lambda stage, spec: write_spec(stage, dict(spec, uids=[[2**40, 2**40]]))
    )
    with pytest.raises(SandboxUnavailable, match="could not be confined here: confine:"):
        grade(write_notebook(tmp_path, *solution_cells()), Config(tasks=("conv_forward_naive",), use_bwrap=use_bwrap))


@pytest.mark.slow
def test_without_landlock_references_others_may_pass_through_but_not_list_stop_the_grading(tmp_path, monkeypatch):
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        Path(folder).chmod(0o755)
        references = Path(folder) / "solutions"
        references.mkdir()
        (references / "conv.py").write_text("the answers")
        (references / "conv.py").chmod(0o644)
        references.chmod(0o711)  # no listing, but a file opened by its name is readable
        monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
        monkeypatch.setattr(launcher, "forbidden_paths", lambda: [str(references), str(references / "conv.py")])
        with pytest.raises(SandboxUnavailable) as raised:
            grade(write_notebook(tmp_path, *solution_cells()), Config(tasks=("conv_forward_naive",), use_bwrap=False))
    assert f"read {references / 'conv.py'}" in str(raised.value)


def test_the_forbidden_paths_name_files_inside_the_forbidden_folders():
    paths = launcher.forbidden_paths()
    references = os.path.realpath(Path(solutions.__file__).parent)
    assert references in paths and os.path.join(references, "conv.py") in paths


def test_a_sandbox_uid_is_drawn_among_the_mapped_uids_no_account_has(tmp_path):
    (tmp_path / "wide").write_text("         0          0 4294967295\n")
    (tmp_path / "rootless").write_text("         0     100000      65536\n")
    (tmp_path / "one").write_text("         0     100000          1\n")
    (tmp_path / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\n" + "".join(f"user{uid}:x:{uid}:{uid}::/:/bin/sh\n" for uid in range(1000, 65534))
    )
    wide = {launcher.sandbox_uid(tmp_path / "wide") for _ in range(20)}
    assert all(launcher.FIRST_SANDBOX_UID <= uid < launcher.LAST_SANDBOX_UID for uid in wide) and len(wide) > 15
    rootless = {launcher.sandbox_uid(tmp_path / "rootless", passwd=tmp_path / "none") for _ in range(20)}
    assert all(launcher.MIN_SANDBOX_UID <= uid < 65536 and uid != launcher.NOBODY for uid in rootless)
    assert launcher.sandbox_uid(tmp_path / "rootless", passwd=tmp_path / "passwd") == 65535  # the one free
    assert launcher.sandbox_uid(tmp_path / "one") == launcher.NOBODY  # nothing else: the shared last resort
