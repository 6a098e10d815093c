"""Hostile answers to the grader's checks (tests/attacks/checks) earn no point they did not earn, and never
turn into an internal grader error.

Each file starts with '# tasks: ...' (the tasks it attacks, graded after the reference solutions) and may
say on its second line '# fails: ...' (the beginnings of the check names it must fail, every other check of
its tasks passing); without that line every attacked task must score zero.
"""

from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

ATTACKS = sorted((Path(__file__).parent / "attacks" / "checks").glob("*.py"))


def declared(path, prefix):
    """The comma-separated names of the first-lines comment ``# prefix: ...``, or None."""
    for line in path.read_text().splitlines()[:2]:
        if line.startswith(f"# {prefix}:"):
            return [name.strip() for name in line.removeprefix(f"# {prefix}:").split(",")]
    return None


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda p: p.stem)
def test_attack_on_the_checks_earns_nothing_it_did_not_earn(tmp_path, attack):
    tasks, failing = declared(attack, "tasks"), declared(attack, "fails")
    notebook = write_notebook(tmp_path, *solution_cells(), attack.read_text())
    report = grade(notebook, Config(tasks=tuple(tasks)))
    for task in report.tasks:
        messages = [f"{c.name}: {c.message}" for c in task.checks]
        assert not any("internal grader error" in m for m in messages), messages
        if failing is None:
            assert task.score == 0.0, [m for c, m in zip(task.checks, messages) if c.passed]
            continue
        failed = [c for c in task.checks if not c.passed]
        assert failed, f"{attack.stem} lost nothing in {task.id}"
        for check in failed:
            assert any(check.name.startswith(name) for name in failing), f"{task.id}: {check.name}: {check.message}"
