"""The Python and package versions the grader runs with: recorded in every JSON report, and pinned exactly
in the student bundle and the Gradescope autograder (the same numpy wherever a submission is checked or
graded: numpy's API changes between versions can change a grade).

importlib.metadata and packaging are imported where they are used, never when this module is: grading
records the versions in every report (:func:`runtime_versions`), but a run that writes no JSON report never
reads them, and reading them costs those imports (tens of milliseconds, more in a large environment)."""

import functools
import platform
from collections.abc import Mapping

DISTRIBUTION = "convnet-assignment"  # this project's distribution name (pyproject.toml)
# What the assignment package itself imports: the only pin the student bundle needs for the checks.
STUDENT_RUNTIME = ("numpy",)


def runtime_requirements():
    """The project's own runtime dependencies (no extras), as distribution names, e.g. ('numpy', 'nbformat', ...)."""
    from packaging.requirements import Requirement

    return tuple(Requirement(text).name for text in _base_requirements(DISTRIBUTION))


def runtime_versions():
    """{'python': '3.11.7', 'numpy': '2.4.6', ...}: the interpreter and each direct runtime dependency that is
    installed (the Gradescope autograder installs only what grading imports: no nbconvert). A read-only
    mapping whose versions are read from the installed metadata when it is first looked at."""
    return InstalledVersions()


class InstalledVersions(Mapping):
    """The versions of :func:`runtime_versions`, read when first looked at (and once per process: what is
    installed does not change under a running grader). Pickled (a worker's report on its way to a class
    run) as the plain dict of the process that pickles it: the versions its grading ran under."""

    def __getitem__(self, name):
        return _installed_versions()[name]

    def __iter__(self):
        return iter(_installed_versions())

    def __len__(self):
        return len(_installed_versions())

    def __reduce__(self):
        return dict, (dict(_installed_versions()),)

    def __repr__(self):
        return repr(_installed_versions())


@functools.cache
def _installed_versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in runtime_requirements():
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def exact_pins(names):
    """'name==version' for each distribution in ``names`` and everything it depends on (no extras), sorted:
    the environment the grader runs in, as installed now."""
    return [f"{name}=={version}" for name, version in sorted(installed_closure(names).items())]


def installed_closure(names, on_missing=None):
    """{canonical name: installed version} of ``names`` and everything they require here (no extras). A
    distribution that is not installed is left out (a dependency for another platform or Python), after
    ``on_missing(name)`` is called when given (which may raise)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, pending = {}, list(names)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        try:
            seen[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if on_missing is not None:
                on_missing(name)
            continue
        pending.extend(Requirement(text).name for text in _base_requirements(name))
    return seen


def applies_here(requirement):
    """Whether ``requirement`` (a packaging Requirement) applies to this Python and platform, without any extra."""
    return requirement.marker is None or requirement.marker.evaluate({"extra": ""})


def _base_requirements(distribution):
    """The requirement strings of ``distribution`` that apply here without any extra."""
    from importlib import metadata

    from packaging.requirements import Requirement

    return [text for text in metadata.requires(distribution) or () if applies_here(Requirement(text))]
