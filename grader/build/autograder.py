"""``grader autograder OUT.zip``: a Gradescope autograder in their documented layout.

The zip's root::

    setup.sh            run once by Gradescope (Ubuntu, root, internet): python3 venv, bubblewrap where
                        apt has it, the exact pins, then the grader from its wheel; `grader` on PATH
    run_autograder      run per submission: grades $AUTOGRADER_ROOT/submission, always writes results.json
    grader.toml         the configuration graded with (weights, limits, Gradescope visibility)
    requirements.txt    the grader's runtime dependencies pinned to exactly the versions installed here
    dist/*.whl          this project (grader, references, assignment) as a wheel built now
"""
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.build import PROJECT_ROOT, BuildError, write_zip
from grader.config import Config, config_toml
from grader.runtime import exact_pins, runtime_requirements

RUN_AUTOGRADER = Path(__file__).with_name("run_autograder.py")
VENV = "/opt/convnet-grader"  # where setup.sh installs the grader on Gradescope's image
WHEEL_BUILD_SECONDS = 600

SETUP_SH = r"""#!/usr/bin/env bash
# Run once by Gradescope, as root, when it builds the autograder's image (the only step with internet).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV=__VENV__
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip
# The sandbox for student code; where it cannot be installed (or cannot start in the container) the
# grader runs with weak isolation and says so in every report.
apt-get install -y -q bubblewrap || echo "setup.sh: bubblewrap not installed: weak isolation" >&2
python3 --version
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Exactly the versions the grader was built and tested with (numpy above all: its API changes between
# versions change grades). A python3 too old for these pins fails here, loudly.
# One resolve: the pins, and the wheel (whose own requirements the pins satisfy; a dependency for
# another Python, such as tomli on 3.10, is added by pip).
"$VENV/bin/python" -m pip install -q -r "$SOURCE/requirements.txt" "$SOURCE"/dist/*.whl
ln -sf "$VENV/bin/grader" /usr/local/bin/grader
chmod +x "$SOURCE/run_autograder"
grader --version
""".replace("__VENV__", VENV)


@dataclass(frozen=True)
class Autograder:
    """What ``build_autograder`` wrote."""

    zip_path: Path
    pins: tuple
    """'name==version' of every runtime dependency, numpy included."""
    wheel: str
    """The wheel's file name inside the zip (under dist/)."""


def build_autograder(zip_path, config=None, project=PROJECT_ROOT):
    """Write the autograder zip to ``zip_path``, grading with ``config`` (the defaults when None)."""
    config = config or Config()
    if config.data_dir is not None:
        raise BuildError(f"data_dir = {str(config.data_dir)!r} names a folder on this machine; the autograder "
                         "grades on the embedded digits: leave data_dir out of its config")
    zip_path = Path(zip_path)
    if not zip_path.parent.is_dir():
        raise BuildError(f"{zip_path.parent}: no such folder")
    pins = tuple(exact_pins(runtime_requirements()))
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        folder = Path(scratch) / "autograder"
        (folder / "dist").mkdir(parents=True)
        wheel = build_wheel(project, folder / "dist")
        _write(folder / "setup.sh", SETUP_SH, executable=True)
        _write(folder / "run_autograder", RUN_AUTOGRADER.read_text(encoding="utf-8"), executable=True)
        _write(folder / "grader.toml", config_toml(config))
        _write(folder / "requirements.txt", "\n".join(pins) + "\n")
        write_zip(folder, zip_path)
    return Autograder(zip_path=zip_path, pins=pins, wheel=wheel.name)


def build_wheel(project, out_dir):
    """This project as a wheel in ``out_dir`` (pip's own build, as `pip install .` would make it)."""
    if not (Path(project) / "pyproject.toml").is_file():
        raise BuildError(f"{project}: not the project's checkout (no pyproject.toml); run from a clone")
    with tempfile.TemporaryDirectory(prefix="wheel-build-") as build_copy:
        source = Path(build_copy) / "project"
        shutil.copytree(project, source, ignore=_not_packaged(Path(project)))
        command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out_dir), str(source)]
        try:
            finished = subprocess.run(command, capture_output=True, text=True, timeout=WHEEL_BUILD_SECONDS)
        except subprocess.TimeoutExpired:
            raise BuildError(f"building the grader's wheel took over {WHEEL_BUILD_SECONDS} s") from None
    wheels = sorted(Path(out_dir).glob("*.whl"))
    if finished.returncode != 0 or len(wheels) != 1:
        last = (finished.stderr.strip().splitlines() or ["no message"])[-1]
        raise BuildError(f"building the grader's wheel failed: {last}")
    return wheels[0]


# What a wheel build does not need from the checkout: environments, build output, caches, tests.
NOT_COPIED_AT_TOP = {".git", ".venv", ".tox", "build", "dist", "tests", "benchmarks", "notebooks", ".pytest_cache",
                     ".hypothesis"}


def _not_packaged(project):
    """copytree's ignore: NOT_COPIED_AT_TOP in the project's top folder only (grader/build is a package),
    caches and egg-info anywhere."""
    def ignored(folder, names):
        top = Path(folder) == project
        return {name for name in names
                if (top and name in NOT_COPIED_AT_TOP) or name == "__pycache__" or name.endswith(".egg-info")}
    return ignored


def _write(path, text, executable=False):
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)
