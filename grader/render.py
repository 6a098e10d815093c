"""Renderings of a Report: the terminal table, the JSON report, Gradescope's results.json.

Every string of a Report may hold student text; each one passes through grader.boundary here, whatever
was done upstream, so no rendering can carry a control character, a lone surrogate or a flood.
"""
import json

from grader.boundary import FRAGMENT_LIMIT, MAX_ITEMS, TEXT_LIMIT, printable, printable_block, printable_items
from grader.tasks.base import HIDDEN_CASE

_STATUS_WIDTH = 8
MESSAGE_WIDTH = 100  # characters of a task's message in its table row: the row stays on one screen line
NOTE_WIDTH = 200  # characters of a note in the table's details
DETAIL_WIDTH = 300  # characters of a failed check's message in the table's details
PRINTED_INDENT = "    "  # starts every line a student's code printed, so no print can pass for a PASS/FAIL line
NOTES_SHOWN = 2 * MAX_ITEMS  # the pipeline's two kinds of notes (notebooks skipped, statements that failed), each bounded


def table(report, verbose=True):
    """The per-task table and the total, as text."""
    rows = [(_cell(t.id), f"{t.score:.1f} / {t.max_score:.1f}", _cell(t.status), _leading(t)) for t in report.tasks]
    id_width = max([len("task")] + [len(r[0]) for r in rows])
    score_width = max([len("score")] + [len(r[1]) for r in rows])
    lines = [f"{'task':<{id_width}}  {'score':>{score_width}}  {'status':<{_STATUS_WIDTH}}  message"]
    lines.append("-" * len(lines[0]))
    for task_id, score, status, message in rows:
        lines.append(f"{task_id:<{id_width}}  {score:>{score_width}}  {status:<{_STATUS_WIDTH}}  {printable(message, MESSAGE_WIDTH)}")
    lines.append("-" * len(lines[0]))
    lines.append(f"{'total':<{id_width}}  {f'{report.score:.1f} / {report.max_score:.1f}':>{score_width}}")
    if verbose:
        lines.extend(_details(report))
    return "\n".join(lines)


def _details(report):
    if report.isolation:
        yield f"isolation: {printable(report.isolation)}"
    for note in _notes(report, NOTE_WIDTH):
        yield f"note: {note}"
    for task in report.tasks:
        for diagnosis in _diagnoses(task):
            yield f"  {_cell(task.id)} / diagnosis: {printable(diagnosis, DETAIL_WIDTH)}"
        for line in _failures(task, DETAIL_WIDTH):
            yield f"  {_cell(task.id)} / {line}"


def _cell(text):
    """A short field (a task id, a status, a check's name) as printable text."""
    return printable(text, FRAGMENT_LIMIT)


def _notes(report, width=TEXT_LIMIT):
    return printable_items(tuple(report.notes), width, NOTES_SHOWN)


def to_json(report):
    """The full report as a dict in the schema of SPEC section 6."""
    return {
        "score": round(report.score, 4),
        "max_score": round(report.max_score, 4),
        "submission": printable(report.submission),
        "grader_version": printable(report.grader_version),
        "isolation": printable(report.isolation),
        "notes": list(_notes(report)),
        "tasks": [
            {
                "id": _cell(task.id),
                "score": round(task.score, 4),
                "max_score": task.max_score,
                "status": _cell(task.status),
                "checks": [
                    {"name": _cell(c.name), "score": round(c.score, 4), "max_score": round(c.max_score, 4), "passed": c.passed,
                     "message": printable(c.message), "diagnosis": printable(c.diagnosis)}
                    for c in task.checks
                ],
            }
            for task in report.tasks
        ],
    }


def to_gradescope(report):
    """Gradescope's results.json: one test per task, its checks listed in the output."""
    tests = []
    for task in report.tasks:
        lines = _gradescope_lines(task)
        if task.output:
            lines.append("\nYour code printed:\n" + _indented(printable_block(task.output)))
        tests.append({
            "name": _cell(task.id),
            "score": round(task.score, 4),
            "max_score": task.max_score,
            "status": "passed" if task.status == "passed" else "failed",
            "output": "\n".join(lines),
            "visibility": "visible",
        })
    return {
        "score": round(report.score, 4),
        "execution_time": round(report.seconds, 2),
        "output": "\n".join([f"isolation: {printable(report.isolation)}"] + list(_notes(report))),
        "tests": tests,
    }


def _indented(block):
    """A block of student text set off from the grader's lines: none of its lines can pass for a check's."""
    return "\n".join(PRINTED_INDENT + line for line in block.split("\n"))


def _diagnoses(task):
    """The mistakes the evidence names in the task's failed checks, each once, in the order of the checks."""
    return tuple(dict.fromkeys(c.diagnosis for c in task.checks if not c.passed and c.diagnosis))


def _leading(task):
    """A task's one-line message for the table: its (first) diagnosis when there is one, else the first failure."""
    return next(iter(_diagnoses(task)), "") or task.message


def _failing_hidden(task):
    """The task's failing hidden cases: the first is shown in full, the rest (see :func:`_folded`) on one line."""
    return [c for c in task.checks if not c.passed and c.name.startswith(HIDDEN_CASE)]


def _failures(task, width=TEXT_LIMIT):
    """A line per failed check, except that the failing hidden cases after the first are folded into one
    line that counts them and names their cases: a task failing ten hidden cases shows the first in full,
    then one line, not nine."""
    hidden = _failing_hidden(task)
    for check in task.checks:
        if check.passed or any(check is other for other in hidden[1:]):
            continue
        yield f"{_cell(check.name)}: {printable(check.message, width)}"
        if hidden and check is hidden[0] and len(hidden) > 1:
            yield _folded(hidden[1:], width)


def _folded(checks, width):
    """One line for failing hidden cases: how many, and their cases."""
    cases = "; ".join(c.name.removeprefix(HIDDEN_CASE).lstrip(": ") for c in checks)
    return printable(f"{len(checks)} more {HIDDEN_CASE}s failed too: {cases}", width)


def _gradescope_lines(task):
    """A task's output on Gradescope: its diagnosis first, then a PASS or FAIL line per check, the failing
    hidden cases after the first folded into one FAIL line."""
    lines = [f"Diagnosis: {printable(diagnosis)}" for diagnosis in _diagnoses(task)]
    lines += [""] if lines else []
    hidden = _failing_hidden(task)
    for check in task.checks:
        if any(check is other for other in hidden[1:]):
            continue
        lines.append(f"{'PASS' if check.passed else 'FAIL'} {_cell(check.name)} ({check.score:g}/{check.max_score:g}): "
                     f"{printable(check.message)}")
        if hidden and check is hidden[0] and len(hidden) > 1:
            points = sum(c.max_score for c in hidden[1:])
            lines.append(f"FAIL (0/{points:g}) {_folded(hidden[1:], TEXT_LIMIT)}")
    return lines


def write_json(data, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
