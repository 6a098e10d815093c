"""``python -m assignment.check NOTEBOOK``: the notebook's public checks, headless, as a student's CI runs them.

Stub, solved and buggy notebooks give the verdicts and exit statuses a CI job needs; only definitions are
loaded, by the grader's rule (held here against grader/extract.py on the project's own notebooks); an endless
loop fails its task and the run goes on. The last test runs the command as CI would: the released bundle in a
fresh venv made from its requirements.txt.
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from assignment import check
from assignment.definitions import names_defined
from assignment.tasks import TASK_IDS
from grader.discover import read_notebook
from grader.extract import extract
from grader.solve import solve
from notebooks import STUB_NOTEBOOK, stub_cells, write_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_NAME = STUB_NOTEBOOK.name


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    return solve(STUB_NOTEBOOK, tmp_path_factory.mktemp("solved") / NOTEBOOK_NAME)


def with_task_cell(notebook, task_id, edit, out):
    """A copy of ``notebook`` at ``out`` whose cell of ``task_id`` is ``edit(source)``."""
    copy = nbformat.read(notebook, as_version=4)
    cell = next(c for c in copy.cells if c.cell_type == "code" and c.source.startswith(f"# TASK: {task_id}\n"))
    edited = edit(cell.source)
    assert edited != cell.source, f"the edit changed nothing in {task_id}'s cell"
    cell.source = edited
    nbformat.write(copy, out)
    return out


def run_check(capsys, *argv):
    status = check.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def verdicts(out):
    """Task id -> its verdict, from the command's task lines."""
    found = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] in TASK_IDS:
            found[words[0]] = "NOT IMPLEMENTED" if words[1:3] == ["NOT", "IMPLEMENTED"] else words[1]
    return found


def test_the_stub_notebook_fails_with_every_task_not_implemented(capsys):
    status, out, _ = run_check(capsys, STUB_NOTEBOOK)
    assert status == check.EXIT_FAILED
    assert verdicts(out) == dict.fromkeys(TASK_IDS, "NOT IMPLEMENTED")
    assert out.splitlines()[-1] == "0 of 9 tasks pass (9 not implemented)"
    assert "conv_backward_naive is checked with the cache your conv_forward_naive returns" in out


def test_allow_missing_leaves_untouched_stubs_out_of_the_verdict(capsys):
    status, out, _ = run_check(capsys, STUB_NOTEBOOK, "--allow-missing")
    assert status == check.EXIT_PASSED and "ignored (--allow-missing)" in out


def test_the_solved_notebook_passes_every_task_and_exits_0(capsys, solved):
    status, out, _ = run_check(capsys, solved)
    assert status == check.EXIT_PASSED
    assert verdicts(out) == dict.fromkeys(TASK_IDS, "PASS")
    assert out.splitlines()[-1] == "9 of 9 tasks pass"


def test_a_broken_task_fails_by_name_with_its_first_failure_and_exits_1(capsys, solved, tmp_path):
    buggy = with_task_cell(
        solved, "max_pool_forward_naive", lambda s: s.replace(".max()", ".mean()"), tmp_path / "b.ipynb"
    )
    status, out, _ = run_check(capsys, buggy)
    assert status == check.EXIT_FAILED
    found = verdicts(out)
    assert found.pop("max_pool_forward_naive") == "FAIL" and found.pop("max_pool_backward_naive") == "FAIL"
    assert set(found.values()) == {"PASS"}
    line = next(line for line in out.splitlines() if line.startswith("max_pool_forward_naive "))
    assert "out:" in line and "rel error" in line
    backward = next(line for line in out.splitlines() if line.startswith("max_pool_backward_naive "))
    assert "fix max_pool_forward_naive first" in backward


def test_an_endless_loop_fails_its_task_on_time_and_the_other_tasks_still_run(capsys, solved, tmp_path):
    def loop_forever(source):
        return source.replace("    return out, (x_hat", "    while True:\n        pass\n    return out, (x_hat", 1)

    hangs = with_task_cell(solved, "spatial_groupnorm_forward", loop_forever, tmp_path / "h.ipynb")
    status, out, _ = run_check(
        capsys, hangs, "--timeout", "1", "--task", "spatial_groupnorm_forward,conv_forward_naive"
    )
    assert status == check.EXIT_FAILED
    assert verdicts(out) == {"conv_forward_naive": "PASS", "spatial_groupnorm_forward": "TIMEOUT"}
    assert "still running after 1 s" in out


