"""What a submission is: one notebook, or a folder with its notebooks; a stub never overrides an implemented
definition; the report and the table say which notebook each task's definition came from, and a task defined
differently in two notebooks is noted with the one graded."""

import json
from pathlib import Path

import pytest

from grader.cli import main
from grader.solve import solve
from notebooks import STUB_NOTEBOOK, solution_cells, stub_cells, write_notebook

BUGGY_CONV = (Path(__file__).parent / "variants" / "buggy" / "conv_forward_stride_ignored.py").read_text()


def grade_json(tmp_path, capsys, path, *options):
    report_path = tmp_path / "report.json"
    status = main(["grade", str(path), "--json", str(report_path), *options])
    out = capsys.readouterr().out
    return status, out, json.loads(report_path.read_text())


def sources(report):
    return {task["id"]: task["source"] for task in report["tasks"]}


@pytest.mark.parametrize("solved_name", ["ConvolutionalNetworks.ipynb", "zz_solved.ipynb"])
def test_an_untouched_stub_copy_beside_the_solved_cells_costs_nothing_in_either_order(tmp_path, capsys, solved_name):
    folder = tmp_path / "submission"
    folder.mkdir()
    write_notebook(folder, *solution_cells(), name=solved_name)
    write_notebook(folder, *stub_cells().values(), name="Untitled.ipynb")
    status, out, report = grade_json(tmp_path, capsys, folder, "--tasks", "conv_forward_naive", "-q")
    assert status == 0 and report["score"] == pytest.approx(10.0)
    assert sources(report) == {"conv_forward_naive": solved_name}
    assert report["notebooks"] == sorted(["Untitled.ipynb", solved_name])
    header, _, row = out.splitlines()[:3]
    assert "notebook" in header and solved_name in row


@pytest.mark.slow
def test_the_solved_notebook_beside_an_untitled_copy_of_the_stub_grades_100(tmp_path, capsys):
    folder = tmp_path / "submission"
    folder.mkdir()
    solve(STUB_NOTEBOOK, folder / "ConvolutionalNetworks.ipynb")
    (folder / "Untitled.ipynb").write_bytes(STUB_NOTEBOOK.read_bytes())
    status, _, report = grade_json(tmp_path, capsys, folder)
    assert status == 0 and report["score"] == pytest.approx(100.0)
    assert set(sources(report).values()) == {"ConvolutionalNetworks.ipynb"}
    assert not report["notes"]


def test_two_different_implementations_are_noted_with_the_one_graded(tmp_path, capsys):
    write_notebook(tmp_path, solution_cells()[0], name="a.ipynb")
    write_notebook(tmp_path, "import numpy as np\n" + BUGGY_CONV, name="b.ipynb")
    _, _, report = grade_json(tmp_path, capsys, tmp_path, "--tasks", "conv_forward_naive")
    assert sources(report) == {"conv_forward_naive": "b.ipynb"}
    assert report["score"] < 10.0  # the last notebook's (buggy) definition is the one graded
    conflict = [note for note in report["notes"] if "different definitions of conv_forward_naive" in note]
    assert len(conflict) == 1 and "a.ipynb" in conflict[0] and "graded: the one in b.ipynb" in conflict[0]


def test_a_single_notebook_names_its_source_in_the_json_but_adds_no_column(tmp_path, capsys):
    path = write_notebook(tmp_path, *solution_cells(), name="mine.ipynb")
    _, out, report = grade_json(tmp_path, capsys, path, "--tasks", "conv_forward_naive", "-q")
    assert sources(report) == {"conv_forward_naive": "mine.ipynb"}
    assert report["notebooks"] == ["mine.ipynb"]
    assert "notebook" not in out.splitlines()[0]


def test_notebooks_in_sub_folders_are_named_by_their_path_within_the_submission(tmp_path, capsys):
    (tmp_path / "part2").mkdir()
    write_notebook(tmp_path, "x = 1\n", name="a.ipynb")
    write_notebook(tmp_path / "part2", *solution_cells(), name="b.ipynb")
    _, _, report = grade_json(tmp_path, capsys, tmp_path, "--tasks", "conv_forward_naive,max_pool_forward_naive")
    assert sources(report) == {"conv_forward_naive": "part2/b.ipynb", "max_pool_forward_naive": "part2/b.ipynb"}


def test_a_hostile_notebook_name_reaches_neither_the_table_nor_the_report_raw(tmp_path, capsys):
    hostile = "\x1b[2J\u202ehostile\r.ipynb"
    write_notebook(tmp_path, solution_cells()[0], name=hostile)
    write_notebook(tmp_path, "import numpy as np\n" + BUGGY_CONV, name="a.ipynb")
    report_path = tmp_path / "r.json"
    main(["grade", str(tmp_path), "--tasks", "conv_forward_naive", "--json", str(report_path)])
    out = capsys.readouterr().out
    text = report_path.read_text()
    for raw in ("\x1b", "\u202e", "\r"):
        assert raw not in out and raw not in json.loads(text)["tasks"][0]["source"]
        assert all(raw not in note for note in json.loads(text)["notes"])
    assert "\\x1b[2J" in out
