"""The ``grader`` command: argument parsing only; each subcommand calls one entry function."""
import argparse
import os
import signal
import sys
from pathlib import Path

from grader import __version__
from grader.boundary import printable
from grader.config import TASK_IDS, Config, check_data_dir
from grader.discover import SubmissionError
from grader.sandbox.child import SandboxUnavailable

EXIT_OK, EXIT_BELOW_BAR, EXIT_USAGE, EXIT_NO_SANDBOX = 0, 1, 2, 3


MIN_PROCESSES = 8  # bubblewrap and the worker take three; a submission needs a few more to run at all


class UsageError(Exception):
    """A command line that cannot be run (exit status 2)."""


def build_parser():
    parser = argparse.ArgumentParser(prog="grader", description="Grade submissions of the convolutional networks assignment.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    grade = commands.add_parser("grade", help="grade one submission (a notebook or a folder holding it)")
    grade.add_argument("path", help="a .ipynb file or a folder holding the submission's notebook(s)")
    grade.add_argument("--json", metavar="FILE", help="write the full report as JSON")
    grade.add_argument("--gradescope", metavar="FILE", help="write Gradescope's results.json")
    grade.add_argument("--tasks", metavar="ID[,ID...]", help="grade only these tasks")
    grade.add_argument("--fail-under", metavar="SCORE", type=float, help="exit with status 1 below this score")
    grade.add_argument("--data", metavar="DIR", help="a CIFAR-10 folder for the overfit check (default: embedded digits)")
    grade.add_argument("--timeout", metavar="SECONDS", type=float, default=Config.timeout, help="per call into student code")
    grade.add_argument("--memory", metavar="MIB", type=int, default=Config.memory_bytes >> 20,
                       help="address-space limit of the process running student code")
    grade.add_argument("--processes", metavar="N", type=int, default=Config.processes,
                       help="processes student code may run at once")
    grade.add_argument("-q", "--quiet", action="store_true", help="print only the table, no per-check details")
    solve = commands.add_parser("solve", help="write the reference solutions into a stub notebook's task cells")
    solve.add_argument("notebook", help="the stub notebook, e.g. notebooks/ConvolutionalNetworks.ipynb")
    solve.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the solved notebook")
    return parser


def config_from(args):
    tasks = TASK_IDS
    if args.tasks is not None:
        tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        if not tasks:
            raise UsageError(f"--tasks {args.tasks!r} names no task; known: {', '.join(TASK_IDS)}")
        unknown = [t for t in tasks if t not in TASK_IDS]
        if unknown:
            raise UsageError(f"unknown task id(s) {', '.join(unknown)}; known: {', '.join(TASK_IDS)}")
        tasks = tuple(t for t in TASK_IDS if t in tasks)
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    if args.memory < 256 or args.processes < MIN_PROCESSES:
        raise UsageError(f"--memory must be at least 256 (MiB) and --processes at least {MIN_PROCESSES}")
    return Config(tasks=tasks, timeout=args.timeout, data_dir=_data_dir(args.data), memory_bytes=args.memory << 20,
                  processes=args.processes)


def _data_dir(folder):
    """The checked CIFAR-10 folder of ``--data``, or None: checked before any student code runs."""
    from assignment.data import CIFAR10FolderError

    if folder is None:
        return None
    try:
        return check_data_dir(folder)
    except CIFAR10FolderError as exc:
        raise UsageError(f"--data: {exc}") from None


def run_grade(args):
    from grader import render
    from grader.pipeline import grade

    outputs = {option: path for option, path in (("--json", args.json), ("--gradescope", args.gradescope)) if path}
    _check_outputs(outputs)  # before grading: a report that cannot be written must not cost a grading run
    report = grade(args.path, config_from(args))
    # The reports before the table: whatever happens to the terminal, they are written.
    if args.json:
        _write(render.write_json, render.to_json(report), "--json", args.json)
    if args.gradescope:
        _write(render.write_json, render.to_gradescope(report), "--gradescope", args.gradescope)
    _print(render.table(report, verbose=not args.quiet))
    if args.fail_under is not None and report.score < args.fail_under:
        return EXIT_BELOW_BAR
    return EXIT_OK


def run_solve(args):
    from grader.solve import StubCellNotFound, UnreadableNotebook, solve

    if not Path(args.notebook).is_file():
        raise UsageError(f"{args.notebook}: no such notebook")
    _check_outputs({"-o": args.output})
    try:
        path = solve(args.notebook, args.output)
    except (StubCellNotFound, UnreadableNotebook) as exc:
        raise UsageError(str(exc)) from None
    _print(f"wrote {printable(path)}")
    return EXIT_OK


def _check_outputs(outputs):
    """UsageError unless every path of ``outputs`` (option -> path) names a distinct file that can be written."""
    seen = {}
    for option, path in outputs.items():
        problem = _unwritable(Path(path))
        if problem:
            raise UsageError(f"{option} {path}: {problem}")
        other = seen.setdefault(Path(path).resolve(), option)
        if other != option:
            raise UsageError(f"{other} and {option} name the same file {path}")


def _unwritable(path):
    """Why no file can be written at ``path``, or '': tried by opening it for appending (nothing is
    truncated; a file that did not exist is removed again)."""
    if path.is_dir():
        return "is a folder; name a file"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    existed = os.path.lexists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    if not existed:
        path.unlink(missing_ok=True)
    return ""


def _write(write, data, option, path):
    """``write(data, path)``; a failure (the disk filled up since the check) is a one-line UsageError."""
    try:
        write(data, path)
    except OSError as exc:
        raise UsageError(f"{option} {path}: could not write the report ({exc.strerror or exc})") from None


def _print(text, stream=None):
    """Print ``text`` without ever raising: what the stream's encoding cannot hold is backslash-escaped, and
    a closed pipe or a full disk costs the printing only."""
    stream = stream or sys.stdout
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding, "replace"))
        stream.flush()
    except BrokenPipeError:
        _silence(stream)
    except (OSError, ValueError, LookupError):  # a closed or failing stream, an unknown encoding
        pass


def _silence(stream):
    """Point a stream whose reader went away at /dev/null, so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _terminated(signum, frame):
    """SIGTERM ends the run like Ctrl-C: cleanup code runs, so no process of a submission stays behind."""
    raise SystemExit(128 + signum)


def main(argv=None):
    signal.signal(signal.SIGTERM, _terminated)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return {"grade": run_grade, "solve": run_solve}[args.command](args)
    except (UsageError, SubmissionError) as exc:
        _print(f"grader: {printable(exc)}", sys.stderr)
        return EXIT_USAGE
    except SandboxUnavailable as exc:
        _print(f"grader: no grade given: {printable(exc)}", sys.stderr)
        return EXIT_NO_SANDBOX


if __name__ == "__main__":
    sys.exit(main())
