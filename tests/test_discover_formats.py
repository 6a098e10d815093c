"""The notebook formats the grader reads itself (grader.discover.READ_FORMATS): nbformat 4, and IPython's 3 and
2 flattened as nbformat's upgrade flattens them; only cells' types, sources and ids are read, and what is
read but is not what a notebook holds is a one-line SubmissionError, never a traceback."""

import json
import time

import pytest

from grader.discover import SubmissionError, load_submission, read_notebook

SOURCE = "def f(x):\n    return x\n"


def code(source, **fields):
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **fields}


def markdown(source, **fields):
    return {"cell_type": "markdown", "metadata": {}, "source": source, **fields}


def v4(cells, minor=5, **fields):
    return {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": cells, **fields}


def worksheets(version, *sheets):
    """An nbformat 2 or 3 notebook whose worksheets hold ``sheets`` (lists of cells)."""
    return {"nbformat": version, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": s} for s in sheets]}


def old_code(source):
    """A code cell of nbformat 2 and 3: its source is its 'input'."""
    return {"cell_type": "code", "input": source, "outputs": [], "language": "python", "collapsed": False}


def read(tmp_path, data):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(data))
    return read_notebook(path)


def test_code_cells_are_read_in_order_with_their_place_among_all_cells_and_their_own_ids(tmp_path):
    notebook = read(tmp_path, v4([markdown("# t", id="m"), code(SOURCE, id="a"), code(["x = 1\n", "y = 2"], id="b")]))
    assert notebook.code_cells == (SOURCE, "x = 1\ny = 2")
    assert notebook.code_cell_places == ((2, "a"), (3, "b"))


def test_an_id_is_the_notebooks_own_text_or_empty_never_one_made_up(tmp_path):
    cells = [code("a = 1"), code("b = 2", id="same"), code("c = 3", id="same"), code("d = 4", id=7)]
    notebook = read(tmp_path, v4(cells))
    assert [cell_id for _, cell_id in notebook.code_cell_places] == ["", "same", "same", ""]


def test_what_the_grader_does_not_read_is_not_checked(tmp_path):
    cells = [{"cell_type": "raw", "source": 5}, {"cell_type": ["odd"]}, {"cell_type": "code", "source": SOURCE}]
    notebook = read(tmp_path, {"nbformat": 4, "nbformat_minor": "any", "metadata": [], "cells": cells})
    assert notebook.code_cells == (SOURCE,) and notebook.code_cell_places == ((3, ""),)


def test_a_code_cell_without_a_source_is_empty(tmp_path):
    assert read(tmp_path, v4([{"cell_type": "code"}])).code_cells == ("",)


@pytest.mark.parametrize("version", [3, 2])
def test_worksheets_of_ipython_notebooks_are_flattened_and_code_is_their_input(tmp_path, version):
    heading = {"cell_type": "heading", "level": 1, "source": "Title", "metadata": {}}
    data = worksheets(version, [heading, old_code(SOURCE)], [old_code(["a = 1\n", "b = 2"])])
    notebook = read(tmp_path, data)
    assert notebook.code_cells == (SOURCE, "a = 1\nb = 2")
    assert notebook.code_cell_places == ((2, ""), (3, ""))


@pytest.mark.parametrize("version", [1, 5, 0, -1])
def test_a_format_not_read_is_refused_naming_it_and_what_jupyter_saves(tmp_path, version):
    with pytest.raises(SubmissionError, match=f"nbformat {version}, which the grader does not read") as refused:
        read(tmp_path, {"nbformat": version, "cells": [code(SOURCE)]})
    assert "Jupyter saves nbformat 4" in str(refused.value)


STRANGE = {
    "a list": [code(SOURCE)],
    "no version": {"cells": []},
    "a version that is true": {"nbformat": True, "cells": []},
    "a version that is text": {"nbformat": "4", "cells": []},
    "a version that is a float": {"nbformat": 4.0, "cells": []},
    "no cells": {"nbformat": 4, "nbformat_minor": 5},
    "cells that are text": v4("cells"),
    "cells that are an object": v4({"0": code(SOURCE)}),
    "no worksheets": {"nbformat": 3, "nbformat_minor": 0},
    "worksheets that are text": {"nbformat": 3, "worksheets": "sheet"},
    "a worksheet that is a number": {"nbformat": 3, "worksheets": [1]},
    "a worksheet without cells": {"nbformat": 3, "worksheets": [{}]},
}


@pytest.mark.parametrize("data", STRANGE.values(), ids=STRANGE.keys())
def test_a_strange_notebook_is_a_one_line_reason(tmp_path, data):
    with pytest.raises(SubmissionError, match="n.ipynb is not a notebook") as refused:
        read(tmp_path, data)
    assert "\n" not in str(refused.value)


BAD_CELLS = {
    "a cell that is a number": (v4([code(SOURCE), 1]), 2, "it is not a JSON object"),
    "a cell that is null": (v4([None, code(SOURCE)]), 1, "it is not a JSON object"),
    "a source that is a number": (v4([code(42), code(SOURCE)]), 1, "its source is not text"),
    "a source that is an object": (v4([code(SOURCE), code({"text": SOURCE})]), 2, "its source is not text"),
    "a source of lines that are not text": (v4([code(["a = 1\n", 2]), code(SOURCE)]), 1, "its source is not text"),
    "an input that is a number": (worksheets(3, [old_code(3)], [old_code(SOURCE)]), 1, "its source is not text"),
}


@pytest.mark.parametrize("data, index, why", BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_a_cell_that_cannot_be_read_costs_itself_only_and_is_named(tmp_path, data, index, why):
    notebook = read(tmp_path, data)
    assert notebook.code_cells == (SOURCE,)
    assert len(notebook.skipped) == 1 and notebook.skipped[0].endswith(f"cell {index} was skipped: {why}")


def test_the_skipped_cells_are_the_submissions_notes(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(v4([code(SOURCE), None])))
    notebooks, notes = load_submission(path)
    assert notebooks[0].code_cells == (SOURCE,) and notes == [f"{path}: cell 2 was skipped: it is not a JSON object"]


def test_many_worksheets_are_read_in_linear_time(tmp_path):
    data = {"nbformat": 3, "worksheets": [{"cells": [{}]} for _ in range(100_000)]}
    started = time.process_time()
    assert read(tmp_path, data).code_cells == ()
    assert time.process_time() - started < 5  # ~0.3 s; the square of 100,000 copies took minutes
