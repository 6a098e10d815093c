"""Renderings of a Report: the terminal table, the JSON report, Gradescope's results.json.

Every string of a Report may hold student text; each one passes through grader.boundary here, whatever
was done upstream, so no rendering can carry a control character, a lone surrogate or a flood.
"""
import json

from grader.boundary import FRAGMENT_LIMIT, MAX_ITEMS, TEXT_LIMIT, printable, printable_block, printable_items

_STATUS_WIDTH = 8
MESSAGE_WIDTH = 100  # characters of a task's message in its table row: the row stays on one screen line
NOTE_WIDTH = 200  # characters of a note in the table's details
DETAIL_WIDTH = 300  # characters of a failed check's message in the table's details
PRINTED_INDENT = "    "  # starts every line a student's code printed, so no print can pass for a PASS/FAIL line
MAX_NOTEBOOKS = 100  # notebook names listed in the JSON report (a folder may hold thousands)
SOURCE_WIDTH = 40  # characters of a notebook's name in the table's 'notebook' column
NOTES_SHOWN = 2 * MAX_ITEMS  # the pipeline's two kinds of notes (notebooks skipped, statements that failed), each bounded


def table(report, verbose=True):
    """The per-task table and the total, as text; when the submission has several notebooks, a column says
    which one each task's graded definition came from."""
    rows = [(_cell(t.id), f"{t.score:.1f} / {t.max_score:.1f}", _cell(t.status), t.message) for t in report.tasks]
    id_width = max([len("task")] + [len(r[0]) for r in rows])
    score_width = max([len("score")] + [len(r[1]) for r in rows])
    sources = _source_column(report)
    lines = [f"{'task':<{id_width}}  {'score':>{score_width}}  {'status':<{_STATUS_WIDTH}}  {sources[0]}message"]
    lines.append("-" * len(lines[0]))
    for (task_id, score, status, message), source in zip(rows, sources[1:]):
        lines.append(f"{task_id:<{id_width}}  {score:>{score_width}}  {status:<{_STATUS_WIDTH}}  {source}"
                     f"{printable(message, MESSAGE_WIDTH)}")
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
        for check in task.checks:
            if not check.passed:
                yield f"  {_cell(task.id)} / {_cell(check.name)}: {printable(check.message, DETAIL_WIDTH)}"


def _source_column(report):
    """The 'notebook' column's header and one entry per task, each padded and followed by two spaces; all
    empty for a submission of one notebook."""
    if len(report.notebooks) < 2:
        return [""] * (len(report.tasks) + 1)
    entries = ["notebook"] + [printable(t.source, SOURCE_WIDTH) if t.source else "-" for t in report.tasks]
    width = max(len(entry) for entry in entries)
    return [f"{entry:<{width}}  " for entry in entries]


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
        "notebooks": list(printable_items(tuple(report.notebooks), FRAGMENT_LIMIT, MAX_NOTEBOOKS)),
        "tasks": [
            {
                "id": _cell(task.id),
                "score": round(task.score, 4),
                "max_score": task.max_score,
                "status": _cell(task.status),
                "source": printable(task.source, FRAGMENT_LIMIT),
                "checks": [
                    {"name": _cell(c.name), "score": round(c.score, 4), "max_score": round(c.max_score, 4), "passed": c.passed,
                     "message": printable(c.message)}
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
        lines = [f"{'PASS' if c.passed else 'FAIL'} {_cell(c.name)} ({c.score:g}/{c.max_score:g}): {printable(c.message)}"
                 for c in task.checks]
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


def write_json(data, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
