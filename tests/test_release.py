"""``grader release``: the student bundle holds the notebook, the assignment package, a README and exact pins,
and nothing of the references or the grader; installed alone in a fresh venv, its notebook runs."""

import ast
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np
import pytest

import solutions
from assignment import checks
from grader.bundles.release import NOTEBOOK_NAME, build_release
from grader.cli import main
from grader.config import tomllib
from grader.solve import fill_task_cells, reference_source
from grader.tasks import conv, normalization, pool

ROOT = Path(__file__).resolve().parents[1]
STUDENT_FILES = {NOTEBOOK_NAME, "README.md", "requirements.txt", "pyproject.toml", "tox.ini"}
GITHUB_FILES = {".github/workflows/checks.yml", ".github/classroom/autograding.json"}
MIN_LINE = 20  # characters: shorter statements ("dx = np.zeros_like(x)") are not distinctive
GIVEN_SOURCES = [*sorted((ROOT / "assignment").rglob("*.py")), ROOT / "notebooks" / NOTEBOOK_NAME]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("release") / "convnet-release")


def bundle_files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def zip_files(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def distinctive_reference_lines():
    """Every statement line of the references' function and class bodies (docstrings left out) of at least
    MIN_LINE characters that appears in none of the sources students are given by design (the assignment
    package, the stub notebook, as committed): a line of the answers, and only of the answers."""
    given = "\n".join(path.read_text(encoding="utf-8") for path in GIVEN_SOURCES)
    lines = set()
    for path in sorted(Path(solutions.__file__).parent.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        text = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                for statement in _without_docstring(node.body):
                    if not isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
                        lines.update(line.strip() for line in text[statement.lineno - 1 : statement.end_lineno])
    return {line for line in lines if len(line) >= MIN_LINE and not line.startswith("#") and line not in given}


def _without_docstring(body):
    first = body[0] if body else None
    is_docstring = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    return body[1:] if is_docstring else body


def leaked_lines(files, lines):
    """(file name, line) for every reference line found in any file (bytes decoded leniently)."""
    texts = {name: data.decode("utf-8", "replace") for name, data in files.items()}
    return [(name, line) for name, text in texts.items() for line in lines if line in text]


def test_bundle_holds_the_notebook_the_assignment_package_readme_and_requirements(bundle):
    files = bundle_files(bundle.folder)
    assert set(files) - {name for name in files if name.startswith("assignment/")} == STUDENT_FILES
    package = {name.removeprefix("assignment/") for name in files if name.startswith("assignment/")}
    shipped = {
        str(p.relative_to(ROOT / "assignment"))
        for p in (ROOT / "assignment").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package == shipped and "public_expected.npz" in package and "datasets/digits.npz" in package


def test_zip_holds_the_same_files_under_one_folder(bundle):
    in_zip = zip_files(bundle.zip_path)
    assert in_zip == {f"{bundle.folder.name}/{name}": data for name, data in bundle_files(bundle.folder).items()}


def test_bundle_has_no_solutions_no_grader_and_no_solve_command(bundle):
    files = bundle_files(bundle.folder)
    assert not [name for name in files if {"solutions", "grader"} & set(Path(name).parts)]
    for name, data in files.items():
        if name.endswith((".py", ".toml", ".txt", ".ipynb", ".md")):
            text = data.decode("utf-8")
            assert not re.search(r"^\s*(import|from)\s+(solutions|grader)\b", text, re.M), name
    project = tomllib.loads(files["pyproject.toml"].decode())
    assert "scripts" not in project["project"] and "grader" not in files["pyproject.toml"].decode()
    assert project["tool"]["flit"]["module"]["name"] == "assignment"


def test_no_distinctive_line_of_the_references_is_anywhere_in_the_bundle_or_its_zip(bundle):
    lines = distinctive_reference_lines()
    assert len(lines) >= 60, len(lines)  # enough of the answers to mean something
    assert leaked_lines(bundle_files(bundle.folder), lines) == []
    assert leaked_lines(zip_files(bundle.zip_path), lines) == []


def test_the_reference_scan_finds_a_reference_copied_into_a_bundle(bundle):
    files = bundle_files(bundle.folder)
    files["assignment/helpers.py"] = (Path(solutions.__file__).parent / "conv.py").read_bytes()
    assert len(leaked_lines(files, distinctive_reference_lines())) > 5


def test_public_expectations_are_the_notebooks_own_cases_computed_by_the_references(bundle):
    """Every stored array is a value of the notebook's own cases, as the references compute it now, and
    none of those cases is one of the grader's hidden cases."""
    references = {
        task_id: getattr(solutions, "ThreeLayerConvNet" if task_id == "three_layer_convnet" else task_id)
        for task_id in checks.TASK_IDS
    }
    expected = checks.public_values(references)
    with np.load(bundle.folder / "assignment" / "public_expected.npz", allow_pickle=False) as stored:
        assert set(stored.files) == set(expected)
        for key in stored.files:
            np.testing.assert_allclose(stored[key], expected[key], rtol=1e-12, atol=0, err_msg=key)
    hidden = [
        *conv.HIDDEN_CASES,
        *pool.HIDDEN_CASES,
        *normalization.BN_FORWARD_CASES,
        *normalization.BN_BACKWARD_CASES,
        *normalization.GN_FORWARD_CASES,
        *normalization.GN_BACKWARD_CASES,
        normalization.RUNNING_STATS_CASE,
        normalization.TEST_MODE_CASE,
    ]
    notebook_cases = [case.params for cases in checks.CASES.values() for case in cases]
    assert not [case for case in notebook_cases if case in hidden]
    assert not {case["seed"] for case in notebook_cases} & {case["seed"] for case in hidden}


def test_numpy_is_pinned_to_exactly_the_version_the_grader_runs_with(bundle):
    pin = f"numpy=={metadata.version('numpy')}"
    requirements = (bundle.folder / "requirements.txt").read_text().splitlines()
    project = tomllib.loads((bundle.folder / "pyproject.toml").read_text())["project"]
    assert pin in requirements and pin in project["dependencies"] and bundle.pins == (pin,)
    assert {"jupyterlab>=4.0", "matplotlib>=3.6", "."} <= set(requirements)
    assert pin in (bundle.folder / "README.md").read_text()


def test_the_stub_notebook_ships_without_outputs_and_with_its_nine_stubs(bundle):
    notebook = nbformat.read(bundle.folder / NOTEBOOK_NAME, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs for cell in code)
    assert sum("raise NotImplementedError" in cell.source for cell in code) >= len(checks.TASK_IDS)


def test_release_into_a_folder_with_files_or_of_a_missing_notebook_exits_2(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("stale")
    assert main(["release", str(tmp_path / "full")]) == 2
    assert main(["release", str(tmp_path / "new"), "--notebook", str(tmp_path / "none.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err


# -- dates, packaging and the files for GitHub ---------------------------------------------------------------


def test_every_file_of_the_folder_and_the_zip_is_dated_the_projects_last_commit(tmp_path, monkeypatch):
    from grader.bundles.release import source_epoch

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = source_epoch()
    bundle = build_release(tmp_path / "bundle")
    after = source_epoch()  # another commit may land meanwhile: the build took one of the two
    paths = [bundle.folder, *bundle.folder.rglob("*")]
    dates = {int(path.stat().st_mtime) for path in paths}
    assert len(dates) == 1 and dates <= {before // 2 * 2, after // 2 * 2}  # even: a zip's resolution
    (epoch,) = dates
    assert epoch > time.mktime((2024, 1, 1, 0, 0, 0, 0, 0, -1))  # a real date, not 1980
    with zipfile.ZipFile(bundle.zip_path) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {time.gmtime(epoch)[:6]}


def test_the_same_sources_make_the_same_zip_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 UTC
    first = build_release(tmp_path / "one" / "bundle")
    time.sleep(1.1)  # a build time leaking into the zip would show
    second = build_release(tmp_path / "two" / "bundle")
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()
    with zipfile.ZipFile(first.zip_path) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(2026, 1, 1, 0, 0, 0)}


def test_the_bundle_builds_with_a_backend_that_writes_nothing_into_its_folder(bundle):
    build = tomllib.loads((bundle.folder / "pyproject.toml").read_text())["build-system"]
    assert build["build-backend"] == "flit_core.buildapi"  # no build/, no .egg-info (setuptools wrote both)


def test_without_github_the_bundle_has_no_github_files(bundle):
    assert not (bundle.folder / ".github").exists()


@pytest.fixture(scope="module")
def github_bundle(tmp_path_factory):
    return build_release(tmp_path_factory.mktemp("github") / "repo", github=True).folder


def test_release_github_adds_the_workflow_and_the_classroom_configuration(github_bundle):
    files = set(bundle_files(github_bundle))
    assert GITHUB_FILES <= files and GITHUB_FILES | STUDENT_FILES == {f for f in files if "/" not in f} | GITHUB_FILES
    assert "python -m assignment.check" in (github_bundle / "README.md").read_text()
    assert ".github/workflows/checks.yml" in (github_bundle / "README.md").read_text()


def test_the_workflow_installs_the_requirements_on_the_bundles_python_and_runs_the_check_command(github_bundle):
    text = (github_bundle / ".github" / "workflows" / "checks.yml").read_text()
    python = tomllib.loads((github_bundle / "pyproject.toml").read_text())["project"]["requires-python"]
    steps = [
        line.strip() for line in text.splitlines() if line.strip().startswith(("- uses:", "run:", "python-version"))
    ]
    assert steps == [
        "- uses: actions/checkout@v4",
        "- uses: actions/setup-python@v5",
        f'python-version: "{python.removeprefix(">=")}"',
        "run: python -m pip install -r requirements.txt",
        f"run: python -m assignment.check {NOTEBOOK_NAME}",
    ]
    assert "\t" not in text and re.search(r"^on: \[push, pull_request, workflow_dispatch\]$", text, re.M)
    assert re.search(r"^jobs:\n  checks:\n    runs-on: ubuntu-latest$", text, re.M)


def test_the_classroom_configuration_has_one_test_per_task_worth_its_points(github_bundle):
    config = json.loads((github_bundle / ".github" / "classroom" / "autograding.json").read_text())
    tests = config["tests"]
    assert [test["name"] for test in tests] == list(checks.TASK_IDS)
    assert sum(test["points"] for test in tests) == 100
    for test in tests:
        assert set(test) == {"name", "setup", "run", "input", "output", "comparison", "timeout", "points"}
        assert test["run"] == f".venv/bin/python -m assignment.check {NOTEBOOK_NAME} --task {test['name']}"
        assert 0 < test["timeout"] <= 60  # minutes
    assert "pip install -q -r requirements.txt" in tests[0]["setup"] and not any(t["setup"] for t in tests[1:])


# -- the bundle as a student installs it -------------------------------------------------------------------

CELL_TIMEOUT = 300


def run(*command, cwd=None):
    subprocess.run(
        [str(part) for part in command],
        check=True,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )


def execute_with_kernel(notebook, kernel, folder):
    from nbclient import NotebookClient

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)
    return notebook


def check_outputs(notebook):
    cells = [c for c in notebook.cells if c.cell_type == "code" and c.id.startswith("check-")]
    return ["".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout") for c in cells]


@pytest.mark.slow
def test_the_bundle_installed_alone_in_a_fresh_venv_runs_its_notebook_stub_and_solved(bundle, tmp_path, monkeypatch):
    """The zip unpacked, ``pip install`` of the bundle (its numpy pin, matplotlib, ipykernel; pip's cache
    reused; JupyterLab left out, the kernel is what runs a notebook) into a venv made without the project,
    a kernel of that venv, and the notebook run from a folder holding nothing else: stub, then solved."""
    started = time.perf_counter()
    with zipfile.ZipFile(bundle.zip_path) as archive:
        archive.extractall(tmp_path / "unpacked")
    unpacked = tmp_path / "unpacked" / bundle.folder.name
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", unpacked)
    run(venv / "bin" / "python", "-m", "ipykernel", "install", "--prefix", tmp_path / "kernels", "--name", "bundle")
    installed = time.perf_counter()
    probe = subprocess.run(
        [venv / "bin" / "python", "-c", "import assignment, numpy; print(assignment.__file__, numpy.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split()
    assert probe[0].startswith(str(venv)) and probe[1] == metadata.version("numpy")
    assert subprocess.run([venv / "bin" / "python", "-c", "import solutions"], cwd=tmp_path).returncode != 0
    assert subprocess.run([venv / "bin" / "python", "-c", "import grader"], cwd=tmp_path).returncode != 0
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "kernels" / "share" / "jupyter"))
    work = tmp_path / "work"
    work.mkdir()

    stub = execute_with_kernel(nbformat.read(unpacked / NOTEBOOK_NAME, as_version=4), "bundle", work)
    outputs = check_outputs(stub)
    assert len(outputs) == len(checks.TASK_IDS)
    assert all(": not implemented yet" in printed for printed in outputs), outputs

    solved = nbformat.read(unpacked / NOTEBOOK_NAME, as_version=4)
    fill_task_cells(solved, {task_id: reference_source(task_id) for task_id in checks.TASK_IDS})
    outputs = check_outputs(execute_with_kernel(solved, "bundle", work))
    assert len(outputs) == len(checks.TASK_IDS)
    assert all(re.match(r"\w+: PASS\n", printed) and "FAIL" not in printed for printed in outputs), outputs
    print(
        f"\nfresh venv: install {installed - started:.0f} s, both notebook runs {time.perf_counter() - installed:.0f} s"
    )


def test_the_bundle_holds_no_copy_of_any_reference_function(bundle):
    from grader.bundles import release

    telling = {
        release._body_key(node) for source in release._reference_sources() for node in release._functions(source)
    }
    assert len(telling - {None}) >= 12  # the nine references and their longer helpers
    assert release.reference_copies(bundle.folder) == []


def test_releasing_the_solved_notebook_by_mistake_is_refused(tmp_path, capsys):
    from grader.solve import solve

    solved = solve(ROOT / "notebooks" / NOTEBOOK_NAME, tmp_path / "solved.ipynb")
    assert main(["release", str(tmp_path / "out"), "--notebook", str(solved)]) == 2
    err = capsys.readouterr().err
    assert "reference code" in err and err.count("\n") == 1
    assert not (tmp_path / "out.zip").exists() and not any((tmp_path / "out").iterdir())


def test_a_reference_reformatted_into_the_package_is_refused(tmp_path, monkeypatch):
    from grader.bundles import BuildError, release

    copy_package = release._copy_package

    def with_a_planted_answer(target):
        copy_package(target)
        source = reference_source("max_pool_backward_naive").replace("    ", "  ")  # other indentation
        (target / "utils.py").write_text("# helpers\n" + source)

    monkeypatch.setattr(release, "_copy_package", with_a_planted_answer)
    with pytest.raises(BuildError, match="utils.py: max_pool_backward_naive"):
        build_release(tmp_path / "out")


def test_the_bundle_promises_the_python_versions_the_pinned_numpy_installs_on(bundle):
    wanted = metadata.metadata("numpy").get("Requires-Python").replace(" ", "")
    project = tomllib.loads((bundle.folder / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == wanted
    assert f"Python {wanted.removeprefix('>=')} or newer" in (bundle.folder / "README.md").read_text()


def test_the_release_command_adds_the_github_files_with_github_and_only_then(tmp_path, capsys):
    assert main(["release", str(tmp_path / "plain")]) == 0
    assert main(["release", str(tmp_path / "repo"), "--github"]) == 0
    assert not (tmp_path / "plain" / ".github").exists()
    assert GITHUB_FILES <= set(bundle_files(tmp_path / "repo"))
    assert capsys.readouterr().err == ""
