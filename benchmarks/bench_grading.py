"""Grading time of a correct submission, next to running the same notebook top to bottom with nbclient.

Run: python benchmarks/bench_grading.py   (target: grading <= 20 s on 2 cores, aim for >= 10x faster than
executing the notebook, which is what notebook graders do). Both are measured in this one run, and so is
the sandbox's start-up: starting a child and loading the solved notebook's definitions, under bubblewrap
and as a plain process, alternated.
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.discover import load_submission
from grader.extract import extract
from grader.pipeline import grade
from grader.sandbox import Session
from grader.solve import solve

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"


def main():
    with tempfile.TemporaryDirectory() as folder:
        solved = solve(NOTEBOOK, Path(folder) / "solved.ipynb")
        start = time.perf_counter()
        report = grade(solved)
        grading = time.perf_counter() - start
        notebook = nbformat.read(solved, as_version=4)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
        execution = time.perf_counter() - start
        startup, isolation, statements = measure_startup(solved)
    print(f"grading (all nine tasks, hidden cases, properties, speed, overfit): {grading:.1f} s, "
          f"score {report.score:.1f} / {report.max_score:.1f}, isolation: {report.isolation}")
    print(f"executing the solved notebook with nbclient: {execution:.1f} s")
    print(f"grading is {execution / grading:.1f}x faster; target <= 20 s: {'met' if grading <= 20 else 'NOT met'}")
    print(f"sandbox start-up (template started, forked, {statements} definitions loaded one by one), "
          f"and each further task's fresh fork with its load, median of {ROUNDS}:")
    for mode, (first, per_task) in startup.items():
        print(f"  {mode:<11} {statistics.median(first) * 1000:6.0f} ms, then {statistics.median(per_task) * 1000:5.1f} ms "
              f"per task   ({isolation[mode]})")
    return 0


ROUNDS = 7


def measure_startup(solved):
    """Seconds from nothing to a fork holding the definitions, and then from one task to the next (the
    fork killed, a new one loaded), per mode, alternated round by round."""
    cells = extract(load_submission(solved)[0]).cells
    times, isolation = {"bubblewrap": ([], []), "plain": ([], [])}, {}
    for _ in range(ROUNDS):
        for mode, use_bwrap in (("bubblewrap", True), ("plain", False)):
            start = time.perf_counter()
            with Session(cells, use_bwrap=use_bwrap) as session:
                session.begin_task("first")
                session.ensure_loaded()
                times[mode][0].append(time.perf_counter() - start)
                start = time.perf_counter()
                session.begin_task("second")
                session.ensure_loaded()
                times[mode][1].append(time.perf_counter() - start)
                isolation[mode] = session.isolation_used
    return times, isolation, sum(len(c["statements"]) for c in cells)


if __name__ == "__main__":
    sys.exit(main())
