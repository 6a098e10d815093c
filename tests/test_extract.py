"""Extraction keeps definitions, drops driver code and magics, and isolates broken cells."""
from pathlib import Path

from grader.discover import Notebook
from grader.extract import extract, strip_magics


def extracted(*cells):
    return extract([Notebook(path=Path("nb.ipynb"), code_cells=tuple(cells))])


def kept_sources(extraction):
    lines = []
    for cell in extraction.cells:
        source = cell["source"].splitlines()
        for first, last, _ in cell["statements"]:
            lines.extend(source[first - 1:last])
    return "\n".join(lines)


def test_extraction_keeps_imports_functions_classes_and_constants():
    result = extracted("import numpy as np\nEPS = 1e-5\nDTYPE = np.float32\n\ndef f(x):\n    return x\n\nclass M:\n    pass\n")
    assert {"np", "EPS", "DTYPE", "f", "M"} <= result.defined


def test_extraction_drops_driver_code():
    result = extracted("import numpy as np\nx = np.random.randn(3)\nout = f(x)\nprint(out)\nfor i in range(3):\n    print(i)\n")
    kept = kept_sources(result)
    assert "print" not in kept and "f(x)" not in kept
    assert "x" in result.defined  # np.random.randn is a call of an imported module: a constant


def test_calls_of_notebook_functions_are_not_constants():
    result = extracted("def f():\n    return 1\nmodel = f()\n")
    assert "model" not in result.defined


def test_magics_and_shell_lines_do_not_stop_definitions():
    result = extracted("%matplotlib inline\n!pip install foo\nfiles = !ls\ndef conv_forward_naive(x):\n    %time y = 1\n    return x\n")
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
