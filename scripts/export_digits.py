"""Export scikit-learn's bundled 8x8 handwritten digits into the package, once.

The result, ``assignment/datasets/digits.npz``, is the embedded default data set of
:mod:`assignment.data`; the script also writes the attribution in
``assignment/datasets/README.md``. Both files are committed, so nothing is
downloaded or exported at run time.

This script needs scikit-learn, which is *not* a dependency of the project: only
whoever regenerates the file needs it (``pip install scikit-learn``).

Usage::

    python scripts/export_digits.py [--out DIR]

The archive holds two uint8 arrays and no pickled objects, so
``np.load(path, allow_pickle=False)`` reads it:

- ``images``, shape (1797, 8, 8): pixel values 0..16, as in the original data set;
- ``labels``, shape (1797,): digit classes 0..9.
"""

import argparse
from pathlib import Path

import numpy as np

DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "assignment" / "datasets"
ARCHIVE_NAME = "digits.npz"
README_NAME = "README.md"

# Facts of the data set; the export refuses anything else so a changed upstream copy is noticed.
NUM_IMAGES = 1797
IMAGE_SIDE = 8
MAX_PIXEL = 16
NUM_CLASSES = 10

README_TEXT = """\
# Embedded data set: 8x8 handwritten digits

`digits.npz` is the default data set of `assignment.data` (`load_digits`, `get_digits_data`,
`get_data` without a CIFAR-10 folder). It ships inside the package, so the assignment runs
without downloading anything.

## Contents

| array | dtype | shape | values |
|---|---|---|---|
| `images` | uint8 | (1797, 8, 8) | pixel intensities 0..16 |
| `labels` | uint8 | (1797,) | digit classes 0..9 |

Read it with `np.load("digits.npz", allow_pickle=False)`; it holds no pickled objects.

## Source and attribution

This is the test set (1797 images) of the *Optical Recognition of Handwritten Digits* data set by
E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, 1998,
<https://doi.org/10.24432/C50P49>, in the copy that scikit-learn bundles as
`sklearn.datasets.load_digits`.

Licence: [Creative Commons Attribution 4.0 International (CC BY 4.0)](https://creativecommons.org/licenses/by/4.0/).

## Changes

None to the data: the images, their pixel values and their labels are exactly those of the
source, in the same order. Only the container changed: the arrays were stored as uint8 in a
compressed numpy archive by `scripts/export_digits.py`. (`assignment.data.load_digits`
rescales the pixels to 0..255 when it loads them; the file keeps the original 0..16.)
"""


def fetch_digits():
    """Load the digits from scikit-learn and check them against the known facts.

    Returns
    -------
    images : ndarray of uint8, shape (1797, 8, 8)
    labels : ndarray of uint8, shape (1797,)
    """
    from sklearn.datasets import load_digits  # imported here: only this script needs it

    bunch = load_digits()
    images, labels = bunch.images, bunch.target
    expected = (NUM_IMAGES, IMAGE_SIDE, IMAGE_SIDE)
    if images.shape != expected or labels.shape != (NUM_IMAGES,):
        raise RuntimeError(f"unexpected shapes {images.shape}, {labels.shape}; expected {expected}")
    # uint8 is lossless only if every value is a whole number in range.
    if not np.array_equal(images, np.round(images)) or images.min() < 0 or images.max() > MAX_PIXEL:
        raise RuntimeError(f"pixels are not whole numbers in 0..{MAX_PIXEL}")
    if set(np.unique(labels)) != set(range(NUM_CLASSES)):
        raise RuntimeError(f"labels are not the classes 0..{NUM_CLASSES - 1}")
    return images.astype(np.uint8), labels.astype(np.uint8)


def export(out_dir):
    """Write ``digits.npz`` and ``README.md`` into ``out_dir``; return the archive's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, labels = fetch_digits()
    archive = out_dir / ARCHIVE_NAME
    np.savez_compressed(archive, images=images, labels=labels)
    (out_dir / README_NAME).write_text(README_TEXT, encoding="utf-8")
    return archive


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help=f"output folder (default: {DEFAULT_OUT_DIR})")
    args = parser.parse_args(argv)
    archive = export(args.out)
    print(f"wrote {archive} ({archive.stat().st_size} bytes) and {args.out / README_NAME}")


if __name__ == "__main__":
    main()
