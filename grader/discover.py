"""Submission path -> the notebooks to grade, read and checked.

What a submission is (the README says the same): ``grader grade PATH`` grades ONE submission, either one
notebook, or a folder holding that submission's notebooks (every ``.ipynb`` under it, checkpoints aside),
read in sorted path order. Their definitions are pooled; which one of a task is graded when several
notebooks define it (a stub never overrides an implemented definition; between two different implemented
ones, the last in that order is graded and the report notes the conflict) is decided in
:mod:`grader.extract`, and the report says which notebook each task's definition came from.
"""

import collections
import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError  # noqa: F401  (raised here; callers import it from here too)

# What a student hands in is bounded before it is read: each bound is a note or a reason on that
# submission only, never a crash of the run (a class, the autograder) it is part of.
MAX_NOTEBOOK_BYTES = 200 << 20  # stored outputs can be large; beyond this a file is not a notebook we grade
MAX_SUBMISSION_BYTES = 256 << 20  # all notebooks of one submission: a solved notebook and a copy with outputs
MAX_DEPTH = 16  # folder levels searched below a submission: hand-ins are a few deep, zips add one or two
MAX_ENTRIES = 10_000  # files and folders looked at in one submission: a stray virtualenv fits, a flood does not
MAX_NOTEBOOKS = 100  # notebooks read from one submission, in sorted path order
MAX_JSON_DEPTH = 64  # nesting of a notebook's JSON, outputs aside: nbformat's own is under 10, widget state a few more
# The notebook formats read ("nbformat" -> the key of a code cell's source): Jupyter's 4 (every minor version:
# cells, their types, sources and ids are alike; 4.5 added the ids), and IPython's 3 and 2, whose cells sit in
# "worksheets". Nothing else of a notebook is read: the grader decodes this plain data itself (SPEC section 7).
READ_FORMATS = {4: "source", 3: "input", 2: "input"}
LINKS_NAMED = 5  # symbolic links named in the note that says they were skipped
CHECKPOINTS = ".ipynb_checkpoints"  # Jupyter's autosaved copies: never graded


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
    skipped: tuple = ()
    """One line per cell that was not read (not a JSON object, or a source that is not text): such a cell
    costs itself only, as in Jupyter, which shows the rest of the notebook."""


@dataclass(frozen=True)
class Found:
    """What a submission holds, found without reading any notebook's bytes or following any link."""

    notebooks: tuple
    """The notebooks to read (Paths), sorted by path: the order their definitions are loaded in."""
    sizes: tuple
    """Each notebook's size in bytes (of the file itself, not of a link's target), parallel to notebooks."""
    notes: tuple = ()
    """What was left out and why (symbolic links, folders too deep, too many files), one line each."""


