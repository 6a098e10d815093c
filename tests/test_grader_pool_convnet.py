"""The pooling and convnet checks, driven through a real child Session.

Correct submissions in several styles get every check; each classic bug fails at least one check of
the function that holds it, with a message that names what is wrong.
"""

import ast
import contextlib

import numpy as np
import pytest

import solutions
from grader.config import Config
from grader.sandbox.protocol import Opaque
from grader.sandbox.session import Session
from grader.tasks import convnet, pool
from grader.tasks.base import TaskContext, cache_unchanged

pytestmark = pytest.mark.slow  # the tests here run code in the sandbox (a second or more each): not in the quick run

CONFIG = Config()


def cells_of(source, filename="<submission>"):
    """One cell in the shape the child loads: the source and the line span of each top-level statement."""
    tree = ast.parse(source)
    spans = [
        [min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]), node.end_lineno]
        for node in tree.body
    ]
    return [{"filename": filename, "source": source, "statements": spans}]


@contextlib.contextmanager
def graded(source):
    """A TaskContext whose session has ``source`` loaded in a child process."""
    with Session(cells_of(source), timeout=CONFIG.timeout, use_bwrap=CONFIG.use_bwrap) as session:
        yield TaskContext(session, CONFIG)


def failed(outcomes):
    return [o for o in outcomes if not o.passed]


def named(outcomes, prefix):
    """The one outcome whose check name starts with ``prefix``."""
    [found] = [o for o in outcomes if o.name.startswith(prefix)]
    return found


def replaced(source, old, new):
    """``source`` with ``old`` replaced by ``new``; ``old`` must occur, so a bug is never silently lost."""
    assert old in source, old
    return source.replace(old, new)


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------

POOL_FORWARD_LOOPS = """
def max_pool_forward_naive(x, pool_param):
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    s = pool_param["stride"]
    N, C, H, W = x.shape
    out = np.empty((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
    for n, c, i, j in np.ndindex(*out.shape):
        out[n, c, i, j] = np.max(x[n, c, i * s:i * s + ph, j * s:j * s + pw])
    return out, (x, pool_param)
"""
POOL_BACKWARD_LOOPS = """
def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    s = pool_param["stride"]
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        r, q = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx
"""
POOL_LOOPS = "import numpy as np\n" + POOL_FORWARD_LOOPS + POOL_BACKWARD_LOOPS

POOL_AS_STRIDED = """
import numpy as np
from numpy.lib.stride_tricks import as_strided


def windows(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    shape = (N, C, 1 + (H - ph) // s, 1 + (W - pw) // s, ph, pw)
    sn, sc, sh, sw = x.strides
    return as_strided(x, shape, (sn, sc, sh * s, sw * s, sh, sw), writeable=False)


def max_pool_forward_naive(x, pool_param):
    return windows(x, pool_param).max(axis=(4, 5)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    view = windows(x, pool_param)
    N, C, Ho, Wo, ph, pw = view.shape
    r, q = np.divmod(view.reshape(N, C, Ho, Wo, ph * pw).argmax(axis=-1), pw)
    s = pool_param["stride"]
    rows = np.arange(Ho)[:, None] * s + r
    cols = np.arange(Wo)[None, :] * s + q
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    dx = np.zeros_like(x)
    np.add.at(dx, (n, c, rows, cols), dout)
    return dx
"""

POOL_OFFSET_SLICES = '''
import numpy as np


def offsets(x_shape, pool_param):
    """Slices picking, for each window offset (r, q), that element of every window."""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho, Wo = 1 + (x_shape[2] - ph) // s, 1 + (x_shape[3] - pw) // s
    for r in range(ph):
        for q in range(pw):
            yield (slice(None), slice(None), slice(r, r + s * (Ho - 1) + 1, s), slice(q, q + s * (Wo - 1) + 1, s))


def max_pool_forward_naive(x, pool_param):
    out = None
    for where in offsets(x.shape, pool_param):
        out = x[where].copy() if out is None else np.maximum(out, x[where])
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    out, _ = max_pool_forward_naive(x, pool_param)
    dx = np.zeros_like(x)
    for where in offsets(x.shape, pool_param):
        dx[where] += dout * (x[where] == out)
    return dx
'''

