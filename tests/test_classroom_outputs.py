"""Gradebook, summary and progress over reports built in memory: hostile text stays inert (feedback: test_feedback)."""

import csv
import io
import re
from datetime import datetime

import pytest

from grader.classroom import gradebook, summary
from grader.classroom.discover import LmsName
from grader.classroom.progress import Progress
from grader.classroom.resume import record_of
from grader.classroom.run import GRADED, PENDING, UNREADABLE, Graded
from grader.report import CheckResult, Kind, Reason, Report, TaskResult

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
    assert "- failure, 2 students: error # > #" in summary.text(result, markdown=False)
    assert "\n- failure, 2 students: error # > #" in summary.text(result)


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
    assert re.search(r"(?<!\\)<script", text) is None and "\x1b" not in text and "\u202e" not in text
    assert "\\<script>" in text and "\\*bold\\*" in text


# A mixed class's report and its LMS gradebooks.
MIXED_TASKS = ("conv_backward_naive", "max_pool_forward_naive")
PAD = "pad = 0 slicing: dx_pad[:, :, p:-p, p:-p] is empty when p = 0; crop with dx_pad[:, :, p:p + H, p:p + W]"
SWAP = "height and width mixed up: rows go with H and HH (pool_height), columns with W and WW (pool_width)"
WHEN = datetime(2025, 3, 14, 9, 26, 53)


def _check(message, diagnosis="", kind=Kind.HIDDEN, reason=Reason.NONE, passed=False):
    return CheckResult(
        "hidden case: x (2, 3, 7, 7)", 2.0 if passed else 0.0, 2.0, passed, message, diagnosis, kind, reason
    )


def _task(task_id, *checks):
    checks = checks or (_check("ok", passed=True),)
    return TaskResult(task_id, "passed" if all(c.passed for c in checks) else "failed", checks, 2.0 * len(checks))


def _student(name, conv=(), pool=()):
    report = Report("s", (_task(MIXED_TASKS[0], *conv), _task(MIXED_TASKS[1], *pool)), "t", isolation="bubblewrap")
    return record_of(Graded(student=name, key="k", status=GRADED, report=report, seconds=1.0, isolation="bubblewrap"))


def _pad_zero(shape):
    return (
        _check(f"dx: expected shape {shape}, got {shape[:2] + (0, 0)}", PAD),
        _check("not awarded: earned only when every outputs check passes", kind=Kind.SPEED, reason=Reason.NOT_AWARDED),
    )


def _square_window(error):
    return (_check(f"out: relative error {error} > 1e-07; worst at index (0, 0, 1, 2)", SWAP),)


@pytest.fixture
def mixed():
    return [
        _student("a", conv=_pad_zero((2, 3, 7, 7))),
        _student("b", conv=_pad_zero((2, 2, 7, 6))),
        _student("c", conv=_pad_zero((1, 1, 5, 5)), pool=_square_window("1.95e-01")),
        _student("d", pool=_square_window("3.1e-01")),
        _student("e", conv=(_check("W2: expected shape (16, 100), got (100, 16)"),)),
        _student("f", conv=(_check("raised NotImplementedError", reason=Reason.NOT_IMPLEMENTED),) * 2),
        _student("g"),
        record_of(Graded(student="h", key="", status=UNREADABLE, reason="not a notebook")),
    ]


def test_misconceptions_are_counted_in_students_most_common_first(mixed):
    result = summary.summarize(mixed, MIXED_TASKS)
    assert [(m.name, m.students, m.tasks) for m in result.misconceptions] == [
        ("pad = 0 slicing", 3, (("conv_backward_naive", 3),)),
        ("height and width mixed up", 2, (("max_pool_forward_naive", 2),)),
    ]
    conv, pool = result.tasks
    assert (conv.failed, conv.explained, pool.failed, pool.explained) == (5, 3, 2, 2)
    text = summary.text(result, markdown=False)
    assert "- pad = 0 slicing: 3 students (conv_backward_naive 3)" in text
    assert "- height and width mixed up: 2 students (max_pool_forward_naive 2)" in text
    assert text.index("pad = 0 slicing: 3 students") < text.index("height and width") < text.index("## Tasks")


