"""The catalogue of classic mistakes: one set of texts for the notebook and the grader, fingerprints that
name a mistake only on evidence, and the renderings that lead with it (no grading here: cheap)."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import solutions
from assignment import checks, mistakes
from assignment.cases import conv_inputs, pool_inputs
from grader import render
from grader.compare import Verdict, compare_array
from grader.report import CheckResult, Kind, Reason, Report, TaskResult
from grader.sandbox.protocol import Opaque
from grader.sandbox.supervisor import stage_directory
from grader.tasks import catalogue
from grader.tasks.base import Outcome, outcome
from grader.tasks.mistakes import NotShown
from grader.tasks.mistakes import layers as L
from grader.tasks.mistakes import networks as net
from grader.tasks.mistakes import normalization as nm
from grader.tasks.mistakes.normalization import _copied as copied_param  # a bn_param the reference may update


def conv_case(**changes):
    params = dict(N=2, C=2, H=7, W=6, F=2, HH=3, WW=3, stride=2, pad=1, seed=5) | changes
    inputs = conv_inputs(**params)
    return (inputs["x"], inputs["w"], inputs["b"], inputs["conv_param"]), inputs["dout"]


def fits_value(value, threshold=1e-7):
    return lambda candidate: compare_array("out", value, candidate, threshold).passed


# -- one catalogue ------------------------------------------------------------------------------------


def test_every_mistake_the_grader_names_is_in_the_shared_catalogue():
    assert catalogue.fingerprinted() <= set(mistakes.MISTAKES)


def test_every_mistake_names_the_tasks_the_grader_diagnoses_it_in():
    tasks = {}
    for key, prints in catalogue.FINGERPRINTS.items():
        for fingerprint in prints:
            tasks.setdefault(fingerprint.mistake, set()).add(key.partition(":")[0])
    tasks["divisibility_assumed"] = {
        "conv_forward_naive",
        "conv_backward_naive",
        "max_pool_forward_naive",
        "max_pool_backward_naive",
    }  # any conv or pool task (catalogue.divides)
    tasks["w2_square_or_even"] = {"three_layer_convnet"}  # from the parameters' shapes
    assert set(tasks) == catalogue.fingerprinted()
    for mistake, found in tasks.items():
        assert set(mistakes.MISTAKES[mistake].tasks) == found, mistake


def test_every_mistake_is_one_sentence_naming_a_task():
    for mistake in mistakes.MISTAKES.values():
        assert mistake.text and "\n" not in mistake.text and not mistake.text.endswith("."), mistake.id
        assert mistake.tasks and set(mistake.tasks) <= set(checks.TASK_IDS), mistake.id


def test_the_notebooks_hints_for_classic_mistakes_are_the_catalogues_texts():
    assert checks.conv.PAD_ZERO_HINT == mistakes.text("pad_zero_slicing")
    assert checks.pool.OVERLAP_HINT == mistakes.text("pool_backward_assigns")
    assert checks.normalization.BATCHNORM_FORWARD_HINTS["train_out"] == mistakes.text("reshape_without_transpose")
    assert checks.normalization.GROUPS_HINT == mistakes.text("groups_as_group_size")
    assert checks.convnet.NETWORK_HINTS["reg.grads"] == mistakes.text("reg_gradient_missing")


def test_the_shared_catalogue_holds_texts_only_no_reference_code():
    tree = ast.parse(Path(mistakes.__file__).read_text())
    imported = {
        alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"dataclasses", "dataclass"}


def test_the_sandbox_stage_holds_the_texts_but_no_fingerprint_variant():
    stage = stage_directory()
    try:
        names = {path.name for path in stage.rglob("*.py")}
        assert "mistakes.py" in names  # assignment/mistakes.py, the texts the notebook's checks import
        staged = "\n".join(path.read_text() for path in stage.rglob("*.py"))
        assert "NotShown" not in staged and "def conv_stride_ignored" not in staged
        assert not (stage / "grader").exists() and not (stage / "solutions").exists()
    finally:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)


# -- naming a mistake only on evidence ---------------------------------------------------------------


def test_the_output_of_a_mistake_is_named_with_it():
    args, _ = conv_case()
    mistaken = catalogue.FINGERPRINTS["conv_forward_naive"][0].variant(*args)
    assert catalogue.diagnose("conv_forward_naive", args, fits_value(mistaken)) == mistakes.text("stride_ignored")


def test_the_right_output_and_an_unrelated_wrong_one_are_named_nothing():
    args, _ = conv_case()
    right, _ = solutions.conv_forward_naive(*args)
    assert catalogue.diagnose("conv_forward_naive", args, fits_value(right)) == ""
    assert catalogue.diagnose("conv_forward_naive", args, fits_value(right + 1.0)) == ""


def test_two_mistakes_that_fit_alike_are_named_neither(monkeypatch):
    args, _ = conv_case()
    same = np.ones((2, 2, 4, 3))
    monkeypatch.setitem(
        catalogue.FINGERPRINTS,
        "conv_forward_naive",
        (
            catalogue.Fingerprint("stride_ignored", lambda *a: same),
            catalogue.Fingerprint("sizes_swapped", lambda *a: same),
        ),
    )
    assert catalogue.diagnose("conv_forward_naive", args, fits_value(same)) == ""


def test_a_variant_that_raises_or_does_not_apply_fits_nothing(monkeypatch):
    def raises(*args):
        raise NotShown("here")

    def broken(*args):
        return 1 / 0

    monkeypatch.setitem(
        catalogue.FINGERPRINTS,
        "conv_forward_naive",
        (catalogue.Fingerprint("stride_ignored", raises), catalogue.Fingerprint("sizes_swapped", broken)),
    )
    args, _ = conv_case()
    assert catalogue.diagnose("conv_forward_naive", args, lambda candidate: True) == ""


class _Sub(np.ndarray):
    """A subclass with a clever __eq__: validation refuses it, whatever its values."""

    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "disguise",
    [
        lambda out: out.view(_Sub),
        lambda out: out.tolist(),
        lambda out: out.astype(np.float32).astype(np.int64),
        lambda out: out[..., :-1],
        lambda out: np.where(out > 0, np.nan, out),
        lambda out: Opaque("ndarray"),
    ],
    ids=["subclass", "list", "integers", "other-shape", "nan", "opaque"],
)
def test_the_mistakes_output_in_disguise_is_named_nothing(disguise):
    """Only a value the check itself would accept (a plain float ndarray of the shape, finite) can fit."""
    args, _ = conv_case()
    mistaken = catalogue.FINGERPRINTS["conv_forward_naive"][0].variant(*args)
    assert catalogue.diagnose("conv_forward_naive", args, fits_value(disguise(mistaken))) == ""


def test_variants_run_on_copies_and_leave_the_graders_inputs_unchanged():
    args, dout = conv_case(pad=0, stride=1)
    before = [a.copy() if isinstance(a, np.ndarray) else dict(a) for a in args]
    catalogue.diagnose("conv_backward_naive", (dout, args), lambda candidate: False)
    for original, after in zip(before, args):
        assert np.array_equal(original, after) if isinstance(after, np.ndarray) else original == after


# -- divisibility: an exception on a geometry, confirmed over the task --------------------------------


class Raised:
    """A failed call as the sandbox reports one."""

    def __init__(self, error_type="AssertionError", ok=False):
        self.ok, self.error_kind, self.error_type = ok, "exception", error_type


def test_an_assertion_on_sizes_the_stride_does_not_divide_is_divisibility_assumed():
    dividing, _ = conv_case(H=7, W=7, stride=2, pad=1)  # 7 + 2 - 3 = 6
    odd, _ = conv_case(H=8, W=7, stride=2, pad=1)  # 8 + 2 - 3 = 7
    assert catalogue.diagnose_raised("conv_forward_naive", odd, Raised()) == mistakes.text("divisibility_assumed")
    assert catalogue.diagnose_raised("conv_forward_naive", dividing, Raised()) == ""
    assert catalogue.diagnose_raised("conv_forward_naive", odd, Raised("ValueError")) == ""


def test_divisibility_is_withdrawn_when_a_case_whose_sizes_divide_raised_too():
    dividing, _ = conv_case(H=7, W=7, stride=2, pad=1)
    odd, _ = conv_case(H=8, W=7, stride=2, pad=1)
    named = Outcome("hidden case", 1.0, False, "AssertionError", "error", mistakes.text("divisibility_assumed"))
    kept = catalogue.settled("conv_forward_naive", [named], [(dividing, Raised(ok=True)), (odd, Raised())])
    withdrawn = catalogue.settled("conv_forward_naive", [named], [(dividing, Raised()), (odd, Raised())])
    unconfirmed = catalogue.settled("conv_forward_naive", [named], [(odd, Raised())])
    assert kept[0].diagnosis and not withdrawn[0].diagnosis and not unconfirmed[0].diagnosis


def test_pool_divisibility_reads_the_window_and_stride():
    inputs = pool_inputs(N=1, C=1, H=7, W=6, pool_height=2, pool_width=2, stride=2, seed=0)
    assert catalogue.divides("max_pool_forward_naive", (inputs["x"], inputs["pool_param"])) is False


# -- W2's shape --------------------------------------------------------------------------------------


def network_params(W2_rows):
    shapes = {"W1": (5, 2, 5, 5), "b1": (5,), "W2": (60, 12), "b2": (12,), "W3": (12, 4), "b3": (4,)}
    params = {name: np.zeros(shape) for name, shape in shapes.items()}
    params["W2"] = np.zeros((W2_rows, 12))
    return params, shapes


@pytest.mark.parametrize(
    "rows, named",
    [(78, True), (80, True), (45, True), (61, False), (60, False)],
    ids=["F*H*W//4", "H twice", "W twice", "other", "right"],
)
def test_w2_sized_for_even_or_square_inputs_is_named_from_its_rows(rows, named):
    params, shapes = network_params(rows)
    found = catalogue.diagnose_w2(params, (2, 9, 7), 5, 12, shapes)
    assert found == (mistakes.text("w2_square_or_even") if named else "")


def test_w2_is_not_named_when_another_parameter_is_wrong_too():
    params, shapes = network_params(78)
    params["W1"] = np.zeros((5, 2, 3, 3))
    assert catalogue.diagnose_w2(params, (2, 9, 7), 5, 12, shapes) == ""


def test_an_outcome_carries_its_verdicts_diagnosis():
    assert outcome("case", 1.0, Verdict(False, "wrong", diagnosis="named")).diagnosis == "named"


# -- what a student reads ---------------------------------------------------------------------------

DIAGNOSIS = mistakes.text("stride_ignored")


def failing_task(hidden=10, diagnosis=DIAGNOSIS):
    checks_ = (
        CheckResult(
            "public case: x (2, 3, 4, 4)",
            0.0,
            2.0,
            False,
            "not awarded: 10 of 10 hidden cases failed",
            kind=Kind.PUBLIC,
            reason=Reason.NOT_AWARDED,
        ),
    )
    checks_ += tuple(
        CheckResult(
            f"hidden case: x (2, {i}, 7, 7), stride 2",
            0.0,
            1.0,
            False,
            f"out: relative error 1e+00 > 1e-07 (case {i})",
            diagnosis if i == 0 else "",
            kind=Kind.HIDDEN,
        )
        for i in range(hidden)
    )
    checks_ += (CheckResult("speed", 0.0, 1.0, False, "not awarded", kind=Kind.SPEED, reason=Reason.NOT_AWARDED),)
    return TaskResult(id="conv_forward_naive", status="failed", checks=checks_, max_score=13.0)


def test_the_tables_task_line_leads_with_the_diagnosis():
    report = Report(submission="s", tasks=(failing_task(),), grader_version="0")
    row = render.table(report, verbose=False).split("\n")[2]
    assert row.split("failed", 1)[1].strip().startswith(DIAGNOSIS[:40])


def test_ten_failing_hidden_cases_show_the_first_in_full_and_the_rest_in_one_line():
    report = Report(submission="s", tasks=(failing_task(),), grader_version="0")
    details = render.table(report).split("\n")[5:]
    assert details[0].endswith(f"diagnosis: {DIAGNOSIS}")
    assert "(case 0)" in details[2] and details[3].startswith("  conv_forward_naive / 9 more hidden cases failed too")
    assert len(details) == 1 + 1 + 1 + 1 + 1  # diagnosis, public case, first hidden case, the other nine, speed
    assert "(case 5)" not in "\n".join(details)


def test_gradescope_output_leads_with_the_diagnosis_and_folds_the_failing_hidden_cases():
    public, hidden = render.to_gradescope(Report(submission="s", tasks=(failing_task(),), grader_version="0"))["tests"]
    lines = hidden["output"].split("\n")
    assert lines[0] == f"Diagnosis: {DIAGNOSIS}"
    verdicts = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == 3 and verdicts[1].startswith("FAIL (0/9) 9 more hidden cases failed too: x (2, 1, 7, 7)")


def test_a_diagnosis_drawn_from_hidden_cases_stays_with_them_on_gradescope():
    """The public test is visible before grades are published; what the hidden cases showed is not."""
    public, _ = render.to_gradescope(Report(submission="s", tasks=(failing_task(),), grader_version="0"))["tests"]
    assert "Diagnosis" not in public["output"] and "stride" not in public["output"]


def test_without_a_diagnosis_the_line_is_the_first_failure_and_one_hidden_case_is_not_folded():
    task = failing_task(hidden=1, diagnosis="")
    report = Report(submission="s", tasks=(task,), grader_version="0")
    assert render.table(report, verbose=False).split("\n")[2].endswith(task.message[:40]) or task.message[
        :40
    ] in render.table(report, verbose=False)
    assert "more hidden case" not in render.table(report)
    assert not render.to_gradescope(report)["tests"][0]["output"].startswith("Diagnosis")


def test_the_json_report_has_a_diagnosis_per_check_made_printable():
    task = failing_task(diagnosis="named \x1b[2J")
    data = render.to_json(Report(submission="s", tasks=(task,), grader_version="0"))
    diagnoses = [check["diagnosis"] for check in data["tasks"][0]["checks"]]
    assert diagnoses[1] == "named \\x1b[2J" and diagnoses[0] == "" and len(diagnoses) == len(task.checks)
    json.dumps(data)


# -- every fingerprint shows on the graded cases --------------------------------------------------


def _graded_calls(key):
    """(args, reference value) of every graded call the fingerprints of ``key`` are tried on, built as the
    grader builds them."""
    from assignment.cases import groupnorm_inputs
    from assignment.tasks import PUBLIC_CASES
    from grader.tasks import conv, convnet, pool
    from grader.tasks import normalization as norm

    if key in ("conv_forward_naive", "max_pool_forward_naive", "conv_backward_naive", "max_pool_backward_naive"):
        layer = conv.LAYER if key.startswith("conv") else pool.LAYER
        for _, case, _ in layer.cases(key):
            inputs = layer.inputs(case)
            args = layer.arguments(inputs)
            if key.endswith("forward_naive"):
                yield args, layer.reference[0](*args)[0]
            else:
                yield (inputs["dout"], args), layer.reference_gradients(inputs["dout"], args)
    elif key.startswith("spatial_batchnorm") or key == catalogue.RUNNING_STATS:
        yield from _batchnorm_calls(key)
    elif key.startswith("spatial_groupnorm"):
        forward = key == "spatial_groupnorm_forward"
        for case in [PUBLIC_CASES[key]] + list(norm.GN_FORWARD_CASES if forward else norm.GN_BACKWARD_CASES):
            case = norm._with_groups(case)
            inputs = norm._generated(groupnorm_inputs, case)
            args = norm._gn_case_args(case, inputs)
            out, cache = solutions.spatial_groupnorm_forward(*args)
            yield (
                (args, out)
                if forward
                else ((inputs["dout"], args), solutions.spatial_groupnorm_backward(inputs["dout"], cache))
            )
    else:
        for net, reg, seed in (
            (convnet.SQUARE_NET, 0.0, 502),
            (convnet.SQUARE_NET, convnet.REG, 503),
            (convnet.NON_SQUARE_NET, convnet.REG, 504),
        ):
            params, X, y = convnet.loss_case(net, seed)
            yield (params, X, y, reg), convnet._reference_model(net, reg, params).loss(X, y)


def _batchnorm_calls(key):
    """The graded calls of batchnorm's keys: the train-mode cases of the forward (its out) or the backward, and
    the mode checks whose outcomes name mistakes: test mode (the forward's out) and the running statistics
    (RUNNING_STATS: bn_param's statistics after the call)."""
    from assignment.cases import batchnorm_inputs
    from assignment.tasks import PUBLIC_CASES
    from grader.tasks import normalization as norm

    train = {"spatial_batchnorm_forward": norm.BN_FORWARD_CASES, "spatial_batchnorm_backward": norm.BN_BACKWARD_CASES}
    for case in [PUBLIC_CASES[key], *train[key]] if key in train else []:
        inputs = norm._generated(batchnorm_inputs, case)
        args = (inputs["x"], inputs["gamma"], inputs["beta"], norm._bn_train_param(case))
        out, cache = solutions.spatial_batchnorm_forward(*args[:3], copied_param(args[3]))
        if key == "spatial_batchnorm_backward":
            yield (inputs["dout"], args), solutions.spatial_batchnorm_backward(inputs["dout"], cache)
        else:
            yield args, out
    modes = {"spatial_batchnorm_forward": (norm._test_mode_check, "test")}
    modes[catalogue.RUNNING_STATS] = (norm._running_stats_check, "train")
    check, mode = modes.get(key, (None, None))
    for case in [case for graded, case in norm.MODE_CHECKS if graded is check]:
        inputs = norm._generated(batchnorm_inputs, case)
        param = norm._bn_param_with_stats(case, mode)
        after = copied_param(param)
        out, _ = solutions.spatial_batchnorm_forward(inputs["x"], inputs["gamma"], inputs["beta"], after)
        args = (inputs["x"], inputs["gamma"], inputs["beta"], param)
        yield args, ((after["running_mean"], after["running_var"]) if key == catalogue.RUNNING_STATS else out)


def _differs(value, reference):
    """Whether a variant's value differs from the reference's beyond the loosest threshold (1e-6)."""
    if isinstance(reference, tuple) and len(reference) == 1 and not isinstance(value, tuple):
        value = (value,)  # a pool's dx
    if isinstance(reference, tuple) and len(reference) == 2 and isinstance(reference[1], dict):  # (loss, grads)
        return abs(value[0] - reference[0]) > 1e-6 * abs(reference[0]) or any(
            _differs(value[1][k], reference[1][k]) for k in reference[1]
        )
    if isinstance(reference, tuple):
        return any(_differs(v, r) for v, r in zip(value, reference, strict=True))
    return value.shape != reference.shape or not np.allclose(value, reference, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "key, fingerprint",
    [(key, f) for key, prints in catalogue.FINGERPRINTS.items() for f in prints],
    ids=lambda v: v if isinstance(v, str) else v.variant.__name__,
)
def test_every_fingerprint_shows_on_some_graded_case(key, fingerprint):
    """A variant that never differs from the reference on the graded inputs could never name its mistake."""
    shown = 0
    for args, reference in _graded_calls(key):
        for candidate in catalogue._candidates(fingerprint, args):
            shown += _differs(candidate, reference)
    assert shown, f"{fingerprint.variant.__name__} never differs from the reference on the graded cases"


def _singling_out(key, mistake):
    """How many graded calls of ``key`` single ``mistake`` out: code returning one of its candidates there
    is evidence for it (catalogue.examine), distinct from the reference, the other mistakes, the alternatives."""
    count = 0
    for args, _ in _graded_calls(key):
        candidates = [
            c for f in catalogue.FINGERPRINTS[key] if f.mistake == mistake for c in catalogue._candidates(f, args)
        ]
        count += any(
            mistake in catalogue.examine(key, args, lambda other, c=c: not catalogue._distinct(c, other)).supports
            for c in candidates
        )
    return count


@pytest.mark.parametrize(
    "key, mistake",
    sorted({(key, f.mistake) for key, prints in catalogue.FINGERPRINTS.items() for f in prints}),
)
def test_every_fingerprinted_mistake_is_singled_out_by_enough_graded_cases_to_be_named(key, mistake):
    """A mistake is named from EVIDENCE_CASES cases: with fewer graded cases that single it out, it never is."""
    assert _singling_out(key, mistake) >= catalogue.EVIDENCE_CASES


# -- the evidence, weighed over the whole task ---------------------------------------------------------


class _Task:
    """A task whose grade makes the given diagnose calls, one failed outcome each."""

    definition = "conv_forward_naive"

    def __init__(self, *calls, reason=Reason.NONE):
        self.calls, self.reason = calls, reason

    def grade(self, ctx):
        return [
            Outcome(f"case {i}", 1.0, False, "wrong", diagnosis=catalogue.diagnose(*call), reason=self.reason)
            for i, call in enumerate(self.calls)
        ]


class _Context:
    def __init__(self, source=None, name="conv_forward_naive"):
        lines = (source or "").count("\n") + 1
        self.session = type("Session", (), {"cells": [{"source": source, "statements": [(1, lines, [name])]}]})()
        if source is None:
            self.session.cells = []


def _stride_ignored_call(**changes):
    args, _ = conv_case(**changes)
    return "conv_forward_naive", args, fits_value(catalogue.FINGERPRINTS["conv_forward_naive"][0].variant(*args))


def _named(task, ctx=None):
    return {o.diagnosis for o in catalogue.diagnosed(task, ctx or _Context()) if o.diagnosis}


def test_a_mistake_is_named_on_two_cases_that_single_it_out_and_not_on_one():
    one, two = _stride_ignored_call(seed=5), _stride_ignored_call(seed=6, H=9)
    assert _named(_Task(one, two)) == {mistakes.text("stride_ignored")}
    assert _named(_Task(one)) == set()


def test_a_case_where_the_mistakes_output_differs_and_the_students_does_not_fit_withdraws_it():
    args, _ = conv_case(seed=7)
    unrelated = ("conv_forward_naive", args, fits_value(solutions.conv_forward_naive(*args)[0] + 1.0))
    assert _named(_Task(_stride_ignored_call(seed=5), _stride_ignored_call(seed=6, H=9), unrelated)) == set()


def test_an_untouched_stub_or_a_check_that_says_not_implemented_gets_no_diagnosis():
    calls = (_stride_ignored_call(seed=5), _stride_ignored_call(seed=6, H=9))
    stub = "def conv_forward_naive(x, w, b, conv_param):\n    out = None\n    pass\n    return out, None\n"
    assert _named(_Task(*calls), _Context(stub)) == set()
    assert _named(_Task(*calls, reason=Reason.NOT_IMPLEMENTED)) == set()
    written = "def conv_forward_naive(x, w, b, conv_param):\n    return x.sum(), None\n"
    assert _named(_Task(*calls), _Context(written)) == {mistakes.text("stride_ignored")}


def _gn_args(C, G, seed=0):
    from assignment.cases import groupnorm_inputs

    inputs = groupnorm_inputs(N=2, C=C, H=3, W=4, seed=seed, scale=2.0, shift=1.0)
    return inputs["x"], inputs["gamma"], inputs["beta"], G, {"eps": 1e-5}


def test_g_1_and_g_c_are_no_evidence_for_groups_confused_with_group_size():
    """At G = 1, C // G groups is an instance norm; at G = C, a layer norm: both plausible bugs of their own."""
    for C, G, other in ((4, 1, nm.gn_instance_norm), (4, 4, nm.gn_layer_norm)):
        args = _gn_args(C, G)
        mistaken = nm.gn_groups_as_group_size(*args)
        assert not catalogue._distinct(mistaken, other(*args))
        assert catalogue.examine("spatial_groupnorm_forward", args, fits_value(mistaken)).supports == set()
    args = _gn_args(8, 4)
    found = catalogue.examine("spatial_groupnorm_forward", args, fits_value(nm.gn_groups_as_group_size(*args)))
    assert found.supports == {"groups_as_group_size"}


def test_an_instance_norm_is_named_nothing_over_g_1_g_c_and_g_in_between():
    calls = []
    for C, G in ((4, 1), (5, 5), (8, 4), (6, 3)):
        args = _gn_args(C, G)
        calls.append(("spatial_groupnorm_forward", args, fits_value(nm.gn_instance_norm(*args))))
    task = _Task(*calls)
    task.definition = "spatial_groupnorm_forward"
    assert _named(task) == set()


def test_a_one_row_window_is_no_evidence_for_a_square_window_assumed():
    inputs = pool_inputs(N=2, C=2, H=9, W=10, pool_height=1, pool_width=2, stride=3, seed=207)
    args = (inputs["dout"], (inputs["x"], inputs["pool_param"]))
    mistaken = L.pool_backward_argmax_square(*args)
    assert not catalogue._distinct(mistaken, L.pool_backward_argmax_transposed(*args))
    found = catalogue.examine("max_pool_backward_naive", args, fits_value(mistaken, 1e-6))
    assert "argmax_square_window" not in found.supports


def test_a_window_sized_by_the_stride_is_no_evidence_for_height_and_width_mixed_up():
    inputs = pool_inputs(N=2, C=2, H=6, W=8, pool_height=2, pool_width=3, stride=2, seed=201)
    args = (inputs["x"], inputs["pool_param"])
    student = L.pool_window_from_stride(*args)
    found = catalogue.examine("max_pool_forward_naive", args, fits_value(student))
    assert found.supports == set()


def test_the_l2_term_counted_twice_is_one_diagnosis_whichever_way_it_was_doubled():
    """Its 0.5 left out, or the whole term (and its gradient) added twice: the same outputs, so the text says both."""
    from grader.tasks import convnet

    params, X, y = convnet.loss_case(convnet.SQUARE_NET, 503)
    twice = net.network_loss(params, X, y, 2 * convnet.REG)  # 0.5 * reg * sum(W**2) twice, reg * W twice
    assert any(not catalogue._distinct(twice, c) for c in net.reg_missing_half(params, X, y, convnet.REG))
    assert "added a second time" in mistakes.text("reg_missing_half")


def test_a_case_repeated_by_another_check_counts_once():
    call = _stride_ignored_call(seed=5)
    assert _named(_Task(call, call)) == set()
