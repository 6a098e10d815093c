"""Outcomes of one task -> a TaskResult: points scaled to the task's weight, and a status."""

from grader.report import KINDS, REASONS, CheckResult, Kind, TaskResult


def task_result(task_id, weight, outcomes, output=""):
    """Scale each outcome's relative points so the task's checks total ``weight``; an outcome whose kind or
    reason is not one the renderers know is the grader's bug, loud."""
    for o in outcomes:
        if o.kind not in KINDS or o.reason not in REASONS:
            raise ValueError(f"{task_id}: check {o.name!r} has kind {o.kind!r} and reason {o.reason!r}")
    total = sum(o.points for o in outcomes) or 1.0
    checks = tuple(
        CheckResult(
            name=o.name,
            score=weight * o.points / total if o.passed else 0.0,
            max_score=weight * o.points / total,
            passed=o.passed,
            message=o.message,
            diagnosis=o.diagnosis,
            kind=o.kind,
            reason=o.reason,
        )
        for o in outcomes
    )
    return TaskResult(id=task_id, status=_status(outcomes), checks=checks, max_score=weight, output=output)


def _status(outcomes):
    if all(o.passed for o in outcomes):
        return "passed"
    if any(o.failure == "timeout" for o in outcomes):
        return "timeout"
    if not any(o.passed for o in outcomes) and any(o.failure == "error" for o in outcomes):
        return "error"
    return "failed"


def unavailable(task_id, weight, status, name, message, kind=Kind.DEFINITION):
    """A task that could not be graded at all: missing, or its definition failed (``kind`` Kind.DEFINITION), or
    the grader failed on it (Kind.GRADING)."""
    check = CheckResult(name=name, score=0.0, max_score=weight, passed=False, message=message, kind=kind)
    return TaskResult(id=task_id, status=status, checks=(check,), max_score=weight)
