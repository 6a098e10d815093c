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
A student id is kept exactly as found (any character): it is made printable wherever it is shown, and
:func:`safe_name` gives the file name of the student's outputs.
"""
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from grader.discover import SubmissionError, find_notebooks

SKIPPED_NAMES = ("__MACOSX", ".ipynb_checkpoints")
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)_(?:late_)?(?P<user>\d+)_\d+_(?P<original>.+)$", re.IGNORECASE)
MOODLE_NAME = re.compile(r"^(?P<student>.+?_\d+)_assignsubmission_[a-z]+_?(?P<original>.*)$", re.IGNORECASE)
SAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_NAME_LENGTH = 60  # characters of a student's output folder name before its hash: readable in a listing
CLASS_LIKE_FOLDERS = 2  # sub-folders holding notebooks, more than the notebooks beside them: a class, not a submission
CLASS_LIKE_LMS_STUDENTS = 2  # distinct students named in bulk-download notebook names: a class


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
    try:
        entries = sorted(class_dir.iterdir())
    except OSError as exc:
        raise SubmissionError(f"{class_dir} cannot be listed ({exc.strerror or exc})") from None
    excluded = {Path(p).resolve() for p in exclude}
    entries = [e for e in entries if not _skipped(e) and e.resolve() not in excluded]
    folders = [_folder_submission(e) for e in entries if e.is_dir()]
    flat = [e for e in entries if e.is_file() and e.suffix == ".ipynb"]
    ignored = tuple(e for e in entries if not e.is_dir() and e not in flat)
    submissions = _unique_ids(folders + _flat_submissions(flat))
    return ClassFolder(submissions=tuple(sorted(submissions, key=lambda s: s.student)), ignored=ignored)


def lms_student(file_name):
    """The student id in a Canvas or Moodle bulk-download file or folder name, or None."""
    moodle = MOODLE_NAME.match(file_name)
    if moodle:
        return moodle.group("student")
    canvas = CANVAS_NAME.match(file_name)
    return f"{canvas.group('name')}_{canvas.group('user')}" if canvas else None


def looks_like_class(path):
    """Whether a folder given to ``grader grade`` looks like a whole class rather than one submission:
    more sub-folders holding notebooks than notebooks beside them (at least two), or notebooks named like
    a bulk download of at least two students."""
    path = Path(path)
    if not path.is_dir():
        return False
    try:
        entries = [e for e in path.iterdir() if not _skipped(e)]
    except OSError:
        return False
    top = [e for e in entries if e.is_file() and e.suffix == ".ipynb"]
    folders = [e for e in entries if e.is_dir() and _holds_notebook(e)]
    if len(folders) >= CLASS_LIKE_FOLDERS and len(folders) > len(top):
        return True
    return len({lms_student(e.stem) for e in top} - {None}) >= CLASS_LIKE_LMS_STUDENTS


def safe_name(student):
    """A file name for a student's outputs: the id's safe characters, and a hash of the id when any
    character had to go, so that two ids never share a name and the name is the same on every run."""
    cleaned = SAFE_CHARACTERS.sub("_", student).lstrip(".")[:SAFE_NAME_LENGTH] or "student"
    if cleaned == student:
        return cleaned
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned}-{digest}"


def _skipped(entry):
    return entry.name.startswith(".") or entry.name in SKIPPED_NAMES


def _holds_notebook(folder):
    try:
        return bool(find_notebooks(folder))
    except (SubmissionError, OSError):
        return False


def _folder_submission(folder):
    student = lms_student(folder.name) or folder.name
    try:
        return Submission(student=student, path=folder, notebooks=tuple(find_notebooks(folder)))
    except SubmissionError as exc:
        return Submission(student=student, path=folder, notebooks=(), problem=str(exc))
    except OSError as exc:
        return Submission(student=student, path=folder, notebooks=(), problem=f"{folder} cannot be read ({exc.strerror or exc})")


def _flat_submissions(notebooks):
    """Top-level notebooks, grouped by the student their bulk-download name gives (else one per notebook)."""
    groups = {}
    for notebook in notebooks:
        groups.setdefault(lms_student(notebook.stem) or notebook.stem, []).append(notebook)
    return [Submission(student=student, path=paths[0], notebooks=tuple(paths))
            for student, paths in groups.items()]


def _unique_ids(submissions):
    """Two submissions with one id (a folder and a notebook of the same name) get ' (2)', ' (3)'..."""
    seen, unique = {}, []
    for submission in submissions:
        count = seen[submission.student] = seen.get(submission.student, 0) + 1
        if count > 1:
            submission = Submission(f"{submission.student} ({count})", submission.path, submission.notebooks, submission.problem)
        unique.append(submission)
    return unique
