"""Class folder -> submissions, each with the student id it is graded under.

The rule (README "Grading a class"):

- every sub-folder of the class folder is one student's submission, graded as ``grader grade FOLDER``
  would grade it; the student id is the folder's name (a Moodle folder name ``Full Name_123_assignsubmission_file_``
  gives ``Full Name_123``);
- every notebook directly in the class folder is one submission, the student id its file name without
  ``.ipynb``; notebooks named like a learning-management-system bulk download are grouped by student and
  the id is taken from the name:

  - Canvas: ``doejane_12345_6789_ConvolutionalNetworks.ipynb`` (or ``doejane_LATE_12345_...``) -> ``doejane_12345``
    (the name Canvas gives and the student's Canvas user id; a late hand-in is the same student)
  - Moodle: ``Jane Doe_123_assignsubmission_file_ConvolutionalNetworks.ipynb`` -> ``Jane Doe_123``

Hidden entries, ``.ipynb_checkpoints`` and ``__MACOSX`` are skipped; other files are listed as ignored.
No symbolic link is followed: a link in the class folder is a row whose reason says so, and links inside a
student's folder are left out with a note (:func:`grader.discover.find_notebooks`).

A student id is kept exactly as found (any character): it is made printable wherever it is shown, and
:func:`safe_name` gives the file name of the student's outputs. Two ids are the same student when they
are equal after NFC normalisation and case folding (:func:`student_identity`): the second of them gets
`` (2)`` (or the first number that makes it no other id), so no two rows, records or output folders are
shared, even on a case-insensitive file system.
"""

import dataclasses
import hashlib
import os
import re
import traceback
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from grader.discover import Found, SubmissionError, bounded, find_notebooks

SKIPPED_NAMES = ("__MACOSX", ".ipynb_checkpoints")
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)_(?P<late>late_)?(?P<user>\d+)_\d+_(?P<original>.+)$", re.IGNORECASE)
MOODLE_NAME = re.compile(
    r"^(?P<student>(?P<name>.+?)_(?P<user>\d+))_assignsubmission_[a-z]+_?(?P<original>.*)$", re.IGNORECASE
)
SAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_NAME_LENGTH = 60  # characters of a student's output folder name before its hash: readable in a listing
HASH_MARK = "+"  # between a safe name and its hash: never in a name kept as it is, so the two never meet
HASH_DIGITS = 16  # hex digits of an id's hash in its output folder name: 64 bits, not searchable for a twin
CLASS_LIKE_FOLDERS = 2  # sub-folders holding notebooks, more than the notebooks beside them: a class, not a submission
CLASS_LIKE_LMS_STUDENTS = 2  # distinct students named in bulk-download notebook names: a class


@dataclass(frozen=True)
class LmsName:
    """What a Canvas or Moodle bulk-download name says about its student."""

    lms: str
    """'canvas' or 'moodle'."""
    name: str
    """The name part: Canvas' login-like name (``doejane``), Moodle's full name (``Jane Doe``)."""
    user_id: str
    """Canvas' user id (its gradebook's ``ID``), or Moodle's participant number (``Participant 4321``)."""
    late: bool = False
    """Canvas marked the hand-in late (``_LATE_`` in the name); Moodle's names never say."""


@dataclass(frozen=True)
class Submission:
    """One student's hand-in inside a class folder."""

    student: str
    """The student id, exactly as found (may hold any character; make it printable before showing it)."""
    path: Path
    """Where it was found: the student's folder, or their (first) notebook in the class folder."""
    notebooks: tuple
    """The notebooks of the submission (Paths), sorted; empty when none was found."""
    problem: str = ""
    """Why the submission cannot be graded at all (no notebook, a folder that cannot be listed), or ''."""
    sizes: tuple = ()
    """Each notebook's size in bytes as discovery found it (parallel to notebooks)."""
    notes: tuple = ()
    """What discovery left out and why (symbolic links, folders too deep...), for the student's report."""
    lms: LmsName | None = None
    """What the bulk-download name(s) say, or None for another name; late when any of its notebooks is."""


@dataclass(frozen=True)
class ClassFolder:
    """What a class folder holds."""

    submissions: tuple
    """Submission per student, sorted by student id."""
    ignored: tuple
    """Names of top-level files that are no notebook (Paths)."""


