"""The class summary: per task the mean score, the pass rate and the most common failure messages;
printed, written as summary.md, and drawn as summary.png when matplotlib is installed (optional).

It reads records (resume.record_of): the JSON reports, whose text is already printable. Failure
messages are grouped with their numbers masked, so "error 3.2e-01" and "error 4.1e-01" count as one.
"""

import html
import re
from collections import Counter
from dataclasses import dataclass

from grader.boundary import printable

TOP_FAILURES = 3  # failure messages listed per task
FAILURE_WIDTH = 160  # characters of a failure message in the summary
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
HISTOGRAM_BINS = 20


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
    """(submissions, message) of the most common failure messages (numbers masked), most common first."""


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
    )


def _task_summary(task_id, reports):
    found = [task for report in reports for task in report["tasks"] if task["id"] == task_id]
    failures = Counter(
        message
        for task in found  # each submission counts once per message
        for message in {_masked(check["message"]) for check in task["checks"] if not check["passed"]}
    )
    return TaskSummary(
        id=task_id,
        mean=sum(t["score"] for t in found) / len(found) if found else 0.0,
        max_score=max((t["max_score"] for t in found), default=0.0),
        pass_rate=sum(t["status"] == "passed" for t in found) / len(found) if found else 0.0,
        failures=tuple((count, message) for message, count in failures.most_common(TOP_FAILURES)),
    )


def _masked(message):
    return printable(_NUMBER.sub("#", message), FAILURE_WIDTH)


def text(summary, markdown=True):
    """The summary as Markdown (summary.md), or as plain text for a terminal (markdown=False): the failure
    messages are escaped for Markdown only."""
    shown = _markdown_escaped if markdown else str
    lines = [
        "# Class summary",
        "",
        f"{summary.graded} graded, {summary.not_graded} not graded; "
        f"mean total {summary.mean_total:.1f} / {summary.max_total:.1f}",
        "",
        "| task | mean | pass rate |",
        "|---|---|---|",
    ]
    lines += [f"| {t.id} | {t.mean:.1f} / {t.max_score:.1f} | {100 * t.pass_rate:.0f}% |" for t in summary.tasks]
    lines.append("")
    for task in summary.tasks:
        if task.failures:
            lines.append(f"Most common failures of {task.id}:")
            lines += [f"- {count} submission(s): {shown(message)}" for count, message in task.failures]
            lines.append("")
    return "\n".join(lines)


def _markdown_escaped(message):
    """A failure message inside the Markdown summary: no markup can start in it."""
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", html.escape(message, quote=False))


def draw(summary, path):
    """summary.png: the histogram of totals and the pass rate per task. Returns None when written, else
    why not (matplotlib is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "summary.png not drawn: matplotlib is not installed (pip install matplotlib)"
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.hist(summary.totals, bins=HISTOGRAM_BINS, range=(0, summary.max_total or 100), color="#4477aa")
    left.set(title="Total scores", xlabel="score", ylabel="submissions")
    right.barh([t.id for t in summary.tasks][::-1], [100 * t.pass_rate for t in summary.tasks][::-1], color="#228833")
    right.set(title="Pass rate per task", xlabel="% of graded submissions", xlim=(0, 100))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return None
