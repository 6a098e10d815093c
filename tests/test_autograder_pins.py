"""The autograder's pins and the Python they need: the floor is the highest Requires-Python among the pins,
setup.sh stops on an older python3 in one line that names the base image to pick, and the pins hold what
grading imports and nothing of the instructor's environment besides."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from grader.bundles import BuildError
from grader.bundles.autograder import setup_sh
from grader.bundles.pins import (
    GRADESCOPE_IMAGES,
    NOT_FOR_GRADING,
    PythonFloor,
    base_image,
    grading_pins,
    grading_requirements,
    not_applying_here,
    python_floor,
)

# -- the floor, on fake metadata ---------------------------------------------------------------------------


def test_the_floor_is_the_highest_requires_python_and_names_the_pins_that_set_it():
    floor = python_floor({"a==1": ">=3.9", "numpy==2.4.6": ">=3.11", "b==2": None, "c==3": ">=3.10,<4"})
    assert floor.version == Version("3.11") and floor.needed_by == ("numpy==2.4.6",)
    assert str(floor) == "3.11" and floor.full == "3.11.0"


def test_a_floor_set_by_a_micro_version_is_shown_with_it():
    floor = python_floor({"soupsieve==4.1.4": ">=3.11.5", "numpy==2.4.6": ">=3.11"})
    assert floor.version == Version("3.11.5") and floor.needed_by == ("soupsieve==4.1.4",)
    assert str(floor) == "3.11.5" and floor.full == "3.11.5"


def test_two_pins_with_the_same_floor_are_both_named():
    floor = python_floor({"numpy==2.4.6": ">=3.11", "hypothesis==6.170.27": "~=3.11", "x==1": ">=3.8"})
    assert floor.version == Version("3.11") and floor.needed_by == ("hypothesis==6.170.27", "numpy==2.4.6")


def test_an_excluded_version_moves_the_floor_past_it():
    assert python_floor({"a==1": ">=3.10,!=3.10.0,!=3.10.1"}).version == Version("3.10.2")


def test_pins_without_any_requires_python_have_the_lowest_floor():
    floor = python_floor({"a==1": None, "b==2": ""})
    assert floor.version == Version("3.0") and floor.needed_by == ()


@pytest.mark.parametrize(
    "requirements",
    [{"a==1": ">=3.12", "b==2": "<3.11"}, {"a==1": "3.11 or newer"}],
    ids=["no-python-fits", "not-a-specifier"],
)
def test_pins_that_no_python_satisfies_are_refused_in_one_line(requirements):
    with pytest.raises(BuildError) as raised:
        python_floor(requirements)
    assert "\n" not in str(raised.value) and "a==1" in str(raised.value)


@pytest.mark.parametrize(
    ("floor", "image"),
    [("3.8", "Ubuntu 22.04"), ("3.10", "Ubuntu 22.04"), ("3.11", "Ubuntu 24.04"), ("3.12", "Ubuntu 24.04")],
)
def test_the_base_image_is_the_oldest_whose_python3_meets_the_floor(floor, image):
    assert base_image(PythonFloor(Version(floor), ("x==1",)))[0] == image


def test_a_floor_above_every_base_image_is_refused_at_build_time():
    newest = GRADESCOPE_IMAGES[-1][1]
    with pytest.raises(BuildError, match="newer than the python3 of every Gradescope base image"):
        base_image(PythonFloor(Version(f"{newest.major}.{newest.minor + 1}"), ("numpy==9.0",)))


# -- setup.sh's check, with a fake python3 -----------------------------------------------------------------

NUMPY_FLOOR = PythonFloor(Version("3.11"), ("hypothesis==6.170.27", "numpy==2.4.6"))


def run_setup(tmp_path, python_version):
    """setup.sh for NUMPY_FLOOR, run with a python3 on PATH that reports ``python_version``; apt-get and pip
    fail loudly, so nothing is installed whatever the check does."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text(f"#!/bin/sh\necho {python_version}\n")
    for tool in ("apt-get", "pip", "ln", "chown", "chmod"):
        (fake_bin / tool).write_text(f"#!/bin/sh\necho 'fake {tool} called' >&2\nexit 97\n")
    for tool in fake_bin.iterdir():
        tool.chmod(0o755)
    script = tmp_path / "setup.sh"
    script.write_text(setup_sh(NUMPY_FLOOR))
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("old", ["3.10.12", "3.8.10", "3.9.2"])
def test_setup_stops_on_an_older_python3_in_one_line_naming_the_python_and_the_image(tmp_path, old):
    finished = run_setup(tmp_path, old)
    assert finished.returncode == 1 and finished.stdout == ""
    assert finished.stderr.count("\n") == 1, finished.stderr
    line = finished.stderr.strip()
    assert line.startswith("setup.sh: this autograder needs Python >= 3.11 (hypothesis==6.170.27, numpy==2.4.6)")
    assert f"python3 here is {old}" in line and "Ubuntu 24.04 base image (python3 3.12)" in line


