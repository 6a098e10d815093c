"""The cost benchmark's cheap parts (benchmarks/bench_cost.py; its figures take minutes and are not run here)."""

import ast
import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import solutions
from assignment.tasks import TABLE
from benchmarks.bench_cost import OTTER_TASKS, PROBE, hanging_notebook, otter_test, redirected, warm_up_lines
from grader.discover import load_submission
from grader.extract import extract
from grader.solve import solve

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = {task.id: task.definition for task in TABLE.values()}
SPIN = ["while True:\n    pass"]


def test_the_hanging_notebook_spins_in_every_task_definition_and_nowhere_else(tmp_path):
    solved = solve(ROOT / "notebooks" / "ConvolutionalNetworks.ipynb", tmp_path / "solved.ipynb")
    hanging = hanging_notebook(solved, DEFINITIONS, tmp_path / "hanging" / "ConvolutionalNetworks.ipynb")
    bodies = {}
    for cell in json.loads(hanging.read_text())["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith("# TASK:"):
            for node in ast.parse("".join(cell["source"])).body:
                methods = node.body if isinstance(node, ast.ClassDef) else [node]
                bodies.update({(node.name, m.name): m for m in methods if isinstance(m, ast.FunctionDef)})
    spinning = {key for key, function in bodies.items() if [ast.unparse(s) for s in function.body] == SPIN}
    assert {name for name, _ in spinning} == set(DEFINITIONS.values())
    assert ("ThreeLayerConvNet", "__init__") in spinning and ("ThreeLayerConvNet", "loss") in spinning
    assert all(name in DEFINITIONS.values() for name, _ in spinning)  # helpers such as _pad_spatial untouched
    assert set(DEFINITIONS.values()) <= extract(load_submission(hanging)[0]).defined  # implemented, not stubs


def test_every_otter_test_passes_on_the_reference_solutions():
    assert set(OTTER_TASKS) == set(TABLE)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for task_id in OTTER_TASKS:
        namespace = {}
        exec(otter_test(task_id), namespace)
        assert namespace["OK_FORMAT"] is True
        code = namespace["test"]["suites"][0]["cases"][0]["code"]
        globs = {"np": np, **{name: getattr(solutions, name) for name in DEFINITIONS.values()}}
        runner.run(doctest.DocTestParser().get_doctest(code, globs, task_id, None, 0))
    results = runner.summarize(verbose=False)
    assert results.failed == 0 and results.attempted >= 6 * len(OTTER_TASKS)


def test_the_warm_up_step_is_moved_out_of_system_folders_or_not_run(tmp_path):
    setup = (
        "set -euo pipefail\nVENV=/opt/convnet-grader\n"
        "mkdir -p /var/cache/convnet-grader && chmod 0700 /var/cache/convnet-grader\n"
        'GRADER_CACHE_DIR=/var/cache/convnet-grader "$VENV/bin/python" -I -m grader.cache \\\n'
        '    || echo "not filled" >&2\ngrader --version\n'
    )
    lines = warm_up_lines(setup)
    assert len(lines) == 2 and lines[1].endswith('|| echo "not filled" >&2')
    moved = redirected(lines, tmp_path / "venv", tmp_path / "cache")
    assert all("/var/" not in line and "/opt/" not in line for line in moved)
    assert f"GRADER_CACHE_DIR={tmp_path / 'cache'} " in moved[1]
    assert redirected(lines + ["touch /var/lib/elsewhere"], tmp_path / "venv", tmp_path / "cache") is None
    assert warm_up_lines("set -e\ngrader --version\n") == []


def test_the_probe_finds_the_tree_on_pythonpath_before_any_installed_copy(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    finished = subprocess.run(
        [sys.executable, str(PROBE), "where"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    answer = json.loads(finished.stdout)
    assert all(Path(file).is_relative_to(ROOT) for file in answer["files"].values())
    assert answer["definitions"] == DEFINITIONS
