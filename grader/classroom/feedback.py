"""Per-student feedback a student can read: Markdown or HTML, every task, every failed check's message,
led by its diagnosis (the classic mistake the evidence shows) when there is one.

Student text (messages quoting their exceptions, their prints) is made printable first
(grader.boundary) and then escaped for the format: in Markdown every ASCII punctuation character that
could start markup is backslash-escaped and ``& < >`` become entities (Markdown passes raw HTML
through); in HTML everything goes through html.escape.
"""

import html
import re

from grader.boundary import printable, printable_block

FORMATS = ("md", "html")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def feedback(student, graded, form="md"):
    """The feedback document of one student. graded: a run.Graded."""
    return (_markdown if form == "md" else _html)(printable(student), graded)


def _markdown(student, graded):
    lines = [f"# Feedback for {_md(student)}", ""]
    report = graded.report
    if report is None:
        return "\n".join(lines + [f"Your submission was not graded: {_md(graded.reason)}", ""])
    lines += [f"**Total: {report.score:.1f} / {report.max_score:.1f}**", ""]
    lines += [f"- {_md(note)}" for note in report.notes] + ([""] if report.notes else [])
    for task in report.tasks:
        lines += [f"## {_md(task.id)}: {task.score:.1f} / {task.max_score:.1f} ({_md(task.status)})", ""]
        failed = [check for check in task.checks if not check.passed]
        if not failed:
            lines += [f"All {len(task.checks)} checks passed.", ""]
        for check in failed:
            lines.append(f"- **{_md(check.name)}** ({check.score:g} / {check.max_score:g}):  ")
            if check.diagnosis:  # the classic mistake the evidence shows leads, as in the table and Gradescope
                lines.append(f"  *Diagnosis:* {_md(check.diagnosis)}  ")
            lines += [f"  {_md(line)}  " for line in printable_block(check.message).split("\n")]
        lines += [""] if failed else []
    return "\n".join(lines)


def _html(student, graded):
    head = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Feedback for {_h(student)}</title></head>'
        f"<body>\n<h1>Feedback for {_h(student)}</h1>\n"
    )
    report = graded.report
    if report is None:
        return head + f"<p>Your submission was not graded: {_h(graded.reason)}</p>\n</body></html>\n"
    parts = [head, f"<p><strong>Total: {report.score:.1f} / {report.max_score:.1f}</strong></p>\n"]
    parts += [f"<p>{_h(note)}</p>\n" for note in report.notes]
    for task in report.tasks:
        parts.append(f"<h2>{_h(task.id)}: {task.score:.1f} / {task.max_score:.1f} ({_h(task.status)})</h2>\n")
        failed = [check for check in task.checks if not check.passed]
        if not failed:
            parts.append(f"<p>All {len(task.checks)} checks passed.</p>\n")
            continue
        parts.append("<ul>\n")
        parts += [
            f"<li><strong>{_h(c.name)}</strong> ({c.score:g} / {c.max_score:g}):"
            + (f"<p><em>Diagnosis:</em> {_h(c.diagnosis)}</p>" if c.diagnosis else "")
            + f"<pre>{_h_block(c.message)}</pre></li>\n"
            for c in failed
        ]
        parts.append("</ul>\n")
    return "".join(parts + ["</body></html>\n"])


def _md(text):
    escaped = html.escape(printable(text), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def _h(text):
    return html.escape(printable(text))


def _h_block(text):
    return html.escape(printable_block(text))
