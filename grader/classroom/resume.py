"""What a class run keeps between runs: one record per graded student, written atomically.

A record holds the student's gradebook row and JSON report, and the key it was graded under: the
notebooks' content hash + the grading config's hash + the grader version. A rerun grades again only the
submissions whose key changed (or that have no record), so an interrupted or extended class costs only
the rest. Records live in ``OUT/students/<safe name>/record.json``.

A record also says with which output options (the feedback format) the student's files were last written
(its ``outputs``): a rerun with other options, or whose files were deleted, writes them again from the
record without grading again (:func:`outputs_current`, :func:`graded_of`).

Every file is written atomically with the mode a plain ``open`` would give it (``0o666`` less the umask),
so a group the umask lets read the results (a TA group) can read every one of them.
"""

import dataclasses
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from grader import __version__
from grader.classroom.discover import safe_name
from grader.classroom.run import GRADED, PENDING, UNREADABLE, Graded, NotebookFile
from grader.render import to_json
from grader.report import CheckResult, Report, TaskResult

RECORD_NAME = "record.json"
RECORD_VERSION = 1  # bump when a record's fields change: older records are then graded again
KEPT_STATUSES = (GRADED, UNREADABLE)  # outcomes of the submission itself; others depend on the machine


def submission_key(files, config):
    """sha256 over every notebook's name and bytes, the config and the grader version. A notebook still on
    disk (run.NotebookFile) is streamed through the hash a chunk at a time: the key costs no memory."""
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0")
        if isinstance(content, NotebookFile):
            for chunk in content.chunks():
                digest.update(chunk)
        else:
            digest.update(content if isinstance(content, bytes) else f"<{content} bytes>".encode())
        digest.update(b"\0")
    digest.update(config_hash(config).encode())
    digest.update(__version__.encode())
    return digest.hexdigest()


def config_hash(config):
    fields = dataclasses.asdict(config)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def student_folder(out_dir, student):
    return Path(out_dir) / "students" / safe_name(student)


def record_of(graded, outputs=None):
    """The JSON-ready record of one Graded (its report in the JSON form of ``grader grade --json``);
    outputs: the options the student's files are written with (see :func:`outputs_current`)."""
    return {
        "version": RECORD_VERSION,
        "student": graded.student,
        "key": graded.key,
        "status": graded.status,
        "reason": graded.reason,
        "seconds": graded.seconds,
        "isolation": graded.isolation,
        "worker": graded.worker,
        "report": to_json(graded.report) if graded.report is not None else None,
        "outputs": dict(outputs or {}),
    }


def outputs_current(out_dir, record, outputs):
    """Whether the student's files were written from ``record`` with ``outputs`` (the options that shape
    them, e.g. ``{"feedback": "html"}``) and are all still there."""
    folder = student_folder(out_dir, record["student"])
    files = [f"feedback.{outputs.get('feedback', 'md')}"] + (["report.json"] if record.get("report") else [])
    return record.get("outputs") == outputs and all((folder / name).is_file() for name in files)


def graded_of(record):
    """The run.Graded a kept record was made from, its report rebuilt from the JSON form (what the student's
    files are written from; the prints of the student's code are not kept in a record)."""
    report = record.get("report")
    return Graded(
        student=record["student"],
        key=record["key"],
        status=record["status"],
        reason=record.get("reason", ""),
        report=report_from_json(report) if report else None,
        seconds=record.get("seconds", 0.0),
        isolation=record.get("isolation", ""),
        worker=record.get("worker", ""),
    )


_CHECK_FIELDS = frozenset(field.name for field in dataclasses.fields(CheckResult))


def report_from_json(data):
    """The grader.report.Report of a report in the JSON form of ``grader grade --json`` (render.to_json)."""
    tasks = tuple(
        TaskResult(
            id=task["id"],
            status=task["status"],
            checks=tuple(
                CheckResult(**{name: value for name, value in check.items() if name in _CHECK_FIELDS})
                for check in task["checks"]
            ),
            max_score=task["max_score"],
            source=task.get("source", ""),
        )
        for task in data["tasks"]
    )
    return Report(
        submission=data["submission"],
        tasks=tasks,
        grader_version=data["grader_version"],
        isolation=data.get("isolation", ""),
        notes=tuple(data.get("notes", ())),
        runtime=dict(data.get("runtime", {})),
        notebooks=tuple(data.get("notebooks", ())),
    )


def kept_record(out_dir, student, key):
    """The stored record of ``student`` if it was graded under ``key``, else None (a missing, unreadable or
    outdated record means: grade again)."""
    path = student_folder(out_dir, student) / RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != RECORD_VERSION:
        return None
    if record.get("student") != student or record.get("key") != key or not key:
        return None
    return record if record.get("status") in KEPT_STATUSES else None


def save_record(out_dir, record):
    """Write the record atomically: a run stopped at any moment leaves the old record or the new one."""
    if record["status"] not in KEPT_STATUSES or not record["key"]:
        return
    write_atomically(student_folder(out_dir, record["student"]) / RECORD_NAME, json.dumps(record, indent=1) + "\n")


def write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename; the file gets
    the mode ``open`` would give it (mkstemp's own is 0600: nobody but the instructor could read it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # folders: 0o777 less the umask, as mkdir makes them
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o666 & ~umask())
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_UMASK = []
_UMASK_LOCK = threading.Lock()


def umask():
    """The process's umask, read once. Linux shows it in /proc/self/status; elsewhere os.umask is the only
    way to read it, which sets it for a moment: done once, under a lock, so no file of ours is created
    meanwhile with another."""
    with _UMASK_LOCK:
        if not _UMASK:
            _UMASK.append(_read_umask())
        return _UMASK[0]


def _read_umask():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o077)
    os.umask(current)
    return current


def pending_record(student):
    """The record of a submission the run did not reach."""
    return record_of(Graded(student=student, key="", status=PENDING, reason="not graded: the run was stopped"))
