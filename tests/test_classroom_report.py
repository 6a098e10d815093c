"""A mixed class graded end to end (`grader grade-class --gradebook canvas`): the class report names each
planted misconception with its count in students, and the Canvas gradebook splits the bulk-download ids and
flags the late hand-in. Eight students on two tasks: about ten seconds."""

import csv
import io
from pathlib import Path

import pytest

from grader import cli
from notebooks import solution_cells, write_notebook

MISTAKES = Path(__file__).parent / "variants" / "mistakes"
TASKS = "conv_backward_naive,max_pool_forward_naive"
# Canvas' bulk-download notebook name -> the mistake variant appended after the references (None: none).
CLASS = {
    "ada_101_9001_ConvolutionalNetworks.ipynb": "conv_backward_pad_zero_slicing_explicit.py",
    "bo_102_9002_ConvolutionalNetworks.ipynb": "conv_backward_pad_zero_slicing_einsum.py",
    "cy_LATE_103_9003_ConvolutionalNetworks.ipynb": "conv_backward_pad_zero_slicing_explicit.py",
    "di_104_9004_ConvolutionalNetworks.ipynb": "pool_forward_square_window.py",
    "ed_105_9005_ConvolutionalNetworks.ipynb": "pool_forward_square_window.py",
    "flo_106_9006_ConvolutionalNetworks.ipynb": None,
    "gus_LATE_107_9007_ConvolutionalNetworks.ipynb": None,
}
PAD_ZERO = "pad = 0 slicing"
SQUARE_WINDOW = "height and width mixed up"  # assignment/mistakes.py: sizes_swapped, a square window assumed


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    handins = root / "handins"
    handins.mkdir()
    for file_name, mistake in CLASS.items():
        cells = [(MISTAKES / mistake).read_text()] if mistake else []
        write_notebook(handins, *solution_cells(), *cells, name=file_name)
    write_notebook(handins, "x = 1", name="hal_108_9008_ConvolutionalNetworks.ipynb")  # nothing written
    config = root / "grading.toml"
    config.write_text("[limits]\nspeed_budget = 1e6\n")  # speed is no part of these claims, and varies with load
    out = root / "out"
    argv = ["grade-class", str(handins), "--out", str(out), "-j", "2", "--tasks", TASKS, "--config", str(config)]
    assert cli.main([*argv, "--gradebook", "canvas"]) == cli.EXIT_OK
    return out


@pytest.mark.slow
def test_the_class_report_names_each_planted_misconception_with_its_count(graded_class):
    text = (graded_class / "summary.md").read_text()
    lead = text.split("## Tasks", 1)[0]
    assert f"- {PAD_ZERO}: 3 students (conv_backward_naive 3)" in lead
    assert f"- {SQUARE_WINDOW}: 2 students (max_pool_forward_naive 2)" in lead
    assert lead.index(PAD_ZERO) < lead.index(SQUARE_WINDOW)
    assert "### conv_backward_naive: 4 of 8 students failed" in text  # 3 mistakes and hal's empty notebook
    assert f"- misconception, 3 students: {PAD_ZERO}" in text
    assert "not awarded" not in text
    assert (graded_class / "summary.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_the_canvas_gradebook_splits_the_ids_and_flags_late_hand_ins(graded_class):
    rows = list(csv.reader(io.StringIO((graded_class / "gradebook-canvas.csv").read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Convolutional Networks", "late"]
    assert rows[1][0] == "    Points Possible" and float(rows[1][5]) > 0
    by_id = {row[1]: row for row in rows[2:]}
    assert sorted(by_id) == [str(n) for n in range(101, 109)]
    assert by_id["103"][0] == "cy" and by_id["103"][6] == "true" and by_id["107"][6] == "true"
    assert by_id["101"][0] == "ada" and by_id["101"][6] == "false"
    assert float(by_id["106"][5]) == float(rows[1][5]) and float(by_id["101"][5]) < float(rows[1][5])
    plain = list(csv.reader(io.StringIO((graded_class / "gradebook.csv").read_text())))
    assert plain[0][0] == "student" and {row[0] for row in plain[1:]} >= {"ada_101", "cy_103", "gus_107"}
