"""Class folder -> submissions and student ids; `grader grade` refusing a class. No grading here."""

import importlib

import pytest
from hostile_trees import nested_folders

from grader import cli
from grader.classroom.discover import (
    LmsName,
    discover,
    lms_name,
    lms_student,
    looks_like_class,
    safe_name,
    student_identity,
)
from grader.discover import MAX_SUBMISSION_BYTES
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


@pytest.mark.parametrize(
    "name, student",
    [
        ("doejane_12345_678901_ConvolutionalNetworks.ipynb", "doejane_12345"),
        ("doejane_LATE_12345_678902_ConvolutionalNetworks-1.ipynb", "doejane_12345"),
        ("Jane Doe_4321_assignsubmission_file_ConvolutionalNetworks.ipynb", "Jane Doe_4321"),
        ("Jane Doe_4321_assignsubmission_file_", "Jane Doe_4321"),
        ("ConvolutionalNetworks.ipynb", None),
    ],
)
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


# -- A submission is confined to itself ------------------------------------------------------------------


def test_a_students_link_to_another_students_notebook_is_not_followed_and_the_note_names_it(tmp_path):
    folder_class(tmp_path, "alice", "bob")
    alice = tmp_path / "alice" / "submission.ipynb"
    (tmp_path / "bob" / "submission.ipynb").unlink()
    write_notebook(tmp_path / "bob", STUB, name="mine.ipynb")
    (tmp_path / "bob" / "ConvolutionalNetworks.ipynb").symlink_to(alice)
    bob = {s.student: s for s in discover(tmp_path).submissions}["bob"]
    assert [p.name for p in bob.notebooks] == ["mine.ipynb"]
    assert any("ConvolutionalNetworks.ipynb" in note and "symbolic link" in note for note in bob.notes)


def test_a_student_folder_of_links_only_is_a_row_with_the_reason(tmp_path):
    folder_class(tmp_path, "alice")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "ConvolutionalNetworks.ipynb").symlink_to(tmp_path / "alice" / "submission.ipynb")
    bob = {s.student: s for s in discover(tmp_path).submissions}["bob"]
    assert bob.notebooks == () and "symbolic link" in bob.problem


@pytest.mark.parametrize("link", ["bob", "bob.ipynb"])
def test_a_link_in_the_class_folder_itself_is_a_row_with_the_reason_not_a_copy_of_its_target(tmp_path, link):
    folder_class(tmp_path, "alice")
    target = tmp_path / "alice" / ("" if link == "bob" else "submission.ipynb")
    (tmp_path / link).symlink_to(target, target_is_directory=link == "bob")
    bob = {s.student: s for s in discover(tmp_path).submissions}["bob"]
    assert bob.notebooks == () and "symbolic link" in bob.problem


def test_a_linked_bulk_download_notebook_is_left_out_of_its_students_other_notebooks(tmp_path):
    real = write_notebook(tmp_path, STUB, name="doejane_12345_678901_ConvolutionalNetworks.ipynb")
    (tmp_path / "doejane_late_12345_678902_Untitled.ipynb").symlink_to(real)
    [doejane] = discover(tmp_path).submissions
    assert doejane.notebooks == (real,) and any("symbolic link" in note for note in doejane.notes)


def test_linked_folders_are_not_counted_when_deciding_whether_a_folder_looks_like_a_class(tmp_path):
    folder_class(tmp_path / "elsewhere", "alice", "bob")
    write_notebook(tmp_path, STUB)
    for name in ("alice", "bob"):
        (tmp_path / name).symlink_to(tmp_path / "elsewhere" / name, target_is_directory=True)
    assert not looks_like_class(tmp_path)


# -- Structure a student controls never crashes the class ------------------------------------------------


def test_a_folder_nested_1100_deep_costs_nothing_to_the_other_students_and_its_notebook_beside_is_found(tmp_path):
    folder_class(tmp_path, "alice", "mallory")
    with nested_folders(tmp_path / "mallory", 1100):
        found = {s.student: s for s in discover(tmp_path).submissions}
        assert looks_like_class(tmp_path)
    assert [len(found[s].notebooks) for s in ("alice", "mallory")] == [1, 1]
    assert any("deeper than" in note for note in found["mallory"].notes)


