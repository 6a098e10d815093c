"""Same submission, same speed verdict on a busy machine: a fast and a slow implementation of each timed
task, graded twice while busy processes occupy every core (benchmarks/bench_speed_load.py runs
the same with more gradings and prints the ratios)."""

import pytest

from benchmarks.bench_speed_load import verdicts

pytestmark = pytest.mark.slow

GRADINGS, BUSY = 2, 4


def test_speed_verdicts_do_not_move_under_load():
    tallies = verdicts(GRADINGS, BUSY)
    assert len(tallies) == 8
    for (kind, task), found in tallies.items():
        awarded = [passed for passed, _ in found]
        assert len(awarded) == GRADINGS
        expected = kind == "fast"
        assert awarded == [expected] * GRADINGS, f"{kind} {task}: {found}"
