"""Hostile definitions cannot hang the grader, lose its report, earn points or outlive grading.

Each file in tests/attacks defines conv_forward_naive; it is graded beside the reference
conv_backward_naive, under bubblewrap (when it works here) and in the plain-process fallback.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from grader.render import to_json, write_json
from grader.sandbox.launcher import bwrap_works
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

ATTACK_DIR = Path(__file__).parent / "attacks"
# Forged-reply attacks share one cell that finds the request and the worker's channel (forged/channel.py).
FORGED_DIR = ATTACK_DIR / "forged"
CHANNEL = FORGED_DIR / "channel.py"
FORGED = sorted(path for path in FORGED_DIR.glob("*.py") if path != CHANNEL)
ATTACKS = sorted(ATTACK_DIR.glob("*.py")) + FORGED
TASKS = ("conv_forward_naive", "conv_backward_naive")
ATTACK_TIMEOUT = 3.0  # seconds per call: long enough for the reference, short for the suite
BWRAP = shutil.which("bwrap")
# Without bubblewrap a grader that is not root runs the child as its own user: it can signal the grader, read
# the references and write into the project. The report says "weak isolation"; these attacks need bubblewrap or root.
AS_ROOT = os.geteuid() == 0  # without bubblewrap, a root grader runs student code as an unprivileged uid
NEEDS_BUBBLEWRAP = {"kill_grader", "read_solutions", "write_project"}
# The memory hog fills whatever limit it is given on every call (a MemoryError is the student's exception,
# and its task calls it a dozen times): graded with a quarter of the default 2 GiB, as the limit works the
# same way at any size, each call writes 0.5 GiB instead of 2 (1.5 s each on this machine).
MEMORY_LIMITS = {"memory_hog": 512 << 20}
MODES = [
    pytest.param(
        True, id="bwrap", marks=pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="no bubblewrap")
    ),
    pytest.param(False, id="fallback"),
]


def attack_id(path):
    return f"forged_{path.stem}" if path.parent == FORGED_DIR else path.stem


def attack_cells(path):
    """The cells an attack is graded with after the references: a forged-reply attack after its channel helper."""
    return ([CHANNEL.read_text()] if path.parent == FORGED_DIR else []) + [path.read_text()]


def wait_for_no_marked_processes(seconds=5.0):
    """Killed processes take a moment to leave /proc; poll instead of reading once."""
    deadline = time.monotonic() + seconds
    while (left := marked_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def project_fingerprint():
    """Contents of the installed project's source files, to show that no attack wrote into them."""
    root = Path(__file__).parent.parent
    return {
        p: p.read_bytes() for folder in ("assignment", "grader", "solutions") for p in (root / folder).rglob("*.py")
    }


def marked_processes():
    """Processes still carrying a sandbox token of this test process (every descendant of a child inherits it)."""
    found, marker = [], f"GRADER_SANDBOX_TOKEN={os.getpid()}-".encode()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{entry}/environ").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("attack", ATTACKS, ids=attack_id)
def test_attack_is_contained(tmp_path, attack, use_bwrap):
    if not use_bwrap and attack.stem in NEEDS_BUBBLEWRAP and not AS_ROOT:
        pytest.skip(
            "contained only under bubblewrap or as root (an unprivileged uid); the fallback reports weak isolation"
        )
    target = tmp_path / "outside.txt"
    target.write_text("untouched\n")
    project_before = project_fingerprint()
    notebook = write_notebook(tmp_path, *solution_cells(), *attack_cells(attack))
    started = time.monotonic()
    memory = {"memory_bytes": MEMORY_LIMITS[attack.stem]} if attack.stem in MEMORY_LIMITS else {}
    report = grade(notebook, Config(tasks=TASKS, timeout=ATTACK_TIMEOUT, use_bwrap=use_bwrap, **memory))
    report_path = tmp_path / "report.json"
    write_json(to_json(report), report_path)
    elapsed = time.monotonic() - started

    attacked, neighbour = report.tasks
    assert attacked.score == 0.0, [c.message for c in attacked.checks if c.passed]
    assert attacked.status in ("error", "timeout", "failed")
    assert all(check.message for check in attacked.checks if not check.passed)
    assert neighbour.score == pytest.approx(neighbour.max_score), neighbour.message
    assert elapsed < 120
    assert wait_for_no_marked_processes() == []
    time.sleep(0.2)
    assert json.loads(report_path.read_text())["score"] == pytest.approx(report.score, abs=5e-5)  # JSON: 4 decimals
    if use_bwrap or AS_ROOT:
        assert target.read_text() == "untouched\n"
        assert project_fingerprint() == project_before
        assert report.isolation.startswith("bubblewrap" if use_bwrap else "unprivileged user (uid ")
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


