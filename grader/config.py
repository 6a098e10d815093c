"""The one configuration object of a grading run, with defaults that serve, and its TOML file.

A run's Config is built in three layers: the defaults below, then a TOML file (``--config FILE``), then the
command line's flags. :func:`build_config` does all three for every grading command; :func:`config_toml`
writes a Config back as a file that loads into the same Config (``grader config --print``).

The file (every key optional; ``grader config --print`` shows them all)::

    data_dir = ""                  # a CIFAR-10 folder for the overfit check; "" uses the embedded digits
    [weights]                      # task id -> points
    conv_forward_naive = 10.0
    [limits]
    timeout = 20.0                 # seconds per call into student code
    train_timeout = 120.0
    memory_mib = 2048
    processes = 64
    speed_budget = 25.0
    [gradescope]
    hidden_visibility = "after_published"
    stdout_visibility = "after_published"
"""

import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

from assignment.tasks import DEFAULT_WEIGHTS, TASK_IDS
from grader.errors import UsageError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# Gradescope's visibility settings, from most to least shown.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
MIN_MEMORY_MIB = 256  # numpy and the worker need about 100 MiB of address space before any student code
MIN_PROCESSES = 8  # bubblewrap and the worker take three; a submission needs a few more to run at all
# Upper bounds: far above any sensible setting, below what the operating system's calls can take.
MAX_SECONDS = 86400.0  # a timeout of a day (select() overflows near 1e300)
MAX_MEMORY_MIB = 1 << 24  # 16 TiB of address space (setrlimit takes 64-bit byte counts)
MAX_PROCESSES = 1 << 20
MAX_WEIGHT = 1e6  # points of one task: every task's sum to a finite total a JSON report can hold
MAX_SPEED_BUDGET = 1e9


@dataclass(frozen=True)
class Config:
    """Everything a grading run can be told."""

    tasks: tuple = field(default_factory=lambda: tuple(TASK_IDS))
    """Task ids to grade, in SPEC order."""
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    """Task id -> points."""
    timeout: float = 20.0
    """Seconds one call into student code may take (training gets ``train_timeout``)."""
    train_timeout: float = 120.0
    """Seconds the overfit-small-data training may take."""
    memory_bytes: int = 2 << 30
    """Address-space limit of each process of the child."""
    processes: int = 64
    """Processes (and threads) the child may have at once."""
    file_bytes: int = 64 << 20
    """Largest file the child may write."""
    cpu_seconds: int = 600
    """CPU time of each process of the child (RLIMIT_CPU: a process it forks gets its own); wall time per
    call is ``timeout``."""
    data_dir: Path = None
    """A CIFAR-10 folder for the overfit check; None uses the embedded digits."""
    speed_budget: float = 25.0
    """A naive function more than this many times slower than the reference loops loses the speed point."""
    use_bwrap: bool = True
    """Run the child under bubblewrap when it is available."""
    hypothesis_examples: int = 25
    """Generated examples per property."""
    hidden_visibility: str = "after_published"
    """Gradescope visibility of everything but each task's public checks (hidden cases, properties, speed, the
    convnet's variations): one of VISIBILITIES. Public checks are always visible; Gradescope shows students
    their total only when no test is hidden from them (after publication, with the default)."""
    stdout_visibility: str = "after_published"
    """Gradescope visibility of the autograder's printed output (it names hidden cases): one of VISIBILITIES."""

    def weight(self, task_id):
        return float(self.weights.get(task_id, DEFAULT_WEIGHTS[task_id]))


class ConfigError(UsageError, ValueError):
    """A configuration that cannot be used; the message is one line naming the key or option."""


# -- the settings a file or a flag can give ----------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One key of the file: where it goes in Config, what it must be, and how it is written back."""

    key: str
    """Its name in the file, 'section.name' or a top-level 'name'."""
    field: str
    """The Config field it sets."""
    kind: type
    """float (an int is accepted too), int or str; a bool is never a number."""
    problem: Callable = lambda value, folder: ""
    """(value, the file's folder or None) -> what is wrong with it ('must be positive'), or '' when usable."""
    to_field: Callable = lambda value, folder: value
    """(file value, the file's folder or None) -> the Config field's value."""
    from_field: Callable = lambda value: value
    """Config field's value -> file value."""
    comment: str = ""
    """Written above the key by ``grader config --print``."""


