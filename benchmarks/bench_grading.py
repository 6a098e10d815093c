"""Grading time of a correct submission, next to running the same notebook top to bottom with nbclient;
and the cost per submission in a long-lived worker (what ``grade-class`` pays per student).

Run: python benchmarks/bench_grading.py   (target: grading <= 20 s on 2 cores, aim for >= 10x faster than
executing the notebook, which is what notebook graders do). Both are measured in this one run, and so is
the sandbox's start-up: starting a child and loading the solved notebook's definitions, under bubblewrap
and as a plain process, alternated.

Then, in this one process, the solved notebook is graded ``--repeat`` times "warm" (what a worker that
grades many submissions pays from the second on: references, overfit run and hypothesis' examples from
grader.tasks.memo) alternated with as many gradings by the old code path (see :func:`old_code_path`),
after one first grading that fills the caches. Each line gives wall time, the grader's CPU time and the sandbox's CPU time (the
template and every fork it reaped, read before it is killed). ``--profile`` adds where the time went.
Target for a class graded with 2 workers on 2 cores: <= 1.0 s of wall time per correct submission, i.e.
about <= 2 s of grader + sandbox CPU per submission in a warm worker.
"""

import argparse
import collections
import contextlib
import dataclasses
import functools
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grader.discover import load_submission
from grader.extract import extract
from grader.pipeline import grade
from grader.sandbox import supervisor
from grader.sandbox.session import Session
from grader.solve import solve
from grader.tasks import conv, convnet, memo, pool, properties, speed

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "ConvolutionalNetworks.ipynb"
ROUNDS = 7


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm gradings and old-path gradings each, alternated")
    parser.add_argument("--profile", action="store_true", help="where each kind of grading spent its time")
    parser.add_argument("--no-nbclient", action="store_true", help="skip executing the notebook with nbclient")
    parser.add_argument("--no-startup", action="store_true", help="skip the sandbox start-up figures")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the class measurement (0: skip)")
    parser.add_argument("--per-worker", type=int, default=4, help="warm gradings per worker in the class measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        solved = solve(NOTEBOOK, Path(folder) / "solved.ipynb")
        if not args.no_nbclient:
            compare_with_nbclient(solved, folder)
        if not args.no_startup:
            print_startup(solved)
        print_per_submission(solved, args.repeat, args.profile)
        if args.workers:
            print_class_of_workers(solved, args.workers, args.per_worker)
    return 0


def compare_with_nbclient(solved, folder):
    import nbformat
    from nbclient import NotebookClient

    memo.clear()
    start = time.perf_counter()
    report = grade(solved)
    grading = time.perf_counter() - start
    notebook = nbformat.read(solved, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    execution = time.perf_counter() - start
    print(
        f"grading (all nine tasks, hidden cases, properties, speed, overfit): {grading:.1f} s, "
        f"score {report.score:.1f} / {report.max_score:.1f}, isolation: {report.isolation}"
    )
    print(f"executing the solved notebook with nbclient: {execution:.1f} s")
    print(f"grading is {execution / grading:.1f}x faster; target <= 20 s: {'met' if grading <= 20 else 'NOT met'}")


def print_startup(solved):
    startup, isolation, statements = measure_startup(solved)
    print(
        f"sandbox start-up (template started, forked, {statements} definitions loaded one by one), "
        f"and each further task's fresh fork with its load (all at once), median of {ROUNDS}:"
    )
    for mode, (first, per_task) in startup.items():
        print(
            f"  {mode:<11} {statistics.median(first) * 1000:6.0f} ms, then {statistics.median(per_task) * 1000:5.1f} ms "
            f"per task   ({isolation[mode]})"
        )


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


# -- cost per submission in one long-lived process ------------------------------------------------------


def print_per_submission(solved, repeat, profile):
    memo.clear()  # the first grading is a new worker's
    profiler = Profiler() if profile else None
    runs = collections.defaultdict(list)
    with sandbox_cpu_meter() as sandbox_cpu:
        runs["first"].append(measured(solved, "first", sandbox_cpu, profiler))
        for _ in range(repeat):
            runs["warm"].append(measured(solved, "warm", sandbox_cpu, profiler))
            runs["old"].append(measured(solved, "old", sandbox_cpu, profiler))
    print(
        f"per submission in one process: the solved notebook graded once, then {repeat} times warm and {repeat} "
        f"times by the old code path, alternated (median; see old_code_path)"
    )
    print(f"  {'kind':<6} {'wall s':>7} {'grader cpu s':>13} {'sandbox cpu s':>14} {'total cpu s':>12}   score")
    for kind, rows in runs.items():
        wall, grader_cpu, sandbox, score = (statistics.median(column) for column in zip(*rows))
        print(f"  {kind:<6} {wall:7.2f} {grader_cpu:13.2f} {sandbox:14.2f} {grader_cpu + sandbox:12.2f}   {score:.1f}")
    old, warm = (statistics.median(r[1] + r[2] for r in runs[k]) for k in ("old", "warm"))
    print(
        f"  warm / old CPU per submission: {warm / old:.2f}; with 2 workers on 2 cores a warm submission costs "
        f"about {warm / 2:.2f} s of wall time (target <= 1.0 s: {'met' if warm / 2 <= 1.0 else 'NOT met'})"
    )
    if profiler is not None:
        profiler.print()


def measured(solved, kind, sandbox_cpu, profiler):
    """(wall s, grader CPU s, sandbox CPU s, score) of one grading of ``kind``: first, warm or old."""
    with old_code_path(kind == "old"):
        before_cpu, before_sandbox = _own_cpu(), sandbox_cpu()
        start = time.perf_counter()
        with profiler.grading(kind) if profiler else contextlib.nullcontext():
            report = grade(solved)
        wall = time.perf_counter() - start
        return wall, _own_cpu() - before_cpu, sandbox_cpu() - before_sandbox, report.score


def _own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def sandbox_cpu_meter():
    """A function giving the CPU seconds of every sandbox killed so far: each template's own time and that
    of the forks it reaped (its cutime and cstime), read from /proc just before it is killed."""
    total = [0.0]
    kill = supervisor.Sandbox.kill

    def counting_kill(self):
        if self.template_pid is not None:
            total[0] += _process_cpu(self.template_pid)
        return kill(self)

    supervisor.Sandbox.kill = counting_kill
    try:
        yield lambda: total[0]
    finally:
        supervisor.Sandbox.kill = kill


def _process_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(n) for n in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


OLD_SPEED_CASES = {conv: dict(conv.SPEED_CASE, N=2), pool: dict(pool.SPEED_CASE, N=4)}


@contextlib.contextmanager
def old_code_path(enabled):
    """Grading as before the per-submission cuts: nothing memoized but the reference overfit run (it was
    cached per process already), hypothesis searching every time, pauses walking /proc, every fork loading
    one statement at a time, and the speed cases of twice the size."""
    if not enabled:
        yield
        return
    memo.clear(keep=(convnet.reference_overfit_run, convnet._overfit_examples))
    patches = [
        (supervisor.Sandbox, "_processes_outside_task", lambda self: None),
        (Session, "_load_all_at_once", _one_at_a_time),
    ]
    patches += [
        (module, "LAYER", dataclasses.replace(module.LAYER, speed_case=case))
        for module, case in OLD_SPEED_CASES.items()
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, value in patches:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in originals:
            setattr(owner, name, value)


def _one_at_a_time(session, deadline):
    session.load_at_once = False
    return Session._load(session, deadline)


def print_class_of_workers(solved, workers, per_worker):
    """Wall time per submission when ``workers`` processes, each warmed by one grading, grade ``per_worker``
    submissions each at the same time: what a class costs per student on this machine."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=_worker, args=(solved, per_worker, ready, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    ready.wait()  # every worker has graded once: its caches are warm
    start = time.perf_counter()
    scores = [score for _ in processes for score in results.get()]
    wall = time.perf_counter() - start
    for process in processes:
        process.join()
    marginal = wall / len(scores)
    print(
        f"a class of {len(scores)} solved notebooks graded by {workers} warm worker processes at once: {wall:.1f} s, "
        f"{marginal:.2f} s of wall time per submission (target <= 1.0 s: {'met' if marginal <= 1.0 else 'NOT met'}), "
        f"scores {sorted(set(scores))}"
    )


def _worker(solved, count, ready, results):
    grade(solved)
    ready.wait()
    results.put([grade(solved).score for _ in range(count)])


class Profiler:
    """Seconds spent in the grader's main stages, per kind of grading (wrapping their functions)."""

    STAGES = {
        "sandbox start (template)": (supervisor.Sandbox, "start"),
        "fork + load definitions": (Session, "_ensure_fork"),
        "calls into the sandbox (round trips)": (supervisor.Channel, "request"),
        "speed checks' pauses and reference loops": (speed, "timed_reference"),
        "hypothesis properties (calls included)": (properties, "_property_outcome"),
        "reference overfit run": (convnet, "reference_overfit_run"),
        "ending a task (killing its fork)": (supervisor.Sandbox, "end_task"),
    }

    def __init__(self):
        self.seconds = collections.defaultdict(lambda: collections.defaultdict(list))
        self.current = None

    @contextlib.contextmanager
    def grading(self, kind):
        spent = collections.Counter()
        originals = [(owner, name, getattr(owner, name)) for owner, name in self.STAGES.values()]
        for stage, (owner, name) in self.STAGES.items():
            setattr(owner, name, _timed(getattr(owner, name), stage, spent))
        try:
            yield
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
            for stage in self.STAGES:
                self.seconds[kind][stage].append(spent[stage])

    def print(self):
        kinds = list(self.seconds)
        print(
            f"  where the time went (median seconds of wall time per grading; stages overlap: calls happen inside "
            f"properties):\n  {'stage':<44}" + "".join(f"{kind:>8}" for kind in kinds)
        )
        for stage in self.STAGES:
            print(f"  {stage:<44}" + "".join(f"{statistics.median(self.seconds[k][stage]):8.3f}" for k in kinds))


def _timed(function, stage, spent):
    depth = [0]

    @functools.wraps(function)
    def timed(*args, **kwargs):
        if depth[0]:
            return function(*args, **kwargs)
        depth[0] += 1
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - start
            depth[0] -= 1

    return timed


if __name__ == "__main__":
    sys.exit(main())
