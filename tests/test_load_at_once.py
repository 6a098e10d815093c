"""Later forks of a submission load every statement in one request, once they all loaded one at a time;
a statement that hangs only then is found and skipped one statement at a time, as before."""

import numpy as np
from test_sandbox import GOOD, cell

from grader.sandbox import supervisor
from grader.sandbox.session import Session


def load_requests(monkeypatch):
    """Statements sent per 'load' request, in order, for every request made from now on."""
    sent = []
    request = supervisor.Channel.request

    def counting(self, header, arrays=(), timeout=10.0):
        if header.get("op") == "load":
            sent.append(sum(len(c["statements"]) for c in header["cells"]))
        return request(self, header, arrays, timeout)

    monkeypatch.setattr(supervisor.Channel, "request", counting)
    return sent


def test_after_one_load_statement_by_statement_each_later_fork_loads_in_one_request(monkeypatch):
    sent = load_requests(monkeypatch)
    cells = (cell(GOOD, "<a>"), cell("BAD = undefined_name\n\ndef triple(x):\n    return 3 * x\n", "<b>"))
    with Session(cells, timeout=5.0, use_bwrap=False) as session:
        for task in ("first", "second", "third"):
            session.begin_task(task)
            assert session.ensure_loaded() is None
            assert {"double", "triple", "np"} <= session.defined and "BAD" not in session.defined
            assert session.call("triple", np.ones(2)).value.tolist() == [3.0, 3.0]
        [error] = session.load_errors
        assert error["defines"] == ["BAD"] and error["type"] == "NameError"
    assert sent == [1, 1, 1, 1, 4, 4]  # four statements one by one, then all four at once per fork


def test_a_statement_that_hangs_only_in_a_later_fork_is_skipped_one_statement_at_a_time(tmp_path, monkeypatch):
    sent = load_requests(monkeypatch)
    # The mark is put beside the worker (the stage, which the child reads) once the first fork has loaded:
    # nothing a fork writes outlives it, so the grader's side makes the difference between forks.
    mark = "os.path.join(os.path.dirname(sys.argv[0]), 'loaded-once')"
    hangs_the_second_time = (
        f"import os\nimport sys\nimport time\n\nclass Once:\n    if os.path.exists({mark}):\n"
        f"        while True:\n            time.sleep(0.01)\n"
    )
    cells = (cell(GOOD, "<a>"), cell(hangs_the_second_time, "<b>"), cell("def triple(x):\n    return 3 * x\n", "<c>"))
    with Session(cells, timeout=1.0, use_bwrap=False) as session:
        session.begin_task("first")
        assert session.ensure_loaded() is None and "Once" in session.defined
        (session.stage / "loaded-once").touch()
        session.begin_task("second")
        assert session.ensure_loaded() is None
        assert {"double", "triple"} <= session.defined and "Once" not in session.defined
        [error] = [e for e in session.load_errors if e["defines"] == ["Once"]]
        assert error["kind"] == "timeout" and "skipped" in error["message"]
        assert session.call("triple", np.ones(2)).value.tolist() == [3.0, 3.0]
    # Seven statements one by one, then all seven at once (it hangs), then one at a time again, Once skipped.
    assert sent[:8] == [1] * 7 + [7] and set(sent[8:]) == {1} and len(sent[8:]) >= 6
