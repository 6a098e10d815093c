"""Which top-level statements of a notebook's cells are definitions, and which definitions are stubs: the one
rule the grader (``grader/extract.py``) and the students' headless checks (``assignment/check.py``) both load
by. It ships with the assignment, since the students' bundle has no grader.

A definition is an import, a function, a class, or an assignment of a constant to names (literals, names,
arithmetic, lambdas, and calls of imported modules' functions or of cheap constructors); a ``try`` whose
branches hold only those. Anything else is driver code (experiments, prints, training runs) and is not
loaded. IPython magics and shell lines are read as ``pass``. The stub rule is :func:`is_stub`'s.
"""

import ast
import re

# Modules a notebook uses without importing them in a cell the grader reads (the notebook's setup cell).
PRELUDE_IMPORTS = frozenset({"np", "numpy", "math"})
# Cell magics whose body is Python that defines things as usual.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
# Names a constant's value may call: cheap constructors only (anything else is driver code).
_SAFE_BUILTINS = frozenset({"range", "tuple", "list", "dict", "set", "frozenset", "float", "int", "bool", "str", "len"})
_MAGIC_ASSIGN = re.compile(r"^[ \t]*[\w., ]+=\s*[!%]")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


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


def is_definition(node, imported):
    """Whether a top-level statement is a definition (see the module docstring); ``imported``: the names of the
    modules imported so far, whose functions a constant's value may call."""
    if isinstance(node, (ast.Import, ast.ImportFrom, *DEFINITIONS)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return (
            node.value is not None and all(_is_name_target(t) for t in targets) and _is_constant(node.value, imported)
        )
    if isinstance(node, ast.Try):  # e.g. try: import torch / except ImportError: torch = None
        branches = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(isinstance(s, ast.Pass) or is_definition(s, imported) for s in branches)
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


def imported_names(tree):
    """The names that a module's ``import`` statements bind (``import a.b as c``: c; ``import a.b``: a),
    wherever they are (in a function, a class, a ``try``...)."""
    names, pending = set(), [tree]
    while pending:  # statements within statements only: an expression holds no statement
        node = pending.pop()
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        for field in _STATEMENT_LISTS:
            pending.extend(getattr(node, field, ()))
    return names


# The fields of a node that hold statements (a body, an else or finally block, except handlers and match
# cases, whose own bodies hold statements).
_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def names_defined(node):
    """The module-level names a kept top-level statement binds: a function's or class's name, an import's,
    an assignment's targets, and those of the definitions and imports inside a compound statement
    (``try: def conv_forward_naive...``), but not the local names inside a function or class body."""
    if isinstance(node, DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    names, pending = set(), [node]
    while pending:
        current = pending.pop()
        if current is not node and isinstance(current, (*DEFINITIONS, ast.Import, ast.ImportFrom)):
            names |= names_defined(current)
        elif isinstance(current, ast.Name) and isinstance(current.ctx, ast.Store):
            names.add(current.id)
        elif not isinstance(current, ast.Lambda):
            pending.extend(ast.iter_child_nodes(current))
    return names


def is_stub(node):
    """Whether a top-level definition is still the notebook's stub.

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
        if isinstance(node, (*DEFINITIONS, ast.Lambda)):
            continue  # a nested function's return leaves that function only
        stack.extend(ast.iter_child_nodes(node))
    return False