SPINNERS = Path(__file__).parent / "variants" / "buggy" / "conv_forward_slow_with_spinners.py"
KILL_WORKER = Path(__file__).parent / "attacks" / "speed" / "conv_forward_slow_spinners_kill_worker.py"
# Cells appended after the references. The second kills its own worker after each speed-case answer, which
# also costs its backward task (whose speed check runs this forward): an attack, not a one-task variant.
OFFLOADED = Path(__file__).parent / "attacks" / "speed" / "conv_forward_offloaded_to_auto_reaped_child.py"
SPEED_ATTACKS = {
    "spinners": (SPINNERS,),
    "spinners_kill_worker": (SPINNERS, KILL_WORKER),
    "offloaded_to_auto_reaped_child": (OFFLOADED,),
}


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("attack", sorted(SPEED_ATTACKS))
def test_busy_processes_cannot_buy_the_speed_point(tmp_path, attack, use_bwrap):
    cells = [path.read_text() for path in SPEED_ATTACKS[attack]]
    notebook = write_notebook(tmp_path, *solution_cells(), *cells)
    report = grade(notebook, Config(tasks=("conv_forward_naive",), use_bwrap=use_bwrap))
    if not use_bwrap and "process limit not enforced" in report.isolation:
        pytest.skip("without bubblewrap and a cgroup the busy processes can escape the pause (see README)")
    failing = [check for check in report.tasks[0].checks if not check.passed]
    assert [check.name.split(" ")[0] for check in failing] == ["speed"], [c.message for c in failing]
    assert wait_for_no_marked_processes() == []


# Grades one attack in a fresh interpreter and prints its wall time and how far the grader's peak memory rose
# (ru_maxrss: the pytest process's own earlier peak would hide the growth).
MEASURE = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, str(Path.cwd() / "tests"))
import grader
from grader.config import Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook
notebook = write_notebook(sys.argv[1], *solution_cells(), *(Path(p).read_text() for p in sys.argv[2].split(",")))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
report = grade(notebook, Config(tasks=tuple(sys.argv[4].split(",")), timeout=float(sys.argv[5]), use_bwrap=sys.argv[3] == "1"))
seconds = time.monotonic() - started
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "grown_mib": grown / 1024, "grader": grader.__file__,
                  "scores": [[t.score, t.max_score] for t in report.tasks]}))
"""


@pytest.mark.parametrize("use_bwrap", MODES)
@pytest.mark.parametrize("attack", FORGED, ids=attack_id)
def test_forged_replies_cost_the_grader_bounded_time_and_memory(tmp_path, attack, use_bwrap):
    root = Path(__file__).parent.parent
    cells = ",".join(str(path) for path in (CHANNEL, attack))
    command = [
        sys.executable,
        "-c",
        MEASURE,
        str(tmp_path),
        cells,
        "1" if use_bwrap else "0",
        ",".join(TASKS),
        str(ATTACK_TIMEOUT),
    ]
    finished = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    measured = json.loads(finished.stdout.strip().splitlines()[-1])
    assert Path(measured["grader"]).resolve().is_relative_to(root.resolve())  # this project's grader, not another
    assert measured["seconds"] < 60
    assert measured["grown_mib"] < 300, measured
    assert measured["scores"][0][0] == 0.0  # the neighbour's marks: test_attack_is_contained
    assert wait_for_no_marked_processes() == []
