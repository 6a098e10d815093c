"""What the grader computes once per process (grader.tasks.memo): the same reports as without it, from
read-only caches that are bounded and really hit; replayed hypothesis examples decide as hypothesis does."""

from types import SimpleNamespace

import numpy as np
import pytest

import solutions
from grader.config import Config
from grader.pipeline import grade
from grader.sandbox.session import CallResult
from grader.tasks import convnet, memo, normalization, properties
from notebooks import comparable, solution_cells, write_notebook

CHEAP_TASKS = ("max_pool_forward_naive", "spatial_batchnorm_forward", "spatial_groupnorm_backward")
GROUPNORM_BUGGY_EPS = """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    groups = x.reshape(N, G, -1)
    mean, var = groups.mean(axis=2, keepdims=True), groups.var(axis=2, keepdims=True)
    x_hat = ((groups - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)  # the eps given is ignored
    return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var + 1e-5), G)
"""


@pytest.fixture(autouse=True)
def cold_caches():
    memo.clear()
    yield
    memo.clear()


def test_a_second_grading_in_one_process_is_served_by_the_caches_and_reports_the_same(tmp_path):
    path = write_notebook(tmp_path, *solution_cells())
    config = Config(tasks=CHEAP_TASKS)
    cold = grade(path, config)
    hits, misses = memo.statistics()
    warm = grade(path, config)
    warm_hits, warm_misses = memo.statistics()
    assert warm_misses == misses, "the second grading computed a reference value again"
    assert warm_hits > hits
    assert comparable(warm) == comparable(cold)
    assert warm.score == pytest.approx(sum(config.weight(t) for t in CHEAP_TASKS))


def test_a_buggy_submission_after_a_correct_one_gets_the_report_it_gets_alone(tmp_path):
    config = Config(tasks=("spatial_groupnorm_forward",))
    buggy = write_notebook(tmp_path, *solution_cells(), GROUPNORM_BUGGY_EPS, name="buggy.ipynb")
    alone = grade(buggy, config)
    memo.clear()
    grade(write_notebook(tmp_path, *solution_cells(), name="correct.ipynb"), config)  # fills every cache
    after = grade(buggy, config)
    assert comparable(after).replace("buggy.ipynb", "") == comparable(alone).replace("buggy.ipynb", "")
    assert after.score < after.max_score
    assert any("shrunk minimal example" in c.message for c in after.tasks[0].checks)


def test_cached_values_are_read_only():
    expected = normalization._gn_reference(memo.key(normalization.GN_FORWARD_CASES[0]), False)
    assert not expected.flags.writeable
    with pytest.raises(ValueError):
        expected[0, 0, 0, 0] = 1.0
    stats = normalization._bn_stats_reference(memo.key(normalization.RUNNING_STATS_CASE), "train")
    with pytest.raises(TypeError):
        stats["running_mean"] = np.zeros(3)


def test_the_reference_overfit_run_trains_once_per_process_and_data_folder(monkeypatch):
    trained = []

    class CountingSolver:
        def __init__(self, model, data, **options):
            self.model = model

        def train(self):
            trained.append(self.model)

    monkeypatch.setattr(convnet, "Solver", CountingSolver)
    first = convnet.reference_overfit_run(None)
    assert convnet.reference_overfit_run(None) == first
    assert len(trained) == 1
    memo.clear()
    convnet.reference_overfit_run(None)
    assert len(trained) == 2


def test_every_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(memo, "MAX_ENTRIES", 3)
    square = memo.memoized(lambda n: np.full(2, n))
    store = memo.BoundedStore()
    for n in range(10):
        square(n)
        store.put(n, [n])
    assert square.cache_info().currsize == 3 and len(store.items) == 3
    assert store.get(9) == (9,) and store.get(0) is None


# -- hypothesis replay, without a sandbox ---------------------------------------------------------------


class InProcessSession:
    """Calls ``functions`` in this process: enough for the forward properties (the grader's own tests only)."""

    def __init__(self, **functions):
        self.functions = functions

    def call(self, target, *args, **options):
        out, _ = self.functions[target](*args)
        return CallResult(ok=True, value=(out, None))


def einsum_groupnorm(x, gamma, beta, G, gn_param):
    """A correct group norm written another way than the reference."""
    N, C, H, W = x.shape
    groups = x.reshape(N, G, C // G, H, W)
    mean = np.einsum("ngchw->ng", groups)[:, :, None, None, None] / groups[0, 0].size
    centered = groups - mean
    var = np.einsum("ngchw,ngchw->ng", centered, centered)[:, :, None, None, None] / groups[0, 0].size
    return gamma * (centered / np.sqrt(var + gn_param.get("eps", 1e-5))).reshape(x.shape) + beta, None


def run_property(function, prop):
    """(Outcome, the examples hypothesis tried) of one group norm forward property on ``function``."""
    ctx = SimpleNamespace(session=InProcessSession(spatial_groupnorm_forward=function), config=Config())
    record = properties._hypothesis_run(ctx, prop)
    return properties._property_result(prop.name, record), record.tried


@pytest.mark.parametrize("prop", normalization.GN_FORWARD_PROPERTIES, ids=lambda p: p.groups)
def test_hypothesis_tries_the_same_examples_on_every_passing_implementation(prop):
    reference, reference_examples = run_property(solutions.spatial_groupnorm_forward, prop)
    other, other_examples = run_property(einsum_groupnorm, prop)
    assert reference.passed and other.passed, (reference.message, other.message)
    assert reference_examples == other_examples and len(reference_examples) > 1


def test_a_replayed_failure_reports_the_example_hypothesis_shrinks_to(monkeypatch):
    prop = normalization.GN_FORWARD_PROPERTIES[-1]  # agrees with the reference
    namespace = {"np": np}
    exec(GROUPNORM_BUGGY_EPS, namespace)
    ctx = SimpleNamespace(
        session=InProcessSession(spatial_groupnorm_forward=namespace["spatial_groupnorm_forward"]), config=Config()
    )
    uncached = properties._property_outcome(ctx, prop)
    ctx_correct = SimpleNamespace(
        session=InProcessSession(spatial_groupnorm_forward=solutions.spatial_groupnorm_forward), config=Config()
    )
    assert properties._property_outcome(ctx_correct, prop).passed
    replays = properties._PASSING_EXAMPLES.hits
    replayed = properties._property_outcome(ctx, prop)
    assert properties._PASSING_EXAMPLES.hits == replays + 1
    assert replayed == uncached and not replayed.passed


def test_the_memoized_convnet_loss_is_the_reference_model_s_own():
    net, reg, seed = convnet.SQUARE_NET, convnet.REG, 503
    params, X, y = convnet.loss_case(net, seed)
    loss, grads = convnet._reference_model(net, reg, params).loss(X, y)
    cached_loss, cached_grads = convnet._reference_loss(memo.key(net), reg, seed, True)
    assert cached_loss == loss and set(cached_grads) == set(grads)
    assert all(np.array_equal(cached_grads[name], grads[name]) for name in grads)
    scores = convnet._reference_model(net, 0.0, params).loss(X)
    assert np.array_equal(convnet._reference_loss(memo.key(net), 0.0, seed, False), scores)
