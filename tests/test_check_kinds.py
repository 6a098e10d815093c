"""Categories are data: a check's kind (public, hidden, speed...) and the reason it earned nothing (not
implemented, not awarded, not run) are fields that every rendering reads; no rendering parses a name or a
message back."""

import json

import pytest

from grader import render
from grader.classroom import gradebook, summary
from grader.classroom.resume import record_of
from grader.classroom.run import GRADED, Graded
from grader.config import Config
from grader.pipeline import grade
from grader.report import KINDS, REASONS, CheckResult, Kind, Reason, Report, TaskResult
from grader.scoring import task_result
from grader.tasks.base import NOT_IMPLEMENTED, Outcome
from notebooks import STUB_NOTEBOOK, solution_cells, write_notebook


def _check(name, kind, reason=Reason.NONE, passed=False, message="wrong"):
    return CheckResult(
        name=name, score=1.0 if passed else 0.0, max_score=1.0, passed=passed, message=message, kind=kind, reason=reason
    )


def _report(*checks):
    return Report(
        submission="s",
        grader_version="0",
        tasks=(TaskResult("conv_forward_naive", "failed", checks, float(len(checks))),),
    )


def test_gradescope_splits_by_kind_whatever_the_names_say():
    report = _report(
        _check("hidden case: named like one", Kind.PUBLIC),
        _check("public case: named like one", Kind.HIDDEN),
        _check("definition", Kind.SPEED),
    )
    public, hidden = render.to_gradescope(report)["tests"]
    assert public["visibility"] == "visible" and "named like one" in public["output"]
    assert public["output"].count("FAIL") == 1 and public["output"].startswith("FAIL hidden case")
    assert hidden["output"].count("FAIL") == 2


def test_a_message_that_says_not_implemented_collapses_nothing_without_the_reason():
    report = _report(
        _check("public case", Kind.PUBLIC, message=NOT_IMPLEMENTED),
        _check("hidden case", Kind.HIDDEN, message=NOT_IMPLEMENTED),
    )
    assert "all 2 checks failed" not in render.table(report)
    stubbed = _report(
        _check("public case", Kind.PUBLIC, Reason.NOT_IMPLEMENTED, message="raised"),
        _check("speed", Kind.SPEED, Reason.NOT_AWARDED, message="later"),
    )
    assert render.table(stubbed).endswith("  conv_forward_naive: raised; all 2 checks failed")


def test_only_hidden_cases_are_folded():
    checks = [_check(f"hidden case: {i}", Kind.HIDDEN) for i in range(3)]
    checks += [_check(f"hidden case: {i}, named like one", Kind.PROPERTY) for i in range(3)]
    details = render.table(_report(*checks)).split("\n")[5:]
    assert details[:2] == [
        "  conv_forward_naive / hidden case: 0: wrong",
        "  conv_forward_naive / 2 more hidden cases failed too: 1; 2",
    ]
    assert details[2:] == [f"  conv_forward_naive / hidden case: {i}, named like one: wrong" for i in range(3)]


def test_the_json_report_carries_each_checks_kind_and_reason():
    report = _report(_check("speed", Kind.SPEED, Reason.NOT_AWARDED))
    [check] = render.to_json(report)["tasks"][0]["checks"]
    assert (check["kind"], check["reason"]) == ("speed", "not_awarded")
    assert {"name", "score", "max_score", "passed", "message", "diagnosis"} <= set(check)


def test_scoring_refuses_an_outcome_without_a_kind():
    with pytest.raises(ValueError, match="kind"):
        task_result("conv_forward_naive", 10.0, [Outcome("speed", 1.0, True, "")])
    checks = task_result(
        "conv_forward_naive", 10.0, [Outcome("speed", 1.0, False, "x", kind=Kind.SPEED, reason=Reason.NOT_AWARDED)]
    ).checks
    assert (checks[0].kind, checks[0].reason) == (Kind.SPEED, Reason.NOT_AWARDED)


def test_class_outputs_of_a_record_without_kind_and_reason_are_the_same_bytes():
    """A record.json written before the fields existed is read on resume: the gradebook and summary it gives
    are those of a record written now."""
    report = _report(_check("public case", Kind.PUBLIC, passed=True), _check("hidden case", Kind.HIDDEN))
    record = record_of(Graded(student="a", key="k", status=GRADED, report=report, seconds=1.0, isolation="bwrap"))
    old = json.loads(json.dumps(record))
    for check in old["report"]["tasks"][0]["checks"]:
        del check["kind"], check["reason"]
    ids = ["conv_forward_naive"]
    assert gradebook.text([old], ids) == gradebook.text([record], ids)
    assert summary.text(summary.summarize([old], ids)) == summary.text(summary.summarize([record], ids))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["stub", "solved"])
def test_every_graded_check_has_a_known_kind_and_reason(tmp_path, which):
    """The stub: every check earned nothing for a reason (its code raised NotImplementedError, or the check was
    not awarded or not run after that); the solved notebook: no reason anywhere. Every kind is one of KINDS,
    and the visible test of each task holds exactly its public cases, the convnet's notebook checks and
    definition verdicts."""
    path = STUB_NOTEBOOK if which == "stub" else write_notebook(tmp_path, *solution_cells())
    report = grade(path, Config())
    checks = [check for task in report.tasks for check in task.checks]
    assert all(check.kind in KINDS and check.reason in REASONS for check in checks)
    if which == "stub":
        assert all(check.reason != Reason.NONE for check in checks)
    else:
        assert all(check.reason == Reason.NONE for check in checks)
    kinds = {check.kind for check in checks}
    assert {
        Kind.PUBLIC,
        Kind.HIDDEN,
        Kind.SPEED,
        Kind.INPUTS_UNCHANGED,
        Kind.PROPERTY,
        Kind.MODE,
        Kind.PUBLIC_CHECK,
        Kind.HIDDEN_CHECK,
    } <= kinds
    assert sum(check.kind == Kind.PUBLIC_CHECK for check in checks) == len(render.SHOWN_CHECKS)
