"""Timed work cannot move out of the timed window (issue 19, finding 3).

The hidden, speed and confirmation inputs of the layer tasks are drawn from a secret of each grading
(grader.tasks.speed.drawn_inputs), and a backward's speed counts the forward the grader calls for its
cache and any first attempt before a retry. Verdicts must not depend on the draw: correct code passes on
every draw, and each catalogued mistake fails the same cases on every draw.
"""

import contextlib
import copy
from pathlib import Path

import numpy as np
import pytest

from assignment.cases import conv_inputs, pool_inputs
from assignment.tasks import PUBLIC_CASES
from grader.compare import BACKWARD_THRESHOLD, FORWARD_THRESHOLD, compare_array, compare_arrays
from grader.config import Config
from grader.pipeline import grade
from grader.sandbox.session import CallResult
from grader.tasks import catalogue, conv, pool
from grader.tasks.base import HIDDEN_CASE, PUBLIC_CASE, TaskContext
from grader.tasks.layer_checks import call_backward
from grader.tasks.mistakes import NotShown
from grader.tasks.speed import SPEED, WELL_POSED, Timing, _well_posed, drawn_inputs, forward_excess, speed_verdict
from notebooks import solution_cells, write_notebook

LAYERS = {"conv": conv.LAYER, "pool": pool.LAYER}
DRAWS = 25  # gradings simulated per claim: enough to see a verdict that hangs on the draw
ATTACKS = Path(__file__).parent / "attacks" / "speed"


def context(secret=None):
    """A TaskContext of one grading (no child: only the drawing of inputs is used)."""
    ctx = TaskContext(session=None, config=Config())
    if secret is not None:
        ctx.secret = secret
    return ctx


def graded_inputs(ctx, layer, task_id):
    return [(kind, case, inputs) for kind, case, _, inputs in layer.graded(ctx, task_id)]


# -- the inputs: secret per grading, public cases untouched ----------------------------------------------------


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS)
def test_two_gradings_never_draw_the_same_inputs_but_one_grading_draws_the_same_twice(layer):
    first, second = context(), context()
    assert first.secret != second.secret
    once = drawn_inputs(first, layer, layer.backward, layer.speed_case, SPEED, 0)
    again = drawn_inputs(first, layer, layer.backward, layer.speed_case, SPEED, 0)
    other = drawn_inputs(second, layer, layer.backward, layer.speed_case, SPEED, 0)
    assert all(np.array_equal(once[name], again[name]) for name in ("x", "dout"))
    assert not np.array_equal(once["x"], other["x"]) and not np.array_equal(once["dout"], other["dout"])


def test_the_secret_is_not_in_the_context_s_repr():
    ctx = context()
    assert str(ctx.secret) not in repr(ctx)


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS)
def test_every_call_of_a_task_draws_its_own_inputs(layer):
    ctx = context()
    tasks = (layer.forward, layer.backward)
    drawn = [inputs["dout"] for task in tasks for _, _, inputs in graded_inputs(ctx, layer, task)]
    drawn += [drawn_inputs(ctx, layer, layer.backward, layer.speed_case, SPEED, i)["dout"] for i in range(3)]
    fingerprints = {(d.shape, d.tobytes()) for d in drawn}
    assert len(fingerprints) == len(drawn)