def _positive(value, folder):
    return "" if value > 0 and math.isfinite(value) else "must be a positive number"


def _within(low, high, unit=""):
    """A setting's check: ``low <= value <= high`` (the message says which bound and the unit)."""

    def problem(value, folder):
        if not (value >= low and math.isfinite(value)):
            return f"must be at least {_shown(low)}{unit}" if low > 0 else "must be a positive number"
        return "" if value <= high else f"must be at most {_shown(high)}{unit}"

    return problem


def _shown(bound):
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _seconds(value, folder):
    return _positive(value, folder) or _within(0, MAX_SECONDS, " (seconds)")(value, folder)


def _visibility(value, folder):
    return "" if value in VISIBILITIES else f"must be one of {', '.join(VISIBILITIES)}"


def _folder(value, base):
    """A data folder from a file is relative to the file's folder; from a flag, to the working folder."""
    if value == "":
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _data_problem(value, folder):
    return "" if value == "" or _folder(value, folder).is_dir() else f"{value!r} is not a folder"


SETTINGS = (
    Setting(
        "data_dir",
        "data_dir",
        str,
        _data_problem,
        _folder,
        lambda path: "" if path is None else str(path),
        'a CIFAR-10 folder (data_batch_1..5, test_batch) for the overfit check; "" uses the embedded digits',
    ),
    Setting("limits.timeout", "timeout", float, _seconds, comment="seconds one call into student code may take"),
    Setting(
        "limits.train_timeout",
        "train_timeout",
        float,
        _seconds,
        comment="seconds the overfit-small-data training may take",
    ),
    Setting(
        "limits.memory_mib",
        "memory_bytes",
        int,
        _within(MIN_MEMORY_MIB, MAX_MEMORY_MIB, " (MiB)"),
        lambda v, _: v << 20,
        lambda b: b >> 20,
        "MiB of memory for the process running student code",
    ),
    Setting(
        "limits.processes",
        "processes",
        int,
        _within(MIN_PROCESSES, MAX_PROCESSES),
        comment="processes student code may run at once",
    ),
    Setting(
        "limits.speed_budget",
        "speed_budget",
        float,
        lambda v, f: _positive(v, f) or _within(0, MAX_SPEED_BUDGET)(v, f),
        comment="a naive conv/pool function this many times slower than the reference loops loses its speed point",
    ),
    Setting(
        "gradescope.hidden_visibility",
        "hidden_visibility",
        str,
        _visibility,
        comment="when students see hidden cases' names and messages: " + " | ".join(VISIBILITIES),
    ),
    Setting(
        "gradescope.stdout_visibility",
        "stdout_visibility",
        str,
        _visibility,
        comment="when students see the autograder's printed table (it names hidden cases)",
    ),
)
SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}
SECTIONS = ("weights", "limits", "gradescope")


def build_config(file=None, flags=(), tasks=None):
    """The run's Config: the defaults, then ``file`` (a TOML path, or None), then ``flags``.

    flags: (flag name, setting key, value) triples for the flags given on the command line, e.g.
    ('--timeout', 'limits.timeout', 5.0); their problems are reported under the flag's name.
    tasks: the task ids to grade, or None for all of them. Raises ConfigError (one line).
    """
    config = Config() if file is None else read_config_file(file)
    for flag, key, value in flags:
        config = _with_setting(config, SETTINGS_BY_KEY[key], value, flag, None)
    return config if tasks is None else replace(config, tasks=tuple(tasks))


def read_config_file(path):
    """The Config a TOML file describes (defaults for what it leaves out). Raises ConfigError."""
    path = Path(path)
    where = f"config {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{where}: cannot be read ({exc.__class__.__name__}: {getattr(exc, 'strerror', None) or exc})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    config = Config()
    for key, value in _flattened(data, where):
        if key.startswith("weights."):
            config = _with_weight(config, key, value, where)
        else:
            config = _with_setting(config, SETTINGS_BY_KEY[key], value, f"{where}: {key}", path.parent)
    return config


