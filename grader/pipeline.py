"""The path a submission takes: find notebooks -> extract definitions -> run in a child -> check -> report."""

import time
import traceback
from dataclasses import replace
from pathlib import Path

from grader import __version__
from grader.boundary import FRAGMENT_LIMIT, printable, printable_block, printable_items
from grader.config import Config
from grader.discover import load_submission
from grader.extract import extract
from grader.report import Kind, Report
from grader.runtime import runtime_versions
from grader.sandbox.session import OUTPUT_PER_TASK, Limits, SandboxUnavailable, Session
from grader.scoring import task_result, unavailable
from grader.tasks import TASKS, catalogue
from grader.tasks.base import TaskContext


def grade(path, config=None):
    """Grade the submission at ``path`` (a notebook or a folder); raises SubmissionError if unreadable."""
    config = config or Config()
    start = time.perf_counter()
    limits = Limits(
        memory_bytes=config.memory_bytes,
        file_bytes=config.file_bytes,
        processes=config.processes,
        cpu_seconds=config.cpu_seconds,
    )
    with Session(limits=limits, timeout=config.timeout, use_bwrap=config.use_bwrap) as session:
        session.launch()  # the template starts on another core while the notebooks are read
        notebooks, notes = load_submission(path)
        extraction = extract(notebooks)
        names = _names_within(path, [notebook.path for notebook in notebooks])
        session.define(extraction.cells)
        context = TaskContext(session=session, config=config)
        results = tuple(
            _with_source(_grade_task(TASKS[task_id], context, extraction), extraction, names)
            for task_id in config.tasks
        )
        notes = (
            printable_items(notes) + _conflict_notes(config.tasks, extraction, names) + _load_notes(session.load_errors)
        )
        isolation = session.isolation_used
    return Report(
        submission=str(path),
        tasks=results,
        grader_version=__version__,
        isolation=isolation,
        notes=notes,
        seconds=time.perf_counter() - start,
        notebooks=tuple(names.values()),
        runtime=runtime_versions(),
    )


def _names_within(path, notebook_paths):
    """Notebook path -> its name within the submission: its path relative to the submitted folder."""
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    return {p: str(p.relative_to(root)) if p.is_relative_to(root) else p.name for p in notebook_paths}


def _with_source(result, extraction, names):
    """The task's result, saying which notebook its graded definition came from (the rule: grader.extract)."""
    name = TASKS[result.id].definition
    source = extraction.sources.get(name)
    if source is None or name in extraction.syntax_errors:  # nothing of it was graded
        return result
    return replace(result, source=names.get(source, source.name))


def _conflict_notes(task_ids, extraction, names):
    """One note per task defined differently in two notebooks, saying which definition was graded."""
    notes = []
    for task_id in task_ids:
        name = TASKS[task_id].definition
        if name in extraction.conflicts:
            graded = names.get(extraction.sources[name], "?")
            others = ", ".join(names.get(path, path.name) for path in extraction.conflicts[name])
            notes.append(
                f"{task_id}: different definitions of {name} in {others} and {graded}; graded: the one in "
                f"{graded} (the last notebook in sorted path order)"
            )
    return printable_items(notes)


def _grade_task(task, context, extraction):
    weight = context.config.weight(task.id)
    name = task.definition
    if name in extraction.syntax_errors:
        return unavailable(
            task.id, weight, "error", "definition", f"{name} does not parse: {extraction.syntax_errors[name]}"
        )
    if name not in extraction.defined:
        return unavailable(task.id, weight, "missing", "definition", f"{name} is not defined in the submission")
    try:
        return _grade_defined_task(task, context, weight)
    except SandboxUnavailable:
        raise  # the machine, not the submission: no grade at all rather than a wrong one
    except Exception as exc:  # a grader bug, or a child reply the checks did not foresee: costs this task only
        detail = printable("".join(traceback.format_exception_only(type(exc), exc)).strip())
        return unavailable(
            task.id, weight, "error", "grading", f"internal grader error, please report it: {detail}", kind=Kind.GRADING
        )


def _grade_defined_task(task, context, weight):
    session, name = context.session, task.definition
    session.begin_task(task.id)  # a fresh fork: nothing an earlier task's code left behind
    failure = session.ensure_loaded()
    if failure is not None:
        return unavailable(
            task.id, weight, "timeout" if failure.error_kind == "timeout" else "error", "definition", failure.message
        )
    if name not in session.defined:
        error = _load_error_for(name, session)
        status = "timeout" if error and error.get("kind") == "timeout" else "error"
        return unavailable(task.id, weight, status, "definition", _describe_load_error(name, error))
    outcomes = catalogue.diagnosed(task, context)  # task.grade(context), its diagnoses weighed over the task
    return task_result(task.id, weight, outcomes, output=printable_block(session.take_output(), OUTPUT_PER_TASK))


def _load_error_for(name, session):
    """The load error of the statement that should have defined ``name``, or None."""
    for error in session.load_errors:
        if isinstance(error.get("defines"), list) and name in error["defines"]:
            return error
    return None


def _describe_load_error(name, error):
    if error is None:
        return f"{name} was not defined when your definitions were loaded (a statement before it failed?)"
    return f"defining {name} failed at {_where_and_what(error)}"


def _load_notes(errors):
    """One note per statement that failed to load, at most boundary.MAX_ITEMS: the last counts the rest.
    An import of a module the sandbox does not hold (matplotlib, say) is no note: graded code that uses
    it fails with a NameError that names the failed import."""
    loud = [error for error in errors if not error.get("quiet")]
    return printable_items([_where_and_what(error) for error in loud], more="more statements failed to load")


def _where_and_what(error):
    """'<cell> line 3: ValueError: message' from a load error, each piece of student text bounded."""
    where, kind, message = (printable(error.get(key), FRAGMENT_LIMIT) for key in ("filename", "type", "message"))
    return f"{where} line {printable(error.get('line'), FRAGMENT_LIMIT)}: {kind}: {message}"
