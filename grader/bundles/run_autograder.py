#!/usr/bin/env python3
"""Gradescope's entry point (copied into the autograder zip as ``run_autograder``): grade the notebook(s)
under $AUTOGRADER_ROOT/submission with the ``grader`` on PATH, and write $AUTOGRADER_ROOT/results/results.json
whatever happens.

Standard library only: it runs with the system's python3, before anything is known about the submission.
Every outcome writes a valid results.json: a graded submission gets the grader's own file; no notebook, an
unreadable one, a sandbox that cannot start, a grader that crashes or hangs get score 0 and one line saying
why. The student's file names are never trusted: the notebooks are copied, under plain names, into a
staging folder that is what gets graded.

What is for the instructor (how student code was isolated, why the grader or its sandbox failed) goes to
this script's output, which Gradescope shows as stdout_visibility says, and to results.json's extra_data,
which it stores without showing; never to the top-level output, which students always see. Nothing students
see names the staging folder (a temporary path).
"""

import collections
import errno
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG_NAME = "grader.toml"  # the configuration built into the zip, beside this script
MAX_NOTEBOOKS = 20  # notebooks graded from one submission (a handful is normal)
MAX_NOTEBOOK_BYTES = 200 << 20  # the grader's own limit for one notebook
GRADER_SECONDS = 1800  # the grader bounds itself to about 600 s of student code; this is a backstop
REASON_LIMIT = 500  # characters of a one-line reason
EXIT_GRADED = (0, 1)  # grader grade: completed (1: below --fail-under, not used here)
EXIT_NO_SANDBOX = 3
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX", ".git"}
MAX_DEPTH = 16  # folder levels searched in an upload (the grader's own bound, grader.discover.MAX_DEPTH)
MAX_ENTRIES = 10_000  # files and folders looked at in an upload (grader.discover.MAX_ENTRIES)
COPY_CHUNK = 1 << 20  # bytes copied at a time
# The grader's disk cache (grader.tasks.disk: the reference's overfit run, the properties' examples), filled by
# setup.sh when the image was built, so every submission's container starts with it. Under /var/cache, root's
# alone: not in the Python installation, which bubblewrap shows to the sandbox read-only.
CACHE_DIR = "/var/cache/convnet-grader"


def main():
    root = Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    for private in (root / "source", results.parent):
        keep_private(private)
    config = _config_path(root)
    # Written first, so that even a run killed from outside leaves a valid file behind.
    write_results(
        results,
        failed("grading did not finish (the autograder was stopped); please resubmit or tell your instructor", config),
    )
    with tempfile.TemporaryDirectory(prefix="submission-") as staging:
        found = stage_notebooks(root / "submission", Path(staging))
        if not found:
            write_results(
                results,
                failed(
                    "no notebook (.ipynb file) was found in your submission; upload ConvolutionalNetworks.ipynb", config
                ),
            )
            return 0
        outcome = grade(Path(staging), results, config)
    try:
        write_results(results, outcome)
    except ValueError:  # a number JSON cannot hold
        write_results(
            results, failed("the grader wrote results that are not valid JSON; please tell your instructor", config)
        )
    return 0


def keep_private(folder):
    """Make ``folder`` (if it exists) readable by its owner alone, and that owner root when this runs as root:
    defence in depth for the sandbox, whose student code runs as another, unprivileged user."""
    if not folder.is_dir():
        return
    try:
        if os.geteuid() == 0:
            os.chown(folder, 0, 0)
        folder.chmod(0o700)
    except OSError as exc:  # the sandbox's own confinement still holds; the instructor is told
        print(f"run_autograder: {folder} could not be made private: {exc.strerror or exc}", flush=True)


