"""Grade each submission of a class: one function, :func:`grade_job`, run by an executor.

Two executors share one small interface, so the gradebook, resume and progress code never knows which
one ran a submission:

- :class:`LocalPool`: ``-j N`` long-lived worker processes on this machine (what a worker memoizes, see
  grader.tasks.memo, serves every submission it grades);
- :class:`DaskCluster`: the tasks of an existing ``dask.distributed`` cluster (``--scheduler ADDRESS``), with
  mutual TLS when given the class's certificates (``--tls-ca-file``, ``--tls-cert``, ``--tls-key``).

``executor.results(jobs)`` yields a :class:`Graded` per job as each completes (in any order);
``executor.close()`` stops everything still running. A job carries the submission's notebook bytes, not
a path, so a worker needs no shared file system: it writes them into a private temporary folder and
grades that with ``grader.pipeline.grade``, exactly as ``grader grade`` would grade the original.
"""

import dataclasses
import ipaddress
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from grader import interrupts
from grader.boundary import FRAGMENT_LIMIT, printable, printable_items
from grader.config import Config
from grader.discover import MAX_NOTEBOOK_BYTES, SubmissionError, open_notebook
from grader.errors import UsageError
from grader.sandbox.supervisor import SandboxUnavailable

GRADED, UNREADABLE, ERROR, NO_SANDBOX, PENDING = "graded", "unreadable", "error", "no sandbox", "pending"
STOP_SECONDS = 30.0  # a stopped worker's sandbox cleanup (kill, reap, empty scratch) takes well under this
KILL_SECONDS = 2.0  # a SIGKILLed worker is gone well within this
POLL_SECONDS = 0.5  # how often the pool looks for a worker that died without answering
SUBMISSION_FOLDER = "submission"  # the temporary folder a worker writes a submission's notebooks into


@dataclass(frozen=True)
class Job:
    """One submission to grade, self-contained so that any worker, local or remote, can grade it."""

    student: str
    """The student id, as found."""
    files: tuple
    """(relative name, content) per notebook: a :class:`NotebookFile` as prepared (its bytes are read when
    the job is sent to a worker), bytes as a worker receives them, an int (the file's size) for a notebook
    larger than grader.discover.MAX_NOTEBOOK_BYTES, which grading refuses unread, or a str: why the
    coordinator could not read it when sending."""
    single_file: bool
    """Graded as one notebook file (a flat class folder's notebook) rather than as a folder."""
    shown_root: str
    """The folder the names are relative to, as reports should show it: relative to the class folder ('' for a
    notebook directly in it), so no file of a student names a folder of the instructor's machine."""
    key: str
    """Content hash + config hash + grader version (see resume.py)."""
    config: Config
    notes: tuple = ()
    """What discovery left out of the submission (symbolic links, folders too deep), for its report."""


@dataclass(frozen=True)
class NotebookFile:
    """A notebook of a job on the coordinator's disk, read only when the job is sent to its worker (pickled:
    a local pool's pipe or Dask), so the coordinator holds the bytes of the jobs in flight, never the
    class's. It arrives as bytes, or as the reason it could not be read (a str)."""

    path: Path
    size: int
    """Its size as discovery found it (without following links)."""
    shown: str = ""
    """The path as a reason it cannot be read names it (relative to the class folder); '' for ``path``."""

    CHUNK = 1 << 20  # bytes hashed at a time

    def read(self):
        """The bytes, or why they cannot be read (a link swapped in, a file grown past the bound...)."""
        try:
            with open_notebook(self.path) as stream:
                content = stream.read(MAX_NOTEBOOK_BYTES + 1)
        except SubmissionError as exc:
            return str(exc).replace(str(self.path), self.shown or str(self.path))
        return (
            content
            if len(content) <= MAX_NOTEBOOK_BYTES
            else f"{self.shown or self.path} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
        )

    def chunks(self):
        """The bytes a chunk at a time, for hashing; raises SubmissionError when they cannot be read."""
        with open_notebook(self.path) as stream:
            yield from iter(lambda: stream.read(self.CHUNK), b"")

    def __reduce__(self):
        return _received, (self.read(),)


def _received(content):
    """A :class:`NotebookFile` as its worker unpickles it: the content read when it was sent."""
    return content


