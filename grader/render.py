"""Renderings of a Report: the terminal table, the JSON report, Gradescope's results.json.

Every string of a Report may hold student text; each one passes through grader.boundary here, whatever
was done upstream, so no rendering can carry a control character, a lone surrogate or a flood.
"""

import json

from grader.boundary import FRAGMENT_LIMIT, MAX_ITEMS, TEXT_LIMIT, printable, printable_block, printable_items
from grader.config import Config
from grader.report import Kind, Reason
from grader.runtime import runtime_versions
from grader.tasks import TASKS, convnet
from grader.tasks.base import HIDDEN_CASE

SHOWN_BEFORE_PUBLICATION = frozenset((Kind.PUBLIC, Kind.PUBLIC_CHECK, Kind.DEFINITION))
"""Kinds of checks a student may see before grades are published: public cases, the convnet's checks on what the
notebook itself uses (it has no public case: the notebook's case is not graded), and the task-wide verdict that a
definition is missing or failed to load."""
SHOWN_CHECKS = frozenset(name for name, _, check in convnet.CHECKS if check in convnet.NOTEBOOK_CHECKS)
"""Names of the convnet's checks of Kind.PUBLIC_CHECK (for readers and tests: rendering goes by kind)."""

_STATUS_WIDTH = 8
MESSAGE_WIDTH = 100  # characters of a task's message in its table row: the row stays on one screen line
NOTE_WIDTH = 200  # characters of a note in the table's details
DETAIL_WIDTH = 300  # characters of a failed check's message in the table's details
PRINTED_INDENT = "    "  # starts every line a student's code printed, so no print can pass for a PASS/FAIL line
MAX_NOTEBOOKS = 100  # notebook names listed in the JSON report (a folder may hold thousands)
SOURCE_WIDTH = 40  # characters of a notebook's name in the table's 'notebook' column
NOTES_SHOWN = (
    2 * MAX_ITEMS
)  # the pipeline's two kinds of notes (notebooks skipped, statements that failed), each bounded


def amount(value):
    """Points as people read them: at most two decimals, no trailing zeros (2.3333 -> '2.33', 3.0 -> '3')."""
    return f"{round(float(value), 2) + 0.0:g}"  # + 0.0: no '-0'


def points(score, max_score):
    """'2.33 / 3': a score out of its maximum, for people (the JSON keeps the exact figures)."""
    return f"{amount(score)} / {amount(max_score)}"


def shortened(text, width):
    """``text`` made printable and, when longer than ``width``, cut at the last word boundary that fits and
    ended with '…' (a word is never cut in the middle unless it alone is longer than the room). The full
    text stays in the JSON report and the feedback."""
    whole = printable(text)
    if len(whole) <= width:
        return whole
    room = whole[: width - 1]
    space = room.rstrip().rfind(" ")
    cut = room[:space] if space > width // 2 else room
    return cut.rstrip(" ,;:") + "…"


def table(report, verbose=True):
    """The per-task table and the total, as text; when the submission has several notebooks, a column says
    which one each task's graded definition came from."""
    rows = [(_cell(t.id), points(t.score, t.max_score), _cell(t.status), _leading(t)) for t in report.tasks]
    id_width = max([len("task")] + [len(r[0]) for r in rows])
    score_width = max([len("score")] + [len(r[1]) for r in rows])
    sources = _source_column(report)
    lines = [f"{'task':<{id_width}}  {'score':>{score_width}}  {'status':<{_STATUS_WIDTH}}  {sources[0]}message"]
    lines.append("-" * len(lines[0]))
    for (task_id, score, status, message), source in zip(rows, sources[1:]):
        lines.append(
            f"{task_id:<{id_width}}  {score:>{score_width}}  {status:<{_STATUS_WIDTH}}  {source}"
            f"{shortened(message, MESSAGE_WIDTH)}"
        )
    lines.append("-" * len(lines[0]))
    lines.append(f"{'total':<{id_width}}  {points(report.score, report.max_score):>{score_width}}")
    if verbose:
        lines.extend(_details(report))
    else:  # the notes say what was and was not graded (a notebook skipped, a definition that failed): kept
        lines.extend(_note_lines(report))
    return "\n".join(lines)


