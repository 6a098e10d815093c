"""The ``grader`` command: argument parsing only; each subcommand calls one entry function."""
import argparse
import os
import signal
import sys
from pathlib import Path

from grader import __version__
from grader.boundary import printable
from grader.config import TASK_IDS, Config
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
    grade.add_argument("--fail-under", metavar="SCORE", type=float, help="exit with status 1 below this score")
    add_grading_options(grade)
    grade.add_argument("-q", "--quiet", action="store_true", help="print only the table, no per-check details")
    add_grade_class_parser(commands)
    solve = commands.add_parser("solve", help="write the reference solutions into a stub notebook's task cells")
    solve.add_argument("notebook", help="the stub notebook, e.g. notebooks/ConvolutionalNetworks.ipynb")
    solve.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the solved notebook")
    return parser


def add_grading_options(parser):
    """The options of how one submission is graded: the same for ``grade`` and ``grade-class``."""
    parser.add_argument("--tasks", metavar="ID[,ID...]", help="grade only these tasks")
    parser.add_argument("--data", metavar="DIR", help="a CIFAR-10 folder for the overfit check (default: embedded digits)")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=Config.timeout, help="per call into student code")
    parser.add_argument("--memory", metavar="MIB", type=int, default=Config.memory_bytes >> 20,
                        help="address-space limit of the process running student code")
    parser.add_argument("--processes", metavar="N", type=int, default=Config.processes,
                        help="processes student code may run at once")


def add_grade_class_parser(commands):
    grade_class = commands.add_parser("grade-class", help="grade every submission of a class folder, in parallel")
    grade_class.add_argument("class_dir", metavar="CLASS_DIR",
                             help="one sub-folder per student, or one notebook per student (LMS bulk-download names too)")
    grade_class.add_argument("--out", required=True, metavar="DIR", help="where the gradebook, reports and feedback go")
    grade_class.add_argument("-j", "--jobs", metavar="N", type=int, default=os.cpu_count() or 1,
                             help="worker processes on this machine (default: the number of cores)")
    grade_class.add_argument("--scheduler", metavar="ADDRESS", help="grade on a dask.distributed cluster instead")
    grade_class.add_argument("--fail-under", metavar="SCORE", type=float, help="exit with status 1 if any total is below this")
    grade_class.add_argument("--feedback", choices=("md", "html"), default="md", help="format of each student's feedback")
    add_grading_options(grade_class)


def config_from(args):
    tasks = TASK_IDS
    if args.tasks:
        tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        unknown = [t for t in tasks if t not in TASK_IDS]
        if unknown:
            raise UsageError(f"unknown task id(s) {', '.join(unknown)}; known: {', '.join(TASK_IDS)}")
        tasks = tuple(t for t in TASK_IDS if t in tasks)
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    if args.memory < 256 or args.processes < MIN_PROCESSES:
        raise UsageError(f"--memory must be at least 256 (MiB) and --processes at least {MIN_PROCESSES}")
    data_dir = Path(args.data) if args.data else None
    if data_dir is not None and not data_dir.is_dir():
        raise UsageError(f"--data {args.data}: not a folder")
    return Config(tasks=tasks, timeout=args.timeout, data_dir=data_dir, memory_bytes=args.memory << 20,
                  processes=args.processes)


def run_grade(args):
    from grader import render
    from grader.classroom.discover import looks_like_class
    from grader.pipeline import grade

    config = config_from(args)
    if looks_like_class(args.path):
        raise UsageError(f"{args.path} looks like a whole class (a folder per student, or bulk-download notebook names); "
                         f"grade one submission, or the class with: grader grade-class {args.path} --out RESULTS")
    report = grade(args.path, config)
    # The reports before the table: whatever happens to the terminal, they are written.
    if args.json:
        render.write_json(render.to_json(report), args.json)
    if args.gradescope:
        render.write_json(render.to_gradescope(report), args.gradescope)
    _print(render.table(report, verbose=not args.quiet))
    if args.fail_under is not None and report.score < args.fail_under:
        return EXIT_BELOW_BAR
    return EXIT_OK


def run_grade_class(args):
    from grader.classroom import grade_class
    from grader.classroom.run import DaskCluster, LocalPool

    config = config_from(args)
    if args.jobs < 1:
        raise UsageError(f"-j must be at least 1, got {args.jobs}")
    if not Path(args.class_dir).is_dir():
        raise UsageError(f"{args.class_dir}: not a folder")
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot be made a folder ({exc.strerror or exc})") from None
    try:
        executor = DaskCluster(args.scheduler) if args.scheduler else LocalPool(args.jobs)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    _print(f"grading {printable(args.class_dir)} with {executor.description}", sys.stderr)
    run = grade_class(args.class_dir, args.out, config, executor, args.feedback, args.fail_under)
    _print_class_run(run, args)
    if run.no_sandbox:
        raise SandboxUnavailable(run.no_sandbox)
    if run.stopped:
        return 128 + run.stopped
    if args.fail_under is not None and run.below(args.fail_under):
        return EXIT_BELOW_BAR
    return EXIT_OK


def _print_class_run(run, args):
    from grader.classroom import summary

    if not run.records:
        _print(f"grader: no submission found in {printable(args.class_dir)}", sys.stderr)
    if run.ignored:
        _print(f"ignored (not notebooks): {', '.join(printable(p.name, 80) for p in run.ignored[:10])}"
               + (" ..." if len(run.ignored) > 10 else ""), sys.stderr)
    _print(summary.text(run.summary, markdown=False))
    _print(f"wrote {printable(Path(args.out) / 'gradebook.csv')} and a report and feedback per student"
           + (f"; {run.summary_note}" if run.summary_note else ""))


def run_solve(args):
    from grader.solve import StubCellNotFound, solve

    if not Path(args.notebook).is_file():
        raise UsageError(f"{args.notebook}: no such notebook")
    try:
        path = solve(args.notebook, args.output)
    except StubCellNotFound as exc:
        raise UsageError(str(exc)) from None
    _print(f"wrote {printable(path)}")
    return EXIT_OK


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
        return {"grade": run_grade, "grade-class": run_grade_class, "solve": run_solve}[args.command](args)
    except (UsageError, SubmissionError) as exc:
        _print(f"grader: {printable(exc)}", sys.stderr)
        return EXIT_USAGE
    except SandboxUnavailable as exc:
        _print(f"grader: no grade given: {printable(exc)}", sys.stderr)
        return EXIT_NO_SANDBOX


if __name__ == "__main__":
    sys.exit(main())
