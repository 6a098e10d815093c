"""The normalization checks (grader/tasks/normalization.py), driven through a real child session.

Correct implementations written in other styles than the references (batch statistics over axes,
a staged batchnorm backward, a loop over groups, an einsum group-norm backward) pass every check;
each classic bug fails a check of exactly its task, with a message a student can act on.
"""

import ast
import textwrap

import pytest

from grader.config import Config
from grader.sandbox.session import Session
from grader.tasks import normalization
from grader.tasks.base import TaskContext

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

GRADERS = {
    "spatial_batchnorm_forward": normalization.grade_batchnorm_forward,
    "spatial_batchnorm_backward": normalization.grade_batchnorm_backward,
    "spatial_groupnorm_forward": normalization.grade_groupnorm_forward,
    "spatial_groupnorm_backward": normalization.grade_groupnorm_backward,
}
SIBLING = {
    "spatial_batchnorm_forward": "spatial_batchnorm_backward",
    "spatial_batchnorm_backward": "spatial_batchnorm_forward",
    "spatial_groupnorm_forward": "spatial_groupnorm_backward",
    "spatial_groupnorm_backward": "spatial_groupnorm_forward",
}

CORRECT = '''
import numpy as np

BN_AXES = (0, 2, 3)  # statistics per channel over batch and space


def per_channel(v):
    """(C,) -> (1, C, 1, 1), to broadcast against NCHW."""
    return v.reshape(1, -1, 1, 1)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.setdefault("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.setdefault("running_var", np.zeros(x.shape[1]))
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=BN_AXES), x.var(axis=BN_AXES)
        running_mean[:] = momentum * running_mean + (1 - momentum) * mean
        running_var[:] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - per_channel(mean)) * per_channel(inv_std)
    return per_channel(gamma) * x_hat + per_channel(beta), (x_hat, gamma, inv_std)


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    count = dout.size // dout.shape[1]
    s = per_channel(inv_std)
    centered = x_hat / s
    dx_hat = dout * per_channel(gamma)
    dvar = -0.5 * s ** 3 * (dx_hat * centered).sum(axis=BN_AXES, keepdims=True)
    dmean = -s * dx_hat.sum(axis=BN_AXES, keepdims=True) - 2.0 * dvar * centered.mean(axis=BN_AXES, keepdims=True)
    dx = dx_hat * s + dvar * 2.0 * centered / count + dmean / count
    return dx, (dout * x_hat).sum(axis=BN_AXES), dout.sum(axis=BN_AXES)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    size = x.shape[1] // G
    x_hat, inv_std = np.empty_like(x), np.empty((x.shape[0], G))
    for g in range(G):
        block = x[:, g * size:(g + 1) * size]
        mean = block.mean(axis=(1, 2, 3), keepdims=True)
        var = block.var(axis=(1, 2, 3), keepdims=True)
        inv_std[:, g] = 1.0 / np.sqrt(var.ravel() + eps)
        x_hat[:, g * size:(g + 1) * size] = (block - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x_hat, gamma, inv_std, G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N, C, H, W = dout.shape
    dbeta = np.einsum("nchw->c", dout).reshape(1, C, 1, 1)
    dgamma = np.einsum("nchw,nchw->c", dout, x_hat).reshape(1, C, 1, 1)
    dx_hat = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    m = xh.shape[2]
    through_mean = np.einsum("ngm->ng", dx_hat)[:, :, None]
    through_var = np.einsum("ngm,ngm->ng", dx_hat, xh)[:, :, None]
    dx = inv_std[:, :, None] / m * (m * dx_hat - through_mean - xh * through_var)
    return dx.reshape(N, C, H, W), dgamma, dbeta
'''

NOT_IMPLEMENTED = """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    raise NotImplementedError


def spatial_batchnorm_backward(dout, cache):
    raise NotImplementedError


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    raise NotImplementedError


def spatial_groupnorm_backward(dout, cache):
    raise NotImplementedError
"""

