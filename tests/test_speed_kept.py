"""Kept reference times (grader.tasks.speed): a process that measured the speed case's reference loops
KEPT_SAMPLES times stops timing them in a backward's speed rounds; the least time it measured stands in,
which errs against the student, and any verdict it leaves undecided is measured beside the reference again.
A forward's rounds, its pace for the backward's forward_excess, are always timed beside the reference."""

import re
from pathlib import Path

import pytest

from grader.config import Config
from grader.pipeline import grade
from grader.tasks import memo, pool, speed
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # gradings in the sandbox

SLOW_POOL_BACKWARD = Path(__file__).parent / "variants" / "buggy" / "pool_backward_very_slow.py"
POOL = ("max_pool_forward_naive", "max_pool_backward_naive")


@pytest.fixture(autouse=True)
def cold_caches():
    memo.clear()
    yield
    memo.clear()


@pytest.fixture
def references(monkeypatch):
    """Every RoundReference made, with the purpose its inputs were drawn for."""
    made, purposes = [], []
    round_reference, drawn_inputs = speed.round_reference, speed.drawn_inputs

    def spied_reference(*args, **kwargs):
        made.append((purposes[-1] if purposes else None, round_reference(*args, **kwargs)))
        return made[-1][1]

    def spied_inputs(ctx, layer, task_id, case, purpose, index):
        purposes.append(purpose)
        return drawn_inputs(ctx, layer, task_id, case, purpose, index)

    monkeypatch.setattr(speed, "round_reference", spied_reference)
    monkeypatch.setattr(speed, "drawn_inputs", spied_inputs)
    return made


def speed_checks(report):
    return {task.id: next(c for c in task.checks if c.name.startswith("speed")) for task in report.tasks}


def test_a_second_grading_in_a_process_times_no_backward_speed_round_of_the_reference_loops(
    tmp_path, references, monkeypatch
):
    notebook = write_notebook(tmp_path, *solution_cells())
    first = grade(notebook, Config(tasks=POOL))
    assert references and not any(reference.kept for _, reference in references)
    references.clear()
    fast_timed, fast_seconds = [], speed._fast_seconds
    monkeypatch.setattr(speed, "_fast_seconds", lambda *args: fast_timed.append(args[-1]) or fast_seconds(*args))
    second = grade(notebook, Config(tasks=POOL))
    assert [purpose for purpose, _ in references] == [speed.SPEED] * (speed.SPEED_ROUNDS * len(POOL))
    forward, backward = references[: speed.SPEED_ROUNDS], references[speed.SPEED_ROUNDS :]
    assert not any(reference.kept for _, reference in forward)  # the forward's pace: always measured
    assert all(reference.kept for _, reference in backward)
    # A kept round's fast backward is timed as it makes the answer, and not again for the message's speed-up.
    assert all(reference.fast_seconds > 0 for _, reference in backward)
    assert all(reference.fast_seconds is None for _, reference in forward)
    assert fast_timed == [False] * speed.SPEED_ROUNDS  # the forward's rounds only (args[-1]: backward)
    assert second.score == first.score == second.max_score
    assert all(check.passed for check in speed_checks(second).values())
    assert re.search(r"the fast layer is \d+x faster", speed_checks(second)[POOL[1]].message)


def test_the_kept_time_is_the_least_measured_on_the_speed_case(tmp_path, references):
    notebook = write_notebook(tmp_path, *solution_cells())
    grade(notebook, Config(tasks=("max_pool_forward_naive",)))
    measured = [reference.seconds for _, reference in references if not reference.kept]
    kept = {key: value for key, value in speed._KEPT_TIMES.items.items()}
    assert list(kept) == [(POOL[0], pool.LAYER.describe(pool.LAYER.speed_case))]  # the speed case's sizes only
    (count, least), *_ = kept.values()
    assert count == len(measured) == speed.SPEED_ROUNDS and least == min(measured)


def test_a_slow_backward_after_a_correct_one_loses_its_point_on_measured_rounds(tmp_path, references):
    grade(write_notebook(tmp_path, *solution_cells(), name="correct.ipynb"), Config(tasks=POOL))
    references.clear()
    slow = write_notebook(tmp_path, *solution_cells(), SLOW_POOL_BACKWARD.read_text(), name="slow.ipynb")
    report = grade(slow, Config(tasks=POOL))
    checks = speed_checks(report)
    assert checks["max_pool_forward_naive"].passed
    assert not checks["max_pool_backward_naive"].passed
    assert "over budget on two measurements" in checks["max_pool_backward_naive"].message
    confirmed = [r for purpose, r in references if purpose == speed.CONFIRMATION_SPEED]
    assert confirmed and not any(reference.kept for reference in confirmed)


def test_a_kept_time_far_too_small_costs_a_correct_submission_nothing(tmp_path, references):
    notebook = write_notebook(tmp_path, *solution_cells())
    grade(notebook, Config(tasks=POOL))
    for key, (count, least) in list(speed._KEPT_TIMES.items.items()):
        speed._KEPT_TIMES.put(key, (count, least * 1e-6))  # a correct submission now looks 1e6 times too slow
    references.clear()
    report = grade(notebook, Config(tasks=POOL))
    assert report.score == report.max_score
    checks = speed_checks(report)
    assert "a first measurement over budget was not confirmed" in checks["max_pool_backward_naive"].message
    assert "not confirmed" not in checks["max_pool_forward_naive"].message  # measured: no kept time used
    assert any(purpose == speed.CONFIRMATION_SPEED and not r.kept for purpose, r in references)


def test_an_undecided_verdict_on_kept_times_is_measured_again(tmp_path, references, monkeypatch):
    notebook = write_notebook(tmp_path, *solution_cells())
    grade(notebook, Config(tasks=POOL))
    monkeypatch.setattr(speed, "KEPT_MARGIN", 1e-9)  # no verdict on kept times is clear any more
    references.clear()
    report = grade(notebook, Config(tasks=POOL))
    assert report.score == report.max_score
    remade = [r for purpose, r in references if purpose == speed.MEASURED_SPEED]
    assert len(remade) == speed.SPEED_ROUNDS and not any(r.kept for r in remade)  # the backward's rounds