POOL_STUB = """
import numpy as np


def max_pool_forward_naive(x, pool_param):
    raise NotImplementedError


def max_pool_backward_naive(dout, cache):
    raise NotImplementedError
"""


def forward_bug(old, new):
    """The loops with a bug in the forward pass only."""
    return "import numpy as np\n" + replaced(POOL_FORWARD_LOOPS, old, new) + POOL_BACKWARD_LOOPS


def backward_bug(old, new):
    """The loops with a bug in the backward pass only."""
    return "import numpy as np\n" + POOL_FORWARD_LOOPS + replaced(POOL_BACKWARD_LOOPS, old, new)


GEOMETRY = 'pool_param["pool_height"], pool_param["pool_width"]'
POOL_BUGS_FORWARD = {
    "pool_height used for both axes": forward_bug(GEOMETRY, 'pool_param["pool_height"], pool_param["pool_height"]'),
    "H used for W": forward_bug("1 + (W - pw) // s", "1 + (H - pw) // s"),
    "stride assumed equal to the window": forward_bug('s = pool_param["stride"]', "s = ph"),
}
POOL_BUGS_BACKWARD = {
    "gradient assigned instead of accumulated": backward_bug("] += dout[", "] = dout["),
    "stride assumed equal to the window": backward_bug('s = pool_param["stride"]', "s = ph"),
    "pool_width used for both axes": backward_bug(GEOMETRY, 'pool_param["pool_width"], pool_param["pool_width"]'),
}


@pytest.mark.parametrize(
    "source",
    [POOL_LOOPS, POOL_AS_STRIDED, POOL_OFFSET_SLICES],
    ids=["unravel-index-loops", "as-strided", "offset-slices"],
)
def test_correct_pooling_in_any_style_passes_every_check(source):
    with graded(source) as ctx:
        outcomes = pool.grade_forward(ctx) + pool.grade_backward(ctx)
    assert failed(outcomes) == []
    assert len(outcomes) == 2 * (1 + len(pool.HIDDEN_CASES) + 2)
    assert any("the fast layer is" in o.message for o in outcomes)


@pytest.mark.parametrize("bug", sorted(POOL_BUGS_FORWARD))
def test_pool_forward_bug_fails_a_forward_case_and_spares_backward(bug):
    with graded(POOL_BUGS_FORWARD[bug]) as ctx:
        forward = pool.grade_forward(ctx)
        assert failed(pool.grade_backward(ctx)) == []
    cases = [o for o in failed(forward) if "case" in o.name]
    assert cases, f"{bug} was not caught"
    assert all("out:" in o.message for o in cases)
    assert any(o.name.startswith("inputs unchanged") and "not awarded" in o.message for o in failed(forward))


@pytest.mark.parametrize("bug", sorted(POOL_BUGS_BACKWARD))
def test_pool_backward_bug_fails_a_backward_case_and_spares_forward(bug):
    with graded(POOL_BUGS_BACKWARD[bug]) as ctx:
        assert failed(pool.grade_forward(ctx)) == []
        backward = failed(pool.grade_backward(ctx))
    assert any("case" in o.name and "dx: relative error" in o.message for o in backward), f"{bug} was not caught"


def test_pool_backward_assigning_fails_exactly_the_cases_where_windows_share_a_maximum():
    with graded(POOL_BUGS_BACKWARD["gradient assigned instead of accumulated"]) as ctx:
        backward = pool.grade_backward(ctx)
    # The public case (no overlap) is right but not awarded: a hidden case failed.
    withheld = {o.name for o in failed(backward) if "case" in o.name and o.message.startswith("not awarded")}
    assert withheld == {o.name for o in backward if o.name.startswith("public case")}
    failing = {o.name for o in failed(backward) if "case" in o.name} - withheld
    overlapping = {o.name for o in backward if "case" in o.name and _overlaps(o.name)}
    assert "windows sharing their maximum" in " ".join(failing)
    assert failing <= overlapping


def _overlaps(name):
    """Whether a check's case (named by pool.describe) has windows that overlap (stride < window)."""
    window = name.split("pool ")[1].split(",")[0]
    stride = int(name.split("stride ")[1].split(",")[0])
    return stride < max(int(side) for side in window.split("x"))


