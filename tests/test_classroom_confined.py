"""A class run where students hand in links, hostile structure and clashing names: each submission is
confined to its own files, costs only its own row, keeps an identity of its own, and the coordinator
holds no student's bytes but those of the jobs it is sending."""

import csv
import io
import json
import pickle
import tracemalloc
from pathlib import Path

import pytest
from hostile_trees import nested_folders

from grader import cli
from grader.classroom import discover, grade_class
from grader.classroom.resume import submission_key
from grader.classroom.run import UNREADABLE, LocalPool, grade_job, prepare_job
from grader.config import Config
from notebooks import solution_cells, write_notebook

TASK = "max_pool_forward_naive"  # one cheap task: these tests are about discovery, not checks
CONFIG = Config(tasks=(TASK,), timeout=3.0, speed_budget=1e6)
STUB = "def max_pool_forward_naive(x, pool_param):\n    raise NotImplementedError\n"


class InProcess:
    """An executor that grades each job in this process, after a round trip through pickle (as a worker's
    pipe or Dask would send it)."""

    description = "in process"

    def results(self, jobs):
        for job in jobs:
            yield grade_job(pickle.loads(pickle.dumps(job)))

    def close(self):
        pass


def rows(out):
    return {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}


def report_of(out, student):
    return json.loads((out / "students" / student / "report.json").read_text())


@pytest.mark.slow
def test_a_link_to_another_students_solved_notebook_scores_nothing_and_the_report_names_it(tmp_path):
    root = tmp_path / "class"
    for student in ("alice", "bob", "carol"):
        (root / student).mkdir(parents=True)
    solved = write_notebook(root / "alice", *solution_cells())
    (root / "bob" / "ConvolutionalNetworks.ipynb").symlink_to(solved)
    write_notebook(root / "carol", STUB)
    (root / "carol" / "ConvolutionalNetworks.ipynb").symlink_to(Path("..") / "alice" / solved.name)
    out = tmp_path / "out"
    run = grade_class(root, out, CONFIG, LocalPool(1), progress_stream=io.StringIO())
    scores = {r["student"]: (r["status"], (r["report"] or {}).get("score")) for r in run.records}
    assert scores == {"alice": ("graded", 8.0), "bob": (UNREADABLE, None), "carol": ("graded", 0.0)}
    assert "symbolic link" in rows(out)["bob"]["reason"]
    assert any(
        "ConvolutionalNetworks.ipynb" in note and "symbolic link" in note for note in report_of(out, "carol")["notes"]
    )


@pytest.mark.slow
def test_a_folder_1100_deep_and_json_50000_deep_cost_only_their_students_and_exit_0(tmp_path, capsys):
    root = tmp_path / "class"
    for student in ("alice", "mallory", "eve"):
        (root / student).mkdir(parents=True)
        write_notebook(root / student, *solution_cells())
    (root / "eve" / "submission.ipynb").write_bytes(b'{"nbformat": 4, "cells": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    out = tmp_path / "out"
    with nested_folders(root / "mallory", 1100):
        status = cli.main(["grade-class", str(root), "--out", str(out), "-j", "2", "--tasks", TASK])
    assert status == cli.EXIT_OK, capsys.readouterr().err
    table = rows(out)
    assert [table[s]["total"] for s in ("alice", "mallory")] == ["8.00", "8.00"]
    assert table["eve"]["status"] == UNREADABLE and "nested" in table["eve"]["reason"]
    assert any("deeper than" in note for note in report_of(out, "mallory")["notes"])


def test_preparing_a_class_holds_none_of_its_notebooks_bytes(tmp_path):
    root = tmp_path / "class"
    for index in range(40):
        (root / f"s{index}").mkdir(parents=True)
        with open(root / f"s{index}" / "ConvolutionalNetworks.ipynb", "wb") as handle:
            handle.truncate(4 << 20)  # 160 MiB in all, sparse
    submissions = discover(root).submissions
    tracemalloc.start()
    try:
        jobs = [prepare_job(submission, CONFIG, submission_key) for submission in submissions]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(jobs) == 40 and all(job.key for job in jobs) and peak < 8 << 20
    assert len(pickle.dumps(jobs[0])) > 4 << 20  # the bytes travel with the job when it is sent


def test_a_notebook_swapped_for_a_link_after_discovery_is_not_sent(tmp_path):
    root = tmp_path / "class"
    (root / "bob").mkdir(parents=True)
    notebook = write_notebook(root / "bob", STUB)
    secret = write_notebook(tmp_path, *solution_cells(), name="elsewhere.ipynb")
    [submission] = discover(root).submissions
    job = prepare_job(submission, CONFIG, submission_key)
    notebook.unlink()
    notebook.symlink_to(secret)
    graded = grade_job(pickle.loads(pickle.dumps(job)))
    assert graded.status == UNREADABLE and "symbolic link" in graded.reason


def test_clashing_ids_get_one_row_one_record_and_one_folder_each(tmp_path):
    root = tmp_path / "class"
    folders = ("bob", "bob (2)", "Carol", "carol", "Jos\u00e9", "Jose\u0301")
    for name in folders:
        (root / name).mkdir(parents=True)
        (root / name / "submission.ipynb").write_text("{}")  # unreadable: a row and a record, no grading
    (root / "bob.ipynb").write_text("{}")
    out = tmp_path / "out"
    run = grade_class(root, out, CONFIG, InProcess(), progress_stream=io.StringIO())
    students = [r["student"] for r in run.records]
    assert len(students) == len(set(students)) == 7 == len(rows(out))
    folders_made = [p.name.lower() for p in (out / "students").iterdir()]
    assert len(folders_made) == len(set(folders_made)) == 7
    bob2 = next(r for r in run.records if r["student"] == "bob (2)")
    assert "bob (2)/submission.ipynb" in bob2["reason"]  # the real "bob (2)" keeps its id and its own row


def test_a_failure_while_reading_one_submission_is_its_row_and_the_others_are_graded(tmp_path, monkeypatch):
    import grader.classroom as classroom

    root = tmp_path / "class"
    for name in ("alice", "mallory"):
        (root / name).mkdir(parents=True)
        (root / name / "submission.ipynb").write_text("{}")
    real = classroom.prepare_job

    def failing_for_mallory(submission, config, key_of):
        if submission.student == "mallory":
            raise RecursionError("maximum recursion depth exceeded")
        return real(submission, config, key_of)

    monkeypatch.setattr(classroom, "prepare_job", failing_for_mallory)
    run = grade_class(root, tmp_path / "out", CONFIG, InProcess(), progress_stream=io.StringIO())
    statuses = {r["student"]: (r["status"], r["reason"]) for r in run.records}
    assert statuses["alice"][0] == UNREADABLE and statuses["mallory"][0] == "error"
    assert "RecursionError" in statuses["mallory"][1]


def test_the_gradebook_refuses_two_rows_for_one_student_identity():
    from grader.classroom import gradebook

    records = [
        {"student": name, "status": UNREADABLE, "key": "", "report": None} for name in ("Jos\u00e9", "JOSE\u0301")
    ]
    with pytest.raises(ValueError, match="one student id"):
        gradebook.text(records, (TASK,))
