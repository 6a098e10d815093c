"""Grading a class: `grader grade-class -j 2` next to `grader grade` run once per submission, and next to
executing one notebook with nbclient, all measured in this one run.

Run: python benchmarks/bench_class.py [--students 40] [--small 10]   (about 25 x the time of one `grader grade`)
Targets (issue 11, on the 2-core machine): throughput >= 1.8x the one-after-another loop; marginal cost
<= 1.0 s of wall time per correct submission (the slope between a class of --small and one of --students);
grading at least 10x faster per submission than executing the notebook.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.solve import solve

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"
GRADER = [sys.executable, "-m", "grader.cli"]
WORKERS = 2
THROUGHPUT_TARGET, MARGINAL_TARGET, NBCLIENT_TARGET = 1.8, 1.0, 10.0


def make_class(root, solved, students):
    """``students`` sub-folders, each holding the solved notebook."""
    for index in range(students):
        folder = root / f"student{index:03d}"
        folder.mkdir(parents=True)
        shutil.copy(solved, folder / "ConvolutionalNetworks.ipynb")
    return root


def one_after_another(folders):
    """Seconds to run `grader grade` on each submission in turn (what a shell loop does)."""
    start = time.perf_counter()
    for folder in folders:
        subprocess.run([*GRADER, "grade", str(folder), "-q"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def grade_class(class_dir, out):
    """Seconds of one `grader grade-class -j 2` run (a fresh results folder: nothing is resumed)."""
    start = time.perf_counter()
    subprocess.run(
        [*GRADER, "grade-class", str(class_dir), "--out", str(out), "-j", str(WORKERS)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def nbclient_seconds(solved, folder):
    notebook = nbformat.read(solved, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return time.perf_counter() - start


def verdict(met):
    return "met" if met else "NOT met"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="submissions in the large class")
    parser.add_argument("--small", type=int, default=10, help="submissions in the small class (for the slope)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        solved = solve(NOTEBOOK, temp / "solved.ipynb")
        large = make_class(temp / "large", solved, args.students)
        small = make_class(temp / "small", solved, args.small)
        # A-B-B-A: half the loop, both class runs, the other half, so that a load that drifts during the run
        # (the machine is shared) weighs on both sides alike; the load average is printed for each phase.
        folders = sorted(large.iterdir())
        half = len(folders) // 2
        first_half, loads = one_after_another(folders[:half]), [os.getloadavg()[0]]
        parallel, loads = grade_class(large, temp / "out-large"), loads + [os.getloadavg()[0]]
        parallel_small, loads = grade_class(small, temp / "out-small"), loads + [os.getloadavg()[0]]
        sequential, loads = first_half + one_after_another(folders[half:]), loads + [os.getloadavg()[0]]
        execution = nbclient_seconds(solved, temp)
    ratio = sequential / parallel
    marginal = (parallel - parallel_small) / (args.students - args.small)
    print(
        f"{args.students} solved notebooks, {WORKERS} workers, all nine tasks; 1-minute load average after each "
        f"phase (loop half, class, small class, loop half): {', '.join(f'{load:.1f}' for load in loads)}"
    )
    print(f"  grader grade, one after another: {sequential:7.1f} s  ({sequential / args.students:.2f} s each)")
    print(f"  grader grade-class -j {WORKERS}:          {parallel:7.1f} s  ({parallel / args.students:.2f} s each)")
    print(f"  grader grade-class -j {WORKERS}, {args.small} of them: {parallel_small:7.1f} s")
    print(f"throughput ratio: {ratio:.2f}x  (target >= {THROUGHPUT_TARGET}x: {verdict(ratio >= THROUGHPUT_TARGET)})")
    print(
        f"marginal wall time per submission: {marginal:.2f} s  (slope between {args.small} and {args.students}; "
        f"target <= {MARGINAL_TARGET} s: {verdict(marginal <= MARGINAL_TARGET)})"
    )
    print(
        f"executing one solved notebook with nbclient: {execution:.1f} s = {execution / marginal:.1f}x the marginal "
        f"grading cost  (aim >= {NBCLIENT_TARGET}x: {verdict(execution / marginal >= NBCLIENT_TARGET)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
