"""Builders that write what a course hands out from the project's own parts: the student bundle
(:mod:`grader.bundles.release`) and the Gradescope autograder (:mod:`grader.bundles.autograder`)."""

import struct
import time
import zipfile
from pathlib import Path

from grader.errors import UsageError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The project's checkout (where notebooks/ and pyproject.toml are), when the grader runs from one."""
STUB_NOTEBOOK = PROJECT_ROOT / "notebooks" / "ConvolutionalNetworks.ipynb"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every entry's date unless one is given: the same files make the same zip
ZIP_EPOCH_MIN = 315532800  # 1980-01-01 UTC: a zip's dates start there


class BuildError(UsageError):
    """A build that cannot be made (exit status 2); the message is one line."""


def empty_folder(path):
    """``path`` as a new or empty folder; a folder with files in it is refused (stale files would ship)."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BuildError(f"{path}: exists and is not an empty folder; choose a new one")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"{path}: cannot be created ({exc.strerror or exc})") from None
    return path


def write_zip(folder, zip_path, prefix="", epoch=None):
    """Zip every file under ``folder`` (sorted, fixed dates, executables kept executable) as ``prefix/...``.

    Every entry is dated ``epoch`` (seconds since 1970, UTC; its UTC date and time, plus the extended
    timestamp that unzip restores exactly), or 1980-01-01 when it is None: the same files and the same date
    make the same bytes."""
    folder = Path(folder)
    date_time = ZIP_DATE if epoch is None else time.gmtime(max(int(epoch), ZIP_EPOCH_MIN))[:6]
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = str(Path(prefix) / path.relative_to(folder)) if prefix else str(path.relative_to(folder))
            entry = zipfile.ZipInfo(name, date_time=date_time)
            if epoch is not None:  # the "UT" extra field: the modification time, in UTC
                entry.extra = struct.pack("<HHBl", 0x5455, 5, 1, max(int(epoch), ZIP_EPOCH_MIN))
            entry.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, path.read_bytes())
    return Path(zip_path)
