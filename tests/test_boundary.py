"""Student text made printable at the trust boundary, and every rendering of a Report built from it.

Everything the sandbox sends back is hostile: terminal escapes that rewrite the score line, newlines that
forge PASS lines, bidi overrides, lone surrogates that no UTF-8 file can hold, megabytes of text. Here
those reach grader.boundary directly, and the table, JSON and Gradescope renderings through a Report.
"""

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import render
from grader.boundary import (
    BLOCK_LIMIT,
    BLOCK_LINES,
    MAX_ITEMS,
    MIN_LIMIT,
    TEXT_LIMIT,
    printable,
    printable_block,
    printable_items,
)
from grader.report import CheckResult, Report, TaskResult

FORGED_SCORE = "\x1b[2K\r18.0 / 18.0 passed"
HOSTILE = (FORGED_SCORE, "\u202e", "\udc80", "\n PASS fake", "\x9b31m", "\u2028PASS", "\x00\x7f\t")
BIDI_CONTROLS = (
    "\u061c\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A)))
)
C1_CONTROLS = "".join(map(chr, range(0x80, 0xA0)))
C0_CONTROLS = "".join(map(chr, range(0x20))) + "\x7f"
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# Any character at all: hypothesis' characters() leaves out surrogates even when told to exclude nothing.
ANY_CHARACTER = st.one_of(st.characters(exclude_categories=()), st.sampled_from("\udc80\ud800\udfff\x1b\r\n\u202e"))


def assert_safe_line(text):
    """One line a terminal shows as it is and a strict UTF-8 encoder accepts."""
    assert type(text) is str
    assert "\n" not in text
    assert_safe_block(text)


def assert_safe_block(text):
    text.encode("utf-8")  # strict: a lone surrogate would raise
    unsafe = [c for c in text if c != "\n" and unicodedata.category(c) in UNSAFE_CATEGORIES]
    assert unsafe == [], ascii(unsafe)


# -- printable ----------------------------------------------------------------------------------------


def test_a_forged_score_line_is_shown_escaped_on_one_line():
    shown = printable(FORGED_SCORE)
    assert shown == "\\x1b[2K\\r18.0 / 18.0 passed"
    assert_safe_line(shown)


@pytest.mark.parametrize(
    "chars",
    [C0_CONTROLS, C1_CONTROLS, BIDI_CONTROLS, "\u2028\u2029\ufeff\u00ad\u200b"],
    ids=["c0-and-del", "c1", "bidi", "separators-and-format"],
)
def test_every_control_character_becomes_a_visible_escape(chars):
    shown = printable(chars)
    assert_safe_line(shown)
    assert shown.count("\\") == len(chars)


def test_escapes_are_the_python_ones_students_know():
    assert printable("\n\r\t\x1b\x85\u202e\U000f0000") == "\\n\\r\\t\\x1b\\x85\\u202e\\U000f0000"


@pytest.mark.parametrize("surrogate", ["\udc80", "\ud800", "a\udfffb"])
def test_a_lone_surrogate_is_escaped_so_utf8_can_hold_the_text(surrogate):
    shown = printable(surrogate)
    assert_safe_line(shown)
    assert "\\ud" in shown


def test_ordinary_text_in_any_script_is_left_alone():
    text = "relative error 1.2e-03 > 1e-06 at (0, 1, 2, 3); é, 中文, Ελληνικά, emoji \U0001f600, path C:\\x"
    assert printable(text) == text


def test_a_huge_string_is_cut_to_the_limit_with_a_count_of_what_was_left_out():
    huge = "E" * (27 << 20)
    shown = printable(huge)
    assert len(shown) <= TEXT_LIMIT
    assert shown.startswith("E" * 100) and f"{len(huge) - shown.count('E')} more characters" in shown


def test_escapes_count_towards_the_limit():
    shown = printable("\x1b" * 10_000, limit=100)
    assert len(shown) <= 100 and shown.startswith("\\x1b\\x1b")
    assert_safe_line(shown)


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no")


