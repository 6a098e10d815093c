"""The results of a grading run: plain frozen dataclasses, rendered elsewhere (see render.py)."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    """One check of one task."""

    name: str
    """What was checked, e.g. 'hidden case: stride 3, pad 0'."""
    score: float
    """Points earned."""
    max_score: float
    """Points available."""
    passed: bool
    """Whether the check passed (score == max_score)."""
    message: str
    """What a student needs to act on: the case, expected vs received, the error against the threshold."""
    diagnosis: str = ""
    """The classic mistake the evidence shows, in one sentence with its fix; empty when none is shown."""


@dataclass(frozen=True)
class TaskResult:
    """All checks of one task."""

    id: str
    """Task id (SPEC section 3)."""
    status: str
    """'passed', 'failed', 'error', 'timeout' or 'missing'."""
    checks: tuple = ()
    """The task's checks, in the order they ran."""
    max_score: float = 0.0
    """The task's weight."""
    output: str = ""
    """What the student's code printed while this task was graded (bounded and made printable: grader.boundary)."""
    source: str = ""
    """The notebook the graded definition came from (its path within the submission); empty when none."""

    @property
    def score(self):
        return sum(check.score for check in self.checks)

    @property
    def message(self):
        """One line: the first failed check's message, or a summary."""
        failed = [check for check in self.checks if not check.passed]
        if not failed:
            return f"all {len(self.checks)} checks passed"
        return f"{failed[0].name}: {failed[0].message}".partition("\n")[0]


@dataclass(frozen=True)
class Report:
    """A whole grading run."""

    submission: str
    """The graded path."""
    tasks: tuple
    """TaskResult per graded task, in SPEC order."""
    grader_version: str
    """Version of the grader that produced the report."""
    isolation: str = ""
    """How student code was isolated, e.g. 'bubblewrap' or 'weak isolation (...)'."""
    notes: tuple = field(default_factory=tuple)
    """Submission-wide remarks: unreadable notebooks, definitions that failed to load."""
    seconds: float = 0.0
    """Wall time of the run."""
    runtime: dict = field(default_factory=dict)
    """The versions graded under: {'python': '3.11.7', 'numpy': '2.4.6', ...} (grader.runtime)."""
    notebooks: tuple = ()
    """The notebooks read, as paths within the submission, in the order their definitions were loaded."""

    @property
    def score(self):
        return sum(task.score for task in self.tasks)

    @property
    def max_score(self):
        return sum(task.max_score for task in self.tasks)