def _config_path(root):
    for candidate in (Path(__file__).resolve().parent / CONFIG_NAME, root / "source" / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def stage_notebooks(submission, staging):
    """Copy every regular .ipynb file under ``submission`` (subfolders included, editor checkpoints left
    out) into ``staging`` as '01-name.ipynb', '02-sub__name.ipynb'..., numbered in sorted path order, the
    order the grader reads a folder's notebooks in. Returns how many were copied.

    An upload is confined to itself: no symbolic link is followed, not even to copy it. The search is
    bounded like the grader's (MAX_DEPTH, MAX_ENTRIES) and never recurses, so a folder nested a thousand
    deep beside a solved notebook costs nothing. What was left out is printed as notes (the run's stdout)."""
    found, notes = _find_notebooks(submission)
    for index, path in enumerate(found[:MAX_NOTEBOOKS], start=1):
        relative = "__".join(path.relative_to(submission).parts)  # 'hw/a.ipynb' -> 'hw__a.ipynb', for the notes
        problem = _copy_regular_file(path, staging / f"{index:02d}-{_plain_name(relative)}")
        if problem:
            notes.append(f"skipped {'/'.join(path.relative_to(submission).parts)}: {problem}")
    for note in notes:
        print(f"note: {printable(note)}")
    return len(list(staging.iterdir()))


def _find_notebooks(submission):
    """The .ipynb files under ``submission`` in the grader's order (sorted paths), and notes on what was
    left out: an iterative walk with os.scandir that follows no link."""
    found, notes, links, queue, seen, too_deep = [], [], [], collections.deque([submission]), 0, False
    while queue and seen <= MAX_ENTRIES:
        folder = queue.popleft()  # breadth first: shallow notebooks are found before a bound stops the search
        entries = []
        try:
            with os.scandir(folder) as iterator:
                for entry in iterator:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        break
                    entries.append(entry)
        except OSError as exc:
            shown = "/".join(Path(folder).relative_to(submission).parts) or "."
            notes.append(f"{shown} could not be listed ({exc.strerror or type(exc).__name__})")
        for entry in sorted(entries, key=lambda entry: entry.name):
            path = Path(entry.path)
            if entry.is_symlink():
                links.append("/".join(path.relative_to(submission).parts))
            elif entry.is_dir(follow_symlinks=False) and entry.name not in SKIPPED_FOLDERS:
                if len(path.relative_to(submission).parts) <= MAX_DEPTH:
                    queue.append(path)
                else:
                    too_deep = True
            elif entry.name.lower().endswith(".ipynb") and entry.is_file(follow_symlinks=False):
                found.append(path)
    if too_deep:
        notes.append(f"folders nested deeper than {MAX_DEPTH} levels were not searched")
    if seen > MAX_ENTRIES:
        notes.append(f"the search stopped after {MAX_ENTRIES} files and folders")
    if links:
        notes.append(
            f"symbolic links are not followed (your upload is its own files): skipped {', '.join(links[:5])}"
            + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        )
    found.sort(key=lambda path: path.relative_to(submission).parts)
    return found, notes


def _copy_regular_file(source, target):
    """Copy ``source`` unless it is no longer a regular file of at most MAX_NOTEBOOK_BYTES (a link swapped
    in is refused by O_NOFOLLOW); '' or why it was not copied."""
    try:
        handle = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return "a symbolic link" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror or exc})"
    with os.fdopen(handle, "rb") as reading:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_NOTEBOOK_BYTES:
            return (
                "not a regular file"
                if not stat.S_ISREG(status.st_mode)
                else f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
            )
        with open(target, "wb") as writing:
            shutil.copyfileobj(reading, writing, COPY_CHUNK)
    return ""


def _plain_name(name):
    """A file name of letters, digits, '.', '_' and '-' only, ending in .ipynb."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name[: -len(".ipynb")])[:60].strip("._") or "notebook"
    return stem + ".ipynb"


def grade(staging, results, config):
    """The grader's results.json for ``staging``, or a failed one saying why there is none."""
    written = results.with_name("grader-results.json")
    command = ["grader", "grade", str(staging), "--gradescope", str(written), "-q", "--one-submission"]
    if config is not None:
        command += ["--config", str(config)]
    if shutil.which("grader") is None:
        return failed(
            "the grader is not installed on the autograder machine; please tell your instructor",
            config,
            "no 'grader' on PATH: did setup.sh run to its end?",
        )
    try:
        finished = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=GRADER_SECONDS,
            env=grader_environment(),
        )
    except subprocess.TimeoutExpired:
        return failed(
            f"grading took longer than {GRADER_SECONDS} s and was stopped; please tell your instructor", config
        )
    except OSError as exc:
        return failed(
            "the grader could not be started; please tell your instructor",
            config,
            f"starting grader: {type(exc).__name__}: {exc}",
        )
    sys.stdout.flush()
    # For the instructor, and students after publication (stdout_visibility): no staging path either.
    printed = (finished.stdout + finished.stderr).decode("utf-8", "backslashreplace")
    sys.stdout.buffer.write(without_path(printed, staging).encode("utf-8"))
    sys.stdout.buffer.flush()
    reason = without_path(_last_line(finished.stderr), staging)
    if finished.returncode in EXIT_GRADED:
        data = _read_results(written)
        if data is not None:
            _print_isolation(data)
            return without_path(data, staging)
        return failed("the grader finished but wrote no valid results; please tell your instructor", config, reason)
    if finished.returncode == EXIT_NO_SANDBOX:
        return failed(
            "the sandbox that runs your code could not start on the autograder machine, so no grade was "
            "given; please tell your instructor",
            config,
            reason,
        )
    if finished.returncode == 2:
        return failed(f"your submission could not be graded: {reason}", config)
    return failed(
        "the grader failed, so no grade was given; please tell your instructor",
        config,
        f"grader exit status {finished.returncode}: {reason}",
    )


