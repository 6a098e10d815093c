"""One hierarchy of the grader's errors, each kind mapped to its exit status once (grader.errors)."""

import pytest

from grader import cli, errors
from grader.bundles import BuildError
from grader.config import ConfigError
from grader.discover import SubmissionError
from grader.sandbox.supervisor import SandboxUnavailable
from grader.solve import StubCellNotFound, UnreadableNotebook


@pytest.mark.parametrize(
    "error, status",
    [
        (ConfigError, errors.EXIT_USAGE),
        (BuildError, errors.EXIT_USAGE),
        (StubCellNotFound, errors.EXIT_USAGE),
        (UnreadableNotebook, errors.EXIT_USAGE),
        (SubmissionError, errors.EXIT_USAGE),
        (cli.UsageError, errors.EXIT_USAGE),
        (SandboxUnavailable, errors.EXIT_NO_SANDBOX),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_every_error_a_command_can_end_with_is_a_grader_error_with_its_exit_status(error, status):
    assert issubclass(error, errors.GraderError) and error.exit_status == status


@pytest.mark.parametrize(
    "error, status, line",
    [
        (errors.UsageError("bad option"), 2, "grader: bad option"),
        (SubmissionError("no notebook"), 2, "grader: no notebook"),
        (SandboxUnavailable("bwrap broke"), 3, "grader: no grade given: bwrap broke"),
        (ConfigError("weights.x: unknown task"), 2, "grader: weights.x: unknown task"),
    ],
)
def test_the_cli_turns_each_error_into_one_line_and_its_status(monkeypatch, capsys, error, status, line):
    def failing(args):
        raise error

    monkeypatch.setattr(cli, "run_config", failing)
    assert cli.main(["config"]) == status
    assert capsys.readouterr().err.strip() == line


def test_a_grader_bug_is_loud_and_has_a_status_no_grade_has(monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_config", lambda args: 1 / 0)
    assert cli.main(["config"]) == errors.EXIT_INTERNAL
    assert "ZeroDivisionError" in capsys.readouterr().err
