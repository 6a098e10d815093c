"""Gradescope: what students see before grades are published, and the autograder zip run as Gradescope runs it.

Gradescope's results.json (its autograder specification): top level ``score`` (number), ``execution_time``
(number), ``output`` (string), ``visibility`` and ``stdout_visibility`` (one of visible, after_due_date,
after_published, hidden), ``extra_data`` (object), ``tests`` (list); each test ``name``, ``output``,
``status`` ('passed' or 'failed'), ``visibility`` (strings), ``score`` and ``max_score`` (numbers).
"""

import json
import re

import pytest

import notebooks
from grader import render
from grader.cli import main
from grader.config import VISIBILITIES, Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook

TOP_LEVEL_TYPES = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
}
TEST_TYPES = {
    "name": str,
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "output": str,
    "visibility": str,
}


def assert_gradescope_schema(results):
    """Every key of ``results`` is one Gradescope's specification defines, with its type."""
    assert set(results) <= set(TOP_LEVEL_TYPES), set(results) - set(TOP_LEVEL_TYPES)
    assert "score" in results
    for key, value in results.items():
        assert isinstance(value, TOP_LEVEL_TYPES[key]) and not isinstance(value, bool), (key, value)
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITIES
    for test in results.get("tests", []):
        assert set(test) <= set(TEST_TYPES), set(test) - set(TEST_TYPES)
        for key, value in test.items():
            assert isinstance(value, TEST_TYPES[key]) and not isinstance(value, bool), (key, value)
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
    json.dumps(results, ensure_ascii=False, allow_nan=False).encode("utf-8")


# -- visibility ----------------------------------------------------------------------------------------------

# Right on square inputs only, and it prints every input's shape: hidden cases fail with messages that hold
# their parameters, and the printed output holds them too.
SQUARE_ONLY = """
_right_conv = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    print("called with", x.shape, w.shape, conv_param)
    if x.shape[2] != x.shape[3]:
        raise ValueError(f"cannot do {x.shape}")
    return _right_conv(x, w, b, conv_param)
"""
TASKS = ("conv_forward_naive", "three_layer_convnet")


@pytest.fixture(scope="module")
def leaky_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaky")
    notebook = write_notebook(folder, *solution_cells(), SQUARE_ONLY)
    return grade(notebook, Config(tasks=("conv_forward_naive",), use_bwrap=False))


def hidden_texts(report):
    """Every check name that is not a public case, and the parameters of each hidden case, e.g. 'x (1, 2, 11, 10)'."""
    texts = set()
    for task in report.tasks:
        for check in task.checks:
            if not check.name.startswith("public case"):
                texts.add(check.name)
                texts.update(re.findall(r"[xw] \([^)]*\)", check.name))
    return texts


def visible_text(results):
    """Everything a student sees before grades are published: the top-level output and every visible test
    (extra_data is stored by Gradescope, not shown)."""
    visible = [results["output"]]
    for test in results["tests"]:
        if test["visibility"] == "visible":
            visible += [test["name"], test["output"]]
    return "\n".join(visible)


def test_no_hidden_case_name_parameters_or_printed_input_is_visible_before_publication(leaky_report):
    task = leaky_report.tasks[0]
    assert any(not c.passed for c in task.checks if c.name.startswith("hidden case")), (
        "the variant must fail hidden cases"
    )
    assert "called with" in task.output
    results = render.to_gradescope(leaky_report)
    assert_gradescope_schema(results)
    shown = visible_text(results)
    leaked = [text for text in hidden_texts(leaky_report) if text in shown]
    assert not leaked, leaked
    assert "called with" not in shown and "cannot do" not in shown
    assert "x (2, 3, 4, 4)" in shown  # the public case stays visible: its inputs are in the notebook


