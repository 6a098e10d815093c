"""The sandbox's stage carries the bytecode of the modules the template imports, so that it starts without
compiling them, and never at the cost of running anything but the staged sources."""

import os
import subprocess
import sys

import pytest

from grader.sandbox.confine import remove_tree
from grader.sandbox.supervisor import stage_directory


@pytest.fixture
def stage():
    folder = stage_directory()
    yield folder
    remove_tree(str(folder))


def imports(stage, *modules):
    """What python -v says of importing ``modules`` from the stage as the template does (-I -S -B)."""
    code = f"import sys; sys.path[:0] = [{str(stage)!r}, {str(stage / 'lib')!r}]; " + "; ".join(
        f"import {module}" for module in modules
    )
    result = subprocess.run(
        [os.path.realpath(sys.executable), "-I", "-S", "-B", "-v", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def from_bytecode(log, stage, module):
    """Whether python -v's ``log`` says ``module`` (a path in the stage without .py) came from its staged bytecode."""
    folder, _, name = f"{stage}/{module}".rpartition("/")
    return f"# code object from '{folder}/__pycache__/{name}.{sys.implementation.cache_tag}.pyc'" in log


def test_the_template_imports_the_staged_modules_from_their_bytecode(stage):
    log = imports(stage, "protocol", "confine", "assignment.layers", "assignment.checks", "assignment.gradient_check")
    for module in (
        "protocol",
        "confine",
        "assignment/layers",
        "assignment/checks/__init__",
        "assignment/gradient_check",
    ):
        assert from_bytecode(log, stage, module), module


def test_a_staged_module_whose_source_changed_is_compiled_from_its_source(stage):
    for module in ("assignment/layers", "assignment/gradient_check"):  # an interpreter's cached file, and the grader's
        source = stage / f"{module}.py"
        source.write_text(source.read_text() + "\nEDITED = True\n")
    log = imports(stage, "assignment.layers", "assignment.gradient_check")
    assert not from_bytecode(log, stage, "assignment/layers") and not from_bytecode(
        log, stage, "assignment/gradient_check"
    )
    assert f"# code object from {stage}/assignment/layers.py" in log
