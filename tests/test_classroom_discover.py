"""Class folder -> submissions and student ids; `grader grade` refusing a class. No grading here."""

import pytest

from grader import cli
from grader.classroom.discover import discover, looks_like_class, lms_student, safe_name
from notebooks import write_notebook

STUB = "def conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n"


def folder_class(root, *students):
    for student in students:
        (root / student).mkdir(parents=True)
        write_notebook(root / student, STUB)
    return root


def test_each_sub_folder_is_one_submission_named_by_the_folder(tmp_path):
    folder_class(tmp_path, "alice", "bob")
    write_notebook(tmp_path / "bob", STUB, name="Untitled.ipynb")
    found = discover(tmp_path)
    assert [s.student for s in found.submissions] == ["alice", "bob"]
    assert [len(s.notebooks) for s in found.submissions] == [1, 2]


def test_each_flat_notebook_is_one_submission_named_by_the_file(tmp_path):
    for name in ("carol.ipynb", "dave.ipynb"):
        write_notebook(tmp_path, STUB, name=name)
    (tmp_path / "grades.csv").write_text("x\n")
    found = discover(tmp_path)
    assert [s.student for s in found.submissions] == ["carol", "dave"]
    assert [p.name for p in found.ignored] == ["grades.csv"]


@pytest.mark.parametrize("name, student", [
    ("doejane_12345_678901_ConvolutionalNetworks.ipynb", "doejane_12345"),
    ("doejane_LATE_12345_678902_ConvolutionalNetworks-1.ipynb", "doejane_12345"),
    ("Jane Doe_4321_assignsubmission_file_ConvolutionalNetworks.ipynb", "Jane Doe_4321"),
    ("Jane Doe_4321_assignsubmission_file_", "Jane Doe_4321"),
    ("ConvolutionalNetworks.ipynb", None),
])
def test_canvas_and_moodle_bulk_download_names_give_the_student(name, student):
    assert lms_student(name.removesuffix(".ipynb")) == student


def test_one_students_bulk_download_notebooks_are_one_submission(tmp_path):
    write_notebook(tmp_path, STUB, name="doejane_12345_678901_ConvolutionalNetworks.ipynb")
    write_notebook(tmp_path, STUB, name="doejane_late_12345_678902_Untitled.ipynb")
    write_notebook(tmp_path, STUB, name="roejohn_777_678903_ConvolutionalNetworks.ipynb")
    found = discover(tmp_path)
    assert [(s.student, len(s.notebooks)) for s in found.submissions] == [("doejane_12345", 2), ("roejohn_777", 1)]


def test_moodle_folders_give_the_student_without_the_suffix(tmp_path):
    folder_class(tmp_path, "Jane Doe_4321_assignsubmission_file_")
    assert [s.student for s in discover(tmp_path).submissions] == ["Jane Doe_4321"]


def test_hidden_checkpoint_and_results_folders_are_not_students(tmp_path):
    folder_class(tmp_path, "alice", ".ipynb_checkpoints", "__MACOSX", "results")
    assert [s.student for s in discover(tmp_path, exclude=[tmp_path / "results"]).submissions] == ["alice"]


def test_a_folder_without_a_notebook_is_a_submission_with_its_problem(tmp_path):
    (tmp_path / "erin").mkdir()
    (tmp_path / "erin" / "notes.txt").write_text("forgot\n")
    [erin] = discover(tmp_path).submissions
    assert erin.notebooks == () and "no notebook" in erin.problem


def test_a_folder_and_a_notebook_of_one_name_get_distinct_ids(tmp_path):
    folder_class(tmp_path, "alice")
    write_notebook(tmp_path, STUB, name="alice.ipynb")
    assert sorted(s.student for s in discover(tmp_path).submissions) == ["alice", "alice (2)"]


def test_an_empty_class_has_no_submissions(tmp_path):
    assert discover(tmp_path).submissions == ()


@pytest.mark.parametrize("student", ["=cmd|' /C calc'!A0", "a,b", "x\x1b[2J\ry", "..", "", "a/../b", "\udcff"])
def test_safe_names_are_plain_file_names_distinct_from_each_other(student):
    name = safe_name(student)
    assert name and "/" not in name and not name.startswith(".") and name.isascii() and name.isprintable()
    assert safe_name(student) == name != safe_name(student + "x")


def test_safe_name_keeps_a_plain_id_as_it_is():
    assert safe_name("alice_01") == "alice_01"


def test_sub_folders_that_each_hold_notebooks_look_like_a_class(tmp_path):
    assert looks_like_class(folder_class(tmp_path, "alice", "bob"))


def test_bulk_download_names_of_two_students_look_like_a_class(tmp_path):
    write_notebook(tmp_path, STUB, name="doejane_12345_678901_ConvolutionalNetworks.ipynb")
    write_notebook(tmp_path, STUB, name="roejohn_777_678903_ConvolutionalNetworks.ipynb")
    assert looks_like_class(tmp_path)


def test_one_students_folder_does_not_look_like_a_class(tmp_path):
    write_notebook(tmp_path, STUB, name="ConvolutionalNetworks.ipynb")
    write_notebook(tmp_path, STUB, name="Untitled.ipynb")
    (tmp_path / "old").mkdir()
    write_notebook(tmp_path / "old", STUB)
    assert not looks_like_class(tmp_path)
    assert not looks_like_class(tmp_path / "ConvolutionalNetworks.ipynb")


def test_grader_grade_refuses_a_class_folder_and_points_at_grade_class(tmp_path, capsys):
    folder_class(tmp_path, "alice", "bob")
    assert cli.main(["grade", str(tmp_path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "grade-class" in err and len(err.strip().splitlines()) == 1
