"""The grader's cost figures side by side, for one or two grader source trees ("before" and "after"), from one run.

Run: python benchmarks/bench_cost.py [--before TREE] [--after TREE] [--rounds 3] [--no-otter] [--no-worst] ...
(6 to 10 minutes with the defaults on 2 cores, as loaded; progress goes to stderr, the tables to stdout).

What it needs (the defaults' paths; each can be given as an option), made once:

    git worktree add /tmp/perf/before <an older commit>            # the "before" tree
    python3 -m venv /tmp/perf/venv-alone && /tmp/perf/venv-alone/bin/pip install -e .
    python3 -m venv /tmp/perf/venv-lab && /tmp/perf/venv-lab/bin/pip install -e '.[notebook]' jupyterlab
    python3 -m venv /tmp/perf/venv-otter && /tmp/perf/venv-otter/bin/pip install otter-grader ipykernel \
        matplotlib -e .                                             # otter's kernel imports the assignment

A tree is run as subprocesses of a venv's python with PYTHONPATH=TREE and a scratch folder as the working
directory, so that ``grader``, ``assignment`` and ``solutions`` come from TREE and not from the venv's editable
install of this checkout; where each came from is printed once per tree and venv, and checked. Measurements of
the trees alternate (before, after, before, after...; the order is reversed every other round, with the
baselines in it) and medians are printed, each with the median 1-minute load average read just before its
measurements, so that a busy machine weighs on both sides alike. The solved notebook is written once, by the
last tree's ``grader solve``.

1. Cold ``grader grade``: ``python -m grader.cli grade SOLVED -q``, a fresh process each time, in two venvs:
   ``alone`` (the project only) and ``lab`` (the project with JupyterLab, where importing nbformat is slow).
   Next to it, in the same rounds: executing SOLVED top to bottom in a fresh kernel with ``jupyter nbconvert
   --to notebook --execute`` from that venv (a venv without ipykernel gets the lab venv's python as its
   ``python3`` kernel, through a kernel spec in a scratch JUPYTER_PATH), and ``otter run -a autograder.zip
   SOLVED`` of otter-grader in its own venv. The otter side is kept minimal, to be fair: its zip is built
   here by ``otter generate`` from nine OK-format tests, one per task, each comparing the task's definition
   with the reference in ``solutions`` on the task's public case (values, or the loss and gradients for the
   convnet given fixed weights); ``otter run`` then unpacks the zip, executes the whole notebook in a fresh
   kernel (errors allowed) and runs the nine tests in the kernel's globals. It installs nothing per run. The
   baselines see the last tree on PYTHONPATH. Ratios: grader / nbconvert and grader / otter.
2. Warm CPU: one long-lived process per tree (``cost_probe.py serve``) grades SOLVED once (filling the caches),
   then ``--gradings`` more times, alternating with the other tree's process; per grading the grader's CPU
   (getrusage of its process) plus the sandbox's (each template's own and its reaped forks' CPU, read just
   before it is killed). Then one more grading records every request the grader sends into the sandbox
   (Session.call, get_attribute, set_attribute, train), and ``cost_probe.py replay`` replays them in a fresh
   process without any sandbox, on the definitions the grader extracts from SOLVED, loaded per task as a fork
   loads them, with the sandbox's one BLAS thread: the student's own code's CPU (the calls, and the worker's
   Solver run for ``train``), arguments decoded before the clock starts. Ratio: warm CPU / student CPU.
   Beside it, this design's floor: the ratio if all else cost nothing, with the student's code, the reference
   loops and fast layers the speed checks time in the grader (SPEC: the student's function against the
   reference loops on the same inputs, and the fast layers' speed-up; kept times already spare a backward's
   rounds), and the template's own CPU (its start, imports and forks: a sandbox of its own per submission).
3. Class marginal cost: ``grader grade-class -j 2`` on classes of ``--small`` and ``--large`` copies of SOLVED
   (a fresh results folder each time); marginal = (t_large - t_small) / (large - small). Target <= 0.5 s.
4. Worst case: SOLVED with the body of every one of the nine task definitions (every method of the convnet's
   class) replaced by ``while True: pass``, graded cold. Target <= 90 s.
5. Gradescope cold start: the tree's ``grader autograder OUT.zip``, unpacked once; its setup.sh's grader-cache
   lines (a warm-up step, if it has one) run once against the venv; then per round a fresh AUTOGRADER_ROOT with
   the zip's files in source/ and SOLVED in submission/, timing ``source/run_autograder`` from its start to its
   exit (it writes a placeholder results.json first, so the final one exists only at exit), `grader` on PATH
   being the venv's python with PYTHONPATH=TREE. Ratio: Gradescope cold start / otter run (what otter's own
   autograder runs per submission).

Not measured: the page cache and the .pyc files of a fresh container (every run here finds them warm), setup.sh's
installs, Gradescope's own upload and container start, a class run on Dask, and grading of wrong submissions
other than the one that hangs everywhere.
"""

