"""The class summary an instructor plans the next lecture from: printed, written as summary.md, and drawn as
summary.png when matplotlib is installed (optional).

It leads with the misconceptions: the catalogued mistakes the grader named in the reports (a check's
``diagnosis``, assignment/mistakes.py), each counted in students, not checks. Then per task, the tasks most
students failed first: the misconceptions named there and the real failure causes. A check that earned
nothing only because another check failed (``reason`` not awarded, not run: grader/report.py Reason) is a
consequence, never a cause. Causes are grouped by their message with its numbers masked, so "error 3.2e-01"
and "error 4.1e-01" count as one, while the digits of a name (W2, float32, data_batch_1) stay.

It reads records (resume.record_of): the JSON reports, whose text is already printable.
"""

import re
from collections import Counter
from dataclasses import dataclass

from grader.boundary import printable
from grader.report import Reason

TOP_FAILURES = 3  # failure causes listed per task: the ones worth a lecture, not a log
FAILURE_WIDTH = 160  # characters of a failure cause in the summary: one line of a report
# A number that is not the tail of a name: W2, float32 and x1 keep their digits; 1e-07, -0.5, (4, 3) do not.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
ESCAPED_NEWLINE = "\\n"  # a newline as grader.boundary.printable writes it: a cause is the message's first line
CONSEQUENCES = (Reason.NOT_AWARDED, Reason.NOT_RUN)  # earned nothing because another check failed
NOT_IMPLEMENTED_CAUSE = "not implemented: the stub still raises NotImplementedError"
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class Misconception:
    """One catalogued mistake the grader named, over the class."""

    text: str
    """The diagnosis as the reports carry it: its name, a colon, then the fix."""
    students: int
    """Graded submissions it was named in (a student counts once, however many checks and tasks name it)."""
    tasks: tuple
    """(task id, students) for each task it was named in, in the summary's task order."""

    @property
    def name(self):
        """The mistake's name: its text up to the first colon ('pad = 0 slicing')."""
        return self.text.partition(": ")[0]

    @property
    def fix(self):
        """What the text says after the name: why it is wrong and the fix."""
        return self.text.partition(": ")[2]


@dataclass(frozen=True)
class TaskSummary:
    """One task over the graded submissions."""

    id: str
    mean: float
    """Mean score (points)."""
    max_score: float
    pass_rate: float
    """Share of graded submissions whose task status is 'passed', 0..1."""
    failures: tuple
    """(students, cause) of the most common real failure causes (numbers masked), most common first."""
    failed: int = 0
    """Graded submissions whose task status is not 'passed'."""
    misconceptions: tuple = ()
    """(students, diagnosis text) of the mistakes named in this task, most common first."""
    explained: int = 0
    """Graded submissions in which this task has a misconception named."""


@dataclass(frozen=True)
class ClassSummary:
    graded: int
    """Submissions with a report."""
    not_graded: int
    """Submissions without one (unreadable, errors, pending)."""
    mean_total: float
    max_total: float
    tasks: tuple
    """TaskSummary per task, in the gradebook's order."""
    totals: tuple
    """Total score per graded submission (for the histogram)."""
    misconceptions: tuple = ()
    """Misconception per named mistake, most students first."""


def summarize(records, task_ids):
    reports = [r["report"] for r in records if r.get("report")]
    totals = tuple(float(report["score"]) for report in reports)
    max_total = max((float(report["max_score"]) for report in reports), default=0.0)
    tasks = tuple(_task_summary(task_id, reports) for task_id in task_ids)
    return ClassSummary(
        graded=len(reports),
        not_graded=len(records) - len(reports),
        mean_total=sum(totals) / len(totals) if totals else 0.0,
        max_total=max_total,
        tasks=tasks,
        totals=totals,
        misconceptions=_misconceptions(reports, tasks),
    )


def _task_summary(task_id, reports):
    found = [task for report in reports for task in report["tasks"] if task["id"] == task_id]
    failures = Counter(cause for task in found for cause in _causes(task))  # each student once per cause
    named = [_diagnoses(task) for task in found]
    misconceptions = Counter(text for texts in named for text in texts)
    return TaskSummary(
        id=task_id,
        mean=sum(t["score"] for t in found) / len(found) if found else 0.0,
        max_score=max((t["max_score"] for t in found), default=0.0),
        pass_rate=sum(t["status"] == "passed" for t in found) / len(found) if found else 0.0,
        failures=tuple((count, cause) for cause, count in failures.most_common(TOP_FAILURES)),
        failed=sum(t["status"] != "passed" for t in found),
        misconceptions=tuple((count, text) for text, count in misconceptions.most_common()),
        explained=sum(bool(texts) for texts in named),
    )


def _failed_checks(task):
    return [check for check in task["checks"] if not check["passed"]]


def _causes(task):
    """The distinct real failure causes of one student's task: consequences left out, a stub's checks one cause."""
    causes = set()
    for check in _failed_checks(task):
        reason = check.get("reason", Reason.NONE)  # records written before the field existed have none
        if reason in CONSEQUENCES:
            continue
        causes.add(NOT_IMPLEMENTED_CAUSE if reason == Reason.NOT_IMPLEMENTED else _masked(check["message"]))
    return causes


def _diagnoses(task):
    return {check["diagnosis"] for check in _failed_checks(task) if check.get("diagnosis")}


def _misconceptions(reports, tasks):
    """Each named mistake over the class: a student counts once, however many of their tasks name it."""
    students = Counter(text for report in reports for text in {t for task in report["tasks"] for t in _diagnoses(task)})
    per_task = {text: [] for text in students}
    for task in tasks:
        for count, text in task.misconceptions:
            per_task[text].append((task.id, count))
    ordered = sorted(students, key=lambda text: (-students[text], text))
    return tuple(Misconception(text, students[text], tuple(per_task[text])) for text in ordered)


