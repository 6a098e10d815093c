"""Speed verdicts under load: a fast and a slow implementation of each timed task, graded again and again
while busy processes keep every core occupied. The verdicts must not move: the fast one keeps its speed
point in every grading, the slow one loses it in every grading.

Run: python benchmarks/bench_speed_load.py [--gradings 10] [--busy 12]
Prints, per task and implementation, how many gradings awarded the speed point, the speed-case ratios
the reports gave (lowest and highest), and the load average before and after.
"""

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from grader.config import Config
from grader.pipeline import grade

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from notebooks import solution_cells, write_notebook  # noqa: E402

TIMED = ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive")
# Slow on an idle machine and a busy one alike, each ~40-90x the reference loops (budget: 25x): two
# CPU-bound (every output element's work done over and over), two that wait for a multiple of their CPU time.
SLOW = ("conv_forward_very_slow", "conv_backward_very_slow", "pool_forward_very_slow", "pool_backward_very_slow")
SPIN_SECONDS = 900  # a busy process ends by itself after this, should nothing stop it
RATIO = re.compile(r"took ([0-9.]+)x")


def notebooks(folder):
    """{"fast": the reference solutions, "slow": the same with a slow variant of every timed task}."""
    variants = [(ROOT / "tests" / "variants" / "buggy" / f"{name}.py").read_text() for name in SLOW]
    fast_dir, slow_dir = Path(folder) / "fast", Path(folder) / "slow"
    fast_dir.mkdir(), slow_dir.mkdir()
    return {
        "fast": write_notebook(fast_dir, *solution_cells()),
        "slow": write_notebook(slow_dir, *solution_cells(), *variants),
    }


@contextlib.contextmanager
def busy(processes):
    """``processes`` busy loops (plain CPU-bound processes at the grader's priority) for the block's length."""
    pids = []
    try:
        for _ in range(processes):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child only spins
                deadline = time.monotonic() + SPIN_SECONDS
                while time.monotonic() < deadline:
                    pass
                os._exit(0)
            pids.append(pid)
        time.sleep(0.5)  # let them take the cores
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)


def speed_checks(notebook):
    """{task id: (speed point awarded, speed-case ratio)} of one grading of ``notebook``."""
    report = grade(notebook, Config(tasks=TIMED))
    found = {}
    for task in report.tasks:
        check = next(c for c in task.checks if c.name.startswith("speed"))
        ratio = RATIO.search(check.message)
        found[task.id] = (check.passed, float(ratio.group(1)) if ratio else None)
    return found


def verdicts(gradings, processes):
    """{(kind, task): [(awarded, ratio), ...]} over ``gradings`` gradings of each notebook under load."""
    tallies = {}
    with tempfile.TemporaryDirectory() as folder:
        graded = notebooks(folder)
        with busy(processes):
            for _ in range(gradings):
                for kind, notebook in graded.items():
                    for task, found in speed_checks(notebook).items():
                        tallies.setdefault((kind, task), []).append(found)
    return tallies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gradings", type=int, default=10, help="gradings of each notebook")
    parser.add_argument("--busy", type=int, default=12, help="busy processes kept running meanwhile")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    started = time.perf_counter()
    tallies = verdicts(args.gradings, args.busy)
    after = os.getloadavg()
    print(
        f"{args.gradings} gradings of each notebook with {args.busy} busy processes "
        f"({time.perf_counter() - started:.0f} s; load average {before[0]:.1f} before, {after[0]:.1f} after)"
    )
    print(f"{'implementation':<8} {'task':<26} {'speed point':>12} {'ratios (lowest-highest)':>26}")
    for (kind, task), found in sorted(tallies.items()):
        ratios = [r for _, r in found if r is not None]
        spread = f"{min(ratios):.2f}x-{max(ratios):.2f}x" if ratios else "-"
        print(f"{kind:<8} {task:<26} {sum(a for a, _ in found):>5} / {len(found):<5} {spread:>26}")


if __name__ == "__main__":
    main()