import argparse
import ast
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # bench_class beside this file, whether run or imported
from bench_class import make_class  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("cost_probe.py")
PERF = Path("/tmp/perf")
MARGINAL_TARGET = 0.5  # seconds of wall time per submission in a class graded with -j 2 (the target)
WORST_TARGET = 90.0  # seconds to grade a submission whose every task function hangs (the target)
WORKERS = 2
# The sandbox's thread variables (grader/sandbox/supervisor.py, _child_environment): the replay of the student's
# code runs with them too, numpy reading them at import; the probe says if the tree's differ.
SANDBOX_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
# Never inherited: the tree comes from PYTHONPATH alone, and a disk cache only where setup.sh's warm-up made one.
# PYTHONDONTWRITEBYTECODE: where it is set every process compiles every module it imports at each start
# (0.2 s of a cold grading here), which no installed grader, kernel or otter does.
DROPPED_VARIABLES = ("PYTHONPATH", "VIRTUAL_ENV", "GRADER_CACHE_DIR", "JUPYTER_PATH", "PYTHONDONTWRITEBYTECODE")
# A line of setup.sh that belongs to the grader's cache: it names the cache's variable, or runs the grader
# to fill a cache or warm something up.
WARM_UP_LINE = re.compile(r"GRADER_CACHE|\bgrader\b.*\b(cache|warm)", re.IGNORECASE)
GRADESCOPE_VENV = "/opt/convnet-grader"  # where setup.sh installs the grader (grader.bundles.autograder.VENV)
CACHE_ASSIGNMENT = re.compile(r"GRADER_CACHE_DIR=[\"']?([^\s\"';]+)")  # the folder setup.sh's warm-up fills
SYSTEM_FOLDER = re.compile(r"(?<![\w}])/(var|opt|etc|root|home|srv|usr/local)\b")  # never written by this benchmark


@dataclass(frozen=True)
class Tree:
    """A grader source tree, run as PYTHONPATH=path."""

    label: str
    path: Path
    cache: Path
    """Its disk cache folder (GRADER_CACHE_DIR, for a tree that has one), in scratch: ~/.cache is never used."""

    def env(self, **extra):
        env = {key: value for key, value in os.environ.items() if key not in DROPPED_VARIABLES}
        return dict(env, PYTHONPATH=str(self.path), GRADER_CACHE_DIR=str(self.cache)) | extra


@dataclass
class Samples:
    """Seconds measured again and again, each with the 1-minute load average read just before it."""

    seconds: list = field(default_factory=list)
    loads: list = field(default_factory=list)

    def add(self, seconds, load):
        self.seconds.append(seconds)
        self.loads.append(load)

    @property
    def median(self):
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def load(self):
        return statistics.median(self.loads) if self.loads else float("nan")


def say(text):
    print(text, file=sys.stderr, flush=True)


def run(command, env, cwd, timeout=900):
    """(seconds, load average before, stdout) of ``command``, which must exit 0."""
    load, start = os.getloadavg()[0], time.perf_counter()
    finished = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(map(str, command))} exited {finished.returncode}:\n{tail}")
    return seconds, load, finished.stdout


def alternated(items, round_index):
    """``items`` in order on even rounds and reversed on odd ones: drift weighs on every item alike."""
    return list(items) if round_index % 2 == 0 else list(reversed(items))


def grader_command(venv, *args):
    return [str(venv / "bin" / "python"), "-m", "grader.cli", *map(str, args)]


def total_score(table):
    """The total of ``grader grade -q``'s table, e.g. '100 / 100', or '?'."""
    match = re.search(r"^total\s+(.+?)\s*$", table, re.MULTILINE)
    return match.group(1) if match else "?"


# -- the trees and the notebooks ----------------------------------------------------------------------------


def check_trees(trees, venvs, work):
    """The task table's definitions, after confirming that PYTHONPATH wins over every venv's editable install."""
    definitions = None
    for tree in trees:
        for name, venv in venvs.items():
            _, _, out = run([str(venv / "bin" / "python"), str(PROBE), "where"], tree.env(), work)
            answer = json.loads(out)
            wrong = {module: file for module, file in answer["files"].items() if not _inside(file, tree.path)}
            if wrong:
                raise SystemExit(f"bench_cost: in {name}, PYTHONPATH={tree.path} does not win: {wrong}")
            print(f"{tree.label} tree in {name}: grader from {answer['files']['grader']}")
            definitions = answer["definitions"]
    return definitions


def _inside(file, folder):
    return Path(file).resolve().is_relative_to(folder.resolve())


def solved_notebook(tree, venv, work):
    out = work / "solved" / "ConvolutionalNetworks.ipynb"
    out.parent.mkdir()
    notebook = tree.path / "notebooks" / "ConvolutionalNetworks.ipynb"
    run(grader_command(venv, "solve", notebook, "-o", out), tree.env(), work)
    return out


def hanging_notebook(solved, definitions, out):
    """``solved`` with the body of each task definition (each method, for a class) replaced by an endless loop."""
    notebook = json.loads(solved.read_text(encoding="utf-8"))
    spun = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"], names = spinning(source, set(definitions.values()))
            spun |= names
    missing = set(definitions.values()) - spun
    if missing:
        raise SystemExit(f"bench_cost: no definition of {sorted(missing)} found to make hang")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return out