def discover(class_dir, exclude=()):
    """The submissions of ``class_dir``; raises SubmissionError when it is not a readable folder.

    exclude: paths inside the class folder that are not submissions (the results folder).
    """
    class_dir = Path(class_dir)
    if not class_dir.is_dir():
        raise SubmissionError(f"{class_dir} is not a folder")
    entries = [e for e in _entries(class_dir) if not _skipped(e)]
    excluded = {Path(p).resolve() for p in exclude}
    entries = [e for e in entries if e.is_symlink() or Path(e.path).resolve() not in excluded]
    folders = [_named(_folder_submission(Path(e.path)), e) for e in entries if e.is_dir(follow_symlinks=False)]
    linked = [_named(_linked_submission(Path(e.path)), e) for e in entries if e.is_symlink() and _linked_folder(e)]
    flat = [e for e in entries if e.name.endswith(".ipynb") and (e.is_file(follow_symlinks=False) or e.is_symlink())]
    ignored = tuple(
        Path(e.path)
        for e in entries
        if not e.is_dir(follow_symlinks=False) and e not in flat and not (e.is_symlink() and _linked_folder(e))
    )
    submissions = _unique_ids(folders + linked + _flat_submissions(flat))
    return ClassFolder(submissions=tuple(sorted(submissions, key=lambda s: s.student)), ignored=ignored)


def student_identity(student):
    """What two ids must share to be one student: the id after NFC normalisation and case folding (a
    macOS zip spells ``José`` decomposed, and a case-insensitive file system holds ``Carol`` or ``carol``)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", student).casefold())


def lms_student(file_name):
    """The student id in a Canvas or Moodle bulk-download file or folder name, or None."""
    parsed = lms_name(file_name)
    return f"{parsed.name}_{parsed.user_id}" if parsed else None


def lms_name(file_name):
    """The LmsName of a Canvas or Moodle bulk-download file or folder name, or None."""
    moodle = MOODLE_NAME.match(file_name)
    if moodle:
        return LmsName("moodle", moodle.group("name"), moodle.group("user"))
    canvas = CANVAS_NAME.match(file_name)
    if canvas:
        return LmsName("canvas", canvas.group("name"), canvas.group("user"), late=bool(canvas.group("late")))
    return None


def looks_like_class(path):
    """Whether a folder given to ``grader grade`` looks like a whole class rather than one submission:
    more sub-folders holding notebooks than notebooks beside them (at least two), or notebooks named like
    a bulk download of at least two students."""
    path = Path(path)
    if not path.is_dir():
        return False
    try:
        entries = [e for e in _entries(path) if not _skipped(e)]
    except SubmissionError:
        return False
    top = [e for e in entries if e.is_file(follow_symlinks=False) and e.name.endswith(".ipynb")]
    folders = [e for e in entries if e.is_dir(follow_symlinks=False) and _holds_notebook(Path(e.path))]
    if len(folders) >= CLASS_LIKE_FOLDERS and len(folders) > len(top):
        return True
    return len({lms_student(e.name.removesuffix(".ipynb")) for e in top} - {None}) >= CLASS_LIKE_LMS_STUDENTS


def safe_name(student):
    """A file name for a student's outputs, the same on every run: the id itself when it is made of safe
    characters only, else its safe characters, HASH_MARK and a hash of the id. Ids are distinct after case
    folding (:func:`_unique_ids`), so kept names differ on a case-insensitive file system too; a hashed
    name holds HASH_MARK, which no kept name does, and 64 bits of hash keep two hashed names apart."""
    cleaned = SAFE_CHARACTERS.sub("_", student).lstrip(".")[:SAFE_NAME_LENGTH] or "student"
    if cleaned == student:
        return cleaned
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_DIGITS]
    return f"{cleaned}{HASH_MARK}{digest}"


def _entries(folder):
    """The entries of a class folder (os.DirEntry, links not followed), sorted by name."""
    try:
        with os.scandir(folder) as iterator:
            return sorted(iterator, key=lambda entry: entry.name)
    except OSError as exc:
        raise SubmissionError(f"{folder} cannot be listed ({exc.strerror or exc})") from None


def _skipped(entry):
    return entry.name.startswith(".") or entry.name in SKIPPED_NAMES


def _linked_folder(entry):
    """A link in the class folder that stands for a student's folder (its target's kind is looked up, no
    more: nothing behind it is read)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _holds_notebook(folder):
    try:
        return bool(find_notebooks(folder).notebooks)
    except (SubmissionError, OSError):
        return False


