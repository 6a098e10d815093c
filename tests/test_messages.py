"""The messages real student code gets: a constructor that fails, a stub that returns None, where an
exception was raised (cells numbered as Jupyter shows them), and a process killed from outside."""

import ast
import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.config import Config
from grader.discover import read_notebook
from grader.extract import extract
from grader.sandbox.session import Limits, Session
from grader.tasks import conv, convnet, pool
from grader.tasks.base import TaskContext, call_failed, untouched_stub
from tests.test_sandbox import cell

CONFIG = Config()


@contextlib.contextmanager
def session_of(*cells, timeout=CONFIG.timeout):
    with Session(list(cells), timeout=timeout, use_bwrap=CONFIG.use_bwrap) as session:
        yield session


# -- A constructor that fails -------------------------------------------------------------------------

NUMPY_INT_CONVNET = """import numpy as np


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        pooled = np.int(H / 2)
        self.params = {}

    def loss(self, X, y=None):
        return None
"""


def test_a_constructor_that_raises_is_reported_once_as_what_it_is_and_the_other_checks_are_not_run():
    with session_of(cell(NUMPY_INT_CONVNET, "<nb.ipynb cell 9>")) as session:
        outcomes = convnet.grade(TaskContext(session, CONFIG))
    first, *rest = outcomes
    assert [o.name for o in outcomes] == [name for name, _, _ in convnet.CHECKS]
    assert first.message == (
        "ThreeLayerConvNet() raised AttributeError: module 'numpy' has no attribute 'int'."
        + first.message.split("'int'.", 1)[1]
    )
    assert first.message.endswith("(at <nb.ipynb cell 9> line 8: pooled = np.int(H / 2))")
    assert first.failure == "error" and not first.passed
    assert [o.message for o in rest] == [convnet.CONSTRUCTOR_NOT_RUN] * len(rest)
    assert not any(o.passed for o in rest)
    # The one failure is under the check whose title names the call that failed: the contract's defaults.
    assert "default input_dim (3, 32, 32)" in first.name


# -- Where an exception was raised ----------------------------------------------------------------------

AUGMENTED_IN_LOOP = """def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            dx[n] += dout[n, f] * w[f, :, :2]
    return dx, None, None
"""


def notebook_file(folder, cells, with_ids=True):
    """A notebook of (kind, source) cells, kind 'markdown' or 'code', written to ``folder``."""
    notebook = nbformat.v4.new_notebook()
    makers = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook.cells = [makers[kind](source) for kind, source in cells]
    for index, made in enumerate(notebook.cells):
        if with_ids:
            made["id"] = f"cell-{index:02d}"
        else:
            made.pop("id", None)
    path = Path(folder) / "ConvolutionalNetworks.ipynb"
    if not with_ids:
        notebook.nbformat_minor = 4
    nbformat.write(notebook, path)
    return path


def failing_call(path):
    """The CallResult of conv_backward_naive from the notebook at ``path``, on inputs that make it raise."""
    extraction = extract([read_notebook(path)])
    x, w = np.ones((1, 2, 4, 4)), np.ones((2, 2, 3, 3))
    with session_of(*extraction.cells) as session:
        return session.call("conv_backward_naive", np.ones((1, 2, 4, 4)), (x, w, np.zeros(2), {"stride": 1, "pad": 1}))


NOTEBOOK = [
    ("markdown", "# Convolutional networks"),
    ("code", "import numpy as np"),
    ("markdown", "## Backward"),
    ("markdown", "Write it below."),
    ("code", AUGMENTED_IN_LOOP),
]


def test_a_failing_augmented_assignment_in_a_loop_is_located_at_its_own_line_in_the_cell_jupyter_shows(tmp_path):
    result = failing_call(notebook_file(tmp_path, NOTEBOOK))
    message = call_failed("hidden case", 1.0, result).message
    assert message.startswith("ValueError: ")
    assert message.endswith(
        "(at <ConvolutionalNetworks.ipynb cell 5 (id cell-04)> line 6: dx[n] += dout[n, f] * w[f, :, :2])"
    )
    assert "File " not in message


def test_a_notebook_without_cell_ids_names_cells_by_their_index_among_all_cells(tmp_path):
    result = failing_call(notebook_file(tmp_path, NOTEBOOK, with_ids=False))
    assert result.where.startswith("<ConvolutionalNetworks.ipynb cell 5> line 6: ")


def test_a_hostile_cell_id_is_shown_printable_and_bounded(tmp_path):
    path = notebook_file(tmp_path, NOTEBOOK)
    data = json.loads(path.read_text())
    data["cells"][4]["id"] = "\x1b[2J\u202e" + "x" * 5000  # written as JSON: nbformat would refuse the id
    path.write_text(json.dumps(data))
    [_, implemented] = extract([read_notebook(path)]).cells
    name = implemented["filename"]
    assert name.startswith("<ConvolutionalNetworks.ipynb cell 5 (id \\x1b[2J\\u202ex")
    assert name.endswith("more characters])>")
    assert name.isprintable() and len(name) < 100


