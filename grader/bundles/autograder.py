"""``grader autograder OUT.zip``: a Gradescope autograder in their documented layout.

The zip's root::

    setup.sh            run once by Gradescope (Ubuntu, root, internet): stops in one line if python3 is
                        older than the pins need (naming the base image to pick); python3 venv, bubblewrap
                        where apt has it, the exact pins, then the grader from its wheel without its
                        dependencies; `grader` on PATH; the autograder's files and the references root's only;
                        the grader's disk cache filled (the image keeps it for every submission)
    run_autograder      run per submission: grades $AUTOGRADER_ROOT/submission, always writes results.json
    grader.toml         the configuration graded with (weights, limits, Gradescope visibility)
    requirements.txt    what grading imports, and what that requires, pinned to the versions installed here
    dist/*.whl          this project (grader, references, assignment) as a wheel built now
"""

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader.bundles import PROJECT_ROOT, BuildError, write_zip
from grader.bundles.pins import (
    base_image,
    grading_pins,
    grading_requirements,
    not_applying_here,
    python_floor,
    requires_python,
)
from grader.bundles.run_autograder import CACHE_DIR
from grader.config import Config, config_toml
from grader.runtime import DISTRIBUTION

RUN_AUTOGRADER = Path(__file__).with_name("run_autograder.py")
VENV = "/opt/convnet-grader"  # where setup.sh installs the grader on Gradescope's image
WHEEL_BUILD_SECONDS = 600

SETUP_SH = r"""#!/usr/bin/env bash
# Run once by Gradescope, as root, when it builds the autograder's image (the only step with internet).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV=__VENV__
# The oldest Python every pin in requirements.txt installs on (the highest Requires-Python among them),
# computed when the zip was built; a python3 older than this stops here, in one line that says so,
# instead of in pip's "No matching distribution found" for whichever pin it tries first.
PYTHON_FLOOR=__FLOOR__
require_python() {
    local found
    found="$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" || found=""
    if [ -z "$found" ] || ! printf '%s\n%s\n' "$PYTHON_FLOOR" "$found" | sort -V -C; then
        echo "setup.sh: this autograder needs Python >= __FLOOR_SHOWN__ (__NEEDED_BY__) but python3 here is ${found:-missing}: choose the __IMAGE__ base image (python3 __IMAGE_PYTHON__) in Configure Autograder" >&2
        exit 1
    fi
}
if command -v python3 >/dev/null 2>&1; then require_python; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip
require_python
# The sandbox for student code; where it cannot be installed (or cannot start in the container) the
# grader runs student code as an unprivileged user instead, and says so in the instructor's report.
apt-get install -y -q bubblewrap || echo "setup.sh: bubblewrap not installed" >&2
python3 --version
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Exactly the versions the grader was built and tested with (numpy above all: its API changes between
# versions change grades): what grading imports and what that requires, nothing else.
"$VENV/bin/python" -m pip install -q -r "$SOURCE/requirements.txt"
# The grader itself without its declared dependencies: those grading needs are pinned above, and the
# others (nbconvert, bleach: the class feedback's renderers) are imported by nothing grading runs.
"$VENV/bin/python" -m pip install -q --no-deps "$SOURCE"/dist/*.whl
ln -sf "$VENV/bin/grader" /usr/local/bin/grader
chmod +x "$SOURCE/run_autograder"
# Defence in depth for the sandbox (student code runs as another, unprivileged user): the autograder's
# files and the reference solutions are readable by root alone. run_autograder does the same for
# results/ on every run.
chown -R root:root "$SOURCE" && chmod 0700 "$SOURCE"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
chown -R root:root "$SITE/solutions" && chmod 0700 "$SITE/solutions"
# What every grading computes alike (the reference's overfit run, the properties' examples), computed once
# here by grading the reference solutions with grader.toml: the image keeps it for every submission's
# container, where run_autograder points the grader at it. Root's alone; without it grades are the same.
mkdir -p __CACHE__ && chmod 0700 __CACHE__
GRADER_CACHE_DIR=__CACHE__ "$VENV/bin/python" -I -m grader.cache --config "$SOURCE/grader.toml" \
    || echo "setup.sh: the grader's cache was not filled: every submission computes it (slower, same grades)" >&2
grader --version
"""