# Each bug redefines one function after CORRECT (the last definition wins, as in the notebook).
# (task it breaks, whether its sibling task still passes, a check name part, a message part, source)
BUGS = {
    "bn_reshape_without_transpose": (
        "spatial_batchnorm_forward",
        False,
        "hidden case",
        "out: relative error",
        """
from assignment.layers import batchnorm_forward

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, C, H, W), cache
""",
    ),
    "bn_running_stats_not_updated": (
        "spatial_batchnorm_forward",
        True,
        "running mean and variance",
        "was not updated in train mode",
        """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    zeros = np.zeros(x.shape[1])
    param = dict(bn_param, running_mean=bn_param.get("running_mean", zeros).copy(),
                 running_var=bn_param.get("running_var", zeros).copy())
    return _correct_bn_forward(x, gamma, beta, param)
""",
    ),
    "bn_running_stats_wrong_shape": (
        "spatial_batchnorm_forward",
        True,
        "running mean and variance",
        "expected shape (3,), got (1, 3, 1, 1)",
        """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    out, cache = _correct_bn_forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "train":
        # Kept in the NCHW-broadcastable shape of the batch statistics instead of (C,).
        bn_param["running_mean"] = bn_param["running_mean"].reshape(1, -1, 1, 1)
        bn_param["running_var"] = bn_param["running_var"].reshape(1, -1, 1, 1)
    return out, cache
""",
    ),
    "bn_test_mode_ignored": (
        "spatial_batchnorm_forward",
        True,
        "test mode",
        "out: relative error",
        """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    return _correct_bn_forward(x, gamma, beta, dict(bn_param, mode="train"))
""",
    ),
    "bn_eps_ignored": (
        "spatial_batchnorm_forward",
        False,
        "eps 0.5",
        "out: relative error",
        """
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    return _correct_bn_forward(x, gamma, beta, dict(bn_param, eps=1e-5))
""",
    ),
    "gn_groups_confused_with_group_size": (
        "spatial_groupnorm_forward",
        False,
        "G = 4",
        "out: relative error",
        """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    return _correct_gn_forward(x, gamma, beta, x.shape[1] // G, gn_param)
""",
    ),
    "gn_per_pixel": (
        "spatial_groupnorm_forward",
        False,
        "every (sample, group) has mean 0",
        "group (n=0, g=0) has",
        """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    grouped = x.reshape(N, G, C // G, H, W)
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    x_hat = ((grouped - mean) / np.sqrt(var + gn_param.get("eps", 1e-5))).reshape(x.shape)
    return gamma * x_hat + beta, None
""",
    ),
    "gn_gamma_as_vector": (
        "spatial_groupnorm_forward",
        False,
        "x (2, 6, 5, 6)",
        "out: relative error",
        """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    out, cache = _correct_gn_forward(x, np.ones_like(gamma), np.zeros_like(beta), G, gn_param)
    return out * gamma.ravel() + beta.ravel(), cache[:1] + (gamma,) + cache[2:]
""",
    ),
    "gn_eps_ignored": (
        "spatial_groupnorm_forward",
        False,
        "eps 0.5",
        "out: relative error",
        """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    return _correct_gn_forward(x, gamma, beta, G, {"eps": 1e-5})
""",
    ),
    "gn_backward_missing_mean_term": (
        "spatial_groupnorm_backward",
        True,
        "dx sums to zero",
        "dx sums to",
        """
def spatial_groupnorm_backward(dout, cache):
    x_hat, gamma, inv_std, G = cache
    N, C, H, W = dout.shape
    dx_hat = (dout * gamma).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    dx = inv_std[:, :, None] * (dx_hat - xh * (dx_hat * xh).mean(axis=2, keepdims=True))
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    return dx.reshape(dout.shape), dgamma, dout.sum(axis=(0, 2, 3), keepdims=True)
""",
    ),
}
# The bugs reuse the correct functions under other names, as a student building on their own code would.
ALIASES = """
_correct_bn_forward = spatial_batchnorm_forward
_correct_gn_forward = spatial_groupnorm_forward
"""


def cell(source, filename):
    """A cell as the child's load op expects: the source and the line span of each top-level statement."""
    source = textwrap.dedent(source)
    spans = [[node.lineno, node.end_lineno] for node in ast.parse(source).body]
    return {"filename": filename, "source": source, "statements": spans}


def grade(sources, tasks, config=None):
    """Outcomes per task id of a submission made of ``sources``, graded in one child session."""
    config = config or Config()
    cells = [cell(source, f"<cell {i}>") for i, source in enumerate(sources)]
    with Session(cells, timeout=config.timeout, use_bwrap=config.use_bwrap) as session:
        context = TaskContext(session, config)
        return {task: GRADERS[task](context) for task in tasks}


def failures(outcomes):
    return [o for o in outcomes if not o.passed]


@pytest.fixture(scope="module")
def correct_outcomes():
    return grade([CORRECT], tuple(GRADERS))


@pytest.mark.parametrize("task", tuple(GRADERS))
def test_correct_implementation_in_another_style_passes_every_check(correct_outcomes, task):
    failed = failures(correct_outcomes[task])
    assert not failed, [(o.name, o.message) for o in failed]


def test_every_task_has_public_hidden_and_property_checks_worth_the_documented_points(correct_outcomes):
    for task, outcomes in correct_outcomes.items():
        points = {o.name.split(":")[0]: o.points for o in outcomes}
        assert points["public case"] == 2.0
        assert points["hidden case"] == 1.0
        assert points["property"] == 1.0
        assert sum(o.name.startswith("property") for o in outcomes) >= 2, task
    forward = {o.name.split(":")[0]: o.points for o in correct_outcomes["spatial_batchnorm_forward"]}
    assert forward["train mode"] == forward["test mode"] == 1.0