def test_public_cases_are_exactly_the_notebook_s():
    ctx = context()
    generators = {"conv": conv_inputs, "max_pool": pool_inputs}
    for layer in LAYERS.values():
        for task_id in (layer.forward, layer.backward):
            kind, case, inputs = graded_inputs(ctx, layer, task_id)[0]
            assert kind == PUBLIC_CASE and case == PUBLIC_CASES[task_id]
            expected = generators[task_id.rsplit("_", 2)[0]](**PUBLIC_CASES[task_id])
            assert all(np.array_equal(inputs[name], expected[name]) for name in ("x", "dout"))


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS)
def test_no_drawn_input_comes_from_a_small_seed_of_the_generators(layer):
    """The red team's lookup: the first value each small seed draws, to rebuild a case (and its dout)."""
    first_normals = {float(np.random.default_rng(seed).standard_normal()) for seed in range(20_000)}
    ctx = context()
    for task_id in (layer.forward, layer.backward):
        for kind, _, inputs in graded_inputs(ctx, layer, task_id)[1:]:
            assert float(inputs["x"].flat[0]) not in first_normals
            assert float(inputs["dout"].flat[0]) not in first_normals
            if layer is pool.LAYER:  # its x: (rank + secret offset) / size - 0.5, never a rank alone
                x = inputs["x"]
                ranks = (x[x < 0.5] + 0.5) * x.size  # designed peaks lie above 1
                assert np.abs(ranks - np.rint(ranks)).min() >= 0.1 - 1e-9


# -- verdicts do not depend on the draw -----------------------------------------------------------------------


def test_pool_draws_keep_every_window_s_maximum_where_the_case_puts_it_and_no_ties():
    for case in pool.HIDDEN_CASES:
        as_written = pool.case_inputs(case)
        _, cache = pool.LAYER.fast[0](*pool.LAYER.arguments(as_written))
        where = pool.LAYER.fast[1](np.ones_like(as_written["dout"]), cache)
        for secret in range(DRAWS):
            inputs = pool.LAYER.inputs(dict(case, values=[secret]))
            x = inputs["x"]
            assert len(np.unique(x)) == x.size
            _, cache = pool.LAYER.fast[0](*pool.LAYER.arguments(inputs))
            assert np.array_equal(pool.LAYER.fast[1](np.ones_like(inputs["dout"]), cache), where)


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS)
def test_correct_code_passes_every_graded_case_on_every_draw(layer):
    """The reference loops against the fast layers (another summation order) on many gradings' draws."""
    for secret in range(DRAWS):
        for task_id in (layer.forward, layer.backward):
            for _, case, inputs in graded_inputs(context(secret), layer, task_id):
                args = layer.arguments(inputs)
                assert _well_posed(layer, inputs) or case == PUBLIC_CASES[task_id]
                out, _ = layer.fast[0](*args)
                assert compare_array("out", out, layer.reference[0](*args)[0], FORWARD_THRESHOLD).passed
                _, cache = layer.fast[0](*args)
                grads = layer.fast[1](inputs["dout"], cache)
                grads = grads if isinstance(grads, tuple) else (grads,)
                expected = layer.reference_gradients(inputs["dout"], args)
                assert compare_arrays(layer.grad_names, grads, expected, BACKWARD_THRESHOLD).passed


def test_a_draw_with_a_value_near_zero_is_not_well_posed():
    inputs = conv.case_inputs(conv.HIDDEN_CASES[0])
    assert _well_posed(conv.LAYER, inputs)
    inputs["b"] = inputs["b"] - conv.LAYER.fast[0](*conv.LAYER.arguments(inputs))[0][0, :, 0, 0]
    inputs["b"][0] += WELL_POSED / 10  # out[0, 0, 0, 0] is now almost zero
    assert not _well_posed(conv.LAYER, inputs)


def mistake_verdicts(layer, task_id, ctx):
    """{(mistake variant, hidden case index): whether the variant's value passes the case's check}."""
    verdicts = {}
    for index, (kind, _, inputs) in enumerate(graded_inputs(ctx, layer, task_id)):
        if kind != HIDDEN_CASE:
            continue
        args = layer.arguments(inputs)
        for fingerprint in catalogue.FINGERPRINTS[task_id]:
            try:
                if task_id == layer.forward:
                    value = fingerprint.variant(*copy.deepcopy(args))
                else:
                    value = fingerprint.variant(inputs["dout"].copy(), copy.deepcopy(args))
            except NotShown:
                continue
            except Exception as exc:  # the mistaken code fails on this case, as a student's would
                verdicts[(fingerprint.variant.__name__, type(exc).__name__, index)] = False
                continue
            for n, candidate in enumerate(value if isinstance(value, list) else [value]):
                if task_id == layer.forward:
                    passed = compare_array("out", candidate, layer.reference[0](*args)[0], FORWARD_THRESHOLD).passed
                else:
                    candidate = candidate if isinstance(candidate, tuple) else (candidate,)
                    expected = layer.reference_gradients(inputs["dout"], args)
                    passed = compare_arrays(layer.grad_names, candidate, expected, BACKWARD_THRESHOLD).passed
                verdicts[(fingerprint.variant.__name__, n, index)] = passed
    return verdicts