def grader_environment():
    """This environment, with GRADER_CACHE_DIR naming the cache setup.sh filled, where it did and nothing else
    names one (elsewhere the grader uses its own default)."""
    environment = dict(os.environ)
    if "GRADER_CACHE_DIR" not in environment and os.path.isdir(CACHE_DIR):
        environment["GRADER_CACHE_DIR"] = CACHE_DIR
    return environment


def _print_isolation(data):
    """The isolation the grader reports (its -q table leaves it out), printed for the instructor."""
    extra = data.get("extra_data")
    isolation = extra.get("isolation") if isinstance(extra, dict) else None
    if isinstance(isolation, str) and isolation:
        print(f"isolation: {printable(isolation)}", flush=True)


def without_path(value, staging):
    """``value`` (a string, or a JSON tree of them) with the staging folder's path taken out of every string:
    '/tmp/submission-x/01-a.ipynb: not valid JSON' -> '01-a.ipynb: not valid JSON'."""
    if isinstance(value, str):
        for path in sorted({str(staging), os.path.realpath(staging)}, key=len, reverse=True):
            value = value.replace(path + os.sep, "").replace(path, "your submission")
        return value
    if isinstance(value, dict):
        return {key: without_path(item, staging) for key, item in value.items()}
    if isinstance(value, list):
        return [without_path(item, staging) for item in value]
    return value


def _last_line(stderr):
    """The last non-empty line the grader wrote to stderr, printable and bounded ('grader: ' dropped)."""
    lines = [line for line in stderr.decode("utf-8", "backslashreplace").splitlines() if line.strip()]
    line = lines[-1] if lines else "no message"
    line = line[len("grader: ") :] if line.startswith("grader: ") else line
    return printable(line)


def printable(text):
    """``text`` with every character that is not printable shown as an escape, at most REASON_LIMIT long."""
    shown = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else ascii(c)[1:-1] for c in text)
    return shown if len(shown) <= REASON_LIMIT else shown[:REASON_LIMIT] + "..."


def _read_results(path):
    """The grader's results.json if it is a JSON object with a numeric score, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    score = data.get("score") if isinstance(data, dict) else None
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return data
    return None


def failed(reason, config, note=""):
    """A results.json of score 0 whose output is ``reason``, shown to the student at once; ``note``, what the
    instructor needs to fix it, is printed (stdout_visibility) and stored in extra_data, never shown."""
    data = {
        "score": 0.0,
        "execution_time": 0.0,
        "output": printable(reason),
        "visibility": "visible",
        "stdout_visibility": _stdout_visibility(config),
        "tests": [],
    }
    if note:
        print(f"run_autograder: {printable(note)}", flush=True)
        data["extra_data"] = {"note": printable(note)}
    return data


def _stdout_visibility(config):
    """The configured stdout_visibility, read without a TOML parser (the system python may lack one)."""
    try:
        text = config.read_text(encoding="utf-8") if config else ""
    except OSError:
        text = ""
    match = re.search(r'^stdout_visibility\s*=\s*"(visible|after_due_date|after_published|hidden)"', text, re.M)
    return match.group(1) if match else "after_published"


def write_results(path, data):
    """Write ``data`` to ``path`` through a temporary file, so the file is always whole."""
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def guarded_main():
    """main(), and if the script itself fails, still a results.json that says so."""
    try:
        return main()
    except Exception as exc:  # the last line of defence: Gradescope must get a file
        root = Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")
        try:
            (root / "results").mkdir(parents=True, exist_ok=True)
            write_results(
                root / "results" / "results.json",
                failed(f"the autograder failed ({type(exc).__name__}); please tell your instructor", None),
            )
        except OSError:
            pass
        raise


if __name__ == "__main__":
    sys.exit(guarded_main())