def setup_sh(floor):
    """setup.sh's text for pins whose Python floor is ``floor`` (a :class:`grader.bundles.pins.PythonFloor`)."""
    image, image_python = base_image(floor)
    values = {
        "__VENV__": VENV,
        "__CACHE__": CACHE_DIR,
        "__FLOOR__": floor.full,
        "__FLOOR_SHOWN__": str(floor),
        "__NEEDED_BY__": ", ".join(floor.needed_by) or "its pins",
        "__IMAGE__": image,
        "__IMAGE_PYTHON__": str(image_python),
    }
    text = SETUP_SH
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


@dataclass(frozen=True)
class Autograder:
    """What ``build_autograder`` wrote."""

    zip_path: Path
    pins: tuple
    """'name==version' of what grading imports and everything it requires, numpy included (grader.bundles.pins);
    requirements.txt holds them and any requirement whose marker does not hold here, as declared."""
    python_floor: object
    """The oldest Python the pins install on (a :class:`grader.bundles.pins.PythonFloor`), checked by setup.sh."""
    wheel: str
    """The wheel's file name inside the zip (under dist/)."""


def build_autograder(zip_path: str | Path, config: Config | None = None, project: Path = PROJECT_ROOT) -> Autograder:
    """Write the autograder zip to ``zip_path``, grading with ``config`` (the defaults when None)."""
    config = config or Config()
    if config.data_dir is not None:
        raise BuildError(
            f"data_dir = {str(config.data_dir)!r} names a folder on this machine; the autograder "
            "grades on the embedded digits: leave data_dir out of its config"
        )
    zip_path = Path(zip_path)
    if not zip_path.parent.is_dir():
        raise BuildError(f"{zip_path.parent}: no such folder")
    requirements = grading_requirements()
    pins = tuple(grading_pins(requirements))
    floor = python_floor(requires_python(pins) | _own_requires_python())
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        folder = Path(scratch) / "autograder"
        (folder / "dist").mkdir(parents=True)
        wheel = build_wheel(project, folder / "dist")
        _write(folder / "setup.sh", setup_sh(floor), executable=True)
        _write(folder / "run_autograder", RUN_AUTOGRADER.read_text(encoding="utf-8"), executable=True)
        _write(folder / "grader.toml", config_toml(config))
        _write(folder / "requirements.txt", "\n".join(pins + tuple(not_applying_here(requirements))) + "\n")
        write_zip(folder, zip_path)
    return Autograder(zip_path=zip_path, pins=pins, python_floor=floor, wheel=wheel.name)


def _own_requires_python():
    """{'convnet-assignment==0.1.0': '>=3.10'}: the wheel's own Requires-Python, from the installed project."""
    return {f"{DISTRIBUTION}=={metadata.version(DISTRIBUTION)}": metadata.metadata(DISTRIBUTION).get("Requires-Python")}


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
NOT_COPIED_AT_TOP = {
    ".git",
    ".venv",
    ".tox",
    "build",
    "dist",
    "tests",
    "benchmarks",
    "notebooks",
    ".pytest_cache",
    ".hypothesis",
}


def _not_packaged(project):
    """copytree's ignore: NOT_COPIED_AT_TOP in the project's top folder only (grader/bundles is a package),
    caches and egg-info anywhere."""

    def ignored(folder, names):
        top = Path(folder) == project
        return {
            name
            for name in names
            if (top and name in NOT_COPIED_AT_TOP) or name == "__pycache__" or name.endswith(".egg-info")
        }

    return ignored


def _write(path, text, executable=False):
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755 if executable else 0o644)
