"""The disk cache (grader.tasks.disk, filled by grader.cache): what a fresh process reads instead of computing
again, the same report with it cold, warm or damaged, no hypothesis imported where the examples are kept, and
a folder treated as untrusted bytes (no link followed, nothing unvalidated used, bounded, written atomically).

Every test points GRADER_CACHE_DIR at its own temporary folder: none reads or writes the developer's cache.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.bundles import run_autograder
from grader.bundles.autograder import setup_sh
from grader.bundles.pins import python_floor
from grader.cache import main as cache_main
from grader.cache import warm_cache
from grader.config import Config
from grader.pipeline import grade
from grader.sandbox.launcher import bwrap_works
from grader.solve import solve
from grader.tasks import convnet, disk, memo, normalization
from notebooks import STUB_NOTEBOOK, comparable, solution_cells, write_notebook

KEY = {"property": "p", "examples": 25}
VARIANTS = Path(__file__).parent / "variants"
# A group norm whose eps sits outside the square root: its properties fail and hypothesis shrinks them.
BUGGY_GROUPNORM = (VARIANTS / "mistakes" / "gn_forward_eps_outside_sqrt.py").read_text()
NORMALIZATION_TASKS = ("spatial_batchnorm_forward", "spatial_groupnorm_forward")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of this test's own, and this process's caches emptied before and after."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(disk.ENV, str(folder))
    memo.clear()
    yield folder
    memo.clear()


# -- the store ---------------------------------------------------------------------------------------------


def test_an_entry_is_read_back_for_its_own_kind_and_key_only(cache):
    assert disk.store("examples", KEY, [{"N": 1}])
    assert disk.load("examples", KEY) == [{"N": 1}]
    assert disk.load("examples", dict(KEY, examples=50)) is None
    assert disk.load("overfit", KEY) is None
    assert (cache.stat().st_mode & 0o777) == 0o700
    assert [oct(p.stat().st_mode & 0o777) for p in cache.iterdir()] == ["0o600"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff garbage",
        b'{"format": 1, "kind": "examples", "key": {"property": "p", "examples": 25}, "value": [',
        b'{"format": 2, "kind": "examples", "key": {"property": "p", "examples": 25}, "value": 1}',
        b'{"format": 1, "kind": "overfit", "key": {"property": "p", "examples": 25}, "value": 1}',
        b'{"format": 1, "kind": "examples", "key": {"property": "q", "examples": 25}, "value": 1}',
        b'{"format": 1, "kind": "examples", "key": {"property": "p", "examples": 25}, "value": NaN}',
        b"[" * 100_000,
        b"[]",
    ],
    ids=["empty", "garbage", "truncated", "format", "kind", "key", "nan", "deep", "list"],
)
def test_a_damaged_entry_is_not_found(cache, content):
    disk.store("examples", KEY, 1)
    (entry,) = cache.iterdir()
    entry.write_bytes(content)
    assert disk.load("examples", KEY) is None


def test_an_entry_larger_than_the_bound_is_neither_written_nor_read(cache, monkeypatch):
    assert not disk.store("examples", KEY, "x" * disk.MAX_ENTRY_BYTES)
    disk.store("examples", KEY, "small")
    monkeypatch.setattr(disk, "MAX_ENTRY_BYTES", 10)
    assert disk.load("examples", KEY) is None


def test_a_symbolic_link_planted_in_the_folder_is_never_followed(cache, tmp_path):
    disk.store("examples", KEY, "kept")
    (entry,) = cache.iterdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(entry.read_bytes())
    entry.unlink()
    entry.symlink_to(elsewhere)
    assert disk.load("examples", KEY) is None
    assert disk.store("examples", KEY, "new")
    assert not entry.is_symlink() and disk.load("examples", KEY) == "new"
    assert json.loads(elsewhere.read_text())["value"] == "kept", "the write went through the link"


def test_a_fifo_planted_in_the_folder_does_not_make_a_read_wait(cache):
    disk.store("examples", KEY, 1)
    (entry,) = cache.iterdir()
    entry.unlink()
    os.mkfifo(entry)
    assert disk.load("examples", KEY) is None


def test_a_folder_others_can_write_is_not_used(cache):
    disk.store("examples", KEY, 1)
    cache.chmod(0o777)
    assert disk.load("examples", KEY) is None
    assert not disk.store("examples", KEY, 2)


def test_a_location_that_cannot_be_made_means_no_cache_and_no_error(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(disk.ENV, str(tmp_path / "a-file" / "cache"))
    assert not disk.store("examples", KEY, 1)
    assert disk.load("examples", KEY) is None


def test_the_cache_is_off_when_its_variable_is_set_but_empty(monkeypatch):
    monkeypatch.setenv(disk.ENV, "")
    assert disk.folder() is None and not disk.store("examples", KEY, 1) and disk.load("examples", KEY) is None


def test_the_default_folder_is_the_xdg_cache_else_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(disk.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert disk.folder() == tmp_path / "xdg" / "convnet-grader"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert disk.folder() == tmp_path / "home" / ".cache" / "convnet-grader"


def test_the_folder_holds_at_most_max_files_the_oldest_going_first(cache, monkeypatch):
    monkeypatch.setattr(disk, "MAX_FILES", 3)
    for n in range(6):
        assert disk.store("examples", {"n": n}, n)
        os.utime(next(p for p in cache.iterdir() if disk.load("examples", {"n": n}) == n), (n, n))
    assert len(list(cache.iterdir())) == 3
    assert [disk.load("examples", {"n": n}) for n in range(6)] == [None, None, None, 3, 4, 5]


def test_making_room_removes_only_the_files_the_cache_wrote(cache, monkeypatch):
    monkeypatch.setattr(disk, "MAX_FILES", 2)
    cache.mkdir(mode=0o700)
    theirs = [cache / name for name in ("student01.json", "report.json", ".x.json.1.abcdef01.tmp", "notes.tmp")]
    for path in theirs:
        path.write_text("{}")
        os.utime(path, (0, 0))  # older than any entry
    for n in range(4):
        assert disk.store("examples", {"n": n}, n)
    assert all(path.exists() for path in theirs)
    assert len([p for p in cache.iterdir() if p not in theirs]) == 2


def test_a_link_where_the_folder_should_be_is_no_cache(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(target)
    monkeypatch.setenv(disk.ENV, str(tmp_path / "cache"))
    assert not disk.store("examples", KEY, 1) and disk.load("examples", KEY) is None
    assert list(target.iterdir()) == []


def test_the_reference_work_is_kept_for_this_machine_and_these_blas_threads_only(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    one = convnet._overfit_key(None)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert convnet._overfit_key(None) != one
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setattr(convnet, "_processor", lambda: "another processor")
    assert convnet._overfit_key(None) != one
    assert one["cpus"] == os.cpu_count() and one["processor"]


def test_parallel_writers_of_one_entry_leave_it_whole_for_every_reader(cache):
    value = [{"seed": n} for n in range(200)]
    seen, stop = [], threading.Event()

    def write():
        for _ in range(40):
            disk.store("examples", KEY, value)

    def read():
        while not stop.is_set():
            seen.append(disk.load("examples", KEY))

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert all(found in (None, value) for found in seen) and value in seen
    assert [p.name.endswith(disk.SUFFIX) for p in cache.iterdir()] == [True], "a temporary file was left"


# -- what the grader keeps, validated ------------------------------------------------------------------


def test_an_example_comes_back_from_its_data_and_nothing_out_of_bounds_does():
    example = normalization.Example(N=2, C=6, H=3, W=4, G=3, eps=1e-3, seed=7)
    assert normalization.Example.from_data(json.loads(json.dumps(example.to_data())), "divisor") == example
    wrong = [
        dict(example.to_data(), N=10**6),
        dict(example.to_data(), G=4),
        dict(example.to_data(), eps=0.25),
        dict(example.to_data(), seed=-1),
        dict(example.to_data(), N=2.0),
        dict(example.to_data(), grouped=1),
        dict(example.to_data(), grouped=False),  # batchnorm examples carry G = C
        {key: value for key, value in example.to_data().items() if key != "seed"},
        [1, 2],
    ]
    for data in wrong:
        with pytest.raises((TypeError, ValueError)):
            normalization.Example.from_data(data, "divisor")


@pytest.mark.parametrize(
    "groups, fields",
    [("one", {"G": 3}), ("all", {"G": 3}), ("batch", {"G": 6, "grouped": True}), ("divisor", {"grouped": False})],
)
def test_an_example_another_property_draws_is_refused(groups, fields):
    data = dict(normalization.Example(N=2, C=6, H=3, W=4, G=3, eps=1e-3, seed=7).to_data(), **fields)
    with pytest.raises(ValueError):
        normalization.Example.from_data(data, groups)


def test_an_example_whose_sets_hold_one_value_is_refused():
    single = normalization.Example(N=1, C=2, H=1, W=1, G=2, eps=1e-3, seed=0).to_data()  # C // G * H * W == 1
    with pytest.raises(ValueError):
        normalization.Example.from_data(single, "divisor")
    assert normalization.Example.from_data(dict(single, W=2), "divisor").W == 2


@pytest.mark.parametrize(
    "value",
    [{"accuracy": 1.5, "work": 1.0}, {"accuracy": 0.9, "work": -1.0}, {"accuracy": 0.9, "work": 1e9},
     {"accuracy": 1, "work": 1.0}, {"accuracy": 0.9}, [0.9, 1.0], None],
)  # fmt: skip
def test_a_kept_overfit_run_out_of_range_is_not_used(value):
    assert convnet._overfit_from_data(value) is None
    assert convnet._overfit_from_data({"accuracy": 0.99, "work": 0.5}) == (0.99, 0.5)


@pytest.mark.slow
def test_a_kept_overfit_run_is_used_instead_of_training(cache, monkeypatch):
    first = convnet.reference_overfit(None)
    memo.clear()
    monkeypatch.setattr(convnet, "reference_overfit_run", lambda data_dir: pytest.fail("trained again"))
    assert convnet.reference_overfit(None) == first


# -- gradings: the same report cold, warm or damaged ----------------------------------------------------


def _damage(entry, index, elsewhere):
    """One kind of damage per entry, in turn: garbage, a value out of range under its own key, a link."""
    data = json.loads(entry.read_text())
    if index % 3 == 0:
        entry.write_bytes(b"\x00not json")
    elif index % 3 == 1:
        if data["kind"] == "overfit":
            data["value"]["accuracy"] = 2.0
        else:
            data["value"][0]["N"] = 10**6
        entry.write_text(json.dumps(data))
    else:
        target = elsewhere / entry.name
        target.write_text(json.dumps(dict(data, value=[])))
        entry.unlink()
        entry.symlink_to(target)


@pytest.mark.slow
def test_a_submission_gets_the_same_report_with_the_cache_cold_warm_or_damaged(cache, tmp_path):
    config = Config(tasks=("three_layer_convnet", "spatial_groupnorm_forward"))
    notebooks = {
        "correct": write_notebook(tmp_path, *solution_cells(), name="correct.ipynb"),
        "buggy": write_notebook(tmp_path, *solution_cells(), BUGGY_GROUPNORM, name="buggy.ipynb"),
    }
    reports = {name: [] for name in notebooks}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for state in ("cold", "warm", "damaged"):
        if state == "damaged":
            for index, entry in enumerate(sorted(cache.iterdir())):
                _damage(entry, index, elsewhere)
        for name, path in notebooks.items():
            memo.clear()  # a fresh process: nothing but what is on disk
            reports[name].append(comparable(grade(path, config)))
        if state == "cold":
            assert len(list(cache.iterdir())) == 5  # the overfit run and the 4 properties' examples
    for name, (cold, warm, damaged) in reports.items():
        assert warm == cold and damaged == cold, name
    assert "shrunk minimal example" in reports["buggy"][0]
    assert all(not entry.is_symlink() for entry in cache.iterdir()), "a damaged entry was not written again"


GRADE_IN_A_FRESH_PROCESS = """
import json, sys
import grader.cli  # what the command imports, as it runs
from grader.config import Config
from grader.pipeline import grade
from grader import render
tasks = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else Config().tasks
report = grade(sys.argv[1], Config(tasks=tasks))
print(json.dumps({"hypothesis": "hypothesis" in sys.modules, "report": render.to_json(report)}))
"""


def _graded_in_a_fresh_process(path, *tasks):
    argv = [sys.executable, "-c", GRADE_IN_A_FRESH_PROCESS, str(path)] + ([",".join(tasks)] if tasks else [])
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(finished.stdout.splitlines()[-1])


@pytest.mark.slow
def test_with_a_warm_cache_grading_the_solved_notebook_imports_no_hypothesis(cache, tmp_path, capsys):
    solved = solve(STUB_NOTEBOOK, tmp_path / "solved.ipynb")
    (tmp_path / "grader.toml").write_text('[gradescope]\nhidden_visibility = "visible"\n')
    assert cache_main(["--config", str(tmp_path / "grader.toml")]) == 0  # as setup.sh fills it
    assert capsys.readouterr().out.startswith(f"disk cache {cache}: 11 entries written")
    graded = _graded_in_a_fresh_process(solved)
    assert not graded["hypothesis"]
    assert graded["report"]["score"] == graded["report"]["max_score"]


@pytest.mark.slow
def test_a_failing_property_still_reports_hypothesis_shrunk_example_with_a_warm_cache(cache, tmp_path):
    buggy = write_notebook(tmp_path, *solution_cells(), BUGGY_GROUPNORM)
    cold = _graded_in_a_fresh_process(buggy, *NORMALIZATION_TASKS)
    warm_cache(Config(tasks=NORMALIZATION_TASKS))
    warm = _graded_in_a_fresh_process(buggy, *NORMALIZATION_TASKS)
    assert warm["report"] == cold["report"]
    assert warm["hypothesis"], "the replay failed, so hypothesis shrinks the example"
    messages = [c["message"] for t in warm["report"]["tasks"] for c in t["checks"] if not c["passed"]]
    assert any("(on the shrunk minimal example x (" in message for message in messages)


# A batchnorm forward (the references' own) that first tries to damage the cache and add an entry to it.
POISONING_FORWARD = """
import os


