"""Renderings of a Report: the terminal table, the JSON report, Gradescope's results.json."""
import json

_STATUS_WIDTH = 8


def table(report, verbose=True):
    """The per-task table and the total, as text."""
    rows = [(t.id, f"{t.score:.1f} / {t.max_score:.1f}", t.status, t.message) for t in report.tasks]
    id_width = max([len("task")] + [len(r[0]) for r in rows])
    score_width = max([len("score")] + [len(r[1]) for r in rows])
    lines = [f"{'task':<{id_width}}  {'score':>{score_width}}  {'status':<{_STATUS_WIDTH}}  message"]
    lines.append("-" * len(lines[0]))
    for task_id, score, status, message in rows:
        lines.append(f"{task_id:<{id_width}}  {score:>{score_width}}  {status:<{_STATUS_WIDTH}}  {_clip(message, 100)}")
    lines.append("-" * len(lines[0]))
    lines.append(f"{'total':<{id_width}}  {f'{report.score:.1f} / {report.max_score:.1f}':>{score_width}}")
    if verbose:
        lines.extend(_details(report))
    return "\n".join(lines)


def _details(report):
    if report.isolation:
        yield f"isolation: {report.isolation}"
    for note in report.notes:
        yield f"note: {_clip(note, 200)}"
    for task in report.tasks:
        for check in task.checks:
            if not check.passed:
                yield f"  {task.id} / {check.name}: {_clip(check.message, 300)}"


def _clip(text, width):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def to_json(report):
    """The full report as a dict in the schema of SPEC section 6."""
    return {
        "score": round(report.score, 4),
        "max_score": round(report.max_score, 4),
        "submission": report.submission,
        "grader_version": report.grader_version,
        "isolation": report.isolation,
        "notes": list(report.notes),
        "tasks": [
            {
                "id": task.id,
                "score": round(task.score, 4),
                "max_score": task.max_score,
                "status": task.status,
                "checks": [
                    {"name": c.name, "score": round(c.score, 4), "max_score": round(c.max_score, 4), "passed": c.passed, "message": c.message}
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
        lines = [f"{'PASS' if c.passed else 'FAIL'} {c.name} ({c.score:g}/{c.max_score:g}): {c.message}" for c in task.checks]
        if task.output:
            lines.append("\nYour code printed:\n" + task.output)
        tests.append({
            "name": task.id,
            "score": round(task.score, 4),
            "max_score": task.max_score,
            "status": "passed" if task.status == "passed" else "failed",
            "output": "\n".join(lines),
            "visibility": "visible",
        })
    return {
        "score": round(report.score, 4),
        "execution_time": round(report.seconds, 2),
        "output": "\n".join([f"isolation: {report.isolation}"] + list(report.notes)),
        "tests": tests,
    }


def write_json(data, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
