"""Gradebook, feedback, summary and progress over reports built in memory: hostile text stays inert."""

import csv
import io

from grader.classroom import gradebook, summary
from grader.classroom.feedback import feedback
from grader.classroom.progress import Progress
from grader.classroom.resume import record_of
from grader.classroom.run import GRADED, UNREADABLE, Graded
from grader.report import CheckResult, Report, TaskResult

TASKS = ("conv_forward_naive", "max_pool_forward_naive")
HOSTILE = '=HYPERLINK("http://x")\x1b[2J\r\u202e<script>alert(1)</script> *bold* [link](x) ```'


def report(message="expected 1.5, got 2.5", passed=False):
    checks = (
        CheckResult("public case", 2.0, 2.0, True, "ok"),
        CheckResult("hidden case", 0.0 if not passed else 3.0, 3.0, passed, message),
    )
    return Report(
        submission="s",
        grader_version="t",
        isolation="bubblewrap",
        tasks=(
            TaskResult(TASKS[0], "passed" if passed else "failed", checks, 5.0),
            TaskResult(TASKS[1], "passed", (CheckResult("public case", 4.0, 4.0, True, "ok"),), 4.0),
        ),
    )


def graded(student, message="expected 1.5, got 2.5", passed=False):
    return Graded(
        student=student, key="k", status=GRADED, report=report(message, passed), seconds=1.25, isolation="bubblewrap"
    )


def test_gradebook_has_one_column_per_task_and_the_scores():
    rows = list(csv.reader(io.StringIO(gradebook.text([record_of(graded("alice"))], TASKS))))
    assert rows[0] == ["student", "total", *TASKS, "status", "reason", "seconds", "isolation"]
    assert rows[1] == ["alice", "6.00", "2.00", "4.00", "graded", "", "1.25", "bubblewrap"]


def test_gradebook_cells_never_start_a_formula_nor_carry_controls():
    records = [
        record_of(graded(HOSTILE)),
        record_of(Graded(student="-1+1", key="", status=UNREADABLE, reason="@SUM(A1)")),
    ]
    rows = list(csv.reader(io.StringIO(gradebook.text(records, TASKS))))[1:]
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(gradebook.FORMULA_STARTS) for cell in cells)
    assert all(cell.isprintable() for cell in cells)
    assert {row[0] for row in rows} == {
        "'-1+1",
        "'" + '=HYPERLINK("http://x")\\x1b[2J\\r\\u202e<script>alert(1)</script> *bold* [link](x) ```',
    }
    assert rows[0][1] == "0.00" and rows[0][2] == "" and rows[0][-4] == "unreadable"


def test_markdown_feedback_lists_every_task_and_every_failed_message_escaped():
    text = feedback(HOSTILE, graded(HOSTILE, message=HOSTILE + "\nsecond line"), "md")
    for task_id in TASKS:
        assert task_id.replace("_", "\\_") in text
    assert "second line" in text and "All 1 checks passed." in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert "*bold*" not in text and "\\*bold\\*" in text and "```" not in text


def test_html_feedback_escapes_student_text():
    text = feedback(HOSTILE, graded(HOSTILE, message=HOSTILE), "html")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\x1b" not in text and "\u202e" not in text and text.count("<h2>") == len(TASKS)


def test_feedback_of_an_unreadable_submission_says_why():
    text = feedback("bob", Graded(student="bob", key="", status=UNREADABLE, reason="bob.ipynb is not a notebook"), "md")
    assert "not graded" in text and "bob\\.ipynb is not a notebook" in text


def test_summary_gives_mean_pass_rate_and_the_most_common_failure_counted_per_submission():
    records = [
        record_of(graded("a", "error 0.31 > 1e-07")),
        record_of(graded("b", "error 0.52 > 1e-07")),
        record_of(graded("c", passed=True)),
        record_of(Graded(student="d", key="", status=UNREADABLE, reason="x")),
    ]
    result = summary.summarize(records, TASKS)
    conv = result.tasks[0]
    assert (result.graded, result.not_graded) == (3, 1)
    assert conv.mean == (2.0 + 2.0 + 5.0) / 3 and conv.pass_rate == 1 / 3
    assert conv.failures == ((2, "error # > #"),)
    assert result.tasks[1].pass_rate == 1.0
    assert "2 submission(s): error # > #" in summary.text(result, markdown=False)
    assert "\n- 2 submission(s): error # &gt; #" in summary.text(result)


def test_summary_png_is_drawn_when_matplotlib_is_installed(tmp_path):
    result = summary.summarize([record_of(graded("a")), record_of(graded("b", passed=True))], TASKS)
    assert summary.draw(result, tmp_path / "summary.png") is None
    assert (tmp_path / "summary.png").read_bytes().startswith(b"\x89PNG")


def test_plain_progress_prints_a_line_per_submission_with_eta_and_failures():
    stream = io.StringIO()
    progress = Progress(3, skipped=2, stream=stream, is_terminal=False)
    progress.update("a\x1b[31m", "5.0 / 9.0", failed=False)
    progress.update("b", "unreadable: x", failed=True)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("2 submission(s) unchanged")
    assert lines[1].startswith("[1/3] a\\x1b[31m: 5.0 / 9.0") and "ETA" in lines[1] and "0 failed" in lines[1]
    assert "1 failed so far" in lines[2]


def test_terminal_progress_redraws_one_line():
    stream = io.StringIO()
    progress = Progress(2, stream=stream, is_terminal=True)
    progress.update("a", "1", failed=False)
    progress.update("b", "1", failed=True)
    progress.finish()
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("[....")
    assert "2/2 graded, 1 failed so far" in stream.getvalue()


def test_summary_markdown_cannot_carry_markup_from_a_failure_message():
    result = summary.summarize([record_of(graded("a", HOSTILE))], TASKS)
    text = summary.text(result)
    assert "<script>" not in text and "\x1b" not in text and "\u202e" not in text
    assert "&lt;script&gt;" in text and "\\*bold\\*" in text


def test_feedback_leads_a_failed_check_with_its_diagnosis_in_both_formats():
    diagnosed = CheckResult(
        "hidden case", 0.0, 3.0, False, "out: worst element 0.5", diagnosis="Stride ignored: use <s>."
    )
    result = Report(submission="s", grader_version="t", tasks=(TaskResult(TASKS[0], "failed", (diagnosed,), 3.0),))
    student = Graded(student="carol", key="k", status=GRADED, report=result, seconds=1.0, isolation="bubblewrap")
    markdown, page = feedback("carol", student, "md"), feedback("carol", student, "html")
    assert markdown.index("*Diagnosis:* Stride ignored: use &lt;s&gt;\\.") < markdown.index("worst element")
    assert page.index("<em>Diagnosis:</em> Stride ignored: use &lt;s&gt;.") < page.index("worst element")