@dataclass(frozen=True)
class Graded:
    """What grading one submission gave."""

    student: str
    key: str
    status: str
    """GRADED, UNREADABLE (no notebook could be read), ERROR (the grader failed on it), NO_SANDBOX (the
    machine cannot run student code: no grade) or PENDING (not graded: the run was stopped)."""
    reason: str = ""
    """Why it was not graded, one printable line; '' when graded."""
    report: object = None
    """The grader.report.Report when graded, else None."""
    seconds: float = 0.0
    """Wall time of grading it, on the worker."""
    isolation: str = ""
    """How the worker isolated student code (the report's isolation, printable)."""
    worker: str = ""
    """host:pid of the worker process that graded it."""


# pipeline.grade is not thread-safe (numpy's global random state, hypothesis): a Dask worker started with
# several threads still grades one submission at a time, so its grades are those of `grader grade`.
_ONE_AT_A_TIME = threading.Lock()


def grade_job(job):
    """Grade one submission in a private temporary folder: the function every executor runs."""
    with _ONE_AT_A_TIME:
        return _grade_job(job)


def _grade_job(job):
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grader-class-") as temp:
        root = Path(temp) / SUBMISSION_FOLDER
        path, unread = _write_files(job, root)
        status, reason, report = (
            _grade(path, job.config, str(root), job.shown_root) if not unread else (UNREADABLE, unread, None)
        )
    status, reason, report = _with_notes(status, reason, report, job.notes)
    isolation = printable(report.isolation) if report is not None else ""
    return Graded(
        student=job.student,
        key=job.key,
        status=status,
        reason=reason,
        report=report,
        seconds=round(time.perf_counter() - started, 3),
        isolation=isolation,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


def _write_files(job, root):
    """The notebooks under ``root``: (the path to grade, '' or why a notebook could not be read when sent)."""
    for name, content in job.files:
        content = content.read() if isinstance(content, NotebookFile) else content  # graded in this process
        if isinstance(content, str):
            return root, printable(content)
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, int):  # a sparse file of the same size: grading refuses it for its size, unread
            with open(target, "wb") as handle:
                handle.truncate(content)
        else:
            target.write_bytes(content)
    root.mkdir(parents=True, exist_ok=True)
    return (root / job.files[0][0] if job.single_file else root), ""


def _with_notes(status, reason, report, notes):
    """Discovery's notes (made on the coordinator) first among the report's, or after an unreadable reason."""
    if not notes:
        return status, reason, report
    if report is not None:
        return status, reason, dataclasses.replace(report, notes=printable_items(notes) + tuple(report.notes))
    return status, printable(f"{reason} ({'; '.join(notes)})") if status == UNREADABLE else reason, report


def _grade(path, config, temp_root, shown_root):
    from grader.pipeline import grade

    try:
        report = grade(path, config)
    except SubmissionError as exc:
        return UNREADABLE, printable(_shown(str(exc), temp_root, shown_root)), None
    except SandboxUnavailable as exc:
        return NO_SANDBOX, printable(exc), None
    except Exception as exc:  # a grader bug on this submission: it costs this row only, and says so
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return ERROR, printable(f"internal grader error, please report it: {detail}"), None
    return GRADED, "", _relocated(report, temp_root, shown_root)


def _relocated(report, temp_root, shown_root):
    """The report as if the original folder had been graded: the temporary folder's name replaced."""

    def moved(text):
        return _shown(text, temp_root, shown_root) if isinstance(text, str) else text

    tasks = tuple(
        dataclasses.replace(
            task, checks=tuple(dataclasses.replace(check, message=moved(check.message)) for check in task.checks)
        )
        for task in report.tasks
    )
    return dataclasses.replace(
        report, submission=moved(report.submission), tasks=tasks, notes=tuple(moved(note) for note in report.notes)
    )


def _shown(text, temp_root, shown_root):
    """``text`` with the worker's temporary folder named as the submission's folder is shown."""
    return text.replace(temp_root + "/", f"{shown_root}/" if shown_root else "").replace(temp_root, shown_root or ".")


def _in_class(text, class_root):
    """``text`` with the paths under ``class_root`` made relative to it (what a student's files may show)."""
    return text.replace(f"{class_root}{os.sep}", "")