def test_a_submission_over_the_byte_cap_is_a_row_with_the_reason(tmp_path):
    folder_class(tmp_path, "alice")
    (tmp_path / "mallory").mkdir()
    for name in ("a.ipynb", "b.ipynb"):
        with open(tmp_path / "mallory" / name, "wb") as handle:
            handle.truncate(MAX_SUBMISSION_BYTES // 2 + 1)
    found = {s.student: s for s in discover(tmp_path).submissions}
    assert found["alice"].problem == "" and "MB a submission may hold" in found["mallory"].problem


def test_a_flat_students_notebooks_over_the_byte_cap_are_a_row_with_the_reason(tmp_path):
    for name in ("doejane_12345_1_a.ipynb", "doejane_12345_2_b.ipynb"):
        with open(tmp_path / name, "wb") as handle:
            handle.truncate(MAX_SUBMISSION_BYTES // 2 + 1)
    [doejane] = discover(tmp_path).submissions
    assert "MB a submission may hold" in doejane.problem


def test_a_failure_while_discovering_one_student_is_that_students_row_only(tmp_path, monkeypatch):
    class_discover = importlib.import_module("grader.classroom.discover")  # the package's name is the function
    folder_class(tmp_path, "alice", "mallory")
    real = class_discover.find_notebooks

    def failing_for_mallory(path):
        if path.name == "mallory":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path)

    monkeypatch.setattr(class_discover, "find_notebooks", failing_for_mallory)
    found = {s.student: s for s in discover(tmp_path).submissions}
    assert found["alice"].problem == "" and "RecursionError" in found["mallory"].problem


# -- Unique identities -----------------------------------------------------------------------------------


def test_a_generated_id_never_takes_a_real_students_id(tmp_path):
    folder_class(tmp_path, "bob", "bob (2)")
    write_notebook(tmp_path, STUB, name="bob.ipynb")
    submissions = discover(tmp_path).submissions
    ids = [s.student for s in submissions]
    assert len(set(ids)) == 3 and "bob" in ids and "bob (2)" in ids
    assert {s.path.name for s in submissions if s.student == "bob (2)"} == {"bob (2)"}


@pytest.mark.parametrize("names", [("Carol", "carol"), ("Jos\u00e9", "Jose\u0301"), ("STRASSE", "stra\u00dfe")])
def test_ids_equal_after_nfc_and_case_folding_are_two_students_with_distinct_ids(tmp_path, names):
    folder_class(tmp_path, *names)
    ids = [s.student for s in discover(tmp_path).submissions]
    assert len(ids) == 2 and len({student_identity(i) for i in ids}) == 2
    assert len({safe_name(i).lower() for i in ids}) == 2


def test_no_two_ids_share_an_output_folder_even_on_a_case_insensitive_file_system(tmp_path):
    folder_class(tmp_path, "Carol", "carol", "carol (2)", "x!", "X!", "x_+0000000000000000")
    names = [safe_name(s.student).lower() for s in discover(tmp_path).submissions]
    assert len(names) == len(set(names)) == 6


def test_a_student_cannot_name_a_folder_after_another_students_output_folder(tmp_path):
    folder_class(tmp_path, "alice!", safe_name("alice!"))
    names = [safe_name(s.student).lower() for s in discover(tmp_path).submissions]
    assert len(names) == len(set(names)) == 2


def test_bulk_download_names_give_their_parts_and_the_late_flag():
    assert lms_name("doejane_12345_6789012_ConvolutionalNetworks") == LmsName("canvas", "doejane", "12345")
    assert lms_name("doejane_LATE_12345_6789013_Untitled") == LmsName("canvas", "doejane", "12345", late=True)
    assert lms_name("Jane Doe_4321_assignsubmission_file_") == LmsName("moodle", "Jane Doe", "4321")
    assert lms_name("alice") is None


def canvas_class(root):
    for file_name in (
        "doejane_12345_6789012_ConvolutionalNetworks.ipynb",
        "doejane_LATE_12345_6789013_Untitled.ipynb",
        "roebob_777_6789014_ConvolutionalNetworks.ipynb",
    ):
        write_notebook(root, STUB, name=file_name)
    (root / "carol").mkdir()
    write_notebook(root / "carol", STUB)
    return root


def test_discovery_groups_a_canvas_student_and_flags_the_late_hand_in(tmp_path):
    found = {s.student: s.lms for s in discover(canvas_class(tmp_path)).submissions}
    assert found == {
        "doejane_12345": LmsName("canvas", "doejane", "12345", late=True),
        "roebob_777": LmsName("canvas", "roebob", "777", late=False),
        "carol": None,
    }


def test_discovery_gives_a_moodle_folder_and_notebook_their_names_and_no_late_flag(tmp_path):
    (tmp_path / "Jane Doe_4321_assignsubmission_file_").mkdir()
    write_notebook(tmp_path / "Jane Doe_4321_assignsubmission_file_", STUB)
    write_notebook(tmp_path, STUB, name="Eve Doe_99_assignsubmission_file_nb.ipynb")
    found = {s.student: s.lms for s in discover(tmp_path).submissions}
    assert found == {
        "Jane Doe_4321": LmsName("moodle", "Jane Doe", "4321"),
        "Eve Doe_99": LmsName("moodle", "Eve Doe", "99"),
    }