def test_group_norm_cases_cover_one_group_every_channel_a_group_groups_in_between_and_a_large_eps():
    for cases in (normalization.GN_FORWARD_CASES, normalization.GN_BACKWARD_CASES):
        kinds = {"one" if c["G"] == 1 else "every channel" if c["G"] == c["C"] else "between" for c in cases}
        assert kinds == {"one", "every channel", "between"}
        # Groups confused with group size must show: some case has C // G != G.
        assert any(1 < c["G"] < c["C"] and c["C"] // c["G"] != c["G"] for c in cases)
        assert any(c.get("eps", 0) > 10 * c["scale"] ** 2 for c in cases)


def test_batchnorm_cases_have_channels_height_and_width_all_different():
    for case in normalization.BN_FORWARD_CASES + normalization.BN_BACKWARD_CASES:
        assert len({case["C"], case["H"], case["W"]}) == 3, case


def test_passing_properties_say_how_many_examples_they_held_on(correct_outcomes):
    messages = {o.message for o in correct_outcomes["spatial_groupnorm_forward"] if o.name.startswith("property")}
    assert messages == {f"held on {Config().hypothesis_examples} generated examples"}


@pytest.mark.parametrize("bug", tuple(BUGS))
def test_classic_bug_fails_a_check_of_exactly_its_task_with_an_informative_message(bug):
    task, sibling_passes, name_part, message_part, source = BUGS[bug]
    tasks = (task, SIBLING[task]) if sibling_passes else (task,)
    outcomes = grade([CORRECT, ALIASES, source], tasks)
    failed = failures(outcomes[task])
    assert any(name_part in o.name and message_part in o.message for o in failed), [(o.name, o.message) for o in failed]
    if sibling_passes:
        assert not failures(outcomes[SIBLING[task]])


def test_shrunk_example_of_a_failing_property_is_the_smallest_input_that_shows_the_bug():
    outcomes = grade([CORRECT, ALIASES, BUGS["gn_per_pixel"][-1]], ("spatial_groupnorm_forward",))
    standardizes = next(o for o in outcomes["spatial_groupnorm_forward"] if "every (sample, group)" in o.name)
    # Per-pixel statistics differ from per-group ones as soon as a group spans two pixels of one channel.
    assert "shrunk minimal example x (1, 1, 1, 2), G = 1" in standardizes.message


def test_exception_on_some_inputs_fails_the_property_on_the_smallest_input_that_raises():
    raises = """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    if x.shape[1] % 2:
        raise ValueError("odd channel count")
    return _correct_gn_forward(x, gamma, beta, G, gn_param)
"""
    outcomes = grade([CORRECT, ALIASES, raises], ("spatial_groupnorm_forward",))["spatial_groupnorm_forward"]
    properties = [o for o in outcomes if o.name.startswith("property")]
    assert all(o.failure == "error" and "ValueError: odd channel count" in o.message for o in properties)
    assert all("shrunk minimal example x (1, 1, 1, 2), G = 1" in o.message for o in properties)


def test_hang_inside_a_property_fails_that_property_as_a_timeout_without_shrinking():
    hangs_on_one_sample = """
def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    while x.shape[0] == 1:  # no fixed case has N = 1; generated examples start there
        pass
    return _correct_gn_forward(x, gamma, beta, G, gn_param)
"""
    outcomes = grade([CORRECT, ALIASES, hangs_on_one_sample], ("spatial_groupnorm_forward",), Config(timeout=0.5))
    results = outcomes["spatial_groupnorm_forward"]
    assert all(o.passed for o in results if "case" in o.name)
    first_property = next(o for o in results if o.name.startswith("property"))
    assert first_property.failure == "timeout" and "did not finish within 0.5 s" in first_property.message
    assert "on the generated example x (1, " in first_property.message


def test_not_implemented_fails_every_check_with_not_implemented():
    outcomes = grade([NOT_IMPLEMENTED], tuple(GRADERS))
    for task, results in outcomes.items():
        assert all(not o.passed for o in results), task
        calls = [o for o in results if o.name != "inputs unchanged"]  # earned only with right outputs: not awarded
        assert all("not implemented" in o.message and o.failure == "error" for o in calls), task
        assert next(o for o in results if o.name == "inputs unchanged").message.startswith("not awarded")


def test_grading_twice_gives_identical_outcomes():
    sources = [
        CORRECT,
        ALIASES,
        BUGS["gn_groups_confused_with_group_size"][-1],
        BUGS["gn_backward_missing_mean_term"][-1],
        BUGS["bn_test_mode_ignored"][-1],
    ]
    first, second = grade(sources, tuple(GRADERS)), grade(sources, tuple(GRADERS))
    assert first == second
    assert any(failures(results) for results in first.values())