def _poison(folder):
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names + ["examples-planted.json"]:
        try:
            with open(os.path.join(folder, name), "w") as handle:
                handle.write("poisoned")
        except OSError:
            pass


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    _poison(FOLDER)
    rows_out, cache = batchnorm_forward(_channels_last_rows(x), gamma, beta, bn_param)
    return _rows_to_nchw(rows_out, x.shape), cache
"""
BWRAP = shutil.which("bwrap")


@pytest.mark.slow
@pytest.mark.parametrize(
    "use_bwrap",
    [
        pytest.param(True, id="bwrap", marks=pytest.mark.skipif(not (BWRAP and bwrap_works(BWRAP)), reason="no bwrap")),
        pytest.param(
            False,
            id="fallback",
            marks=pytest.mark.skipif(os.geteuid() != 0, reason="weak isolation: student code runs as the grader"),
        ),
    ],
)
def test_student_code_cannot_write_the_cache(cache, tmp_path, use_bwrap):
    config = Config(tasks=("spatial_batchnorm_forward",), use_bwrap=use_bwrap)
    warm_cache(config)
    before = {path.name: path.read_bytes() for path in cache.iterdir()}
    attack = POISONING_FORWARD.replace("FOLDER", repr(str(cache)))
    report = grade(write_notebook(tmp_path, *solution_cells(), attack), config)
    assert report.score == pytest.approx(report.max_score), report.tasks[0].message
    assert {path.name: path.read_bytes() for path in cache.iterdir()} == before


# -- filling it, on Gradescope too ------------------------------------------------------------------------


@pytest.mark.slow
def test_filling_the_cache_twice_finds_what_the_first_time_wrote(cache):
    config = Config(tasks=("spatial_batchnorm_forward",))
    assert warm_cache(config).startswith(f"disk cache {cache}: 2 entries written, 0 found there already")
    assert warm_cache(config).startswith(f"disk cache {cache}: 0 entries written, 2 found there already")


def test_the_command_refuses_a_configuration_it_cannot_read_in_one_line(cache, tmp_path, capsys):
    assert cache_main(["--config", str(tmp_path / "missing.toml")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("grader.cache: config ") and "missing.toml" in line
    assert not cache.exists()


@pytest.mark.slow
def test_where_the_cache_cannot_be_written_filling_it_says_so(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(disk.ENV, str(tmp_path / "a-file" / "cache"))
    memo.clear()
    assert "could not be written" in warm_cache(Config(tasks=("spatial_batchnorm_forward",)))
    monkeypatch.setenv(disk.ENV, "")
    assert warm_cache().startswith("no disk cache")


def test_setup_sh_fills_the_cache_that_run_autograder_points_the_grader_at(tmp_path, monkeypatch):
    text = setup_sh(python_floor({}))
    assert f'GRADER_CACHE_DIR={run_autograder.CACHE_DIR} "$VENV/bin/python" -I -m grader.cache' in text
    assert '--config "$SOURCE/grader.toml"' in text
    monkeypatch.delenv("GRADER_CACHE_DIR", raising=False)
    monkeypatch.setattr(run_autograder, "CACHE_DIR", str(tmp_path / "missing"))
    assert "GRADER_CACHE_DIR" not in run_autograder.grader_environment()
    monkeypatch.setattr(run_autograder, "CACHE_DIR", str(tmp_path))
    assert run_autograder.grader_environment()["GRADER_CACHE_DIR"] == str(tmp_path)
    monkeypatch.setenv("GRADER_CACHE_DIR", "/elsewhere")
    assert run_autograder.grader_environment()["GRADER_CACHE_DIR"] == "/elsewhere"
