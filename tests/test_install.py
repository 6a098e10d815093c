"""The grader as a user installs it: a wheel of this project in a fresh venv, its ``grader`` command.

Installed from a wheel, the grader, the reference solutions and the stored expectations sit in that venv's
site-packages: under bubblewrap a submission must still find none of them (the sandbox holds numpy, the
worker and a copy of ``assignment`` without ``public_expected.npz``), and the installed command must still
grade a solved notebook 100.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox.launcher import bwrap_works
from notebooks import solution_cells, write_notebook

ROOT = Path(__file__).parent.parent
BWRAP = shutil.which("bwrap")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="needs bubblewrap"),
]
# What a copy of the project leaves out: environments, build output, caches.
NOT_COPIED = (".venv", ".tox", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis")

# Defines conv_forward_naive to look for the references from inside the sandbox: importing them, reading
# solutions/*.py and grader/*.py in every site-packages or dist-packages folder it can find by walking /,
# and any public_expected.npz; it also lists /sandbox/lib. What it found ends up in the exception message,
# so in the JSON report (one message is kept to 300 characters: counts first).
PROBE = r"""
import glob as _glob
import os as _os
import time as _time

_FOUND = []


def _probe():
    imported, candidates, packages, walked, truncated = [], set(), [], 0, False
    for name in ("solutions", "solutions.conv", "grader", "grader.tasks"):
        try:
            __import__(name)
            imported.append(name)
        except BaseException:
            pass
    deadline = _time.monotonic() + 20.0
    for top, dirs, files in _os.walk("/"):
        walked += 1
        if _time.monotonic() > deadline:
            truncated = True
            break
        dirs[:] = [d for d in dirs if _os.path.join(top, d) not in ("/proc", "/sys", "/dev")]
        if top.endswith(("site-packages", "dist-packages")):
            packages.append(top)
        if "public_expected.npz" in files:
            candidates.add(_os.path.join(top, "public_expected.npz"))
        if _os.path.basename(top) in ("solutions", "grader"):
            candidates.update(_os.path.join(top, f) for f in files if f.endswith(".py"))
    for folder in packages:
        for pattern in ("solutions/*.py", "grader/*.py", "grader/*/*.py", "assignment/public_expected.npz"):
            candidates.update(_glob.glob(_os.path.join(folder, pattern)))
    readable = []
    for path in sorted(candidates):
        try:
            with open(path, "rb") as handle:
                if handle.read(16):
                    readable.append(path)
        except OSError:
            pass
    try:
        lib = ",".join(sorted(_os.listdir("/sandbox/lib")))
    except OSError as exc:
        lib = type(exc).__name__
    return (f"imported={len(imported)} readable={len(readable)} packages={len(packages)} walked={walked} "
            f"truncated={int(truncated)} lib={lib} found={','.join(imported + readable)}")


def conv_forward_naive(x, w, b, conv_param):
    if not _FOUND:
        _FOUND.append(_probe())
    raise RuntimeError("PROBE " + _FOUND[0])
"""


def run(command, **kwargs):
    finished = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600, **kwargs)
    assert finished.returncode == 0, (command, finished.stdout[-2000:], finished.stderr[-3000:])
    return finished


@pytest.fixture(scope="module")
def grader_command(tmp_path_factory):
    """The ``grader`` console script of a fresh venv holding a (non-editable) wheel of this project."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_COPIED))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source])
    [wheel] = (base / "dist").glob("*.whl")
    run([sys.executable, "-m", "venv", base / "venv"])
    python = base / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", wheel])
    # Installed, not linked: the venv's grader and solutions are files of its own site-packages.
    located = run([python, "-I", "-c", "import grader, solutions; print(grader.__file__); print(solutions.__file__)"])
    for line in located.stdout.split():
        assert "site-packages" in line and not Path(line).resolve().is_relative_to(ROOT.resolve()), line
    return base / "venv" / "bin" / "grader"


def test_the_installed_grader_grades_a_solved_notebook_100(grader_command, tmp_path):
    solved = tmp_path / "solved.ipynb"
    run([grader_command, "solve", ROOT / "notebooks" / "ConvolutionalNetworks.ipynb", "-o", solved], cwd=tmp_path)
    run([grader_command, "grade", solved, "--json", tmp_path / "report.json", "-q"], cwd=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert "bubblewrap" in report["isolation"]
    assert report["score"] == pytest.approx(100.0), [(t["id"], t["score"]) for t in report["tasks"]]


def test_a_submission_graded_by_the_installed_grader_finds_no_reference_in_the_sandbox(grader_command, tmp_path):
    notebook = write_notebook(tmp_path, *solution_cells(), PROBE)
    run(
        [
            grader_command,
            "grade",
            notebook,
            "--tasks",
            "conv_forward_naive,conv_backward_naive",
            "--json",
            tmp_path / "report.json",
            "-q",
        ],
        cwd=tmp_path,
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert "bubblewrap" in report["isolation"]
    attacked, neighbour = report["tasks"]
    messages = [check["message"] for check in attacked["checks"] if "PROBE " in check["message"]]
    assert messages, [check["message"] for check in attacked["checks"]]
    probe = messages[0].split("PROBE ", 1)[1]
    fields = dict(item.split("=", 1) for item in probe.split(" (at ")[0].split(" ") if "=" in item)
    assert fields["imported"] == "0" and fields["readable"] == "0", probe
    assert int(fields["packages"]) > 0 and int(fields["walked"]) > 100 and fields["truncated"] == "0", probe
    assert set(fields["lib"].split(",")) <= {"numpy", "numpy.libs"}, probe
    assert attacked["score"] == 0.0
    assert neighbour["score"] == pytest.approx(neighbour["max_score"]), neighbour
