"""The task table: every task of the assignment declared once, in SPEC section 3's order.

Every part that needs a task reads its row here:

- the notebook's checks (:mod:`assignment.checks`): the row names the family module of ``assignment/checks/``
  whose ``CHECKS`` hold the task's public checks, the forward whose cache a backward is checked with, the
  public case and its input generator;
- the grader (:data:`grader.tasks.TASKS`): the family module of ``grader/tasks/`` whose ``GRADERS`` hold the
  task's grade function, and the definition it grades;
- the config's default weights (:data:`grader.config.DEFAULT_WEIGHTS`), the reference names
  (:mod:`grader.solve`, ``scripts/make_public_expected.py``) and the tests that hold the notebook's task cells
  (``notebooks/ConvolutionalNetworks.py``) against this table.

Adding a task: its row below, its family's code (a check listed in ``assignment/checks/<family>.py``'s
``CHECKS``, a grade function listed in ``grader/tasks/<family>.py``'s ``GRADERS``, a new family being two new
modules), its reference in ``solutions/``, and its stub and check cells in the notebook's source. The table
ships to students: it holds ids, names, public cases and generators, never a hidden case or a reference.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable

from assignment.cases import batchnorm_inputs, conv_inputs, groupnorm_inputs, network_inputs, pool_inputs

__all__ = ["Task", "TABLE", "TASK_IDS", "PUBLIC_CASES", "DEFAULT_WEIGHTS", "register", "unregister"]


@dataclass(frozen=True)
class Task:
    """One task: what the student defines, where its checks live, its public case and its weight."""

    id: str
    """Task id (SPEC section 3): reports, CLI options, weights and the notebook's ``task:`` tags use it."""
    definition: str
    """The function or class the student defines (and the name of its reference in ``solutions``)."""
    family: str
    """The module of ``assignment/checks/`` and of ``grader/tasks/`` that checks it, e.g. 'conv'."""
    inputs: Callable
    """The seeded input generator of its cases (:mod:`assignment.cases`): inputs(**case) -> dict of arrays."""
    public_case: dict = field(hash=False)
    """The arguments of ``inputs`` that the notebook's check cell uses (its expected values ship)."""
    weight: float
    """Default points (the nine of SPEC section 3 total 100)."""
    forward: str = ""
    """For a backward pass: the id of the forward whose cache it is called with; '' otherwise."""
    arg_names: tuple = ()
    """The definition's arguments, in order (a class: its constructor's)."""
    returns: tuple = ()
    """The names of what a function returns, in order: ('out', 'cache'), or a backward's gradients."""

    @property
    def is_class(self):
        """Whether the student defines a class (CapWords, as PEP 8 names classes) rather than a function."""
        return self.definition[:1].isupper()


_CONV_ARGS = ("x", "w", "b", "conv_param")
_POOL_ARGS = ("x", "pool_param")
_BACKWARD_ARGS = ("dout", "cache")
_FORWARD_RETURNS = ("out", "cache")
_NORM_GRADIENTS = ("dx", "dgamma", "dbeta")
_NETWORK_ARGS = ("input_dim", "num_filters", "filter_size", "hidden_dim", "num_classes", "weight_scale", "reg", "dtype")

