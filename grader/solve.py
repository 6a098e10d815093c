"""``grader solve``: write the reference solutions into a stub notebook's task cells.

Each task's stub cell is found by its metadata tag ``task:<task id>`` or, failing that, by a first
line ``# TASK: <task id>``. The cell keeps its ``# TASK:`` line and gets the reference's source:
the imports and module-level helpers it uses, then ``inspect.getsource`` of the function or
class, so that the solved notebook runs from top to bottom. Instructors use it to try the
notebook; the project's tests use it to execute a notebook that must pass every check.
"""

import ast
import inspect
import warnings
from pathlib import Path

import nbformat

import solutions
from assignment.tasks import TABLE, TASK_IDS
from grader.errors import UsageError

__all__ = ["StubCellNotFound", "UnreadableNotebook", "solve", "fill_task_cells", "find_task_cell", "reference_source"]

TASK_TAG_PREFIX = "task:"
TASK_LINE_PREFIX = "# TASK: "
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class StubCellNotFound(UsageError, LookupError):
    """A task has no stub cell in the notebook."""


class UnreadableNotebook(UsageError, ValueError):
    """The file given as the stub notebook is not a notebook nbformat can read (a one-line message)."""


def solve(notebook_path, output_path):
    """Write a copy of ``notebook_path`` whose stub cells (one per task) hold the reference solutions.

    Parameters
    ----------
    notebook_path : str or os.PathLike
        The stub notebook (e.g. notebooks/ConvolutionalNetworks.ipynb).
    output_path : str or os.PathLike
        Where to write the solved notebook; its folder must exist. May equal notebook_path.

    Returns
    -------
    pathlib.Path
        ``output_path``.

    Raises
    ------
    StubCellNotFound
        A task's stub cell is not in the notebook (nothing is written then).
    UnreadableNotebook
        ``notebook_path`` is not a notebook (nothing is written then).
    """
    notebook = _read(notebook_path)
    sources = {task_id: reference_source(task_id) for task_id in TASK_IDS}
    fill_task_cells(notebook, sources, where=str(notebook_path))
    nbformat.write(notebook, output_path)
    return Path(output_path)


def _read(notebook_path):
    """The notebook at ``notebook_path`` as nbformat 4; UnreadableNotebook if it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about fixable details; only failure matters here
            return nbformat.read(notebook_path, as_version=4)
    except Exception as exc:  # unreadable bytes, not JSON, not a notebook: nbformat raises many kinds
        reason = " ".join(str(exc).split())[:200]
        raise UnreadableNotebook(
            f"{notebook_path} is not a notebook nbformat can read ({type(exc).__name__}: {reason})"
        ) from None


def fill_task_cells(notebook, sources, where="the notebook"):
    """Replace the source of each task's stub cell, keeping its ``# TASK:`` line.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        Changed in place.
    sources : dict of str to str
        Task id -> the code to put under the cell's ``# TASK: <task id>`` line.
    where : str
        Names the notebook in error messages.
    """
    cells = {task_id: find_task_cell(notebook, task_id, where) for task_id in sources}
    for task_id, cell in cells.items():
        cell.source = f"{TASK_LINE_PREFIX}{task_id}\n{sources[task_id].strip()}\n"
        cell.outputs, cell.execution_count = [], None


def find_task_cell(notebook, task_id, where="the notebook"):
    """The code cell tagged ``task:<task_id>``, else the one starting with ``# TASK: <task_id>``."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code_cells:
        if TASK_TAG_PREFIX + task_id in cell.get("metadata", {}).get("tags", []):
            return cell
    for cell in code_cells:
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        if lines and lines[0] == TASK_LINE_PREFIX + task_id:
            return cell
    raise StubCellNotFound(
        f"no stub cell for task {task_id!r} in {where}: expected a code cell tagged "
        f"'{TASK_TAG_PREFIX}{task_id}' or starting with '{TASK_LINE_PREFIX}{task_id}'"
    )


def reference_source(task_id):
    """The reference of ``task_id`` as self-contained cell code.

    The module's imports and top-level helpers (functions, constants) that the reference uses,
    directly or through other helpers, in module order, then the reference itself.
    """
    reference = getattr(solutions, TABLE[task_id].definition)
    module_source = inspect.getsource(inspect.getmodule(reference))
    lines = module_source.splitlines()
    tree = ast.parse(module_source)
    definitions = _top_level_definitions(tree)
    needed = _needed(reference.__name__, definitions)
    used = [node for node in tree.body if _defined_names(node) & needed and node is not definitions[reference.__name__]]
    imports = [_lines(lines, n) for n in used if isinstance(n, (ast.Import, ast.ImportFrom))]
    constants = [_lines(lines, n) for n in used if isinstance(n, (ast.Assign, ast.AnnAssign))]
    functions = [_lines(lines, n) for n in used if isinstance(n, _DEFINITIONS)]
    blocks = ["\n".join(group) for group in (imports, constants) if group]
    blocks += functions + [inspect.getsource(reference).rstrip()]
    return "\n\n\n".join(blocks) + "\n"


def _top_level_definitions(tree):
    """Name -> the top-level statement of the module that defines it (imports included)."""
    return {name: node for node in tree.body for name in _defined_names(node)}


def _defined_names(node):
    if isinstance(node, _DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)} - {"__all__"}
    return set()


def _needed(name, definitions):
    """``name`` and every top-level name it uses, transitively."""
    needed, pending = set(), [name]
    while pending:
        current = pending.pop()
        if current in needed or current not in definitions:
            continue
        needed.add(current)
        node = definitions[current]
        pending.extend(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    return needed


def _lines(lines, node):
    """The full source lines of ``node`` (keeping a trailing comment on its last line)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[first - 1 : node.end_lineno])
