"""The child session: loading statement by statement, limits, credentials, and the values that travel."""

import os
import shutil
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from grader.sandbox import cgroups, launcher, protocol
from grader.sandbox.cgroups import NOT_ENFORCED
from grader.sandbox.launcher import bwrap_works
from grader.sandbox.session import Limits, Session

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

BWRAP = shutil.which("bwrap")
MODES = [
    pytest.param(
        True, id="bwrap", marks=pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="no bubblewrap")
    ),
    pytest.param(False, id="fallback"),
]


def cell(source, name="<cell>"):
    """A cell as the child loads it, every top-level statement on its own (as grader.extract produces)."""
    import ast

    spans = []
    for node in ast.parse(source).body:
        names = sorted(
            {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            | ({node.name} if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else set())
            | {
                (a.asname or a.name).split(".")[0]
                for a in getattr(node, "names", [])
                if isinstance(node, (ast.Import, ast.ImportFrom))
            }
        )
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        spans.append([first, node.end_lineno, names])
    return {"filename": name, "source": source, "statements": spans}


GOOD = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"


def kill_fork(session):
    """Kill the current task's fork from outside, as a crash would: the next call needs a new one."""
    for pid in session.sandbox.task_processes():
        os.kill(pid, 9)
    deadline = time.monotonic() + 5
    while session.channel.idle() and time.monotonic() < deadline:  # until its socket shows it gone
        time.sleep(0.01)


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_statement_that_hangs_while_loading_costs_only_what_it_defines(use_bwrap):
    hang = "import time\n\nclass Helper:\n    while True:\n        time.sleep(0.01)\n"
    with Session(
        (cell(GOOD, "<a>"), cell(hang, "<b>"), cell("def triple(x):\n    return 3 * x\n", "<c>")),
        timeout=1.0,
        use_bwrap=use_bwrap,
    ) as session:
        assert session.ensure_loaded() is None
        assert {"double", "triple"} <= session.defined and "Helper" not in session.defined
        [error] = [e for e in session.load_errors if e["defines"] == ["Helper"]]
        assert error["kind"] == "timeout" and "skipped" in error["message"]
        assert "within 1 s" in error["message"]  # the statement's own deadline
        assert session.call("triple", np.ones(2)).value.tolist() == [3.0, 3.0]
        # The statement stays skipped when the child is replaced after a failure.
        assert session.call("double", "not an array", timeout=1.0).ok
        kill_fork(session)
        assert session.call("double", np.ones(1)).value.tolist() == [2.0]
        assert "Helper" not in session.defined


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_statement_that_kills_the_child_while_loading_is_skipped(use_bwrap):
    crash = "import os\n\ndef double(x, _=os._exit(7)):\n    return x\n"
    with Session((cell(GOOD, "<a>"), cell(crash, "<b>")), timeout=2.0, use_bwrap=use_bwrap) as session:
        assert session.ensure_loaded() is None
        # The failed redefinition does not leave the earlier double in place.
        assert "double" not in session.defined
        [error] = [e for e in session.load_errors if e["defines"] == ["double"]]
        assert error["kind"] == "crash" and "status 7" in error["message"]


def test_loading_that_exceeds_its_whole_budget_fails_every_call():
    slow = "import time\n" + "".join(f"X{i} = time.sleep(0.6)\n" for i in range(8))  # 4.8 s > 3 x 1 s
    with Session((cell(GOOD, "<a>"), cell(slow, "<b>")), timeout=1.0, use_bwrap=False) as session:
        failure = session.ensure_loaded()
        assert failure is not None and failure.error_kind == "timeout"
        assert not session.call("double", np.ones(1)).ok


FORKS = """
import os
import time

def forks(n):
    children, refused = [], 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            continue
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return len(children), refused

def whoami():
    return os.getuid(), os.getgid(), os.getgroups()
"""


@pytest.mark.parametrize("use_bwrap", MODES)
def test_the_process_limit_holds(use_bwrap):
    with Session((cell(FORKS),), limits=Limits(processes=8), timeout=20.0, use_bwrap=use_bwrap) as session:
        result = session.call("forks", 30)
        if NOT_ENFORCED in session.isolation_used:
            pytest.skip(session.isolation_used)
        assert result.ok, result.message
        started, refused = result.value
        assert 1 <= started < 8 and refused == 30 - started


def test_the_cgroup_catches_a_process_that_left_the_group_and_dropped_its_environment():
    source = (
        "import os\nimport subprocess\n\n"
        "def escape():\n"
        "    return subprocess.Popen(['/bin/sleep', '30'], env={}, start_new_session=True).pid\n"
    )
    session = Session((cell(source),), use_bwrap=False)
    with session:
        if session.ensure_loaded() is not None or session.sandbox.process_limit.cgroup is None:
            pytest.skip("no pids cgroup here (the grader does not run as root, or cannot create one)")
        cgroup = session.sandbox.process_limit.cgroup
        pid = session.call("escape").value
        assert os.path.exists(f"/proc/{pid}")
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}") or _state(pid) == "Z"
    assert not cgroup.exists()


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_numpy_scalar_types_travel_as_themselves():
    source = "import numpy as np\n\ndef kind(dtype):\n    return dtype is np.float32, np.zeros(2, dtype=dtype)\n"
    with Session((cell(source),), use_bwrap=False) as session:
        same, zeros = session.call("kind", np.float32).value
        assert same is True and zeros.dtype == np.float32
    tree, arrays = protocol.encode(np.float64)
    assert protocol.decode(tree, arrays) is np.float64
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"y": "object"}, [])
    assert isinstance(protocol.decode(*protocol.encode(np.str_)), protocol.Opaque)


