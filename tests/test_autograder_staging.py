"""run_autograder's staging of an upload: confined to the upload's own files (no symbolic link followed,
each named in a note on the run's output), bounded without recursion, so a solved notebook beside a
hostile tree still scores."""

import os

import pytest
from hostile_trees import nested_folders

from grader.bundles import run_autograder
from grader.bundles.run_autograder import stage_notebooks
from notebooks import solution_cells, write_notebook

STUB = "def conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n"


@pytest.fixture
def upload(tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "staging").mkdir()
    return tmp_path / "submission", tmp_path / "staging"


def staged(staging):
    return sorted(path.name for path in staging.iterdir())


def test_a_linked_notebook_or_folder_in_an_upload_is_not_copied_and_the_note_names_it(tmp_path, upload, capsys):
    submission, staging = upload
    secret = write_notebook(tmp_path, *solution_cells(), name="elsewhere.ipynb")
    write_notebook(submission, STUB, name="mine.ipynb")
    (submission / "ConvolutionalNetworks.ipynb").symlink_to(secret)
    (tmp_path / "other").mkdir()
    write_notebook(tmp_path / "other", *solution_cells())
    (submission / "hw").symlink_to(tmp_path / "other", target_is_directory=True)
    assert stage_notebooks(submission, staging) == 1 and staged(staging) == ["01-mine.ipynb"]
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "symbolic link" in notes[0]
    assert "ConvolutionalNetworks.ipynb" in notes[0] and "hw" in notes[0]


def test_a_folder_nested_1100_deep_beside_a_notebook_is_cut_at_the_bound_without_recursion(upload, capsys):
    submission, staging = upload
    write_notebook(submission, STUB, name="ConvolutionalNetworks.ipynb")
    with nested_folders(submission, 1100, notebook=b"{}"):
        assert stage_notebooks(submission, staging) == 1
    assert staged(staging) == ["01-ConvolutionalNetworks.ipynb"]
    assert f"deeper than {run_autograder.MAX_DEPTH}" in capsys.readouterr().out


def test_more_entries_than_the_bound_stop_the_search_with_a_note(upload, capsys, monkeypatch):
    monkeypatch.setattr(run_autograder, "MAX_ENTRIES", 30)
    submission, staging = upload
    write_notebook(submission, STUB, name="ConvolutionalNetworks.ipynb")
    (submission / "junk").mkdir()
    for index in range(100):
        (submission / "junk" / f"{index}.txt").write_text("x")
    assert stage_notebooks(submission, staging) == 1
    assert "stopped after 30" in capsys.readouterr().out


def test_a_fifo_named_like_a_notebook_is_not_copied_and_does_not_block(upload):
    submission, staging = upload
    write_notebook(submission, STUB, name="ConvolutionalNetworks.ipynb")
    os.mkfifo(submission / "pipe.ipynb")
    assert stage_notebooks(submission, staging) == 1


@pytest.mark.slow
def test_a_solved_notebook_beside_a_folder_nested_1100_deep_still_scores(tmp_path):
    """run_autograder end to end, with this environment's grader on PATH (no wheel built)."""
    from test_autograder import run_autograder as run

    submission = tmp_path / "autograder" / "submission"
    submission.mkdir(parents=True)
    write_notebook(submission, *solution_cells(), name="ConvolutionalNetworks.ipynb")
    with nested_folders(submission, 1100):
        results = run(None, tmp_path, {})
    assert results["score"] > 0 and all(test["status"] == "passed" for test in results["tests"])
    assert "deeper than" in (tmp_path / "stdout").read_text()
