"""No task's leftover state reaches another task.

Each file in tests/attacks/leftover defines conv_backward_naive (no other task calls it) so that, once called,
it leaves state behind in the process answering it (a profiler, a signal handler, a thread, patched worker
or numpy modules, an atexit hook, files), then returns the reference's answer. Graded first, beside the
reference pool functions, under bubblewrap and in the fallback: both pool tasks keep full marks, speed
checks included, no process of the run is left and the report is written.
"""

import json
from pathlib import Path

import pytest
from test_attacks import MODES, wait_for_no_marked_processes

from grader.config import Config
from grader.pipeline import grade
from grader.render import to_json, write_json
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

ATTACKS = sorted((Path(__file__).parent / "attacks" / "leftover").glob("*.py"))
TASKS = ("conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive")


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda p: p.stem)
def test_state_left_by_one_task_does_not_change_another_tasks_verdict(tmp_path, attack, use_bwrap):
    notebook = write_notebook(tmp_path, *solution_cells(), attack.read_text())
    report = grade(notebook, Config(tasks=TASKS, timeout=3.0, use_bwrap=use_bwrap))
    report_path = tmp_path / "report.json"
    write_json(to_json(report), report_path)

    attacker, *pools = report.tasks
    assert [task.id for task in report.tasks] == list(TASKS)
    assert attacker.checks, attacker.message  # the attack was graded, and ran
    if attack.stem == "sigcont_handler":  # it has teeth: in its own task it costs the speed point
        assert not next(c for c in attacker.checks if c.name.startswith("speed")).passed
    for task in pools:
        failing = [f"{check.name}: {check.message}" for check in task.checks if not check.passed]
        assert task.score == pytest.approx(task.max_score) and not failing, (task.id, failing)
        assert any(check.name.startswith("speed") for check in task.checks)
    assert wait_for_no_marked_processes() == []
    assert json.loads(report_path.read_text())["score"] == pytest.approx(report.score, abs=5e-5)  # JSON: 4 decimals


KERNEL_OBJECTS = Path(__file__).parent / "attacks" / "leftover" / "kernel_objects.py"
KEY = "1735549284"  # kernel_objects.KEY as /proc/sysvipc lists it


@pytest.mark.parametrize("use_bwrap", MODES)
def test_no_kernel_object_a_submission_makes_outlives_its_grading(tmp_path, use_bwrap):
    notebook = write_notebook(tmp_path, *solution_cells(), KERNEL_OBJECTS.read_text())
    grade(notebook, Config(tasks=TASKS[:1], timeout=3.0, use_bwrap=use_bwrap))
    for kind in ("shm", "sem", "msg"):
        keys = [line.split()[0] for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]]
        assert KEY not in keys, kind
    assert not Path("/dev/mqueue/grader-leftover-queue").exists()
