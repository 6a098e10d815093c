"""What a command imports: grading a notebook imports only the grading path, and the command's start (its
help, a usage error) not even that. Each claim runs `grader` in a fresh interpreter, whose module cache holds
only what that command imported."""

import json
import subprocess
import sys
import textwrap

import pytest

from grader.solve import solve
from notebooks import STUB_NOTEBOOK, write_notebook

# What other commands use (writing and rendering notebooks, grading a class, building bundles, reading the
# installed metadata for a JSON report): a `grader grade` that imported them would pay for it on every
# submission (nbformat's validator alone takes a second where JupyterLab is installed beside it).
NOT_FOR_GRADING = (
    "nbformat",
    "jsonschema",
    "nbconvert",
    "bleach",
    "dask",
    "distributed",
    "grader.classroom",
    "packaging",
)
# The grading machinery: the command's start does without it.
GRADING = ("grader.pipeline", "grader.tasks", "grader.sandbox.session", "grader.render")

# Runs `grader ARGV` as the console script does and prints, as its last line, which of the watched modules
# were imported (argparse's --help ends in SystemExit: that is its exit status).
PROBE = textwrap.dedent("""
    import json, sys
    from grader.cli import main
    watched, argv = json.loads(sys.argv[1]), sys.argv[2:]
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    print(json.dumps([name for name in watched if name in sys.modules]))
    sys.exit(status)
""")


# Reads a submission as grading does (grader.pipeline.grade's first stage) and prints the watched modules.
READ_PROBE = textwrap.dedent("""
    import json, sys
    from grader.discover import load_submission
    load_submission(sys.argv[2])
    print(json.dumps([name for name in json.loads(sys.argv[1]) if name in sys.modules]))
""")


def imported(watched, *argv, probe=PROBE):
    """(exit status, the modules of ``watched`` left imported) of `grader ARGV` (or of another ``probe``) in a
    fresh interpreter."""
    finished = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(watched), *argv], capture_output=True, text=True, timeout=300
    )
    assert finished.stdout, finished.stderr[-2000:]
    return finished.returncode, json.loads(finished.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def solved_notebook(tmp_path_factory):
    return solve(STUB_NOTEBOOK, tmp_path_factory.mktemp("solved") / "solved.ipynb")


def test_reading_a_submission_imports_no_notebook_library(tmp_path):
    path = write_notebook(tmp_path, "x = 1\n")
    status, found = imported(["nbformat", "jsonschema"], str(path), probe=READ_PROBE)
    assert status == 0
    assert found == []


@pytest.mark.slow  # grades the solved notebook in the sandbox (a few seconds)
def test_grading_a_notebook_imports_no_notebook_library_class_machinery_or_metadata_reader(solved_notebook):
    status, found = imported(list(NOT_FOR_GRADING), "grade", str(solved_notebook), "-q")
    assert status == 0
    assert found == []


def test_the_help_imports_no_grading_machinery():
    status, found = imported(list(NOT_FOR_GRADING + GRADING), "--help")
    assert status == 0
    assert found == []


@pytest.mark.parametrize(
    "argv",
    [["--tasks", "no_such_task"], ["--json", "/no/such/folder/report.json"], ["--timeout", "soon"]],
    ids=["tasks", "json", "timeout"],
)
def test_a_usage_error_of_grade_imports_no_grading_machinery(tmp_path, argv):
    status, found = imported(list(NOT_FOR_GRADING + GRADING), "grade", str(tmp_path / "x.ipynb"), *argv)
    assert status == 2
    assert found == []
