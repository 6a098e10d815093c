"""Exit statuses say one thing each: 1 only for --fail-under, 2 for a submission that cannot be read at all
(one line, no traceback), and a failure of the grader itself a status of its own that never looks like a
grade, whatever structure the student handed in."""

import json

import pytest
from hostile_trees import nested_folders

from grader import cli
from notebooks import write_notebook

TASK = "max_pool_forward_naive"


def deep_json(depth):
    return b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ' + b"[" * depth + b"]" * depth + b"}"


def test_a_notebook_of_json_nested_50000_deep_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "deep.ipynb").write_bytes(deep_json(50_000))
    for path in (tmp_path / "deep.ipynb", tmp_path):
        assert cli.main(["grade", str(path)]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("grader: ") and err.count("\n") == 1 and "nested" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_folder_nested_1100_deep_beside_a_notebook_is_graded_with_a_note_and_exits_0(tmp_path, capsys):
    write_notebook(tmp_path, "x = 1\n")
    report = tmp_path.parent / f"{tmp_path.name}-report.json"
    with nested_folders(tmp_path, 1100):
        status = cli.main(["grade", str(tmp_path), "--tasks", TASK, "--json", str(report)])
    assert status == cli.EXIT_OK, capsys.readouterr().err
    assert any("deeper than" in note for note in json.loads(report.read_text())["notes"])


def test_a_failure_of_the_grader_itself_exits_with_its_own_status_and_the_traceback(tmp_path, capsys, monkeypatch):
    def broken(path, config=None):
        raise RuntimeError("a grader bug")

    monkeypatch.setattr("grader.pipeline.grade", broken)
    path = write_notebook(tmp_path, "x = 1\n")
    status = cli.main(["grade", str(path)])
    err = capsys.readouterr().err
    assert status == cli.EXIT_INTERNAL and status not in (
        cli.EXIT_OK,
        cli.EXIT_BELOW_BAR,
        cli.EXIT_USAGE,
        cli.EXIT_NO_SANDBOX,
    )
    assert "Traceback" in err and "RuntimeError: a grader bug" in err and "please report" in err