def _details(report):
    if report.isolation:
        yield f"isolation: {printable(report.isolation)}"
    yield from _note_lines(report)
    for task in report.tasks:
        if _untouched(task):
            yield (
                f"  {_cell(task.id)}: {shortened(task.checks[0].message, DETAIL_WIDTH)}; "
                f"all {len(task.checks)} checks failed"
            )
            continue
        for diagnosis in _diagnoses(task.checks):
            yield f"  {_cell(task.id)} / diagnosis: {shortened(diagnosis, DETAIL_WIDTH)}"
        for line in _failures(task.checks, DETAIL_WIDTH):
            yield f"  {_cell(task.id)} / {line}"


def _source_column(report):
    """The 'notebook' column's header and one entry per task, each padded and followed by two spaces; all
    empty for a submission of one notebook."""
    if len(report.notebooks) < 2:
        return [""] * (len(report.tasks) + 1)
    entries = ["notebook"] + [printable(t.source, SOURCE_WIDTH) if t.source else "-" for t in report.tasks]
    width = max(len(entry) for entry in entries)
    return [f"{entry:<{width}}  " for entry in entries]


def _note_lines(report):
    return (f"note: {note}" for note in _notes(report, NOTE_WIDTH))


def _untouched(task):
    """Whether ``task`` is still the stub: no check passed, and each failed because the code raised
    NotImplementedError (grader.tasks.base.call_failed), was not awarded for it or was not run after it
    (one line says that better than one per check)."""
    reasons = [check.reason for check in task.checks]
    return (
        not any(check.passed for check in task.checks)
        and Reason.NOT_IMPLEMENTED in reasons
        and all(r in (Reason.NOT_IMPLEMENTED, Reason.NOT_AWARDED, Reason.NOT_RUN) for r in reasons)
    )


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
        "runtime": {_cell(k): _cell(v) for k, v in report_runtime(report).items()},
        "tasks": [
            {
                "id": _cell(task.id),
                "score": round(task.score, 4),
                "max_score": task.max_score,
                "status": _cell(task.status),
                "source": printable(task.source, FRAGMENT_LIMIT),
                "checks": [
                    {
                        "name": _cell(c.name),
                        "score": round(c.score, 4),
                        "max_score": round(c.max_score, 4),
                        "passed": c.passed,
                        "message": printable(c.message),
                        "diagnosis": printable(c.diagnosis),
                        "kind": _cell(c.kind),
                        "reason": _cell(c.reason),
                    }
                    for c in task.checks
                ],
            }
            for task in report.tasks
        ],
    }


def to_gradescope(report, config=None):
    """Gradescope's results.json: per task, a visible test of its public checks and a test of everything else.

    What students may see before grades are published is each task's public checks (the public case, whose
    inputs are in the notebook; for the convnet, its checks of Kind.PUBLIC_CHECK) and whether the definition
    loaded: the kinds of SHOWN_BEFORE_PUBLICATION. Every other check (hidden cases, properties, speed, inputs
    unchanged, the convnet's variations) and what the student's code printed while graded (it may print hidden
    inputs) go into the second test, shown as ``config.hidden_visibility`` says. Gradescope shows a student the
    total only when no test is hidden from them. The top-level ``output``, which students always see, holds
    only the notes about their submission (a notebook skipped, a statement that failed); how their code was
    isolated is for the instructor (``extra_data``, the JSON report, the autograder's printed output).
    """
    config = config or Config()
    tests = []
    for task in report.tasks:
        public = [c for c in task.checks if _is_public(c)]
        hidden = [c for c in task.checks if not _is_public(c)]
        if public:
            tests.append(_gradescope_test(f"{_cell(task.id)}: {_public_label(task.id)}", public, "", "visible"))
        if hidden:
            tests.append(
                _gradescope_test(
                    f"{_cell(task.id)}: hidden cases and other checks", hidden, task.output, config.hidden_visibility
                )
            )
    return {
        "score": round(report.score, 4),
        "execution_time": round(report.seconds, 2),
        "output": "\n".join(_notes(report)),
        "visibility": "visible",
        "stdout_visibility": config.stdout_visibility,
        "extra_data": {
            "isolation": printable(report.isolation),
            "runtime": {_cell(k): _cell(v) for k, v in report_runtime(report).items()},
        },
        "tests": tests,
    }


