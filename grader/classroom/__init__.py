"""Grade a whole class: discover -> grade each submission (local pool or Dask) -> per-student outputs ->
gradebook, summary.

``grade_class`` maps ``grader.pipeline.grade`` over the submissions of a class folder; one submission is
graded exactly as ``grader grade`` grades it. Outputs in OUT:

- ``students/<name>/report.json`` (the JSON report), ``feedback.md`` or ``.html``, ``record.json`` (resume);
- ``gradebook.csv`` (and ``gradebook-canvas.csv`` or ``-moodle.csv`` on request), ``summary.md``,
  ``summary.png`` (with matplotlib).
"""

import contextlib
import dataclasses
import json
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from grader.boundary import printable
from grader.classroom import gradebook, resume, summary
from grader.classroom.discover import discover
from grader.classroom.feedback import feedback, graded_notebook
from grader.classroom.progress import Progress, say_now
from grader.classroom.run import ERROR, NO_SANDBOX, PENDING, Graded, prepare_job
from grader.config import Config

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
    graded_now: int = 0
    """Submissions graded in this run (their report and feedback written)."""
    rewritten: int = 0
    """Kept submissions whose report and feedback were written again (other output options, or files gone)."""
    feedback_form: str = "md"
    """The format of the feedback written."""

    def below(self, bar):
        """Students whose total is below ``bar`` (one not graded counts as 0)."""
        return [r for r in self.records if (r["report"] or {}).get("score", 0.0) < bar]

    def summary_text(self):
        """The summary for a terminal, or one line when no submission has a report (no mean over nobody)."""
        if self.summary.graded:
            return summary.text(self.summary, markdown=False)
        return f"no submission graded: {len(self.records)} without a report (see the gradebook's status and reason)"

    def wrote(self, out_dir):
        """One line naming what this run wrote, and only that."""
        written = self.graded_now + self.rewritten
        per_student = (
            f"feedback ({self.feedback_form}) and a record for {written} student(s)"
            if written
            else "no student's feedback (none was graded or written again)"
        )
        note = f"; {self.summary_note}" if self.summary_note else ""
        return f"wrote {printable(str(Path(out_dir) / 'gradebook.csv'))}, summary.md; {per_student}{note}"


def grade_class(
    class_dir: str | Path,
    out_dir: str | Path,
    config: Config,
    executor: "LocalPool | DaskCluster",
    feedback_form: str = "md",
    fail_under: float | None = None,
    progress_stream: TextIO | None = None,
    lms_gradebook: str | None = None,
) -> "ClassRun":
    """Grade every submission of ``class_dir`` into ``out_dir``; raises SubmissionError if the class folder
    cannot be read. The executor (run.LocalPool or run.DaskCluster) is closed before this returns.
    lms_gradebook: also write the gradebook in that LMS's import layout (gradebook.LMS_LAYOUTS)."""
    out_dir = Path(out_dir)
    folder = discover(class_dir, exclude=[out_dir])
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {"feedback": feedback_form}
    stop = _Stop(progress_stream or sys.stderr)
    records: dict[str, dict] = {}
    tally, progress, no_sandbox = Tally(feedback_form), None, ""
    with stop.installed():
        try:
            submissions = {submission.student: submission for submission in folder.submissions}
            jobs = _sorted_out(folder, config, out_dir, outputs, records, tally, class_dir)
            progress = stop.progress = Progress(len(jobs), skipped=tally.kept, stream=progress_stream)
            for graded in executor.results(jobs):
                with _signals_held():
                    records[graded.student] = _keep(
                        out_dir, graded, outputs, submissions.get(graded.student), class_dir
                    )
                tally.graded += 1
                progress.update(graded.student, _outcome(graded), _failed(graded, fail_under))
                if graded.status == NO_SANDBOX:
                    no_sandbox = graded.reason
                    break
        except Stopped:
            pass
        finally:
            stop.raising = False
            _close(executor, stop)
        for submission in folder.submissions:
            records.setdefault(submission.student, resume.pending_record(submission.student))
        tally.pending = sum(r["status"] == PENDING for r in records.values())
        (progress or Progress(0, stream=progress_stream)).finish(tally.line(stop.signum))
        stop.finishing = True
        stopped = stop.signum
        try:
            stop.raising = True
            run = _write_class(out_dir, config, folder, records, tally.kept, stopped, no_sandbox, lms_gradebook)
        except Stopped:  # a second Ctrl-C while the class files are written: the records are all kept
            ordered = tuple(sorted(records.values(), key=lambda r: r["student"]))
            run = ClassRun(ordered, summary.summarize(ordered, config.tasks), tally.kept, folder.ignored, stopped)
            run = dataclasses.replace(run, summary_note="the gradebook and summary may be out of date: interrupted")
        finally:
            stop.raising = False
    return dataclasses.replace(run, graded_now=tally.graded, rewritten=tally.rewritten, feedback_form=feedback_form)


def _sorted_out(folder, config, out_dir, outputs, records, tally, class_dir=None):
    """The jobs to grade. A submission that cannot be read gets its row now; one graded under the same key
    in an earlier run keeps its record, its files written again when the output options changed or they
    are gone (no grading: see resume.outputs_current)."""
    jobs = []
    for submission in folder.submissions:
        item = _prepared(submission, config)
        if isinstance(item, Graded):
            records[item.student] = _keep(out_dir, item, outputs, submission, class_dir)
            tally.graded += 1
        elif (kept := resume.kept_record(out_dir, item.student, item.key)) is not None:
            if not resume.outputs_current(out_dir, kept, outputs):
                with _signals_held():
                    kept = _keep(out_dir, resume.graded_of(kept), outputs, submission, class_dir)
                tally.rewritten += 1
            records[item.student] = kept
            tally.kept += 1
        else:
            jobs.append(item)
    return jobs


