"""The registry of tasks: task id -> the name it has in the notebook and the function that grades it.

Adding a task means one module here and one line in TASKS.
"""
from dataclasses import dataclass
from typing import Callable

from grader.tasks import conv


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
    )
}
