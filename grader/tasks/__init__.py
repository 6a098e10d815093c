"""The tasks the grader grades: each row of the task table (:data:`assignment.tasks.TABLE`: id, definition
name, family, public case, weight...) with the grade function that its family module here lists for it.

A family module (``conv``, ``pool``, ``convnet``, ``normalization``) holds its tasks' hidden cases, references
and checks, and maps each task id of its family to ``grade(TaskContext) -> list of Outcome`` in ``GRADERS``.
Adding a task means its row in the table and its grade function in its family's ``GRADERS`` (a new family: a
new module here); nothing else in the grader names tasks.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Callable

from assignment.tasks import TABLE
from assignment.tasks import Task as TaskRow


@dataclass(frozen=True)
class GradedTask:
    """A row of the task table with the function that grades it."""

    row: TaskRow
    grade: Callable
    """grade(TaskContext) -> list of Outcome."""

    @property
    def id(self):
        """Task id (SPEC section 3)."""
        return self.row.id

    @property
    def definition(self):
        """The function or class the student defines."""
        return self.row.definition


def family_module(task_id):
    """The module of grader/tasks/ that grades ``task_id`` (its row's family)."""
    return import_module(f"grader.tasks.{TABLE[task_id].family}")


class _Tasks(Mapping):
    """Task id -> :class:`GradedTask`, in table order: a live view, so a task registered later is in it."""

    def __getitem__(self, task_id):
        return GradedTask(TABLE[task_id], family_module(task_id).GRADERS[task_id])

    def __iter__(self):
        return iter(TABLE)

    def __len__(self):
        return len(TABLE)


TASKS = _Tasks()

for _task_id in TABLE:  # every family module loaded now: a grading never pays for an import
    family_module(_task_id)
