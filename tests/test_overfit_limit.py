"""The overfit training's time limit is relative to the reference's work: a model built on naive loops is
stopped and told how many times the reference's training it took, not "infinite loop?"."""

import pytest

from grader.config import Config
from grader.pipeline import grade
from grader.tasks import convnet
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow

# The solutions' ThreeLayerConvNet with loss() rebuilt on the notebook's own naive layers (correct, ~300x
# slower to train than on the fast sandwich layers).
NAIVE_LAYERS_LOSS = """
import numpy as np

from assignment.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg, self.dtype = reg, dtype
        shapes = {"W1": (num_filters, C, filter_size, filter_size), "b1": (num_filters,),
                  "W2": (num_filters * (H // 2) * (W // 2), hidden_dim), "b2": (hidden_dim,),
                  "W3": (hidden_dim, num_classes), "b3": (num_classes,)}
        self.params = {k: (weight_scale * np.random.randn(*s) if k[0] == "W" else np.zeros(s)).astype(dtype)
                       for k, s in shapes.items()}

    def loss(self, X, y=None):
        p = self.params
        conv_param = {"stride": 1, "pad": (p["W1"].shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a, conv_cache = conv_forward_naive(X.astype(self.dtype), p["W1"], p["b1"], conv_param)
        r, relu_cache = relu_forward(a)
        pooled, pool_cache = max_pool_forward_naive(r, pool_param)
        h, hidden_cache = affine_forward(pooled, p["W2"], p["b2"])
        hr, hidden_relu = relu_forward(h)
        scores, scores_cache = affine_forward(hr, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhr, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_backward(relu_backward(dhr, hidden_relu), hidden_cache)
        da = relu_backward(max_pool_backward_naive(dpooled, pool_cache), relu_cache)
        _, grads["W1"], grads["b1"] = conv_backward_naive(da, conv_cache)
        for name in ("W1", "W2", "W3"):
            loss += 0.5 * self.reg * (p[name] ** 2).sum()
            grads[name] += self.reg * p[name]
        return loss, grads
"""


def test_a_model_on_naive_layers_is_stopped_as_too_slow_with_its_ratio(tmp_path, monkeypatch):
    # A small factor keeps the test short; the rule is the same at the default one.
    monkeypatch.setattr(convnet, "TRAIN_WORK_FACTOR", 2)
    monkeypatch.setattr(convnet, "TRAIN_WORK_FLOOR", 1.0)
    notebook = write_notebook(tmp_path, *solution_cells(), NAIVE_LAYERS_LOSS)
    task = grade(notebook, Config(tasks=("three_layer_convnet",))).tasks[0]
    overfit = next(check for check in task.checks if check.name.startswith("overfit"))
    assert not overfit.passed
    assert overfit.message.startswith("too slow (or stuck): training was stopped after")
    assert "x the reference's whole training" in overfit.message
    assert "sandwich layers" in overfit.message
    assert "infinite loop" not in overfit.message
    others = [check for check in task.checks if check is not overfit]
    assert all(check.passed for check in others), [c.message for c in others if not c.passed]


HANGING_LOSS = NAIVE_LAYERS_LOSS.replace("        p = self.params\n", "        while True:\n            pass\n", 1)


def test_a_model_whose_loss_hung_is_not_trained(tmp_path):
    notebook = write_notebook(tmp_path, *solution_cells(), HANGING_LOSS)
    task = grade(notebook, Config(tasks=("three_layer_convnet",), timeout=2.0)).tasks[0]
    overfit = next(check for check in task.checks if check.name.startswith("overfit"))
    assert not overfit.passed
    assert overfit.message.startswith("not trained: loss already timed out in an earlier check"), overfit.message
