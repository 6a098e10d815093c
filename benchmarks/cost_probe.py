"""The part of ``bench_cost.py`` that runs inside one grader source tree (started with PYTHONPATH=TREE), so
that every figure it prints is that tree's: it imports nothing of this checkout but what PYTHONPATH gives.

    python benchmarks/cost_probe.py where              JSON: where grader, assignment and solutions come from,
                                                       and the task table's definitions
    python benchmarks/cost_probe.py serve SOLVED       one long-lived grader: reads commands on stdin, one JSON
                                                       line per command on stdout (see :func:`serve`)
    python benchmarks/cost_probe.py replay RECORDING   the recorded requests replayed in this process, without
                                                       any sandbox: JSON of the student code's CPU seconds

The replay uses the tree's own sandbox worker (grader/sandbox/worker.py, imported as the sandbox imports it)
to load the definitions, find each target and decode each argument exactly as a fork does; only the student's
function call itself (or, for ``train``, the worker's Solver run) is inside the timed region.
"""

import contextlib
import json
import os
import pickle
import resource
import sys
import time
from pathlib import Path


def main(argv):
    command, *rest = argv
    if command == "where":
        return where()
    if command == "serve":
        return serve(Path(rest[0]))
    if command == "replay":
        return replay(Path(rest[0]))
    raise SystemExit(f"cost_probe: unknown command {command!r}")


def where():
    import assignment
    import grader
    import solutions
    from assignment.tasks import TABLE

    files = {module.__name__: module.__file__ for module in (grader, assignment, solutions)}
    _answer({"files": files, "definitions": {task.id: task.definition for task in TABLE.values()}})


# -- warm gradings ---------------------------------------------------------------------------------------


def serve(solved):
    """Answer one command per stdin line, in this one process: ``grade`` grades ``solved`` and answers its
    wall seconds, the grader's CPU seconds (getrusage of this process), the sandbox's CPU seconds (each
    template's own and its reaped forks', read before it is killed) and the score; ``record PATH`` grades it
    once more while recording every request the grader makes into the sandbox, and writes them to PATH.

    The process starts as the tree's command line starts a grading process (a class run's workers are
    spawned from it): where the tree has grader.blas, it is imported before numpy loads."""
    with contextlib.suppress(ImportError):
        import grader.blas  # noqa: F401  (the tree's command line imports it first: one BLAS thread)
    from grader.pipeline import grade

    with sandbox_cpu_meter() as sandbox_cpu, reference_cpu_meter() as reference_cpu:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "grade":
                grader_before, (sandbox_before, template_before) = _own_cpu(), sandbox_cpu()
                reference_before, start = reference_cpu(), time.perf_counter()
                report = grade(solved)
                sandbox_after, template_after = sandbox_cpu()
                _answer(
                    {
                        "wall": time.perf_counter() - start,
                        "grader_cpu": _own_cpu() - grader_before,
                        "sandbox_cpu": sandbox_after - sandbox_before,
                        "template_cpu": template_after - template_before,
                        "reference_cpu": reference_cpu() - reference_before,
                        "score": report.score,
                    }
                )
            elif command == "record":
                with recording() as requests:
                    report = grade(solved)
                _save_recording(solved, requests, Path(argument))
                counts = {}
                for request in requests:
                    counts[request["op"]] = counts.get(request["op"], 0) + 1
                _answer({"score": report.score, "requests": counts})
            else:
                raise SystemExit(f"cost_probe serve: unknown command {line.strip()!r}")


def _own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def sandbox_cpu_meter():
    """A function giving (the CPU seconds of every sandbox killed so far, the part of them its template spent
    itself: starting, importing, forking; the rest is its reaped forks'). benchmarks/bench_grading.py measures
    the same way; restated here so this probe imports nothing of the checkout it was started from."""
    from grader.sandbox import supervisor

    total, template = [0.0], [0.0]
    kill = supervisor.Sandbox.kill

    def counting_kill(self):
        if self.template_pid is not None:
            own, reaped = _process_cpu(self.template_pid)
            total[0] += own + reaped
            template[0] += own
        return kill(self)

    supervisor.Sandbox.kill = counting_kill
    try:
        yield lambda: (total[0], template[0])
    finally:
        supervisor.Sandbox.kill = kill


