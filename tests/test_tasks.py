"""The task table (assignment/tasks.py): every task declared once, and every part reads it. A tenth task added
through the table alone (a row and its family's code) is checked in the notebook's API, graded and weighted."""

import importlib
import re
import sys
import types
from dataclasses import fields, replace

import numpy as np
import pytest
from test_checks import load_script

import solutions
from assignment import checks
from assignment.checks.base import Case, PublicChecks, call_student, case_inputs, compare_to, returned_items
from assignment.compare import FORWARD_THRESHOLD
from assignment.tasks import DEFAULT_WEIGHTS, PUBLIC_CASES, TABLE, TASK_IDS, Task, register, unregister
from grader.config import Config
from grader.tasks import TASKS
from grader.tasks.layer_checks import forward_case
from notebooks import write_notebook

SPEC_TASK_IDS = (
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "three_layer_convnet",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
)


def test_the_table_holds_the_tasks_of_spec_section_3_in_order_with_weights_totalling_100():
    assert tuple(TASK_IDS) == SPEC_TASK_IDS == tuple(TABLE)
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(100.0)
    assert Config().tasks == SPEC_TASK_IDS and Config().weights == dict(DEFAULT_WEIGHTS)


def test_every_row_has_its_family_in_both_packages_its_reference_and_a_forward_in_the_table():
    for task in TABLE.values():
        assert task.id in importlib.import_module(f"assignment.checks.{task.family}").CHECKS
        assert TASKS[task.id].grade is importlib.import_module(f"grader.tasks.{task.family}").GRADERS[task.id]
        assert TASKS[task.id].definition == task.definition and callable(getattr(solutions, task.definition))
        assert not task.forward or TABLE[task.forward].family == task.family
        assert task.inputs(**PUBLIC_CASES[task.id])  # the generator takes the public case


def test_the_notebook_source_has_each_rows_stub_cell_defining_it_and_then_its_check_cell():
    build = load_script("build_notebook")
    cells = build.read_cells(build.SOURCE_PATH.read_text(encoding="utf-8"))
    tagged = [
        (index, cell)
        for index, cell in enumerate(cells)
        if any(tag.startswith("task:") for tag in cell.metadata.get("tags", []))
    ]
    assert [cell.metadata.tags for _, cell in tagged] == [[f"task:{task_id}"] for task_id in TASK_IDS]
    for (index, stub), task in zip(tagged, TABLE.values()):
        keyword = "class" if task.is_class else "def"
        assert re.search(rf"^{keyword} {task.definition}\b", stub.source, re.MULTILINE), task.id
        forward = f", forward={TABLE[task.forward].definition})" if task.forward else ")"
        assert cells[index + 1].source.strip() == f'check("{task.id}", {task.definition}{forward}', task.id


# ---------------------------------------------------------------------------------------------
# A tenth task, through the table alone
# ---------------------------------------------------------------------------------------------

TOY = "scale_forward"
TOY_FACTOR = 3.0


def toy_inputs(N, D, seed):
    """x (N, D)."""
    return {"x": np.random.default_rng(seed).standard_normal((N, D))}


def _toy_run(forward, _, inputs, case):
    out, _ = returned_items(call_student(TOY, forward, inputs["x"], TOY_FACTOR), ("out", "cache"), TOY)
    return {"out": out}


def _toy_check(forward, _, measurements):
    (case,) = checks.CASES[TOY]
    inputs = case_inputs(TOY, case)
    out = _toy_run(forward, None, inputs, case)["out"]
    measurements.append(compare_to("public case", "out", out, TOY_FACTOR * inputs["x"], FORWARD_THRESHOLD))


def _toy_grade(ctx):
    inputs = toy_inputs(**TABLE[TOY].public_case)
    checked, _ = forward_case(ctx, TOY, (inputs["x"], TOY_FACTOR), TOY_FACTOR * inputs["x"], "public case", 1.0)
    if "kind" in {field.name for field in fields(checked)}:  # an Outcome says what kind of check it is
        checked = replace(checked, kind="public")
    return [checked]


@pytest.fixture
def tenth_task(monkeypatch):
    """A row in the table and a tiny family on each side (assignment/checks/toy.py, grader/tasks/toy.py)."""
    checks_family = types.ModuleType("assignment.checks.toy")
    checks_family.CHECKS = {
        TOY: PublicChecks((Case("public", dict(N=2, D=3, seed=1)),), _toy_run, _toy_check, lambda case: "public case")
    }
    grader_family = types.ModuleType("grader.tasks.toy")
    grader_family.GRADERS = {TOY: _toy_grade}
    monkeypatch.setitem(sys.modules, checks_family.__name__, checks_family)
    monkeypatch.setitem(sys.modules, grader_family.__name__, grader_family)
    register(
        Task(
            TOY,
            TOY,
            "toy",
            toy_inputs,
            dict(N=2, D=3, seed=1),
            5.0,
            arg_names=("x", "factor"),
            returns=("out", "cache"),
        )
    )
    yield
    unregister(TOY)
    assert tuple(TASK_IDS) == SPEC_TASK_IDS


TOY_SOURCE = "def scale_forward(x, factor):\n    return factor * x, (x, factor)\n"
TOY_BUG = "def scale_forward(x, factor):\n    return factor + x, (x, factor)\n"


def _toy_function(source):
    namespace = {}
    exec(source, namespace)
    return namespace[TOY]


def test_a_tenth_task_added_through_the_table_is_checked_in_the_notebook_api_and_weighted(tenth_task):
    assert TASK_IDS[-1] == TOY and TOY in TASKS and len(TASKS) == 10
    assert checks.check(TOY, _toy_function(TOY_SOURCE), verbose=False).passed
    assert checks.check(TOY, _toy_function(TOY_BUG), verbose=False).status == checks.FAILED
    assert Config().tasks[-1] == TOY and Config().weight(TOY) == 5.0 and DEFAULT_WEIGHTS[TOY] == 5.0


@pytest.mark.slow  # runs code in the sandbox
def test_a_tenth_task_added_through_the_table_is_graded_with_its_weight(tenth_task, tmp_path):
    from grader.pipeline import grade

    right = grade(write_notebook(tmp_path, TOY_SOURCE, name="right.ipynb"), Config(tasks=(TOY,)))
    wrong = grade(write_notebook(tmp_path, TOY_BUG, name="wrong.ipynb"), Config(tasks=(TOY,)))
    (task,) = right.tasks
    assert (task.id, task.score, task.max_score, task.status) == (TOY, 5.0, 5.0, "passed")
    assert wrong.tasks[0].score == 0.0 and wrong.tasks[0].status == "failed"
