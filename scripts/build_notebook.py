"""Build notebooks/ConvolutionalNetworks.ipynb from its source, notebooks/ConvolutionalNetworks.py.

The source is the notebook in jupytext's percent format: Jupyter (with jupytext), VS Code and PyCharm
open and run it as a notebook, and a diff shows which cell changed. Each cell starts with a marker line
giving its type, its id and (for the nine stub cells) its tags::

    # %% [markdown] id="conv-forward-intro"
    # # 1. Convolution: the naive forward pass      <- markdown: "# " before each line, "#" if blank
    # ...

    # %% id="task-conv-forward-naive" tags=["task:conv_forward_naive"]
    # TASK: conv_forward_naive                      <- code: as it is in the notebook
    import numpy as np

This script reads only that subset (no titles, no other metadata, no raw cells, no header) and turns
the id in each marker into the cell's id; jupytext alone would keep it as metadata and give the cells
random ids. Blank lines between cells are dropped. The notebook's metadata is KERNELSPEC below.
tests/test_notebook.py checks that the committed notebook equals this script's output.

Usage: python scripts/build_notebook.py [--check]
  (no option) write the notebook; --check: exit 1 if the committed notebook differs.
"""

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PATH = ROOT / "notebooks" / "ConvolutionalNetworks.py"
NOTEBOOK_PATH = ROOT / "notebooks" / "ConvolutionalNetworks.ipynb"
NBFORMAT_MINOR = 5  # 4.5: the first minor version with cell ids
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
# '# %% [markdown] id="intro" tags=["a", "b"]': the cell type, then key=value pairs whose values are JSON.
MARKER = re.compile(r"# %%(?P<markdown> \[markdown\])?(?P<options>.*)")
OPTION_KEY = re.compile(r" +(\w+)=")


class SourceError(ValueError):
    """The source is not in the subset of the percent format this script reads."""

    def __init__(self, line_number, message):
        super().__init__(f"{SOURCE_PATH.name}, line {line_number}: {message}")


def read_cells(text):
    """The cells of a percent-format text, in order; blank lines around each cell are dropped."""
    cells, lines = [], text.splitlines()
    if lines and not lines[0].startswith("# %%"):
        raise SourceError(1, "the source must start with a '# %%' cell marker")
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")] + [len(lines)]
    for start, end in zip(starts, starts[1:]):
        cells.append(_cell(start + 1, lines[start], lines[start + 1 : end]))
    return cells


def _cell(line_number, marker, body):
    match = MARKER.fullmatch(marker)
    options = _options(line_number, match["options"])
    if "id" not in options or set(options) - {"id", "tags"}:
        raise SourceError(line_number, f'a marker gives id="..." and optionally tags=[...]: {marker!r}')
    if match["markdown"]:
        body = [_uncomment(line_number + offset, line) for offset, line in enumerate(body, start=1)]
        cell = nbformat.v4.new_markdown_cell("\n".join(body).strip("\n"), id=options["id"])
    else:
        cell = nbformat.v4.new_code_cell("\n".join(body).strip("\n"), id=options["id"])
    if "tags" in options:
        cell.metadata["tags"] = options["tags"]
    return cell


def _options(line_number, text):
    """' id="intro" tags=["a", "b"]' -> {'id': 'intro', 'tags': ['a', 'b']}."""
    options, position, decoder = {}, 0, json.JSONDecoder()
    while position < len(text):
        key = OPTION_KEY.match(text, position)
        try:
            if not key:
                raise ValueError("not key=value")
            options[key[1]], position = decoder.raw_decode(text, key.end())
        except ValueError:
            raise SourceError(line_number, f"not a cell marker this script reads: '# %%{text}'") from None
    return options


def _uncomment(line_number, line):
    """A markdown line: '# text' -> 'text', '#' -> ''; a blank line stays blank (between cells)."""
    if line in ("", "#"):
        return ""
    if not line.startswith("# "):
        raise SourceError(line_number, f"a markdown line starts with '# ': {line!r}")
    return line[2:]


def build():
    """The notebook, as an nbformat 4.5 NotebookNode without outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat_minor = NBFORMAT_MINOR
    notebook.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    notebook.cells = read_cells(SOURCE_PATH.read_text(encoding="utf-8"))
    ids = [cell.id for cell in notebook.cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"cell ids must be unique; repeated: {duplicates}")
    nbformat.validate(notebook)
    return notebook


def render():
    """The notebook's file text."""
    return nbformat.writes(build()) + "\n"


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["--check"]:
        current = NOTEBOOK_PATH.read_text(encoding="utf-8") if NOTEBOOK_PATH.exists() else ""
        if current != text:
            print(f"{NOTEBOOK_PATH} is out of date: run python scripts/build_notebook.py")
            return 1
        return 0
    if args:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    NOTEBOOK_PATH.parent.mkdir(parents=True, exist_ok=True)
    NOTEBOOK_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK_PATH} ({len(build().cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
