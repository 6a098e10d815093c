"""The grader's checks fail closed: what came back from the sandbox is hostile, so a comparison of fewer
items than expected, of nothing, or of something the grader cannot see into fails; values of the wrong
type are different values, never a grader error; and no point is earned by an answer a student could copy
or by code that is fast only where it is timed."""

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
from test_grader_pool_convnet import cells_of

from grader.compare import all_of, check_scalar
from grader.config import Config
from grader.report import Kind
from grader.sandbox.protocol import Opaque
from grader.sandbox.session import CallResult, Session
from grader.tasks import conv, normalization, pool
from grader.tasks.base import Outcome, TaskContext, cache_unchanged, inputs_unchanged, public_earned_only_with_hidden
from grader.tasks.layer_checks import _gradients_verdict
from grader.tasks.speed import SPEED_FLOOR, Timing, speed_verdict
from notebooks import solution_cells

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

GRAD_NAMES = ("dx", "dw", "db")


class Three(tuple):
    """An empty tuple that says it holds three items."""

    def __len__(self):
        return 3


def returned(value, arity=None):
    """The CallResult of a call that returned ``value``, with the arity a hostile child might claim."""
    return CallResult(ok=True, value=value, arity=arity)


def conv_expected():
    inputs = conv.LAYER.inputs(conv.HIDDEN_CASES[0])
    return conv.LAYER.reference_gradients(inputs["dout"], conv.LAYER.arguments(inputs))


# -- several items: exactly the expected number, never nothing --------------------------------------


def test_all_of_no_verdicts_fails_saying_nothing_was_compared():
    verdict = all_of([])
    assert not verdict.passed
    assert "nothing was compared" in verdict.message


@pytest.mark.parametrize(
    "value, arity",
    [((), 3), (Three(), 3), ([], 3), (Three(), None)],
    ids=["empty-tuple-said-3", "lying-subclass", "empty-list-said-3", "lying-subclass-no-arity"],
)
def test_gradients_that_are_fewer_than_expected_fail_whatever_arity_says(value, arity):
    verdict = _gradients_verdict(returned(value, arity), "conv_backward_naive", GRAD_NAMES, conv_expected(), 1e-6)
    assert not verdict.passed
    assert "should return 3 gradients" in verdict.message


def test_gradients_of_the_expected_number_and_values_pass():
    expected = conv_expected()
    verdict = _gradients_verdict(returned(tuple(expected), 3), "conv_backward_naive", GRAD_NAMES, expected, 1e-6)
    assert verdict.passed, verdict.message


class ScriptedSession:
    """A session whose calls return the given CallResults in order (a child that says what it likes)."""

    def __init__(self, *results):
        self.results = list(results)

    def call(self, target, *args, **options):
        return self.results.pop(0)

    @contextlib.contextmanager
    def paused(self):
        yield


def test_normalization_backward_that_returns_fewer_gradients_than_it_claims_fails():
    example = normalization.Example(N=2, C=3, H=2, W=2, G=3, eps=1e-5, seed=1, grouped=False)
    args, dout = normalization._bn_example_args(example), example.arrays()[3]
    expected = normalization._example_reference(example, "batch", True)
    forward = returned((np.zeros(example.shape), Opaque("an item the grader did not ask for")), 2)
    ctx = SimpleNamespace(session=ScriptedSession(forward, returned(Three(), 3)), config=Config())
    verdict = normalization._gradients_agree(
        ctx, (normalization.BN_FORWARD, normalization.BN_BACKWARD), args, dout, expected
    )
    assert not verdict.passed
    assert "should return 3 gradients" in verdict.message


def test_inputs_unchanged_of_no_inputs_fails_as_nothing_compared():
    assert not inputs_unchanged((), (), ()).passed


def test_inputs_unchanged_fails_when_fewer_arguments_came_back():
    x = np.ones((2, 2))
    assert not inputs_unchanged((x, {"stride": 1}), Three((x,)), ("x", "conv_param")).passed
    assert not inputs_unchanged((x, {"stride": 1}), (x,), ("x", "conv_param")).passed


