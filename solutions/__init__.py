"""Reference solutions of the tasks (instructor-only; never shipped to students).

The grader computes every expected value from these. Each task's definition name in the task table
(:mod:`assignment.tasks`) is also the name of the function or class exported here.
"""

from assignment.tasks import TASK_IDS
from solutions.conv import conv_backward_naive, conv_forward_naive
from solutions.convnet import ThreeLayerConvNet
from solutions.normalization import (
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from solutions.pool import max_pool_backward_naive, max_pool_forward_naive

__all__ = [
    "TASK_IDS",
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "ThreeLayerConvNet",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
]