def prepare_job(submission, config, key_of):
    """The :class:`Job` of a discovered submission, or a :class:`Graded` row when it cannot be read here.

    key_of: (files, config) -> the resume key (resume.submission_key)."""
    class_root = submission.path.parent  # a submission is a folder, a notebook or a link in the class folder
    if submission.problem:
        return _unreadable(submission.student, _in_class(submission.problem, class_root))
    folder = submission.path if submission.path.is_dir() else submission.path.parent
    try:
        sizes = submission.sizes or tuple(os.lstat(notebook).st_size for notebook in submission.notebooks)
        files = tuple(
            (
                notebook.relative_to(folder).as_posix(),
                NotebookFile(notebook, size, _in_class(str(notebook), class_root)),
            )
            for notebook, size in zip(submission.notebooks, sizes)
        )
        key = key_of(files, config)  # streams each file through the hash: nothing is kept
    except SubmissionError as exc:
        return _unreadable(submission.student, _in_class(str(exc), class_root))
    except OSError as exc:
        shown = _in_class(str(submission.path), class_root)
        return _unreadable(submission.student, f"{shown} cannot be read ({exc.strerror or exc})")
    single = not submission.path.is_dir() and len(files) == 1
    return Job(
        student=submission.student,
        files=files,
        single_file=single,
        shown_root=_in_class(f"{folder}{os.sep}", class_root).rstrip(os.sep),
        key=key,
        config=config,
        notes=tuple(_in_class(note, class_root) for note in submission.notes),
    )


def _unreadable(student, reason):
    return Graded(student=student, key="", status=UNREADABLE, reason=printable(reason))


def lost(job, why):
    """The row of a job whose worker went away without answering."""
    return Graded(student=job.student, key=job.key, status=ERROR, reason=printable(why, FRAGMENT_LIMIT))


# -- Local worker processes ----------------------------------------------------------------------------


class LocalPool:
    """``workers`` long-lived processes on this machine, each grading one job at a time.

    Each worker has its own pipe, so the pool knows which job each one holds: a worker that dies
    (a grader crash, the kernel's OOM killer) costs that job a row with the reason, and a new worker takes
    its place. :meth:`close` sends SIGTERM, which a worker turns into SystemExit: its sandbox is killed
    by the grader's own cleanup before it exits.
    """

    def __init__(self, workers):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.size = workers
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"
        self._context = multiprocessing.get_context("spawn")  # no inherited threads or state of the parent
        self._workers = {}  # connection -> (process, job or None)

    def results(self, jobs):
        waiting = list(reversed(jobs))
        while len(self._workers) < min(self.size, len(jobs)):
            self._start_worker()
        busy = 0
        for connection in list(self._workers):
            busy += self._give(connection, waiting)
        while busy:
            ready = multiprocessing.connection.wait(self._ready_objects(), timeout=POLL_SECONDS)
            for connection, graded in self._collect(ready):
                busy -= 1
                yield graded
                if connection is not None:
                    busy += self._give(connection, waiting)
                elif waiting:
                    busy += self._give(self._start_worker(), waiting)

    def _start_worker(self):
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(theirs,), name="grader-class-worker", daemon=True)
        process.start()
        theirs.close()
        self._workers[ours] = (process, None)
        return ours

    def _give(self, connection, waiting):
        """Hand the next waiting job to an idle worker; 1 if one was given."""
        if not waiting:
            return 0
        job = waiting.pop()
        process, _ = self._workers[connection]
        self._workers[connection] = (process, job)
        try:
            connection.send(job)
        except (OSError, EOFError):
            pass  # the worker died: its sentinel reports it and the job gets its row
        return 1

    def _ready_objects(self):
        """What to wait on: each busy worker's pipe (its answer) and sentinel (its death). An idle worker's
        pipe is left out: one that died idle would read as ready forever."""
        busy = [(connection, process) for connection, (process, job) in self._workers.items() if job is not None]
        return [connection for connection, _ in busy] + [process.sentinel for _, process in busy]

    def _collect(self, ready):
        """(connection or None, Graded) for each answer or death among ``ready``."""
        found = []
        for connection, (process, job) in list(self._workers.items()):
            if job is None:
                continue
            if connection in ready:
                try:
                    found.append((connection, connection.recv()))
                    self._workers[connection] = (process, None)
                    continue
                except (OSError, EOFError):
                    pass
            if connection in ready or process.sentinel in ready:
                process.join(STOP_SECONDS)
                del self._workers[connection]
                connection.close()
                found.append(
                    (None, lost(job, f"the grading process died while grading it (exit code {process.exitcode})"))
                )
        return found

    def close(self):
        """Stop every worker and its sandbox; returns when they are gone (SIGKILL as the last resort)."""
        for process, _ in self._workers.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for connection, (process, _) in self._workers.items():
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.kill()
                process.join()
            connection.close()
        self._workers.clear()

    def kill(self):
        """Kill every worker at once (a second Ctrl-C): a worker's sandbox dies with it (its parent-death
        signal), so nothing is left running."""
        for connection, (process, _) in list(self._workers.items()):
            if process.is_alive():
                process.kill()
        for connection, (process, _) in list(self._workers.items()):
            process.join(KILL_SECONDS)
            connection.close()
        self._workers.clear()


