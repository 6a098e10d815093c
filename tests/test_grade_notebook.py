"""The real student notebook: solved it gets 100, as handed out it gets 0 with every task reported."""
from pathlib import Path

import pytest

from grader.config import TASK_IDS
from grader.pipeline import grade
from grader.solve import solve

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"


def test_solved_notebook_gets_full_marks(tmp_path):
    report = grade(solve(NOTEBOOK, tmp_path / "solved.ipynb"))
    assert [t.id for t in report.tasks] == list(TASK_IDS)
    assert report.score == pytest.approx(100.0)
    assert {t.status for t in report.tasks} == {"passed"}


def test_stub_notebook_gets_zero_with_every_task_reported():
    report = grade(NOTEBOOK)
    assert [t.id for t in report.tasks] == list(TASK_IDS)
    assert report.score == 0.0
    for task in report.tasks:
        assert task.status == "error"
        assert all(check.message for check in task.checks)
