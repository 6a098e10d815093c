"""Extraction keeps definitions, drops driver code and magics, and isolates broken cells."""

import ast
from pathlib import Path

import pytest

from grader.discover import Notebook
from grader.extract import extract, imported_names, is_stub, strip_magics
from notebooks import solution_cells, stub_cells


def extracted(*cells):
    return extract([Notebook(path=Path("nb.ipynb"), code_cells=tuple(cells))])


def kept_sources(extraction):
    lines = []
    for cell in extraction.cells:
        source = cell["source"].splitlines()
        for first, last, _ in cell["statements"]:
            lines.extend(source[first - 1 : last])
    return "\n".join(lines)


def test_extraction_keeps_imports_functions_classes_and_constants():
    result = extracted(
        "import numpy as np\nEPS = 1e-5\nDTYPE = np.float32\n\ndef f(x):\n    return x\n\nclass M:\n    pass\n"
    )
    assert {"np", "EPS", "DTYPE", "f", "M"} <= result.defined


def test_extraction_drops_driver_code():
    result = extracted(
        "import numpy as np\nx = np.random.randn(3)\nout = f(x)\nprint(out)\nfor i in range(3):\n    print(i)\n"
    )
    kept = kept_sources(result)
    assert "print" not in kept and "f(x)" not in kept
    assert "x" in result.defined  # np.random.randn is a call of an imported module: a constant


def test_calls_of_notebook_functions_are_not_constants():
    result = extracted("def f():\n    return 1\nmodel = f()\n")
    assert "model" not in result.defined


def test_magics_and_shell_lines_do_not_stop_definitions():
    result = extracted(
        "%matplotlib inline\n!pip install foo\nfiles = !ls\ndef conv_forward_naive(x):\n    %time y = 1\n    return x\n"
    )
    assert "conv_forward_naive" in result.defined


def test_non_python_cell_magics_are_dropped_and_timing_magics_kept():
    assert strip_magics("%%bash\necho hi\n") == ""
    assert "def f" in strip_magics("%%time\ndef f():\n    pass\n")


def test_cell_with_syntax_error_costs_only_what_it_defines():
    result = extracted("def good(x):\n    return x\n", "def bad(x)\n    return x\n")
    assert "good" in result.defined
    assert "bad" in result.syntax_errors and "SyntaxError" in result.syntax_errors["bad"]


def test_a_later_good_definition_replaces_a_broken_one():
    result = extracted("def f(:\n  pass\n", "def f():\n    return 1\n")
    assert "f" not in result.syntax_errors and "f" in result.defined


def test_statement_spans_point_at_original_lines():
    result = extracted("x = compute()\n\n@staticmethod\ndef f():\n    return 1\n")
    (cell,) = result.cells
    assert cell["statements"] == [[3, 5, ["f"]]]


# -- the submission rule: stubs, sources, conflicts ------------------------------------------------------

IMPLEMENTED_CONV = "def conv_forward_naive(x, w, b, conv_param):\n    return x, None\n"
OTHER_CONV = "def conv_forward_naive(x, w, b, conv_param):\n    return w, None\n"
STUB_CONV = (
    "def conv_forward_naive(x, w, b, conv_param):\n    out = None\n    raise NotImplementedError\n    return out\n"
)


def from_notebooks(**notebooks):
    """Extraction of notebooks given as name=cells (a tuple of sources), read in sorted name order."""
    return extract(
        [Notebook(path=Path(f"{name}.ipynb"), code_cells=tuple(cells)) for name, cells in sorted(notebooks.items())]
    )


def loaded_definition(extraction, name):
    """The source of the last kept statement that defines ``name`` (the one the child ends up with)."""
    found = None
    for cell in extraction.cells:
        lines = cell["source"].splitlines()
        for first, last, names in cell["statements"]:
            if name in names:
                found = "\n".join(lines[first - 1 : last])
    return found


def definition(source):
    return ast.parse(source).body[0]


