"""Submission path -> notebooks: a submission is confined to its own files (no symbolic link is followed),
and whatever structure a student hands in (depth, file count, sizes, JSON nesting) costs at most that
submission, with a one-line reason; nothing here raises anything but SubmissionError."""

import json
import os

import pytest
from hostile_trees import nested_folders

from grader import discover
from grader.discover import SubmissionError, find_notebooks, load_submission, read_notebook
from notebooks import solution_cells, write_notebook

STUB = "def conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n"


def deeply_nested_json(depth):
    return b'{"nbformat": 4, "nbformat_minor": 5, "metadata": ' + b"[" * depth + b"]" * depth + b', "cells": []}'


def test_a_linked_notebook_inside_a_submission_is_not_read_and_the_note_names_it(tmp_path):
    (tmp_path / "alice").mkdir()
    alice = write_notebook(tmp_path / "alice", *solution_cells())
    bob = tmp_path / "bob"
    bob.mkdir()
    write_notebook(bob, STUB, name="mine.ipynb")
    (bob / "ConvolutionalNetworks.ipynb").symlink_to(alice)
    notebooks, notes = load_submission(bob)
    assert [n.path.name for n in notebooks] == ["mine.ipynb"]
    assert len(notes) == 1 and "ConvolutionalNetworks.ipynb" in notes[0] and "symbolic link" in notes[0]


def test_a_linked_folder_inside_a_submission_is_not_entered(tmp_path):
    (tmp_path / "alice").mkdir()
    write_notebook(tmp_path / "alice", *solution_cells())
    bob = tmp_path / "bob"
    bob.mkdir()
    write_notebook(bob, STUB)
    (bob / "hw").symlink_to(tmp_path / "alice", target_is_directory=True)
    found = find_notebooks(bob)
    assert found.notebooks == (bob / "submission.ipynb",)
    assert any("hw" in note and "symbolic link" in note for note in found.notes)


def test_a_submission_of_only_links_is_unreadable_with_a_reason_naming_them(tmp_path):
    target = write_notebook(tmp_path, *solution_cells(), name="elsewhere.ipynb")
    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "ConvolutionalNetworks.ipynb").symlink_to(target)
    with pytest.raises(SubmissionError, match="symbolic link.*ConvolutionalNetworks.ipynb"):
        load_submission(bob)