def _process_cpu(pid):
    """(own CPU seconds: utime + stime, its reaped children's: cutime + cstime) of ``pid``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


@contextlib.contextmanager
def reference_cpu_meter():
    """A function giving the CPU seconds the grader's own timed functions (the reference loops beside each
    speed round and graded case, the fast layers for the message) took so far: work the spec asks of every
    grading (its speed check times the reference on the same inputs, interleaved)."""
    from grader.tasks import speed

    total = [0.0]
    timed_reference = speed.timed_reference

    def counting(ctx, function, *args):
        def counted(*arguments):
            start = time.process_time()
            try:
                return function(*arguments)
            finally:
                total[0] += time.process_time() - start

        return timed_reference(ctx, counted, *args)

    speed.timed_reference = counting
    try:
        yield lambda: total[0]
    finally:
        speed.timed_reference = timed_reference


# -- recording the requests ------------------------------------------------------------------------------


@contextlib.contextmanager
def recording():
    """The requests of Session.call, get_attribute, set_attribute and train, in order, as the worker receives
    them (values encoded by the tree's own protocol, arrays copied at once), each with its task and outcome."""
    from grader.sandbox import protocol
    from grader.sandbox.session import Session

    requests = []
    originals = {name: getattr(Session, name) for name in ("call", "get_attribute", "set_attribute", "train")}

    def encoded(value):
        tree, arrays = protocol.encode(value)
        return tree, [array.copy() for array in arrays]

    def call(self, target, *args, kwargs=None, keep=None, seed=0, **options):
        key = target if isinstance(target, str) else tuple(target)
        tree, arrays = encoded({"args": tuple(args), "kwargs": dict(kwargs or {})})
        request = {
            "op": "call",
            "target": {"name": target} if isinstance(target, str) else {"handle": target[0], "attr": target[1]},
            "args": tree["d"]["args"],
            "kwargs": tree["d"]["kwargs"],
            "arrays": arrays,
            "keep": keep,
            "seed": seed,
            "sent": key not in getattr(self, "failed_targets", {}),
        }
        return _recorded(
            self,
            requests,
            request,
            originals["call"](self, target, *args, kwargs=kwargs, keep=keep, seed=seed, **options),
        )

    def get_attribute(self, handle, attr, **options):
        request = {"op": "getattr", "handle": handle, "attr": attr, "arrays": []}
        return _recorded(self, requests, request, originals["get_attribute"](self, handle, attr, **options))

    def set_attribute(self, handle, attr, value, **options):
        tree, arrays = encoded(value)
        request = {"op": "setattr", "handle": handle, "attr": attr, "value": tree, "arrays": arrays}
        return _recorded(self, requests, request, originals["set_attribute"](self, handle, attr, value, **options))

    def train(self, handle, data, solver_options, seed=0, **options):
        tree, arrays = encoded({"data": data, "solver": solver_options})
        request = {"op": "train", "handle": handle, "data": tree["d"]["data"], "solver": tree["d"]["solver"]}
        request.update(arrays=arrays, seed=seed)
        return _recorded(
            self, requests, request, originals["train"](self, handle, data, solver_options, seed=seed, **options)
        )

    for name, function in (
        ("call", call),
        ("get_attribute", get_attribute),
        ("set_attribute", set_attribute),
        ("train", train),
    ):
        setattr(Session, name, function)
    try:
        yield requests
    finally:
        for name, function in originals.items():
            setattr(Session, name, function)


def _recorded(session, requests, request, result):
    request.setdefault("sent", True)
    request.update(task=session.task, ok=result.ok, error_kind=result.error_kind)
    requests.append(request)
    return result


def _save_recording(solved, requests, path):
    from grader.discover import load_submission
    from grader.extract import extract

    cells = extract(load_submission(solved)[0]).cells
    with open(path, "wb") as handle:
        pickle.dump({"cells": list(cells), "requests": requests}, handle)


# -- replaying them without a sandbox --------------------------------------------------------------------


def replay(path):
    """Replay a recording in this process: per task a fresh namespace loaded as a fork loads it (untimed, its
    CPU reported apart), then every request in order, its arguments decoded before the clock starts."""
    import grader

    sys.path.insert(0, str(Path(grader.__file__).parent / "sandbox"))  # worker.py and protocol.py, as staged
    import protocol
    import worker

    with open(path, "rb") as handle:
        recorded = pickle.load(handle)
    tally = {"student_cpu": 0.0, "load_cpu": 0.0, "ops": {}, "raised": 0, "mismatched": 0, "skipped": []}
    current_task, fork = object(), None
    quiet = worker.BoundedText()  # what a fork prints goes to such a buffer too
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        for request in recorded["requests"]:
            if not request["sent"]:
                tally["skipped"].append(f"{request['task']}: {request['op']} not sent (an earlier failure)")
                continue
            if request["task"] != current_task:
                current_task, fork = request["task"], worker.Worker(channel=None)
                start = time.process_time()
                fork.op_load({"cells": recorded["cells"]}, [])
                tally["load_cpu"] += time.process_time() - start
            seconds, raised = _replayed(fork, request, protocol, worker)
            tally["student_cpu"] += seconds
            tally["ops"][request["op"]] = tally["ops"].get(request["op"], 0) + 1
            tally["raised"] += raised
            tally["mismatched"] += raised == request["ok"]  # raised here, answered there, or the other way
            quiet.take()
    tally["thread_env_differs"] = _thread_environment_differences()
    _answer(tally)


def _thread_environment_differences():
    """The sandbox's thread variables (OMP_NUM_THREADS...) that this process does not share: numpy read its own
    when it was imported, so the replay ran with these numbers of threads where the sandbox runs with others."""
    try:
        from grader.sandbox.supervisor import _child_environment

        sandbox = _child_environment("/")
    except (ImportError, AttributeError, TypeError):
        return {"unknown": "this tree's sandbox environment could not be read"}
    return {k: v for k, v in sandbox.items() if k.endswith("THREADS") and os.environ.get(k) != v}


def _replayed(fork, request, protocol, worker):
    """(CPU seconds of the request's student code, whether it raised), the fork's handles updated as the
    worker updates them."""
    arrays = [array.copy() for array in request["arrays"]]  # a call may modify what it is given
    try:
        work = _prepared(fork, request, protocol, arrays)
    except Exception:  # a handle an earlier failure never made, a name not defined: the worker raises too
        return 0.0, True
    worker.seed(request.get("seed", 0))
    start = time.process_time()
    try:
        result = work()
    except BaseException:
        return time.process_time() - start, True
    seconds = time.process_time() - start
    if request["op"] == "call" and request["keep"]:
        fork.handles[request["keep"]] = result
    return seconds, False


def _prepared(fork, request, protocol, arrays):
    """The request's student code as a function of no arguments, everything it needs decoded already."""
    op = request["op"]
    if op == "call":
        function = fork._target(request["target"])
        args = protocol.decode(request["args"], arrays, fork.handles)
        kwargs = protocol.decode(request["kwargs"], arrays, fork.handles)
        return lambda: function(*args, **kwargs)
    if op == "getattr":
        model = fork.handles[request["handle"]]
        return lambda: getattr(model, request["attr"])
    if op == "setattr":
        model, value = fork.handles[request["handle"]], protocol.decode(request["value"], arrays, fork.handles)
        return lambda: setattr(model, request["attr"], value)
    if op == "train":
        from assignment.solver import Solver  # the routine the worker's op_train runs

        model = fork.handles[request["handle"]]
        data, options = protocol.decode(request["data"], arrays), protocol.decode(request["solver"], arrays)
        return lambda: Solver(model, data, **options).train()
    raise ValueError(f"unknown request {op!r}")


def _answer(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
