"""grade-class end to end: the same score as `grader grade` alone for every kind of submission, locally
(-j 2) and on a Dask cluster; resume; Ctrl-C and SIGTERM stop cleanly."""

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cli
from grader.classroom import grade_class
from grader.classroom.run import LocalPool, grade_job
from grader.config import Config
from grader.discover import SubmissionError
from grader.pipeline import grade
from grader.render import to_json
from notebooks import solution_cells, write_notebook

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TASKS = ("conv_forward_naive", "max_pool_forward_naive")  # cheap, and the hostile cells attack the first
TIMEOUT = 3.0  # seconds per call, the same for grade and grade-class
# The speed check times the student's function against the reference loops: on a loaded machine (two
# graders at once on two cores, the rest of CI) its ratio is the one figure that depends on the moment, so
# these comparisons give it a budget noise cannot reach; every other check must agree exactly. The memory hog
# fills the limit it is given on each of its calls: a quarter of the default 2 GiB is as much a limit, and
# cheaper to fill (test_attacks.MEMORY_LIMITS).
CONFIG = Config(tasks=TASKS, timeout=TIMEOUT, speed_budget=1e6, memory_bytes=512 << 20)
# Folder name -> cells appended after the references (None: the stub notebook; bytes: the file itself).
HOSTILE_IDS = {'=HYPERLINK("evil")': "correct", "comma, name": "stub", "ctrl\x1b[2J\rname": "buggy"}
SUBMISSIONS = {
    "correct": [],
    "buggy": [TESTS / "variants" / "buggy" / "conv_forward_stride_ignored.py"],
    "infinite_loop": [TESTS / "attacks" / "infinite_loop.py"],
    "os_exit": [TESTS / "attacks" / "os_exit.py"],
    "memory_hog": [TESTS / "attacks" / "memory_hog.py"],
    "lying_subclass": [TESTS / "attacks" / "lying_subclass.py"],
    "hostile_text": [
        "def conv_forward_naive(x, w, b, conv_param):\n"
        "    print('\\x1b[2J\\x1b]0;owned\\x07\\u202e' * 20000)\n"
        "    raise ValueError('\\x1b[31m=SUM(A1)\\u202e\\r\\n<script>' + 'A' * 1000000)\n"
    ],
}
# What no output file of a class run may carry, whatever a submission printed or raised.
RAW_CONTROLS = ("\x1b", "\u202e", "\r", "\x07")
RAW_MARKUP = "<script>"  # inert in JSON and in a Markdown code block; escaped elsewhere in what a person opens
FENCED = re.compile(r"^( *)(`{3,})[^\n]*\n.*?^\1\2$", re.DOTALL | re.MULTILINE)  # a Markdown code block


def make_submission(folder, kind):
    folder.mkdir(parents=True)
    if kind == "stub":
        shutil.copy(ROOT / "notebooks" / "ConvolutionalNetworks.ipynb", folder)
    elif kind == "unreadable":
        (folder / "submission.ipynb").write_bytes(b"\x00\xffnot a notebook")
    else:
        write_notebook(
            folder,
            *solution_cells(),
            *(cell.read_text() if isinstance(cell, Path) else cell for cell in SUBMISSIONS[kind]),
        )


@pytest.fixture(scope="module")
def mixed_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for kind in [*SUBMISSIONS, "stub", "unreadable"]:
        make_submission(root / kind, kind)
    for student, kind in HOSTILE_IDS.items():
        make_submission(root / student, kind)
    return root


@pytest.fixture(scope="module")
def alone(mixed_class):
    """Student -> the report `grader grade` gives the folder alone, as JSON (None: unreadable, exit 2)."""
    reports = {}
    for folder in sorted(mixed_class.iterdir()):
        try:
            reports[folder.name] = to_json(grade(folder, CONFIG))
        except SubmissionError:
            reports[folder.name] = None
    return reports


