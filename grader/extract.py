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

from assignment.definitions import (  # the rule is shared with the students' headless checks
    DEFINITIONS,
    PRELUDE_IMPORTS,
    imported_names,
    is_definition,
    is_stub,
    names_defined,
    strip_magics,
)
from grader.boundary import MIN_LIMIT, printable

_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)
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
            names = sorted(names_defined(node))
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
    imported = set(PRELUDE_IMPORTS)
    for notebook in notebooks:
        for index, source in enumerate(notebook.code_cells):
            filename = cell_filename(notebook, index)
            tree, source, error = _parse(source)
            if tree is None:
                yield _Cell(notebook, filename, source, error=error)
                continue
            imported |= imported_names(tree)
            statements = tuple(node for node in tree.body if is_definition(node, imported))
            yield _Cell(notebook, filename, source, statements)


def _implemented_definitions(cells):
    """Name -> [(notebook path, the definition's node or None)] of every kept statement that defines it and is not
    a stub (a function or class: its node; an import or assignment such as ``conv_forward_naive = my_conv``:
    None)."""
    implemented = {}
    for cell in cells:
        for node in cell.statements:
            if not is_stub(node):
                code = node if isinstance(node, DEFINITIONS) else None
                for name in names_defined(node):
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
        graded_path, graded_node = definitions[-1]
        if graded_node is None or all(path == graded_path for path, _ in definitions):
            continue  # one notebook alone: nothing to compare (ast.dump is a tenth of a grading's extraction)
        graded_code = ast.dump(graded_node)
        others = [
            path
            for path, node in definitions
            if node is not None and path != graded_path and ast.dump(node) != graded_code
        ]
        if others:
            conflicts[name] = tuple(dict.fromkeys(others))
    return conflicts


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


def _first_line(node):
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])
