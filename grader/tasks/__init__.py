"""The registry of tasks: task id -> the name it has in the notebook and the function that grades it.

Adding a task means one module here and one line in TASKS.
"""
from dataclasses import dataclass
from typing import Callable

from grader.tasks import conv, convnet, normalization, pool


@dataclass(frozen=True)
class Task:
    id: str
    """Task id (SPEC section 3)."""
    definition: str
    """The function or class the student defines."""
    grade: Callable
    """grade(TaskContext) -> list of Outcome."""


TASKS = {
    task.id: task
    for task in (
        Task("conv_forward_naive", "conv_forward_naive", conv.grade_forward),
        Task("conv_backward_naive", "conv_backward_naive", conv.grade_backward),
        Task("max_pool_forward_naive", "max_pool_forward_naive", pool.grade_forward),
        Task("max_pool_backward_naive", "max_pool_backward_naive", pool.grade_backward),
        Task("three_layer_convnet", "ThreeLayerConvNet", convnet.grade),
        Task("spatial_batchnorm_forward", "spatial_batchnorm_forward", normalization.grade_batchnorm_forward),
        Task("spatial_batchnorm_backward", "spatial_batchnorm_backward", normalization.grade_batchnorm_backward),
        Task("spatial_groupnorm_forward", "spatial_groupnorm_forward", normalization.grade_groupnorm_forward),
        Task("spatial_groupnorm_backward", "spatial_groupnorm_backward", normalization.grade_groupnorm_backward),
    )
}
