"""Submission path -> the notebooks to grade, read and checked.

What a submission is (the README says the same): ``grader grade PATH`` grades ONE submission, either one
notebook, or a folder holding that submission's notebooks (every ``.ipynb`` under it, checkpoints aside),
read in sorted path order. Their definitions are pooled; which one of a task is graded when several
notebooks define it (a stub never overrides an implemented definition; between two different implemented
ones, the last in that order is graded and the report notes the conflict) is decided in
:mod:`grader.extract`, and the report says which notebook each task's definition came from.
"""
import json
import warnings
from dataclasses import dataclass
from pathlib import Path


MAX_NOTEBOOK_BYTES = 200 << 20  # stored outputs can be large; beyond this a file is not a notebook we grade


class SubmissionError(Exception):
    """The submission cannot be read at all (exit status 2, one line, no traceback)."""


@dataclass(frozen=True)
class Notebook:
    """One notebook of a submission."""

    path: Path
    """Where it was read from."""
    code_cells: tuple
    """Source of every code cell, in order (outputs are never read)."""
    code_cell_places: tuple = ()
    """Where each code cell is, parallel to code_cells: (its 1-based index among all the notebook's cells,
    markdown included, as Jupyter shows them; its cell id, the notebook's own text, or "")."""


def find_notebooks(path):
    """The ``.ipynb`` files of a submission: the file itself, or every notebook under a folder, sorted by path
    (the order in which their definitions are loaded, see :mod:`grader.extract`)."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".ipynb":
            raise SubmissionError(f"{path} is not a notebook (.ipynb)")
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
        if not found:
            raise SubmissionError(f"no notebook (.ipynb) found in {path}")
        return found
    raise SubmissionError(f"{path} does not exist")


def read_notebook(path):
    """Read a notebook's code cells; any nbformat version nbformat can upgrade is accepted."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path} is not a notebook: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise SubmissionError(f"{path} is not a notebook: no nbformat version")
    _drop_outputs(data)
    import nbformat  # here, not at the top: the grader's start (its usage errors, --help) does without it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises many kinds for a broken file
        raise SubmissionError(f"{path} is not a notebook nbformat can read ({type(exc).__name__}: {exc})") from None
    cells = notebook.get("cells", [])
    if not isinstance(cells, list):
        raise SubmissionError(f"{path} is not a notebook: its cells are not a list")
    code = [(index, cell) for index, cell in enumerate(cells, start=1)
            if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    return Notebook(path=path, code_cells=tuple(_source(cell) for _, cell in code),
                    code_cell_places=tuple((index, _cell_id(cell)) for index, cell in code))


def _drop_outputs(data):
    """Stored outputs are never graded; dropping them first keeps huge ones cheap."""
    cells = data.get("cells", [])
    for worksheet in data.get("worksheets", []) if isinstance(data.get("worksheets"), list) else []:
        if isinstance(worksheet, dict) and isinstance(worksheet.get("cells"), list):
            cells = list(cells) + worksheet["cells"]
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and "outputs" in cell:
            cell["outputs"] = []


def _source(cell):
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    return str(source)


def _cell_id(cell):
    """The cell's id (nbformat 4.5 and later) as the notebook holds it, or "" (student text: never printed as is)."""
    cell_id = cell.get("id", "")
    return cell_id if type(cell_id) is str else ""


def load_submission(path):
    """Read every notebook of a submission: (notebooks, notes on the ones skipped).

    A folder may hold an unreadable notebook beside good ones: it is skipped with a note. Raises
    :class:`SubmissionError` when no notebook can be read.
    """
    notebooks, notes = [], []
    for notebook_path in find_notebooks(path):
        try:
            notebooks.append(read_notebook(notebook_path))
        except SubmissionError as exc:
            notes.append(f"skipped: {exc}")
    if not notebooks:
        raise SubmissionError(notes[0].removeprefix("skipped: ") if len(notes) == 1 else "; ".join(notes))
    return notebooks, notes
