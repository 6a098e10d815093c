"""Notebooks -> the definitions to load in the child: imports, functions, classes and constants.

Driver code (experiments, prints, training runs) is dropped, as are IPython magics and shell lines.
Each kept top-level statement is loaded on its own, so a statement that fails costs only what it
defines. A cell that does not parse is dropped, and the functions or classes it visibly defines are
reported with its syntax error, unless another cell implements them: a cell that does not parse defines
nothing in Jupyter either, so it never takes the place of a working definition, before or after it.

Which definition of a name is graded (the submission rule; the README says the same):

- Definitions are loaded in notebook order (the notebooks of a folder sorted by path, see
  :mod:`grader.discover`), then cell order, so the last definition of a name wins, as in Restart & Run All.
- A **stub never overrides an implemented definition** (any other statement that defines the name). A
  stub is an undecorated function whose body unconditionally raises ``NotImplementedError`` (a top-level
  ``raise NotImplementedError`` that no earlier statement of the body can return before), or whose body is
  only a docstring, ``pass`` or ``...``; or a class without decorator, keyword or base (``object`` aside)
  whose every method is such a stub: a decorator or a metaclass decides what gets bound, not the body. When a name has an implemented definition anywhere in the submission, its stubs are not
  loaded at all, whatever their order (a solved notebook beside an untouched copy of the stub grades as
  the solved one). A name defined only by stubs is graded as written (it raises: "not implemented yet").
- **Conflicts**: when two notebooks hold different implemented definitions of one name (compared as code:
  comments and layout do not count), the last one in that order is graded and :attr:`Extraction.conflicts`
  names every notebook that held one, so the report can say which was graded.
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
    sources: dict = field(default_factory=dict)
    """Name -> path of the notebook whose definition of it is loaded last: the one graded."""
    conflicts: dict = field(default_factory=dict)
    """Name -> paths of the other notebooks holding a different implemented definition of it (not graded)."""


@dataclass(frozen=True)
class _Cell:
    """One parsed code cell: its kept top-level statements, or the syntax error that dropped it."""

    notebook: object
    """The :class:`grader.discover.Notebook` it belongs to."""
    filename: str
    source: str
    statements: tuple = ()
    """The top-level statements that define something (ast nodes), in order."""
    error: SyntaxError = None


def extract(notebooks):
    """Extract the definitions of every code cell of every notebook, in order, by the rule of this module's
    docstring: the last definition of a name wins, except that a stub never overrides an implemented one."""
    cells = list(_parsed_cells(notebooks))
    implemented = _implemented_definitions(cells)
    kept, syntax_errors, defined, sources = [], {}, set(), {}
    for cell in cells:
        if cell.error is not None:
            for name in _DEFINES.findall(cell.source):
                if name not in implemented:  # a broken cell never takes the place of a working definition
                    syntax_errors[name] = f"{cell.filename} line {cell.error.lineno}: SyntaxError: {cell.error.msg}"
            continue
        spans = []
        for node in cell.statements:
            stub = is_stub(node)
            if stub and node.name in implemented:
                continue  # a stub never overrides an implemented definition, before or after it
            names = sorted(_names_defined(node))
            defined.update(names)
            for name in names:
                sources[name] = cell.notebook.path
                if not stub:
                    syntax_errors.pop(name, None)  # a later good definition replaces a broken one
            spans.append([_first_line(node), node.end_lineno, names])
        if spans:
            kept.append({"filename": cell.filename, "source": cell.source, "statements": spans})
    return Extraction(
        cells=tuple(kept),
        syntax_errors=syntax_errors,
        defined=frozenset(defined),
        sources=sources,
        conflicts=_conflicts(implemented),
    )


def _parsed_cells(notebooks):
    """A :class:`_Cell` per code cell of every notebook, in order."""
    imported = {"np", "numpy", "math"}
    for notebook in notebooks:
        for index, source in enumerate(notebook.code_cells):
            filename = cell_filename(notebook, index)
            tree, source, error = _parse(source)
            if tree is None:
                yield _Cell(notebook, filename, source, error=error)
                continue
            imported |= _imported_names(tree)
            statements = tuple(node for node in tree.body if _is_definition(node, imported))
            yield _Cell(notebook, filename, source, statements)


def _implemented_definitions(cells):
    """Name -> [(notebook path, the definition as code)] of every kept statement that defines it and is not a
    stub (a function or class, or an import or assignment such as ``conv_forward_naive = my_conv``)."""
    implemented = {}
    for cell in cells:
        for node in cell.statements:
            if not is_stub(node):
                code = ast.dump(node) if isinstance(node, _DEFINITIONS) else None
                for name in _names_defined(node):
                    implemented.setdefault(name, []).append((cell.notebook.path, code))
    return implemented


def _conflicts(implemented):
    """Name -> the notebooks, other than the graded one's, holding a different implemented function or class.

    The graded definition is the last one; another notebook's function or class conflicts when its code
    differs (ast.dump: comments and layout do not count). Several definitions within one notebook are no
    conflict: the later one wins, as in Restart & Run All. Imports and constants are not compared.
    """
    conflicts = {}
    for name, definitions in implemented.items():
        graded_path, graded_code = definitions[-1]
        if graded_code is None:
            continue
        others = [
            path for path, code in definitions if code is not None and path != graded_path and code != graded_code
        ]
        if others:
            conflicts[name] = tuple(dict.fromkeys(others))
    return conflicts


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_stub(node):
    """Whether a top-level definition is still the notebook's stub (this module's docstring has the rule).

    A function is a stub when its body is only a docstring, ``pass`` or ``...``, or when it reaches a
    top-level ``raise NotImplementedError`` unconditionally (no earlier statement of the body holds a
    ``return`` or ``yield``); a class, when it defines methods and every one of them is a stub. Anything
    else (assignments, imports, a function that may return first) is an implementation.

    The rule judges what the statement binds, not only the body it shows: a decorator can return a
    working function whatever the body, and a metaclass, a class keyword or a base class (other than
    ``object``) can supply or replace methods. So a decorated function or method, and a class with a
    decorator, a keyword or a base, are implementations (Restart & Run All would use them).
    """
    if isinstance(node, ast.ClassDef):
        if node.decorator_list or node.keywords or not _only_object_bases(node):
            return False
        methods = [item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return bool(methods) and all(_is_stub_function(method) for method in methods)
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_stub_function(node)


def _only_object_bases(node):
    """``class M:``, ``class M():`` or ``class M(object):``: nothing inherited can change what is bound."""
    return all(isinstance(base, ast.Name) and base.id == "object" for base in node.bases)


def _is_stub_function(node):
    if node.decorator_list:  # the decorator's result is bound, not this body
        return False
    if all(_is_placeholder(statement) for statement in node.body):
        return True
    for statement in node.body:
        if _raises_not_implemented(statement):
            return True
        if _may_leave(statement):
            return False
    return False


def _is_placeholder(statement):
    """``pass``, a docstring or ``...``."""
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and (isinstance(statement.value.value, str) or statement.value.value is ...)
    )


def _raises_not_implemented(statement):
    """``raise NotImplementedError`` or ``raise NotImplementedError(...)``."""
    if not isinstance(statement, ast.Raise) or statement.exc is None:
        return False
    exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _may_leave(statement):
    """Whether a statement of a function's body may return (or yield) from it: a return or yield anywhere
    in it, nested functions, lambdas and classes aside."""
    stack = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, (*_DEFINITIONS, ast.Lambda)):
            continue  # a nested function's return leaves that function only
        stack.extend(ast.iter_child_nodes(node))
    return False


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
        return (
            node.value is not None and all(_is_name_target(t) for t in targets) and _is_constant(node.value, imported)
        )
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
    """The module-level names a kept top-level statement binds: a function's or class's name, an import's,
    an assignment's targets, and those of the definitions and imports inside a compound statement
    (``try: def conv_forward_naive...``), but not the local names inside a function or class body."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    names, pending = set(), [node]
    while pending:
        current = pending.pop()
        if current is not node and isinstance(
            current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
        ):
            names |= _names_defined(current)
        elif isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            names.add(current.id)
        elif not isinstance(current, ast.Lambda):
            pending.extend(ast.iter_child_nodes(current))
    return names