def find_notebooks(path):
    """The notebooks of a submission: the file itself, or the notebooks under a folder (see :class:`Found`).

    A submission is confined to its own files: no symbolic link under a folder is followed (each is named
    in a note), and only regular files are notebooks. ``path`` itself may be a link (the instructor's own
    argument: a ``current -> handins/v2`` link is theirs to make). The search is an iterative walk,
    bounded by MAX_DEPTH, MAX_ENTRIES and MAX_NOTEBOOKS; what a bound leaves out is a note. Raises
    :class:`SubmissionError` when no notebook is found or the notebooks together exceed MAX_SUBMISSION_BYTES
    (checked from their sizes, before any byte is read)."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".ipynb":
            raise SubmissionError(f"{path} is not a notebook (.ipynb)")
        found = bounded([(path, path.stat().st_size)], [], path.parent)
        if not found.notebooks:
            raise SubmissionError(found.notes[0].removeprefix("skipped: "))
        return found
    if path.is_dir():
        found = bounded(*_walk(path), path)
        if not found.notebooks:
            skipped = f" ({'; '.join(found.notes)})" if found.notes else ""
            raise SubmissionError(f"no notebook (.ipynb) found in {path}{skipped}")
        return found
    raise SubmissionError(f"{path} does not exist")


def bounded(notebooks, notes, root):
    """The :class:`Found` of (path, size) pairs in sorted path order under the folder ``root``: at most
    MAX_NOTEBOOKS, none over MAX_NOTEBOOK_BYTES (each left out is a note, added to ``notes``). Raises
    :class:`SubmissionError` when the rest together exceed MAX_SUBMISSION_BYTES: sizes only, nothing read."""
    notes = list(notes)
    if len(notebooks) > MAX_NOTEBOOKS:
        notes.append(f"more than {MAX_NOTEBOOKS} notebooks: only the first {MAX_NOTEBOOKS} in path order are read")
        notebooks = notebooks[:MAX_NOTEBOOKS]
    kept = []
    for path, size in notebooks:
        if size > MAX_NOTEBOOK_BYTES:
            notes.append(f"skipped: {_shown(path, root)} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        else:
            kept.append((path, size))
    total = sum(size for _, size in kept)
    if total > MAX_SUBMISSION_BYTES:
        raise SubmissionError(
            f"the notebooks of {root if len(kept) > 1 else kept[0][0]} hold {total >> 20} MB, "
            f"more than the {MAX_SUBMISSION_BYTES >> 20} MB a submission may hold (clear "
            f"their outputs: Kernel > Restart & Clear Output)"
        )
    return Found(notebooks=tuple(path for path, _ in kept), sizes=tuple(size for _, size in kept), notes=tuple(notes))


def _walk(root):
    """(notebook path, size) pairs sorted by path, and notes on what was left out. Breadth first, each folder's entries sorted: shallow notebooks (the real ones) are found before a
    bound stops the search in deep or crowded folders."""
    notebooks, notes, links = [], [], []
    queue, seen, too_deep = collections.deque([root]), 0, None
    while queue:
        folder = queue.popleft()
        entries, seen = _listed(folder, root, seen, notes)
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                links.append(_shown(path, root))
            elif entry.is_dir(follow_symlinks=False):
                if entry.name == CHECKPOINTS:
                    continue
                if len(path.relative_to(root).parts) > MAX_DEPTH:
                    too_deep = too_deep or path
                else:
                    queue.append(path)
            elif entry.name.endswith(".ipynb"):
                if entry.is_file(follow_symlinks=False):
                    notebooks.append((path, entry.stat(follow_symlinks=False).st_size))
                else:
                    notes.append(f"skipped: {_shown(path, root)} is not a regular file")
        if seen > MAX_ENTRIES:
            notes.append(
                f"stopped searching after {MAX_ENTRIES} files and folders: the rest of the submission was not looked at"
            )
            break
    if links:
        named = ", ".join(links[:LINKS_NAMED]) + (
            f" and {len(links) - LINKS_NAMED} more" if len(links) > LINKS_NAMED else ""
        )
        notes.append(
            f"skipped {len(links)} symbolic link{'s' if len(links) > 1 else ''} (a submission is its own "
            f"files: links are not followed): {named}"
        )
    if too_deep is not None:
        notes.append(f"skipped folders nested deeper than {MAX_DEPTH} levels, from {_shown(too_deep, root)}")
    return sorted(notebooks), notes


def _listed(folder, root, seen, notes):
    """The entries of ``folder`` sorted by name, at most what is left of MAX_ENTRIES, and the count so far
    (past the bound when it was reached); a folder that cannot be listed is a note."""
    entries = []
    try:
        with os.scandir(folder) as iterator:
            for entry in iterator:
                seen += 1
                if seen > MAX_ENTRIES:
                    break
                entries.append(entry)
    except OSError as exc:
        notes.append(f"skipped: {_shown(Path(folder), root)} cannot be listed ({exc.strerror or exc})")
    return sorted(entries, key=lambda entry: entry.name), seen


def _shown(path, root):
    """A path as the submission names it: relative to its folder."""
    return path.relative_to(root).as_posix() if path != root and path.is_relative_to(root) else path.name


def read_notebook(path, follow_link=False):
    """Read a notebook's code cells: a notebook of one of the READ_FORMATS, else a :class:`SubmissionError`.

    The file is opened without following a link (unless ``follow_link``: the path an instructor gave), so a
    file swapped for a link after it was found is refused, and its size is checked on the open file."""
    data = _loaded(_read_bytes(path, follow_link), path)
    return _parsed(data, path)


def _read_bytes(path, follow_link=False):
    """The bytes of the regular file at ``path``, at most MAX_NOTEBOOK_BYTES, checked on the open file."""
    with open_notebook(path, follow_link) as stream:
        content = stream.read(MAX_NOTEBOOK_BYTES + 1)
    if len(content) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{path} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    return content


def open_notebook(path, follow_link=False):
    """The notebook file at ``path`` opened for binary reading: a regular file (not a FIFO that would block),
    at most MAX_NOTEBOOK_BYTES by its size on the open file, and not a symbolic link unless ``follow_link``
    (a file swapped for a link after it was found is refused). Raises :class:`SubmissionError`."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_link else os.O_NOFOLLOW)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(f"{path} is a symbolic link; links are not followed") from None
        raise SubmissionError(f"{path} cannot be read ({exc.strerror or exc})") from None
    stream = os.fdopen(handle, "rb")
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_NOTEBOOK_BYTES:
        stream.close()
        what = (
            "not a regular file" if not stat.S_ISREG(status.st_mode) else f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
        )
        raise SubmissionError(f"{path} is {what}")
    return stream


def _loaded(content, path):
    """The notebook's JSON, its nesting bounded (json's parser recurses: a deep file must be a reason)."""
    try:
        data = json.loads(content)
    except RecursionError:
        raise SubmissionError(f"{path} is not a notebook: its JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path} is not a notebook: not valid JSON ({exc})") from None
    return data


