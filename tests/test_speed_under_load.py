"""Same submission, same speed verdict on a busy machine: a fast and a slow implementation of each timed
task, graded twice while busy processes occupy every core (benchmarks/bench_speed_load.py runs
the same with more gradings and prints the ratios)."""

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).parent.parent / "benchmarks" / "bench_speed_load.py"
GRADINGS, BUSY = 2, 4


def _bench():
    spec = importlib.util.spec_from_file_location("bench_speed_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_speed_verdicts_do_not_move_under_load():
    tallies = _bench().verdicts(GRADINGS, BUSY)
    assert len(tallies) == 8
    for (kind, task), found in tallies.items():
        awarded = [passed for passed, _ in found]
        assert len(awarded) == GRADINGS
        expected = kind == "fast"
        assert awarded == [expected] * GRADINGS, f"{kind} {task}: {found}"
