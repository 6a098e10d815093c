"""Hostile definitions cannot hang the grader, lose its report, earn points or outlive grading.

Each file in tests/attacks defines conv_forward_naive; it is graded beside the reference
conv_backward_naive, under bubblewrap (when it works here) and in the plain-process fallback.
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from grader.render import to_json, write_json
from grader.sandbox.launcher import bwrap_works
from notebooks import solution_cells, write_notebook

ATTACKS = sorted((Path(__file__).parent / "attacks").glob("*.py"))
TASKS = ("conv_forward_naive", "conv_backward_naive")
ATTACK_TIMEOUT = 3.0  # seconds per call: long enough for the reference, short for the suite
BWRAP = shutil.which("bwrap")
MODES = [
    pytest.param(True, id="bwrap", marks=pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="no bubblewrap")),
    pytest.param(False, id="fallback"),
]


def marked_processes():
    """Processes still carrying a sandbox token (every descendant of a child inherits it)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"GRADER_SANDBOX_TOKEN=" in Path(f"/proc/{entry}/environ").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda p: p.stem)
def test_attack_is_contained(tmp_path, attack, use_bwrap):
    target = tmp_path / "outside.txt"
    target.write_text("untouched\n")
    notebook = write_notebook(tmp_path, *solution_cells(), attack.read_text())
    started = time.monotonic()
    report = grade(notebook, Config(tasks=TASKS, timeout=ATTACK_TIMEOUT, use_bwrap=use_bwrap))
    report_path = tmp_path / "report.json"
    write_json(to_json(report), report_path)
    elapsed = time.monotonic() - started

    attacked, neighbour = report.tasks
    assert attacked.score == 0.0, [c.message for c in attacked.checks if c.passed]
    assert attacked.status in ("error", "timeout", "failed")
    assert all(check.message for check in attacked.checks if not check.passed)
    assert neighbour.score == pytest.approx(neighbour.max_score), neighbour.message
    assert elapsed < 120
    assert marked_processes() == []
    time.sleep(0.2)
    assert json.loads(report_path.read_text())["score"] == pytest.approx(report.score)
    if use_bwrap:
        assert target.read_text() == "untouched\n"
        assert "bubblewrap" in report.isolation
    else:
        assert "weak isolation" in report.isolation


def test_detached_process_cannot_rewrite_the_report_after_grading(tmp_path):
    attack = Path(__file__).parent / "attacks" / "detached_rewriter.py"
    notebook = write_notebook(tmp_path, *solution_cells(), attack.read_text())
    report = grade(notebook, Config(tasks=TASKS, timeout=ATTACK_TIMEOUT, use_bwrap=False))
    report_path = tmp_path / "report.json"
    write_json(to_json(report), report_path)
    before = report_path.read_text()
    time.sleep(4)  # the attack waits 3 s before rewriting
    assert report_path.read_text() == before


def test_project_files_are_unchanged_by_the_write_attack():
    status = subprocess.run(["git", "status", "--porcelain", "assignment", "grader"], capture_output=True, text=True,
                            cwd=Path(__file__).parent.parent)
    assert "layers.py" not in status.stdout and "compare.py" not in status.stdout
