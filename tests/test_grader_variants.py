"""Implementations the grader was not tuned to: correct styles get full marks, each classic bug loses
points on exactly the task it breaks (see tests/variants/README.md)."""

from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

VARIANTS = Path(__file__).parent / "variants"
FAMILIES = (
    ("conv_forward_naive", "conv_backward_naive"),
    ("max_pool_forward_naive", "max_pool_backward_naive"),
    ("three_layer_convnet",),
    ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
    ("spatial_groupnorm_forward", "spatial_groupnorm_backward"),
)


def declared_tasks(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# tasks:"), f"{path.name} must start with '# tasks: ...'"
    return {t.strip() for t in first.removeprefix("# tasks:").split(",")}


def declared_failing_checks(path):
    """The check names (their beginnings) a buggy variant must fail, from an optional second line
    '# fails: speed'; None when it does not say."""
    lines = path.read_text().splitlines()
    if len(lines) < 2 or not lines[1].startswith("# fails:"):
        return None
    return {name.strip() for name in lines[1].removeprefix("# fails:").split(",")}


def graded_family(tasks):
    """The declared tasks and their siblings: enough to show that only the broken task loses points."""
    return tuple(t for family in FAMILIES if set(family) & tasks for t in family)


def grade_variant(tmp_path, path):
    """(declared tasks, task id -> TaskResult) of the variant at ``path``, graded once per run: two tests
    read each buggy variant's grading (it loses points, and on exactly the checks it declares)."""
    if path not in _GRADED:
        notebook = write_notebook(tmp_path, *solution_cells(), path.read_text())
        tasks = declared_tasks(path)
        report = grade(notebook, Config(tasks=graded_family(tasks)))
        _GRADED[path] = tasks, {task.id: task for task in report.tasks}
    return _GRADED[path]


_GRADED: dict = {}  # variant path -> what grade_variant returns


@pytest.mark.parametrize("path", sorted((VARIANTS / "correct").glob("*.py")), ids=lambda p: p.stem)
def test_correct_variant_gets_full_marks(tmp_path, path):
    _, results = grade_variant(tmp_path, path)
    for task in results.values():
        assert task.score == pytest.approx(task.max_score), f"{task.id}: {task.message}"
        assert task.status == "passed"
        assert not any(check.diagnosis for check in task.checks), f"{task.id} was named a mistake"


@pytest.mark.parametrize("path", sorted((VARIANTS / "buggy").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_variant_loses_points_on_exactly_its_task(tmp_path, path):
    broken, results = grade_variant(tmp_path, path)
    for task in results.values():
        if task.id in broken:
            assert task.score < task.max_score, f"{path.stem} was not caught in {task.id}"
            assert task.status in ("failed", "error", "timeout")
            assert any(not check.passed and check.message for check in task.checks)
        else:
            assert task.score == pytest.approx(task.max_score), f"{path.stem} cost {task.id}: {task.message}"


@pytest.mark.parametrize(
    "path", [p for p in sorted((VARIANTS / "buggy").glob("*.py")) if declared_failing_checks(p)], ids=lambda p: p.stem
)
def test_buggy_variant_fails_exactly_the_checks_it_declares(tmp_path, path):
    broken, results = grade_variant(tmp_path, path)
    declared = declared_failing_checks(path)
    for task_id in broken:
        failing = [check for check in results[task_id].checks if not check.passed]
        for name in declared:
            assert any(check.name.startswith(name) for check in failing), f"{path.stem} passed '{name}' in {task_id}"
        for check in failing:
            assert any(check.name.startswith(name) for name in declared), f"{path.stem} failed {check.name}"