def spinning(source, names):
    """(``source`` with every top-level function in ``names``, and every method of a class in ``names``,
    made to spin, the names changed)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, set()
    functions, changed = [], set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            functions.append(node)
        elif isinstance(node, ast.ClassDef) and node.name in names:
            functions += [item for item in node.body if isinstance(item, ast.FunctionDef)]
        else:
            continue
        changed.add(node.name)
    lines = source.splitlines(keepends=True)
    for function in sorted(functions, key=lambda node: node.lineno, reverse=True):
        first, last = function.body[0], function.body[-1]
        if first.lineno == function.lineno:
            raise ValueError(f"{function.name}: a body on the def line is not handled")
        indent = " " * first.col_offset
        lines[first.lineno - 1 : last.end_lineno] = [f"{indent}while True:\n", f"{indent}    pass\n"]
    return "".join(lines), changed


# -- 1. cold grading, nbconvert and otter --------------------------------------------------------------------


def has_ipykernel(venv):
    return any(venv.glob("lib/python3*/site-packages/ipykernel"))


def kernel_path(venvs, work):
    """A JUPYTER_PATH whose python3 kernel is the first venv with ipykernel, for the venvs without one."""
    kernel_venv = next((venv for venv in venvs.values() if has_ipykernel(venv)), None)
    if kernel_venv is None:
        return None, None
    folder = work / "jupyter"
    (folder / "kernels" / "python3").mkdir(parents=True)
    spec = {
        "argv": [str(kernel_venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (folder / "kernels" / "python3" / "kernel.json").write_text(json.dumps(spec))
    return folder, kernel_venv


# One OK-format test per task: its definition against the reference on the task's public case.
OTTER_PREAMBLE = (
    ">>> import numpy as np, solutions\n"
    ">>> from assignment.tasks import TABLE\n"
    ">>> task = TABLE[{task!r}]\n"
    ">>> c = task.inputs(**task.public_case)\n"
)
OTTER_CHECKS = {
    "conv": (
        ">>> args = (c['x'], c['w'], c['b'], c['conv_param'])\n"
        ">>> ours, ref = {forward}(*args), solutions.{forward}(*args)\n"
    ),
    "pool": (">>> args = (c['x'], c['pool_param'])\n>>> ours, ref = {forward}(*args), solutions.{forward}(*args)\n"),
    "batchnorm": (
        ">>> args = (c['x'], c['gamma'], c['beta'], {{'mode': 'train'}})\n"
        ">>> ours, ref = {forward}(*args), solutions.{forward}(*args)\n"
    ),
    "groupnorm": (
        ">>> args = (c['x'], c['gamma'], c['beta'], 2, {{}})\n"
        ">>> ours, ref = {forward}(*args), solutions.{forward}(*args)\n"
    ),
}
OTTER_FORWARD_END = ">>> bool(np.allclose(ours[0], ref[0]))\nTrue"
OTTER_BACKWARD_END = (
    ">>> grads = {backward}(c['dout'], ours[1]), solutions.{backward}(c['dout'], ref[1])\n"
    ">>> all(np.allclose(a, b) for a, b in zip(*grads))\nTrue"
)
OTTER_CONVNET = (
    ">>> p = task.public_case\n"
    ">>> shape = dict(input_dim=p['input_dim'], num_filters=p['num_filters'], filter_size=p['filter_size'], "
    "hidden_dim=p['hidden_dim'], num_classes=p['num_classes'], reg=p['reg'], dtype=np.float64)\n"
    ">>> ours, ref = ThreeLayerConvNet(**shape), solutions.ThreeLayerConvNet(**shape)\n"
    ">>> ours.params = {k: v.copy() for k, v in c['params'].items()}\n"
    ">>> ref.params = {k: v.copy() for k, v in c['params'].items()}\n"
    ">>> (loss, grads), (ref_loss, ref_grads) = ours.loss(c['X'], c['y']), ref.loss(c['X'], c['y'])\n"
    ">>> bool(np.isclose(loss, ref_loss)) and all(np.allclose(grads[k], ref_grads[k]) for k in ref_grads)\nTrue"
)
OTTER_TASKS = {  # task id -> (family of its call, forward, backward or None)
    "conv_forward_naive": ("conv", "conv_forward_naive", None),
    "conv_backward_naive": ("conv", "conv_forward_naive", "conv_backward_naive"),
    "max_pool_forward_naive": ("pool", "max_pool_forward_naive", None),
    "max_pool_backward_naive": ("pool", "max_pool_forward_naive", "max_pool_backward_naive"),
    "three_layer_convnet": ("convnet", None, None),
    "spatial_batchnorm_forward": ("batchnorm", "spatial_batchnorm_forward", None),
    "spatial_batchnorm_backward": ("batchnorm", "spatial_batchnorm_forward", "spatial_batchnorm_backward"),
    "spatial_groupnorm_forward": ("groupnorm", "spatial_groupnorm_forward", None),
    "spatial_groupnorm_backward": ("groupnorm", "spatial_groupnorm_forward", "spatial_groupnorm_backward"),
}


def otter_test(task_id):
    """The OK-format test file of ``task_id``."""
    family, forward, backward = OTTER_TASKS[task_id]
    code = OTTER_PREAMBLE.format(task=task_id)
    if family == "convnet":
        code += OTTER_CONVNET
    else:
        code += OTTER_CHECKS[family].format(forward=forward)
        code += OTTER_BACKWARD_END.format(backward=backward) if backward else OTTER_FORWARD_END
    case = {"code": code, "hidden": False, "locked": False}
    suite = {"cases": [case], "scored": True, "setup": "", "teardown": "", "type": "doctest"}
    test = {"name": task_id, "points": 1, "suites": [suite]}
    return f"OK_FORMAT = True\n\ntest = {test!r}\n"


def otter_autograder(otter_venv, tree, work):
    """autograder.zip made by ``otter generate`` from the nine tests, in a folder of its own."""
    folder = work / "otter"
    (folder / "tests").mkdir(parents=True)
    for task_id in OTTER_TASKS:
        (folder / "tests" / f"{task_id}.py").write_text(otter_test(task_id))
    command = [str(otter_venv / "bin" / "otter"), "generate", "-t", "tests", "-o", "autograder.zip"]
    run(command + ["--no-config", "--no-requirements", "--no-environment"], tree.env(), folder)
    return folder / "autograder.zip"


def otter_score(out):
    """Points otter's results.json gives, the sum of its tests' scores (it has no total of its own)."""
    results = json.loads((out / "results.json").read_text())
    return sum(test.get("score") or 0 for test in results.get("tests", []))


@dataclass(frozen=True)
class Baselines:
    """How figure 1 runs what the grader is compared with."""

    solved: Path
    tree: Tree
    """The tree on PYTHONPATH of both baselines (for ``assignment`` and ``solutions``)."""
    jupyter_path: Path | None
    """A JUPYTER_PATH giving a python3 kernel to a venv without ipykernel."""
    otter_venv: Path | None
    otter_zip: Path | None


def cold_figures(trees, venvs, otter_venv, solved, rounds, work):
    """{(what, venv name or None, tree label or None): Samples} for figure 1."""
    jupyter_path, kernel_venv = kernel_path(venvs, work)
    jobs = []
    for name, venv in venvs.items():
        jobs += [("grader", name, tree) for tree in trees]
        if has_ipykernel(venv) or jupyter_path is not None:
            jobs.append(("nbconvert", name, None))
        if not has_ipykernel(venv):
            how = f"runs the kernel of {kernel_venv}" if kernel_venv else "is not run (no venv has ipykernel)"
            print(f"note: {name} has no ipykernel: its nbconvert {how}")
    otter_zip = otter_autograder(otter_venv, trees[-1], work) if otter_venv else None
    jobs += [("otter", None, None)] if otter_zip else []
    baselines = Baselines(solved, trees[-1], jupyter_path, otter_venv, otter_zip)
    samples = {}
    for round_index in range(rounds):
        for what, name, tree in alternated(jobs, round_index):
            key = (what, name, tree.label if tree else None)
            out = work / f"cold-{round_index}-{what}-{name}-{key[2]}"
            out.mkdir()
            command, env = cold_command(what, venvs.get(name), tree, baselines, out)
            seconds, load, stdout = run(command, env, out)
            samples.setdefault(key, Samples()).add(seconds, load)
            say(
                f"[cold {round_index + 1}/{rounds}] {' '.join(filter(None, (what, key[2])))} ({name or 'otter venv'}): "
                f"{seconds:.1f} s, load {load:.2f}{checked(what, stdout, out)}"
            )
    return samples


def cold_command(what, venv, tree, baselines, out):
    """(command, environment) of one cold run of figure 1, writing what it writes into ``out``."""
    if what == "grader":
        return grader_command(venv, "grade", baselines.solved, "-q"), tree.env()
    if what == "nbconvert":
        command = [str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(baselines.solved)]
        command += ["--output-dir", str(out), "--output", "executed", "--ExecutePreprocessor.timeout=600"]
        borrowed = {} if has_ipykernel(venv) else {"JUPYTER_PATH": str(baselines.jupyter_path)}
        return command, baselines.tree.env(**borrowed)
    otter = str(baselines.otter_venv / "bin" / "otter")
    return [otter, "run", "-a", str(baselines.otter_zip), str(baselines.solved), "-o", str(out)], baselines.tree.env()


def checked(what, stdout, out):
    """', score ...' of a grading or an otter run (an otter run without full marks stops the benchmark)."""
    if what == "grader":
        return f", score {total_score(stdout)}"
    if what == "otter":
        score = otter_score(out)
        if score != len(OTTER_TASKS):
            raise RuntimeError(f"otter run scored {score} of {len(OTTER_TASKS)}: see {out}/results.json")
        return f", score {score:g} / {len(OTTER_TASKS)}"
    return ""


def print_cold(samples, trees, venvs):
    otter = samples.get(("otter", None, None))
    rows = []
    for name in venvs:
        nbconvert = samples.get(("nbconvert", name, None))
        for tree in trees:
            own = samples[("grader", name, tree.label)]
            rows.append(
                [
                    f"{tree.label} ({name})",
                    f"{own.median:.2f}",
                    _ratio(own, nbconvert),
                    _ratio(own, otter),
                    f"{own.load:.2f}",
                ]
            )
        if nbconvert:
            rows.append([f"nbconvert ({name})", f"{nbconvert.median:.2f}", "", "", f"{nbconvert.load:.2f}"])
    if otter:
        rows.append(["otter run", f"{otter.median:.2f}", "", "", f"{otter.load:.2f}"])
    print_table(
        "1. cold `grader grade SOLVED -q` (fresh process) vs executing the notebook (nbconvert) and `otter run`",
        ["", "seconds", "/ nbconvert", "/ otter", "load"],
        rows,
    )


def _ratio(own, other):
    return f"{own.median / other.median:.2f}" if other and other.seconds else "-"


# -- 2. warm grading CPU against the student's own code ------------------------------------------------------


class Server:
    """A ``cost_probe.py serve`` process of one tree: one grader process, asked one command at a time."""

    def __init__(self, tree, venv, solved, work):
        self.tree = tree
        self.process = subprocess.Popen(
            [str(venv / "bin" / "python"), str(PROBE), "serve", str(solved)],
            env=tree.env(),
            cwd=work,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"cost_probe serve ({self.tree.label}) ended before answering {command!r}")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def warm_figures(trees, venv, solved, gradings, rounds, work):
    """Per tree: its first grading, its warm gradings (Samples of CPU seconds), what its replays measured."""
    servers = [Server(tree, venv, solved, work) for tree in trees]
    figures = {tree.label: {"first": None, "warm": Samples(), "parts": [], "replays": []} for tree in trees}
    try:
        for server in servers:
            figures[server.tree.label]["first"] = server.ask("grade")
            say(f"[warm] first grading {server.tree.label}: {figures[server.tree.label]['first']}")
        for index in range(gradings):
            for server in alternated(servers, index):
                load, answer = os.getloadavg()[0], server.ask("grade")
                figure = figures[server.tree.label]
                figure["warm"].add(answer["grader_cpu"] + answer["sandbox_cpu"], load)
                figure["parts"].append(answer)
                say(f"[warm {index + 1}/{gradings}] {server.tree.label}: {answer}")
        for server in servers:
            recording = work / f"requests-{server.tree.label}.pkl"
            recorded = server.ask(f"record {recording}")
            say(f"[warm] recorded {server.tree.label}: {recorded}")
    finally:
        for server in servers:
            server.close()
    replay_env = {tree.label: tree.env(**SANDBOX_THREADS) for tree in trees}
    for index in range(rounds):
        for tree in alternated(trees, index):
            command = [str(venv / "bin" / "python"), str(PROBE), "replay", str(work / f"requests-{tree.label}.pkl")]
            _, load, out = run(command, replay_env[tree.label], work)
            answer = dict(json.loads(out), load=load)
            figures[tree.label]["replays"].append(answer)
            say(f"[replay {index + 1}/{rounds}] {tree.label}: student CPU {answer['student_cpu']:.3f} s")
    return figures


def print_warm(figures, gradings):
    rows = []
    for label, figure in figures.items():
        warm, replays = figure["warm"], figure["replays"]
        student, reference, template, floor = warm_floor(figure)
        grader = statistics.median(part["grader_cpu"] for part in figure["parts"])
        sandbox = statistics.median(part["sandbox_cpu"] for part in figure["parts"])
        load = statistics.median(warm.loads + [replay["load"] for replay in replays])
        rows.append(
            [
                label,
                f"{warm.median:.2f}",
                f"{grader:.2f}",
                f"{sandbox:.2f}",
                f"{student:.3f}",
                "-" if reference is None else f"{reference:.3f}",
                "-" if template is None else f"{template:.3f}",
                f"{warm.median / student:.1f}",
                "-" if floor is None else f"{floor / student:.2f}",
                f"{load:.2f}",
            ]
        )
    print_table(
        f"2. warm grading CPU (grader + sandbox, median of {gradings}, after a first grading) vs the student's "
        "own code's CPU (the same requests replayed without a sandbox); reference: the reference loops and fast "
        "layers timed in the grader (part of 'grader'), template: the sandbox's own start and forks (part of "
        "'sandbox'); floor: (student + reference + template) / student",
        [
            "",
            "warm cpu s",
            "grader",
            "sandbox",
            "student cpu s",
            "reference",
            "template",
            "warm / student",
            "floor",
            "load",
        ],
        rows,
    )
    for label, figure in figures.items():
        first, replay = figure["first"], figure["replays"][0]
        ops = ", ".join(f"{count} {op}" for op, count in replay["ops"].items())
        print(
            f"  {label}: first grading {first['grader_cpu'] + first['sandbox_cpu']:.2f} s CPU "
            f"({first['wall']:.1f} s wall); replayed {ops}; raised {replay['raised']} "
            f"(answered differently by the sandbox: {replay['mismatched']}); the definitions' load per task "
            f"({replay['load_cpu']:.3f} s CPU) is not counted as the student's"
        )
        skipped = replay["skipped"] + [
            f"sandbox thread variable {k}={v} not applied" for k, v in replay["thread_env_differs"].items()
        ]
        print(f"  {label}: not replayed: {'; '.join(skipped) if skipped else 'nothing'}")


def warm_floor(figure):
    """(student CPU, reference CPU, template CPU, their sum: the floor) of a tree's warm figures, medians; the
    floor is None where a part was not measured."""
    student = statistics.median(replay["student_cpu"] for replay in figure["replays"])
    parts = [[part[name] for part in figure["parts"] if name in part] for name in ("reference_cpu", "template_cpu")]
    reference, template = (statistics.median(values) if values else None for values in parts)
    floor = student + reference + template if reference is not None and template is not None else None
    return student, reference, template, floor


# -- 3. a class's marginal cost ------------------------------------------------------------------------------


def class_figures(trees, venv, solved, small, large, rounds, work):
    """{(tree label, class size): Samples} of ``grader grade-class -j 2``."""
    classes = {size: make_class(work / f"class-{size}", solved, size) for size in (small, large)}
    jobs = [(tree, size) for size in (small, large) for tree in trees]
    samples = {}
    for index in range(rounds):
        for tree, size in alternated(jobs, index):
            out = work / f"class-out-{tree.label}-{size}-{index}"
            command = grader_command(venv, "grade-class", classes[size], "--out", out, "-j", WORKERS)
            seconds, load, _ = run(command, tree.env(), work, timeout=1800)
            samples.setdefault((tree.label, size), Samples()).add(seconds, load)
            say(f"[class {index + 1}/{rounds}] {tree.label}, {size} students: {seconds:.1f} s, load {load:.2f}")
    return samples


def marginal(samples, label, small, large):
    return (samples[(label, large)].median - samples[(label, small)].median) / (large - small)


def print_class(samples, trees, small, large):
    rows = []
    for tree in trees:
        both = samples[(tree.label, small)], samples[(tree.label, large)]
        cost = marginal(samples, tree.label, small, large)
        load = statistics.median(both[0].loads + both[1].loads)
        rows.append(
            [
                tree.label,
                f"{both[0].median:.1f}",
                f"{both[1].median:.1f}",
                f"{cost:.2f}",
                f"{cost / MARGINAL_TARGET:.2f}",
                f"{MARGINAL_TARGET}",
                f"{load:.2f}",
            ]
        )
    print_table(
        f"3. class marginal cost: `grader grade-class -j {WORKERS}` on {small} and {large} solved notebooks",
        ["", f"{small} s", f"{large} s", "marginal s", "/ target", "target", "load"],
        rows,
    )


# -- 4. the worst case -----------------------------------------------------------------------------------------


def worst_figures(trees, venv, hanging, rounds, work):
    samples, scores = {}, {}
    for index in range(rounds):
        for tree in alternated(trees, index):
            seconds, load, out = run(grader_command(venv, "grade", hanging, "-q"), tree.env(), work, timeout=1800)
            samples.setdefault(tree.label, Samples()).add(seconds, load)
            scores[tree.label] = total_score(out)
            say(
                f"[worst {index + 1}/{rounds}] {tree.label}: {seconds:.1f} s, load {load:.2f}, score {scores[tree.label]}"
            )
    return samples, scores


def print_worst(samples, scores):
    rows = [
        [
            label,
            f"{s.median:.1f}",
            f"{s.median / WORST_TARGET:.2f}",
            f"{WORST_TARGET:g}",
            f"{s.load:.2f}",
            scores[label],
        ]
        for label, s in samples.items()
    ]
    print_table(
        "4. worst case: every task definition spins (`while True: pass`), graded cold",
        ["", "seconds", "/ target", "target", "load", "score"],
        rows,
    )


# -- 5. Gradescope cold start ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Autograder:
    """A tree's autograder zip unpacked, as a Gradescope image holds it after setup.sh."""

    source: Path
    """The zip's files (Gradescope's /autograder/source)."""
    venv: Path
    """A folder whose bin/ holds ``grader`` and ``python`` running the tree (setup.sh's venv, and PATH's grader)."""
    cache: Path | None
    """The disk cache setup.sh's warm-up step filled (a copy of it starts every run), or None: no such step."""
    warm_up: tuple
    """setup.sh's lines that were run as its warm-up step."""