def test_a_path_argument_that_is_itself_a_link_is_followed_but_not_the_links_inside(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    notebook = write_notebook(real, STUB)
    (tmp_path / "link.ipynb").symlink_to(notebook)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    assert [n.path for n in load_submission(tmp_path / "link.ipynb")[0]] == [tmp_path / "link.ipynb"]
    assert [n.path.name for n in load_submission(tmp_path / "link")[0]] == ["submission.ipynb"]


def test_a_link_swapped_in_after_discovery_is_not_read(tmp_path):
    """Reading never follows a link either (O_NOFOLLOW): discovery and reading cannot be raced apart."""
    target = write_notebook(tmp_path, *solution_cells(), name="elsewhere.ipynb")
    (tmp_path / "bob").mkdir()
    path = write_notebook(tmp_path / "bob", STUB)
    found = find_notebooks(tmp_path / "bob")
    path.unlink()
    path.symlink_to(target)
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_notebook(found.notebooks[0])


def test_a_folder_nested_1100_deep_is_cut_at_the_bound_with_a_note_and_the_notebook_beside_it_is_read(tmp_path):
    write_notebook(tmp_path, STUB)
    with nested_folders(tmp_path, 1100, notebook=write_notebook(tmp_path, STUB, name="x").read_bytes()):
        (tmp_path / "x").unlink()
        notebooks, notes = load_submission(tmp_path)
    assert [n.path.name for n in notebooks] == ["submission.ipynb"]
    assert len(notes) == 1 and f"deeper than {discover.MAX_DEPTH}" in notes[0]


def test_more_files_than_the_bound_stop_the_search_with_a_note_and_shallow_notebooks_are_found(tmp_path, monkeypatch):
    monkeypatch.setattr(discover, "MAX_ENTRIES", 50)
    write_notebook(tmp_path, STUB)
    (tmp_path / "junk").mkdir()
    for index in range(200):
        (tmp_path / "junk" / f"{index}.ipynb").write_text("{}")
    found = find_notebooks(tmp_path)
    assert tmp_path / "submission.ipynb" in found.notebooks and len(found.notebooks) < 50
    assert len(found.notes) == 1
    assert any("50 files and folders" in note for note in found.notes)


def test_more_notebooks_than_the_bound_are_read_up_to_it_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(discover, "MAX_NOTEBOOKS", 3)
    for index in range(5):
        write_notebook(tmp_path, STUB, name=f"{index}.ipynb")
    found = find_notebooks(tmp_path)
    assert [p.name for p in found.notebooks] == ["0.ipynb", "1.ipynb", "2.ipynb"]
    assert any("more than 3 notebooks" in note for note in found.notes)


def test_json_nested_50000_deep_is_a_one_line_reason_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_bytes(deeply_nested_json(50_000))
    with pytest.raises(SubmissionError, match="nested") as raised:
        read_notebook(path)
    assert "\n" not in str(raised.value)


def test_json_nested_beyond_the_bound_but_within_pythons_is_refused_too(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_bytes(deeply_nested_json(discover.MAX_JSON_DEPTH + 5))
    with pytest.raises(SubmissionError, match="nested"):
        read_notebook(path)


def test_a_deeply_nested_notebook_beside_a_good_one_costs_only_itself(tmp_path):
    write_notebook(tmp_path, STUB)
    (tmp_path / "deep.ipynb").write_bytes(deeply_nested_json(50_000))
    notebooks, notes = load_submission(tmp_path)
    assert [n.path.name for n in notebooks] == ["submission.ipynb"]
    assert len(notes) == 1 and "deep.ipynb" in notes[0]


def test_a_submission_over_the_byte_cap_is_refused_by_its_size_before_any_byte_is_read(tmp_path, monkeypatch):
    for name in ("a.ipynb", "b.ipynb"):
        with open(tmp_path / name, "wb") as handle:  # sparse: nothing is written
            handle.truncate(discover.MAX_SUBMISSION_BYTES // 2 + 1)

    def no_reading(*args, **kwargs):
        raise AssertionError("a byte was read")

    monkeypatch.setattr(discover, "_read_bytes", no_reading)
    with pytest.raises(SubmissionError, match=f"more than the {discover.MAX_SUBMISSION_BYTES >> 20} MB"):
        load_submission(tmp_path)


def test_a_notebook_over_its_own_cap_is_skipped_unread_and_the_rest_graded(tmp_path, monkeypatch):
    write_notebook(tmp_path, STUB)
    with open(tmp_path / "huge.ipynb", "wb") as handle:
        handle.truncate(discover.MAX_NOTEBOOK_BYTES + 1)
    notebooks, notes = load_submission(tmp_path)
    assert [n.path.name for n in notebooks] == ["submission.ipynb"]
    assert len(notes) == 1 and "huge.ipynb" in notes[0] and "larger than" in notes[0]


def test_a_fifo_or_other_special_file_named_like_a_notebook_is_skipped_without_blocking(tmp_path):
    write_notebook(tmp_path, STUB)
    os.mkfifo(tmp_path / "pipe.ipynb")
    notebooks, notes = load_submission(tmp_path)
    assert [n.path.name for n in notebooks] == ["submission.ipynb"]
    assert any("pipe.ipynb" in note and "not a regular file" in note for note in notes)


def test_an_unexpected_failure_reading_one_notebook_costs_only_that_notebook(tmp_path, monkeypatch):
    write_notebook(tmp_path, STUB, name="a.ipynb")
    write_notebook(tmp_path, STUB, name="b.ipynb")
    real = discover._parsed

    def failing_on_a(data, path):
        if path.name == "a.ipynb":
            raise MemoryError("boom")
        return real(data, path)

    monkeypatch.setattr(discover, "_parsed", failing_on_a)
    notebooks, notes = load_submission(tmp_path)
    assert [n.path.name for n in notebooks] == ["b.ipynb"]
    assert len(notes) == 1 and "a.ipynb" in notes[0] and "MemoryError" in notes[0]


def test_a_folder_that_cannot_be_listed_inside_a_submission_is_a_note(tmp_path, monkeypatch):
    write_notebook(tmp_path, STUB)
    (tmp_path / "locked").mkdir()
    write_notebook(tmp_path / "locked", STUB)
    scandir = os.scandir

    def refusing(path):  # as chmod 000 would, for a user other than root
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    found = find_notebooks(tmp_path)
    assert found.notebooks == (tmp_path / "submission.ipynb",)
    assert any("locked" in note and "cannot be listed" in note for note in found.notes)


def test_a_checkpoint_copy_is_never_graded(tmp_path):
    write_notebook(tmp_path, STUB)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints", STUB, name="submission-checkpoint.ipynb")
    assert find_notebooks(tmp_path).notebooks == (tmp_path / "submission.ipynb",)


def test_a_deeply_nested_stored_output_is_dropped_unread_not_a_reason_to_refuse_the_notebook(tmp_path):
    output = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"application/json": json.loads("[" * 200 + "]" * 200)},
    }
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [output], "source": STUB}
    path = tmp_path / "outputs.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell]}))
    assert read_notebook(path).code_cells == (STUB,)
