"""Per-student feedback a student can read: an HTML page (their notebook annotated with the grade, see
:mod:`grader.classroom.annotated`) or a Markdown file that reads as plain text in a terminal.

Both say, per task, its points ("2.33 / 3"), the diagnosis once (the classic mistake the evidence shows),
each failed check with its whole message, the first failing hidden case in full and the other failing
hidden cases on one line. Student text (messages quoting their exceptions, their prints) is made printable
first (grader.boundary). In Markdown, messages go into fenced code blocks, which need no escaping; inline
text (names, diagnoses, notes) escapes only what would start markup there (a backslash before
punctuation, a backtick, ``*``, ``_`` at a word's edge, brackets, ``<`` and an ``&`` that starts an
entity), with a backslash, never an HTML entity. No path of the instructor's machine reaches a student's file: paths under the class folder
are shown relative to it, as the student handed them in.
"""

import os
import re
from pathlib import Path

from grader.boundary import printable, printable_block
from grader.classroom import annotated
from grader.render import _diagnoses, _failing_hidden, _untouched, points
from grader.report import Kind

FORMATS = ("md", "html")
_MARKDOWN_SPECIAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~])|[`*\[\]<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?\w+;)"
)  # a backslash only before punctuation (CommonMark shows any other as it is)
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]+)")


def feedback(student, graded, form="md", notebook_path=None, class_dir=None):
    """The feedback document of one student.

    graded: a run.Graded. notebook_path: the student's notebook to annotate (HTML only; see
    :func:`graded_notebook`); None, or a notebook that cannot be read, gives a page built from the report
    alone. class_dir: the class folder, whose paths are shown relative to it."""
    shown = _shown_paths(class_dir)
    if form == "html":
        return annotated.page(printable(student), graded, notebook_path, shown)
    return _markdown(printable(student), graded, shown)


def graded_notebook(notebooks, folder, report):
    """Of a submission's notebooks (Paths, in their graded order) under ``folder``, the one to annotate: the
    one most of the report's tasks were graded from (TaskResult.source, a path within the submission), else
    the first; None when there is none."""
    if not notebooks:
        return None
    names = {_within(path, folder): path for path in notebooks}
    sources = [task.source for task in (report.tasks if report is not None else ()) if task.source in names]
    if not sources:
        return notebooks[0]
    return names[max(dict.fromkeys(sources), key=sources.count)]


def _within(path, folder):
    path = Path(path)
    return path.relative_to(folder).as_posix() if folder and path.is_relative_to(folder) else path.name


def _shown_paths(class_dir):
    """str -> str: paths under ``class_dir`` (as given and resolved) made relative to it; any other absolute
    path of this machine shown by its file name only."""
    roots = []
    if class_dir is not None:
        roots = sorted({str(Path(class_dir)), str(Path(class_dir).resolve())}, key=len, reverse=True)

    def shown(text):
        text = str(text)
        for root in roots:
            text = text.replace(root.rstrip(os.sep) + os.sep, "")
        return _ABSOLUTE_PATH.sub(lambda match: match.group(1), text)

    return shown


def _markdown(student, graded, shown):
    lines = [f"# Feedback for {_md(student)}", ""]
    report = graded.report
    if report is None:
        return "\n".join(lines + [f"Your submission was not graded: {_md(shown(graded.reason))}", ""])
    lines += [f"**Total: {points(report.score, report.max_score)}**", ""]
    lines += [f"- {_md(shown(note))}" for note in report.notes] + ([""] if report.notes else [])
    lines += _score_lines(report)
    for task in report.tasks:
        lines += [f"## {_md(task.id)}: {points(task.score, task.max_score)} ({_md(task.status)})", ""]
        lines += _task_lines(task, shown)
    return "\n".join(lines)


def _score_lines(report):
    """The score table, as a Markdown table that also reads as one in a terminal."""
    width = max([len("task")] + [len(task.id) for task in report.tasks])
    lines = [f"| {'task':<{width}} | {'points':>13} | status  |", f"|{'-' * (width + 2)}|{'-' * 14}:|---------|"]
    lines += [
        f"| {_md(task.id):<{width}} | {points(task.score, task.max_score):>13} | {_md(task.status):<7} |"
        for task in report.tasks
    ]
    return lines + [""]


def _task_lines(task, shown):
    if _untouched(task):
        return [f"{_md(shown(task.checks[0].message))}: all {len(task.checks)} checks failed.", ""]
    lines = [f"**Diagnosis:** {_md(diagnosis)}" for diagnosis in _diagnoses(task.checks)]
    lines += [""] if lines else []
    failed = [check for check in task.checks if not check.passed]
    if not failed:
        return lines + [f"All {len(task.checks)} checks passed.", ""]
    hidden = _failing_hidden(task.checks)
    for check in failed:
        if check.kind == Kind.HIDDEN and check is not hidden[0]:
            continue
        lines += [f"- {_md(check.name)} ({points(check.score, check.max_score)})", ""]
        lines += _code_block(shown(check.message), indent="  ")
    if len(hidden) > 1:
        names = "; ".join(_md(check.name.partition(": ")[2] or check.name) for check in hidden[1:])
        more = len(hidden) - 1
        lines += [f"- {more} more hidden case{'s' if more > 1 else ''} failed too: {names}", ""]
    return lines


def _code_block(text, indent=""):
    """``text`` as a fenced block (its fence longer than any backtick run in it), then a blank line."""
    body = printable_block(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
    return [indent + fence, *(indent + line if line else "" for line in body.split("\n")), indent + fence, ""]


def _md(text):
    """Inline text for Markdown: printable, with a backslash before what would start markup here only."""
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), printable(text))
