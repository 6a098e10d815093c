"""The README's first steps say what they cost: how long the tests take, and the quick run for a first look."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_says_how_long_the_tests_take_and_gives_the_quick_run():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_steps = readme.split("## ", 1)[0]
    assert re.search(r"\d+ to \d+ minutes", first_steps)
    assert '.venv/bin/python -m pytest -m "not slow"' in first_steps


def test_the_quick_run_selects_by_a_declared_marker():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib: Python 3.10 is supported
    assert '"slow: not in the quick run' in pyproject and "--strict-markers" in pyproject