def test_task_selects_tasks_in_table_order_and_an_unknown_one_is_a_usage_error(capsys, solved):
    status, out, _ = run_check(capsys, solved, "--task", "three_layer_convnet", "--task", "conv_forward_naive")
    assert status == 0 and list(verdicts(out)) == ["conv_forward_naive", "three_layer_convnet"]
    status, out, err = run_check(capsys, solved, "--task", "conv_forward")
    assert status == check.EXIT_USAGE and out == "" and "unknown task id(s) conv_forward" in err


@pytest.mark.parametrize(
    "content", [None, "not json", '{"nbformat": 3, "worksheets": []}'], ids=["missing", "text", "v3"]
)
def test_what_is_not_a_readable_notebook_is_a_one_line_usage_error(capsys, tmp_path, content):
    path = tmp_path / "n.ipynb"
    if content is not None:
        path.write_text(content)
    status, out, err = run_check(capsys, path)
    assert status == check.EXIT_USAGE and out == "" and err.count("\n") == 1


def test_only_definitions_load_and_a_stub_never_replaces_an_implementation(capsys, tmp_path):
    implemented = (
        "import numpy as np\n"
        "from assignment.fast_layers import conv_forward_fast\n"
        "def conv_forward_naive(x, w, b, conv_param):\n"
        "    return conv_forward_fast(x, w, b, conv_param)\n"
    )
    driver = "print('training...')\nraise SystemExit(3)\n"  # an experiment cell: never run
    path = write_notebook(tmp_path, implemented, driver, stub_cells()["conv_forward_naive"])
    status, out, _ = run_check(capsys, path, "--task", "conv_forward_naive")
    assert status == 0 and verdicts(out) == {"conv_forward_naive": "PASS"}
    assert "training" not in out


def test_a_definition_that_fails_to_load_is_an_error_naming_its_cell(capsys, tmp_path):
    broken = "import numpy as np\nfrom nowhere_at_all import helper\nconv_forward_naive = helper\n"
    status, out, _ = run_check(capsys, write_notebook(tmp_path, broken), "--task", "conv_forward_naive")
    assert status == check.EXIT_FAILED
    assert verdicts(out) == {"conv_forward_naive": "ERROR"}
    assert "<submission.ipynb cell 1> line 3: NameError" in out


@pytest.mark.parametrize("which", ["stub", "solved"])
def test_the_definitions_kept_are_the_ones_the_grader_extracts(solved, which):
    path = STUB_NOTEBOOK if which == "stub" else solved
    ours = {name for _, node in check.definitions(check.code_cells(path)) for name in names_defined(node)}
    assert ours == set(extract([read_notebook(path)]).defined)


# -- as CI runs it: the released bundle in a fresh venv ------------------------------------------------------


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def command(python, folder):
    result = subprocess.run(
        [python, "-m", "assignment.check", NOTEBOOK_NAME],
        cwd=folder,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=600,
    )
    return result.returncode, result.stdout


@pytest.mark.slow
def test_the_workflows_command_in_a_fresh_venv_from_the_bundle_fails_the_stub_and_a_bug_and_passes_a_solution(
    solved, tmp_path
):
    """What .github/workflows/checks.yml does: the zip unpacked, ``pip install -r requirements.txt`` into a
    new venv (pip's cache reused), the check command from the bundle's folder; the install leaves nothing
    beside the notebook."""
    from grader.bundles.release import build_release

    bundle = build_release(tmp_path / "release" / "bundle", github=True)
    with zipfile.ZipFile(bundle.zip_path) as archive:
        archive.extractall(tmp_path / "repo")
    repo = tmp_path / "repo" / "bundle"
    before = {path.name for path in repo.iterdir()}
    subprocess.run([sys.executable, "-m", "venv", repo / ".venv"], check=True, env=clean_env())
    python = str(repo / ".venv" / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "-r", "requirements.txt"]
    subprocess.run(install, cwd=repo, check=True, env=clean_env(), capture_output=True)
    assert {path.name for path in repo.iterdir()} - before == {".venv"}

    status, out = command(python, repo)
    assert status == 1 and verdicts(out) == dict.fromkeys(TASK_IDS, "NOT IMPLEMENTED"), out
    (repo / NOTEBOOK_NAME).write_bytes(Path(solved).read_bytes())
    status, out = command(python, repo)
    assert status == 0 and verdicts(out) == dict.fromkeys(TASK_IDS, "PASS"), out
    with_task_cell(
        solved,
        "spatial_groupnorm_backward",
        lambda s: s.replace("dbeta = dout", "dbeta = 0.5 * dout"),
        repo / NOTEBOOK_NAME,
    )
    status, out = command(python, repo)
    assert status == 1 and {t for t, v in verdicts(out).items() if v != "PASS"} == {"spatial_groupnorm_backward"}, out
