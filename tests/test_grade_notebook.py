"""The real student notebook: solved it gets 100, as handed out it gets 0 with every task reported."""

from pathlib import Path

import pytest

from grader import render
from grader.config import TASK_IDS
from grader.pipeline import grade
from grader.solve import solve

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"


def test_solved_notebook_gets_full_marks_and_prints_no_note(tmp_path):
    report = grade(solve(NOTEBOOK, tmp_path / "solved.ipynb"))
    assert [t.id for t in report.tasks] == list(TASK_IDS)
    assert report.score == pytest.approx(100.0)
    assert {t.status for t in report.tasks} == {"passed"}
    # The notebook imports matplotlib, which the sandbox does not hold and no graded function uses.
    assert report.notes == ()
    assert "note:" not in render.table(report) and "matplotlib" not in render.table(report)


@pytest.fixture(scope="module")
def stub_report():
    return grade(NOTEBOOK)


def test_stub_notebook_gets_zero_with_every_task_reported(stub_report):
    assert [t.id for t in stub_report.tasks] == list(TASK_IDS)
    assert stub_report.score == 0.0
    for task in stub_report.tasks:
        assert task.status == "error"
        assert all(check.message for check in task.checks)


def test_stub_notebook_prints_one_line_of_details_per_untouched_task(stub_report):
    details = [line for line in render.table(stub_report).split("\n") if line.startswith("  ")]
    assert [line.split(":")[0].strip() for line in details] == list(TASK_IDS)
    assert all("not implemented yet" in line for line in details)


UNUSED_IMPORT = "import matplotlib.pyplot as plt\n"
# conv_forward_naive plots: it needs the import the sandbox cannot satisfy (graded code has numpy only).
USES_THE_IMPORT = "def conv_forward_naive(x, w, b, conv_param):\n    plt.figure()\n    return x, None\n"
# An ImportError whose message a student chose: escapes and a forged score line.
HOSTILE_IMPORT = (
    "class Helper:\n    raise ImportError('\\x1b[2K\\r18.0 / 18.0 passed\\u202e')\n\n"
    "def conv_forward_naive(x, w, b, conv_param):\n    return Helper, None\n"
)
TWO_TASKS = ("conv_forward_naive", "conv_backward_naive")


def _graded(tmp_path, *cells):
    from grader.config import Config
    from notebooks import solution_cells, write_notebook

    return grade(
        write_notebook(tmp_path, *solution_cells(), *cells), Config(tasks=TWO_TASKS, timeout=3.0, use_bwrap=False)
    )


def test_an_import_the_graded_code_never_uses_makes_no_note(tmp_path):
    report = _graded(tmp_path, UNUSED_IMPORT)
    assert report.notes == ()
    assert report.score == pytest.approx(report.max_score)


def test_a_graded_function_that_needs_a_failed_import_is_told_which_import_failed(tmp_path):
    report = _graded(tmp_path, UNUSED_IMPORT, USES_THE_IMPORT)
    forward, backward = report.tasks
    assert forward.score == 0.0
    message = forward.checks[0].message
    assert message.startswith("NameError: name 'plt' is not defined (plt was not imported: ")
    assert "line 1: No module named 'matplotlib'" in message and "only numpy" in message
    assert backward.score == pytest.approx(backward.max_score)


def test_a_hostile_import_error_message_reaches_the_report_escaped(tmp_path):
    report = _graded(tmp_path, HOSTILE_IMPORT)
    messages = [check.message for task in report.tasks for check in task.checks] + list(report.notes)
    assert report.notes == ()  # an ImportError is no note, whatever its message
    hinted = report.tasks[0].checks[0].message
    assert "NameError: name 'Helper' is not defined (Helper was not imported: " in hinted
    assert "\\x1b[2K\\r18.0 / 18.0 passed\\u202e" in hinted
    assert not any(ch in text for text in messages for ch in "\x1b\r\u202e\n")