def test_where_names_only_a_line_the_grader_holds():
    from grader.boundary import source_line

    sources = {"<c>": "a = 1\nb = 2\n"}
    assert source_line(["<c>", 2], sources) == "<c> line 2: b = 2"
    for forged in (["<c>", 3], ["<c>", 0], ["<other>", 1], ["<c>", "1"], ["<c>", True], "<c>", None, ["<c>", 1, 2]):
        assert source_line(forged, sources) == "", forged


# -- A process killed from outside ----------------------------------------------------------------------

KILLED = """import os
import time

import numpy as np


def slow_double(x):
    time.sleep(0.5)
    return 2 * x


def suicide():
    os.kill(os.getpid(), 9)


class Model:
    def suicide(self):
        os.kill(os.getpid(), 9)


def closes_its_connection():
    for fd in range(3, 64):
        try:
            os.close(fd)
        except OSError:
            pass
    time.sleep(5)


def over_the_memory_limit():
    # Two children holding 120 MB each and the function's own 380 MB: together over the 600 MB memory
    # cgroup, each under the per-process limit; the cgroup kills the largest, the function's own process.
    for _ in range(2):
        if os.fork() == 0:
            os.closerange(3, 1024)  # not the function's connection: its death shows at once
            block = np.ones(120 << 17)
            time.sleep(10)  # the grader kills it at the end of the call
            os._exit(0)
    time.sleep(0.3)
    block = np.ones(380 << 17)
    return float(block[0])
"""


def kill_the_task_soon(session, delay):
    """SIGKILL every process of the session's current task after ``delay`` seconds, as the system would."""

    def kill():
        time.sleep(delay)
        for pid in session.sandbox.task_processes():
            os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def test_a_call_killed_from_outside_is_run_once_more_counting_a_restart_and_both_runs_time():
    with session_of(cell(KILLED)) as session:
        assert session.call("slow_double", np.ones(2)).ok
        restarts = session.restarts
        killer = kill_the_task_soon(session, 0.25)
        result = session.call("slow_double", np.ones(2))
        killer.join()
        assert result.ok and result.value.tolist() == [2.0, 2.0], result.message
        assert session.restarts == restarts + 1
        # the retry's 0.5 s and the killed run's time, which is a little under 0.25 s: the killer's clock starts
        # before the call does
        assert result.seconds >= 0.5 + 0.2


def test_a_call_killed_twice_not_by_a_limit_is_reported_as_killed_by_the_system_and_not_run_again():
    with session_of(cell(KILLED)) as session:
        result = session.call("suicide")
        assert session.restarts == 1  # the first fork is no restart; the retry's is
        again = session.call("suicide")
        assert session.restarts == 1
    assert result.error_kind == "crash"
    assert result.message.startswith(
        "the process running your code was killed by the system "
        "(not by this submission's limits); its memory high-water mark was "
    )
    assert result.message.endswith("(it was run twice and killed both times)")
    assert "memory than the limit" not in result.message
    assert again.message.startswith("not run: suicide already crashed")


def test_a_killed_call_on_an_object_the_fork_held_is_not_retried():
    with session_of(cell(KILLED)) as session:
        assert session.call("Model", keep="model", send="none").ok
        restarts = session.restarts
        result = session.call(("model", "suicide"))
        assert session.restarts == restarts
    assert result.message.startswith("the process running your code was killed by the system")
    assert "run twice" not in result.message


def test_a_process_that_breaks_its_connection_is_not_said_to_be_killed():
    with session_of(cell(KILLED)) as session:
        result = session.call("closes_its_connection")
    assert result.message == "the process running your code stopped answering"


@pytest.mark.slow
def test_a_call_killed_by_the_memory_limit_is_blamed_on_it_and_not_retried():
    with Session(
        [cell(KILLED)], limits=Limits(memory_bytes=600 << 20), timeout=10.0, use_bwrap=CONFIG.use_bwrap
    ) as session:
        result = session.call("over_the_memory_limit")
        if "memory limited per process only" in session.isolation_used:
            pytest.skip(session.isolation_used)
        assert session.restarts == 0
    assert result.error_kind == "crash"
    assert result.message.startswith(
        "the process running your code was killed: it used more memory than the "
        "limit allows in all; its memory high-water mark was "
    )


# -- None from a stub -----------------------------------------------------------------------------------

