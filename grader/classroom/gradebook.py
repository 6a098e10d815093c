"""gradebook.csv: one row per student: student, total, one column per task, status, reason, seconds,
isolation.

Every cell is printable text (grader.boundary), and a cell that a spreadsheet would read as a formula
(it starts with = + - @, or a tab or carriage return) is prefixed with an apostrophe, so a student id
like ``=HYPERLINK(...)`` stays text.
"""

import csv
import io

from grader.boundary import FRAGMENT_LIMIT, printable
from grader.classroom.discover import student_identity

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REASON_WIDTH = 300  # characters of the reason a submission was not graded: one spreadsheet cell


def columns(task_ids):
    return ["student", "total", *task_ids, "status", "reason", "seconds", "isolation"]


def row(record, task_ids):
    """The gradebook row of one record (see resume.record_of)."""
    report = record.get("report") or {}
    scores = {task.get("id"): task.get("score") for task in report.get("tasks", [])}
    total = report.get("score", 0.0) if report else (0.0 if record["status"] != "pending" else "")
    cells = [printable(record["student"], FRAGMENT_LIMIT), _number(total)]
    cells += [_number(scores.get(task_id, "")) for task_id in task_ids]
    cells += [
        printable(record["status"], FRAGMENT_LIMIT),
        printable(record.get("reason", ""), REASON_WIDTH),
        _number(record.get("seconds", "")),
        printable(record.get("isolation", ""), REASON_WIDTH),
    ]
    return [_neutralized(cell) for cell in cells]


def text(records, task_ids):
    """The CSV text of the gradebook, rows sorted by student id: one row per student, which discovery's
    unique ids guarantee (grader.classroom.discover); two records of one identity are a grader bug, loud."""
    identities = [student_identity(record["student"]) for record in records]
    if len(set(identities)) != len(identities):
        raise ValueError("two gradebook rows for one student id (equal after NFC and case folding): a grader bug")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns(task_ids))
    for record in sorted(records, key=lambda r: r["student"]):
        writer.writerow(row(record, task_ids))
    return buffer.getvalue()


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value) if value == "" else printable(value, FRAGMENT_LIMIT)
    return f"{value:.2f}"


def _neutralized(cell):
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
