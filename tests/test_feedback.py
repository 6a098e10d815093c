"""A student's feedback: the annotated notebook page (score table, diagnosis once, hidden cases folded, nothing
of the student's able to run) and a Markdown file that reads as text; points for people; no instructor path."""

import html.parser
import json
import re
import time

import nbformat
import nbformat.v4 as v4
import pytest

import grader.classroom as classroom
from grader import render
from grader.classroom import annotated
from grader.classroom.discover import Submission
from grader.classroom.feedback import feedback, graded_notebook
from grader.classroom.run import GRADED, UNREADABLE, Graded
from grader.report import CheckResult, Kind, Reason, Report, TaskResult

DIAGNOSIS = "Stride ignored: step the window by s, x[:, :, i*s:i*s+HH]."
HOSTILE = '<script>alert("h")</script> <img src=x onerror=alert(1)> *bold* [link](javascript:alert(2)) ```'
CONV_CELL = 'def conv_forward_naive(x, w, b, conv_param):\n    s = "<script>alert(5)</script>"\n    return x, None\n'


def checks():
    return (
        CheckResult("public case", 1.0, 1.0, True, "ok", kind=Kind.PUBLIC),
        CheckResult(
            "hidden case: stride 2, pad 1",
            0.0,
            1 / 3,
            False,
            "out: yours 1.25, expected 0.75 at (0, 1, 2, 3); x (4, 3, 5, 5); error 0.0e+00 <= 1e-06\n" + HOSTILE,
            diagnosis=DIAGNOSIS,
            kind=Kind.HIDDEN,
        ),
        CheckResult("hidden case: stride 3", 0.0, 1 / 3, False, "out: SECOND-FAILURE", DIAGNOSIS, Kind.HIDDEN),
        CheckResult("hidden case: N = 1", 1 / 3, 1 / 3, True, "ok", kind=Kind.HIDDEN),
        CheckResult(
            "speed", 0.0, 1.0, False, "not awarded: earned only when every outputs check passes", kind=Kind.SPEED
        ),
    )


def stub_task():
    message = "not implemented yet (raises NotImplementedError)"
    check = CheckResult("public case", 0.0, 2.0, False, message, kind=Kind.PUBLIC, reason=Reason.NOT_IMPLEMENTED)
    return TaskResult("max_pool_forward_naive", "failed", (check,), 2.0)


def graded(student="alice"):
    report = Report(
        submission="/home/instructor/class/alice",
        grader_version="t",
        tasks=(TaskResult("conv_forward_naive", "failed", checks(), 3.0 + 2 / 3), stub_task()),
        notes=("skipped: /home/instructor/class/alice/old.ipynb is not a notebook",),
    )
    return Graded(student=student, key="k", status=GRADED, report=report)


def hostile_notebook(path):
    """A notebook whose every part tries to run a script or pass for markup."""
    code = v4.new_code_cell(CONV_CELL)
    code.outputs = [
        v4.new_output("display_data", data={"text/html": "<script>alert(6)</script>", "text/plain": "<Frame>"}),
        v4.new_output("display_data", data={"application/javascript": "alert(7)"}),
        v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}),
        v4.new_output("display_data", data={"image/svg+xml": "<svg onload='alert(8)'></svg>"}),
        v4.new_output("stream", name="stdout", text="</pre><script>alert(9)</script>\x1b[31mred\x1b[0m"),
        v4.new_output("error", ename="ValueError", evalue="<b>x</b>", traceback=["\x1b[31m<i>tb</i>\x1b[0m"]),
    ]
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Title\n\n" + HOSTILE + '\n\n<a href="javascript:alert(3)">x</a><style>*{}</style>'),
            code,
            v4.new_raw_cell("<script>alert(10)</script>"),
            v4.new_markdown_cell("Use `<task id>` and `a & b`."),
        ],
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": "<script>alert(11)</script>"}}},
    )
    path.write_text(nbformat.writes(notebook))
    return path


