"""Grading time of a correct submission, next to running the same notebook top to bottom with nbclient.

Run: python benchmarks/bench_grading.py   (target: grading <= 20 s on 2 cores, aim for >= 10x faster than
executing the notebook, which is what notebook graders do). Both are measured in this one run.
"""
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.pipeline import grade
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
    print(f"grading (all nine tasks, hidden cases, properties, speed, overfit): {grading:.1f} s, "
          f"score {report.score:.1f} / {report.max_score:.1f}, isolation: {report.isolation}")
    print(f"executing the solved notebook with nbclient: {execution:.1f} s")
    print(f"grading is {execution / grading:.1f}x faster; target <= 20 s: {'met' if grading <= 20 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
