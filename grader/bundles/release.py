"""``grader release OUT_DIR``: the student bundle, a folder and a .zip of it.

What it holds (and nothing else: no reference code, no grader, no ``solve``)::

    ConvolutionalNetworks.ipynb   the stub notebook
    assignment/                   the package students import, with its embedded data set, the stored
                                  expected values of the notebook's own (public) checks, and
                                  ``python -m assignment.check``, which runs those checks headless (CI)
    README.md                     install, open the notebook, run the checks, hand in
    requirements.txt              pip install -r requirements.txt (numpy pinned, matplotlib, jupyterlab, .)
    pyproject.toml                the bundle as a distribution: pip install '.[lab]'
    tox.ini                       tox: the checks, as CI runs them

and with ``--github``, for a student repository on GitHub (GitHub Classroom's template)::

    .github/workflows/checks.yml         GitHub Actions: install the requirements, run the checks
    .github/classroom/autograding.json   GitHub Classroom's autograding: one test per task, its points

numpy is pinned to exactly the version the grader runs with (read from the installed distribution at build
time), so the notebook's checks and the grade see the same numpy. A bundle that would hold the body of any
reference function (the solved notebook given by mistake, an answer pasted into the package) is refused.

The bundle is packaged with flit_core, which builds its wheel without writing into the source folder: a
student's ``pip install`` leaves nothing beside the notebook (setuptools left ``build/`` and an ``.egg-info``).
Every file of the folder and the zip is dated the project's last commit (:func:`source_epoch`): real dates,
and the same sources make the same zip, byte for byte.
"""

import ast
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

import assignment
from assignment.tasks import TABLE
from grader.bundles import PROJECT_ROOT, STUB_NOTEBOOK, BuildError, empty_folder, write_zip
from grader.runtime import STUDENT_RUNTIME, exact_pins

NOTEBOOK_NAME = "ConvolutionalNetworks.ipynb"
DISTRIBUTION = "convnet-assignment-student"
# What students need beyond the pinned runtime: figures, a kernel, and Jupyter itself.
NOTEBOOK_REQUIREMENTS = ("matplotlib>=3.6", "ipykernel>=6.0")
JUPYTER_REQUIREMENT = "jupyterlab>=4.0"
PACKAGE_FILES = ("*.py", "checks/*.py", "datasets/*", "public_expected.npz")  # what of assignment/ ships (no caches)
MIN_BODY_CHARACTERS = 120  # a function body shorter than this (a one-line helper) may be given code too
CHECK_COMMAND = f"python -m assignment.check {NOTEBOOK_NAME}"
# GitHub Classroom's time limit of a test, in minutes: the first test also installs the requirements
# (JupyterLab included, about a minute); a task's checks take seconds (assignment.check stops them at 120 s).
CLASSROOM_SETUP_MINUTES, CLASSROOM_TASK_MINUTES = 10, 3


@dataclass(frozen=True)
class Bundle:
    """What ``build_release`` wrote."""

    folder: Path
    """The bundle's folder."""
    zip_path: Path
    """The same files zipped under one top folder named like ``folder``."""
    pins: tuple
    """The exact pins, e.g. ('numpy==2.4.6',)."""


def build_release(out_dir: str | Path, notebook: str | Path | None = None, github: bool = False) -> Bundle:
    """Write the student bundle into ``out_dir`` (new or empty) and ``<out_dir>.zip`` beside it; with
    ``github``, also the GitHub Actions workflow and GitHub Classroom configuration that run its checks."""
    notebook = Path(notebook) if notebook else STUB_NOTEBOOK
    if not notebook.is_file():
        raise BuildError(f"{notebook}: no stub notebook there (run from the project's checkout, or pass --notebook)")
    folder = empty_folder(out_dir)
    pins = tuple(exact_pins(STUDENT_RUNTIME))
    _write_notebook(notebook, folder / NOTEBOOK_NAME)
    _copy_package(folder / "assignment")
    (folder / "README.md").write_text(student_readme(pins, github), encoding="utf-8")
    (folder / "requirements.txt").write_text(requirements_txt(pins), encoding="utf-8")
    (folder / "pyproject.toml").write_text(pyproject_toml(pins), encoding="utf-8")
    (folder / "tox.ini").write_text(TOX_INI, encoding="utf-8")
    if github:
        _write_github_files(folder)
    copied = reference_copies(folder)
    if copied:
        _remove_contents(folder)  # it was new or empty: nothing of the instructor's is lost
        raise BuildError(
            f"the bundle would hold reference code ({copied[0]}); remove it from the assignment "
            f"package or the notebook and release again"
        )
    epoch = source_epoch(notebook) // 2 * 2  # a zip's dates have a resolution of 2 s: the folder's too
    _date_files(folder, epoch)
    zip_path = write_zip(folder, folder.parent / f"{folder.name}.zip", prefix=folder.name, epoch=epoch)
    return Bundle(folder=folder, zip_path=zip_path, pins=pins)


