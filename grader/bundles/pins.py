"""What the Gradescope autograder pins, and the oldest Python those pins install on.

The pins are the distributions grading imports (``grader grade`` and the child it starts: numpy, nbformat,
hypothesis, packaging, tomli where the Python has no tomllib) and their own requirements, recursively, each
at exactly the version installed here; not the instructor's whole environment. Markers are evaluated for
this Python; a direct requirement whose marker does not hold here is written as declared, so pip decides on
the target (a transitive one is pulled by pip there, since the pins are installed with their requirements).
"""

from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from grader.bundles import BuildError
from grader.runtime import DISTRIBUTION, applies_here, installed_closure

# Declared by the project but imported by nothing `grader grade` runs: left out of the autograder.
NOT_FOR_GRADING = {
    "nbconvert": "renders the annotated HTML feedback of grade-class; no module on the grading path imports it",
    "bleach": "the allowlist of that feedback page; no module on the grading path imports it",
}
# Gradescope's Ubuntu base images and the python3 each ships, oldest first.
GRADESCOPE_IMAGES = (("Ubuntu 22.04", Version("3.10")), ("Ubuntu 24.04", Version("3.12")))
# The Python versions a floor is looked for among: every 3.minor.micro a Requires-Python can name.
CANDIDATE_PYTHONS = tuple(Version(f"3.{minor}.{micro}") for minor in range(0, 40) for micro in range(0, 40))


@dataclass(frozen=True)
class PythonFloor:
    """The oldest Python every pin installs on, and which pins set it."""

    version: Version
    """e.g. Version('3.11')."""
    needed_by: tuple
    """The pins whose Requires-Python excludes the version just below, e.g. ('hypothesis==6.170.27', 'numpy==2.4.6')."""

    @property
    def full(self):
        """'3.11.0': major.minor.micro, as `sort -V` compares it with python3's version."""
        return ".".join(map(str, (self.version.release + (0, 0))[:3]))

    def __str__(self):
        release = self.version.release
        return ".".join(map(str, release[:2] if release[2:] in ((), (0,)) else release))


def grading_requirements(distribution=DISTRIBUTION):
    """The project's runtime requirements (no extras) that grading imports, as :class:`Requirement` objects."""
    requirements = [Requirement(text) for text in metadata.requires(distribution) or ()]
    return [r for r in requirements if not _extra_only(r) and canonicalize_name(r.name) not in NOT_FOR_GRADING]


def grading_pins(requirements):
    """'name==version' for each of ``requirements`` that applies here and everything it requires (no extras),
    sorted; a direct requirement's marker is kept ('tomli==2.0.1; python_version < "3.11"')."""
    applying = [r for r in requirements if applies_here(r)]
    versions = _closure([r.name for r in applying])
    markers = {canonicalize_name(r.name): r.marker for r in applying if r.marker is not None}
    return [
        f"{name}=={version}" + (f"; {markers[name]}" if name in markers else "")
        for name, version in sorted(versions.items())
    ]


def not_applying_here(requirements):
    """The ``requirements`` whose marker does not hold here, as declared: pip decides on the target."""
    return sorted(str(r) for r in requirements if not applies_here(r))


def _closure(names):
    """{canonical name: installed version} of ``names`` and everything they require here (no extras); every
    one of them must be installed (the pins are this environment's versions)."""
    return installed_closure(names, on_missing=_not_installed)


def _not_installed(name):
    raise BuildError(
        f"{name} is required for grading but not installed here; install the project "
        "(pip install -e .) before building the autograder"
    )


def _extra_only(requirement):
    """Whether ``requirement`` is one of an extra's (the project's markers never mix an extra with others)."""
    return requirement.marker is not None and "extra" in str(requirement.marker)


def requires_python(pins):
    """{pin: its distribution's Requires-Python, or None} for :func:`grading_pins`' lines, from the metadata
    installed here (the pins are this environment's versions)."""
    return {pin: metadata.metadata(Requirement(pin).name).get("Requires-Python") for pin in pins}


def python_floor(requirements):
    """The oldest Python that every ``requirements`` value (a Requires-Python specifier, or None) admits.

    Parameters
    ----------
    requirements : dict of str to str or None
        pin -> Requires-Python, e.g. {'numpy==2.4.6': '>=3.11', 'sortedcontainers==2.4.0': None}.

    Raises BuildError when a specifier does not parse or no Python satisfies them all.
    """
    specifiers = {pin: _specifier(pin, text) for pin, text in requirements.items() if text}
    admitted = [v for v in CANDIDATE_PYTHONS if all(s.contains(v, prereleases=True) for s in specifiers.values())]
    if not admitted:
        raise BuildError(
            "no Python satisfies every pin's Requires-Python: "
            + ", ".join(f"{pin} {text}" for pin, text in sorted(requirements.items()) if text)
        )
    floor = admitted[0]
    below = [v for v in CANDIDATE_PYTHONS if v < floor]
    just_below = below[-1] if below else None
    needed_by = tuple(
        sorted(
            pin
            for pin, spec in specifiers.items()
            if just_below is not None and not spec.contains(just_below, prereleases=True)
        )
    )
    return PythonFloor(version=floor, needed_by=needed_by)


def base_image(floor):
    """(name, python3 version) of the oldest Gradescope base image whose python3 meets ``floor``."""
    for name, python in GRADESCOPE_IMAGES:
        if python >= floor.version:
            return name, python
    known = ", ".join(f"{name}: python3 {python}" for name, python in GRADESCOPE_IMAGES)
    raise BuildError(
        f"the pins need Python >= {floor} ({', '.join(floor.needed_by)}), newer than the python3 of "
        f"every Gradescope base image ({known}); build from an environment with older versions"
    )


def _specifier(pin, text):
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise BuildError(f"{pin}: Requires-Python {text!r} is not a version specifier") from None