def _serve(connection):
    """A worker's life: grade each job it is sent until the pipe closes or SIGTERM arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, _exit_on_term)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(grade_job(job))


def _exit_on_term(signum, frame):
    raise interrupts.raised(SystemExit(128 + signum))  # unwinds grade(): its Session kills the sandbox's processes


# -- A dask.distributed cluster ------------------------------------------------------------------------

# Schemes whose traffic is authenticated and encrypted (inproc never leaves the process).
SECURE_SCHEMES = ("tls", "wss", "inproc")
DASK_PORT = 8786  # the scheduler's port when an address names none, as Dask assumes


@dataclass(frozen=True)
class TLSFiles:
    """What this machine needs to join a cluster secured with TLS (PEM files; see the README's recipe)."""

    ca_file: str
    """The class CA's certificate: the scheduler must present a certificate it signed."""
    cert: str
    """This machine's certificate, signed by that CA: the scheduler refuses a client without one."""
    key: str = None
    """The certificate's private key; None when it is appended to ``cert``."""


class DaskCluster:
    """The workers of a running ``dask.distributed`` scheduler at ``address`` (needs the ``dask`` extra).

    tls: a :class:`TLSFiles` to connect with mutual TLS and nothing else (an address without a scheme
    then means ``tls://``), or None for what Dask's own configuration says (by default plain TCP).
    ``warning`` is one line when the scheduler or a worker is reached in plain text on another machine
    than this one's loopback (anyone who reaches it can run code on the workers), else ''.
    """

    CONNECT_SECONDS = 30  # to reach the scheduler

    def __init__(self, address, tls=None):
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--scheduler needs dask.distributed: pip install -e '.[dask]' in the project's checkout"
            ) from None
        if tls is not None:
            address = _tls_address(address)
        security = _security(tls)
        try:
            self._client = Client(address, timeout=self.CONNECT_SECONDS, security=security)
        except (OSError, TimeoutError, ValueError) as exc:
            hint = (
                ""
                if tls is not None
                else "; a scheduler secured with TLS needs --tls-ca-file, --tls-cert and --tls-key"
            )
            raise UsageError(f"cannot reach the Dask scheduler at {address} ({exc}){hint}") from None
        except TypeError as exc:  # Dask's way of saying a tls:// address came without certificates
            raise UsageError(
                f"cannot connect to the Dask scheduler at {address} ({exc}): a tls:// scheduler "
                "needs --tls-ca-file, --tls-cert and --tls-key"
            ) from None
        self.description = f"Dask scheduler {address}" + (" (TLS)" if address.startswith(("tls://", "wss://")) else "")
        self._futures = []
        try:
            self.warning = plain_text_warning([address, *self._cluster_addresses()])
        except BaseException:
            self._client.close()
            raise

    def _cluster_addresses(self):
        """The scheduler's and the workers' own addresses: a scheduler reached on loopback may listen on
        every interface, and a worker takes orders from whoever reaches it."""
        info = self._client.scheduler_info()
        return [info.get("address", ""), *info.get("workers", {})]

    def results(self, jobs):
        """Grade ``jobs`` on the workers, at most WINDOW_PER_WORKER per worker in flight: a job carries its
        submission's bytes, so the coordinator holds a bounded number of them whatever the class's size."""
        from distributed import as_completed

        pending, owner = iter(jobs), {}
        window = max(2, self.WINDOW_PER_WORKER * max(1, len(self._client.scheduler_info().get("workers", {}))))
        running = as_completed()
        for job in itertools.islice(pending, window):
            running.add(self._submit(job, owner))
        for future in running:
            job = owner.pop(future.key)
            try:
                yield future.result()
            except Exception as exc:  # the task failed on its worker (a KilledWorker, a missing install)
                yield lost(job, f"the Dask worker failed on it ({type(exc).__name__}: {exc})")
            future.release()
            self._futures.remove(future)
            for job in itertools.islice(pending, 1):
                running.add(self._submit(job, owner))

    WINDOW_PER_WORKER = 2  # jobs handed to the scheduler per worker, ahead of their results

    def _submit(self, job, owner):
        # pure=False: a resubmitted key would be answered from the scheduler's memory, not graded again
        future = self._client.submit(grade_job, job, pure=False, retries=0)
        owner[future.key] = job
        self._futures.append(future)
        return future

    def close(self):
        """Cancel what has not run; a task already running on a worker finishes there (its sandbox is
        bounded by the grading timeouts) and its result is dropped."""
        # Only what has not finished: cancelling finished keys makes the scheduler answer a client that is
        # already closing, which it logs as a CommClosedError traceback after every clean run.
        unfinished = [future for future in self._futures if not future.done()]
        if unfinished:
            self._client.cancel(unfinished)
        self._client.close()

    def kill(self):
        """Leave at once (a second Ctrl-C): the client is closed without waiting on the scheduler; what runs
        on the workers finishes there and its result is dropped."""
        try:
            self._client.close(timeout=KILL_SECONDS)
        except Exception:  # leaving anyway: the scheduler drops a client that went away
            pass


