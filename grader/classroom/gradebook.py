"""gradebook.csv: one row per student: student, total, one column per task, status, reason, seconds,
isolation.

Every cell is printable text (grader.boundary), and a cell that a spreadsheet would read as a formula
(it starts with = + - @, or a tab or carriage return) is prefixed with an apostrophe, so a student id
like ``=HYPERLINK(...)`` stays text.

gradebook-canvas.csv and gradebook-moodle.csv (:func:`lms_text`, on request): the same grades in the columns
Canvas' gradebook import and Moodle's grading-worksheet upload read, the ids split out of the bulk-download
names (grader.classroom.discover.LmsName), with a ``late`` column.
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


# The gradebook an LMS imports, written beside gradebook.csv as gradebook-<lms>.csv (README "Importing the
# grades into Canvas or Moodle"). The student's ids come from the bulk-download names (discover.LmsName).
LMS_LAYOUTS = ("canvas", "moodle")
ASSIGNMENT_COLUMN = "Convolutional Networks"  # Canvas: the new assignment's name, unless renamed to an existing one
# Canvas' gradebook import (Grades > Import): its export's first five columns, then one column per
# assignment; the export's second row gives each assignment's points possible, and an import reads it back.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "    Points Possible"  # the Student cell of that row, as Canvas writes it
# Moodle's assignment "Upload grading worksheet" (offline grading worksheet): it finds its columns by these
# English headers (Identifier, Grade and Last modified (grade) required) and ignores the others; the
# Identifier is "Participant " and the number of the bulk download's name.
MOODLE_COLUMNS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)")
MOODLE_PARTICIPANT = "Participant "
LATE_COLUMN = "late"  # true/false where Canvas' names say, empty where the names cannot (Moodle, other names)


def lms_file_name(lms):
    return f"gradebook-{lms}.csv"


def lms_text(lms, records, names, when):
    """The CSV text of the gradebook ``lms`` (one of LMS_LAYOUTS) imports, rows sorted by student id.

    names: student id -> discover.LmsName (or None) of that student's submission; when: the time the grades
    are given (datetime), Moodle's 'Last modified (grade)'. A submission not graded has an empty score: an
    import leaves the LMS's grade as it was (gradebook.csv says why it was not graded)."""
    if lms not in LMS_LAYOUTS:
        raise ValueError(f"unknown gradebook layout {lms!r}; known: {', '.join(LMS_LAYOUTS)}")
    ordered = sorted(records, key=lambda r: r["student"])
    points = max((float((r.get("report") or {}).get("max_score", 0.0)) for r in ordered), default=0.0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if lms == "canvas":
        writer.writerow([*CANVAS_COLUMNS, ASSIGNMENT_COLUMN, LATE_COLUMN])
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", "", _number(points), ""])
        rows = [_canvas_row(record, names.get(record["student"])) for record in ordered]
    else:
        writer.writerow([*MOODLE_COLUMNS, LATE_COLUMN])
        rows = [_moodle_row(record, names.get(record["student"]), points, when) for record in ordered]
    writer.writerows([_neutralized(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _score(record):
    report = record.get("report")
    return _number(report.get("score", 0.0)) if report else ""


def _canvas_row(record, name):
    canvas = name if name is not None and name.lms == "canvas" else None
    student = canvas.name if canvas else record["student"]
    late = ("true" if canvas.late else "false") if canvas else ""
    user_id = canvas.user_id if canvas else ""
    return [printable(student, FRAGMENT_LIMIT), printable(user_id, FRAGMENT_LIMIT), "", "", "", _score(record), late]


def _moodle_row(record, name, points, when):
    moodle = name if name is not None and name.lms == "moodle" else None
    identifier = f"{MOODLE_PARTICIPANT}{moodle.user_id}" if moodle else ""
    full_name = moodle.name if moodle else record["student"]
    graded = _score(record)
    return [
        printable(identifier, FRAGMENT_LIMIT),
        printable(full_name, FRAGMENT_LIMIT),
        graded,
        _number(points),
        when.strftime("%Y-%m-%d %H:%M:%S") if graded else "",
        "",
    ]
