"""Write assignment/public_expected.npz: the expected values of the notebook's public checks.

The values come from the reference solutions, run through the same runners that
``assignment.checks.check`` runs on a student's code, so that the student package can check
the public cases without shipping the references. Run it after changing a reference, a public
case or a runner; tests/test_checks.py fails while the stored file is out of date.

Usage: python scripts/make_public_expected.py [OUTPUT]
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import solutions  # noqa: E402  (needs the project root on the path)
from assignment.checks import EXPECTED_FILE, public_values  # noqa: E402
from assignment.tasks import TABLE  # noqa: E402

DEFAULT_OUTPUT = ROOT / "assignment" / EXPECTED_FILE


def reference_implementations():
    """Task id -> the reference function (or class) of :mod:`solutions`."""
    return {task.id: getattr(solutions, task.definition) for task in TABLE.values()}


def expected_values():
    """Every stored expected value, computed now: ``'<task>/<case>/<quantity>'`` -> float64 array."""
    return public_values(reference_implementations())


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0]) if args else DEFAULT_OUTPUT
    values = expected_values()
    np.savez_compressed(output, **values)
    print(f"wrote {len(values)} arrays to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
