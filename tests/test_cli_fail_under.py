"""``grader grade --fail-under``: below the bar, the exit status 1 comes with a line saying the score and the bar
(what ``tox -e grade`` shows on failure); at or above it, no such line."""

from grader.cli import EXIT_BELOW_BAR, EXIT_OK, below_bar, main
from notebooks import write_notebook

STUB = "def conv_forward_naive(x, w, b, conv_param):\n    raise NotImplementedError\n"


def test_a_score_below_the_bar_exits_1_with_a_line_giving_the_score_and_the_bar(tmp_path, capsys):
    path = write_notebook(tmp_path, STUB)
    assert main(["grade", str(path), "--tasks", "conv_forward_naive", "--fail-under", "5"]) == EXIT_BELOW_BAR
    err = capsys.readouterr().err
    assert "grader: score 0 / 10 is below the bar of 5 (--fail-under)\n" in err


def test_a_score_at_the_bar_exits_0_without_that_line(tmp_path, capsys):
    path = write_notebook(tmp_path, STUB)
    assert main(["grade", str(path), "--tasks", "conv_forward_naive", "--fail-under", "0"]) == EXIT_OK
    assert "below the bar" not in capsys.readouterr().err


def test_the_line_reads_as_people_write_scores():
    assert below_bar(61.5, 100.0, 70.0) == "score 61.5 / 100 is below the bar of 70 (--fail-under)"
    assert below_bar(69.999, 100.0, 70.0) == "score 69.99 / 100 is below the bar of 70 (--fail-under)"
