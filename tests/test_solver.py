"""The Solver trains a model, records its history and keeps the best parameters."""

import numpy as np
import pytest

from assignment.layers import softmax_loss
from assignment.solver import Solver


class LinearSoftmax:
    """A linear classifier, the smallest model with the solver's interface."""

    def __init__(self, dim, num_classes):
        self.params = {"W": np.zeros((dim, num_classes)), "b": np.zeros(num_classes)}

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def separable_data(rng, n):
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 3)) * 0.3 + 3 * np.eye(3)[y]
    return X, y


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    X_train, y_train = separable_data(rng, 200)
    X_val, y_val = separable_data(rng, 50)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_solver_learns_separable_data(data, rule):
    np.random.seed(0)
    model = LinearSoftmax(3, 3)
    solver = Solver(
        model, data, update_rule=rule, optim_config={"learning_rate": 1e-2}, batch_size=20, num_epochs=5, verbose=False
    )
    solver.train()
    assert solver.check_accuracy(data["X_val"], data["y_val"]) > 0.95
    assert solver.loss_history[-1] < solver.loss_history[0]
    assert len(solver.loss_history) == 5 * 10
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 6  # first iteration + 5 epochs


def test_solver_leaves_best_validation_parameters_in_model(data):
    np.random.seed(0)
    model = LinearSoftmax(3, 3)
    solver = Solver(
        model, data, update_rule="sgd", optim_config={"learning_rate": 1e-2}, batch_size=20, num_epochs=3, verbose=False
    )
    solver.train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_solver_runs_are_reproducible_with_a_seed(data):
    histories = []
    for _ in range(2):
        np.random.seed(3)
        solver = Solver(LinearSoftmax(3, 3), data, update_rule="adam", batch_size=10, num_epochs=1, verbose=False)
        solver.train()
        histories.append(solver.loss_history)
    assert histories[0] == histories[1]


def test_solver_rejects_unknown_arguments_by_name(data):
    with pytest.raises(ValueError, match="learning_rate"):
        Solver(LinearSoftmax(3, 3), data, learning_rate=1e-3)


def test_solver_rejects_unknown_update_rule(data):
    with pytest.raises(ValueError, match="nesterov"):
        Solver(LinearSoftmax(3, 3), data, update_rule="nesterov")