def test_hidden_checks_are_after_published_by_default_and_the_tests_add_up_to_the_total(leaky_report):
    results = render.to_gradescope(leaky_report)
    visibility = {test["name"]: test["visibility"] for test in results["tests"]}
    assert visibility == {
        "conv_forward_naive: public case": "visible",
        "conv_forward_naive: hidden cases and other checks": "after_published",
    }
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "after_published"
    assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"])
    assert sum(test["max_score"] for test in results["tests"]) == pytest.approx(leaky_report.max_score)


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_hidden_and_stdout_visibility_follow_the_config(leaky_report, visibility):
    config = Config(hidden_visibility=visibility, stdout_visibility=visibility)
    results = render.to_gradescope(leaky_report, config)
    hidden = [t for t in results["tests"] if t["name"].endswith("hidden cases and other checks")]
    assert [t["visibility"] for t in hidden] == [visibility] and results["stdout_visibility"] == visibility
    assert results["visibility"] == "visible"


def test_a_missing_definition_is_one_visible_test_per_task(tmp_path):
    report = grade(write_notebook(tmp_path, "x = 1\n"), Config(tasks=TASKS, use_bwrap=False))
    results = render.to_gradescope(report)
    assert [(t["name"], t["visibility"]) for t in results["tests"]] == [
        ("conv_forward_naive: public case", "visible"),
        ("three_layer_convnet: public checks", "visible"),
    ]
    assert "not defined" in results["tests"][0]["output"]


@pytest.fixture(scope="module")
def stub_results():
    return render.to_gradescope(grade(notebooks.STUB_NOTEBOOK, Config(use_bwrap=False)))


def test_every_task_has_a_visible_test_and_the_convnets_holds_its_public_checks(stub_results):
    visible = {t["name"].partition(": ")[0]: t for t in stub_results["tests"] if t["visibility"] == "visible"}
    assert list(visible) == list(Config().weights)
    convnet = visible["three_layer_convnet"]
    assert convnet["name"] == "three_layer_convnet: public checks"
    shown = [line for line in convnet["output"].split("\n") if line.startswith(("PASS", "FAIL"))]
    assert len(shown) == len(render.SHOWN_CHECKS) == 6
    assert "ThreeLayerConvNet() is not implemented yet" in convnet["output"]  # the constructor's failure, visible
    assert convnet["max_score"] == pytest.approx(
        20 * 11 / 17, abs=1e-4
    )  # shapes 1, dtype 1, scores 2, losses 2 + 2, overfit 3 of the 17 points of convnet.CHECKS


def test_public_checks_are_worth_more_than_a_quarter_of_the_default_total(stub_results):
    """Before publication a student sees what the visible tests are worth (15 of 100 before the convnet had one)."""
    worth = sum(t["max_score"] for t in stub_results["tests"] if t["visibility"] == "visible")
    assert 25 < worth < 50


# The convnet right on square inputs only: its non-square variations fail, and their parameters stay hidden.
SQUARE_ONLY_NET = """
_RightNet = ThreeLayerConvNet


class ThreeLayerConvNet(_RightNet):
    def __init__(self, input_dim=(3, 32, 32), *args, **kwargs):
        if input_dim[1] != input_dim[2]:
            raise ValueError(f"square inputs only, not {input_dim}")
        super().__init__(input_dim, *args, **kwargs)
"""


def test_the_convnets_hidden_variations_stay_hidden_before_publication(tmp_path):
    notebook = write_notebook(tmp_path, *solution_cells(), SQUARE_ONLY_NET)
    results = render.to_gradescope(grade(notebook, Config(tasks=("three_layer_convnet",), use_bwrap=False)))
    public, hidden = results["tests"]
    assert public["visibility"] == "visible" and public["status"] == "passed"
    assert hidden["visibility"] == "after_published" and hidden["status"] == "failed"
    assert "square inputs only" in hidden["output"]
    shown = visible_text(results)
    assert "(2, 9, 7)" not in shown and "(3, 10, 14)" not in shown and "square inputs only" not in shown