# Leading options of ``python`` whose -I (isolated mode) would ignore PYTHONPATH, the very thing that chooses the
# tree: the shim runs -s instead (no user site, as -I), every other argument untouched.
PYTHON_SHIM = """#!/bin/sh
leading=1
for arg in "$@"; do
    shift
    if [ "$leading" = 1 ] && [ "$arg" = "-I" ]; then arg=-s; fi
    case "$arg" in -m|-c|[!-]*) leading=0;; esac
    set -- "$@" "$arg"
done
PYTHONPATH={tree} exec {python} "$@"
"""


def shim(folder, tree, venv):
    """A folder whose bin/ holds ``grader`` and ``python`` running the venv's python with PYTHONPATH=tree."""
    (folder / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    scripts = {
        "grader": f'#!/bin/sh\nPYTHONPATH={tree.path} exec {python} -m grader.cli "$@"\n',
        "python": PYTHON_SHIM.format(tree=tree.path, python=python),
    }
    for name, text in scripts.items():
        (folder / "bin" / name).write_text(text)
        (folder / "bin" / name).chmod(0o755)
    return folder


def warm_up_lines(setup_text):
    """setup.sh's commands (continuation lines joined) that belong to the grader's cache."""
    commands = re.sub(r"\\\n\s*", " ", setup_text).splitlines()
    return [line for line in commands if not line.lstrip().startswith("#") and WARM_UP_LINE.search(line)]


def redirected(lines, fake_venv, cache):
    """``lines`` with setup.sh's venv and every folder it assigns to GRADER_CACHE_DIR moved into scratch folders;
    None if a line still names a system folder (it is then not run: nothing outside scratch is written)."""
    folders = {GRADESCOPE_VENV: str(fake_venv)}
    folders.update({match: str(cache) for line in lines for match in CACHE_ASSIGNMENT.findall(line)})
    moved = []
    for line in lines:
        for old, new in sorted(folders.items(), key=lambda item: -len(item[0])):
            line = line.replace(old, new)
        if SYSTEM_FOLDER.search(line):
            return None
        moved.append(line)
    return moved


def prepare_gradescope(tree, venv, work):
    """The tree's autograder zip, built by its own ``grader autograder`` and unpacked, its warm-up step run."""
    folder = work / f"gradescope-{tree.label}"
    folder.mkdir()
    seconds, _, _ = run(grader_command(venv, "autograder", folder / "autograder.zip"), tree.env(), work)
    with zipfile.ZipFile(folder / "autograder.zip") as archive:
        archive.extractall(folder / "source")
    (folder / "source" / "run_autograder").chmod(0o755)
    fake_venv = shim(folder / "venv", tree, venv)
    lines = warm_up_lines((folder / "source" / "setup.sh").read_text())
    moved = redirected(lines, fake_venv, folder / "cache")
    if lines and moved is None:
        print(f"note: {tree.label}: setup.sh's warm-up names a system folder; not run: {' | '.join(lines)}")
    cache = run_warm_up(moved, folder, fake_venv, tree) if lines and moved else None
    found = f"found, ran: {' | '.join(line.strip() for line in moved)}" if cache else "none run"
    print(f"{tree.label}: autograder zip built in {seconds:.1f} s; setup.sh warm-up step: {found}")
    return Autograder(folder / "source", fake_venv, cache, tuple(moved or ()) if cache else ())


def run_warm_up(lines, folder, fake_venv, tree):
    """Run setup.sh's cache lines as setup.sh would (SOURCE the unpacked zip, VENV the fake venv); the cache
    folder they filled."""
    script = "\n".join(
        [
            "set -euo pipefail",
            f"SOURCE={folder / 'source'}",
            f"VENV={fake_venv}",
            f"export PATH={fake_venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            *lines,
        ]
    )
    seconds, _, _ = run(["bash", "-c", script], tree.env(GRADER_CACHE_DIR=str(folder / "cache")), folder, timeout=1800)
    cache = folder / "cache"
    entries = len(list(cache.iterdir())) if cache.is_dir() else 0
    say(f"[gradescope] {tree.label}: warm-up step ran in {seconds:.1f} s, {entries} cache entries")
    if not entries:  # setup.sh goes on when its warm-up fails ('|| echo ...'): so does this, saying so
        print(f"note: {tree.label}: setup.sh's warm-up step ran but left its cache empty")
    return cache


def gradescope_figures(trees, venv, solved, rounds, work):
    """({tree label: Samples} of run_autograder, {tree label: its Autograder})."""
    autograders = {tree.label: prepare_gradescope(tree, venv, work) for tree in trees}
    samples = {}
    for index in range(rounds):
        for tree in alternated(trees, index):
            seconds, load = gradescope_run(autograders[tree.label], solved, work / f"gradescope-{tree.label}-{index}")
            samples.setdefault(tree.label, Samples()).add(seconds, load)
            say(f"[gradescope {index + 1}/{rounds}] {tree.label}: {seconds:.1f} s, load {load:.2f}")
    return samples, autograders


def gradescope_run(autograder, solved, root):
    """(seconds, load) of one submission's run in a fresh container: a new AUTOGRADER_ROOT, the image's cache as
    setup.sh left it (or an empty one: a container's home holds no cache of its own)."""
    shutil.copytree(autograder.source, root / "source")
    (root / "submission").mkdir()
    shutil.copy(solved, root / "submission" / "ConvolutionalNetworks.ipynb")
    if autograder.cache is not None and autograder.cache.is_dir():
        shutil.copytree(autograder.cache, root / "cache")
    else:
        (root / "cache").mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_VARIABLES}
    env.update(
        AUTOGRADER_ROOT=str(root),
        GRADER_CACHE_DIR=str(root / "cache"),
        PATH=f"{autograder.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    )
    seconds, load, _ = run([str(root / "source" / "run_autograder")], env, root)
    score = json.loads((root / "results" / "results.json").read_text()).get("score")
    if score != 100:
        raise RuntimeError(f"run_autograder scored {score}: see {root}/results/results.json")
    return seconds, load


def print_gradescope(samples, autograders, otter):
    rows = [
        [label, f"{s.median:.2f}", _ratio(s, otter), "yes" if autograders[label].warm_up else "no", f"{s.load:.2f}"]
        for label, s in samples.items()
    ]
    print_table(
        "5. Gradescope cold start: run_autograder in a fresh AUTOGRADER_ROOT, from start to exit",
        ["", "seconds", "/ otter", "warm-up", "load"],
        rows,
    )


# -- output -----------------------------------------------------------------------------------------------------


def print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i]) for i, cell in enumerate(row)]
        print("  " + "  ".join(cells))


