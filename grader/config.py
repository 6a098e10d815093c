"""The one configuration object of a grading run, with defaults that serve."""
from dataclasses import dataclass, field
from pathlib import Path

from assignment.cases import TASK_IDS

# Points per task; they total 100. Backward passes and the convnet weigh more: they take more work.
DEFAULT_WEIGHTS = {
    "conv_forward_naive": 10.0,
    "conv_backward_naive": 14.0,
    "max_pool_forward_naive": 8.0,
    "max_pool_backward_naive": 10.0,
    "three_layer_convnet": 20.0,
    "spatial_batchnorm_forward": 8.0,
    "spatial_batchnorm_backward": 9.0,
    "spatial_groupnorm_forward": 9.0,
    "spatial_groupnorm_backward": 12.0,
}


@dataclass(frozen=True)
class Config:
    """Everything a grading run can be told."""

    tasks: tuple = TASK_IDS
    """Task ids to grade, in SPEC order."""
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    """Task id -> points."""
    timeout: float = 20.0
    """Seconds one call into student code may take (training gets ``train_timeout``)."""
    train_timeout: float = 120.0
    """Seconds the overfit-small-data training may take."""
    memory_bytes: int = 2 << 30
    """Address-space limit of each process of the child."""
    processes: int = 64
    """Processes (and threads) the child may have at once."""
    file_bytes: int = 64 << 20
    """Largest file the child may write."""
    cpu_seconds: int = 600
    """CPU time of each process of the child (RLIMIT_CPU: a process it forks gets its own); wall time per
    call is ``timeout``."""
    data_dir: Path = None
    """A CIFAR-10 folder for the overfit check; None uses the embedded digits."""
    speed_budget: float = 25.0
    """A naive function more than this many times slower than the reference loops loses the speed point."""
    use_bwrap: bool = True
    """Run the child under bubblewrap when it is available."""
    hypothesis_examples: int = 25
    """Generated examples per property."""

    def weight(self, task_id):
        return float(self.weights.get(task_id, DEFAULT_WEIGHTS[task_id]))


def check_data_dir(folder):
    """``folder`` as a Path, once checked to hold the CIFAR-10 batches the overfit check trains on.

    Every command that takes a data folder (``--data``, a config file's data folder, a class run)
    calls this before any student code runs: a wrong folder is then one line for the instructor, not
    an error in every student's convnet task.

    Raises
    ------
    assignment.data.CIFAR10FolderError
        With a one-line message (and "did you mean .../cifar-10-batches-py?" where it fits).
    """
    from assignment.data import check_cifar10_folder
    from grader.tasks.convnet import OVERFIT_EXAMPLES  # on use: it imports every task module

    check_cifar10_folder(folder, min_training=OVERFIT_EXAMPLES)
    return Path(folder)
