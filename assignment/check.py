"""``python -m assignment.check ConvolutionalNetworks.ipynb``: the notebook's public checks, headless, for CI.

It runs what the notebook's check cells run (``check(task_id, your_code)``, the same public cases and the
same expected values) without Jupyter: in a student's repository (GitHub Actions, GitHub Classroom, tox),
in a terminal before handing in. It prints one line per task and a total::

    conv_forward_naive          PASS
    conv_backward_naive         FAIL             public case: ...: dx: relative error 3.1e-01 > 1e-08
    max_pool_forward_naive      NOT IMPLEMENTED  max_pool_forward_naive is not implemented yet
    ...
    7 of 9 tasks pass (1 failed, 1 not implemented)

The notebook is read as JSON (the standard library only) and only its definitions are loaded, as the
grader loads them: imports, functions, classes and constants; experiment cells, prints and training runs are
not run. Each kept top-level statement runs on its own in one fresh namespace, in notebook order, so one that
fails costs only what it defines; a stub never replaces an implemented definition of the same name. Which
statements are definitions and which are stubs is ``assignment/definitions.py``, the very rule the grader
(``grader/extract.py``, which does not ship to students) loads by; a test of the project holds the two to
the same names on its notebooks.

Exit status: 0 when every task checked passes; 1 when one failed, raised, ran out of time or is not
implemented yet (an unwritten task is a failure: "all passed" means all nine, as the grade does; with
``--allow-missing`` untouched stubs are left out of the verdict, for CI while the work is in progress);
2 for a usage error (no such notebook, not a notebook, an unknown ``--task``).
"""

import argparse
import ast
import contextlib
import io
import json
import os
import re
import signal
import sys
from dataclasses import dataclass

from assignment import checks
from assignment.definitions import PRELUDE_IMPORTS, imported_names, is_definition, is_stub, names_defined, strip_magics
from assignment.tasks import TABLE, TASK_IDS

TASK_TIMEOUT = 120.0  # seconds per task: a correct solution's checks take about a second; an endless loop fails
LOAD_TIMEOUT = 120.0  # seconds to load the definitions (matplotlib's first import alone can take several)
MESSAGE_WIDTH = 160  # characters of a failure's message on a task's line (the full report: --verbose)
EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PASS, FAIL, ERROR, TIMEOUT, NOT_IMPLEMENTED = "PASS", "FAIL", "ERROR", "TIMEOUT", "NOT IMPLEMENTED"
_COUNTED = {FAIL: "failed", ERROR: "error", TIMEOUT: "timed out", NOT_IMPLEMENTED: "not implemented"}


class UsageError(Exception):
    """The command cannot run (exit status 2); the message is one line."""


@dataclass(frozen=True)
class TaskOutcome:
    """One task's verdict, as its line shows it."""

    task_id: str
    verdict: str
    """PASS, FAIL, ERROR (your code raised, or a definition failed to load), TIMEOUT or NOT IMPLEMENTED."""
    message: str = ""
    """The first failure, in one line; '' when it passed."""
    report: str = ""
    """What the notebook's check cell would print (shown with --verbose)."""


# -- the notebook's definitions ----------------------------------------------------------------------------


def code_cells(path):
    """(name, source) of every code cell of the notebook at ``path``, read as JSON (nbformat 4)."""
    try:
        with open(path, encoding="utf-8") as file:
            notebook = json.load(file)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{path}: not a notebook (not JSON); name the .ipynb file") from None
    if not isinstance(notebook, dict) or notebook.get("nbformat") != 4 or not isinstance(notebook.get("cells"), list):
        raise UsageError(f"{path}: not a notebook of format 4; open it in Jupyter and save it")
    cells = []
    for place, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append(
                (
                    f"<{os.path.basename(path)} cell {place}>",
                    "".join(source) if isinstance(source, list) else str(source),
                )
            )
    return cells


def definitions(cells):
    """The statements to load, in order: [(cell name, ast statement)], by the rule of the module's docstring."""
    parsed, imported = [], set(PRELUDE_IMPORTS)
    for name, source in cells:
        tree = _parse(source)
        if tree is not None:
            imported |= imported_names(tree)
            parsed += [(name, node) for node in tree.body if is_definition(node, imported)]
    implemented = {n for _, node in parsed if not is_stub(node) for n in names_defined(node)}
    return [(name, node) for name, node in parsed if not (is_stub(node) and node.name in implemented)]


def load(statements, namespace):
    """Run each statement in ``namespace``; name -> one line for each name whose statement raised."""
    failed = {}
    for cell, node in statements:
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), cell, "exec"), namespace)
        except Exception as exc:
            for name in names_defined(node):
                failed[name] = f"{cell} line {node.lineno}: {type(exc).__name__}: {_one_line(exc)}"
    return failed


def _parse(source):
    """The cell's module, with IPython magics and shell lines replaced by ``pass``; None if it does not parse."""
    for attempt in (source, strip_magics(source)):
        try:
            return ast.parse(attempt.replace("\0", ""))
        except SyntaxError:
            continue
    return None


# -- the checks ----------------------------------------------------------------------------------------------


