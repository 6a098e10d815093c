"""The versions every report records (grader.runtime.runtime_versions): read from the installed metadata when
first looked at, the same as reading them at once, and carried between processes as a plain dict."""

import pickle
import platform
from importlib import metadata

from grader.runtime import runtime_requirements, runtime_versions


def test_the_versions_are_the_interpreters_and_each_installed_runtime_dependencys():
    expected = {"python": platform.python_version()}
    for name in runtime_requirements():
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    assert dict(runtime_versions()) == expected
    assert list(runtime_versions())[:2] == ["python", "numpy"]


def test_the_versions_travel_between_processes_as_the_plain_dict_of_the_process_that_sends_them():
    versions = runtime_versions()
    received = pickle.loads(pickle.dumps(versions))
    assert type(received) is dict and received == versions == dict(versions)