def _masked(message):
    """A failure message as a cause: its first line, numbers masked, cut at a word within FAILURE_WIDTH."""
    first = _NUMBER.sub("#", message.split(ESCAPED_NEWLINE, 1)[0]).strip()
    if len(first) <= FAILURE_WIDTH:
        return printable(first, FAILURE_WIDTH)
    cut = first[: FAILURE_WIDTH - 1].rsplit(" ", 1)[0]
    return printable(cut + "…", FAILURE_WIDTH)


def _students(count):
    return f"{count} student{'' if count == 1 else 's'}"


def text(summary, markdown=True):
    """The summary as Markdown (summary.md), or as plain text for a terminal (markdown=False). The grader's
    own words (task ids, the catalogue's mistakes and fixes) are written as they are; text that comes from
    a report, which may hold a student's words, is escaped for Markdown only."""
    shown = _markdown_escaped if markdown else str
    lines = [
        "# Class summary",
        "",
        f"{summary.graded} graded, {summary.not_graded} not graded"
        + (f"; mean total {summary.mean_total:.1f} / {summary.max_total:.1f}" if summary.graded else ""),
        "",
    ]
    lines += _misconception_lines(summary, shown)
    lines += _task_table(summary, shown)
    for task in sorted(summary.tasks, key=lambda t: -t.failed):  # the tasks most students failed first
        lines += _task_lines(task, summary.graded, shown)
    return "\n".join(lines).rstrip("\n")


def _misconception_lines(summary, shown):
    lines = ["## Misconceptions, most students first", ""]
    if not summary.misconceptions:
        return lines + ["No catalogued mistake was named in any report.", ""]
    for item in summary.misconceptions:
        where = ", ".join(f"{task_id} {count}" for task_id, count in item.tasks)
        lines.append(f"- {item.name}: {_students(item.students)} ({where})")
        lines.append(f"  {item.fix}")
    return lines + [""]


def _task_table(summary, shown):
    lines = [
        "## Tasks",
        "",
        "| task | mean | pass rate | failed | misconception named |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {t.id} | {t.mean:.1f} / {t.max_score:.1f} | {100 * t.pass_rate:.0f}% | {t.failed} | {t.explained} |"
        for t in summary.tasks
    ]
    return lines + [""]


def _task_lines(task, graded, shown):
    if not task.failed and not task.failures:
        return []
    lines = [f"### {task.id}: {task.failed} of {_students(graded)} failed", ""]
    for count, diagnosis in task.misconceptions:
        lines.append(f"- misconception, {_students(count)}: {diagnosis.partition(': ')[0]}")
    for count, cause in task.failures:
        lines.append(f"- failure, {_students(count)}: {shown(cause)}")
    return lines + [""]


def _markdown_escaped(message):
    """Report text inside the Markdown summary, which reads as it is and in which no markup can start: a
    backslash before each character that could start markup or HTML (CommonMark lets any punctuation be
    escaped so), but an underscore inside a word, which cannot."""
    return _MARKUP.sub(lambda found: "\\" + found.group(0), message)


_MARKUP = re.compile(r"[\\`*\[\]|<&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def figure(summary):
    """summary.png's figure (matplotlib must be importable): the histogram of totals, the students who failed
    each task with those in whom a misconception was named, and the misconceptions' students per task. Every
    count axis has integer ticks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    bars = [(f"{t.id}: {text.partition(': ')[0]}", count) for t in summary.tasks for count, text in t.misconceptions]
    drawn = plt.figure(figsize=(13, 5.5 + 0.4 * len(bars)), layout="constrained")
    top, bottom = drawn.subfigures(2, 1, height_ratios=(4.5, 1.2 + 0.4 * max(len(bars), 1)))
    totals, tasks = top.subplots(1, 2)
    totals.hist(summary.totals, bins=HISTOGRAM_BINS, range=(0, summary.max_total or 100), color="#4477aa")
    totals.set(title="Total scores", xlabel="score", ylabel="students")
    totals.yaxis.set_major_locator(MaxNLocator(integer=True))
    names = [t.id for t in summary.tasks][::-1]
    tasks.barh(names, [t.failed for t in summary.tasks][::-1], color="#bbbbbb", label="failed")
    tasks.barh(
        names, [t.explained for t in summary.tasks][::-1], color="#cc6677", label="of whom a misconception was named"
    )
    tasks.set(title="Students who failed each task", xlabel="students", xlim=(0, max(summary.graded, 1)))
    tasks.xaxis.set_major_locator(MaxNLocator(integer=True))
    tasks.legend(loc="lower right")
    mistakes = bottom.subplots()
    mistakes.barh([label for label, _ in bars][::-1], [count for _, count in bars][::-1], color="#cc6677")
    mistakes.set(title="Misconceptions per task", xlabel="students", xlim=(0, max(summary.graded, 1)))
    mistakes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not bars:
        mistakes.text(0.5, 0.5, "no misconception named", ha="center", va="center", transform=mistakes.transAxes)
        mistakes.set_yticks([])
    return drawn


def draw(summary, path):
    """summary.png. Returns None when written, else why not (matplotlib is optional)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "summary.png not drawn: matplotlib is not installed (pip install matplotlib)"
    drawn = figure(summary)  # chooses the Agg backend before pyplot is imported
    import matplotlib.pyplot as plt

    drawn.savefig(path, dpi=100)
    plt.close(drawn)
    return None