def test_every_stub_of_the_student_notebook_is_recognised_as_a_stub():
    stubs = stub_cells()
    assert len(stubs) == 9
    for task_id, source in stubs.items():
        nodes = [n for n in ast.parse(strip_magics(source)).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert nodes and all(is_stub(node) for node in nodes), task_id


def test_no_reference_solution_is_taken_for_a_stub():
    for source in solution_cells():
        nodes = [n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert nodes and not any(is_stub(node) for node in nodes)


@pytest.mark.parametrize(
    "body",
    [
        "pass",
        '"""Docstring only."""',
        '"""Doc."""\n    pass',
        "...",
        "raise NotImplementedError",
        "x = 1\n    raise NotImplementedError('todo')",
    ],
)
def test_placeholder_bodies_and_unconditional_not_implemented_are_stubs(body):
    assert is_stub(definition(f"def f(x):\n    {body}\n"))


@pytest.mark.parametrize(
    "body",
    [
        "return x",
        "if x:\n        return x\n    raise NotImplementedError",
        "try:\n        raise NotImplementedError\n    except Exception:\n        return 1",
        "raise ValueError('no')",
        "for i in x:\n        yield i\n    raise NotImplementedError",
    ],
)
def test_a_function_that_may_return_or_raises_something_else_is_implemented(body):
    assert not is_stub(definition(f"def f(x):\n    {body}\n"))


def test_a_nested_function_returning_does_not_make_its_outer_stub_implemented():
    assert is_stub(definition("def f(x):\n    def g():\n        return 1\n    raise NotImplementedError\n"))


def test_a_class_is_a_stub_only_when_every_method_is():
    stub = (
        "class M:\n    def __init__(self):\n        raise NotImplementedError\n    def loss(self, X):\n        pass\n"
    )
    half = "class M:\n    def __init__(self):\n        self.params = {}\n    def loss(self, X):\n        raise NotImplementedError\n"
    assert is_stub(definition(stub))
    assert not is_stub(definition(half))
    assert not is_stub(definition("class M:\n    SIZE = 3\n"))


@pytest.mark.parametrize("order", ["stub first", "stub last"])
def test_a_stub_never_overrides_an_implemented_definition_from_another_notebook(order):
    names = ("a", "b") if order == "stub first" else ("b", "a")
    result = from_notebooks(**{names[0]: (STUB_CONV,), names[1]: (IMPLEMENTED_CONV,)})
    assert loaded_definition(result, "conv_forward_naive") == IMPLEMENTED_CONV.strip()
    assert result.sources["conv_forward_naive"] == Path(f"{names[1]}.ipynb")
    assert STUB_CONV.strip() not in kept_sources(result)
    assert not result.conflicts


def test_a_stub_within_the_same_notebook_does_not_override_either():
    result = extracted(IMPLEMENTED_CONV, STUB_CONV)
    assert loaded_definition(result, "conv_forward_naive") == IMPLEMENTED_CONV.strip()


def test_a_name_defined_only_by_stubs_is_still_loaded():
    result = from_notebooks(a=(STUB_CONV,), b=(STUB_CONV,))
    assert "conv_forward_naive" in result.defined
    assert result.sources["conv_forward_naive"] == Path("b.ipynb")


def test_the_solved_notebook_beside_the_untouched_student_notebook_keeps_every_solution():
    stubs, solved = stub_cells(), solution_cells()
    for stub_name, solved_name in (("Untitled", "solved"), ("solved", "zz")):
        result = from_notebooks(**{stub_name: tuple(stubs.values()), solved_name: tuple(solved)})
        for name in (
            "conv_forward_naive",
            "max_pool_backward_naive",
            "ThreeLayerConvNet",
            "spatial_groupnorm_backward",
        ):
            assert result.sources[name] == Path(f"{solved_name}.ipynb"), (stub_name, name)
            assert not is_stub(definition(loaded_definition(result, name)))
        assert not result.conflicts


def test_different_implementations_in_two_notebooks_are_a_conflict_graded_by_the_last_notebook():
    result = from_notebooks(a=(IMPLEMENTED_CONV,), b=(OTHER_CONV,))
    assert loaded_definition(result, "conv_forward_naive") == OTHER_CONV.strip()
    assert result.sources["conv_forward_naive"] == Path("b.ipynb")
    assert result.conflicts == {"conv_forward_naive": (Path("a.ipynb"),)}


def test_the_same_code_in_two_notebooks_or_two_versions_in_one_notebook_are_no_conflict():
    reformatted = "def conv_forward_naive(x, w, b, conv_param):  # mine\n\n    return (x, None)\n"
    assert not from_notebooks(a=(IMPLEMENTED_CONV,), b=(reformatted,)).conflicts
    assert not from_notebooks(a=(IMPLEMENTED_CONV, OTHER_CONV)).conflicts


def test_a_stub_does_not_hide_the_syntax_error_of_an_attempted_definition():
    broken = "def conv_forward_naive(x, w, b, conv_param):\n    return x +\n"
    result = from_notebooks(a=(broken,), b=(STUB_CONV,))
    assert "conv_forward_naive" in result.syntax_errors


def test_an_assignment_or_import_that_defines_the_name_is_an_implementation_a_stub_does_not_override():
    result = from_notebooks(
        a=("def my_conv(x, w, b, conv_param):\n    return x, None\n\nconv_forward_naive = my_conv\n",), b=(STUB_CONV,)
    )
    assert loaded_definition(result, "conv_forward_naive") == "conv_forward_naive = my_conv"
    assert result.sources["conv_forward_naive"] == Path("a.ipynb")


@pytest.mark.parametrize("order", ["broken first", "broken last"])
def test_a_cell_that_does_not_parse_never_takes_the_place_of_a_working_definition(order):
    broken = "def conv_forward_naive(x, w, b, conv_param):\n    return x +\n"
    names = ("a", "b") if order == "broken first" else ("b", "a")
    result = from_notebooks(**{names[0]: (broken,), names[1]: (IMPLEMENTED_CONV,)})
    assert "conv_forward_naive" not in result.syntax_errors
    assert loaded_definition(result, "conv_forward_naive") == IMPLEMENTED_CONV.strip()
    within_one = extracted(IMPLEMENTED_CONV, broken)
    assert "conv_forward_naive" not in within_one.syntax_errors
    assert loaded_definition(within_one, "conv_forward_naive") == IMPLEMENTED_CONV.strip()


def test_a_definition_inside_try_is_an_implementation_a_later_stub_does_not_override():
    guarded = (
        "try:\n"
        + "".join("    " + line + "\n" for line in IMPLEMENTED_CONV.strip().splitlines())
        + "except ImportError:\n    pass\n"
    )
    result = extracted(guarded, STUB_CONV)
    assert "conv_forward_naive" in loaded_definition(result, "conv_forward_naive")
    assert STUB_CONV.strip() not in kept_sources(result)


# A decorator, a metaclass or a base class decides what a definition binds: its body alone does not.
WORKING_DECORATOR = "def use(f):\n    return lambda *args: (args[0], None)\n\n"


@pytest.mark.parametrize("decorator", ["@use", "@functools.lru_cache(None)", "@staticmethod", "@(lambda f: f)"])
@pytest.mark.parametrize("body", ["raise NotImplementedError", "pass", '"""Doc."""'])
def test_a_decorated_function_is_an_implementation_whatever_its_body(decorator, body):
    assert not is_stub(definition(f"{decorator}\ndef f(x):\n    {body}\n"))


@pytest.mark.parametrize(
    "header", ["@dataclass\nclass M:", "class M(metaclass=Meta):", "class M(Base):", "class M(Base, extra=1):"]
)
def test_a_class_with_a_decorator_metaclass_or_base_is_an_implementation_even_with_stub_methods(header):
    assert not is_stub(definition(f"{header}\n    def __init__(self):\n        raise NotImplementedError\n"))


def test_a_class_whose_stub_looking_method_is_decorated_is_an_implementation():
    source = "class M:\n    def __init__(self):\n        pass\n    @use\n    def loss(self, X):\n        raise NotImplementedError\n"
    assert not is_stub(definition(source))


def test_a_plain_or_object_based_class_of_stub_methods_is_still_a_stub():
    for header in ("class M:", "class M():", "class M(object):"):
        assert is_stub(definition(f"{header}\n    def __init__(self):\n        raise NotImplementedError\n")), header


def test_a_later_decorated_definition_with_a_stub_body_is_graded_as_restart_and_run_all_binds_it():
    decorated = (
        WORKING_DECORATOR + "@use\ndef conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n"
    )
    result = extracted(OTHER_CONV, decorated)
    assert loaded_definition(result, "conv_forward_naive").startswith("@use")
    assert not result.conflicts


EVERY_BLOCK = """
import a
import b.c as d
def f():
    import e
    class K:
        import g.h
        def m(self):
            try:
                import i
            except Exception:
                import j
            else:
                import k
            finally:
                import l
    with x:
        import m
    for q in r:
        import n
    else:
        import o
    while 1:
        import p
    if 1:
        import s
    elif 2:
        import t
    else:
        import u
match v:
    case 1:
        import w
    case _:
        import y
async def z():
    async with q:
        import aa
    async for x in y:
        import bb
try:
    pass
except* ValueError:
    import cc
lam = lambda: __import__("not_an_import_statement")
"""


def test_an_import_binds_its_name_in_every_kind_of_block_and_only_an_import_statement_does():
    tree = ast.parse(EVERY_BLOCK)
    every_import = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported_names(tree) == every_import == set("a d e g i j k l m n o p s t u w y aa bb cc".split())