def _public_label(task_id):
    """The name of a task's visible test: 'public case', or 'public checks' for the convnet (Kind.PUBLIC_CHECK)."""
    task = TASKS.get(task_id)
    return "public checks" if task is not None and task.grade is convnet.grade else "public case"


def _is_public(check):
    """Whether a student may see ``check`` before grades are published (SHOWN_BEFORE_PUBLICATION)."""
    return check.kind in SHOWN_BEFORE_PUBLICATION


def _gradescope_test(name, checks, output, visibility):
    lines = _gradescope_lines(checks)
    if output:
        lines.append("\nYour code printed:\n" + _indented(printable_block(output)))
    return {
        "name": name,
        "score": round(sum(c.score for c in checks), 4),
        "max_score": round(sum(c.max_score for c in checks), 4),
        "status": "passed" if all(c.passed for c in checks) else "failed",
        "output": "\n".join(lines),
        "visibility": visibility,
    }


def _diagnoses(checks):
    """The mistakes the evidence names in the failed ``checks``, each once, in the order of the checks."""
    return tuple(dict.fromkeys(c.diagnosis for c in checks if not c.passed and c.diagnosis))


def _leading(task):
    """A task's one-line message for the table: its (first) diagnosis when there is one, else the first failure."""
    return next(iter(_diagnoses(task.checks)), "") or task.message


def _failing_hidden(checks):
    """The failing hidden cases among ``checks``: the first is shown in full, the rest (see :func:`_folded`) on one line."""
    return [c for c in checks if not c.passed and c.kind == Kind.HIDDEN]


def _failures(checks, width=TEXT_LIMIT):
    """A line per failed check, except that the failing hidden cases after the first are folded into one
    line that counts them and names their cases: a task failing ten hidden cases shows the first in full,
    then one line, not nine."""
    for check, folded in _shown_checks(checks):
        if check.passed:
            continue
        yield f"{_cell(check.name)}: {shortened(check.message, width)}"
        if folded:
            yield _folded(folded, width)


def _shown_checks(checks):
    """(check, folded) for every check shown on its own line: all but the failing hidden cases after the
    first, which are ``folded`` after the first of them (an empty tuple everywhere else)."""
    hidden = _failing_hidden(checks)
    first, rest = (hidden[0] if hidden else None), tuple(hidden[1:])
    for check in checks:
        if not any(check is other for other in rest):
            yield check, rest if check is first else ()


def _folded(checks, width):
    """One line for failing hidden cases: how many, and their cases."""
    cases = "; ".join(c.name.removeprefix(HIDDEN_CASE).lstrip(": ") for c in checks)
    return shortened(f"{len(checks)} more {HIDDEN_CASE}s failed too: {cases}", width)


def _gradescope_lines(checks):
    """A Gradescope test's output: the diagnoses of its checks first, then a PASS or FAIL line per check, the
    failing hidden cases after the first folded into one FAIL line. A test shows only what its own checks
    show: a diagnosis drawn from hidden cases stays with them, under their visibility."""
    lines = [f"Diagnosis: {printable(diagnosis)}" for diagnosis in _diagnoses(checks)]
    lines += [""] if lines else []
    for check, folded in _shown_checks(checks):
        lines.append(
            f"{'PASS' if check.passed else 'FAIL'} {_cell(check.name)} ({check.score:g}/{check.max_score:g}): "
            f"{printable(check.message)}"
        )
        if folded:
            lines.append(f"FAIL (0/{sum(c.max_score for c in folded):g}) {_folded(folded, TEXT_LIMIT)}")
    return lines


def report_runtime(report):
    """The versions a report was graded under: its own record (a report built by hand has none: this process's)."""
    return report.runtime or runtime_versions()


def _indented(block):
    """A block of student text set off from the grader's lines: none of its lines can pass for a check's."""
    return "\n".join(PRINTED_INDENT + line for line in block.split("\n"))


def write_json(data, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
