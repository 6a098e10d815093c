"""Fill the disk cache (:mod:`grader.tasks.disk`) once, so that no later grading pays for it: the reference
model's overfit run and the examples of every hypothesis property.

It grades the reference solutions (a notebook made of them, in a temporary folder) as any submission is graded:
whatever a first grading computes and keeps, this keeps. Gradescope's setup.sh runs it when the image is built
(``python -m grader.cache --config grader.toml``), so that every submission's container starts with it.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader import blas  # noqa: F401  (first of the grader: one BLAS thread, as the command line has)
from grader.config import Config, build_config
from grader.errors import GraderError
from grader.pipeline import grade
from grader.solve import TASK_LINE_PREFIX, reference_source
from grader.tasks import disk, memo

NOTEBOOK_NAME = "references.ipynb"


def warm_cache(config: Config | None = None) -> str:
    """Grade the reference solutions of ``config``'s tasks with ``config`` (its number of hypothesis examples,
    its data folder), which fills the disk cache; one line saying where and what was kept."""
    config = config or Config()
    folder = disk.folder()
    if folder is None:
        return f"no disk cache: ${disk.ENV} is set but empty"
    memo.clear()  # what this process holds already would not reach the disk
    before, start = disk.statistics(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grader-cache-") as scratch:
        report = grade(_reference_notebook(Path(scratch), config.tasks), config)
    seconds, counts = time.perf_counter() - start, _since(before)
    if counts["not stored"] or not counts["stored"] + counts["found"]:
        return f"the disk cache {folder} could not be written: every grading computes what it would hold"
    graded = f"{report.score:g} / {report.max_score:g}"
    if report.score < report.max_score:
        graded += " (below full marks: only what passed was kept)"
    return (
        f"disk cache {folder}: {counts['stored']} entries written, {counts['found']} found there already, "
        f"by grading the reference solutions ({graded}, {seconds:.1f} s)"
    )


def _reference_notebook(folder, task_ids):
    """A notebook of one cell per task holding the reference solution, written in ``folder``."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(f"{TASK_LINE_PREFIX}{task_id}\n{reference_source(task_id)}") for task_id in task_ids
    ]
    path = folder / NOTEBOOK_NAME
    nbformat.write(notebook, path)
    return path


def _since(before):
    """'found', 'stored', 'not stored': how many times each happened since ``before`` (disk.statistics())."""
    counts = {"found": 0, "stored": 0, "not stored": 0}
    for (_, what), times in disk.statistics().items():
        counts[what] += times
    for (_, what), times in before.items():
        counts[what] -= times
    return counts


def main(argv=None):
    """``python -m grader.cache [--config FILE]``: fill the disk cache; exit 1 if nothing could be kept (the
    grader's exit status if it could not grade: a configuration it refuses, a sandbox that cannot start)."""
    parser = argparse.ArgumentParser(prog="python -m grader.cache", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", metavar="FILE", help="the TOML configuration gradings will use")
    args = parser.parse_args(argv)
    try:
        summary = warm_cache(build_config(args.config))
    except GraderError as error:
        print(f"grader.cache: {error}", file=sys.stderr)
        return error.exit_status
    print(summary)
    return 0 if summary.startswith("disk cache ") else 1


if __name__ == "__main__":
    sys.exit(main())