@dataclass
class Tally:
    """What a class run did with each submission, for the line that says so."""

    feedback_form: str
    graded: int = 0
    """Submissions graded in this run (an unreadable one included)."""
    kept: int = 0
    """Submissions unchanged since an earlier run, their record kept."""
    rewritten: int = 0
    """Kept submissions whose report and feedback were written again (other options, or files gone)."""
    pending: int = 0
    """Submissions not graded: the run was stopped first."""

    def line(self, signum):
        """'graded 3, kept 9, feedback rewritten for 9 (format html)', and what a stop left."""
        counts = [f"{'regraded' if self.kept else 'graded'} {self.graded}"]
        counts += [f"kept {self.kept}"] if self.kept else []
        counts += [f"feedback rewritten for {self.rewritten} (format {self.feedback_form})"] if self.rewritten else []
        counts += [f"not graded {self.pending} (a rerun grades them)"] if self.pending else []
        line = ", ".join(counts)
        if not signum:
            return line
        kept = "nothing was graded in this run" if not self.graded else "what was graded is kept"
        return f"stopped by signal {signum} ({signal.Signals(signum).name}): {kept}; {line}"


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


def _keep(out_dir, graded, outputs, submission=None, class_dir=None):
    """Write one student's outputs (report, feedback, record), each atomically; the record.
    outputs: the options they are written with ({"feedback": "md" or "html"}), kept in the record;
    submission: the student's discovered Submission, whose notebook the HTML feedback annotates (None: the
    page is built from the report); class_dir: the class folder, the root of the paths a student is shown."""
    record = resume.record_of(graded, outputs)
    folder = resume.student_folder(out_dir, graded.student)
    folder.mkdir(parents=True, exist_ok=True)
    if graded.report is not None:
        resume.write_atomically(folder / "report.json", json.dumps(record["report"], indent=2) + "\n")
    form = outputs["feedback"]
    notebook = _annotated_notebook(submission, graded) if form == "html" else None
    try:
        text = feedback(graded.student, graded, form, notebook, class_dir)
    except Exception:  # one student's notebook never stops the class: the page of the report alone
        text = feedback(graded.student, graded, form, None, class_dir)
    resume.write_atomically(folder / f"feedback.{form}", text)
    resume.save_record(out_dir, record)
    return record


def _annotated_notebook(submission, graded):
    """The notebook of ``submission`` that its HTML feedback annotates (feedback.graded_notebook), or None."""
    if submission is None:
        return None
    root = submission.path if submission.path.is_dir() else submission.path.parent
    return graded_notebook(submission.notebooks, root, graded.report)


def _write_class(out_dir, config, folder, records, kept, stopped, no_sandbox, lms_gradebook=None):
    ordered = tuple(sorted(records.values(), key=lambda r: r["student"]))
    resume.write_atomically(out_dir / "gradebook.csv", gradebook.text(ordered, config.tasks))
    if lms_gradebook:
        names = {submission.student: submission.lms for submission in folder.submissions}
        lms_text = gradebook.lms_text(lms_gradebook, ordered, names, datetime.now())
        resume.write_atomically(out_dir / gradebook.lms_file_name(lms_gradebook), lms_text)
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


class _Stop:
    """Ctrl-C and SIGTERM during a class run (main thread only: elsewhere the caller's handlers stay).

    Each is acknowledged at once with a line. The first raises Stopped where the run is (preparing or
    grading): the gradings in progress are stopped (executor.close) and what was graded is kept. A second
    kills them at once (executor.kill). While the class files are written (``finishing``, a second or
    two) a first signal only says so, and a second raises Stopped there: every record is on disk already.
    Stopped is raised only where ``raising`` says it is caught, so a signal between two places cannot
    escape as a traceback."""

    def __init__(self, stream):
        self.stream = stream
        self.progress = None
        self.signum = 0
        self.hard = False
        self.raising = True
        self.finishing = False

    def handle(self, signum, frame):
        first = not self.signum
        self.signum = self.signum or signum
        self.hard = not first
        if self.hard:
            line = "interrupted again: stopping at once"
        elif self.finishing:
            line = "interrupted: writing the gradebook and summary first (Ctrl-C again to stop at once)"
        else:
            line = "interrupted: stopping the gradings in progress… (Ctrl-C again to stop at once)"
        if self.progress is not None:
            self.progress.interrupted(line)
        else:
            say_now(self.stream, line)
        if self.raising and (self.hard or not self.finishing):
            self.raising = False
            raise Stopped(signum)

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self.handle) for s in STOP_SIGNALS}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _close(executor, stop):
    """Stop the executor's gradings; a second signal, before or while they stop, kills them instead (at
    once, signals held: it is bounded and leaves no process, a worker's sandbox dying with it)."""
    interrupted = stop.hard
    if not interrupted:
        try:
            stop.raising = True
            executor.close()
        except Stopped:
            interrupted = True
        finally:
            stop.raising = False
    if interrupted:
        with _signals_held():
            getattr(executor, "kill", executor.close)()


@contextlib.contextmanager
def _signals_held():
    """A signal arriving while a student's outputs are written waits until they are."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