def test_designed_case_puts_each_peak_in_six_windows_without_ties():
    case = next(case for case in pool.HIDDEN_CASES if "peak" in case)
    inputs = pool.case_inputs(case)
    x = inputs["x"]
    out, _ = solutions.max_pool_forward_naive(x, inputs["pool_param"])
    assert len(set(x.ravel())) == x.size
    assert ((out == x[:, :, 2:3, 2:3]).sum(axis=(2, 3)) == 6).all()


def test_pool_stub_fails_every_check_saying_not_implemented():
    with graded(POOL_STUB) as ctx:
        outcomes = pool.grade_forward(ctx) + pool.grade_backward(ctx)
    assert failed(outcomes) == outcomes
    cases = [o for o in outcomes if "case" in o.name]
    assert all("not implemented yet" in o.message for o in cases)
    assert all(o.failure == "error" for o in cases)


# The speed case is 32 x 32 (pool.SPEED_CASE); no graded case is.
POOL_FORWARD_WRONG_ON_SPEED_CASE = forward_bug(
    "    N, C, H, W = x.shape\n",
    """    N, C, H, W = x.shape
    if (H, W) == (32, 32):
        return np.zeros((N, C, H // ph, W // pw)), (x, pool_param)
""",
)


def test_pool_forward_wrong_only_on_the_speed_case_fails_only_the_speed_check():
    with graded(POOL_FORWARD_WRONG_ON_SPEED_CASE) as ctx:
        forward = pool.grade_forward(ctx)
    speed = named(forward, "speed")
    assert failed(forward) == [speed]
    assert speed.message.startswith(
        f"your output on the speed case ({pool.describe(pool.SPEED_CASE)}) was wrong: out: relative error"
    )


def clears_x(backward):
    """A backward that zeroes the x of its cache once its gradient is computed: right dx, modified cache."""
    return replaced(backward, "    return dx\n", "    x[...] = 0  # frees nothing, but looks tidy\n    return dx\n")


POOL_DICT_CACHE_FORWARD = replaced(
    POOL_FORWARD_LOOPS, "return out, (x, pool_param)", 'return out, {"x": x, "pool_param": pool_param}'
)
POOL_DICT_CACHE_BACKWARD = replaced(
    POOL_BACKWARD_LOOPS, "x, pool_param = cache", 'x, pool_param = cache["x"], cache["pool_param"]'
)
# Each source's backward leaves its gradient right and zeroes x in the cache it was given; the phrase
# names that x as the student knows it.
POOL_CACHE_WRITERS = {
    "documented cache": (POOL_FORWARD_LOOPS, clears_x(POOL_BACKWARD_LOOPS), "modified the cache (x) in place"),
    "own dict cache": (
        POOL_DICT_CACHE_FORWARD,
        clears_x(POOL_DICT_CACHE_BACKWARD),
        "modified the cache (item ['x']) in place",
    ),
    # The forward's cache breaks the backward, which is graded with the documented cache instead.
    "documented cache as fallback": (
        replaced(POOL_FORWARD_LOOPS, "return out, (x, pool_param)", "return out, None"),
        clears_x(POOL_BACKWARD_LOOPS),
        "modified the cache (x) in place",
    ),
}


@pytest.mark.parametrize("writer", sorted(POOL_CACHE_WRITERS))
def test_pool_backward_that_modifies_its_cache_fails_only_inputs_unchanged(writer):
    forward, backward, phrase = POOL_CACHE_WRITERS[writer]
    with graded("import numpy as np\n" + forward + backward) as ctx:
        outcomes = pool.grade_backward(ctx)
    unchanged = named(outcomes, "inputs unchanged")
    assert failed(outcomes) == [unchanged]
    assert unchanged.message.startswith(f"your backward {phrase}")


def test_pool_backward_that_removes_an_item_of_its_cache_is_told_so():
    backward = replaced(clears_x(POOL_DICT_CACHE_BACKWARD), "x[...] = 0", 'del cache["x"]')
    with graded("import numpy as np\n" + POOL_DICT_CACHE_FORWARD + backward) as ctx:
        unchanged = named(pool.grade_backward(ctx), "inputs unchanged")
    assert unchanged.message.startswith("your backward removed item ['x'] from the cache")