class _OutOfTime(BaseException):
    """Raised in the student's code when its time is up: a BaseException, so that ``except Exception`` in the
    code (or in the checks, which turn exceptions into results) does not take it for the code's own error."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise :class:`_OutOfTime` in the running code after ``seconds`` (and again every second, should the code
    swallow it), where the platform has SIGALRM (Linux and macOS: GitHub's runners); elsewhere, no limit."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def out_of_time(signum, frame):
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_task(task, namespace, load_errors, timeout):
    """The :class:`TaskOutcome` of one task (an :class:`assignment.tasks.Task`) on the loaded definitions."""
    forward = TABLE[task.forward].definition if task.forward else None
    for name in (task.definition, forward):
        if name and name not in namespace:
            why = load_errors.get(name, f"the notebook defines no {name}: keep its cell and its name")
            return TaskOutcome(task.id, ERROR, why, why)
    try:
        with time_limit(timeout), contextlib.redirect_stdout(io.StringIO()):
            result = checks.check(task.id, namespace[task.definition], forward=namespace.get(forward), verbose=False)
    except _OutOfTime:
        why = f"still running after {timeout:g} s (an endless loop?); the public checks take about a second"
        return TaskOutcome(task.id, TIMEOUT, why, why)
    verdict = {checks.PASSED: PASS, checks.FAILED: FAIL, checks.NOT_IMPLEMENTED: NOT_IMPLEMENTED}.get(
        result.status, ERROR
    )
    return TaskOutcome(task.id, verdict, _first_failure(result), checks.render(result))


def _first_failure(result):
    """The first failed measurement, or why the check stopped; led by "fix <forward> first" when a backward
    pass is checked with a cache from a forward pass that fails its own check."""
    failed = next((m for m in result.measurements if not m.passed), None)
    if failed is not None:
        text = f"{failed.case}: {failed.quantity}: {failed.detail}"
    else:
        lines = result.message.splitlines()
        # A backward stopped by its unwritten forward: the last line says which forward to write first.
        text = lines[-1] if result.status == checks.NOT_IMPLEMENTED and len(lines) > 1 else "; ".join(lines)
    forward_first = re.match(r"fix (\w+) first:", result.hint)
    return _one_line(f"fix {forward_first.group(1)} first; {text}" if forward_first and text else text)


def _one_line(text, width=MESSAGE_WIDTH):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def run(notebook, task_ids, timeout=TASK_TIMEOUT):
    """Load the notebook's definitions and check the tasks ``task_ids``: a :class:`TaskOutcome` each."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # no display in CI: figures made while loading go nowhere
    namespace = {"__name__": "__notebook__"}
    statements = definitions(code_cells(notebook))
    try:
        with time_limit(LOAD_TIMEOUT), contextlib.redirect_stdout(io.StringIO()):
            load_errors = load(statements, namespace)
    except _OutOfTime:
        raise UsageError(f"{notebook}: loading its definitions took over {LOAD_TIMEOUT:g} s") from None
    return [check_task(TABLE[task_id], namespace, load_errors, timeout) for task_id in task_ids]


# -- the command -------------------------------------------------------------------------------------------


def exit_status(outcomes, allow_missing=False):
    """0 when every outcome passed (not-implemented ones aside with ``allow_missing``), else 1."""
    counted = [o for o in outcomes if not (allow_missing and o.verdict == NOT_IMPLEMENTED)]
    return EXIT_PASSED if all(o.verdict == PASS for o in counted) else EXIT_FAILED


def summary(outcomes, allow_missing=False):
    """The last line: how many passed, and of the others how many of each verdict."""
    others = {}
    for outcome in outcomes:
        if outcome.verdict != PASS:
            others[outcome.verdict] = others.get(outcome.verdict, 0) + 1
    passed = len(outcomes) - sum(others.values())
    line = f"{passed} of {len(outcomes)} task{'s' if len(outcomes) != 1 else ''} pass"
    if others:
        line += " (" + ", ".join(f"{count} {_COUNTED[verdict]}" for verdict, count in others.items()) + ")"
    if allow_missing and NOT_IMPLEMENTED in others:
        line += "; not implemented ones ignored (--allow-missing)"
    return line


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m assignment.check",
        description="Run the notebook's public checks (those of its check cells) without Jupyter; "
        "exit 0 when every task passes, 1 otherwise, 2 for a usage error.",
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the notebook, e.g. ConvolutionalNetworks.ipynb")
    parser.add_argument(
        "--task",
        action="append",
        metavar="ID[,ID...]",
        help=f"check only these tasks (repeatable; default: all {len(TASK_IDS)}): {', '.join(TASK_IDS)}",
    )
    parser.add_argument("--allow-missing", action="store_true", help="a task not implemented yet does not fail the run")
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=TASK_TIMEOUT,
        help=f"time limit of each task's checks (default: {TASK_TIMEOUT:g}; 0: none)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also print each check cell's full report")
    args = parser.parse_args(argv)
    args.task_ids = _task_ids(args.task, TASK_IDS)
    return args


def _task_ids(options, known):
    if not options:
        return tuple(known)
    wanted = [t.strip() for option in options for t in option.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in known]
    if unknown or not wanted:
        raise UsageError(f"unknown task id(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")
    return tuple(t for t in known if t in wanted)


def main(argv=None):
    try:
        args = parse_args(argv)
        outcomes = run(args.notebook, args.task_ids, args.timeout)
    except UsageError as exc:
        print(f"assignment.check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    width = max(len(o.task_id) for o in outcomes) + 2
    for outcome in outcomes:
        print(f"{outcome.task_id:<{width}}{outcome.verdict:<17}{outcome.message}".rstrip())
        if args.verbose and outcome.report:
            print("\n".join(f"    {line}" for line in outcome.report.splitlines()))
    print(summary(outcomes, args.allow_missing))
    return exit_status(outcomes, args.allow_missing)


if __name__ == "__main__":
    sys.exit(main())
