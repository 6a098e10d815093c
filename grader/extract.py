"""Notebooks -> the definitions to load in the child: imports, functions, classes and constants.

Driver code (experiments, prints, training runs) is dropped, as are IPython magics and shell lines.
Each kept top-level statement is loaded on its own, so a statement that fails costs only what it
defines; definitions are loaded in notebook order, so the last definition of a name wins, as in
Restart & Run All. A cell that does not parse is dropped, and the functions or classes it visibly
defines are reported with its syntax error.
"""
import ast
import re
from dataclasses import dataclass, field

from grader.boundary import MIN_LIMIT, printable

# Cell magics whose body is Python that defines things as usual.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
# Names a constant's value may call: cheap constructors only (anything else is driver code).
_SAFE_BUILTINS = frozenset({"range", "tuple", "list", "dict", "set", "frozenset", "float", "int", "bool", "str", "len"})
_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)
_MAGIC_ASSIGN = re.compile(r"^([ \t]*)[\w., ]+=\s*[!%]")
CELL_ID_LIMIT = MIN_LIMIT  # characters of a cell id shown in a cell's name (nbformat's ids have at most 64)


@dataclass(frozen=True)
class Extraction:
    """The loadable part of a submission."""

    cells: tuple
    """For the child: dicts with 'filename', 'source' and 'statements' ([first_line, last_line, names])."""
    syntax_errors: dict = field(default_factory=dict)
    """Name defined in a cell that does not parse -> a one-line description of the syntax error."""
    defined: frozenset = frozenset()
    """Every name the kept statements define."""


def extract(notebooks):
    """Extract the definitions of every code cell of every notebook, in order."""
    cells, syntax_errors, defined, imported = [], {}, set(), {"np", "numpy", "math"}
    for notebook in notebooks:
        for index, source in enumerate(notebook.code_cells):
            filename = cell_filename(notebook, index)
            tree, source, error = _parse(source)
            if tree is None:
                for name in _DEFINES.findall(source):
                    syntax_errors[name] = f"{filename} line {error.lineno}: SyntaxError: {error.msg}"
                continue
            imported |= _imported_names(tree)
            statements = [node for node in tree.body if _is_definition(node, imported)]
            spans = []
            for node in statements:
                names = sorted(_names_defined(node))
                defined.update(names)
                for name in names:
                    syntax_errors.pop(name, None)  # a later good definition replaces a broken one
                spans.append([_first_line(node), node.end_lineno, names])
            if statements:
                cells.append({"filename": filename, "source": source, "statements": spans})
    return Extraction(cells=tuple(cells), syntax_errors=syntax_errors, defined=frozenset(defined))


def cell_filename(notebook, index):
    """The name the code cell ``index`` (0-based among code cells) goes by in tracebacks and notes, e.g.
    '<ConvolutionalNetworks.ipynb cell 23 (id 4f2a9c1e)>': the cell's index among all the notebook's cells
    (markdown included, 1-based, as Jupyter shows them) and its id, made printable and bounded. A notebook
    read without places (an in-memory one) counts code cells."""
    places = getattr(notebook, "code_cell_places", ())
    place, cell_id = places[index] if index < len(places) else (index + 1, "")
    shown_id = printable(cell_id, CELL_ID_LIMIT) if cell_id else ""
    return f"<{notebook.path.name} cell {place}" + (f" (id {shown_id})>" if shown_id else ">")


def _parse(source):
    """(tree, the source parsed, None) or (None, source, SyntaxError); magics are tried only if needed."""
    try:
        return ast.parse(source), source, None
    except SyntaxError:
        pass
    except ValueError:  # null bytes
        source = source.replace("\0", "")
    cleaned = strip_magics(source)
    try:
        return ast.parse(cleaned), cleaned, None
    except SyntaxError as exc:
        return None, source, exc
    except ValueError as exc:
        return None, source, SyntaxError(str(exc))


def strip_magics(source):
    """Replace IPython magics and shell lines by ``pass`` (same indentation, same line numbers)."""
    lines = source.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    return "\n".join(_strip_line(line) for line in lines)


def _strip_line(line):
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith(("%", "!")) or _MAGIC_ASSIGN.match(line):
        return indent + "pass"
    if stripped.endswith("?") and re.fullmatch(r"[\w.]+\?{1,2}", stripped):
        return indent + "pass"
    return line


def _first_line(node):
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def _is_definition(node, imported):
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return node.value is not None and all(_is_name_target(t) for t in targets) and _is_constant(node.value, imported)
    if isinstance(node, ast.Try):  # e.g. try: import torch / except ImportError: torch = None
        branches = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(isinstance(s, ast.Pass) or _is_definition(s, imported) for s in branches)
    return False


def _is_name_target(target):
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_is_name_target(t) for t in target.elts)


def _is_constant(value, imported):
    """Literals, names, attributes, arithmetic, lambdas, and calls of imported modules' functions."""
    for node in ast.walk(value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call) and not _is_safe_call(node.func, imported):
            return False
    return True


def _is_safe_call(func, imported):
    if isinstance(func, ast.Name):
        return func.id in _SAFE_BUILTINS
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in imported


def _imported_names(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _names_defined(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