# -- values of another type are different values ------------------------------------------------------


@pytest.mark.parametrize(
    "after",
    [np.array([1, 1]), np.array(1), 1.0, True, "1", None, [1]],
    ids=["array", "0-d array", "float", "bool", "str", "None", "list"],
)
def test_parameter_dict_with_a_value_of_another_type_is_changed_not_an_error(after):
    x = np.ones((2, 2))
    verdict = inputs_unchanged((x, {"stride": 1, "pad": 0}), (x, {"stride": after, "pad": 0}), ("x", "conv_param"))
    assert not verdict.passed
    assert "changed its input conv_param" in verdict.message


def test_parameter_dict_as_it_was_is_unchanged():
    x = np.ones((2, 2))
    assert inputs_unchanged((x, {"stride": 1, "pad": 0}), (x.copy(), {"pad": 0, "stride": 1}), ("x", "p")).passed


@pytest.mark.parametrize("loss", [10**400, -(10**400)], ids=["huge", "huge-negative"])
def test_loss_too_large_for_a_float_fails_with_a_message(loss):
    verdict = check_scalar("loss", loss, 2.3, 1e-8)
    assert not verdict.passed
    assert verdict.message.startswith("loss: ")


def test_loss_that_is_a_large_int_that_fits_a_float_is_compared():
    assert not check_scalar("loss", 10**300, 2.3, 1e-8).passed
    assert check_scalar("loss", 2, 2.0, 1e-8).passed


# -- a cache that cannot be seen into is not "unchanged" ----------------------------------------------


BOX = Opaque("__main__.Box")


@pytest.mark.parametrize(
    "before, after",
    [
        ((np.ones(3), BOX), (np.ones(3), BOX)),
        ((np.ones(3), {"extra": 1}), (np.ones(3), {"extra": BOX})),
        ((np.ones(3), [np.ones(2), BOX]), (np.ones(3), [np.ones(2), 1])),
        (BOX, BOX),
    ],
    ids=["object-item", "object-after-only", "object-before-only", "whole-cache-an-object"],
)
def test_cache_holding_an_object_the_grader_cannot_see_into_fails_closed(before, after):
    verdict = cache_unchanged(before, after, ("x",))
    assert not verdict.passed
    assert "arrays, numbers, strings, None and tuples, lists and dicts of them" in verdict.message


def test_cache_with_nothing_in_it_is_not_shown_unchanged():
    assert not cache_unchanged((), ()).passed


def test_cache_whose_numbers_change_is_changed():
    before = (np.ones(3), {"stride": 1, "pad": 1})
    verdict = cache_unchanged(before, (np.ones(3), {"stride": 1, "pad": 0}), ("x", "conv_param"))
    assert not verdict.passed
    assert "item [1]['pad']" in verdict.message


# -- a public case earns its points only alongside every hidden case ------------------------------------


def case_outcomes(public=True, hidden=(True, True)):
    outcomes = [
        Outcome("public case: x (2, 3, 4, 4)", 2.0, public, "out: relative error 0.0e+00 <= 1e-07", kind=Kind.PUBLIC)
    ]
    outcomes += [
        Outcome(
            f"hidden case: {i}", 1.0, passed, "" if passed else "out: relative error 1.0e+00 > 1e-07", kind=Kind.HIDDEN
        )
        for i, passed in enumerate(hidden)
    ]
    return outcomes + [Outcome("speed", 1.0, True, "", kind=Kind.SPEED)]


def test_public_case_is_not_awarded_when_a_hidden_case_fails_and_says_it_was_right():
    public = public_earned_only_with_hidden(case_outcomes(hidden=(True, False)))[0]
    assert not public.passed
    assert "not awarded" in public.message and "1 of 2 hidden cases failed" in public.message
    assert "your answer to the public case itself was right" in public.message


def test_public_case_is_awarded_when_every_hidden_case_passes():
    outcomes = case_outcomes()
    assert public_earned_only_with_hidden(outcomes) == outcomes


