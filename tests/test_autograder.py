"""Gradescope: what students see before grades are published, and the autograder zip run as Gradescope runs it.

Gradescope's results.json (its autograder specification): top level ``score`` (number), ``execution_time``
(number), ``output`` (string), ``visibility`` and ``stdout_visibility`` (one of visible, after_due_date,
after_published, hidden), ``extra_data`` (object), ``tests`` (list); each test ``name``, ``output``,
``status`` ('passed' or 'failed'), ``visibility`` (strings), ``score`` and ``max_score`` (numbers).
"""
import json
import re

import pytest

from grader import render
from grader.cli import main
from grader.config import VISIBILITIES, Config
from grader.pipeline import grade
from notebooks import solution_cells, write_notebook

TOP_LEVEL_TYPES = {"score": (int, float), "execution_time": (int, float), "output": str, "visibility": str,
                   "stdout_visibility": str, "extra_data": dict, "tests": list}
TEST_TYPES = {"name": str, "score": (int, float), "max_score": (int, float), "status": str, "output": str,
              "visibility": str}


def assert_gradescope_schema(results):
    """Every key of ``results`` is one Gradescope's specification defines, with its type."""
    assert set(results) <= set(TOP_LEVEL_TYPES), set(results) - set(TOP_LEVEL_TYPES)
    assert "score" in results
    for key, value in results.items():
        assert isinstance(value, TOP_LEVEL_TYPES[key]) and not isinstance(value, bool), (key, value)
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITIES
    for test in results.get("tests", []):
        assert set(test) <= set(TEST_TYPES), set(test) - set(TEST_TYPES)
        for key, value in test.items():
            assert isinstance(value, TEST_TYPES[key]) and not isinstance(value, bool), (key, value)
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
    json.dumps(results, ensure_ascii=False, allow_nan=False).encode("utf-8")


# -- visibility ----------------------------------------------------------------------------------------------

# Right on square inputs only, and it prints every input's shape: hidden cases fail with messages that hold
# their parameters, and the printed output holds them too.
SQUARE_ONLY = '''
_right_conv = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    print("called with", x.shape, w.shape, conv_param)
    if x.shape[2] != x.shape[3]:
        raise ValueError(f"cannot do {x.shape}")
    return _right_conv(x, w, b, conv_param)
'''
TASKS = ("conv_forward_naive", "three_layer_convnet")


@pytest.fixture(scope="module")
def leaky_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaky")
    notebook = write_notebook(folder, *solution_cells(), SQUARE_ONLY)
    return grade(notebook, Config(tasks=("conv_forward_naive",), use_bwrap=False))


def hidden_texts(report):
    """Every check name that is not a public case, and the parameters of each hidden case, e.g. 'x (1, 2, 11, 10)'."""
    texts = set()
    for task in report.tasks:
        for check in task.checks:
            if not check.name.startswith("public case"):
                texts.add(check.name)
                texts.update(re.findall(r"[xw] \([^)]*\)", check.name))
    return texts


def visible_text(results):
    """Everything a student sees before grades are published: the top level and every visible test."""
    visible = [results["output"], json.dumps(results.get("extra_data", {}))]
    for test in results["tests"]:
        if test["visibility"] == "visible":
            visible += [test["name"], test["output"]]
    return "\n".join(visible)


def test_no_hidden_case_name_parameters_or_printed_input_is_visible_before_publication(leaky_report):
    task = leaky_report.tasks[0]
    assert any(not c.passed for c in task.checks if c.name.startswith("hidden case")), "the variant must fail hidden cases"
    assert "called with" in task.output
    results = render.to_gradescope(leaky_report)
    assert_gradescope_schema(results)
    shown = visible_text(results)
    leaked = [text for text in hidden_texts(leaky_report) if text in shown]
    assert not leaked, leaked
    assert "called with" not in shown and "cannot do" not in shown
    assert "x (2, 3, 4, 4)" in shown  # the public case stays visible: its inputs are in the notebook


def test_hidden_checks_are_after_published_by_default_and_the_total_always_visible(leaky_report):
    results = render.to_gradescope(leaky_report)
    visibility = {test["name"]: test["visibility"] for test in results["tests"]}
    assert visibility == {"conv_forward_naive: public case": "visible",
                          "conv_forward_naive: hidden cases and other checks": "after_published"}
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "after_published"
    assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"])
    assert sum(test["max_score"] for test in results["tests"]) == pytest.approx(leaky_report.max_score)


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_hidden_and_stdout_visibility_follow_the_config(leaky_report, visibility):
    config = Config(hidden_visibility=visibility, stdout_visibility=visibility)
    results = render.to_gradescope(leaky_report, config)
    hidden = [t for t in results["tests"] if not t["name"].endswith("public case")]
    assert [t["visibility"] for t in hidden] == [visibility] and results["stdout_visibility"] == visibility
    assert results["visibility"] == "visible"


def test_a_missing_definition_is_visible_and_a_task_without_public_case_is_all_hidden(tmp_path):
    report = grade(write_notebook(tmp_path, "x = 1\n"), Config(tasks=TASKS, use_bwrap=False))
    results = render.to_gradescope(report)
    assert [(t["name"], t["visibility"]) for t in results["tests"]] == [
        ("conv_forward_naive: public case", "visible"), ("three_layer_convnet: public case", "visible")]
    assert "not defined" in results["tests"][0]["output"]


def test_the_json_report_records_the_versions_graded_under(tmp_path, capsys):
    import platform

    import numpy

    notebook = write_notebook(tmp_path, "x = 1\n")
    main(["grade", str(notebook), "--tasks", "conv_forward_naive", "--json", str(tmp_path / "r.json"),
          "--gradescope", str(tmp_path / "results.json")])
    capsys.readouterr()
    runtime = json.loads((tmp_path / "r.json").read_text())["runtime"]
    assert runtime["python"] == platform.python_version() and runtime["numpy"] == numpy.__version__
    assert {"nbformat", "nbconvert", "hypothesis"} <= set(runtime)
    results = json.loads((tmp_path / "results.json").read_text())
    assert_gradescope_schema(results)
    assert results["extra_data"]["runtime"] == runtime