@pytest.mark.parametrize(
    "task_id", ["conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive"]
)
def test_every_catalogued_mistake_fails_the_same_hidden_cases_on_every_draw(task_id):
    layer = conv.LAYER if task_id.startswith("conv") else pool.LAYER
    first = mistake_verdicts(layer, task_id, context(0))
    assert first and not all(first.values())
    for secret in range(1, DRAWS):
        assert mistake_verdicts(layer, task_id, context(secret)) == first


# -- a backward's time counts every call that could do its work ----------------------------------------------


def backward_timings(backward_ratio, excess_ratio, reference=7e-3):
    """Graded cases and speed rounds of a backward whose forward for the cache took ``excess_ratio`` times the
    reference backward's time beyond its own pace."""

    def timing(label):
        return Timing(label, reference * backward_ratio, reference, forward_excess=reference * excess_ratio)

    return [timing(f"case {i}") for i in range(9)], [timing("speed")] * 3


def test_a_backward_fast_alone_but_whose_forward_did_its_work_fails():
    graded, rounds = backward_timings(backward_ratio=0.2, excess_ratio=100)
    verdict = speed_verdict(graded, rounds, [1e-4] * 3, budget=25)
    assert not verdict.passed
    assert verdict.message.startswith("your code took 0.20x the reference loops' time")
    assert "beyond its own pace" in verdict.message and "on the speed case your backward took 100.2x" in verdict.message


def test_a_backward_within_budget_with_its_forward_s_excess_passes():
    graded, rounds = backward_timings(backward_ratio=10, excess_ratio=10)
    verdict = speed_verdict(graded, rounds, [1e-4] * 3, budget=25)
    assert verdict.passed, verdict.message


def paced_context(ratio, budget=25.0):
    """A grading whose conv forward task timed the first hidden case's sizes at ``ratio`` the reference."""
    ctx = TaskContext(session=None, config=Config(speed_budget=budget))
    ctx.paces[conv.LAYER.forward] = [(conv.describe(conv.HIDDEN_CASES[0]), Timing("hidden", ratio * 1e-3, 1e-3))]
    return ctx


def answered(seconds):
    return CallResult(ok=True, value=(np.zeros(1), None), arity=2, seconds=seconds)


def excess(ctx, call, first=False):
    """forward_excess of a conv forward called for the cache on the first hidden case's sizes, whose reference
    forward took 1 ms."""
    return forward_excess(ctx, conv.LAYER, conv.HIDDEN_CASES[0], call, 1e-3, first=first)


def test_a_forward_as_slow_for_the_cache_as_in_its_own_task_adds_nothing_to_the_backward():
    assert excess(paced_context(60), answered(0.060)) == 0.0
    assert excess(paced_context(60), answered(0.080)) == pytest.approx(0.080 - 1.25 * 0.060)


def test_a_forward_s_pace_is_its_seconds_or_its_ratio_whichever_allows_more():
    ctx = paced_context(60)  # 60 ms where the reference took 1 ms
    assert forward_excess(ctx, conv.LAYER, conv.HIDDEN_CASES[0], answered(0.075), 0.3e-3, first=False) == 0.0
    assert forward_excess(ctx, conv.LAYER, conv.HIDDEN_CASES[0], answered(0.150), 2e-3, first=False) == 0.0
    assert forward_excess(ctx, conv.LAYER, conv.HIDDEN_CASES[0], answered(0.160), 2e-3, first=False) > 0


