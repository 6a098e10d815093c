"""Outcomes of one task -> a TaskResult: points scaled to the task's weight, and a status."""
from grader.report import CheckResult, TaskResult


def task_result(task_id, weight, outcomes, output=""):
    """Scale each outcome's relative points so the task's checks total ``weight``."""
    total = sum(o.points for o in outcomes) or 1.0
    checks = tuple(
        CheckResult(name=o.name, score=weight * o.points / total if o.passed else 0.0,
                    max_score=weight * o.points / total, passed=o.passed, message=o.message,
                    diagnosis=o.diagnosis)
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


def unavailable(task_id, weight, status, name, message):
    """A task that could not be graded at all: missing, or its definition failed."""
    check = CheckResult(name=name, score=0.0, max_score=weight, passed=False, message=message)
    return TaskResult(id=task_id, status=status, checks=(check,), max_score=weight)
