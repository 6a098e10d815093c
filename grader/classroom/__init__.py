"""Grade a whole class: discover -> grade each submission (local pool or Dask) -> per-student outputs ->
gradebook, summary.

``grade_class`` maps ``grader.pipeline.grade`` over the submissions of a class folder; one submission is
graded exactly as ``grader grade`` grades it. Outputs in OUT:

- ``students/<name>/report.json`` (the JSON report), ``feedback.md`` or ``.html``, ``record.json`` (resume);
- ``gradebook.csv``, ``summary.md``, ``summary.png`` (with matplotlib).
"""

import contextlib
import json
import signal
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from grader.boundary import printable
from grader.classroom import gradebook, resume, summary
from grader.classroom.discover import discover
from grader.classroom.feedback import feedback
from grader.classroom.progress import Progress
from grader.classroom.run import ERROR, NO_SANDBOX, Graded, prepare_job
from grader.config import Config
from grader.render import to_json

if TYPE_CHECKING:
    from grader.classroom.run import DaskCluster, LocalPool


class Stopped(BaseException):
    """Ctrl-C or SIGTERM during a class run (a BaseException, like KeyboardInterrupt: library code that
    catches Exception while the signal arrives must not swallow it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True)
class ClassRun:
    """What a class run did."""

    records: tuple
    """One record per student (resume.record_of), sorted by student id."""
    summary: object
    """The summary.ClassSummary."""
    kept: int
    """Submissions unchanged since an earlier run, not graded again."""
    ignored: tuple
    """Top-level files of the class folder that are no notebook."""
    stopped: int = 0
    """The signal that stopped the run, or 0."""
    no_sandbox: str = ""
    """Why student code could not run on this machine (the run stopped), or ''."""
    summary_note: str = ""
    """Why summary.png was not drawn, or ''."""

    def below(self, bar):
        """Students whose total is below ``bar`` (one not graded counts as 0)."""
        return [r for r in self.records if (r["report"] or {}).get("score", 0.0) < bar]


def grade_class(
    class_dir: str | Path,
    out_dir: str | Path,
    config: Config,
    executor: "LocalPool | DaskCluster",
    feedback_form: str = "md",
    fail_under: float | None = None,
    progress_stream: TextIO | None = None,
) -> "ClassRun":
    """Grade every submission of ``class_dir`` into ``out_dir``; raises SubmissionError if the class folder
    cannot be read. The executor (run.LocalPool or run.DaskCluster) is closed before this returns."""
    out_dir = Path(out_dir)
    folder = discover(class_dir, exclude=[out_dir])
    out_dir.mkdir(parents=True, exist_ok=True)
    records, jobs, kept = {}, [], 0
    for item in (_prepared(s, config) for s in folder.submissions):
        if isinstance(item, Graded):
            records[item.student] = _keep(out_dir, item, feedback_form)
        elif (kept_record := resume.kept_record(out_dir, item.student, item.key)) is not None:
            records[item.student], kept = kept_record, kept + 1
        else:
            jobs.append(item)
    progress = Progress(len(jobs), skipped=kept, stream=progress_stream)
    stopped, no_sandbox = 0, ""
    try:
        with _stop_on_signals():
            for graded in executor.results(jobs):
                with _signals_held():
                    records[graded.student] = _keep(out_dir, graded, feedback_form)
                progress.update(graded.student, _outcome(graded), _failed(graded, fail_under))
                if graded.status == NO_SANDBOX:
                    no_sandbox = graded.reason
                    break
    except Stopped as exc:
        stopped = exc.signum
    finally:
        with _signals_ignored():
            executor.close()
    progress.finish(f"stopped by signal {stopped}: what was graded is kept" if stopped else "")
    for job in jobs:
        records.setdefault(job.student, resume.pending_record(job.student))
    return _write_class(out_dir, config, folder, records, kept, stopped, no_sandbox)


def _prepared(submission, config):
    """prepare_job, where any failure costs this submission its row only (with the reason), not the class."""
    try:
        return prepare_job(submission, config, resume.submission_key)
    except Exception as exc:  # a grader bug on this submission: loud in its row
        detail = printable("".join(traceback.format_exception_only(type(exc), exc)).strip())
        return Graded(
            student=submission.student,
            key="",
            status=ERROR,
            reason=f"internal grader error while reading it, please report it: {detail}",
        )


def _keep(out_dir, graded, feedback_form):
    """Write one student's outputs (report, feedback, record), each atomically; the record."""
    record = resume.record_of(graded)
    folder = resume.student_folder(out_dir, graded.student)
    folder.mkdir(parents=True, exist_ok=True)
    if graded.report is not None:
        resume.write_atomically(folder / "report.json", json.dumps(to_json(graded.report), indent=2) + "\n")
    resume.write_atomically(folder / f"feedback.{feedback_form}", feedback(graded.student, graded, feedback_form))
    resume.save_record(out_dir, record)
    return record


def _write_class(out_dir, config, folder, records, kept, stopped, no_sandbox):
    ordered = tuple(sorted(records.values(), key=lambda r: r["student"]))
    resume.write_atomically(out_dir / "gradebook.csv", gradebook.text(ordered, config.tasks))
    class_summary = summary.summarize(ordered, config.tasks)
    resume.write_atomically(out_dir / "summary.md", summary.text(class_summary) + "\n")
    note = summary.draw(class_summary, out_dir / "summary.png") if class_summary.graded else ""
    return ClassRun(
        records=ordered,
        summary=class_summary,
        kept=kept,
        ignored=folder.ignored,
        stopped=stopped,
        no_sandbox=no_sandbox,
        summary_note=note or "",
    )


def _outcome(graded):
    if graded.report is None:
        return f"{graded.status}: {graded.reason}"
    return f"{graded.report.score:.1f} / {graded.report.max_score:.1f}"


def _failed(graded, fail_under):
    if graded.report is None:
        return True
    return fail_under is not None and graded.report.score < fail_under


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _stop_on_signals():
    """Ctrl-C and SIGTERM raise Stopped in the loop (main thread only: elsewhere the caller's handlers stay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _signals_held():
    """A signal arriving while a student's outputs are written waits until they are."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def _signals_ignored():
    """Stopping the workers is not interrupted by a second Ctrl-C: it is bounded and leaves no process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
