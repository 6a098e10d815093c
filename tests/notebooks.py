"""Small factories for notebooks built in memory, the reference solutions as notebook cells, and reports made
comparable."""

import json
from pathlib import Path

import nbformat

import solutions
from grader import render

SOLUTION_MODULES = ("conv.py", "pool.py", "convnet.py", "normalization.py")


def make_notebook(*cells):
    """An nbformat 4.5 notebook whose code cells are ``cells`` (strings), in order."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return notebook


def write_notebook(folder, *cells, name="submission.ipynb"):
    path = Path(folder) / name
    nbformat.write(make_notebook(*cells), path)
    return path


def solution_cells():
    """The reference solutions, one module per cell, as a student who copied them would hand in."""
    root = Path(solutions.__file__).parent
    return [(root / name).read_text() for name in SOLUTION_MODULES]


STUB_NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"


def stub_cells():
    """Task id -> the student notebook's untouched stub cell of that task (its cell starts '# TASK: id')."""
    cells = nbformat.read(STUB_NOTEBOOK, as_version=4).cells
    return {
        cell.source.split("\n", 1)[0].removeprefix("# TASK:").strip(): cell.source
        for cell in cells
        if cell.cell_type == "code" and cell.source.startswith("# TASK:")
    }


def comparable(report):
    """A report as JSON, timing figures aside (the speed checks' messages); seconds are not in it."""
    data = render.to_json(report)
    for task in data["tasks"]:
        for check in task["checks"]:
            if check["name"].startswith("speed"):
                check["message"] = "<timing>"
    return json.dumps(data, sort_keys=True)
