"""Diagnosis figures on the project's own corpus: diagnosed right / wrong / none, per task and in total.

Run: python benchmarks/diagnosis_figures.py [--verbose]

The corpus is every variant of tests/variants/mistakes, buggy and correct (each graded on the tasks its
``# tasks:`` line names, with the reference for every other definition, as tests/test_diagnosis.py grades
them) and the untouched stub notebook (all nine tasks). A task of a variant counts once:

- right: named, and only with mistakes its file says it makes (``# diagnosis: a, b``);
- wrong: named with any mistake it does not make (every name on a correct variant, an unrelated bug or the
  stub is wrong);
- none: named nothing; split into "missed" (it makes a catalogued mistake, ``# not named`` variants
  included: their evidence is too thin to name it) and "silent" (nothing to name: correct code, an unrelated
  bug, the stub).
"""

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_diagnosis import VARIANTS, declared, header, notebooks_of, tasks_of  # noqa: E402

from assignment.mistakes import MISTAKES, text  # noqa: E402
from grader.config import Config  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from notebooks import STUB_NOTEBOOK, solution_cells, write_notebook  # noqa: E402

KINDS = ("mistakes", "buggy", "correct")


def corpus():
    return [path for kind in KINDS for path in sorted((VARIANTS / kind).glob("*.py"))]


def declared_mistakes(path):
    """The ids of the mistakes a variant makes (none for a correct variant)."""
    if path.parent.name == "correct" or header(path, "diagnosis") is None:
        return set()
    return declared(path)


def verdict(found, mistakes):
    """right / wrong / missed / silent (see the module's docstring); a mistake the catalogue does not hold
    (measuring older code) can only be missed."""
    if found - {text(m) for m in mistakes if m in MISTAKES}:
        return "wrong"
    if found:
        return "right"
    return "missed" if mistakes else "silent"


def graded_corpus(folder):
    """(label, task id, diagnoses found, ids of the mistakes made) for every task of every variant."""
    rows = []
    for index, group in enumerate(notebooks_of(corpus())):
        pack = Path(folder) / f"pack{index}"
        pack.mkdir()
        notebook = write_notebook(pack, *solution_cells(), *(path.read_text() for path in group))
        tasks = tuple(task for task in Config().tasks if any(task in tasks_of(path) for path in group))
        report = {task.id: task for task in grade(notebook, Config(tasks=tasks)).tasks}
        for path in group:
            for task_id in tasks_of(path):
                found = {c.diagnosis for c in report[task_id].checks if c.diagnosis}
                rows.append((f"{path.parent.name}/{path.stem}", task_id, found, declared_mistakes(path)))
    for task in grade(STUB_NOTEBOOK, Config()).tasks:
        rows.append(("stub notebook", task.id, {c.diagnosis for c in task.checks if c.diagnosis}, set()))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="one line per variant and task")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = graded_corpus(folder)
    figures = {}
    for label, task_id, found, mistakes in rows:
        outcome = verdict(found, mistakes)
        figures.setdefault(task_id, Counter())[outcome] += 1
        if options.verbose or outcome == "wrong":
            names = "; ".join(sorted(name[:60] for name in found)) or "-"
            print(f"{outcome:<7} {label:<52} {task_id:<27} {names}")
    print(f"\n{'task':<27} {'right':>5} {'wrong':>5} {'none':>5} {'(missed':>8} {'silent)':>7}")
    for task_id in Config().tasks:
        c = figures.get(task_id, Counter())
        none = c["missed"] + c["silent"]
        print(f"{task_id:<27} {c['right']:>5} {c['wrong']:>5} {none:>5} {c['missed']:>8} {c['silent']:>7}")
    t = sum(figures.values(), Counter())
    print(
        f"{'total':<27} {t['right']:>5} {t['wrong']:>5} {t['missed'] + t['silent']:>5} {t['missed']:>8} {t['silent']:>7}"
    )


if __name__ == "__main__":
    main()
