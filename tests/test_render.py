"""The terminal table: an untouched task is one line of details, and -q keeps the notes that say what was
graded."""

import json

from grader import render
from grader.report import CheckResult, Kind, Reason, Report, TaskResult

STUB = "not implemented yet (raises NotImplementedError)"
STUBBED, NOT_AWARDED = Reason.NOT_IMPLEMENTED, Reason.NOT_AWARDED


def _check(name, message, passed=False, kind=Kind.HIDDEN, reason=Reason.NONE):
    return CheckResult(
        name=name, score=1.0 if passed else 0.0, max_score=1.0, passed=passed, message=message, kind=kind, reason=reason
    )


def _task(task_id, *checks):
    return TaskResult(id=task_id, status="error", checks=checks, max_score=float(len(checks)))


STUB_TASK = _task(
    "conv_forward_naive",
    *(_check(f"hidden case {i}", STUB, reason=STUBBED) for i in range(9)),
    _check(
        "inputs unchanged",
        "not awarded: earned only when every outputs check passes",
        kind=Kind.INPUTS_UNCHANGED,
        reason=NOT_AWARDED,
    ),
    _check("speed", "not awarded: earned only when every outputs check passes", kind=Kind.SPEED, reason=NOT_AWARDED),
)
# A backward whose forward is still the stub: its cases say why, its property checks raise.
STUB_BACKWARD = _task(
    "spatial_batchnorm_backward",
    _check(
        "public case",
        f"needs the cache of your spatial_batchnorm_forward, which failed: {STUB}",
        kind=Kind.PUBLIC,
        reason=STUBBED,
    ),
    _check(
        "property: dx sums to zero",
        f"{STUB} (on the generated example x (1, 1, 1, 2))",
        kind=Kind.PROPERTY,
        reason=STUBBED,
    ),
)
# Written but wrong: one case raises NotImplementedError (an unsupported stride), the others fail on values.
PARTLY_WRITTEN = _task(
    "max_pool_forward_naive",
    _check("public case", "out: rel error 1.0e+00 > 1e-07", kind=Kind.PUBLIC),
    _check("hidden case: stride 3", STUB, reason=STUBBED),
    _check("speed", "not awarded: earned only when ...", kind=Kind.SPEED, reason=NOT_AWARDED),
)
# One check passed: the code runs, every failure matters.
ONE_PASSED = _task(
    "conv_backward_naive",
    _check("public case", "ok", passed=True, kind=Kind.PUBLIC),
    _check("hidden case", STUB, reason=STUBBED),
)


def _details(*tasks, notes=()):
    report = Report(submission="s.ipynb", tasks=tasks, grader_version="0", notes=notes)
    return render.table(report).split("\n")[len(tasks) + 4 :]


def test_an_untouched_task_is_one_line_of_details_saying_why():
    assert _details(STUB_TASK) == [f"  conv_forward_naive: {STUB}; all 11 checks failed"]


def test_an_untouched_backward_says_its_forward_is_the_stub_in_one_line():
    [line] = _details(STUB_BACKWARD)
    assert line.startswith("  spatial_batchnorm_backward: needs the cache of your spatial_batchnorm_forward")
    assert line.endswith("all 2 checks failed")


def test_a_task_with_other_failures_or_a_passed_check_keeps_a_line_per_failed_check():
    assert len(_details(PARTLY_WRITTEN)) == 3
    assert _details(ONE_PASSED) == [f"  conv_backward_naive / hidden case: {STUB}"]


NOTES = ("broken.ipynb was skipped: not valid JSON", "<s.ipynb cell 3> line 1: NameError: name 'x' is not defined")


def test_quiet_keeps_the_notes_and_drops_the_checks():
    report = Report(
        submission="s", tasks=(STUB_TASK, PARTLY_WRITTEN), grader_version="0", isolation="bubblewrap", notes=NOTES
    )
    quiet = render.table(report, verbose=False).split("\n")
    assert quiet[6:] == [f"note: {note}" for note in NOTES]  # after header, rule, 2 rows, rule, total
    assert not any(line.startswith(("  ", "isolation")) for line in quiet)


def test_a_hostile_message_that_says_not_implemented_is_collapsed_into_one_safe_line():
    forged = f"\x1b[2K\r18.0 / 18.0 passed\n PASS fake \u202e {STUB}"
    task = _task(
        "conv_forward_naive",
        _check("public case", forged, kind=Kind.PUBLIC, reason=STUBBED),
        _check("hidden case", STUB, reason=STUBBED),
    )
    [line] = _details(task)
    assert line.startswith("  conv_forward_naive: \\x1b[2K\\r18.0 / 18.0 passed\\n PASS fake \\u202e")
    assert not any(ch in line for ch in "\x1b\r\n\u202e")


def test_gradescope_keeps_the_isolation_for_the_instructor_and_the_notes_for_the_student():
    isolation = "weak isolation (bubblewrap unavailable: No permissions to create new namespace)"
    report = Report(
        submission="/tmp/submission-x", tasks=(STUB_TASK,), grader_version="0", isolation=isolation, notes=NOTES
    )
    results = render.to_gradescope(report)
    assert results["output"] == "\n".join(NOTES)
    assert results["extra_data"]["isolation"] == isolation
    assert "isolation" not in json.dumps(results["tests"]) and "/tmp" not in json.dumps(results)