def nested_cache_pool(depth):
    """Pool forward and backward whose cache keeps x ``depth`` lists deep in a dict."""
    forward = replaced(
        POOL_FORWARD_LOOPS,
        "return out, (x, pool_param)",
        f'return out, {{"layers": {"[" * depth}x{"]" * depth}, "pool_param": pool_param}}',
    )
    backward = replaced(
        POOL_BACKWARD_LOOPS,
        "x, pool_param = cache",
        f'x, pool_param = cache["layers"]{"[0]" * depth}, cache["pool_param"]',
    )
    return "import numpy as np\n" + forward + backward


def test_a_correct_backward_with_a_nested_cache_keeps_every_point():
    with graded(nested_cache_pool(4)) as ctx:
        outcomes = pool.grade_backward(ctx)
    assert failed(outcomes) == [], [o.message for o in failed(outcomes)]


def test_a_cache_too_deep_to_come_back_whole_cannot_earn_inputs_unchanged():
    with graded(nested_cache_pool(12)) as ctx:
        outcomes = pool.grade_backward(ctx)
    unchanged = named(outcomes, "inputs unchanged")
    assert failed(outcomes) == [unchanged]
    assert unchanged.message.startswith("your cache is too large or too deeply nested")


def test_a_cache_padded_past_the_protocol_limits_does_not_hide_a_modification():
    backward = clears_x(POOL_BACKWARD_LOOPS)
    forward = replaced(POOL_FORWARD_LOOPS, "return out, (x, pool_param)", "return out, (x, pool_param, [0] * 20000)")
    backward = replaced(backward, "x, pool_param = cache", "x, pool_param, _ = cache")
    with graded("import numpy as np\n" + forward + backward) as ctx:
        unchanged = named(pool.grade_backward(ctx), "inputs unchanged")
    assert not unchanged.passed


def test_cache_check_walks_nested_items_treats_nan_as_equal_and_fails_on_what_could_not_come_back():
    x, mask = np.arange(6.0).reshape(2, 3), np.array([[True, False]])
    before = (x, {"mask": mask, "shape": (2, 3)}, [np.array([np.nan, 1.0])])
    assert cache_unchanged(before, (x.copy(), {"mask": mask.copy(), "shape": (2, 3)}, [np.array([np.nan, 1.0])])).passed
    too_large = Opaque("a structure nested too deeply or too large")
    cut = cache_unchanged(before, (x, {"mask": mask, "shape": (2, 3)}, [too_large]))
    assert not cut.passed and "cannot see into" in cut.message
    changed = cache_unchanged(before, (x, {"mask": ~mask}, before[2]), ("x", "extra", "more"))
    assert "modified the cache (item [1]['mask'])" in changed.message
    assert "modified the cache (x)" in cache_unchanged(before, (x.astype(np.float32),) + before[1:], ("x",)).message


# ---------------------------------------------------------------------------------------------
# ThreeLayerConvNet
# ---------------------------------------------------------------------------------------------

CONVNET_INIT = """
class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.reg, self.dtype = reg, dtype
        C, H, W = input_dim
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)
"""
CONVNET_REGULARIZE = """
        for name in ("W1", "W2", "W3"):
            w = self.params[name]
            loss += 0.5 * self.reg * np.sum(w * w)
            grads[name] += self.reg * w
        return loss, grads
"""
CONVNET_LAYER_UTILS = (
    """
import numpy as np
from assignment.layer_utils import (affine_relu_backward, affine_relu_forward, conv_relu_pool_backward,
                                    conv_relu_pool_forward)
from assignment.layers import affine_backward, affine_forward, softmax_loss
"""
    + CONVNET_INIT
    + """
    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, c1 = conv_relu_pool_forward(X.astype(self.dtype), W1, b1, conv_param, pool_param)
        a2, c2 = affine_relu_forward(a1, self.params["W2"], self.params["b2"])
        scores, c3 = affine_forward(a2, self.params["W3"], self.params["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        da2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        da1, grads["W2"], grads["b2"] = affine_relu_backward(da2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(da1, c1)
"""
    + CONVNET_REGULARIZE
)

