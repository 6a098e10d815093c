"""Minibatch training of a classification model with the update rules of :mod:`assignment.optim`.

A model is any object with

- ``params``: dict of parameter name -> ndarray;
- ``loss(X, y=None)``: scores of shape (N, num_classes) when ``y`` is None, else ``(loss, grads)`` with
  ``grads`` keyed like ``params``.

What the solver keeps: after :meth:`Solver.train`, ``model.params`` holds the parameters that reached the
best validation accuracy at an accuracy check (epoch ends, first and last iteration), not necessarily
those of the last step; ``best_params`` holds a copy of them, ``best_val_acc`` their accuracy.
Minibatches and accuracy subsamples are drawn with numpy's global random state, so seeding
``np.random`` makes a run reproducible.
"""

import numpy as np

from assignment import optim


class Solver:
    """Train ``model`` on ``data`` with minibatch gradient descent.

    Parameters
    ----------
    model : object
        See the module docstring.
    data : dict
        ``X_train`` (N_train, ...), ``y_train`` (N_train,), ``X_val`` (N_val, ...), ``y_val`` (N_val,).
    update_rule : str or callable
        Name of a rule in :mod:`assignment.optim` ('sgd', 'sgd_momentum', 'rmsprop', 'adam') or a
        function with the same signature. Default 'sgd'.
    optim_config : dict
        Hyper-parameters given to the update rule, copied for every parameter.
    lr_decay : float
        The learning rate is multiplied by this after each epoch. Default 1.0.
    batch_size : int
        Default 100.
    num_epochs : int
        Default 10.
    num_train_samples : int or None
        Training examples used to measure training accuracy (None: all). Default 1000.
    num_val_samples : int or None
        Validation examples used to measure validation accuracy (None: all). Default None.
    print_every : int
        Print the loss every this many iterations when verbose. Default 10.
    verbose : bool
        Default True.
    """

    _OPTIONS = {
        "update_rule": "sgd",
        "optim_config": None,
        "lr_decay": 1.0,
        "batch_size": 100,
        "num_epochs": 10,
        "num_train_samples": 1000,
        "num_val_samples": None,
        "print_every": 10,
        "verbose": True,
    }

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(self._OPTIONS))
        if unknown:
            raise ValueError(f"Solver got unknown arguments {unknown}; it accepts {sorted(self._OPTIONS)}")
        options = {**self._OPTIONS, **kwargs}
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = self._resolve_rule(options.pop("update_rule"))
        self.optim_config = dict(options.pop("optim_config") or {})
        for name, value in options.items():
            setattr(self, name, value)
        self._reset()

    @staticmethod
    def _resolve_rule(rule):
        if callable(rule):
            return rule
        if not isinstance(rule, str) or rule.startswith("_") or not hasattr(optim, rule):
            raise ValueError(f"unknown update_rule {rule!r}: use 'sgd', 'sgd_momentum', 'rmsprop' or 'adam'")
        return getattr(optim, rule)

    def _reset(self):
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """One minibatch: forward, backward, and an update of every parameter."""
        batch = np.random.choice(self.X_train.shape[0], self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of correctly classified examples.

        Parameters
        ----------
        X : ndarray, shape (N, ...)
        y : ndarray of int, shape (N,)
        num_samples : int or None
            Evaluate on a random subsample of this size (None: all of X).
        batch_size : int
            Examples per forward pass, to bound memory.

        Returns
        -------
        float
        """
        if num_samples is not None and X.shape[0] > num_samples:
            subset = np.random.choice(X.shape[0], num_samples)
            X, y = X[subset], y[subset]
        predictions = [
            np.argmax(self.model.loss(X[start : start + batch_size]), axis=1)
            for start in range(0, X.shape[0], batch_size)
        ]
        return float(np.mean(np.concatenate(predictions) == y))

    def _record_accuracies(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}

    def train(self):
        """Run ``num_epochs`` epochs, then put the best parameters into the model."""
        iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] = config.get("learning_rate", 1e-2) * self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                self._record_accuracies()
        self.model.params = dict(self.best_params)