class Elements(html.parser.HTMLParser):
    """Every tag and attribute of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def elements(page):
    parser = Elements()
    parser.feed(page)
    return parser


@pytest.fixture
def page(tmp_path):
    return feedback("alice", graded(), "html", hostile_notebook(tmp_path / "alice.ipynb"), "/home/instructor/class")


def test_the_page_opens_with_the_score_table_in_points_for_people(page):
    assert page.index("<table class='scores'>") < page.index("Title")
    assert "3.67" in page and "1.33 / 3.67" in page and "0 / 2" in page and "0.33333" not in page


def test_each_task_section_sits_under_its_cell_with_the_diagnosis_once_and_hidden_cases_folded(page):
    cell, section, after = page.index("conv_forward_naive</span>"), page.index("id='grade-conv_forward_naive'"), None
    after = page.index("a &amp; b")
    assert cell < section < after
    assert page.count("Diagnosis:") == 1
    details = page[page.index("<details>") : page.index("</details>")]
    assert "Hidden cases: 1 of 3 passed" in details and "SECOND-FAILURE" in details
    assert page.count("SECOND-FAILURE") == 1  # only folded: the first failing case is the one shown in full
    assert "not implemented yet (raises NotImplementedError): all 1 checks failed" in page


def test_nothing_of_the_student_can_run_and_their_text_is_shown_escaped(page):
    found = elements(page)
    assert "script" not in found.tags and "iframe" not in found.tags and "svg" not in found.tags
    assert "style" not in found.tags[found.tags.index("body") :]
    assert not [a for a in found.attributes if a[1].startswith("on") or a[1] == "style"]
    assert not [a for a in found.attributes if a[1] in ("href", "src") and not a[2].startswith(("#", "data:image/"))]
    assert "alert(6)" not in page and "alert(7)" not in page and "alert(8)" not in page and "alert(11)" not in page
    assert "[an output of type application/javascript is not shown in feedback]" in page
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in page  # their code, as text
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in page and "\x1b" not in page and "red" in page
    assert "&lt;script&gt;alert(10)&lt;/script&gt;" in page  # a raw cell, as text
    assert "&lt;task id&gt;" in page and "&amp;lt;" not in page  # code spans escaped once
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert "white-space: pre-wrap" in page


def test_a_notebook_that_cannot_be_read_gives_the_page_of_the_report(tmp_path):
    broken = tmp_path / "alice.ipynb"
    broken.write_text("{not json")
    page = feedback("alice", graded(), "html", broken, tmp_path)
    assert "<table class='scores'>" in page and "id='grade-conv_forward_naive'" in page
    assert "could not be shown here" in page and str(tmp_path) not in page
    assert feedback("alice", graded(), "html").count("<section class='grade") == 2


def test_a_task_with_no_cell_gets_its_section_at_the_end(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(CONV_CELL)])))
    page = feedback("alice", graded(), "html", path)
    assert page.index("Tasks without a cell") < page.index("id='grade-max_pool_forward_naive'")
    assert page.index("id='grade-conv_forward_naive'") < page.index("Tasks without a cell")


def test_markdown_reads_as_text_with_messages_in_code_blocks():
    text = feedback("alice", graded(), "md", class_dir="/home/instructor/class")
    assert "\\(" not in text and "\\+" not in text and "\\." not in text and "&lt;" not in text
    assert "x (4, 3, 5, 5); error 0.0e+00 <= 1e-06" in text  # inside a code block, as written
    assert (
        "## conv_forward_naive: 1.33 / 3.67 (failed)" in text and "| conv_forward_naive     |   1.33 / 3.67 |" in text
    )
    assert text.count("Diagnosis:") == 1 and "x\\[:, :, i\\*s:i\\*s+HH\\]" in text
    assert "- 1 more hidden case failed too: stride 3" in text and "SECOND-FAILURE" not in text
    assert "not implemented yet (raises NotImplementedError): all 1 checks failed." in text


def test_inline_student_text_cannot_start_markup_in_markdown():
    text = feedback(HOSTILE, Graded(student=HOSTILE, key="", status=UNREADABLE, reason=HOSTILE), "md")
    assert "\\<script>" in text and "\\*bold\\*" in text and "\\[link\\]" in text and "```" not in text


def test_no_absolute_path_of_the_instructor_reaches_a_students_feedback(tmp_path):
    reason = f"{tmp_path}/class/bob.ipynb is not a notebook: not valid JSON; see /opt/grader/x.py"
    bob = Graded(student="bob", key="", status=UNREADABLE, reason=reason)
    for form in ("md", "html"):
        text = feedback("bob", bob, form, class_dir=tmp_path / "class")
        assert "bob.ipynb is not a notebook" in text and str(tmp_path) not in text and "/opt/grader" not in text
    assert "/home/instructor" not in feedback("alice", graded(), "md", class_dir="/home/instructor/class")


def test_the_notebook_annotated_is_the_one_most_tasks_were_graded_from(tmp_path):
    first, second = tmp_path / "a.ipynb", tmp_path / "sub" / "b.ipynb"
    report = Report("s", (TaskResult("x", "passed", source="sub/b.ipynb"),), "t")
    assert graded_notebook((first, second), tmp_path, report) == second
    assert graded_notebook((first, second), tmp_path, None) == first and graded_notebook((), tmp_path, None) is None


def test_points_are_rounded_for_people():
    assert render.points(2 + 1 / 3, 3.0) == "2.33 / 3" and render.points(0.0, 7 / 3) == "0 / 2.33"
    assert render.points(-0.0, 100) == "0 / 100" and render.amount(2.5) == "2.5"


def test_a_bounded_message_is_cut_at_a_word_boundary():
    message = "public case: not implemented yet (raises NotImplementedError) and a long tail of words here"
    cut = render.shortened(message, 60)
    assert len(cut) <= 60 and cut.endswith("…") and message.startswith(cut[:-1])
    assert cut[:-1].split()[-1] in message.split()
    assert render.shortened("short", 60) == "short"


def test_controls_and_bidi_in_student_text_are_escaped_in_both_formats():
    forged = "alice\x1b[2J\r\u202e"
    report = graded().report
    for form in ("md", "html"):
        text = feedback(forged, Graded(student=forged, key="k", status=GRADED, report=report), form)
        assert "\x1b" not in text and "\u202e" not in text and "\r" not in text and "alice\\x1b" in text


# -- A hostile notebook: crashes, slow parses, folded annotations, forged grader content -------------------

CODE = {"cell_type": "code", "source": "x = 1", "metadata": {}, "execution_count": None}
BROKEN_OUTPUTS = {
    "traceback not a list": [{"output_type": "error", "ename": "E", "evalue": "v", "traceback": 5}],
    "image a list holding an int": [
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": ["AAAA", 3]}}
    ],
    "names not text": [{"output_type": "error", "ename": ["E", 1], "evalue": {"v": 1}, "traceback": ["a", 2]}],
    "text a dict": [{"output_type": "stream", "name": "stdout", "text": {"a": 1}}],
}
OPENED_IN_A_CELL = "</div></div></div></div></div></div><details><summary>Appendix</summary>\n\n<table><tr><td>"
FORGED = (
    "<table class='scores'><tr class='passed'><td class='points'>8 / 8</td></tr></table>"
    "<p class='note'>regrade approved</p><div class='diagnosis'>none</div>"
    "<ul class='checks pass'><li class='pass'>ok</li></ul>"
    "<a id='grade-conv_forward_naive' href='#grade-max_pool_forward_naive'>clobber</a>"
)


def raw_notebook(path, cells):
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return path


@pytest.mark.parametrize("name", BROKEN_OUTPUTS)
def test_a_notebook_field_of_the_wrong_type_is_dropped_and_the_page_still_shows(tmp_path, name):
    path = raw_notebook(tmp_path / "a.ipynb", [{**CODE, "source": CONV_CELL, "outputs": BROKEN_OUTPUTS[name]}])
    page = feedback("alice", graded(), "html", path)
    assert "id='grade-conv_forward_naive'" in page and "conv_forward_naive</span>" in page
    assert "could not be shown" not in page


@pytest.mark.parametrize(
    "cells",
    [
        [1],
        {"a": 1},
        [{**CODE, "outputs": "ab"}],
        [{**CODE, "outputs": [1, "ab"]}],
        [{"cell_type": "code", "source": 5}],
    ],
)
def test_a_notebook_of_the_wrong_shape_gives_a_page(tmp_path, cells):
    page = feedback("alice", graded(), "html", raw_notebook(tmp_path / "a.ipynb", cells))
    assert page.count("<section class='grade") == 2


def test_a_notebook_the_renderers_choke_on_gives_the_page_of_the_report(tmp_path, monkeypatch):
    def choke(notebook):
        raise RecursionError("deep")

    monkeypatch.setattr(annotated, "_exported", choke)
    page = feedback("alice", graded(), "html", hostile_notebook(tmp_path / "a.ipynb"))
    assert "Your notebook could not be shown here: it could not be rendered (RecursionError)" in page
    assert page.count("<section class='grade") == 2


def test_a_class_run_writes_the_report_page_when_a_students_feedback_fails(tmp_path, monkeypatch):
    def flaky(student, graded, form="md", notebook_path=None, class_dir=None):
        if notebook_path is not None:
            raise TypeError("a bug the notebook found")
        return feedback(student, graded, form, notebook_path, class_dir)

    notebook = hostile_notebook(tmp_path / "alice.ipynb")
    submission = Submission(student="alice", path=notebook, notebooks=(notebook,))
    monkeypatch.setattr(classroom, "feedback", flaky)
    record = classroom._keep(tmp_path / "out", graded(), {"feedback": "html"}, submission, tmp_path)
    page = (tmp_path / "out" / "students" / "alice" / "feedback.html").read_text()
    assert record["student"] == "alice" and page.count("<section class='grade") == 2


def test_markdown_past_the_bounds_is_shown_as_text_not_parsed(tmp_path):
    long = "*not emphasis* " * (annotated.MAX_MARKDOWN_CELL // 15 + 1)
    cells = [v4.new_markdown_cell(long), v4.new_markdown_cell("*short*")]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=cells)))
    page = feedback("alice", graded(), "html", path)
    assert "<em>not emphasis</em>" not in page and "<pre>*not emphasis*" in page and "<em>short</em>" in page


@pytest.mark.slow
def test_the_worst_markdown_within_the_bounds_renders_in_seconds(tmp_path):
    size = annotated.MAX_MARKDOWN_CELL
    patterns = ("[", "![", "[a](", "<div>", "*a", "`a", "<a", "**_")
    cells = [v4.new_markdown_cell((pattern * size)[:size]) for pattern in patterns for _ in range(20)]
    output = v4.new_output("stream", name="stdout", text=("<b>a</b> " * 2000)[: annotated.OUTPUT_LIMIT])
    cells += [v4.new_code_cell(CONV_CELL, outputs=[output] * 40), v4.new_code_cell("x = [a + 1]\n" * 8000)]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=cells)))
    start = time.monotonic()
    page = feedback("alice", graded(), "html", path)
    assert time.monotonic() - start < 20 and "id='grade-conv_forward_naive'" in page


class Nesting(html.parser.HTMLParser):
    """The open elements (tag, attributes) around each grader section of a page."""

    VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())

    def __init__(self):
        super().__init__()
        self.open, self.around = [], {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section" and (attributes.get("id") or "").startswith("grade-"):
            self.around[attributes["id"]] = list(self.open)
        if tag not in self.VOID:
            self.open.append((tag, attributes))

    def handle_endtag(self, tag):
        assert self.open and self.open[-1][0] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def test_what_a_cell_opens_is_closed_inside_it_so_no_grader_section_is_folded_away(tmp_path):
    cells = [v4.new_markdown_cell(OPENED_IN_A_CELL), v4.new_code_cell(CONV_CELL), v4.new_markdown_cell("end")]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=cells)))
    parser = Nesting()
    parser.feed(feedback("alice", graded(), "html", path))
    around = parser.around["grade-conv_forward_naive"]
    assert [tag for tag, _ in around] == ["html", "body", "main"]
    assert all(tag != "details" for tag, _ in parser.open) and not parser.open


def test_student_markup_cannot_carry_the_graders_classes_or_ids(tmp_path):
    cells = [v4.new_markdown_cell(FORGED), v4.new_markdown_cell("# grade-max_pool_forward_naive")]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(v4.new_notebook(cells=[*cells, v4.new_code_cell(CONV_CELL)])))
    page = feedback("alice", graded(), "html", path)
    found = elements(page)
    grader = [a for a in found.attributes if a[1] == "data-grader"]
    classes = {word for tag, name, value in found.attributes if name == "class" for word in value.split()}
    ids = [value for tag, name, value in found.attributes if name == "id"]
    assert ids.count("grade-conv_forward_naive") == 1 and ids.count("grade-max_pool_forward_naive") == 1
    assert "nb-grade-conv_forward_naive" in ids and "nb-grade-max_pool_forward_naive" in ids
    student = page[page.index("<main") : page.index("<section class='grade")]
    student_classes = {word for value in re.findall(r'class="([^"]*)"', student) for word in value.split()}
    assert not {"scores", "note", "diagnosis", "checks", "pass", "points", "passed"} & student_classes
    assert 'href="#nb-grade-max_pool_forward_naive"' in student and "data-grader" not in student
    assert len(grader) == 5 and {"scores", "note", "grade"} <= classes  # table, note, 2 sections, the rest
    assert "class='from-notebook'" in page and "[data-grader] table.scores" in page