# Its own layers, vectorized over examples and filters, looping over output positions only; it computes in
# the model's dtype (X cast to it, new arrays made in the dtype of what they hold), as the dtype check asks.
CONVNET_OWN_LAYERS = (
    """
import numpy as np


def conv_forward(x, w, b):
    F, C, K, _ = w.shape
    pad = (K - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, _, H, W = x.shape
    out = np.empty((N, F, H, W), dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            out[:, :, i, j] = np.tensordot(xp[:, :, i:i + K, j:j + K], w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (xp, w, pad)


def conv_backward(dout, cache):
    xp, w, pad = cache
    F, C, K, _ = w.shape
    N, _, H, W = dout.shape
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(H):
        for j in range(W):
            dw += np.tensordot(dout[:, :, i, j], xp[:, :, i:i + K, j:j + K], axes=([0], [0]))
            dxp[:, :, i:i + K, j:j + K] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))


def pool2_forward(x):
    N, C, H, W = x.shape
    blocks = x[:, :, :H // 2 * 2, :W // 2 * 2].reshape(N, C, H // 2, 2, W // 2, 2)
    out = blocks.max(axis=(3, 5))
    return out, (x.shape, blocks == out[:, :, :, None, :, None])


def pool2_backward(dout, cache):
    shape, mask = cache
    dx = np.zeros(shape, dtype=dout.dtype)
    N, C, Ho, _, Wo, _ = mask.shape
    dx[:, :, :Ho * 2, :Wo * 2] = (mask * dout[:, :, :, None, :, None]).reshape(N, C, Ho * 2, Wo * 2)
    return dx


def softmax_cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(len(y)), y] -= 1
    return -log_probs[np.arange(len(y)), y].mean(), dscores / len(y)
"""
    + CONVNET_INIT
    + """
    def loss(self, X, y=None):
        p = self.params
        X = X.astype(self.dtype)
        conv, conv_cache = conv_forward(X, p["W1"], p["b1"])
        pooled, pool_cache = pool2_forward(np.maximum(conv, 0))
        flat = pooled.reshape(len(X), -1)
        hidden_in = flat @ p["W2"] + p["b2"]
        hidden = np.maximum(hidden_in, 0)
        scores = hidden @ p["W3"] + p["b3"]
        if y is None:
            return scores
        loss, dscores = softmax_cross_entropy(scores, y)
        grads = {"W3": hidden.T @ dscores, "b3": dscores.sum(axis=0)}
        dhidden_in = (dscores @ p["W3"].T) * (hidden_in > 0)
        grads["W2"], grads["b2"] = flat.T @ dhidden_in, dhidden_in.sum(axis=0)
        dpooled = (dhidden_in @ p["W2"].T).reshape(pooled.shape)
        dconv = pool2_backward(dpooled, pool_cache) * (conv > 0)
        _, grads["W1"], grads["b1"] = conv_backward(dconv, conv_cache)
"""
    + CONVNET_REGULARIZE
)

CONVNET_STUB = """
import numpy as np


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        raise NotImplementedError

    def loss(self, X, y=None):
        raise NotImplementedError
"""

# Each bug, and the checks (by the start of their names) that must catch it.
CONVNET_BUGS = {
    "regularization without 0.5": (
        replaced(CONVNET_LAYER_UTILS, "0.5 * self.reg", "self.reg"),
        ("loss and every gradient, reg = 0.05",),
    ),
    "regularization gradient missing": (
        replaced(CONVNET_LAYER_UTILS, "grads[name] += self.reg * w", "pass"),
        ("loss and every gradient, reg = 0.05",),
    ),
    "biases regularized": (
        replaced(CONVNET_LAYER_UTILS, '("W1", "W2", "W3")', "tuple(self.params)"),
        ("loss and every gradient, reg = 0.05",),
    ),
    "square input assumed": (
        replaced(CONVNET_LAYER_UTILS, "(H // 2) * (W // 2)", "(H // 2) * (H // 2)"),
        ("parameter names and shapes, non-square",),
    ),
    "uniform initial weights": (
        replaced(CONVNET_LAYER_UTILS, "weight_scale * np.random.randn(", "weight_scale * np.random.rand("),
        ("initial scale",),
    ),
    "dtype ignored": (replaced(CONVNET_LAYER_UTILS, "self.params[k] = v.astype(dtype)", "pass"), ("dtype honoured",)),
}


