"""The grader's structure as the README states it: no import cycle, and one trust boundary."""

import ast
from pathlib import Path

GRADER = Path(__file__).parent.parent / "grader"
# Run inside the sandbox (the stage's copies), never by the grader: they speak the protocol from the child's side.
CHILD_SIDE = {"grader.sandbox.worker", "grader.sandbox.protocol", "grader.sandbox.confine"}


def _modules():
    """Dotted name -> parsed source of every module of the grader package."""
    found = {}
    for path in GRADER.rglob("*.py"):
        parts = path.relative_to(GRADER.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text())
    return found


def _imports(tree, modules):
    """The grader modules ``tree`` imports, at module level or in a function body (both run)."""
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "grader":
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                targets.add(inner if inner in modules else node.module)
    return targets


def _cycle(graph):
    """One import cycle of ``graph`` as a list of modules, or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def _parents(name):
    """The packages whose __init__ runs first when ``name`` is imported: grader.sandbox.protocol ->
    grader.sandbox, grader."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _edges(name, tree, modules):
    """What importing ``name`` runs: what it imports, and the packages of those (a package importing its
    own modules, as a registry does, is no cycle: its __init__ is already running)."""
    targets = _imports(tree, modules)
    for target in set(targets):
        targets |= {package for package in _parents(target) if package not in _parents(name) | {name}}
    return targets - {name}


def test_no_grader_module_imports_one_that_imports_it_back():
    modules = _modules()
    graph = {name: _edges(name, tree, modules) for name, tree in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_boundary_reads_frames_and_decodes_replies_on_the_graders_side():
    readers = set()
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("read_frame", "decode")
                and isinstance(node.value, ast.Name)
                and node.value.id == "protocol"
            ):
                readers.add(name)
    assert readers - CHILD_SIDE == {"grader.boundary"}


def test_the_boundary_imports_nothing_of_the_grader_but_the_protocols_decoder():
    modules = _modules()
    assert _imports(modules["grader.boundary"], modules) == {"grader.sandbox.protocol"}
    assert _imports(modules["grader.sandbox.protocol"], modules) == set()