def source_epoch(notebook=STUB_NOTEBOOK):
    """The date every file of the bundle gets (seconds since 1970, UTC): ``SOURCE_DATE_EPOCH`` when set (the
    reproducible-builds convention), else the time of the project's last commit (the same on every clone of
    that commit, so the same sources give the same zip), else, outside a git checkout (an installed grader),
    the newest modification time of the sources it ships: the notebook and the ``assignment`` package."""
    given = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if given.isdigit():
        return int(given)
    try:
        committed = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        committed = ""
    if committed.isdigit():
        return int(committed)
    sources = [Path(notebook), *Path(assignment.__file__).parent.rglob("*")]
    return int(max(path.stat().st_mtime for path in sources if path.is_file()))


def _date_files(folder, epoch):
    """Date every file and folder of the bundle ``epoch`` (files first: writing them dated their folders)."""
    paths = sorted(folder.rglob("*"), key=lambda path: path.is_dir())
    for path in [*paths, folder]:
        os.utime(path, (epoch, epoch))


def _remove_contents(folder):
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _write_notebook(source, target):
    """The stub notebook, read and written by nbformat (so it is valid) with every output cleared."""
    try:
        notebook = nbformat.read(source, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise BuildError(f"{source}: not a readable notebook ({type(exc).__name__})") from None
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, target)


def _copy_package(target):
    source = Path(assignment.__file__).parent
    for pattern in PACKAGE_FILES:
        for path in sorted(source.glob(pattern)):
            if path.is_file():
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


def reference_copies(folder):
    """'file: function' for every function in the bundle's Python files and notebook code cells whose body
    is, statement for statement (formatting and comments aside), the body of a reference function or method
    in ``solutions``: the guard against an answer copied into what students get."""
    references = {_body_key(node) for source in _reference_sources() for node in _functions(source)}
    references.discard(None)
    found = []
    for name, source in _bundle_sources(folder):
        found += [f"{name}: {node.name}" for node in _functions(source) if _body_key(node) in references]
    return found


def _reference_sources():
    import solutions

    return [path.read_text(encoding="utf-8") for path in sorted(Path(solutions.__file__).parent.glob("*.py"))]


