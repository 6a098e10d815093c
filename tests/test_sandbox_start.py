"""The template starts while the grader reads the submission (Session.launch), and is waited for at the first
fork only: a template that cannot start still gives no grade, a submission that needs no fork never meets it,
and whatever happens nothing of it is left behind."""

import tempfile
import time
from pathlib import Path

import pytest
from test_attacks import MODES, wait_for_no_marked_processes
from test_sandbox import GOOD, _slow_start, cell

from grader.config import Config
from grader.discover import SubmissionError
from grader.pipeline import grade
from grader.sandbox import supervisor
from grader.sandbox.session import SandboxUnavailable, Session
from notebooks import solution_cells, write_notebook

pytestmark = pytest.mark.slow  # the tests here start sandboxes (a fraction of a second each): not in the quick run


@pytest.fixture
def temporary(monkeypatch):
    """The grader's temporary folders (stages, work folders), in a folder of their own: what is left shows."""
    folder = Path(tempfile.mkdtemp(prefix="start-test-"))
    folder.chmod(0o755)  # the fallback's uid reaches its stage through it
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    monkeypatch.undo()
    supervisor.remove_tree(str(folder))


def _cannot_start(monkeypatch):
    monkeypatch.setattr(
        supervisor,
        "build_command",
        lambda stage, workdir, use_bwrap, processes=None: (["/bin/false"], "broken", str(workdir)),
    )


def test_launching_does_not_wait_for_the_template_the_first_fork_does(monkeypatch):
    monkeypatch.setattr(supervisor, "build_command", _slow_start(1.0))
    with Session((cell(GOOD),), timeout=1.0, use_bwrap=False) as session:
        started = time.monotonic()
        session.launch()
        assert time.monotonic() - started < 0.5
        assert session.isolation_used == "no student code was run"
        assert session.ensure_loaded() is None  # the slow start is not charged to the load budget
        assert session.call("double", 2).value == 4
        assert time.monotonic() - started > 1.0


def test_a_template_that_cannot_start_says_so_at_the_first_fork_not_at_launch(monkeypatch):
    _cannot_start(monkeypatch)
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.launch()
        with pytest.raises(SandboxUnavailable, match="could not start"):
            session.ensure_loaded()
    assert wait_for_no_marked_processes() == []


def test_a_launch_that_fails_before_the_process_starts_raises_its_error_at_the_first_fork(monkeypatch):
    def broken(stage, workdir, use_bwrap, processes=None):
        raise OSError("no room for the stage")

    monkeypatch.setattr(supervisor, "build_command", broken)
    with Session((cell(GOOD),), use_bwrap=False) as session:
        session.launch()
        with pytest.raises(OSError, match="no room for the stage"):
            session.ensure_loaded()


def test_a_submission_that_defines_no_task_needs_no_template_even_one_that_cannot_start(tmp_path, monkeypatch):
    _cannot_start(monkeypatch)
    report = grade(write_notebook(tmp_path, "x = 1\n"), Config(tasks=("conv_forward_naive",)))
    assert report.tasks[0].status == "missing"
    assert report.isolation == "no student code was run"


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_submission_that_cannot_be_read_leaves_no_process_nor_folder_of_its_template(tmp_path, temporary, use_bwrap):
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(SubmissionError):
        grade(tmp_path / "broken.ipynb", Config(use_bwrap=use_bwrap))
    assert wait_for_no_marked_processes() == []
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("use_bwrap", MODES)
def test_a_graded_submission_leaves_no_process_nor_folder_of_its_template(tmp_path, temporary, use_bwrap):
    report = grade(
        write_notebook(tmp_path, *solution_cells()), Config(tasks=("conv_forward_naive",), use_bwrap=use_bwrap)
    )
    assert report.score == pytest.approx(report.max_score)
    assert wait_for_no_marked_processes() == []
    assert list(temporary.iterdir()) == []
