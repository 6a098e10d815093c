"""grade-class reruns, files and signals: a changed output option rewrites the outputs from the kept records
without grading; files follow the umask; honest lines when nothing was graded; Ctrl-C acknowledged at once
and a second one stops at once; no Dask traceback on a clean finish; no instructor's path in a student's files."""

import io
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.classroom import grade_class, resume
from grader.classroom.discover import discover
from grader.classroom.run import Graded, grade_job, prepare_job
from grader.config import Config
from grader.report import CheckResult, Report, TaskResult
from notebooks import write_notebook

ROOT = Path(__file__).parent.parent
TASK = "conv_forward_naive"
CONFIG = Config(tasks=(TASK,))


def made_up(job):
    """A graded result without grading: one failed check with a diagnosis, one passed."""
    checks = (
        CheckResult("public case", 4.0, 4.0, True, "ok", kind="public"),
        CheckResult("hidden case: pad 2", 0.0, 6.0, False, "out: worst element 0.5", diagnosis="Pad ignored."),
    )
    report = Report(
        submission=job.shown_root,
        grader_version="t",
        isolation="test",
        tasks=(TaskResult(TASK, "failed", checks, 10.0),),
    )
    return Graded(student=job.student, key=job.key, status="graded", report=report, isolation="test", worker="w")


class Counting:
    """An executor that answers with made_up and counts what it was given."""

    description = "made up"

    def __init__(self):
        self.given = []

    def results(self, jobs):
        for job in jobs:
            self.given.append(job.student)
            yield made_up(job)

    def close(self):
        pass


def small_class(root, students=("alice", "bob", "carol")):
    for student in students:
        (root / student).mkdir(parents=True)
        write_notebook(root / student, "x = 1\n")
    return root


def run(root, out, form="md", executor=None):
    stream = io.StringIO()
    executor = executor or Counting()
    result = grade_class(root, out, CONFIG, executor, feedback_form=form, progress_stream=stream)
    return result, executor.given, stream.getvalue()


def student_files(out, name):
    return {p.name for p in (out / "students").glob("*/*") if p.is_file() and name in p.name}


def test_a_changed_feedback_format_rewrites_each_kept_students_feedback_without_grading(tmp_path):
    root, out = small_class(tmp_path / "class"), tmp_path / "out"
    _, given, _ = run(root, out, "md")
    assert given == ["alice", "bob", "carol"]
    result, given, said = run(root, out, "html")
    assert given == [] and result.kept == 3 and result.rewritten == 3
    assert "regraded 0, kept 3, feedback rewritten for 3 (format html)" in said
    folders = sorted((out / "students").iterdir())
    assert all((folder / "feedback.html").is_file() for folder in folders)
    assert all(
        json.loads((folder / "record.json").read_text())["outputs"] == {"feedback": "html"} for folder in folders
    )
    # what a rewrite writes from the record is what grading writes
    fresh_out = tmp_path / "fresh"
    run(root, fresh_out, "html")
    for folder in folders:
        assert (folder / "feedback.html").read_text() == (
            fresh_out / "students" / folder.name / "feedback.html"
        ).read_text()
        assert (folder / "report.json").read_text() == (
            fresh_out / "students" / folder.name / "report.json"
        ).read_text()
    result, given, said = run(root, out, "html")
    assert given == [] and result.rewritten == 0 and "regraded 0, kept 3\n" in said


def test_a_kept_submission_whose_files_are_gone_gets_them_written_again(tmp_path):
    root, out = small_class(tmp_path / "class"), tmp_path / "out"
    run(root, out)
    (out / "students" / "bob" / "feedback.md").unlink()
    (out / "students" / "carol" / "report.json").unlink()
    result, given, said = run(root, out)
    assert given == [] and result.rewritten == 2 and "feedback rewritten for 2 (format md)" in said
    assert (out / "students" / "bob" / "feedback.md").is_file() and (
        out / "students" / "carol" / "report.json"
    ).is_file()
    assert "feedback (md) and a record for 2 student(s)" in result.wrote(out)