# Points per task total 100: backward passes and the convnet weigh more, they take more work.
_ROWS = (
    Task(
        "conv_forward_naive",
        "conv_forward_naive",
        "conv",
        conv_inputs,
        dict(N=2, C=3, H=4, W=4, F=3, HH=4, WW=4, stride=2, pad=1, seed=1),
        10.0,
        arg_names=_CONV_ARGS,
        returns=_FORWARD_RETURNS,
    ),
    Task(
        "conv_backward_naive",
        "conv_backward_naive",
        "conv",
        conv_inputs,
        dict(N=4, C=3, H=5, W=5, F=2, HH=3, WW=3, stride=1, pad=1, seed=2),
        14.0,
        forward="conv_forward_naive",
        arg_names=_BACKWARD_ARGS,
        returns=("dx", "dw", "db"),
    ),
    Task(
        "max_pool_forward_naive",
        "max_pool_forward_naive",
        "pool",
        pool_inputs,
        dict(N=2, C=3, H=4, W=4, pool_height=2, pool_width=2, stride=2, seed=3),
        8.0,
        arg_names=_POOL_ARGS,
        returns=_FORWARD_RETURNS,
    ),
    Task(
        "max_pool_backward_naive",
        "max_pool_backward_naive",
        "pool",
        pool_inputs,
        dict(N=3, C=2, H=8, W=8, pool_height=2, pool_width=2, stride=2, seed=4),
        10.0,
        forward="max_pool_forward_naive",
        arg_names=_BACKWARD_ARGS,
        returns=("dx",),
    ),
    # Given weights for the network: small enough for a numeric gradient of every parameter.
    Task(
        "three_layer_convnet",
        "ThreeLayerConvNet",
        "convnet",
        network_inputs,
        dict(
            num_inputs=4,
            input_dim=(3, 6, 8),
            num_filters=4,
            filter_size=3,
            hidden_dim=6,
            num_classes=10,
            reg=0.25,
            seed=5,
        ),
        20.0,
        arg_names=_NETWORK_ARGS,
    ),
    Task(
        "spatial_batchnorm_forward",
        "spatial_batchnorm_forward",
        "normalization",
        batchnorm_inputs,
        dict(N=10, C=3, H=4, W=5, seed=6, scale=4.0, shift=10.0),
        8.0,
        arg_names=("x", "gamma", "beta", "bn_param"),
        returns=_FORWARD_RETURNS,
    ),
    Task(
        "spatial_batchnorm_backward",
        "spatial_batchnorm_backward",
        "normalization",
        batchnorm_inputs,
        dict(N=2, C=3, H=4, W=5, seed=7, scale=5.0, shift=12.0),
        9.0,
        forward="spatial_batchnorm_forward",
        arg_names=_BACKWARD_ARGS,
        returns=_NORM_GRADIENTS,
    ),
    Task(
        "spatial_groupnorm_forward",
        "spatial_groupnorm_forward",
        "normalization",
        groupnorm_inputs,
        dict(N=2, C=6, H=4, W=5, seed=8, scale=4.0, shift=10.0),
        9.0,
        arg_names=("x", "gamma", "beta", "G", "gn_param"),
        returns=_FORWARD_RETURNS,
    ),
    Task(
        "spatial_groupnorm_backward",
        "spatial_groupnorm_backward",
        "normalization",
        groupnorm_inputs,
        dict(N=2, C=6, H=4, W=5, seed=9, scale=5.0, shift=12.0),
        12.0,
        forward="spatial_groupnorm_forward",
        arg_names=_BACKWARD_ARGS,
        returns=_NORM_GRADIENTS,
    ),
)

TABLE = {task.id: task for task in _ROWS}
"""Task id -> :class:`Task`, in SPEC order. Change it only through :func:`register` and :func:`unregister`."""


def register(task):
    """Add ``task`` at the end of the table (a tenth task in a test, say); its id must be new."""
    if task.id in TABLE:
        raise ValueError(f"task id {task.id!r} is already in the table")
    TABLE[task.id] = task


def unregister(task_id):
    """Remove the task ``task_id`` from the table (what :func:`register` added)."""
    del TABLE[task_id]


class _TaskIds(Sequence):
    """The ids of :data:`TABLE`, in order: a live view, so a task registered later is in it."""

    def __getitem__(self, index):
        return tuple(TABLE)[index]

    def __len__(self):
        return len(TABLE)

    def __eq__(self, other):
        return tuple(self) == (tuple(other) if isinstance(other, (Sequence, tuple)) else other)

    def __hash__(self):
        return hash(tuple(self))

    def __repr__(self):
        return repr(tuple(self))


class _Column(Mapping):
    """Task id -> one field of its row (or of the rows that have one), as a live view of :data:`TABLE`."""

    def __init__(self, name):
        self._name = name

    def __getitem__(self, task_id):
        return getattr(TABLE[task_id], self._name)

    def __iter__(self):
        return iter(TABLE)

    def __len__(self):
        return len(TABLE)

    def __repr__(self):
        return repr(dict(self))


TASK_IDS = _TaskIds()
"""The task ids in SPEC order (a live view of :data:`TABLE`)."""
PUBLIC_CASES = _Column("public_case")
"""Task id -> the parameters of its public case (a live view of :data:`TABLE`)."""
DEFAULT_WEIGHTS = _Column("weight")
"""Task id -> its default points; the nine total 100 (a live view of :data:`TABLE`)."""