class _Meta(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name either")


class _Nameless(metaclass=_Meta):
    def __str__(self):
        raise ValueError("no")


class _StrSubclass(str):
    def __str__(self):
        raise RuntimeError("never called")


@pytest.mark.parametrize("value", [_Unprintable(), _Nameless()], ids=["str-raises", "name-raises-too"])
def test_an_object_whose_str_raises_is_described_instead(value):
    shown = printable(value)
    assert "unprintable" in shown and "str() raised" in shown
    assert_safe_line(shown)


def test_non_strings_and_str_subclasses_become_plain_strings():
    assert printable(None) == "None" and printable(3) == "3" and printable(b"\x1b") == "b'\\x1b'"
    shown = printable(_StrSubclass("fine \x1b"))
    assert type(shown) is str and shown == "fine \\x1b"


@pytest.mark.parametrize("limit", [0, MIN_LIMIT - 1, 100.0, True, None])
def test_a_limit_too_small_for_the_cut_marker_is_refused(limit):
    with pytest.raises(ValueError, match="limit"):
        printable("text", limit)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(ANY_CHARACTER, max_size=300), st.integers(MIN_LIMIT, 400))
def test_printable_is_always_one_safe_line_within_its_limit_and_idempotent(text, limit):
    shown = printable(text, limit)
    assert_safe_line(shown)
    assert len(shown) <= limit
    assert printable(shown, limit) == shown


# -- printable_block ----------------------------------------------------------------------------------


def test_a_block_keeps_its_lines_and_escapes_everything_else():
    shown = printable_block("epoch 1\r\nloss \x1b[31m2.3\x1b[0m\n\u202eevil\rbar\n")
    assert shown.split("\n") == ["epoch 1", "loss \\x1b[31m2.3\\x1b[0m", "\\u202eevil\\rbar", ""]
    assert_safe_block(shown)


def test_a_flood_of_lines_is_cut_with_a_count_of_the_lines_left_out():
    shown = printable_block("flood\n" * 2507, max_lines=20)
    lines = shown.split("\n")
    assert len(lines) == 20 and lines[:19] == ["flood"] * 19
    assert lines[-1] == "... 2488 more lines left out"


def test_a_block_of_one_huge_line_is_cut_to_the_limit():
    shown = printable_block("\udc80" * (27 << 20))
    assert len(shown) <= BLOCK_LIMIT and shown.count("\n") == 1
    assert shown.endswith("more characters left out")
    assert_safe_block(shown)


def test_a_block_within_its_limits_is_unchanged():
    text = "\n".join(f"line {i}" for i in range(BLOCK_LINES))
    assert printable_block(text) == text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.text(st.sampled_from("ab\n\r\x1b\udc80\u202e\u2028é"), max_size=400),
    st.integers(MIN_LIMIT, 200),
    st.integers(2, 12),
)
def test_printable_block_stays_within_its_limits_and_is_idempotent(text, limit, max_lines):
    shown = printable_block(text, limit, max_lines)
    assert_safe_block(shown)
    assert len(shown) <= limit and shown.count("\n") < max_lines
    assert printable_block(shown, limit, max_lines) == shown


# -- printable_items ----------------------------------------------------------------------------------


def test_a_flood_of_items_ends_with_one_that_counts_the_rest():
    notes = printable_items([f"note {i}\n" for i in range(3000)], more="more notes")
    assert len(notes) == MAX_ITEMS
    assert notes[0] == "note 0\\n" and notes[-1] == f"... and {3000 - MAX_ITEMS + 1} more notes"
    assert printable_items(notes) == notes


# -- renderings of a hostile Report -------------------------------------------------------------------


