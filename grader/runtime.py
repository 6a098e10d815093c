"""The Python and package versions the grader runs with: recorded in every JSON report, and pinned exactly
in the student bundle and the Gradescope autograder (the same numpy wherever a submission is checked or
graded: numpy's API changes between versions can change a grade)."""

import platform
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DISTRIBUTION = "convnet-assignment"  # this project's distribution name (pyproject.toml)
# What the assignment package itself imports: the only pin the student bundle needs for the checks.
STUDENT_RUNTIME = ("numpy",)


def runtime_requirements():
    """The project's own runtime dependencies (no extras), as distribution names, e.g. ('numpy', 'nbformat', ...)."""
    return tuple(Requirement(text).name for text in _base_requirements(DISTRIBUTION))


def runtime_versions():
    """{'python': '3.11.7', 'numpy': '2.4.6', ...}: the interpreter and each direct runtime dependency that is
    installed (the Gradescope autograder installs only what grading imports: no nbconvert)."""
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
    return [text for text in metadata.requires(distribution) or () if applies_here(Requirement(text))]