def print_summary(trees, ratios):
    """``ratios``: (name, {tree label: value or None}) in order."""
    labels = [tree.label for tree in trees]
    rows = [
        [name] + [f"{values[label]:.2f}" if values.get(label) is not None else "-" for label in labels]
        for name, values in ratios
    ]
    print_table("summary: the ratios (lower is better)", ["ratio"] + labels, rows)


def summary_ratios(trees, venvs, small, large, cold, warm, classes, worst, gradescope):
    otter = cold.get(("otter", None, None)) if cold else None
    floors = {label: warm_floor(figure) for label, figure in (warm or {}).items()}
    ratios = []
    for name in venvs:
        nbconvert = cold.get(("nbconvert", name, None)) if cold else None
        ratios.append(
            (f"1a. cold grade / otter run ({name})", _per_tree(trees, cold, lambda t: ("grader", name, t), otter))
        )
        ratios.append(
            (f"1b. cold grade / nbconvert ({name})", _per_tree(trees, cold, lambda t: ("grader", name, t), nbconvert))
        )
    ratios.append(
        (
            "2. warm CPU / student CPU",
            {
                label: f["warm"].median / statistics.median(r["student_cpu"] for r in f["replays"])
                for label, f in (warm or {}).items()
            },
        )
    )
    ratios.append(
        (
            "2. this design's floor / student CPU",
            {label: floor / student for label, (student, _, _, floor) in floors.items() if floor is not None},
        )
    )
    ratios.append(
        (
            "3. class marginal / 0.5 s target",
            {t.label: marginal(classes, t.label, small, large) / MARGINAL_TARGET for t in trees} if classes else {},
        )
    )
    ratios.append(
        ("4. worst case / 90 s target", {label: s.median / WORST_TARGET for label, s in (worst or {}).items()})
    )
    ratios.append(
        (
            "5. Gradescope cold start / otter run",
            {label: s.median / otter.median for label, s in (gradescope or {}).items()} if otter else {},
        )
    )
    return ratios