def test_a_record_from_before_output_options_were_kept_is_kept_and_its_files_written_again(tmp_path):
    root, out = small_class(tmp_path / "class", ("alice",)), tmp_path / "out"
    run(root, out)
    path = out / "students" / "alice" / "record.json"
    record = json.loads(path.read_text())
    del record["outputs"]
    path.write_text(json.dumps(record))
    result, given, _ = run(root, out)
    assert given == [] and result.kept == 1 and result.rewritten == 1


@pytest.mark.parametrize(
    "mask, file_mode, folder_mode", [(0o002, 0o664, 0o775), (0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_output_files_and_folders_follow_the_umask(tmp_path, monkeypatch, mask, file_mode, folder_mode):
    monkeypatch.setattr(resume, "_UMASK", [])  # read again under this test's umask
    previous = os.umask(mask)
    try:
        root = small_class(tmp_path / "class")
        out = tmp_path / "out"
        run(root, out, "md")
        run(root, out, "html")  # the rewritten files too
    finally:
        os.umask(previous)
        resume._UMASK.clear()
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"gradebook.csv", "summary.md", "record.json", "report.json", "feedback.md", "feedback.html"} <= {
        p.name for p in files
    }
    assert {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == {
        p.relative_to(out).as_posix(): oct(file_mode) for p in files
    }
    folders = [out / "students", *(out / "students").iterdir()]
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {oct(folder_mode)}
    assert not [p for p in out.rglob(".*")]  # no temporary file left behind


def test_the_umask_is_read_without_being_changed():
    resume._UMASK.clear()
    previous = os.umask(0o027)
    try:
        assert resume.umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(previous)
        resume._UMASK.clear()


class StoppedAtOnce:
    """An executor interrupted (SIGINT to this process) before it answers anything."""

    description = "interrupted"
    given = ()

    def results(self, jobs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises in the main thread long before this ends
        yield from ()

    def close(self):
        pass


def test_a_run_stopped_before_anything_was_graded_says_so_and_claims_no_mean_nor_feedback(tmp_path):
    root, out = small_class(tmp_path / "class"), tmp_path / "out"
    result, _, said = run(root, out, executor=StoppedAtOnce())
    assert result.stopped == signal.SIGINT and result.graded_now == 0
    assert "interrupted: stopping the gradings in progress…" in said
    assert "stopped by signal 2 (SIGINT): nothing was graded in this run; graded 0, not graded 3" in said
    assert (
        "mean total" not in result.summary_text()
        and "no submission graded: 3 without a report" in result.summary_text()
    )
    assert "no student's feedback" in result.wrote(out)
    assert not list((out / "students").glob("*/feedback.*")) if (out / "students").exists() else True


SLOW_TO_STOP = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from grader.classroom import grade_class
    from grader.config import Config
    sys.path.insert(0, {tests!r})
    from test_classroom_reruns import made_up

    class SlowToStop:
        description = "slow to stop"
        def results(self, jobs):
            yield made_up(jobs[0])
            time.sleep(60)  # a grading in progress
        def close(self):
            time.sleep(60)  # stopping it takes long (a sandbox that will not die)
        def kill(self):
            print("killed", file=sys.stderr, flush=True)

    run = grade_class({root!r}, {out!r}, Config(tasks=({task!r},)), SlowToStop())
    print("returned", run.stopped, file=sys.stderr, flush=True)
    """
)


def lines_of(stream):
    """A queue of the lines of ``stream``, read by a thread."""
    found = queue.Queue()

    def read():
        for line in stream:
            found.put(line)
        found.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return found, reader


def wait_for(lines, text, seconds):
    """The seen lines up to the first that holds ``text`` (AssertionError if it does not come in time)."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} did not come within {seconds} s: {seen}")


def test_ctrl_c_is_acknowledged_at_once_and_a_second_stops_at_once(tmp_path):
    root, out = small_class(tmp_path / "class", ("alice", "bob")), tmp_path / "out"
    script = SLOW_TO_STOP.format(tests=str(Path(__file__).parent), root=str(root), out=str(out), task=TASK)
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines, reader = lines_of(process.stderr)
        wait_for(lines, "[1/2] alice", 60)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        wait_for(lines, "interrupted: stopping the gradings in progress…", 2)
        assert time.monotonic() - sent < 2
        process.send_signal(signal.SIGINT)  # while close() would take a minute
        rest = wait_for(lines, "returned 2", 5)
        assert time.monotonic() - sent < 5
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(10)
        process.stderr.close()
    said = "".join(rest)
    assert "interrupted again: stopping at once" in said and "killed" in said and "Traceback" not in said
    assert (out / "students" / "alice" / "feedback.md").is_file() and (out / "gradebook.csv").is_file()


def test_no_file_of_a_student_names_the_class_folder(tmp_path):
    root, out = tmp_path / "instructor" / "class", tmp_path / "out"
    (root / "dora").mkdir(parents=True)
    (root / "dora" / "submission.ipynb").write_bytes(b"\x00\xffnot a notebook")
    (root / "eve.ipynb").write_bytes(b"{not json")

    class InProcess(Counting):
        def results(self, jobs):
            for job in jobs:
                yield grade_job(job)  # an unreadable notebook is refused before any student code runs

    result, _, _ = run(root, out, executor=InProcess())
    reasons = {r["student"]: r["reason"] for r in result.records}
    assert reasons["dora"].startswith("dora/submission.ipynb is not a notebook")
    assert reasons["eve"].startswith("eve.ipynb is not a notebook")
    for path in (out / "students").rglob("*"):
        if path.is_file():
            assert str(tmp_path) not in path.read_text(), path


def test_a_job_names_its_submission_relative_to_the_class_folder(tmp_path):
    root = tmp_path / "class"
    small_class(root, ("alice",))
    write_notebook(root, "x = 1\n").rename(root / "bob.ipynb")
    jobs = {s.student: prepare_job(s, CONFIG, resume.submission_key) for s in discover(root).submissions}
    assert (jobs["alice"].shown_root, jobs["bob"].shown_root) == ("alice", "")
    from grader.classroom.run import _shown

    temp = "/tmp/grader-class-x/submission"
    assert _shown(f"{temp}/bob.ipynb is not a notebook", temp, "") == "bob.ipynb is not a notebook"
    assert _shown(f"no notebook in {temp}", temp, "alice") == "no notebook in alice"


@pytest.mark.slow
def test_a_clean_run_on_a_local_dask_cluster_logs_no_traceback(tmp_path):
    pytest.importorskip("distributed")
    root, out = small_class(tmp_path / "class", ("alice", "bob")), tmp_path / "out"
    write_notebook(root / "alice", "def conv_forward_naive(x, w, b, conv_param):\n    return None\n")
    cluster = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, distributed\n"
            "with distributed.LocalCluster(host='127.0.0.1', processes=True, n_workers=1, threads_per_worker=1,"
            " dashboard_address=None) as cluster:\n"
            "    print(cluster.scheduler_address, flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        address = cluster.stdout.readline().strip()
        graded = subprocess.run(
            [sys.executable, "-m", "grader.cli", "grade-class", str(root), "--out", str(out), "--scheduler", address]
            + ["--tasks", TASK, "--timeout", "10"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        time.sleep(1)  # what the scheduler logs after the client left
        _, cluster_log = cluster.communicate(input="", timeout=60)
    finally:
        if cluster.poll() is None:
            cluster.kill()
    assert graded.returncode == 0, graded.stderr
    assert "[2/2]" in graded.stderr
    for log in (graded.stderr, cluster_log):
        assert "Traceback" not in log and "CommClosedError" not in log, log


def test_html_feedback_annotates_the_students_own_notebook(tmp_path):
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    write_notebook(root / "alice", "def conv_forward_naive(x, w, b, conv_param):\n    return 'alices <own> code'\n")
    run(root, tmp_path / "out", form="html")
    page = (tmp_path / "out" / "students" / "alice" / "feedback.html").read_text()
    assert "alices &lt;own&gt; code" in page  # her cell, escaped, with the grade beside it
    assert "Pad ignored." in page
    assert str(tmp_path) not in page