def test_causes_leave_out_withheld_points_and_keep_the_digits_of_names(mixed):
    conv = summary.summarize(mixed, MIXED_TASKS).tasks[0]
    assert conv.failures == (
        (3, "dx: expected shape (#, #, #, #), got (#, #, #, #)"),
        (1, "W2: expected shape (#, #), got (#, #)"),
        (1, summary.NOT_IMPLEMENTED_CAUSE),
    )
    assert not any("not awarded" in cause for _, cause in conv.failures)


def test_the_markdown_summary_escapes_report_text_and_counts_students(mixed):
    text = summary.text(summary.summarize(mixed, MIXED_TASKS))
    assert "- pad = 0 slicing: 3 students (conv_backward_naive 3)" in text
    assert "dx_pad[:, :, p:-p, p:-p]" in text
    assert "- failure, 1 student: W2: expected shape (#, #), got (#, #)" in text
    assert "### conv_backward_naive: 5 of 7 students failed" in text


def test_numbers_are_masked_unless_they_end_a_name():
    masked = summary._masked("W1 float32 x2 data_batch_1 2x2: error -3.2e-01 > 1e-07 at (0, 12); .5 and 7\\nrest")
    assert masked == "W1 float32 x2 data_batch_1 #x2: error # > # at (#, #); # and #"


def test_summary_png_counts_students_on_integer_axes(mixed, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.ticker import MaxNLocator

    result = summary.summarize(mixed, MIXED_TASKS)
    drawn = summary.figure(result)
    axes = drawn.get_axes()
    histogram, per_task, mistakes = axes
    assert isinstance(histogram.yaxis.get_major_locator(), MaxNLocator)
    for axis in (per_task.xaxis, mistakes.xaxis):
        ticks = [tick for tick in axis.get_ticklocs() if 0 <= tick <= result.graded]
        assert ticks and all(float(tick).is_integer() for tick in ticks)
    labels = [label.get_text() for label in mistakes.get_yticklabels()]
    assert labels == ["max_pool_forward_naive: height and width mixed up", "conv_backward_naive: pad = 0 slicing"]
    assert [bar.get_width() for bar in mistakes.patches] == [2, 3]
    assert summary.draw(result, tmp_path / "summary.png") is None
    assert (tmp_path / "summary.png").read_bytes().startswith(b"\x89PNG")


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_the_canvas_gradebook_has_canvas_columns_split_ids_and_a_late_flag():
    names = {
        "doejane_12345": LmsName("canvas", "doejane", "12345", late=True),
        "roebob_777": LmsName("canvas", "roebob", "777"),
        "carol": None,
        "@x\x1b[2J\u202e_9": LmsName("canvas", "@x\x1b[2J\u202e", "9"),
    }
    records = [
        _student("doejane_12345", conv=_pad_zero((2, 3, 7, 7))),
        _student("roebob_777"),
        _student("@x\x1b[2J\u202e_9"),
        record_of(Graded(student="carol", key="", status=PENDING, reason="not graded: the run was stopped")),
    ]
    assert _rows(gradebook.lms_text("canvas", records, names, WHEN)) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolutional Networks", "late"],
        ["    Points Possible", "", "", "", "", "6.00", ""],
        ["'@x\\x1b[2J\\u202e", "9", "", "", "", "4.00", "false"],
        ["carol", "", "", "", "", "", ""],
        ["doejane", "12345", "", "", "", "2.00", "true"],
        ["roebob", "777", "", "", "", "4.00", "false"],
    ]


def test_the_moodle_gradebook_has_the_grading_worksheet_columns():
    names = {"Jane Doe_4321": LmsName("moodle", "Jane Doe", "4321"), "=Eve Doe_99": LmsName("moodle", "=Eve Doe", "99")}
    records = [_student("Jane Doe_4321", pool=_square_window("0.2")), _student("=Eve Doe_99")]
    assert _rows(gradebook.lms_text("moodle", records, names, WHEN)) == [
        ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "late"],
        ["Participant 99", "'=Eve Doe", "4.00", "4.00", "2025-03-14 09:26:53", ""],
        ["Participant 4321", "Jane Doe", "2.00", "4.00", "2025-03-14 09:26:53", ""],
    ]
