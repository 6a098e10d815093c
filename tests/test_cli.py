"""The grader command: exit codes, unreadable submissions, and the JSON and Gradescope reports."""

import io
import json

import nbformat
import pytest
from cifar10_files import write_cifar10_folder

from grader.cli import main
from grader.config import TASK_IDS
from notebooks import make_notebook, solution_cells, write_notebook

pytestmark = pytest.mark.slow  # most tests here grade in the sandbox (a second or more each): not in the quick run

FAST_TASKS = "conv_forward_naive,conv_backward_naive"


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "content",
    [b"not json at all", b'{"cells": [', bytes(range(256)) * 4, b"[1, 2, 3]", b'{"cells": []}'],
    ids=["text", "truncated", "random-bytes", "json-list", "no-nbformat"],
)
def test_unreadable_notebook_exits_2_with_one_line_and_no_traceback(tmp_path, capsys, content):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    status, out, err = run(capsys, "grade", str(path))
    assert status == 2
    assert err.startswith("grader: ") and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_empty_folder_and_missing_path_exit_2(tmp_path, capsys):
    assert run(capsys, "grade", str(tmp_path))[0] == 2
    assert run(capsys, "grade", str(tmp_path / "nowhere"))[0] == 2


def test_unknown_task_is_a_usage_error(tmp_path, capsys):
    path = write_notebook(tmp_path, "x = 1\n")
    status, _, err = run(capsys, "grade", str(path), "--tasks", "conv_forward_naive,conv3d")
    assert status == 2 and "conv3d" in err


def test_limits_given_on_the_command_line_reach_the_config():
    from grader.cli import build_parser, config_from

    config = config_from(build_parser().parse_args(["grade", "x.ipynb", "--memory", "512", "--processes", "16"]))
    assert (config.memory_bytes, config.processes) == (512 << 20, 16)
    defaults = config_from(build_parser().parse_args(["grade", "x.ipynb"]))
    assert (defaults.memory_bytes, defaults.processes) == (2 << 30, 64)


@pytest.mark.parametrize("option", [("--memory", "10"), ("--processes", "0"), ("--timeout", "-1")])
def test_unusable_limits_are_usage_errors(tmp_path, capsys, option):
    path = write_notebook(tmp_path, "x = 1\n")
    status, _, err = run(capsys, "grade", str(path), *option)
    assert status == 2 and option[0] in err


def test_notebook_without_tasks_reports_all_nine_missing(tmp_path, capsys):
    path = write_notebook(tmp_path, "print('hello')\n")
    report_path = tmp_path / "report.json"
    status, _, _ = run(capsys, "grade", str(path), "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert status == 0
    assert [t["id"] for t in report["tasks"]] == list(TASK_IDS)
    assert {t["status"] for t in report["tasks"]} == {"missing"}
    assert report["score"] == 0 and report["max_score"] == pytest.approx(100)


def test_old_nbformat_3_notebook_is_upgraded_and_graded(tmp_path, capsys):
    v3 = nbformat.v3.new_notebook(
        worksheets=[
            nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input=source) for source in solution_cells()])
        ]
    )
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.v3.nbjson.writes(v3))
    status, out, _ = run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "-q")
    assert status == 0 and "10 / 10" in out


def test_tasks_spread_over_two_notebooks_are_all_found(tmp_path, capsys):
    conv, pool, *_ = solution_cells()
    nbformat.write(make_notebook(conv), tmp_path / "a.ipynb")
    nbformat.write(make_notebook(pool), tmp_path / "b.ipynb")
    report_path = tmp_path / "r.json"
    run(
        capsys,
        "grade",
        str(tmp_path),
        "--tasks",
        "conv_forward_naive,max_pool_forward_naive",
        "--json",
        str(report_path),
    )
    report = json.loads(report_path.read_text())
    assert [t["status"] for t in report["tasks"]] == ["passed", "passed"]