COURSE_STUB_FORWARD = '''
def conv_forward_naive(x, w, b, conv_param):
    """The course's stub: out stays None until written."""
    out = None
    ###########################################################################
    # TODO: Implement the convolutional forward pass.                         #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    pass

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    cache = (x, w, b, conv_param)
    return out, cache
'''
COMMENTS_ONLY_BACKWARD = '''
def max_pool_backward_naive(dout, cache):
    """A naive max pooling backward pass."""
    # YOUR CODE HERE
    # YOUR CODE HERE
'''
COURSE_STUB_BACKWARD = """
def conv_backward_naive(dout, cache):
    dx, dw, db = None, None, None
    pass
    return dx, dw, db
"""
FORGOTTEN_RETURN = """
def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    dx = np.zeros_like(x)
    dx[:, :, ::2, ::2] = dout
"""
RESULT_NEVER_ASSIGNED = """
def conv_forward_naive(x, w, b, conv_param):
    out = None
    result = np.zeros((x.shape[0], w.shape[0], 1, 1))
    return out, (x, w, b, conv_param)
"""
SCORES_STUB = """
class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.params = {}

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        scores = None
        # YOUR CODE HERE
        if y is None:
            return scores
        loss, grads = 0, {}
        return loss, grads
"""


def first_message(source, grade):
    with session_of(cell("import numpy as np\n" + source, "<nb.ipynb cell 3>")) as session:
        return grade(TaskContext(session, CONFIG))[0].message


def test_the_course_stub_that_returns_out_none_reads_not_implemented_yet():
    message = first_message(COURSE_STUB_FORWARD, conv.grade_forward)
    assert message == "not implemented yet: conv_forward_naive returned None as out (its body is still the stub)"


def test_a_stub_of_comments_only_reads_not_implemented_yet():
    message = first_message(COMMENTS_ONLY_BACKWARD, pool.grade_backward)
    assert message == "not implemented yet: max_pool_backward_naive returned None (its body is still the stub)"


def test_a_backward_stub_that_returns_three_nones_reads_not_implemented_yet():
    message = first_message(COURSE_STUB_BACKWARD, conv.grade_backward)
    assert message == (
        "not implemented yet: conv_backward_naive returned None as dx, dw, db (its body is still the stub)"
    )


def test_real_code_that_returns_nothing_is_asked_whether_it_forgot_return():
    message = first_message(FORGOTTEN_RETURN, pool.grade_backward)
    assert message == "max_pool_backward_naive returned None (did you forget `return`?)"


def test_real_code_that_returns_a_variable_still_none_is_not_called_a_stub():
    message = first_message(RESULT_NEVER_ASSIGNED, conv.grade_forward)
    assert message == "out: expected a numpy.ndarray, got None"


def test_a_convnet_whose_loss_is_still_the_stub_reads_not_implemented_yet():
    with session_of(cell("import numpy as np\n" + SCORES_STUB, "<nb.ipynb cell 3>")) as session:
        verdict = convnet.check_scores(TaskContext(session, CONFIG))
    assert verdict.message == "not implemented yet: model.loss(X) returned None (its body is still the stub)"


STUB_BODIES = [
    "pass",
    '"""Docstring only."""',
    "...",
    "out = None\n    return out, (x, w)",
    "W1 = self.params['W1']\n    scores = None\n    if y is None:\n        return scores\n    return 0, {}",
]
CODE_BODIES = [
    "out = x * 2\n    return None",
    "out = None\n    for i in range(3):\n        pass\n    return out",
    "out = np.zeros(3)\n    return None",
    "out = None\n    out += 1\n    return out",
    "out = None\n    cache[0] = 1\n    return out, cache",
    "self.cache = x\n    return None",
    "out = [v for v in x]\n    return None",
]


@pytest.mark.parametrize("body", STUB_BODIES)
def test_a_body_that_computes_nothing_is_the_stub(body):
    assert untouched_stub(ast.parse(f"def f(self, x, w, y):\n    {body}\n").body[0])


@pytest.mark.parametrize("body", CODE_BODIES)
def test_a_body_that_computes_anything_is_code(body):
    assert not untouched_stub(ast.parse(f"def f(self, x, w, y, cache):\n    {body}\n").body[0])


DEFAULT_OF_A_REMOVED_ALIAS = '''import numpy as np


class ThreeLayerConvNet:
    """A convnet."""

    def __init__(self, input_dim=(3, 32, 32), dtype=np.float):
        self.params = {}
'''


def test_a_statement_that_fails_to_load_is_located_at_the_line_that_raised_within_it():
    with session_of(cell(DEFAULT_OF_A_REMOVED_ALIAS, "<nb.ipynb cell 4>")) as session:
        assert session.ensure_loaded() is None
        [error] = session.load_errors
    assert (error["filename"], error["line"], error["type"]) == ("<nb.ipynb cell 4>", 7, "AttributeError")


def test_a_load_error_line_outside_its_statement_is_not_believed():
    from grader.boundary import load_errors

    cell_ = {"filename": "<c>"}
    statement = [4, 9, ["f"]]
    for forged in (["<c>", 12], ["<c>", 3], ["<other>", 5], ["<c>", "5"], None):
        [error] = load_errors([{"type": "ValueError", "message": "m", "where": forged}], cell_, statement)
        assert error["line"] == 4, forged
    [error] = load_errors([{"type": "ValueError", "message": "m", "where": ["<c>", 6]}], cell_, statement)
    assert error["line"] == 6