def test_a_forward_slower_for_the_cache_than_in_its_own_task_adds_the_difference():
    assert excess(paced_context(1), answered(2.5)) == pytest.approx(2.5 - 1.25e-3)
    assert excess(paced_context(1), answered(2.5), first=True) == 0.0  # the fork's start-up
    assert excess(paced_context(1), CallResult(ok=False, error_kind="timeout", seconds=2.5)) == 0.0  # fork gone
    assert excess(paced_context(1), CallResult(ok=False, error_kind="exception", seconds=2.5)) > 2.4


def test_a_forward_whose_own_task_did_not_time_those_sizes_may_take_the_budget_or_its_slowest_pace():
    ctx = TaskContext(session=None, config=Config(speed_budget=25.0))
    assert excess(ctx, answered(0.025)) == 0.0
    assert excess(ctx, answered(0.030)) == pytest.approx(0.005)
    ctx.paces[conv.LAYER.forward] = [("other sizes", Timing("hidden", 0.5, 1e-3))]  # a forward that floods output
    assert excess(ctx, answered(0.6)) == 0.0
    ctx.paces[conv.LAYER.forward] = [("other sizes", Timing("public", 0.5, 1e-3, alone=False))]  # its fork's start-up
    assert excess(ctx, answered(0.6)) == pytest.approx(0.575)


class ScriptedSession:
    """A session whose calls return the given CallResults in order."""

    def __init__(self, *results):
        self.results = list(results)

    def call(self, target, *args, **options):
        return self.results.pop(0)

    @contextlib.contextmanager
    def paused(self):
        yield


def test_a_backward_retried_with_the_documented_cache_is_timed_over_both_attempts():
    raised = CallResult(ok=False, error_kind="exception", error_type="RuntimeError", message="no", seconds=2.5)
    answered = CallResult(ok=True, value=np.zeros(2), seconds=0.001)
    ctx = TaskContext(ScriptedSession(raised, answered), Config())
    result, note = call_backward(ctx, "max_pool_backward_naive", np.zeros(1), ("own",), ("documented",))
    assert result.ok and result.seconds == pytest.approx(2.501)
    assert "graded with the documented cache" in note


# -- the attacks: every untimed call the submission can see -----------------------------------------------------


def graded_attack(tmp_path, attack, tasks):
    notebook = write_notebook(tmp_path, *solution_cells(), (ATTACKS / attack).read_text())
    return grade(notebook, Config(tasks=tasks))


def assert_only_speed_lost(task):
    failing = [check for check in task.checks if not check.passed]
    assert [check.name.split(" ")[0] for check in failing] == ["speed"], [c.message for c in failing]
    assert "over budget on two measurements" in failing[0].message


@pytest.mark.slow
def test_backward_work_done_in_every_untimed_call_still_loses_the_speed_point(tmp_path):
    """Seeds looked up at load, the dout rebuilt and the slow backward run in the forward called for the cache,
    the slow backward run before raising for a retry: it kept its speed point before (0.10x, 0.13x)."""
    report = graded_attack(
        tmp_path, "backward_precomputed_in_untimed_calls.py", ("max_pool_forward_naive", "max_pool_backward_naive")
    )
    forward, backward = report.tasks
    assert forward.score == pytest.approx(forward.max_score), forward.message
    assert_only_speed_lost(backward)
    report = graded_attack(tmp_path, "backward_precomputed_in_untimed_calls.py", ("conv_backward_naive",))
    assert_only_speed_lost(report.tasks[0])


@pytest.mark.slow
def test_a_pool_backward_whose_slow_search_moved_into_its_forward_loses_the_speed_point(tmp_path):
    """Needs no dout, so no secret stops it; its forward is as fast as the reference in its own task, slow only
    once a backward has run (0.12x before)."""
    report = graded_attack(
        tmp_path, "pool_backward_search_moved_to_forward.py", ("max_pool_forward_naive", "max_pool_backward_naive")
    )
    forward, backward = report.tasks
    assert forward.score == pytest.approx(forward.max_score), forward.message
    assert_only_speed_lost(backward)
    assert "beyond its own pace" in backward.checks[-1].message