def test_json_and_gradescope_reports_follow_their_schemas(tmp_path, capsys):
    path = write_notebook(tmp_path, *solution_cells())
    json_path, gradescope_path = tmp_path / "r.json", tmp_path / "results.json"
    status, _, _ = run(
        capsys,
        "grade",
        str(path),
        "--tasks",
        FAST_TASKS,
        "--json",
        str(json_path),
        "--gradescope",
        str(gradescope_path),
    )
    report, results = json.loads(json_path.read_text()), json.loads(gradescope_path.read_text())
    assert status == 0
    assert set(report) >= {"score", "max_score", "submission", "grader_version", "tasks"}
    for task in report["tasks"]:
        assert set(task) == {"id", "score", "max_score", "status", "source", "checks"}
        for check in task["checks"]:
            assert set(check) == {"name", "score", "max_score", "passed", "message", "diagnosis", "kind", "reason"}
    assert results["score"] == pytest.approx(report["score"])
    assert [t["name"] for t in results["tests"]] == [
        f"{task}: {part}" for task in FAST_TASKS.split(",") for part in ("public case", "hidden cases and other checks")
    ]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}


def test_fail_under_sets_exit_status_1_below_the_bar(tmp_path, capsys):
    path = write_notebook(tmp_path, "def conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n")
    assert run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "--fail-under", "5")[0] == 1
    assert run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "--fail-under", "0")[0] == 0


def test_regrading_gives_an_identical_report_but_for_speed_figures(tmp_path, capsys):
    path = write_notebook(tmp_path, *solution_cells())
    reports = []
    for name in ("first.json", "second.json"):
        run(capsys, "grade", str(path), "--tasks", FAST_TASKS, "--json", str(tmp_path / name))
        report = json.loads((tmp_path / name).read_text())
        for task in report["tasks"]:
            for check in task["checks"]:
                if check["name"].startswith("speed"):
                    check["message"] = "<timing>"
        reports.append(report)
    assert reports[0] == reports[1]


def test_notebook_with_no_cells_grades_to_zero_with_every_task_missing(tmp_path, capsys):
    path = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    report_path = tmp_path / "r.json"
    assert run(capsys, "grade", str(path), "--json", str(report_path))[0] == 0
    report = json.loads(report_path.read_text())
    assert report["score"] == 0 and {t["status"] for t in report["tasks"]} == {"missing"}


def test_huge_stored_outputs_are_ignored_quickly(tmp_path, capsys):
    import time

    notebook = make_notebook(solution_cells()[0])
    output = nbformat.v4.new_output("stream", name="stdout", text="x" * (60 << 20))  # 60 MB of printed text
    notebook.cells[0].outputs = [output] * 2
    path = tmp_path / "huge.ipynb"
    nbformat.write(notebook, path)
    started = time.monotonic()
    status, out, _ = run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "-q")
    assert status == 0 and "10 / 10" in out
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("version", [1, 2])
def test_very_old_nbformat_versions_are_refused_or_upgraded_clearly(tmp_path, capsys, version):
    path = tmp_path / "ancient.ipynb"
    path.write_text(
        json.dumps(
            {
                "nbformat": version,
                "name": "old",
                "worksheets": [
                    {
                        "cells": [
                            {"cell_type": "code", "input": solution_cells()[0], "outputs": [], "language": "python"}
                        ]
                    }
                ],
            }
        )
    )
    status, out, err = run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "-q")
    assert "Traceback" not in out + err
    assert (status == 0 and "10 / 10" in out) or (status == 2 and err.startswith("grader: ") and err.count("\n") == 1)