def _flattened(data, where):
    """('section.key' or 'key', value) pairs of a parsed file, refusing keys no setting knows."""
    for name, value in data.items():
        if name in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {name} must be a table ([{name}]), got {_kind(value)}")
            for key, item in value.items():
                full = f"{name}.{key}"
                if name != "weights" and full not in SETTINGS_BY_KEY:
                    raise ConfigError(f"{where}: unknown key {full!r}; known in [{name}]: {_known(name)}")
                yield full, item
        elif name in SETTINGS_BY_KEY:
            yield name, value
        else:
            raise ConfigError(f"{where}: unknown key {name!r}; known: {', '.join(_top_level_keys())}")


def _known(section):
    return ", ".join(key.partition(".")[2] for key in SETTINGS_BY_KEY if key.startswith(section + "."))


def _top_level_keys():
    return [key for key in SETTINGS_BY_KEY if "." not in key] + [f"[{section}]" for section in SECTIONS]


def _with_weight(config, key, value, where):
    task_id = key.partition(".")[2]
    if task_id not in TASK_IDS:
        raise ConfigError(f"{where}: {key}: unknown task id; known: {', '.join(TASK_IDS)}")
    if not _is_number(value):
        raise ConfigError(f"{where}: {key} must be a number, got {_kind(value)}")
    if not (0 <= value <= MAX_WEIGHT):
        raise ConfigError(f"{where}: {key} must be a number from 0 to {MAX_WEIGHT:g}, got {value}")
    return replace(config, weights={**config.weights, task_id: float(value)})


def _with_setting(config, setting, value, name, folder):
    """``config`` with ``setting`` set from ``value``; ``name`` says where the value came from, for errors."""
    if not _has_kind(value, setting.kind):
        raise ConfigError(f"{name} must be {_kind_name(setting.kind)}, got {_kind(value)}")
    problem = setting.problem(value, folder)
    if problem:
        raise ConfigError(f"{name} {problem}")
    return replace(config, **{setting.field: setting.to_field(value, folder)})


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_kind(value, kind):
    if kind is float:
        return _is_number(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(kind):
    return {float: "a number", int: "an integer", str: "a string"}[kind]


def _kind(value):
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a table",
        list: "an array",
    }.get(type(value), type(value).__name__)


# -- writing a Config back as a file -----------------------------------------------------------------------


def config_toml(config=None):
    """``config`` (the defaults when None) as a TOML file that :func:`read_config_file` loads back into it."""
    config = config or Config()
    lines = [
        "# Configuration of the convnet assignment's grader: grader grade --config FILE",
        "# Every key is optional; a key left out keeps the default shown here.",
        "",
    ]
    for setting in SETTINGS:
        if "." not in setting.key:
            lines += _setting_lines(setting, config)
    lines += ["", "[weights]  # points per task (any total; the defaults total 100)"]
    lines += [f"{task_id} = {_toml_value(config.weight(task_id))}" for task_id in TASK_IDS]
    for section in SECTIONS[1:]:
        lines += ["", f"[{section}]"]
        for setting in SETTINGS:
            if setting.key.startswith(section + "."):
                lines += _setting_lines(setting, config)
    return "\n".join(lines) + "\n"


def _setting_lines(setting, config):
    value = setting.from_field(getattr(config, setting.field))
    return [f"# {setting.comment}", f"{setting.key.rpartition('.')[2]} = {_toml_value(value)}"]


def _toml_value(value):
    if isinstance(value, str):
        return json.dumps(value)  # JSON's string escapes are TOML's
    if isinstance(value, float):
        return repr(value)  # 20.0, not 20: the value stays a float when read back
    return str(value)


def default_of(field_name):
    """The default of a Config field, for the command line's help."""
    return next(f.default for f in fields(Config) if f.name == field_name)


def check_data_dir(folder):
    """``folder`` as a Path, once checked to hold the CIFAR-10 batches the overfit check trains on.

    Every command that takes a data folder (``--data``, a config file's data folder, a class run)
    calls this before any student code runs: a wrong folder is then one line for the instructor, not
    an error in every student's convnet task.

    Raises
    ------
    assignment.data.CIFAR10FolderError
        With a one-line message (and "did you mean .../cifar-10-batches-py?" where it fits).
    """
    from assignment.data import check_cifar10_folder
    from grader.tasks.convnet import OVERFIT_EXAMPLES  # on use: it imports every task module

    check_cifar10_folder(folder, min_training=OVERFIT_EXAMPLES)
    return Path(folder)
