"""A slow-loading definition never costs a correct neighbour task: each task's fork has a loading budget
of its own, so the restarts one task's crashes cause spend nothing of the others'."""

import time

import pytest
from test_attacks import MODES

from grader.config import Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow

SLOW_AND_CRASHING = """
import os
import time


def slow_default_1(_=time.sleep(0.8)):
    pass


def slow_default_2(_=time.sleep(0.8)):
    pass


def slow_default_3(_=time.sleep(0.8)):
    pass


def conv_forward_naive(x, w, b, conv_param):
    os._exit(3)
"""
TASKS = ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive")


@pytest.mark.parametrize("use_bwrap", MODES)
def test_slow_definitions_and_a_crashing_task_cost_the_correct_neighbours_nothing(tmp_path, use_bwrap):
    notebook = write_notebook(tmp_path, *solution_cells(), SLOW_AND_CRASHING)
    started = time.monotonic()
    report = grade(notebook, Config(tasks=TASKS, timeout=2.0, use_bwrap=use_bwrap))
    elapsed = time.monotonic() - started
    crashing, *neighbours = report.tasks
    assert crashing.score == 0.0
    assert "exited with status 3" in crashing.message, crashing.message
    for task in neighbours:
        failing = [check.message for check in task.checks if not check.passed]
        assert task.score == pytest.approx(task.max_score) and not failing, (task.id, failing)
    # Every fork loads 2.4 s of definitions; the ceiling is the submission's time in all (600 s).
    assert elapsed < 120
