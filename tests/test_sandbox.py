"""The child session: loading statement by statement, limits, credentials, and the values that travel."""
import os
import shutil
import time

import numpy as np
import pytest

from grader.sandbox import Limits, Session, protocol
from grader.sandbox.launcher import bwrap_works
from grader.sandbox.pids import NOT_ENFORCED

BWRAP = shutil.which("bwrap")
MODES = [
    pytest.param(True, id="bwrap", marks=pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="no bubblewrap")),
    pytest.param(False, id="fallback"),
]


def cell(source, name="<cell>"):
    """A cell as the child loads it, every top-level statement on its own (as grader.extract produces)."""
    import ast

    spans = []
    for node in ast.parse(source).body:
        names = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                       | ({node.name} if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else set())
                       | {(a.asname or a.name).split(".")[0] for a in getattr(node, "names", [])
                          if isinstance(node, (ast.Import, ast.ImportFrom))})
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        spans.append([first, node.end_lineno, names])
    return {"filename": name, "source": source, "statements": spans}


GOOD = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_statement_that_hangs_while_loading_costs_only_what_it_defines(use_bwrap):
    hang = "import time\n\nclass Helper:\n    while True:\n        time.sleep(0.01)\n"
    with Session((cell(GOOD, "<a>"), cell(hang, "<b>"), cell("def triple(x):\n    return 3 * x\n", "<c>")),
                 timeout=1.0, use_bwrap=use_bwrap) as session:
        assert session.ensure_loaded() is None
        assert {"double", "triple"} <= session.defined and "Helper" not in session.defined
        [error] = [e for e in session.load_errors if e["defines"] == ["Helper"]]
        assert error["kind"] == "timeout" and "skipped" in error["message"]
        assert session.call("triple", np.ones(2)).value.tolist() == [3.0, 3.0]
        # The statement stays skipped when the child is replaced after a failure.
        assert session.call("double", "not an array", timeout=1.0).ok
        session.child.kill()
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
    with Session((cell(GOOD, "<a>"), cell(slow, "<b>")),
                 timeout=1.0, use_bwrap=False) as session:
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
        if session.ensure_loaded() is not None or session.child.process_limit.cgroup is None:
            pytest.skip("no pids cgroup here (the grader does not run as root, or cannot create one)")
        cgroup = session.child.process_limit.cgroup
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


def test_fetch_returns_a_kept_value_as_it_is_now():
    source = "def make(x):\n    return x.sum(), {'x': x}\n\ndef spoil(cache):\n    cache['x'][0] = -1.0\n"
    with Session((cell(source),), use_bwrap=False) as session:
        assert session.call("make", np.ones(3), keep="kept", send="none").ok
        before = session.fetch(protocol.Ref("kept", 1)).value
        assert session.call("spoil", protocol.Ref("kept", 1)).ok
        after = session.fetch(protocol.Ref("kept", 1)).value
        assert before["x"].tolist() == [1.0, 1.0, 1.0] and after["x"].tolist() == [-1.0, 1.0, 1.0]


def test_cgroups_left_by_a_killed_grader_are_removed():
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.ensure_loaded()
        if session.child.process_limit.cgroup is None:
            pytest.skip("no pids cgroup here (the grader does not run as root, or cannot create one)")
        parent = session.child.process_limit.cgroup.parent
    dead = 4_194_304  # PID_MAX_LIMIT: pids are below it, so no process has this one
    stale = parent / f"grader-{dead}-0123456789abcdef"
    stale.mkdir()
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.ensure_loaded()
        assert not stale.exists()


def test_a_call_that_restarts_the_child_is_timed_without_the_restart():
    slow_to_load = GOOD + "import time\nPAUSE = time.sleep(0.5)\n"  # every start of the child takes 0.5 s more
    with Session((cell(slow_to_load),), use_bwrap=False) as session:
        assert session.ensure_loaded() is None
        session.child.kill()
        started = time.perf_counter()
        result = session.call("double", np.ones(1))
        assert result.ok and time.perf_counter() - started > 0.5
        assert result.seconds < 0.25  # what a speed check divides by: the call, not the restart