def test_a_broken_notebook_beside_a_good_one_is_skipped_with_a_note(tmp_path, capsys):
    write_notebook(tmp_path, solution_cells()[0], name="good.ipynb")
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    report_path = tmp_path / "r.json"
    status, _, _ = run(capsys, "grade", str(tmp_path), "--tasks", "conv_forward_naive", "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert status == 0 and report["tasks"][0]["status"] == "passed"
    assert any("broken.ipynb" in note for note in report.get("notes", []))


def test_quiet_still_prints_the_note_that_a_notebook_was_skipped(tmp_path, capsys):
    write_notebook(tmp_path, solution_cells()[0], name="good.ipynb")
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    status, out, _ = run(capsys, "grade", str(tmp_path), "--tasks", "conv_forward_naive", "-q")
    notes = [line for line in out.split("\n") if line.startswith("note: ")]
    assert status == 0 and len(notes) == 1 and "broken.ipynb" in notes[0]


def test_cells_with_null_bytes_odd_sources_and_unknown_cell_types_still_grade(tmp_path, capsys):
    notebook = make_notebook("x = 1\0\n", solution_cells()[0])
    notebook.cells.append(nbformat.v4.new_raw_cell("def conv_forward_naive(): pass"))
    path = tmp_path / "odd.ipynb"
    data = json.loads(nbformat.writes(notebook))
    data["cells"][1]["source"] = "".join(data["cells"][1]["source"]).splitlines(keepends=True)  # a list of lines
    path.write_text(json.dumps(data))
    status, out, _ = run(capsys, "grade", str(path), "--tasks", "conv_forward_naive", "-q")
    assert status == 0 and "10 / 10" in out


# Student text that would forge the table on a terminal and PASS lines in results.json, and a lone
# surrogate that no UTF-8 stream can hold, printed and raised (the notebook's source itself is ASCII).
HOSTILE_CELL = r"""
def conv_forward_naive(x, w, b, conv_param):
    print("\x1b[2K\r18.0 / 18.0 passed\n PASS fake \u202e \udc80")
    raise RuntimeError("\x1b[2K\r18.0 / 18.0 passed\n PASS fake \u202e")
"""


def grade_hostile(tmp_path, capsys, *options):
    path = write_notebook(tmp_path, *solution_cells(), HOSTILE_CELL)
    json_path, gradescope_path = tmp_path / "r.json", tmp_path / "results.json"
    status, out, err = run(
        capsys,
        "grade",
        str(path),
        "--tasks",
        FAST_TASKS,
        "--json",
        str(json_path),
        "--gradescope",
        str(gradescope_path),
        *options,
    )
    return status, out, err, json_path, gradescope_path


def test_hostile_student_text_reaches_neither_the_terminal_nor_the_reports_raw(tmp_path, capsys):
    status, out, err, json_path, gradescope_path = grade_hostile(tmp_path, capsys)
    assert status == 0
    assert "\x1b" not in out + err and "\r" not in out
    assert "\\x1b[2K\\r18.0 / 18.0 passed" in out
    report = json.loads(json_path.read_bytes().decode("utf-8"))
    results = json.loads(gradescope_path.read_bytes().decode("utf-8"))
    json.dumps(results, ensure_ascii=False).encode("utf-8")
    for task in report["tasks"]:
        outputs = [test["output"] for test in results["tests"] if test["name"].startswith(task["id"] + ": ")]
        verdicts = [line for output in outputs for line in output.split("\n") if line.startswith(("PASS", "FAIL"))]
        hidden = sum(not c["passed"] and c["name"].startswith("hidden case") for c in task["checks"])
        assert len(verdicts) == len(task["checks"]) - max(
            0, hidden - 2
        )  # the failing hidden cases after the first: one line


class _BrokenStdout:
    encoding = "utf-8"

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


class _AsciiStdout(io.StringIO):
    """A terminal that can show ASCII only, and refuses anything else as a real one would."""

    encoding = "ascii"

    def write(self, text):
        text.encode("ascii")
        return super().write(text)


@pytest.mark.parametrize("stdout", [_BrokenStdout, _AsciiStdout], ids=["broken-pipe", "ascii-terminal"])
def test_reports_are_written_and_the_exit_status_kept_whatever_the_terminal_does(tmp_path, capsys, monkeypatch, stdout):
    monkeypatch.setattr("sys.stdout", stdout())
    status, _, _, json_path, gradescope_path = grade_hostile(tmp_path, capsys, "--fail-under", "50")
    assert status == 1  # 14 / 24 is below the bar
    assert json.loads(json_path.read_text())["score"] == pytest.approx(14.0)
    assert json.loads(gradescope_path.read_text())["score"] == pytest.approx(14.0)


# ---------------------------------------------------------------------------------------------
# Bad options are the instructor's one-line error, found before any student code runs
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_grading(monkeypatch):
    """Fails the test if grading starts: the options must be refused before it."""

    def grade(*args, **kwargs):
        raise AssertionError("grading started despite a bad option")

    monkeypatch.setattr("grader.pipeline.grade", grade)


def assert_one_line_usage_error(status, out, err):
    assert status == 2
    assert err.startswith("grader: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err and out == ""


@pytest.mark.parametrize("tasks", [",", "", " , ,"])
def test_a_task_list_that_names_no_task_is_a_usage_error(tmp_path, capsys, no_grading, tasks):
    path = write_notebook(tmp_path, "x = 1\n")
    status, out, err = run(capsys, "grade", str(path), "--tasks", tasks)
    assert_one_line_usage_error(status, out, err)
    assert "names no task" in err


def _parent_of_batches(tmp_path):
    write_cifar10_folder(tmp_path / "fake_cifar" / "cifar-10-batches-py")
    return tmp_path / "fake_cifar"


def _empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _corrupt_batch(tmp_path):
    folder = write_cifar10_folder(tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_2").write_bytes(b"\x80\x02}q\x00(")  # a pickle cut short
    return folder


def _too_few_images(tmp_path):
    return write_cifar10_folder(tmp_path / "cifar-10-batches-py", train_per_batch=4)


@pytest.mark.parametrize(
    "make_folder, says",
    [
        (_parent_of_batches, "did you mean {folder}/cifar-10-batches-py?"),
        (_empty_folder, "no file data_batch_1"),
        (_corrupt_batch, "data_batch_2 is not a CIFAR-10 python batch: it does not unpickle"),
        (_too_few_images, "holds 20 CIFAR-10 training images, fewer than the 100 needed"),
    ],
    ids=["parent-of-batches", "empty", "corrupt-batch", "too-few-images"],
)
def test_a_wrong_data_folder_is_refused_before_any_student_code_runs(tmp_path, capsys, no_grading, make_folder, says):
    folder = make_folder(tmp_path)
    path = write_notebook(tmp_path, *solution_cells())
    status, out, err = run(capsys, "grade", str(path), "--data", str(folder))
    assert_one_line_usage_error(status, out, err)
    assert err.startswith("grader: --data: ") and says.format(folder=folder) in err


def test_a_cifar10_folder_with_enough_images_reaches_the_config(tmp_path):
    from grader.cli import build_parser, config_from

    folder = write_cifar10_folder(tmp_path / "cifar-10-batches-py", train_per_batch=20)
    config = config_from(build_parser().parse_args(["grade", "x.ipynb", "--data", str(folder)]))
    assert config.data_dir == folder


def _report_paths(tmp_path):
    (tmp_path / "a_file").write_text("")
    return {
        "missing-folder": (["--json", str(tmp_path / "out" / "carol.json")], "the folder"),
        "a-folder": (["--json", str(tmp_path)], "is a folder"),
        "gradescope-missing-folder": (["--gradescope", "/nonexistent/results.json"], "does not exist"),
        "parent-is-a-file": (["--gradescope", str(tmp_path / "a_file" / "results.json")], "does not exist"),
        "unwritable": (["--json", "/proc/report.json"], "cannot be written"),
        "same-file": (
            ["--json", str(tmp_path / "r.json"), "--gradescope", str(tmp_path / "r.json")],
            "name the same file",
        ),
    }


@pytest.mark.parametrize(
    "case", ["missing-folder", "a-folder", "gradescope-missing-folder", "parent-is-a-file", "unwritable", "same-file"]
)
def test_a_report_path_that_cannot_be_written_is_refused_before_grading(tmp_path, capsys, no_grading, case):
    options, says = _report_paths(tmp_path)[case]
    path = write_notebook(tmp_path, "x = 1\n")
    status, out, err = run(capsys, "grade", str(path), *options)
    assert_one_line_usage_error(status, out, err)
    assert says in err


def test_checking_a_report_path_leaves_no_file_and_truncates_none(tmp_path):
    from grader.cli import _check_outputs

    existing = tmp_path / "kept.json"
    existing.write_text("previous report")
    _check_outputs({"--json": str(tmp_path / "new.json"), "--gradescope": str(existing)})
    assert not (tmp_path / "new.json").exists()
    assert existing.read_text() == "previous report"


@pytest.mark.parametrize(
    "content", [b"hello\nworld", bytes(range(256)) * 4, b'{"cells": 3}'], ids=["text", "binary", "json-not-a-notebook"]
)
def test_solve_refuses_a_file_that_is_not_a_notebook_in_one_line(tmp_path, capsys, content):
    path = tmp_path / "notnb.txt"
    path.write_bytes(content)
    status, out, err = run(capsys, "solve", str(path), "-o", str(tmp_path / "x.ipynb"))
    assert_one_line_usage_error(status, out, err)
    assert "is not a notebook" in err
    assert not (tmp_path / "x.ipynb").exists()


def test_solve_refuses_an_output_in_a_missing_folder(tmp_path, capsys):
    path = write_notebook(tmp_path, "x = 1\n")
    status, out, err = run(capsys, "solve", str(path), "-o", str(tmp_path / "missing" / "solved.ipynb"))
    assert_one_line_usage_error(status, out, err)
    assert "does not exist" in err