@pytest.mark.parametrize("good", ["3.11.0", "3.11.2", "3.12.3", "3.13.1"])
def test_setup_goes_past_the_check_on_a_python3_at_or_above_the_floor(tmp_path, good):
    finished = run_setup(tmp_path, good)
    assert "this autograder needs" not in finished.stderr
    assert "fake apt-get called" in finished.stderr  # the next step ran (and was stopped by the fake)


# -- what is pinned ----------------------------------------------------------------------------------------


def test_the_pins_hold_what_grading_requires_and_not_the_feedback_renderers():
    names = {Requirement(pin).name for pin in grading_pins(grading_requirements())}
    assert {"numpy", "nbformat", "hypothesis", "packaging", "sortedcontainers", "jsonschema", "traitlets"} <= names
    assert not names & {"nbconvert", "bleach", "tornado", "pyzmq", "jupyter-client", "mistune", "jinja2"}
    assert set(NOT_FOR_GRADING) == {"nbconvert", "bleach"}


def test_a_requirement_for_another_python_is_kept_as_declared():
    requirements = [Requirement("numpy>=1.23"), Requirement('tomli>=1.1; python_version < "3.0"')]
    assert not_applying_here(requirements) == ['tomli>=1.1; python_version < "3.0"']
    assert [pin.split("==")[0] for pin in grading_pins(requirements)] == ["numpy"]


# Records every distribution whose modules are imported while `grader grade` runs, beyond what the
# interpreter had loaded before the grader was imported (a .pth hook of setuptools, say).
IMPORTS_PROBE = textwrap.dedent("""
    import json, sys
    from importlib import metadata
    before = set(sys.modules)
    from grader.cli import main
    status = main(sys.argv[1:])
    owners = metadata.packages_distributions()
    used = {dist for name in set(sys.modules) - before for dist in owners.get(name.partition(".")[0], ())}
    print(json.dumps(sorted(used)))
    sys.exit(status)
""")


@pytest.mark.slow  # grades the solved notebook's conv and groupnorm tasks in a subprocess (~5 s)
def test_every_distribution_grader_grade_imports_is_pinned(tmp_path, solved_notebook_path):
    command = [
        sys.executable,
        "-c",
        IMPORTS_PROBE,
        "grade",
        str(solved_notebook_path),
        "-q",
        "--tasks",
        "conv_forward_naive,spatial_groupnorm_forward",
        "--gradescope",
        str(tmp_path / "results.json"),
    ]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""}
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    used = {Requirement(name).name.lower().replace("_", "-") for name in json.loads(finished.stdout.splitlines()[-1])}
    pinned = {Requirement(pin).name for pin in grading_pins(grading_requirements())}
    assert used - {"convnet-assignment"} <= pinned, used - pinned
    # numpy always; packaging for the report's runtime versions. nbformat no longer (the grader reads a
    # notebook itself) and hypothesis only where the disk cache holds no examples yet: both stay pinned, for
    # the cache's warm-up (it writes a notebook, and searches) and for shrinking a failing property.
    assert {"numpy", "packaging"} <= used and "nbformat" not in used


@pytest.fixture(scope="module")
def solved_notebook_path(tmp_path_factory):
    from grader.bundles import STUB_NOTEBOOK
    from grader.solve import solve

    return solve(STUB_NOTEBOOK, tmp_path_factory.mktemp("solved") / "solved.ipynb")