def _per_tree(trees, samples, key, other):
    if not samples or not other:
        return {}
    return {tree.label: samples[key(tree.label)].median / other.median for tree in trees}


# -- the run ----------------------------------------------------------------------------------------------------


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=PERF / "before", help="the previous tree ('' to leave out)")
    parser.add_argument("--after", type=Path, default=ROOT, help="the tree under test (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of the cold and Gradescope figures")
    parser.add_argument("--heavy-rounds", type=int, default=1, help="alternated rounds of the class and worst case")
    parser.add_argument("--gradings", type=int, default=5, help="warm gradings per tree, alternated")
    parser.add_argument("--small", type=int, default=10, help="submissions in the small class")
    parser.add_argument("--large", type=int, default=40, help="submissions in the large class")
    parser.add_argument("--venv-alone", type=Path, default=PERF / "venv-alone", help="the project alone")
    parser.add_argument("--venv-lab", type=Path, default=PERF / "venv-lab", help="the project with JupyterLab")
    parser.add_argument("--venv-otter", type=Path, default=PERF / "venv-otter", help="otter-grader's venv")
    for figure in ("cold", "otter", "warm", "class", "worst", "gradescope"):
        parser.add_argument(f"--no-{figure}", action="store_true", help=f"skip the {figure} figure")
    args = parser.parse_args(argv)
    if args.large <= args.small or min(args.rounds, args.heavy_rounds, args.gradings, args.small) < 1:
        parser.error("--large must exceed --small, and every count must be at least 1")
    return args