def test_wrong_public_case_keeps_its_own_message():
    outcomes = case_outcomes(public=False, hidden=(False, False))
    assert public_earned_only_with_hidden(outcomes)[0] == outcomes[0]


def test_public_case_without_hidden_cases_is_not_awarded():
    public = public_earned_only_with_hidden(case_outcomes(hidden=()))[0]
    assert not public.passed


# -- speed: every call timed, the same request for every call ---------------------------------------------


def timings(case_ratio, speed_ratio, case_reference=0.4e-3, speed_reference=7e-3, cases=9):
    graded = [Timing(f"case {i}", case_reference * case_ratio, case_reference) for i in range(cases)]
    rounds = [Timing("speed case", speed_reference * speed_ratio, speed_reference)] * 3
    return graded, rounds


def test_speed_fails_code_slow_on_every_case_but_the_speed_case():
    graded, rounds = timings(case_ratio=125, speed_ratio=0.05)
    verdict = speed_verdict(graded, rounds, [1e-4] * 3, budget=25)
    assert not verdict.passed
    assert verdict.message.startswith("your code took 0.05x the reference loops' time; the fast layer is")
    assert "over the 9 graded cases together it took 125.0x" in verdict.message


def test_speed_fails_one_slow_call_long_enough_to_time():
    graded, rounds = timings(case_ratio=1, speed_ratio=1)
    graded[3] = Timing("hidden case: big", 30 * SPEED_FLOOR, SPEED_FLOOR)
    verdict = speed_verdict(graded, rounds, [1e-4] * 3, budget=25)
    assert not verdict.passed and "hidden case: big" in verdict.message


def test_speed_ignores_a_slow_call_too_short_to_time_alone():
    graded, rounds = timings(case_ratio=1, speed_ratio=1)
    graded[3] = Timing("hidden case: tiny", 0.05 * SPEED_FLOOR, 0.001 * SPEED_FLOOR)
    assert speed_verdict(graded, rounds, [1e-4] * 3, budget=25).passed


def test_speed_counts_the_first_call_into_a_fresh_fork_only_in_the_total():
    graded, rounds = timings(case_ratio=1, speed_ratio=1)
    graded[0] = Timing("public case", 15e-3 + SPEED_FLOOR, SPEED_FLOOR, alone=False)
    assert speed_verdict(graded, rounds, [1e-4] * 3, budget=5).passed
    graded[0] = Timing("public case", 15e-3 + SPEED_FLOOR, SPEED_FLOOR)
    assert not speed_verdict(graded, rounds, [1e-4] * 3, budget=5).passed


def test_speed_passes_code_as_fast_as_the_loops():
    graded, rounds = timings(case_ratio=2, speed_ratio=1.5)
    verdict = speed_verdict(graded, rounds, [1e-4] * 3, budget=25)
    assert verdict.passed, verdict.message


class RecordingSession:
    """A real session that records the options of every call, by target."""

    def __init__(self, session):
        self.session, self.options = session, {}

    def call(self, target, *args, **options):
        self.options.setdefault(target, []).append(options)
        return self.session.call(target, *args, **options)

    def __getattr__(self, name):
        return getattr(self.session, name)


@pytest.mark.parametrize(
    "layer, grader",
    [(conv.LAYER, conv.grade_forward), (conv.LAYER, conv.grade_backward), (pool.LAYER, pool.grade_backward)],
    ids=["conv-forward", "conv-backward", "pool-backward"],
)
def test_every_call_of_a_layer_task_uses_one_request_form_so_the_timed_call_looks_like_the_others(layer, grader):
    source = "\n".join(solution_cells())
    with Session(cells_of(source), timeout=20.0) as session:
        recording = RecordingSession(session)
        outcomes = grader(TaskContext(recording, Config()))
    assert all(o.passed for o in outcomes), [o.message for o in outcomes if not o.passed]
    for target, options in recording.options.items():
        assert len(options) > 1 + len(layer.hidden_cases), target
        assert all(o == options[0] for o in options), (target, options)