def _security(tls):
    """The client's distributed.security.Security for ``tls`` (None: left to Dask's configuration), its
    files loaded now so that a wrong path or a key that does not match is one line before anything runs."""
    if tls is None:
        return None
    import ssl

    from distributed.security import Security

    security = Security(
        require_encryption=True, tls_ca_file=tls.ca_file, tls_client_cert=tls.cert, tls_client_key=tls.key
    )
    try:
        security.get_connection_args("client")
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot use the TLS files (--tls-ca-file {tls.ca_file}, --tls-cert {tls.cert}"
            f"{f', --tls-key {tls.key}' if tls.key else ''}): {exc}"
        ) from None
    return security


def _tls_address(address):
    """``address`` for a TLS connection: tls:// when it names no scheme; a plain scheme is refused."""
    if "://" not in address:
        return f"tls://{address}"
    scheme = address.partition("://")[0]
    if scheme not in SECURE_SCHEMES:
        raise UsageError(
            f"the TLS options connect with TLS only, but the scheduler address {address} is "
            f"{scheme}://; start the scheduler with --tls-ca-file, --tls-cert and --tls-key "
            "and give its tls:// address"
        )
    return address


def plain_text_warning(addresses):
    """One line naming the first of ``addresses`` reached in plain text on a host that is not this
    machine's loopback, or '' when there is none. Dask's plain TCP has no authentication: whoever
    reaches such a port can run code on the workers (Client.run) and so change every grade."""
    for address in addresses:
        if address and not _secure(address):
            return (
                f"warning: the Dask cluster is reached in plain text at {printable(address, 200)}: anyone who "
                "can reach it can run code on its workers and change every grade; secure it with TLS "
                "(README, 'Beyond one machine: Dask')"
            )
    return ""


def _secure(address):
    """Whether nobody but this machine's users can talk to ``address`` unauthenticated."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address, strict=False)
        if scheme in SECURE_SCHEMES:
            return True
        host, _ = parse_host_port(location, default_port=DASK_PORT)
    except ValueError:
        return False
    return _loopback(host)


def _loopback(host):
    """Whether every address ``host`` names is a loopback address (an unresolvable name is not)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(entry[4][0].partition("%")[0]).is_loopback for entry in found)