def grade_convnet(source):
    with graded(source) as ctx:
        return convnet.grade(ctx)


@pytest.mark.slow
@pytest.mark.parametrize("source", [CONVNET_LAYER_UTILS, CONVNET_OWN_LAYERS], ids=["layer-utils", "own-layers"])
def test_correct_convnet_in_any_style_passes_every_check(source):
    outcomes = grade_convnet(source)
    assert failed(outcomes) == []
    assert [o.name for o in outcomes] == [name for name, _, _ in convnet.CHECKS]
    assert outcomes[-1].message.startswith("training accuracy ")


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(CONVNET_BUGS))
def test_convnet_bug_fails_the_check_that_targets_it(bug):
    source, catching = CONVNET_BUGS[bug]
    outcomes = grade_convnet(source)
    failing = failed(outcomes)
    for prefix in catching:
        assert any(o.name.startswith(prefix) for o in failing), f"{bug} was not caught by {prefix}"
    assert all(o.message for o in failing)
    assert outcomes[-1].passed, "the overfit check should not depend on these bugs"


def frozen_weights(source):
    """A loss that keeps using the weights it saw first: right on a fresh model, but it never learns."""
    head, loss = source.split(LOSS_LINE)
    loss = loss.replace("self.params", "self.frozen")
    return head + LOSS_LINE + '        self.frozen = getattr(self, "frozen", None) or dict(self.params)\n' + loss


LOSS_LINE = "    def loss(self, X, y=None):\n"


@pytest.mark.slow
def test_convnet_that_does_not_learn_fails_only_the_overfit_check():
    outcomes = grade_convnet(frozen_weights(CONVNET_LAYER_UTILS))
    assert [o.name for o in failed(outcomes)] == [convnet.CHECKS[-1][0]]
    accuracy = float(outcomes[-1].message.split()[2])
    assert accuracy < convnet.OVERFIT_ACCURACY
    assert "self.params" in outcomes[-1].message


def test_convnet_that_cannot_be_created_fails_every_check_saying_so_once():
    outcomes = grade_convnet(CONVNET_STUB)
    assert failed(outcomes) == outcomes
    assert outcomes[0].message == "ThreeLayerConvNet() is not implemented yet (raises NotImplementedError)"
    assert {o.message for o in outcomes[1:]} == {convnet.CONSTRUCTOR_NOT_RUN}


def check_dtype(source):
    with graded(source) as ctx:
        return convnet.check_dtype(ctx)


def test_convnet_dtype_check_fails_numpy_scalars_that_have_the_right_dtype():
    scalars = replaced(CONVNET_INIT, "self.params[k] = v.astype(dtype)", "self.params[k] = np.dtype(dtype).type(0.0)")
    verdict = check_dtype("import numpy as np\n" + scalars)
    assert not verdict.passed
    assert "W1 should be a numpy.ndarray, got float32" in verdict.message


def test_convnet_receives_dtype_as_the_numpy_type_itself():
    checked = replaced(
        CONVNET_INIT,
        "        self.reg, self.dtype = reg, dtype\n",
        "        if dtype not in (np.float32, np.float64):\n"
        "            raise TypeError(f'dtype must be np.float32 or np.float64, got {dtype!r}')\n"
        "        assert dtype is np.float32 or dtype == np.float64\n"
        "        self.reg, self.dtype = reg, dtype\n",
    )
    verdict = check_dtype("import numpy as np\n" + checked)
    assert verdict.passed, verdict.message
    assert (
        "ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3, hidden_dim=10, num_classes=5, "
        "dtype=np.float64): every parameter is float64" in verdict.message
    )


def test_expected_shapes_floor_odd_sides_after_the_pool():
    shapes = convnet.expected_shapes(input_dim=(2, 9, 7), num_filters=5, filter_size=5, hidden_dim=12, num_classes=4)
    assert shapes["W2"] == (5 * 4 * 3, 12)
    assert shapes["W1"] == (5, 2, 5, 5)


@pytest.mark.slow
def test_reference_overfits_the_embedded_digits_above_the_bar():
    accuracy = convnet.reference_overfit_run(None)[0]
    assert accuracy >= convnet.OVERFIT_ACCURACY + convnet.OVERFIT_MARGIN