def test_a_call_can_send_back_its_arguments_as_they_were_before_and_after():
    source = "def make(x):\n    return x.sum(), {'x': x}\n\ndef spoil(cache):\n    cache['x'][0] = -1.0\n"
    with Session((cell(source),), use_bwrap=False) as session:
        assert session.call("make", np.ones(3), keep="kept", send="none").ok
        result = session.call("spoil", protocol.Ref("kept", 1), return_args="both")
        assert result.ok
        assert result.args_before[0]["x"].tolist() == [1.0, 1.0, 1.0]
        assert result.args_after[0]["x"].tolist() == [-1.0, 1.0, 1.0]


def test_a_container_that_hangs_when_its_arguments_are_copied_costs_the_call_only_once():
    source = (
        "class Trap(tuple):\n    def __iter__(self):\n        while True:\n            pass\n\n"
        "def make(x):\n    return x, Trap((x,))\n\ndef backward(dout, cache):\n    return dout\n"
    )
    with Session((cell(source),), timeout=1.0, use_bwrap=False) as session:
        assert session.call("make", np.ones(2), keep="kept", send="none").ok
        first = session.call("backward", np.ones(2), protocol.Ref("kept", 1), return_args="both")
        assert first.error_kind == "timeout"
        started = time.monotonic()
        again = session.call("backward", np.ones(2), protocol.Ref("kept", 1), return_args="both")
        assert again.error_kind == "timeout" and time.monotonic() - started < 0.2


def test_cgroups_left_by_a_killed_grader_are_removed():
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.ensure_loaded()
        if session.sandbox.process_limit.cgroup is None:
            pytest.skip("no pids cgroup here (the grader does not run as root, or cannot create one)")
        parent = session.sandbox.process_limit.cgroup.parent
    dead = 4_194_304  # PID_MAX_LIMIT: pids are below it, so no process has this one
    stale = parent / f"grader-{cgroups._pid_namespace()}-{dead}-0123456789abcdef"
    other_namespace = parent / f"grader-1-{dead}-0123456789abcdef"  # pid {dead} means nothing to us there
    stale.mkdir()
    other_namespace.mkdir()
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.ensure_loaded()
        assert not stale.exists() and other_namespace.exists()
    other_namespace.rmdir()


def test_a_call_that_restarts_the_child_is_timed_without_the_restart():
    slow_to_load = GOOD + "import time\nPAUSE = time.sleep(0.5)\n"  # every start of the child takes 0.5 s more
    with Session((cell(slow_to_load),), use_bwrap=False) as session:
        assert session.ensure_loaded() is None
        kill_fork(session)
        started = time.perf_counter()
        result = session.call("double", np.ones(1), timed=True)
        assert result.ok and time.perf_counter() - started > 0.5
        assert result.seconds < 0.25  # what a speed check divides by: the call, not the restart


def test_the_load_budget_covers_the_restarts_after_skipped_statements():
    hangs = "".join(f"def hang{i}(_=time.sleep(60)):\n    pass\n\n" for i in range(4))
    slow = "import time\n\nWARM_UP = time.sleep(0.4)\n\n" + hangs
    with Session((cell(GOOD, "<a>"), cell(slow, "<b>")), timeout=0.5, use_bwrap=False) as session:
        started = time.monotonic()
        failure = session.ensure_loaded()
        elapsed = time.monotonic() - started
    assert failure is not None and "longer than 1.5 s to load" in failure.message
    assert "skipped: <b> line" in failure.message
    assert elapsed < 1.5 + 1.5  # the budget, plus starting replacement children (no student code in that)