def hostile_report():
    """A Report whose every student-controlled string carries all of HOSTILE."""
    evil = "".join(HOSTILE)
    checks = tuple(
        CheckResult(name=f"case {i} {evil}", score=0.0, max_score=1.0, passed=False, message=f"{evil} {i}")
        for i in range(10)
    ) + (CheckResult("speed", 1.0, 1.0, True, evil),)
    task = TaskResult(
        id="conv_forward_naive",
        status="failed",
        checks=checks,
        max_score=11.0,
        output=(evil + "\n") * 50 + "PASS forged (1/1): ok\n",
        source=f"nb{evil}.ipynb",
    )
    return Report(
        submission=f"sub{evil}.ipynb",
        tasks=(task,),
        grader_version="0",
        isolation=f"weak {evil}",
        notes=tuple(f"note {i} {evil}" for i in range(3)),
        notebooks=(f"nb{evil}.ipynb", f"{evil}.ipynb"),
    )


def test_a_hostile_report_makes_a_table_of_exactly_its_rows_with_no_control_characters():
    report = hostile_report()
    quiet = render.table(report, verbose=False)
    assert len(quiet.split("\n")) == 5 + 3  # header, rule, one task, rule, total; the 3 notes
    assert_safe_block(quiet)
    loud = render.table(report)
    assert len(loud.split("\n")) == 5 + 1 + 3 + 10  # isolation, 3 notes, 10 failed checks
    assert_safe_block(loud)
    assert quiet.split("\n")[4].split() == ["total", "1", "/", "11"]


def test_a_hostile_report_makes_json_that_strict_utf8_can_hold():
    data = render.to_json(hostile_report())
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    for text in [
        data["submission"],
        data["isolation"],
        *data["notes"],
        data["tasks"][0]["source"],
        *data["notebooks"],
        *(value for c in data["tasks"][0]["checks"] for value in (c["name"], c["message"])),
    ]:
        assert_safe_line(text)


