"""Misconception diagnosis, measured on a corpus of variants the grader's fingerprints were not written from.

Every file of tests/variants/mistakes, and every buggy variant of tests/variants/buggy whose outputs are wrong
(not the speed or unchanged-input bugs, whose outputs are right), is graded once, with only the tasks it
names (tests/variants/README.md). A file says on a header line which mistake it makes
(``# diagnosis: stride_ignored``; several, comma-separated, for a variant with several) or that it makes none
of the catalogued ones (``# diagnosis: none``); a
``# not named: why`` line marks a variant whose mistake leaves no evidence the grader can go by (it must then
be named nothing, and counts as "not diagnosed").

The claims: each is named with its own mistake and with nothing else; no unrelated bug is named anything; every
mistake the grader can name has at least two variants written differently. ``python -m pytest -s -k figures``
prints the figures per task: diagnosed right / diagnosed wrong / not diagnosed (benchmarks/diagnosis_figures.py
prints them for the correct variants and the stub notebook too).
"""

from collections import Counter
from pathlib import Path

import pytest

from assignment.mistakes import MISTAKES, text
from grader.config import Config
from grader.pipeline import grade
from grader.tasks import catalogue
from notebooks import solution_cells, write_notebook

VARIANTS = Path(__file__).parent / "variants"
NONE = "none"


def header(path, key):
    """The value of a leading '# key: value' comment line of a variant file, or None."""
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            return None
        if line.startswith(f"# {key}:"):
            return line.partition(":")[2].strip()
    return None


def _outputs_are_wrong(path):
    """A buggy variant whose outputs are wrong: not one that fails only speed or unchanged inputs."""
    return header(path, "fails") is None


CORPUS = sorted((VARIANTS / "mistakes").glob("*.py")) + [
    path for path in sorted((VARIANTS / "buggy").glob("*.py")) if _outputs_are_wrong(path)
]


def _code(path):
    """A variant's source without its header comments."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.startswith("# "))


def tasks_of(path):
    return tuple(task.strip() for task in header(path, "tasks").split(","))


FAMILIES = {
    "conv": "conv",
    "max_pool": "pool",
    "three_layer": "convnet",
    "spatial_batchnorm": "batchnorm",
    "spatial_groupnorm": "groupnorm",
}


def family(path):
    """The task family of a variant; a variant may define a forward and its backward, never two families."""
    (name,) = {value for prefix, value in FAMILIES.items() for task in tasks_of(path) if task.startswith(prefix)}
    return name


def notebooks_of(paths):
    """The variants packed into notebooks of at most one variant per task family, so one grading run (one
    sandbox) serves several variants. Each task is graded in a fresh fork and no variant shares a family
    with another in its notebook, so each is graded exactly as it would be alone: its own tasks, with the
    reference for every other definition."""
    packed = []
    for path in paths:
        room = next((group for group in packed if family(path) not in {family(p) for p in group}), None)
        if room is None:
            packed.append([path])
        else:
            room.append(path)
    return packed


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """path -> {task id: TaskResult} of every corpus variant, graded once, each on its own tasks only."""
    results = {}
    for index, group in enumerate(notebooks_of(CORPUS)):
        notebook = write_notebook(
            tmp_path_factory.mktemp(f"pack{index}"), *solution_cells(), *(path.read_text() for path in group)
        )
        tasks = tuple(task for task in Config().tasks if any(task in tasks_of(path) for path in group))
        report = {task.id: task for task in grade(notebook, Config(tasks=tasks)).tasks}
        results.update({path: {task: report[task] for task in tasks_of(path)} for path in group})
    return results


def diagnoses(tasks):
    """Every diagnosis any check of ``tasks`` carries."""
    return {check.diagnosis for task in tasks.values() for check in task.checks if check.diagnosis}


def declared(path):
    """The ids of the mistakes a variant says it makes (empty for '# diagnosis: none')."""
    value = header(path, "diagnosis")
    return set() if value == NONE else {name.strip() for name in value.split(",")}


def verdict(path, tasks):
    """'right' (named, and only with mistakes it makes), 'wrong' (named with one it does not make), 'not
    diagnosed' (a variant of a mistake named nothing) or 'silent' (an unrelated bug named nothing)."""
    found = diagnoses(tasks)
    if found - {text(mistake) for mistake in declared(path)}:
        return "wrong"
    if not declared(path):
        return "silent"
    return "right" if found else "not diagnosed"  # not diagnosed: expected for a '# not named' variant only


def test_every_corpus_variant_says_which_mistake_it_makes():
    for path in CORPUS:
        assert header(path, "diagnosis"), f"{path.name} has no '# diagnosis:' line"
        assert declared(path) <= set(MISTAKES), f"{path.name}: {declared(path) - set(MISTAKES)}"
        assert set(tasks_of(path)) <= set(Config().tasks), path.name


def test_every_mistake_the_grader_names_has_two_variants_written_differently():
    """Counted with the variants whose evidence is too thin to name them (``# not named``): the corpus holds
    each mistake's ways of being written, whether or not today's graded cases can single it out."""
    named = [path for path in CORPUS if len(declared(path)) == 1]
    counts = Counter(mistake for path in named for mistake in declared(path))
    sources = {}
    for path in named:
        sources.setdefault(header(path, "diagnosis"), set()).add(_code(path))
    for mistake in catalogue.fingerprinted():
        assert counts[mistake] >= 2 and len(sources[mistake]) >= 2, f"{mistake}: {counts[mistake]} variants"


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_variant_is_named_with_its_own_mistake_and_nothing_else(graded, path):
    tasks = graded[path]
    for task in tasks.values():
        assert task.score < task.max_score or not declared(path), f"{path.stem} lost no point in {task.id}"
    found = diagnoses(tasks)
    if not declared(path) or header(path, "not named"):
        assert found == set(), f"{path.stem} was named: {found}"
    elif len(declared(path)) == 1:
        assert found == {text(mistake) for mistake in declared(path)}, f"{path.stem}: {found or 'nothing named'}"
    else:  # several mistakes: each named one is one of them, and the evidence shows at least one
        assert found and found <= {text(mistake) for mistake in declared(path)}, f"{path.stem}: {found}"


@pytest.mark.slow
def test_no_variant_is_diagnosed_wrong_figures_per_task(graded):
    """Prints the figures per task (run with -s); no diagnosis is wrong, no catalogued mistake goes unnamed."""
    figures = {}
    for path, tasks in graded.items():
        for task_id in tasks_of(path):
            figures.setdefault(task_id, Counter())[verdict(path, {task_id: tasks[task_id]})] += 1
    print("\ntask                        right  wrong  not diagnosed  unrelated (silent)")
    for task_id in Config().tasks:
        counts = figures.get(task_id, Counter())
        print(
            f"{task_id:<27} {counts['right']:>5}  {counts['wrong']:>5}  {counts['not diagnosed']:>13}  "
            f"{counts['silent']:>18}"
        )
    total = sum(figures.values(), Counter())
    print(
        f"{'total':<27} {total['right']:>5}  {total['wrong']:>5}  {total['not diagnosed']:>13}  {total['silent']:>18}"
    )
    assert total["wrong"] == 0
