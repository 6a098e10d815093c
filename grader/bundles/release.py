"""``grader release OUT_DIR``: the student bundle, a folder and a .zip of it.

What it holds (and nothing else: no reference code, no grader, no ``solve``)::

    ConvolutionalNetworks.ipynb   the stub notebook
    assignment/                   the package students import, with its embedded data set and the stored
                                  expected values of the notebook's own (public) checks
    README.md                     install, open the notebook, run the checks, hand in
    requirements.txt              pip install -r requirements.txt (numpy pinned, matplotlib, jupyterlab, .)
    pyproject.toml                the bundle as a distribution: pip install '.[lab]'

numpy is pinned to exactly the version the grader runs with (read from the installed distribution at build
time), so the notebook's checks and the grade see the same numpy. A bundle that would hold the body of any
reference function (the solved notebook given by mistake, an answer pasted into the package) is refused.
"""

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

import assignment
from grader.bundles import STUB_NOTEBOOK, BuildError, empty_folder, write_zip
from grader.runtime import STUDENT_RUNTIME, exact_pins

NOTEBOOK_NAME = "ConvolutionalNetworks.ipynb"
DISTRIBUTION = "convnet-assignment-student"
# What students need beyond the pinned runtime: figures, a kernel, and Jupyter itself.
NOTEBOOK_REQUIREMENTS = ("matplotlib>=3.6", "ipykernel>=6.0")
JUPYTER_REQUIREMENT = "jupyterlab>=4.0"
PACKAGE_FILES = ("*.py", "checks/*.py", "datasets/*", "public_expected.npz")  # what of assignment/ ships (no caches)
MIN_BODY_CHARACTERS = 120  # a function body shorter than this (a one-line helper) may be given code too


@dataclass(frozen=True)
class Bundle:
    """What ``build_release`` wrote."""

    folder: Path
    """The bundle's folder."""
    zip_path: Path
    """The same files zipped under one top folder named like ``folder``."""
    pins: tuple
    """The exact pins, e.g. ('numpy==2.4.6',)."""


def build_release(out_dir: str | Path, notebook: str | Path | None = None) -> Bundle:
    """Write the student bundle into ``out_dir`` (new or empty) and ``<out_dir>.zip`` beside it."""
    notebook = Path(notebook) if notebook else STUB_NOTEBOOK
    if not notebook.is_file():
        raise BuildError(f"{notebook}: no stub notebook there (run from the project's checkout, or pass --notebook)")
    folder = empty_folder(out_dir)
    pins = tuple(exact_pins(STUDENT_RUNTIME))
    _write_notebook(notebook, folder / NOTEBOOK_NAME)
    _copy_package(folder / "assignment")
    (folder / "README.md").write_text(student_readme(pins), encoding="utf-8")
    (folder / "requirements.txt").write_text(requirements_txt(pins), encoding="utf-8")
    (folder / "pyproject.toml").write_text(pyproject_toml(pins), encoding="utf-8")
    copied = reference_copies(folder)
    if copied:
        _remove_contents(folder)  # it was new or empty: nothing of the instructor's is lost
        raise BuildError(
            f"the bundle would hold reference code ({copied[0]}); remove it from the assignment "
            f"package or the notebook and release again"
        )
    zip_path = write_zip(folder, folder.parent / f"{folder.name}.zip", prefix=folder.name)
    return Bundle(folder=folder, zip_path=zip_path, pins=pins)


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
    dependencies = ", ".join(f'"{requirement}"' for requirement in (*pins, *NOTEBOOK_REQUIREMENTS))
    return f'''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "{_version()}"
description = "Convolutional networks in numpy: the student's notebook and the assignment package"
requires-python = "{python_requirement()}"
dependencies = [{dependencies}]

[project.optional-dependencies]
lab = ["{JUPYTER_REQUIREMENT}"]

[tool.setuptools]
packages = ["assignment", "assignment.checks"]

[tool.setuptools.package-data]
assignment = ["datasets/*", "public_expected.npz"]
'''


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


def student_readme(pins):
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

## Hand in

`{NOTEBOOK_NAME}`, with your code in it. The grader reads only its definitions (imports,
functions, classes, constants), so what your experiment cells print does not matter.
"""