def main(argv=None):
    args = parse(argv)
    chosen = [("before", args.before), ("after", args.after)]
    paths = {label: path.resolve() for label, path in chosen if str(path) not in ("", ".") or label == "after"}
    paths = {label: path for label, path in paths.items() if (path / "grader").is_dir() or _missing(label, path)}
    venvs = {
        name: venv
        for name, venv in (("alone", args.venv_alone), ("lab", args.venv_lab))
        if (venv / "bin" / "python").exists() or _missing(f"venv {name}", venv)
    }
    otter_venv = args.venv_otter if not args.no_otter and (args.venv_otter / "bin" / "otter").exists() else None
    if otter_venv is None:
        print(f"note: otter is not run (--no-otter, or no otter in {args.venv_otter})")
    venv = next(iter(venvs.values()))
    print(
        f"trees: {', '.join(f'{label} = {path}' for label, path in paths.items())}; venvs: "
        f"{', '.join(f'{name} = {path}' for name, path in venvs.items())}; load average now {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as scratch:
        work = Path(scratch)
        trees = [Tree(label, path, work / f"cache-{label}") for label, path in paths.items()]
        definitions = check_trees(trees, venvs, work)
        solved = solved_notebook(trees[-1], venv, work)
        prime(trees, venv, solved, work)
        figures = run_figures(args, trees, venvs, venv, otter_venv, solved, definitions, work)
        print_summary(trees, summary_ratios(trees, venvs, args.small, args.large, **figures))
    return 0


def prime(trees, venv, solved, work):
    """One untimed cold grading per tree, which fills its disk cache (for a tree that has one): every timed run
    then finds the cache as any grading after the first does."""
    seconds = {tree.label: run(grader_command(venv, "grade", solved, "-q"), tree.env(), work)[0] for tree in trees}
    shown = ", ".join(f"{label} {value:.1f} s" for label, value in seconds.items())
    print(f"first cold grading of each tree (an empty disk cache in scratch; not counted): {shown}")


def run_figures(args, trees, venvs, venv, otter_venv, solved, definitions, work):
    """Each figure asked for, printed as soon as it is measured; their measurements, for the summary."""
    figures = dict(cold=None, warm=None, classes=None, worst=None, gradescope=None)
    if not args.no_cold:
        figures["cold"] = cold_figures(trees, venvs, otter_venv, solved, args.rounds, work)
        print_cold(figures["cold"], trees, venvs)
    if not args.no_warm:
        figures["warm"] = warm_figures(trees, venv, solved, args.gradings, args.rounds, work)
        print_warm(figures["warm"], args.gradings)
    if not args.no_class:
        figures["classes"] = class_figures(trees, venv, solved, args.small, args.large, args.heavy_rounds, work)
        print_class(figures["classes"], trees, args.small, args.large)
    if not args.no_worst:
        hanging = hanging_notebook(solved, definitions, work / "hanging" / "ConvolutionalNetworks.ipynb")
        figures["worst"], scores = worst_figures(trees, venv, hanging, args.heavy_rounds, work)
        print_worst(figures["worst"], scores)
    if not args.no_gradescope:
        figures["gradescope"], autograders = gradescope_figures(trees, venv, solved, args.rounds, work)
        otter = figures["cold"].get(("otter", None, None)) if figures["cold"] else None
        print_gradescope(figures["gradescope"], autograders, otter)
    return figures


def _missing(what, path):
    print(f"note: {what} ({path}) not found: left out")
    return False


if __name__ == "__main__":
    sys.exit(main())