def _depth_exceeds(data, limit):
    """Whether lists and dicts in ``data`` nest more than ``limit`` deep (an explicit stack: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _parsed(data, path):
    """The :class:`Notebook` of loaded JSON, in one of the READ_FORMATS; only its cells' types, sources and
    ids are read, and what the grader reads must be what a notebook holds (else a SubmissionError)."""
    version = data.get("nbformat") if isinstance(data, dict) else None
    if type(version) is not int:  # not a bool either: JSON's true is no version
        raise SubmissionError(f"{path} is not a notebook: no nbformat version")
    if version not in READ_FORMATS:
        raise SubmissionError(
            f"{path} is in nbformat {version}, which the grader does not read (it reads nbformat 4, and 3 and 2 "
            f"of IPython before Jupyter; Jupyter saves nbformat 4)"
        )
    _drop_outputs(data)
    if _depth_exceeds(data, MAX_JSON_DEPTH):  # no notebook nests this deep (outputs are gone): not one
        raise SubmissionError(f"{path} is not a notebook: its JSON is nested more than {MAX_JSON_DEPTH} deep")
    source_key, sources, places, skipped = READ_FORMATS[version], [], [], []
    for index, cell in enumerate(_cells(data, path), start=1):
        if not isinstance(cell, dict):
            skipped.append(f"{path}: cell {index} was skipped: it is not a JSON object")
        elif cell.get("cell_type") == "code":
            source = _source(cell, source_key)
            if source is None:
                skipped.append(f"{path}: cell {index} was skipped: its source is not text")
            else:
                sources.append(source)
                places.append((index, _cell_id(cell)))
    return Notebook(path=path, code_cells=tuple(sources), code_cell_places=tuple(places), skipped=tuple(skipped))


def _cells(data, path):
    """Every cell of the notebook in order (each checked by the caller): nbformat 4's ``cells``, or the cells
    of each of the ``worksheets`` one after the other (nbformat 2 and 3, flattened as nbformat's upgrade does)."""
    if data["nbformat"] == 4:
        return _list_of(data, "cells", path)
    worksheets = _objects(_list_of(data, "worksheets", path), "worksheet", path)
    return [cell for worksheet in worksheets for cell in _list_of(worksheet, "cells", path)]


def _list_of(data, key, path):
    """``data[key]``, a list; a SubmissionError when it is missing or something else."""
    value = data.get(key)
    if not isinstance(value, list):
        problem = f"its {key} are not a list" if key in data else f"it has no {key}"
        raise SubmissionError(f"{path} is not a notebook: {problem}")
    return value


def _objects(items, what, path):
    """``items``, each a JSON object (a dict); a SubmissionError naming the first that is not."""
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise SubmissionError(f"{path} is not a notebook: its {what} {index} is not a JSON object")
    return items


def _drop_outputs(data):
    """Stored outputs are never graded; dropping them first keeps huge ones cheap. Each list of cells is
    walked once, in place (a copy per worksheet would cost the square of their number)."""
    worksheets = data.get("worksheets")
    lists = [data.get("cells")] + [
        worksheet.get("cells")
        for worksheet in (worksheets if isinstance(worksheets, list) else ())
        if isinstance(worksheet, dict)
    ]
    for cells in lists:
        for cell in cells if isinstance(cells, list) else ():
            if isinstance(cell, dict) and "outputs" in cell:
                cell["outputs"] = []


def _source(cell, key):
    """A code cell's source under ``key``: a string, or a list of strings (its lines) joined, as notebooks
    store either; a missing one is empty; None for anything else."""
    source = cell.get(key, "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _cell_id(cell):
    """The cell's id (nbformat 4.5 and later) as the notebook holds it, or "" (student text: never printed as is)."""
    cell_id = cell.get("id", "")
    return cell_id if type(cell_id) is str else ""


def load_submission(path):
    """Read every notebook of a submission: (notebooks, notes on what was skipped).

    A folder may hold an unreadable notebook beside good ones: it is skipped with a note, whatever made it
    unreadable (any failure while reading one notebook costs that notebook only). Raises
    :class:`SubmissionError` when no notebook can be read.
    """
    found = find_notebooks(path)
    follow = Path(path).is_file()  # the instructor's own argument may be a link; nothing under a folder is
    notebooks, notes = [], list(found.notes)
    for notebook_path in found.notebooks:
        try:
            notebooks.append(read_notebook(notebook_path, follow_link=follow))
            notes.extend(notebooks[-1].skipped)
        except SubmissionError as exc:
            notes.append(f"skipped: {exc}")
        except Exception as exc:  # a grader bug or a resource the file exhausts: this notebook only, and said
            notes.append(f"skipped: {notebook_path} could not be read ({type(exc).__name__}: {exc})")
    if not notebooks:
        unread = [note for note in notes if note.startswith("skipped: ")]
        raise SubmissionError(unread[0].removeprefix("skipped: ") if len(notes) == 1 else "; ".join(notes))
    return notebooks, notes
