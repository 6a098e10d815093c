"""The configuration file: defaults < --config FILE < flags; every bad key is one line and exit 2; the
printed defaults are a file that loads back into the defaults; --help shows every flag's default."""

import json
import re
import subprocess
import sys

import pytest

from grader.cli import build_parser, config_from, main
from grader.config import DEFAULT_WEIGHTS, TASK_IDS, Config, ConfigError, build_config, config_toml, read_config_file
from notebooks import solution_cells, write_notebook


def parse(*argv):
    return config_from(build_parser().parse_args(["grade", "x.ipynb", *argv]))


def write(tmp_path, text, name="grader.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_printed_defaults_load_back_into_the_default_config(tmp_path):
    path = write(tmp_path, config_toml())
    assert read_config_file(path) == Config()


def test_a_changed_config_round_trips_through_its_file(tmp_path):
    data = tmp_path / "cifar"
    data.mkdir()
    changed = build_config(
        write(
            tmp_path,
            f'data_dir = "{data}"\n[weights]\nconv_forward_naive = 3.5\n'
            "[limits]\ntimeout = 7\nmemory_mib = 512\n"
            '[gradescope]\nhidden_visibility = "hidden"\n',
        )
    )
    assert read_config_file(write(tmp_path, config_toml(changed), "again.toml")) == changed
    assert (changed.timeout, changed.memory_bytes, changed.data_dir) == (7.0, 512 << 20, data)
    assert changed.weight("conv_forward_naive") == 3.5 and changed.weight("conv_backward_naive") == 14.0


def test_grader_config_print_writes_a_file_that_grade_accepts(tmp_path, capsys):
    assert main(["config", "--print"]) == 0
    text = capsys.readouterr().out
    assert read_config_file(write(tmp_path, text)) == Config()


def test_flags_override_the_file_and_the_file_overrides_the_defaults(tmp_path):
    path = write(tmp_path, "[limits]\ntimeout = 5.0\nprocesses = 32\nmemory_mib = 1024\n")
    from_file = parse("--config", str(path))
    assert (from_file.timeout, from_file.processes, from_file.memory_bytes) == (5.0, 32, 1024 << 20)
    overridden = parse("--config", str(path), "--timeout", "9", "--memory", "300")
    assert (overridden.timeout, overridden.processes, overridden.memory_bytes) == (9.0, 32, 300 << 20)
    assert parse() == Config()


def test_a_relative_data_dir_in_the_file_is_relative_to_the_file(tmp_path):
    (tmp_path / "conf" / "cifar").mkdir(parents=True)
    path = write(tmp_path / "conf", 'data_dir = "cifar"\n')
    assert read_config_file(path).data_dir == tmp_path / "conf" / "cifar"


@pytest.mark.parametrize(
    "text, named",
    [
        ("colour = 1\n", "colour"),
        ("[limits]\ntimeuot = 5\n", "limits.timeuot"),
        ("[sandbox]\nx = 1\n", "sandbox"),
        ("[weights]\nconv3d = 5\n", "weights.conv3d"),
        ("[weights]\nconv_forward_naive = -1\n", "weights.conv_forward_naive"),
        ("[weights]\nconv_forward_naive = nan\n", "weights.conv_forward_naive"),
        ('[weights]\nconv_forward_naive = "10"\n', "weights.conv_forward_naive"),
        ("[weights]\nconv_forward_naive = true\n", "weights.conv_forward_naive"),
        ('[limits]\ntimeout = "20"\n', "limits.timeout"),
        ("[limits]\ntimeout = 0\n", "limits.timeout"),
        ("[limits]\nprocesses = 16.5\n", "limits.processes"),
        ("[limits]\nprocesses = 2\n", "limits.processes"),
        ("[limits]\nmemory_mib = 100\n", "limits.memory_mib"),
        ("[limits]\nspeed_budget = -3.0\n", "limits.speed_budget"),
        ('[gradescope]\nhidden_visibility = "later"\n', "gradescope.hidden_visibility"),
        ("[gradescope]\nstdout_visibility = 1\n", "gradescope.stdout_visibility"),
        ('data_dir = "/no/such/folder"\n', "data_dir"),
        ("limits = 3\n", "limits"),
        ("[limits\n", "not valid TOML"),
    ],
    ids=lambda value: value if "\n" not in value else None,
)
def test_a_bad_file_exits_2_with_one_line_naming_the_key(tmp_path, capsys, text, named):
    path = write(tmp_path, text)
    notebook = write_notebook(tmp_path, "x = 1\n")
    status = main(["grade", str(notebook), "--config", str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("grader: config ") and err.count("\n") == 1, err
    assert named in err and "Traceback" not in err


def test_a_missing_or_undecodable_file_is_one_line(tmp_path, capsys):
    notebook = write_notebook(tmp_path, "x = 1\n")
    assert main(["grade", str(notebook), "--config", str(tmp_path / "none.toml")]) == 2
    bad = tmp_path / "bytes.toml"
    bad.write_bytes(b"\xff\xfe\x00 = 1")
    assert main(["grade", str(notebook), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err


def test_grader_config_checks_a_file_and_prints_it_completed(tmp_path, capsys):
    assert main(["config", str(write(tmp_path, "[limits]\ntimeout = 4.0\n"))]) == 0
    assert "timeout = 4.0" in capsys.readouterr().out
    assert main(["config", str(write(tmp_path, "[limits]\ntimeout = -4.0\n", "bad.toml"))]) == 2


def test_weights_from_the_file_are_the_points_graded(tmp_path, capsys):
    config = write(tmp_path, "[weights]\nconv_forward_naive = 30.0\n")
    notebook = write_notebook(tmp_path, *solution_cells())
    report = tmp_path / "report.json"
    status = main(
        ["grade", str(notebook), "--config", str(config), "--tasks", "conv_forward_naive", "--json", str(report), "-q"]
    )
    assert status == 0
    data = json.loads(report.read_text())
    assert data["score"] == pytest.approx(30.0) and data["max_score"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    "flag, default",
    [
        ("--timeout", "20"),
        ("--memory", "2048"),
        ("--processes", "64"),
        ("--data", "embedded digits"),
        ("--tasks", "all nine"),
    ],
)
def test_help_shows_every_grading_flags_default(capsys, flag, default):
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(rf"{re.escape(flag)} \S+ [^()]*\(default: {default}\)", text), text


def test_python_310_reads_the_file_with_tomli_and_311_with_tomllib():
    source = "import grader.config as c; print(c.tomllib.__name__)"
    name = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True).stdout.strip()
    assert name == ("tomllib" if sys.version_info >= (3, 11) else "tomli")


def test_every_task_has_a_weight_in_the_printed_file():
    text = config_toml()
    assert all(f"{task_id} = {DEFAULT_WEIGHTS[task_id]!r}" in text for task_id in TASK_IDS)


def test_build_config_names_the_flag_not_the_key_for_a_bad_flag():
    with pytest.raises(ConfigError, match="^--timeout must be a positive number"):
        build_config(None, [("--timeout", "limits.timeout", -1.0)])


@pytest.mark.parametrize(
    "text, says",
    [
        ("[limits]\ntimeout = 1e300\n", "limits.timeout must be at most 86400 (seconds)"),
        ("[limits]\ntrain_timeout = 1e300\n", "limits.train_timeout must be at most 86400 (seconds)"),
        ("[limits]\nmemory_mib = 10000000000000000000\n", "limits.memory_mib must be at most 16777216 (MiB)"),
        ("[limits]\nprocesses = 100000000000\n", "limits.processes must be at most 1048576"),
        ("[limits]\nspeed_budget = 1e300\n", "limits.speed_budget must be at most 1000000000"),
        (
            "[weights]\nconv_forward_naive = 1e308\nconv_backward_naive = 1e308\n",
            "weights.conv_forward_naive must be a number from 0 to 1e+06",
        ),
    ],
    ids=["timeout", "train-timeout", "memory", "processes", "speed-budget", "weights-summing-to-infinity"],
)
def test_a_value_beyond_what_the_system_calls_or_a_json_report_can_take_is_refused_naming_the_key(tmp_path, text, says):
    with pytest.raises(ConfigError) as raised:
        read_config_file(write(tmp_path, text))
    assert says in str(raised.value) and "\n" not in str(raised.value)
