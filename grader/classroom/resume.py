"""What a class run keeps between runs: one record per graded student, written atomically.

A record holds the student's gradebook row and JSON report, and the key it was graded under: the
notebooks' content hash + the grading config's hash + the grader version. A rerun grades again only the
submissions whose key changed (or that have no record), so an interrupted or extended class costs only
the rest. Records live in ``OUT/students/<safe name>/record.json``.
"""

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

from grader import __version__
from grader.classroom.discover import safe_name
from grader.classroom.run import GRADED, PENDING, UNREADABLE, Graded, NotebookFile
from grader.render import to_json

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


def record_of(graded):
    """The JSON-ready record of one Graded (its report in the JSON form of ``grader grade --json``)."""
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
    }


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
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def pending_record(student):
    """The record of a submission the run did not reach."""
    return record_of(Graded(student=student, key="", status=PENDING, reason="not graded: the run was stopped"))