def _slow_start(delay):
    """build_command wrapped so the child needs ``delay`` seconds more to start."""
    from grader.sandbox import supervisor

    original = supervisor.build_command

    def build(stage, workdir, use_bwrap, processes=None):
        argv, isolation, home = original(stage, workdir, use_bwrap, processes)
        return ["/bin/sh", "-c", f'sleep {delay} && exec "$@"', "sh", *argv], isolation, home

    return build


def test_a_slow_start_of_the_child_is_not_charged_to_the_first_statement(monkeypatch):
    from grader.sandbox import supervisor

    monkeypatch.setattr(supervisor, "build_command", _slow_start(1.2))
    with Session((cell(GOOD),), timeout=1.0, use_bwrap=False) as session:
        assert session.ensure_loaded() is None
        assert "double" in session.defined and session.load_errors == []


def test_a_child_that_cannot_start_gives_no_grade_and_exit_status_3(monkeypatch, tmp_path, capsys):
    from grader.cli import main
    from grader.sandbox import supervisor
    from notebooks import solution_cells, write_notebook

    monkeypatch.setattr(
        supervisor,
        "build_command",
        lambda stage, workdir, use_bwrap, processes=None: (["/bin/false"], "broken", str(workdir)),
    )
    path = write_notebook(tmp_path, *solution_cells())
    status = main(["grade", str(path), "--tasks", "conv_forward_naive", "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == 3 and err.startswith("grader: no grade given: ") and "could not start" in err
    assert not (tmp_path / "r.json").exists()


def test_the_process_limit_never_asks_for_more_than_the_hard_limit():
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    assert cgroups._nproc_limit(10**12) == (10**12 if hard == resource.RLIM_INFINITY else hard)
    assert cgroups._nproc_limit(5) == 5


WRITER = """
import os

def fill(limit_bytes):
    written, block = 0, b"x" * (1 << 20)
    for folder in (".", "/tmp"):
        try:
            for index in range(limit_bytes >> 20):
                with open(os.path.join(folder, f"fill{index}"), "wb") as handle:
                    handle.write(block)
                written += len(block)
        except OSError as exc:
            pass
    return written
"""


@pytest.mark.skipif(
    not (BWRAP and bwrap_works(BWRAP) and launcher.supports_size(BWRAP)), reason="needs bubblewrap with --size"
)
def test_under_bubblewrap_a_submission_cannot_fill_the_disk():
    with Session((cell(WRITER),), timeout=30.0, use_bwrap=True) as session:
        result = session.call("fill", 1 << 30)  # tries 1 GiB in each writable place, stops at the tmpfs sizes
    assert result.ok, result.message
    assert 0 < result.value <= launcher.WORK_BYTES + launcher.TMP_BYTES


def test_a_child_that_stops_reading_cannot_block_the_grader_on_a_full_pipe():
    source = "import os\nimport signal\n\ndef freeze():\n    os.kill(os.getpid(), signal.SIGSTOP)\n"
    with Session((cell(source),), timeout=1.0, use_bwrap=False) as session:
        assert session.ensure_loaded() is None
        for pid in session.sandbox.task_processes():
            os.kill(pid, 19)  # SIGSTOP: the fork no longer reads its requests
        started = time.monotonic()
        result = session.call("freeze", np.zeros(1 << 20))  # 8 MiB: far more than a pipe buffer holds
        assert result.error_kind == "timeout" and time.monotonic() - started < 5


def test_a_slow_start_of_the_child_is_not_charged_to_the_load_budget(monkeypatch):
    from grader.sandbox import supervisor

    monkeypatch.setattr(supervisor, "build_command", _slow_start(2.5))
    with Session((cell(GOOD),), timeout=0.5, use_bwrap=False) as session:  # a 1.5 s budget
        assert session.ensure_loaded() is None
        assert "double" in session.defined


def test_a_submission_that_breaks_the_stage_cannot_stop_its_own_grading(tmp_path):
    from grader.config import Config
    from grader.pipeline import grade
    from notebooks import solution_cells, write_notebook

    vandal = "import os\nimport sys\n\nBROKEN = (os.remove(sys.modules['__main__'].__file__), os._exit(1))\n"
    notebook = write_notebook(tmp_path, *solution_cells(), vandal)
    report = grade(notebook, Config(tasks=("conv_forward_naive",), use_bwrap=False))
    assert report.tasks[0].status == "passed"
    assert any("BROKEN" in note or "line 4" in note for note in report.notes)


SPILL = """
import os

def places():
    return {"/": "/", "/dev": "/dev", "/dev/shm": "/dev/shm", "/root": "/root", "/sandbox": "/sandbox",
            "/sandbox/lib": "/sandbox/lib", "/sandbox/stage": "/sandbox/stage", "$HOME": os.environ.get("HOME", "/"),
            "/tmp": "/tmp", "cwd": os.getcwd()}

def spill(per_place, stop_after):
    # per_place bytes into each place, in 1 MiB files; stops everything once stop_after bytes are written in
    # all (containment has failed by then: writing on would only fill the machine).
    written, block, total = {}, b"x" * (1 << 20), 0
    for number, (label, folder) in enumerate(places().items()):
        written[label] = 0
        try:
            os.makedirs(folder, exist_ok=True)
            for index in range(per_place >> 20):
                if total >= stop_after:
                    break
                with open(os.path.join(folder, f"spill-{number}-{index}"), "wb") as handle:
                    handle.write(block)
                written[label] += len(block)
                total += len(block)
        except OSError:
            pass
    return written
"""


def _shm_used():
    stats = os.statvfs("/dev/shm")
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


@pytest.mark.skipif(
    not (BWRAP and bwrap_works(BWRAP) and launcher.supports_size(BWRAP)), reason="needs bubblewrap with --size"
)
def test_under_bubblewrap_only_the_work_dir_and_tmp_take_data_and_only_up_to_their_sizes():
    shm_before = _shm_used()
    with Session((cell(SPILL),), timeout=30.0, use_bwrap=True) as session:
        result = session.call("spill", 1 << 30, 512 << 20)  # 1 GiB tried in each place
        shm_after = _shm_used()
    assert result.ok, result.message
    written = result.value
    assert {label for label, count in written.items() if count} <= {"$HOME", "cwd", "/tmp"}, written
    assert written["/tmp"] > 0 and written["cwd"] + written["$HOME"] > 0, written
    assert sum(written.values()) <= launcher.WORK_BYTES + launcher.TMP_BYTES, written
    assert shm_after - shm_before < 16 << 20  # the machine's /dev/shm took none of it


HOLD = """
import os
import time

import numpy as np

def hold_together(count, megabytes):
    # count processes, each allocating and touching megabytes and holding them for a second; each that
    # held its memory to the end says so through a pipe.
    read_end, write_end = os.pipe()
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones(megabytes << 17)  # float64: 8 bytes each, all touched
                time.sleep(1.0)
                os.write(write_end, b"1" if block[-1] == 1.0 else b"")
            finally:
                os._exit(0)
        children.append(pid)
    os.close(write_end)
    for pid in children:
        os.waitpid(pid, 0)
    held = b""
    while chunk := os.read(read_end, 64):
        held += chunk
    return len(held)

def double(x):
    return 2 * x
"""


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_memory_cgroup_bounds_all_processes_of_a_submission_together(use_bwrap):
    with Session((cell(HOLD),), limits=Limits(memory_bytes=600 << 20), timeout=20.0, use_bwrap=use_bwrap) as session:
        result = session.call("hold_together", 4, 300)  # 1200 MB in all, 300 MB each: each under the limit
        if "memory limited per process only" in session.isolation_used:
            pytest.skip(session.isolation_used)
        # Either some of them were refused or killed, or the function's own process was.
        assert (result.ok and result.value < 4) or result.error_kind == "crash", (result.value, result.message)
        after = session.call("double", np.ones(2))  # the grader survived; a fresh fork answers
        assert after.ok and after.value.tolist() == [2.0, 2.0], after.message


SUICIDES = "import os\n\n" + "".join(f"def die{i}():\n    os.kill(os.getpid(), 9)\n\n" for i in range(40))


@pytest.mark.parametrize("use_bwrap", MODES)
def test_after_16_restarts_nothing_more_of_a_submission_runs_and_a_crashed_function_is_not_called_again(use_bwrap):
    with Session((cell(SUICIDES),), timeout=2.0, use_bwrap=use_bwrap) as session:
        started = time.monotonic()
        results, seconds = [], []
        for index in range(40):
            call_started = time.monotonic()
            results.append(session.call(f"die{index}"))
            seconds.append(time.monotonic() - call_started)
            if index == 0:
                again_started = time.monotonic()
                again = session.call("die0")  # the function that crashed: not run again, no restart spent
                again_seconds = time.monotonic() - again_started
        elapsed = time.monotonic() - started
        final = session.call("die0")
    assert again.error_kind == "crash" and "already crashed" in again.message and again_seconds < 0.1, again
    assert "already crashed" in final.message
    crashed = [index for index, r in enumerate(results) if r.error_kind == "crash" and "killed" in r.message]
    refused = [index for index, r in enumerate(results) if "nothing more of it is run" in r.message]
    assert crashed + refused == list(range(40)), [r.message for r in results]
    assert all(seconds[index] < 0.1 for index in refused[1:]), seconds  # the first one ran once, then was refused
    assert elapsed < 15
    from grader.sandbox.session import MAX_RESTARTS

    # The first fork, then 16 replacements: a SIGKILL not from the submission's limits is retried once, so
    # each crashed function took two of them; the next one ran once and was refused its retry.
    assert len(crashed) == (MAX_RESTARTS + 1) // 2
    assert all("run twice and killed both times" in results[index].message for index in crashed)
    assert f"{MAX_RESTARTS} times" in results[refused[0]].message


SLOW_CLASS = "import time\n\nclass Slow:\n    time.sleep(0.4)\n\ndef double(x):\n    return 2 * x\n"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_slow_honest_definitions_load_in_every_tasks_fork_within_that_forks_budget(use_bwrap):
    with Session((cell(SLOW_CLASS),), timeout=0.5, use_bwrap=use_bwrap) as session:  # 0.4 s of a 1.5 s budget
        started = time.monotonic()
        failures = []
        for task in range(9):
            session.begin_task(f"task{task}")
            failures.append(session.ensure_loaded())
        elapsed = time.monotonic() - started
    assert failures == [None] * 9
    assert 9 * 0.4 <= elapsed < 9 * (0.4 + 0.5)  # each fork loads, and pays only its own load


def _sleeping_classes(count, seconds):
    return "import time\n\n" + "".join(f"class Slow{i}:\n    time.sleep({seconds})\n\n" for i in range(count))


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("count, loads", [(3, True), (5, False)], ids=["just-under", "just-over"])
def test_a_load_just_under_a_forks_budget_passes_and_just_over_fails_every_task_in_that_budget(use_bwrap, count, loads):
    # Each statement (0.35 s) is within its own deadline (0.5 s); together they are under or over the fork's
    # budget (3 x 0.5 s): 1.05 s or 1.75 s.
    with Session((cell(GOOD + _sleeping_classes(count, 0.35)),), timeout=0.5, use_bwrap=use_bwrap) as session:
        started = time.monotonic()
        failures = []
        for task in range(3):
            session.begin_task(f"task{task}")
            failures.append(session.ensure_loaded())
        elapsed = time.monotonic() - started
        if loads:
            assert session.call("double", np.ones(1)).ok
    if loads:
        assert failures == [None] * 3
    else:
        assert all(f is not None and "your definitions took longer than 1.5 s to load" in f.message for f in failures)
        assert elapsed < 3 * (1.5 + 1.0)  # each task: the budget, and starting its fork


@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_grader_started_through_a_relative_interpreter_path_starts_its_sandbox(tmp_path, use_bwrap):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    notebook = tmp_path / "good.ipynb"
    source = "def conv_forward_naive(x, w, b, conv_param):\n    raise ValueError('ran')\n"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), notebook)
    python = os.path.relpath(sys.executable, folder)  # ../../venv/bin/python: bubblewrap cannot exec that as is
    script = (
        "import sys; from grader.config import Config; from grader.pipeline import grade; "
        f"report = grade(sys.argv[1], Config(tasks=('conv_forward_naive',), use_bwrap={use_bwrap})); "
        "print(report.isolation); print(report.tasks[0].message)"
    )
    done = subprocess.run(
        [python, "-c", script, str(notebook)], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ValueError: ran" in done.stdout  # the sandbox started and ran the code
    assert done.stdout.startswith("bubblewrap") == use_bwrap


def test_exit_status_gives_the_status_and_kills_a_process_past_its_timeout(tmp_path):
    assert cgroups.exit_status(["/bin/sh", "-c", "exit 3"], timeout=10) == 3
    assert cgroups.exit_status(["/bin/true"], timeout=10) == 0
    marker = tmp_path / "pid"
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        cgroups.exit_status(["/bin/sh", "-c", f'echo $$ > "{marker}" && exec sleep 30'], timeout=2)
    assert expired.value.timeout == 2
    pid = int(marker.read_text())
    assert not os.path.exists(f"/proc/{pid}")  # killed and reaped, not left running