def test_a_hostile_report_makes_gradescope_output_with_one_pass_or_fail_line_per_check():
    results = render.to_gradescope(hostile_report())
    json.dumps(results, ensure_ascii=False).encode("utf-8")
    [test] = results["tests"]
    verdicts = [line for line in test["output"].split("\n") if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == 11 and len([v for v in verdicts if v.startswith("PASS")]) == 1
    assert_safe_block(test["output"])
    assert_safe_block(results["output"])
    assert len(results["output"].split("\n")) == 3  # the notes only: isolation is in extra_data


def test_renderings_bound_a_report_that_was_not_bounded_upstream():
    huge = "\x1b" * (8 << 20)
    check = CheckResult(name=huge, score=0.0, max_score=1.0, passed=False, message=huge)
    task = TaskResult(
        id="conv_forward_naive", status="error", checks=(check,), max_score=1.0, output=huge + "\n" * 10**5, source=huge
    )
    report = Report(submission="s", tasks=(task,), grader_version="0", notes=(huge,) * 5000, notebooks=(huge,) * 5000)
    outputs = (render.table(report), json.dumps(render.to_json(report)), json.dumps(render.to_gradescope(report)))
    assert all(len(text) < 200_000 for text in outputs), [len(text) for text in outputs]
    assert len(render.to_json(report)["notes"]) == render.NOTES_SHOWN


# -- end to end: hostile submissions graded -----------------------------------------------------------

TASKS = ("conv_forward_naive", "conv_backward_naive")
FORGED_SOURCE = r'"\x1b[2K\r18.0 / 18.0 passed \u202e \x9b2J\n PASS fake"'  # Python source: ASCII
HOSTILE_SOURCE = FORGED_SOURCE[:-1] + r' \udc80"'  # and a lone surrogate
RAISES_HOSTILE = """
def conv_forward_naive(x, w, b, conv_param):
    print(HOSTILE)
    raise RuntimeError(HOSTILE)
"""
# The name is built in the child, at call time: the notebook and the test process stay small.
RAISES_HUGE_NAME = """
def conv_forward_naive(x, w, b, conv_param):
    raise type("E" * MIB + FORGED, (Exception,), {})(HOSTILE)
"""
FAILED_STATEMENTS = 3000
FAILS_TO_LOAD = "\n".join(f"class Broken{i}: raise ValueError({HOSTILE_SOURCE})" for i in range(FAILED_STATEMENTS))


def grade_with(tmp_path, attack, timeout=3.0):
    from grader.config import Config
    from grader.pipeline import grade
    from notebooks import solution_cells, write_notebook

    notebook = write_notebook(tmp_path, *solution_cells(), attack)
    return grade(notebook, Config(tasks=TASKS, timeout=timeout, use_bwrap=False))


def folded_lines(task):
    """Lines a task's failing hidden cases after the first save: they are folded into one."""
    hidden = sum(not c.passed and c.name.startswith("hidden case") for c in task.checks)
    return max(0, hidden - 2)


def assert_renderings_safe(report):
    """The table, JSON and Gradescope renderings hold no control character and one line per check (the
    failing hidden cases after a task's first on one line; a diagnosis on one more)."""
    table = render.table(report)
    assert_safe_block(table)
    assert len(table.split("\n")) == 4 + len(report.tasks) + bool(report.isolation) + len(report.notes) + sum(
        (not check.passed) for task in report.tasks for check in task.checks
    ) - sum(folded_lines(task) - any(c.diagnosis for c in task.checks) for task in report.tasks)
    json.dumps(render.to_json(report), ensure_ascii=False).encode("utf-8")
    results = render.to_gradescope(report)
    json.dumps(results, ensure_ascii=False).encode("utf-8")
    for test in results["tests"]:
        assert_safe_block(test["output"])
    for task in report.tasks:
        outputs = [test["output"] for test in results["tests"] if test["name"].startswith(task.id + ": ")]
        verdicts = [line for output in outputs for line in output.split("\n") if line.startswith(("PASS", "FAIL"))]
        assert len(verdicts) == len(task.checks) - folded_lines(task)


@pytest.mark.slow  # grades in the sandbox
@pytest.mark.parametrize("text", [FORGED_SOURCE, HOSTILE_SOURCE], ids=["escapes", "escapes-and-surrogate"])
def test_an_exception_message_with_escapes_and_a_lone_surrogate_is_reported_escaped(tmp_path, text):
    report = grade_with(tmp_path, RAISES_HOSTILE.replace("HOSTILE", text))
    attacked, neighbour = report.tasks
    assert attacked.score == 0 and neighbour.score == pytest.approx(neighbour.max_score), neighbour.message
    assert_renderings_safe(report)
    assert "\\x1b[2K\\r18.0 / 18.0 passed" in render.table(report)  # shown, escaped, not hidden


@pytest.mark.slow  # grades in the sandbox
@pytest.mark.parametrize("mib", [3, 27], ids=["fits-a-reply", "27-mib"])
def test_an_exception_class_with_a_name_of_megabytes_makes_a_small_report(tmp_path, mib):
    attack = RAISES_HUGE_NAME.replace("MIB", f"({mib} << 20)").replace("FORGED", FORGED_SOURCE)
    attack = attack.replace("HOSTILE", HOSTILE_SOURCE)
    report = grade_with(tmp_path, attack)
    assert report.tasks[0].score == 0  # what a reply this large costs the other task is the sandbox's rule
    assert_renderings_safe(report)
    for text in (render.table(report), json.dumps(render.to_json(report)), json.dumps(render.to_gradescope(report))):
        assert len(text) < 100_000


@pytest.mark.slow  # grades in the sandbox
def test_thousands_of_statements_that_fail_to_load_make_a_bounded_list_of_notes(tmp_path):
    # Each task's fork loads the 3,000 statements one at a time (~1 ms each): the submission's one loading
    # budget, three call timeouts, must hold two such loads on a busy machine.
    report = grade_with(tmp_path, FAILS_TO_LOAD, timeout=10.0)
    assert len(report.notes) == MAX_ITEMS
    assert report.notes[-1] == f"... and {FAILED_STATEMENTS - MAX_ITEMS + 1} more statements failed to load"
    assert "ValueError: \\x1b[2K\\r18.0" in report.notes[0]
    assert [task.score for task in report.tasks] == pytest.approx([task.max_score for task in report.tasks])
    assert_renderings_safe(report)
    assert len(render.table(report).split("\n")) == 4 + 2 + 1 + MAX_ITEMS