def _bundle_sources(folder):
    for path in sorted(folder.rglob("*.py")):
        yield str(path.relative_to(folder)), path.read_text(encoding="utf-8", errors="replace")
    for path in sorted(folder.glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
            if cell.cell_type == "code":
                yield f"{path.name} cell {index}", cell.source


def _functions(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a notebook cell with IPython magics: it defines nothing the grader would read
        return []
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _body_key(function):
    """The body of ``function`` without its docstring, as an AST dump; None when too short to be telling."""
    body = function.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    module = ast.Module(body=body, type_ignores=[])
    return ast.dump(module) if len(ast.unparse(module)) >= MIN_BODY_CHARACTERS else None


def requirements_txt(pins):
    lines = [
        "# pip install -r requirements.txt   (run in this folder; installs the assignment package too)",
        *pins,
        *NOTEBOOK_REQUIREMENTS,
        JUPYTER_REQUIREMENT,
        ".",
    ]
    return "\n".join(lines) + "\n"


def pyproject_toml(pins):
    """The bundle as a distribution. flit_core builds the wheel in a temporary folder: installing the bundle
    writes nothing into it (setuptools wrote build/ and an .egg-info beside the notebook)."""
    dependencies = ", ".join(f'"{requirement}"' for requirement in (*pins, *NOTEBOOK_REQUIREMENTS))
    return f'''[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "{DISTRIBUTION}"
version = "{_version()}"
description = "Convolutional networks in numpy: the student's notebook and the assignment package"
requires-python = "{python_requirement()}"
dependencies = [{dependencies}]

[project.optional-dependencies]
lab = ["{JUPYTER_REQUIREMENT}"]

[tool.flit.module]
name = "assignment"  # with its subpackage checks/, datasets/ and public_expected.npz: all of the folder
'''


TOX_INI = f"""# tox: the notebook's public checks, as CI runs them (tox installs this folder and its pinned numpy).
[tox]
requires = tox>=4
env_list = checks

[testenv:checks]
description = the notebook's public checks: tox -e checks [-- --allow-missing | --task ID | -v]
commands = {CHECK_COMMAND} {{posargs}}
"""


def _write_github_files(folder):
    workflows, classroom = folder / ".github" / "workflows", folder / ".github" / "classroom"
    workflows.mkdir(parents=True)
    classroom.mkdir(parents=True)
    (workflows / "checks.yml").write_text(github_workflow(), encoding="utf-8")
    (classroom / "autograding.json").write_text(classroom_autograding(), encoding="utf-8")


def github_workflow():
    """A GitHub Actions workflow: on every push, the requirements installed on the Python the bundle names,
    then the notebook's public checks; the job fails when a task does not pass."""
    return f"""# The notebook's public checks (those of its check cells) on every push: the job fails until every
# task passes. Locally: {CHECK_COMMAND}
name: checks
on: [push, pull_request, workflow_dispatch]
permissions:
  contents: read
jobs:
  checks:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "{python_requirement().removeprefix(">=")}"
          cache: pip
      - name: Install the requirements (numpy pinned to the grader's)
        run: python -m pip install -r requirements.txt
      - name: Run the notebook's public checks
        run: {CHECK_COMMAND}
"""


def classroom_autograding():
    """GitHub Classroom's autograding configuration (``.github/classroom/autograding.json``): one test per task,
    passed when ``assignment.check --task ID`` exits 0, worth the task's default points (those of the public
    checks: the grade adds hidden cases). The first test makes a venv and installs the requirements into it
    (the runner's system Python refuses pip installs); files persist from one test to the next."""
    venv_python = ".venv/bin/python"
    setup = f"python3 -m venv .venv && {venv_python} -m pip install -q -r requirements.txt"
    tests = [
        {
            "name": task.id,
            "setup": setup if index == 0 else "",
            "run": f"{venv_python} -m assignment.check {NOTEBOOK_NAME} --task {task.id}",
            "input": "",
            "output": "",
            "comparison": "included",
            "timeout": CLASSROOM_SETUP_MINUTES if index == 0 else CLASSROOM_TASK_MINUTES,
            "points": int(task.weight) if float(task.weight).is_integer() else task.weight,
        }
        for index, task in enumerate(TABLE.values())
    ]
    return json.dumps({"tests": tests}, indent=2) + "\n"


def python_requirement():
    """The Python versions the pinned numpy installs on, from its own metadata (numpy 2.3 and later need
    3.11): what the bundle may promise students. Falls back to the project's own floor."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        wanted = metadata("numpy").get("Requires-Python") or ""
    except PackageNotFoundError:
        wanted = ""
    return wanted if re.fullmatch(r">=\d+\.\d+", wanted.replace(" ", "")) else ">=3.10"


def _version():
    from grader import __version__

    return __version__


def student_readme(pins, github=False):
    github_note = (
        "\nIn this repository, `.github/workflows/checks.yml` runs it on every push (the Actions tab shows the\n"
        "lines), and `.github/classroom/autograding.json` gives GitHub Classroom one test per task.\n"
        if github
        else ""
    )
    numpy_pin = next((pin for pin in pins if pin.startswith("numpy==")), "numpy")
    return f"""# Convolutional networks in numpy

You implement, in `{NOTEBOOK_NAME}`, nine functions and classes: naive convolution and max pooling
(forward and backward), a three-layer convnet, spatial batch normalization and spatial group
normalization (forward and backward). The `assignment` package gives you the layers, fast layers,
solver and data you need, and the checks the notebook runs.

## Install (once)

Python {python_requirement().removeprefix(">=")} or newer. In this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
```

(On Windows: `py -m venv .venv` and `.venv\\Scripts\\pip install -r requirements.txt`.) This installs
`{numpy_pin}`, the version your work is graded with, plus matplotlib and JupyterLab. On Colab, upload
this folder and run `!pip install -r requirements.txt` in it.

## Work

```bash
.venv/bin/jupyter lab {NOTEBOOK_NAME}
```

Fill in each cell that raises `NotImplementedError` (between `# YOUR CODE HERE` and
`# END OF YOUR CODE`), then run the check cell right after it: it prints `PASS`, or what is wrong and a
hint. The checks here use the public cases only; your grade also uses hidden cases (other shapes,
strides, padding, groups), so make your code general. Restart the kernel and run all cells before you
hand in.

## Check from a terminal (CI)

```bash
.venv/bin/python -m assignment.check {NOTEBOOK_NAME}
```

runs the same public checks as the notebook's check cells, without Jupyter, and prints one line per task
(`PASS`, `FAIL`, `ERROR`, `TIMEOUT` or `NOT IMPLEMENTED`, with the first problem) and a total. It exits 0
only when every task passes, so a CI job (or `tox -e checks`) fails until then; `--allow-missing` leaves
the tasks you have not started out of the verdict, `--task ID` checks one task, `-v` prints each check
cell's full report. Like the grader, it reads only the notebook's definitions (imports, functions,
classes, constants): a definition that works only after an experiment cell has run fails here too.
{github_note}
## Hand in

`{NOTEBOOK_NAME}`, with your code in it. The grader reads only its definitions (imports,
functions, classes, constants), so what your experiment cells print does not matter.
"""
