"""The ``grader`` command: argument parsing only; each subcommand calls one entry function."""

import argparse
import math
import os
import signal
import sys
import traceback
from pathlib import Path

from grader import __version__, blas, interrupts  # noqa: F401  (blas: before numpy loads)
from grader.boundary import printable, printable_block
from grader.config import TASK_IDS, Config, build_config, check_data_dir, config_toml, default_of, read_config_file
from grader.errors import (  # noqa: F401  (the statuses are the command's; tests and scripts read them here)
    EXIT_BELOW_BAR,
    EXIT_INTERNAL,
    EXIT_NO_SANDBOX,
    EXIT_OK,
    EXIT_USAGE,
    GraderError,
    SandboxError,
    UsageError,
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="grader", description="Grade submissions of the convolutional networks assignment."
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    grade = commands.add_parser("grade", help="grade one submission (a notebook or a folder holding it)")
    grade.add_argument("path", help="a .ipynb file or a folder holding the submission's notebook(s)")
    grade.add_argument("--json", metavar="FILE", help="write the full report as JSON (default: not written)")
    grade.add_argument("--gradescope", metavar="FILE", help="write Gradescope's results.json (default: not written)")
    grade.add_argument(
        "--fail-under", metavar="SCORE", type=float, help="exit with status 1 below this score (default: no bar)"
    )
    add_grading_options(grade)
    grade.add_argument("-q", "--quiet", action="store_true", help="print only the table, no per-check details")
    grade.add_argument(
        "--one-submission",
        action="store_true",
        help="grade PATH as one submission even where it looks like a class folder "
        "(the Gradescope autograder, whose upload is one student's by definition)",
    )
    add_grade_class_parser(commands)
    solve = commands.add_parser("solve", help="write the reference solutions into a stub notebook's task cells")
    solve.add_argument("notebook", help="the stub notebook, e.g. notebooks/ConvolutionalNetworks.ipynb")
    solve.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the solved notebook")
    release = commands.add_parser(
        "release",
        help="write the student bundle (notebook, assignment package, README, "
        "pinned requirements) and a .zip of it; no solutions, no grader",
    )
    release.add_argument(
        "out_dir", metavar="OUT_DIR", help="a new or empty folder; the zip goes beside it as OUT_DIR.zip"
    )
    release.add_argument(
        "--notebook", metavar="NOTEBOOK", help="the stub notebook (default: notebooks/ConvolutionalNetworks.ipynb)"
    )
    release.add_argument(
        "--github",
        action="store_true",
        help="also write .github/workflows/checks.yml (GitHub Actions runs the notebook's public checks on every "
        "push) and .github/classroom/autograding.json (GitHub Classroom: one test per task)",
    )
    autograder = commands.add_parser(
        "autograder",
        help="write a Gradescope autograder zip (setup.sh, run_autograder, the grader's wheel, exact pins, the config)",
    )
    autograder.add_argument("zip_path", metavar="OUT.zip", help="where to write the zip")
    autograder.add_argument(
        "--config", metavar="FILE", help="the TOML configuration to grade with (default: the defaults)"
    )
    warm = commands.add_parser(
        "warm-cache",
        help="fill the disk cache ($GRADER_CACHE_DIR, else ~/.cache/convnet-grader) by grading the reference "
        "solutions once, so that no later grading computes the reference overfit run or searches examples",
    )
    warm.add_argument("--config", metavar="FILE", help="the TOML configuration gradings will use (default: none)")
    config = commands.add_parser(
        "config", help="write a configuration file: the defaults, or FILE checked and completed"
    )
    config.add_argument("file", nargs="?", metavar="FILE", help="a TOML file to check (default: none, the defaults)")
    config.add_argument("--print", action="store_true", help="print the file (the default action)")
    return parser


# The flags that override a config file's settings: (flag, argparse dest, setting key in grader.config).
GRADING_FLAGS = (
    ("--data", "data", "data_dir"),
    ("--timeout", "timeout", "limits.timeout"),
    ("--memory", "memory", "limits.memory_mib"),
    ("--processes", "processes", "limits.processes"),
)


def add_grading_options(parser):
    """The options of every grading command: a config file, the tasks, and the flags that override the file.
    Each flag's default is None (not given), so a file's value stands unless the flag is given; its help
    shows the built-in default."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file of settings (weights, limits, data, Gradescope visibility); "
        "`grader config --print` writes one to start from; the flags below override it (default: none)",
    )
    parser.add_argument("--tasks", metavar="ID[,ID...]", help="grade only these tasks (default: all nine)")
    parser.add_argument(
        "--data", metavar="DIR", help="a CIFAR-10 folder for the overfit check (default: embedded digits)"
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        help=f"per call into student code (default: {default_of('timeout'):g})",
    )
    parser.add_argument(
        "--memory",
        metavar="MIB",
        type=int,
        help=f"memory limit of the process running student code (default: {default_of('memory_bytes') >> 20})",
    )
    parser.add_argument(
        "--processes",
        metavar="N",
        type=int,
        help=f"processes student code may run at once (default: {default_of('processes')})",
    )


def add_grade_class_parser(commands):
    grade_class = commands.add_parser("grade-class", help="grade every submission of a class folder, in parallel")
    grade_class.add_argument(
        "class_dir",
        metavar="CLASS_DIR",
        help="one sub-folder per student, or one notebook per student (LMS bulk-download names too)",
    )
    grade_class.add_argument("--out", required=True, metavar="DIR", help="where the gradebook, reports and feedback go")
    grade_class.add_argument(
        "-j",
        "--jobs",
        metavar="N",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes on this machine (default: the number of cores)",
    )
    grade_class.add_argument("--scheduler", metavar="ADDRESS", help="grade on a dask.distributed cluster instead")
    grade_class.add_argument(
        "--fail-under", metavar="SCORE", type=float, help="exit with status 1 if any total is below this"
    )
    grade_class.add_argument(
        "--feedback", choices=("md", "html"), default="md", help="format of each student's feedback"
    )
    grade_class.add_argument(
        "--gradebook",
        choices=("canvas", "moodle"),
        metavar="LMS",
        help="also write gradebook-LMS.csv in the layout that LMS imports: canvas or moodle "
        "(README 'Importing the grades'); gradebook.csv is always written",
    )
    add_grading_options(grade_class)
    tls = grade_class.add_argument_group(
        "a Dask cluster secured with TLS (with --scheduler)",
        "The README's 'Beyond one machine: Dask' makes the certificates. Without "
        "these options Dask's own configuration applies (plain TCP by default).",
    )
    tls.add_argument("--tls-ca-file", metavar="FILE", help="the class CA's certificate (PEM)")
    tls.add_argument("--tls-cert", metavar="FILE", help="this machine's certificate, signed by that CA (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", help="its private key (default: appended to the --tls-cert file)")


def config_from(args):
    """The run's Config from a grading command's arguments: defaults, then --config FILE, then the flags.
    A data folder, from either, is checked here: before any student code runs."""
    flags = [(flag, key, getattr(args, dest)) for flag, dest, key in GRADING_FLAGS if getattr(args, dest) is not None]
    config = build_config(args.config, flags, tasks=_tasks(args.tasks))
    _check_data_dir(config.data_dir, "--data" if args.data is not None else f"config {args.config}: data_dir")
    return config


def _tasks(option):
    """The task ids of --tasks in SPEC order, or None (all) when it is not given."""
    if option is None:
        return None
    tasks = tuple(t.strip() for t in option.split(",") if t.strip())
    if not tasks:
        raise UsageError(f"--tasks {option!r} names no task; known: {', '.join(TASK_IDS)}")
    unknown = [t for t in tasks if t not in TASK_IDS]
    if unknown:
        raise UsageError(f"unknown task id(s) {', '.join(unknown)}; known: {', '.join(TASK_IDS)}")
    return tuple(t for t in TASK_IDS if t in tasks)


def _check_data_dir(folder, source):
    """UsageError unless ``folder`` (None: the embedded digits) holds CIFAR-10 batches the overfit check can use;
    ``source`` names where the folder came from."""
    from assignment.data import CIFAR10FolderError

    if folder is None:
        return
    try:
        check_data_dir(folder)
    except CIFAR10FolderError as exc:
        raise UsageError(f"{source}: {exc}") from None


def run_grade(args):
    outputs = {option: path for option, path in (("--json", args.json), ("--gradescope", args.gradescope)) if path}
    _check_outputs(outputs)  # before grading: a report that cannot be written must not cost a grading run
    config = config_from(args)
    if not args.one_submission and _looks_like_class(args.path):
        raise UsageError(
            f"{args.path} looks like a whole class (a folder per student, or bulk-download notebook names); "
            f"grade the class with: grader grade-class {args.path} --out RESULTS "
            f"(or add --one-submission if it is one student's)"
        )
    from grader import render  # only now: a usage error above costs no import of the grading machinery
    from grader.pipeline import grade

    report = grade(args.path, config)
    # The reports before the table: whatever happens to the terminal, they are written.
    if args.json:
        _write(render.write_json, render.to_json(report), "--json", args.json)
    if args.gradescope:
        _write(render.write_json, render.to_gradescope(report, config), "--gradescope", args.gradescope)
    _print(render.table(report, verbose=not args.quiet))
    if args.fail_under is not None and report.score < args.fail_under:
        _print(f"grader: {below_bar(report.score, report.max_score, args.fail_under)}", sys.stderr)
        return EXIT_BELOW_BAR
    return EXIT_OK


def _looks_like_class(path):
    """Whether ``path`` is a folder that looks like a whole class (grader.classroom.discover.looks_like_class);
    a file never does, and grading one need not import the class machinery to say so."""
    if not Path(path).is_dir():
        return False
    from grader.classroom.discover import looks_like_class

    return looks_like_class(path)


def below_bar(score, max_score, bar):
    """The line that says why the exit status is 1, e.g. 'score 61.5 / 100 is below the bar of 70 (--fail-under)'.
    The score is rounded down to two decimals: 69.999 below a bar of 70 reads 69.99, never 70."""
    shown = math.floor(score * 100) / 100
    return f"score {shown:g} / {max_score:g} is below the bar of {bar:g} (--fail-under)"


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
    tls = _tls_files(args)
    executor = DaskCluster(args.scheduler, tls) if args.scheduler else LocalPool(args.jobs)
    if args.scheduler and executor.warning:
        _print(f"grader: {executor.warning}", sys.stderr)
    _print(f"grading {printable(args.class_dir)} with {executor.description}", sys.stderr)
    run = grade_class(
        args.class_dir, args.out, config, executor, args.feedback, args.fail_under, lms_gradebook=args.gradebook
    )
    _print_class_run(run, args)
    if run.no_sandbox:
        raise SandboxError(run.no_sandbox)
    if run.stopped:
        return 128 + run.stopped
    if args.fail_under is not None and run.below(args.fail_under):
        return EXIT_BELOW_BAR
    return EXIT_OK


def _tls_files(args):
    """grade-class's TLS options as a TLSFiles, or None when none is given."""
    from grader.classroom.run import TLSFiles

    given = {
        flag: value
        for flag, value in (
            ("--tls-ca-file", args.tls_ca_file),
            ("--tls-cert", args.tls_cert),
            ("--tls-key", args.tls_key),
        )
        if value is not None
    }
    if not given:
        return None
    if not args.scheduler:
        raise UsageError(f"{', '.join(given)}: TLS options are for a Dask cluster; add --scheduler ADDRESS")
    missing = [flag for flag in ("--tls-ca-file", "--tls-cert") if flag not in given]
    if missing:
        raise UsageError(f"{', '.join(given)} also need{'s' if len(given) == 1 else ''} {' and '.join(missing)}")
    return TLSFiles(ca_file=args.tls_ca_file, cert=args.tls_cert, key=args.tls_key)


def _print_class_run(run, args):
    from grader.classroom import gradebook

    if not run.records:
        _print(f"grader: no submission found in {printable(args.class_dir)}", sys.stderr)
    if run.ignored:
        _print(
            f"ignored (not notebooks): {', '.join(printable(p.name, 80) for p in run.ignored[:10])}"
            + (" ..." if len(run.ignored) > 10 else ""),
            sys.stderr,
        )
    _print(run.summary_text())
    _print(run.wrote(args.out))
    if args.gradebook:
        lms_file = printable(Path(args.out) / gradebook.lms_file_name(args.gradebook))
        _print(f"wrote {lms_file}: the gradebook in the layout {args.gradebook.capitalize()} imports (README)")


def run_solve(args):
    from grader.solve import solve

    if not Path(args.notebook).is_file():
        raise UsageError(f"{args.notebook}: no such notebook")
    _check_outputs({"-o": args.output})
    path = solve(args.notebook, args.output)
    _print(f"wrote {printable(path)}")
    return EXIT_OK


def run_release(args):
    from grader.bundles.release import build_release

    bundle = build_release(args.out_dir, args.notebook, github=args.github)
    _print(
        f"wrote {printable(bundle.folder)} and {printable(bundle.zip_path)} ({bundle.zip_path.stat().st_size >> 10} KiB); "
        f"pinned {', '.join(bundle.pins)}"
    )
    return EXIT_OK


def run_autograder(args):
    from grader.bundles.autograder import build_autograder

    config = read_config_file(args.config) if args.config else Config()
    built = build_autograder(args.zip_path, config)
    numpy_pin = next(pin for pin in built.pins if pin.startswith("numpy=="))
    _print(
        f"wrote {printable(built.zip_path)} ({built.zip_path.stat().st_size >> 10} KiB): {built.wheel}, "
        f"{len(built.pins)} exact pins ({numpy_pin}, ...)"
    )
    return EXIT_OK


def run_warm_cache(args):
    from grader.cache import warm_cache

    summary = warm_cache(build_config(args.config))
    if not summary.startswith("disk cache "):  # off, or a folder that cannot be written: nothing was kept
        raise UsageError(summary)
    _print(summary)
    return EXIT_OK


def run_config(args):
    config = read_config_file(args.file) if args.file else Config()
    _print(config_toml(config).rstrip("\n"))
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
    """SIGTERM ends the run like Ctrl-C: cleanup code runs, so no process of a submission stays behind (never
    lost in a finalizer: grader.interrupts)."""
    raise interrupts.raised(SystemExit(128 + signum))


def main(argv=None):
    signal.signal(signal.SIGTERM, _terminated)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return {
            "grade": run_grade,
            "grade-class": run_grade_class,
            "solve": run_solve,
            "config": run_config,
            "release": run_release,
            "autograder": run_autograder,
            "warm-cache": run_warm_cache,
        }[args.command](args)
    except GraderError as exc:  # each kind of error, its exit status (grader.errors)
        _print(f"grader: {exc.prefix}{printable(exc)}", sys.stderr)
        return exc.exit_status
    except Exception:  # a grader bug: loud (the traceback), and a status no grade has
        _print(printable_block(traceback.format_exc()), sys.stderr)
        _print("grader: internal error, no grade given; please report it with the traceback above", sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