@pytest.fixture(scope="module")
def local_run(mixed_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    run = grade_class(mixed_class, out, CONFIG, LocalPool(2), progress_stream=io.StringIO())
    return run, out


def records(out):
    return {r["student"]: r for r in map(json.loads, map(Path.read_text, (out / "students").glob("*/record.json")))}


def gradebook_without_seconds(out):
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
    seconds = rows[0].index("seconds")
    return [row[:seconds] + row[seconds + 1 :] for row in rows]


def check_scores(report):
    return {(task["id"], check["name"]): check["score"] for task in report["tasks"] for check in task["checks"]}


@pytest.mark.slow
def test_every_submission_scores_in_grade_class_what_grader_grade_gives_it(alone, local_run):
    run, out = local_run
    assert not run.stopped and not run.no_sandbox
    found = records(out)
    assert set(found) == set(alone)
    for student, report in alone.items():
        if report is None:
            assert found[student]["status"] == "unreadable" and found[student]["reason"]
        else:
            assert found[student]["status"] == "graded"
            assert check_scores(found[student]["report"]) == check_scores(report), student
            assert found[student]["report"]["score"] == pytest.approx(report["score"]), student
    # the kinds differ, so the comparison compares something
    totals = {student: report and report["score"] for student, report in alone.items()}
    assert totals["correct"] == pytest.approx(18.0) and totals["comma, name"] == 0.0 and totals["unreadable"] is None
    assert 0 < totals["buggy"] < 18.0 and totals["infinite_loop"] == totals["os_exit"] == totals["memory_hog"] == 8.0
    assert totals["lying_subclass"] == totals["hostile_text"] == 8.0


@pytest.mark.slow
def test_the_gradebook_has_a_row_per_student_with_printable_ids_and_per_student_outputs(local_run):
    _, out = local_run
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))
    assert len(rows) == len(SUBMISSIONS) + 2 + len(HOSTILE_IDS)
    ids = {row["student"] for row in rows}
    assert {'\'=HYPERLINK("evil")', "comma, name", "ctrl\\x1b[2J\\rname"} <= ids
    assert all(row["isolation"] for row in rows if row["status"] == "graded")
    for record in records(out).values():
        folder = next(
            p.parent
            for p in (out / "students").glob("*/record.json")
            if json.loads(p.read_text())["student"] == record["student"]
        )
        assert (folder / "feedback.md").is_file()
        assert (folder / "report.json").is_file() == (record["status"] == "graded")
    assert (out / "summary.md").is_file() and (out / "summary.png").is_file()


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_gradebook_as_local_workers(mixed_class, local_run, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from grader.classroom.run import DaskCluster

    in_flight = []  # jobs handed to the scheduler and not yet collected, at each submission
    submit = DaskCluster._submit

    def counted(self, job, owner):
        future = submit(self, job, owner)
        in_flight.append(len(self._futures))
        return future

    monkeypatch.setattr(DaskCluster, "_submit", counted)
    _, local_out = local_run
    config = CONFIG
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        run = grade_class(
            mixed_class, tmp_path, config, DaskCluster(cluster.scheduler_address), progress_stream=io.StringIO()
        )
    assert not run.stopped and not run.no_sandbox
    assert gradebook_without_seconds(tmp_path) == gradebook_without_seconds(local_out)
    # A job carries its submission's bytes: at most two per worker are held at once, whatever the class.
    assert len(in_flight) > 4 and max(in_flight) == 2 * DaskCluster.WINDOW_PER_WORKER


class InProcess:
    """An executor that grades in this process and counts what it was given (for resume)."""

    description = "in process"

    def __init__(self):
        self.graded = []

    def results(self, jobs):
        for job in jobs:
            self.graded.append(job.student)
            yield grade_job(job)

    def close(self):
        pass


@pytest.mark.slow
def test_a_rerun_grades_only_what_changed(tmp_path):
    root = tmp_path / "class"
    for student in ("alice", "bob"):
        (root / student).mkdir(parents=True)
        write_notebook(root / student, *solution_cells())
    config, out = Config(tasks=TASKS[1:]), tmp_path / "out"
    first = InProcess()
    grade_class(root, out, config, first, progress_stream=io.StringIO())
    assert first.graded == ["alice", "bob"]
    again = InProcess()
    run = grade_class(root, out, config, again, progress_stream=io.StringIO())
    assert again.graded == [] and run.kept == 2
    assert {r["student"]: r["report"]["score"] for r in run.records} == {"alice": 8.0, "bob": 8.0}
    write_notebook(root / "bob", "def max_pool_forward_naive(x, pool_param):\n    raise NotImplementedError\n")
    (root / "carol").mkdir()
    write_notebook(root / "carol", *solution_cells())
    extended = InProcess()
    run = grade_class(root, out, config, extended, progress_stream=io.StringIO())
    assert extended.graded == ["bob", "carol"]
    assert {r["student"]: r["report"]["score"] for r in run.records} == {"alice": 8.0, "bob": 0.0, "carol": 8.0}
    other_config = InProcess()
    grade_class(root, out, Config(tasks=TASKS[1:], timeout=5.0), other_config, progress_stream=io.StringIO())
    assert other_config.graded == ["alice", "bob", "carol"]


def test_an_empty_class_writes_an_empty_gradebook_and_exits_0(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    assert cli.main(["grade-class", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "-j", "1"]) == cli.EXIT_OK
    assert (tmp_path / "out" / "gradebook.csv").read_text().count("\n") == 1
    assert "no submission found" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-j", "0"], ["--timeout", "0"], ["--tasks", "nope"]])
def test_bad_grade_class_options_are_usage_errors(tmp_path, capsys, argv):
    assert cli.main(["grade-class", str(tmp_path), "--out", str(tmp_path / "out"), *argv]) == cli.EXIT_USAGE
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_missing_class_folder_or_an_unusable_out_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["grade-class", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
    (tmp_path / "file").write_text("x")
    assert cli.main(["grade-class", str(tmp_path), "--out", str(tmp_path / "file")]) == cli.EXIT_USAGE
    assert [len(line) > 0 for line in capsys.readouterr().err.strip().splitlines()] == [True, True]


def test_a_worker_that_dies_costs_its_submission_a_row_and_the_class_goes_on(tmp_path):
    from grader.classroom.run import Job

    config = Config(tasks=TASKS[1:])
    solved = write_notebook(tmp_path, *solution_cells()).read_bytes()  # grading it takes about a second
    jobs = [
        Job(
            student=student,
            files=(("a.ipynb", content),),
            single_file=True,
            shown_root=str(tmp_path),
            key=student,
            config=config,
        )
        for student, content in (("first", b"{}"), ("second", solved), ("third", solved))
    ]
    pool = LocalPool(2)
    try:
        results = pool.results(jobs)
        first = next(results)  # unreadable at once; meanwhile the other worker grades "second"
        for process, _ in list(pool._workers.values()):
            os.kill(process.pid, signal.SIGKILL)
        rest = list(results)
    finally:
        pool.close()
    assert (first.student, first.status) == ("first", "unreadable")
    assert sorted((g.student, g.status) for g in rest) == [("second", "error"), ("third", "error")]
    assert all("died" in g.reason for g in rest)


def descendants(pid):
    """Pids of every live descendant of ``pid``."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sandbox_processes(grader_pids):
    """Processes carrying a sandbox token made by one of ``grader_pids`` (the token starts with its pid)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(b"GRADER_SANDBOX_TOKEN="):
                if int(variable.split(b"=", 1)[1].split(b"-")[0]) in grader_pids:
                    found.append(int(entry))
    return found


def alive(pid):
    """Whether ``pid`` runs (a zombie waiting for init to reap it runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    return None


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_leaves_no_process_and_keeps_what_was_graded(tmp_path, signum):
    root, out = tmp_path / "class", tmp_path / "out"
    make_submission(root / "a_correct", "correct")
    for student in ("b_loop", "c_loop", "d_loop"):
        make_submission(root / student, "infinite_loop")
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "grade-class",
            str(root),
            "--out",
            str(out),
            "-j",
            "2",
            "--tasks",
            TASKS[0],
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def graded():
            return (out / "students" / "a_correct" / "record.json").is_file()

        assert wait_until(graded, 60), "the correct submission was not graded"
        seen = set()

        def hanging():  # both workers now run a looping submission's sandbox
            seen.update(descendants(run.pid))
            return len({p for p in sandbox_processes(seen | {run.pid})}) and len(seen) > 2

        assert wait_until(hanging, 30)
        seen.update(descendants(run.pid))
        run.send_signal(signum)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signum, err
    assert b"Traceback" not in err
    assert b"interrupted: stopping the gradings in progress" in err  # said at once, before the workers stop
    assert wait_until(lambda: not sandbox_processes(seen | {run.pid}) or None, 10)
    assert wait_until(lambda: not [pid for pid in seen if alive(pid)] or None, 10)
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    kept = json.loads((out / "students" / "a_correct" / "record.json").read_text())
    assert rows["a_correct"]["status"] == kept["status"] == "graded"
    assert float(rows["a_correct"]["total"]) == pytest.approx(kept["report"]["score"]) and kept["report"]["score"] > 0
    assert {rows[s]["status"] for s in ("b_loop", "c_loop", "d_loop")} == {"pending"}


class Scripted:
    """An executor that answers each job with a made-up result (no grading): for exit statuses."""

    description = "scripted"

    def __init__(self, answer):
        self.answer, self.given = answer, []

    def __call__(self, workers):  # stands in for LocalPool(workers)
        return self

    def results(self, jobs):
        for job in jobs:
            self.given.append(job.student)
            yield self.answer(job)

    def close(self):
        pass


def scored(total):
    from grader.report import CheckResult, Report, TaskResult

    check = CheckResult("public case", total, 10.0, total == 10.0, "ok" if total == 10.0 else "wrong")

    def answer(job):
        from grader.classroom.run import Graded

        report = Report(
            submission="s",
            grader_version="t",
            isolation="test",
            tasks=(TaskResult(TASKS[0], "failed", (check,), 10.0),),
        )
        return Graded(student=job.student, key=job.key, status="graded", report=report, isolation="test")

    return answer


def small_class(root, students=("alice", "bob", "carol")):
    for student in students:
        (root / student).mkdir(parents=True)
        write_notebook(root / student, "x = 1\n")
    return root


def test_a_total_below_fail_under_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("grader.classroom.run.LocalPool", Scripted(scored(4.0)))
    argv = ["grade-class", str(small_class(tmp_path / "class")), "--out", str(tmp_path / "out"), "--tasks", TASKS[0]]
    assert cli.main([*argv, "--fail-under", "5"]) == cli.EXIT_BELOW_BAR
    assert cli.main([*argv, "--fail-under", "4"]) == cli.EXIT_OK
    assert "4.00" in (tmp_path / "out" / "gradebook.csv").read_text()


def test_a_sandbox_that_cannot_start_stops_the_run_with_exit_3(tmp_path, monkeypatch, capsys):
    from grader.classroom.run import NO_SANDBOX, Graded

    scripted = Scripted(
        lambda job: Graded(student=job.student, key=job.key, status=NO_SANDBOX, reason="bwrap: no namespaces")
    )
    monkeypatch.setattr("grader.classroom.run.LocalPool", scripted)
    status = cli.main(["grade-class", str(small_class(tmp_path / "class")), "--out", str(tmp_path / "out")])
    assert status == cli.EXIT_NO_SANDBOX and scripted.given == ["alice"]
    assert "bwrap: no namespaces" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "gradebook.csv").read_text())))
    assert [row["status"] for row in rows] == [NO_SANDBOX, "pending", "pending"]
    assert not list((tmp_path / "out" / "students").glob("*/record.json"))  # a rerun grades all of them


def test_what_a_submission_printed_or_raised_reaches_every_class_output_escaped_and_bounded(local_run):
    run, out = local_run
    files = [out / "gradebook.csv", out / "summary.md"] + sorted((out / "students").rglob("*.*"))
    hostile = [f for f in files if "hostile_text" in str(f)]
    assert {f.name for f in hostile} >= {"report.json", "feedback.md", "record.json"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not any(raw in text for raw in RAW_CONTROLS), path
        outside_code = FENCED.sub("", text) if path.suffix == ".md" else text
        assert path.suffix == ".json" or RAW_MARKUP not in outside_code, path
    report = json.loads((hostile[0].parent / "report.json").read_text())
    conv = report["tasks"][0]
    assert conv["id"] == "conv_forward_naive" and conv["score"] == 0
    assert "=SUM(A1)" in conv["checks"][0]["message"] and "\\x1b" in conv["checks"][0]["message"]
    assert all(f.stat().st_size < 400_000 for f in hostile)  # a megabyte message and 240 kB of prints, bounded