def test_the_json_report_records_the_versions_graded_under(tmp_path, capsys):
    import platform

    import numpy

    notebook = write_notebook(tmp_path, "x = 1\n")
    main(
        [
            "grade",
            str(notebook),
            "--tasks",
            "conv_forward_naive",
            "--json",
            str(tmp_path / "r.json"),
            "--gradescope",
            str(tmp_path / "results.json"),
        ]
    )
    capsys.readouterr()
    runtime = json.loads((tmp_path / "r.json").read_text())["runtime"]
    assert runtime["python"] == platform.python_version() and runtime["numpy"] == numpy.__version__
    assert {"nbformat", "nbconvert", "hypothesis"} <= set(runtime)
    results = json.loads((tmp_path / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["extra_data"]["runtime"] == runtime


# -- the autograder zip ------------------------------------------------------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import zipfile  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

from packaging.requirements import Requirement  # noqa: E402

from grader.bundles import STUB_NOTEBOOK  # noqa: E402
from grader.bundles.autograder import RUN_AUTOGRADER, build_autograder  # noqa: E402
from grader.bundles.pins import grading_pins, grading_requirements  # noqa: E402
from grader.config import config_toml, read_config_file  # noqa: E402
from grader.solve import solve  # noqa: E402

CUSTOM = Config(weights={**Config().weights, "conv_forward_naive": 12.0}, timeout=15.0, hidden_visibility="hidden")
GRADER_BIN = Path(sys.executable).parent  # where this environment's `grader` command is


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return build_autograder(tmp_path_factory.mktemp("autograder") / "autograder.zip", CUSTOM)


@pytest.mark.slow  # the autograder_zip fixture builds the wheel once (~10-20 s)
def test_zip_has_gradescopes_layout_the_wheel_the_exact_pins_and_the_config(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip.zip_path) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        archive.extractall(tmp_path)
    assert names == {"setup.sh", "run_autograder", "grader.toml", "requirements.txt", f"dist/{autograder_zip.wheel}"}
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert read_config_file(tmp_path / "grader.toml") == CUSTOM
    lines = (tmp_path / "requirements.txt").read_text().splitlines()
    assert lines[: len(autograder_zip.pins)] == list(autograder_zip.pins) == grading_pins(grading_requirements())
    assert f"numpy=={metadata.version('numpy')}" in lines and all("==" in pin for pin in autograder_zip.pins)
    names = {Requirement(line).name for line in lines}
    assert {"numpy", "nbformat", "hypothesis", "packaging"} <= names
    assert not names & {"nbconvert", "bleach", "tornado", "pyzmq", "jupyter-client", "soupsieve", "beautifulsoup4"}
    with zipfile.ZipFile(tmp_path / "dist" / autograder_zip.wheel) as wheel:
        packaged = set(wheel.namelist())
    assert {
        "grader/cli.py",
        "solutions/conv.py",
        "assignment/public_expected.npz",
        "grader/bundles/run_autograder.py",
    } <= packaged
    setup = (tmp_path / "setup.sh").read_text()
    assert "bubblewrap" in setup and '-r "$SOURCE/requirements.txt"' in setup
    assert 'pip install -q --no-deps "$SOURCE"/dist/*.whl' in setup and "/usr/local/bin/grader" in setup
    assert f"PYTHON_FLOOR={autograder_zip.python_floor.full}\n" in setup
    assert (tmp_path / "run_autograder").read_bytes() == RUN_AUTOGRADER.read_bytes()


def test_an_autograder_with_a_data_folder_is_refused_in_one_line(tmp_path, capsys):
    config = tmp_path / "grader.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["autograder", str(tmp_path / "a.zip"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "data_dir" in err and err.count("\n") == 1 and not (tmp_path / "a.zip").exists()


def run_autograder(zip_path, tmp_path, submission, bin_folder=GRADER_BIN):
    """Gradescope's run without setup.sh: the zip in $AUTOGRADER_ROOT/source, ``submission`` (relative path
    as bytes -> content) in $AUTOGRADER_ROOT/submission, `grader` found on PATH in ``bin_folder``. With
    ``zip_path`` None, the source folder gets what the zip would hold of run_autograder and grader.toml
    (the same files: see the layout test), and no wheel build is needed."""
    root = tmp_path / "autograder"
    if zip_path is None:
        (root / "source").mkdir(parents=True)
        shutil.copyfile(RUN_AUTOGRADER, root / "source" / "run_autograder")
        (root / "source" / "grader.toml").write_text(config_toml(CUSTOM))
    else:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root / "source")
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    for relative, content in submission.items():
        path = os.path.join(os.fsencode(root / "submission"), relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    (root / "submission").mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(AUTOGRADER_ROOT=str(root), PATH=f"{bin_folder}:/usr/local/bin:/usr/bin:/bin")
    finished = subprocess.run([str(script)], env=env, cwd=root, capture_output=True, timeout=900)
    assert finished.returncode == 0, finished.stderr.decode(errors="replace")[-2000:]
    (tmp_path / "stdout").write_bytes(finished.stdout)  # what Gradescope keeps as results/stdout
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert_gradescope_schema(results)
    return results


def fake_grader(tmp_path, script):
    """A folder holding an executable `grader` made of the shell ``script``."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "grader").write_text("#!/bin/sh\n" + script)
    (fake_bin / "grader").chmod(0o755)
    return fake_bin


def one_line_reason(results):
    assert results["score"] == 0 and results["tests"] == [] and results["visibility"] == "visible"
    reason = results["output"]
    assert "\n" not in reason and reason.isprintable(), reason
    return reason


@pytest.fixture(scope="module")
def solved_notebook(tmp_path_factory):
    return solve(STUB_NOTEBOOK, tmp_path_factory.mktemp("solved") / "solved.ipynb").read_bytes()


@pytest.mark.slow
def test_a_solved_notebook_in_a_subfolder_scores_full_marks_with_the_built_in_config(
    autograder_zip, tmp_path, solved_notebook
):
    """The solved notebook where a student's zip puts it (a folder of their own), beside an editor checkpoint."""
    results = run_autograder(
        autograder_zip.zip_path,
        tmp_path,
        {
            b"hw2/work/ConvolutionalNetworks.ipynb": solved_notebook,
            b"hw2/.ipynb_checkpoints/old-checkpoint.ipynb": b"{",
        },
    )
    assert results["score"] == pytest.approx(100 - 10 + 12)  # the zip's config weighs conv_forward_naive 12
    assert all(t["status"] == "passed" for t in results["tests"])
    hidden = [t for t in results["tests"] if t["name"].endswith("hidden cases and other checks")]
    assert hidden and {t["visibility"] for t in hidden} == {"hidden"}
    assert results["extra_data"]["runtime"]["numpy"] == metadata.version("numpy")


@pytest.mark.slow
def test_the_stub_notebook_scores_0_with_every_task_graded(autograder_zip, tmp_path):
    results = run_autograder(
        autograder_zip.zip_path, tmp_path, {b"ConvolutionalNetworks.ipynb": STUB_NOTEBOOK.read_bytes()}
    )
    assert results["score"] == 0 and results["tests"]
    assert all(t["status"] == "failed" for t in results["tests"])


@pytest.mark.parametrize(
    "content", [b"not a notebook", bytes(range(256)), b'{"cells": ['], ids=["text", "bytes", "truncated"]
)
def test_a_broken_notebook_scores_0_with_a_one_line_reason_that_names_no_temporary_path(tmp_path, content):
    results = run_autograder(None, tmp_path, {b"hw/ConvolutionalNetworks.ipynb": content})
    reason = one_line_reason(results)
    assert "could not be graded" in reason and "ConvolutionalNetworks.ipynb" in reason
    assert "/tmp" not in reason and "submission-" not in reason and str(tmp_path) not in reason


def test_a_hostile_file_name_and_content_still_make_a_valid_printable_results_file(tmp_path):
    name = b"\x1b[2J\xff\xfe\r\n\xe2\x80\xae evil.ipynb"
    content = b'{"cells": "\x1b]0;owned\x07\xff\xd8\x00' + b"\x9b" * 5000
    results = run_autograder(None, tmp_path, {name: content})
    reason = one_line_reason(results)
    assert "could not be graded" in reason and "\x1b" not in reason and "\u202e" not in reason
    assert len(reason) <= 520


def test_a_submission_without_a_notebook_scores_0_saying_so(tmp_path):
    results = run_autograder(None, tmp_path, {b"solution.py": b"print(1)\n"})
    assert "no notebook" in one_line_reason(results)


def test_without_grader_on_path_the_results_file_says_so(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    results = run_autograder(None, tmp_path, {b"a.ipynb": STUB_NOTEBOOK.read_bytes()}, empty_bin)
    assert "not installed" in one_line_reason(results)


def test_a_sandbox_that_cannot_start_is_said_to_the_student_and_explained_to_the_instructor(tmp_path):
    # exits as `grader grade` does when its sandbox cannot start (exit status 3)
    fake_bin = fake_grader(
        tmp_path,
        "printf 'grader: no grade given: bubblewrap: \\033[2J setting up uid map: Permission denied\\n' >&2\nexit 3\n",
    )
    results = run_autograder(None, tmp_path, {b"a.ipynb": STUB_NOTEBOOK.read_bytes()}, fake_bin)
    reason = one_line_reason(results)
    assert "sandbox" in reason and "could not start" in reason and "instructor" in reason
    assert "Permission denied" not in reason and "bubblewrap" not in reason  # the details are the instructor's
    note = results["extra_data"]["note"]
    assert "bubblewrap" in note and "Permission denied" in note and "\x1b" not in note
    assert f"run_autograder: {note}" in (tmp_path / "stdout").read_text()


# A grader that names its staging folder (its 2nd argument) everywhere, in the results.json it writes (its 4th).
NAMING_GRADER = """staged="$2"; out="$4"
echo "skipped: $staged/02-b.ipynb is not a notebook"
cat > "$out" <<EOF
{"score": 1.0, "output": "note: $staged/01-a.ipynb was skipped", "stdout_visibility": "after_published",
 "extra_data": {"isolation": "unprivileged user, no network, no bubblewrap"},
 "tests": [{"name": "t", "score": 1.0, "max_score": 1.0, "status": "passed", "output": "in $staged",
            "visibility": "visible"}]}
EOF
"""


def test_isolation_goes_to_the_instructor_and_the_staging_path_to_no_one(tmp_path):
    results = run_autograder(
        None, tmp_path, {b"a.ipynb": STUB_NOTEBOOK.read_bytes()}, fake_grader(tmp_path, NAMING_GRADER)
    )
    assert results["output"] == "note: 01-a.ipynb was skipped"
    assert results["tests"][0]["output"] == "in your submission"
    printed = (tmp_path / "stdout").read_text()
    assert "isolation: unprivileged user, no network, no bubblewrap" in printed
    assert "skipped: 02-b.ipynb is not a notebook" in printed and "/tmp" not in printed  # what it printed too


def test_the_autograders_source_and_results_are_readable_by_their_owner_alone_after_a_run(tmp_path):
    run_autograder(None, tmp_path, {b"a.ipynb": STUB_NOTEBOOK.read_bytes()}, fake_grader(tmp_path, "exit 3\n"))
    for folder in ("source", "results"):
        info = (tmp_path / "autograder" / folder).stat()
        assert stat.S_IMODE(info.st_mode) == 0o700, folder
        assert info.st_uid == os.geteuid() and (os.geteuid() != 0 or info.st_gid == 0), folder


def test_an_upload_named_like_a_bulk_download_is_graded_as_the_one_submission_it_is(tmp_path):
    """An original and a late hand-in, named as Canvas names them: one student's upload, never 'a class'."""
    stub = STUB_NOTEBOOK.read_bytes()
    results = run_autograder(
        None,
        tmp_path,
        {
            b"doejane_12345_6789_ConvolutionalNetworks.ipynb": stub,
            b"late/doejane_LATE_12345_6790_ConvolutionalNetworks.ipynb": stub,
        },
    )
    assert results["tests"] and "class" not in results["output"]