def _folder_submission(folder):
    """The submission of a student's folder; any failure finding its notebooks is its row's reason only."""
    student = lms_student(folder.name) or folder.name
    try:
        found = find_notebooks(folder)
    except SubmissionError as exc:
        return Submission(student=student, path=folder, notebooks=(), problem=str(exc))
    except OSError as exc:
        return Submission(
            student=student, path=folder, notebooks=(), problem=f"{folder} cannot be read ({exc.strerror or exc})"
        )
    except Exception as exc:  # a grader bug on this folder: it costs this row only, and says so
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return Submission(
            student=student,
            path=folder,
            notebooks=(),
            problem=f"internal grader error while finding the notebooks, please report it: {detail}",
        )
    return Submission(student=student, path=folder, notebooks=found.notebooks, sizes=found.sizes, notes=found.notes)


def _named(submission, entry):
    """A folder's (or link's) submission with what its bulk-download name says."""
    return dataclasses.replace(submission, lms=lms_name(entry.name))


def _linked_submission(link):
    student = lms_student(link.name) or link.name
    return Submission(student=student, path=link, notebooks=(), problem=_link_reason(link))


def _link_reason(link):
    return f"{link.name} is a symbolic link; links are not followed (a submission is its own files)"


def _flat_submissions(entries):
    """Top-level notebooks, grouped by the student their bulk-download name gives (else one per notebook);
    a link among them is left out with a note, and is the reason when it is all the student has."""
    groups = {}
    for entry in entries:
        stem = entry.name.removesuffix(".ipynb")
        groups.setdefault(lms_student(stem) or stem, []).append(entry)
    return [
        dataclasses.replace(_flat_submission(student, group), lms=_group_lms(group))
        for student, group in groups.items()
    ]


def _group_lms(entries):
    """The LmsName of one student's top-level notebooks: late when any of them was handed in late."""
    names = [lms_name(entry.name.removesuffix(".ipynb")) for entry in entries]
    if None in names:
        return None
    return dataclasses.replace(names[0], late=any(name.late for name in names))


def _flat_submission(student, entries):
    paths = [Path(entry.path) for entry in entries]
    links = [path for entry, path in zip(entries, paths) if entry.is_symlink()]
    notes = tuple(f"skipped: {_link_reason(link)}" for link in links)
    try:
        sized = [
            (path, entry.stat(follow_symlinks=False).st_size)
            for entry, path in zip(entries, paths)
            if not entry.is_symlink()
        ]
        found = bounded(sized, list(notes), paths[0]) if sized else Found((), (), notes)
    except (SubmissionError, OSError) as exc:
        return Submission(student=student, path=paths[0], notebooks=(), problem=str(exc))
    if not found.notebooks:
        return Submission(student=student, path=paths[0], notebooks=(), problem="; ".join(found.notes))
    return Submission(
        student=student, path=found.notebooks[0], notebooks=found.notebooks, sizes=found.sizes, notes=found.notes
    )


def _unique_ids(submissions):
    """Each submission's id, unique after NFC and case folding: the first of two submissions with one
    identity (a folder and a notebook of one name, ``Carol`` and ``carol``) keeps its id, the next gets
    ' (2)', or the first number that gives no other submission's identity, real or generated."""
    taken, firsts, unique = set(), [], []
    for submission in submissions:
        identity = student_identity(submission.student)
        firsts.append(identity not in taken)
        taken.add(identity)
    for submission, first in zip(submissions, firsts):
        if not first:
            count = 2
            while student_identity(f"{submission.student} ({count})") in taken:
                count += 1
            submission = dataclasses.replace(submission, student=f"{submission.student} ({count})")
            taken.add(student_identity(submission.student))
        unique.append(submission)
    return unique
