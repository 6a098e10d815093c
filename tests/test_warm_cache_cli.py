"""`grader warm-cache` fills the disk cache once; the command line runs numpy on one BLAS thread unless told."""

import os
import subprocess
import sys

import pytest


def run(args, **env):
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.slow  # grades the reference solutions twice (~3 s)
def test_warm_cache_writes_the_entries_once_and_finds_them_the_second_time(tmp_path):
    cache = tmp_path / "cache"
    first = run(["warm-cache"], GRADER_CACHE_DIR=str(cache))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"disk cache {cache}: ") and " 0 found there already" in first.stdout
    written = len(list(cache.iterdir()))
    assert written > 0 and f"{written} entries written" in first.stdout
    second = run(["warm-cache"], GRADER_CACHE_DIR=str(cache))
    assert second.returncode == 0 and f"0 entries written, {written} found there already" in second.stdout


def test_warm_cache_with_the_cache_turned_off_says_so_and_fails():
    finished = run(["warm-cache"], GRADER_CACHE_DIR="")
    assert finished.returncode == 2 and finished.stdout == ""
    assert finished.stderr.strip() == "grader: no disk cache: $GRADER_CACHE_DIR is set but empty"


PROBE = "import grader.cli, os, numpy; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])"


def test_the_command_line_chooses_one_blas_thread_before_numpy_loads():
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    finished = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=environment)
    assert finished.stdout.split() == ["1", "1"], finished.stderr


def test_a_thread_count_the_environment_chose_is_kept():
    finished = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "2"},
    )
    assert finished.stdout.split() == ["3", "2"], finished.stderr
