"""The results of a grading run: plain frozen dataclasses, rendered elsewhere (see render.py)."""

from collections.abc import Mapping
from dataclasses import dataclass, field


class Kind:
    """What a check is (CheckResult.kind): plain strings, as the JSON report carries them. Renderers decide from
    it what a student may see before grades are published (render.SHOWN_BEFORE_PUBLICATION)."""

    PUBLIC = "public"
    """A public case: the notebook's own inputs, whose expected values ship with it (layer and normalization tasks)."""
    HIDDEN = "hidden"
    """A hidden case: inputs the student never sees."""
    PUBLIC_CHECK = "public_check"
    """A check of the convnet on what the notebook itself uses: the contract's defaults, the quantities its check
    cell compares on given weights, the overfit run."""
    HIDDEN_CHECK = "hidden_check"
    """A check of the convnet on what the notebook never uses: non-square input_dim, a weight_scale not the default."""
    MODE = "mode"
    """Spatial batchnorm's running statistics (train mode) and its test mode."""
    PROPERTY = "property"
    """A property checked on generated examples (hypothesis)."""
    INPUTS_UNCHANGED = "inputs_unchanged"
    """The function left its inputs (and a backward its cache) as they were."""
    SPEED = "speed"
    """The naive loops' time against the reference loops'."""
    DEFINITION = "definition"
    """The one check of a task whose definition is missing, does not parse or failed to load."""
    GRADING = "grading"
    """The one check of a task the grader itself failed on (an internal error, to report)."""


KINDS = (
    Kind.PUBLIC,
    Kind.HIDDEN,
    Kind.PUBLIC_CHECK,
    Kind.HIDDEN_CHECK,
    Kind.MODE,
    Kind.PROPERTY,
    Kind.INPUTS_UNCHANGED,
    Kind.SPEED,
    Kind.DEFINITION,
    Kind.GRADING,
)


class Reason:
    """Why a check earned nothing although it may have been right (CheckResult.reason)."""

    NONE = ""
    """It passed, or simply failed (its message says how)."""
    NOT_IMPLEMENTED = "not_implemented"
    """The student's code raised NotImplementedError (the stub's own raise), here or in a call it needed."""
    NOT_AWARDED = "not_awarded"
    """Earned only alongside other checks that did not all pass (speed and inputs unchanged need right outputs,
    a public case every hidden case, a property that wrong code also satisfies the reference property)."""
    NOT_RUN = "not_run"
    """Not run, because an earlier call it depends on failed (the convnet's constructor)."""


REASONS = (Reason.NONE, Reason.NOT_IMPLEMENTED, Reason.NOT_AWARDED, Reason.NOT_RUN)


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
    kind: str = Kind.HIDDEN_CHECK
    """What the check is: one of KINDS (Kind). The grader sets it on every check; the default, shown only
    after publication, serves results built by hand."""
    reason: str = Reason.NONE
    """Why it earned nothing although it may have been right: one of REASONS (Reason), empty when it passed or
    simply failed."""


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
    runtime: Mapping = field(default_factory=dict)
    """The versions graded under: {'python': '3.11.7', 'numpy': '2.4.6', ...} (grader.runtime; read from the
    installed metadata when first looked at)."""
    notebooks: tuple = ()
    """The notebooks read, as paths within the submission, in the order their definitions were loaded."""

    @property
    def score(self):
        return sum(task.score for task in self.tasks)

    @property
    def max_score(self):
        return sum(task.max_score for task in self.tasks)
