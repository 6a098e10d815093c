"""Data for the assignment: real CIFAR-10 from a folder you name, or the embedded digits.

Two data sets, one shape of result. :func:`get_data` is what the notebook and the grader
call: with a CIFAR-10 folder it returns CIFAR-10, without one it returns the 8x8
handwritten digits that ship inside this package, so everything runs offline.

Both come back as a dict of NCHW float64 images and int64 labels::

    X_train (N_train, C, H, W)   y_train (N_train,)
    X_val   (N_val, C, H, W)     y_val   (N_val,)
    X_test  (N_test, C, H, W)    y_test  (N_test,)

with C, H, W = 3, 32, 32 for CIFAR-10 and 1, 8, 8 for the digits. Pixels of both are on
the 0..255 scale (before the mean image is subtracted), so hyper-parameters carry over.
Every split is deterministic: the same call returns the same arrays on every run.
"""

import operator
import pickle
from importlib import resources
from pathlib import Path

import numpy as np

DIGITS_CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

DIGITS_FOLDER, DIGITS_FILE = "datasets", "digits.npz"
# Each digit pixel counts the set bits of a 4x4 block of a 32x32 bitmap scan, hence 0..16.
DIGITS_MAX_PIXEL = 16
PIXEL_MAX = 255  # CIFAR-10's scale; digits are mapped onto it so hyper-parameters carry over
# Fixes the digits' shuffle; changing it changes every split, hence every overfit grade.
DIGITS_SPLIT_SEED = 231

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_FOLDER = "cifar-10-batches-py"  # the folder the official archive unpacks to
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_CHANNELS, CIFAR10_SIDE = 3, 32


# ---------------------------------------------------------------------------------------------
# The embedded digits
# ---------------------------------------------------------------------------------------------


def load_digits():
    """Load all 1797 embedded 8x8 digit images, rescaled to 0..255.

    The pixels are stored as 0..16 and multiplied by 255 / 16 here, so that the
    hyper-parameters that suit CIFAR-10's 0..255 pixels suit the digits too.

    Returns
    -------
    X : ndarray of float64, shape (1797, 1, 8, 8)
        Images, NCHW with one channel, values in [0, 255].
    y : ndarray of int64, shape (1797,)
        Digit classes 0..9; ``DIGITS_CLASSES[y]`` names them.
    """
    resource = resources.files("assignment") / DIGITS_FOLDER / DIGITS_FILE
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    X = images[:, np.newaxis, :, :].astype(np.float64) * (PIXEL_MAX / DIGITS_MAX_PIXEL)
    return X, labels.astype(np.int64)


def get_digits_data(num_training=1000, num_validation=297, num_test=500, subtract_mean=True):
    """Split the embedded digits into training, validation and test sets.

    The 1797 images are shuffled by a permutation with the fixed seed
    ``DIGITS_SPLIT_SEED`` and cut in order: the first ``num_training`` for training, the
    next ``num_validation`` for validation, the next ``num_test`` for test. The splits are
    therefore disjoint, the same on every call, and each is unchanged when only the sizes
    after it change. The defaults use every image.

    Parameters
    ----------
    num_training : int, at least 1
    num_validation : int, at least 0
    num_test : int, at least 0
        The three together may not exceed 1797.
    subtract_mean : bool
        Subtract the mean training image from every split.

    Returns
    -------
    dict
        ``X_train`` (num_training, 1, 8, 8), ``y_train`` (num_training,),
        ``X_val`` (num_validation, 1, 8, 8), ``y_val`` (num_validation,),
        ``X_test`` (num_test, 1, 8, 8), ``y_test`` (num_test,); X float64, y int64.

    Raises
    ------
    TypeError
        A size that is not an integer.
    ValueError
        A size out of range, or sizes that add up to more than the data set holds.
    """
    sizes = _check_sizes(num_training=num_training, num_validation=num_validation, num_test=num_test)
    X, y = load_digits()
    _check_total(sizes, available=len(X), what="the embedded digits")
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(X))
    bounds = np.cumsum([0, *sizes.values()])
    parts = [order[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]
    return _assemble([(X[p], y[p]) for p in parts], subtract_mean)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 from a folder
# ---------------------------------------------------------------------------------------------


def load_cifar10(root):
    """Load the CIFAR-10 python batches from folder ``root``.

    The folder is the one in the official "CIFAR-10 python version" archive
    (``cifar-10-batches-py``), holding ``data_batch_1`` .. ``data_batch_5`` and
    ``test_batch``. Each is a pickle; load only files you trust, as unpickling can run code.

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding the batch files; ``~`` is expanded.

    Returns
    -------
    X_train : ndarray of float64, shape (N_train, 32, 32, 3)
        Training images of the five batches in order, NHWC (as the course loads them),
        values 0..255. N_train is 50000 for the real data set.
    y_train : ndarray of int64, shape (N_train,)
    X_test : ndarray of float64, shape (N_test, 32, 32, 3)
        N_test is 10000 for the real data set.
    y_test : ndarray of int64, shape (N_test,)

    Raises
    ------
    FileNotFoundError
        The folder or one of its six files is missing; the message says where to get them.
    ValueError
        A file that is not a CIFAR-10 batch.
    """
    folder = Path(root).expanduser()
    train = [_load_cifar10_batch(folder / name) for name in CIFAR10_TRAIN_FILES]
    X_test, y_test = _load_cifar10_batch(folder / CIFAR10_TEST_FILE)
    # Concatenated as bytes and converted once: float64 batches would double the peak memory.
    X_train = np.concatenate([X for X, _ in train]).astype(np.float64)
    y_train = np.concatenate([y for _, y in train])
    return X_train, y_train, X_test.astype(np.float64), y_test


def get_cifar10_data(root, num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True):
    """Load CIFAR-10 from ``root`` and split it as the course does, NCHW.

    Training is the first ``num_training`` images of the training batches, validation
    the ``num_validation`` images that follow them, test the first ``num_test`` images of
    the test batch. No shuffling: the batches are already in random order.

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding the CIFAR-10 python batches, see :func:`load_cifar10`.
    num_training : int, at least 1
    num_validation : int, at least 0
        ``num_training + num_validation`` may not exceed the training images (50000).
    num_test : int, at least 0
        May not exceed the test images (10000).
    subtract_mean : bool
        Subtract the mean training image from every split.

    Returns
    -------
    dict
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,),
        ``X_val`` (num_validation, 3, 32, 32), ``y_val`` (num_validation,),
        ``X_test`` (num_test, 3, 32, 32), ``y_test`` (num_test,); X float64, y int64.

    Raises
    ------
    FileNotFoundError, TypeError, ValueError
        As :func:`load_cifar10`, and for sizes as :func:`get_digits_data`.
    """
    sizes = _check_sizes(num_training=num_training, num_validation=num_validation, num_test=num_test)
    X_all, y_all, X_test_all, y_test_all = load_cifar10(root)
    _check_total(
        {name: sizes[name] for name in ("num_training", "num_validation")},
        available=len(X_all),
        what=f"the CIFAR-10 training batches in {root}",
    )
    _check_total({"num_test": sizes["num_test"]}, available=len(X_test_all), what=f"the CIFAR-10 test batch in {root}")
    n_train, n_val = sizes["num_training"], sizes["num_validation"]
    train, val = slice(0, n_train), slice(n_train, n_train + n_val)
    test = slice(0, sizes["num_test"])
    # Each split becomes an NCHW copy at once, so no view keeps the full
    # 50000-image array (1.2 GB as float64) alive while the mean is subtracted.
    splits = [
        (_nhwc_to_nchw(X_all[train]), y_all[train].copy()),
        (_nhwc_to_nchw(X_all[val]), y_all[val].copy()),
        (_nhwc_to_nchw(X_test_all[test]), y_test_all[test].copy()),
    ]
    del X_all, X_test_all
    return _assemble(splits, subtract_mean)


def _load_cifar10_batch(path):
    """Read one CIFAR-10 batch file.

    Returns
    -------
    X : ndarray of uint8, shape (N, 32, 32, 3)
        NHWC, values 0..255; the file stores each image as a row of 3072 bytes: the R plane, then G,
        then B, each 32x32 in row-major order.
    y : ndarray of int64, shape (N,)
    """
    if not path.is_file():
        raise FileNotFoundError(_missing_cifar10_message(path))
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except OSError:  # the disk's or the file system's fault, not the file's: as it is
        raise
    except Exception as exc:  # a truncated or foreign file: unpickling fails in many ways
        raise ValueError(
            f"{path} is not a CIFAR-10 python batch: it does not unpickle ({type(exc).__name__}: {exc})"
        ) from None
    data, labels = _batch_arrays(batch, path)
    planes = data.reshape(len(data), CIFAR10_CHANNELS, CIFAR10_SIDE, CIFAR10_SIDE)
    return planes.transpose(0, 2, 3, 1), labels


def _batch_arrays(batch, path):
    """Return ``(data (N, 3072) uint8, labels (N,) int64)`` of an unpickled batch, checked."""
    row_length = CIFAR10_CHANNELS * CIFAR10_SIDE * CIFAR10_SIDE
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: expected a dict with keys b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    try:
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{path} is not a CIFAR-10 python batch: b'labels' are not integers") from None
    if data.ndim != 2 or data.shape[1] != row_length:
        raise ValueError(
            f"{path} is not a CIFAR-10 python batch: b'data' has shape {data.shape}, expected (N, {row_length})"
        )
    if data.dtype != np.uint8:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: b'data' has dtype {data.dtype}, expected uint8")
    if labels.shape != (len(data),):
        raise ValueError(
            f"{path} is not a CIFAR-10 python batch: {len(data)} images but b'labels' has shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise ValueError(
            f"{path} is not a CIFAR-10 python batch: b'labels' run from "
            f"{labels.min()} to {labels.max()}, expected 0..{len(CIFAR10_CLASSES) - 1}"
        )
    return data, labels


def _missing_cifar10_message(path):
    """Say which CIFAR-10 file is missing and how to get the data set."""
    where = (
        f"the folder {path.parent} does not exist"
        if not path.parent.is_dir()
        else f"no file {path.name} in {path.parent}"
    )
    inside = _inner_folder(path.parent)
    suggestion = f" Did you mean {inside}?" if inside else ""
    return (
        f"CIFAR-10 batch file {path} not found ({where}). Download the "
        f'"CIFAR-10 python version" from {CIFAR10_URL}, unpack it, and pass the '
        f"folder cifar-10-batches-py that holds {', '.join(CIFAR10_TRAIN_FILES)} and "
        f"{CIFAR10_TEST_FILE}; or pass no folder to use the embedded digits.{suggestion}"
    )


class CIFAR10FolderError(ValueError):
    """A folder that does not hold CIFAR-10 python batches :func:`get_cifar10_data` can use.

    The message is one line: what is wrong, and where the folder holds ``cifar-10-batches-py``,
    "did you mean" that folder.
    """


def check_cifar10_folder(root, min_training=1):
    """Check that ``root`` holds CIFAR-10 python batches :func:`get_cifar10_data` can read.

    Every batch file is read and checked (a dict with b'data' rows of 3072 uint8 values and one
    integer label 0..9 per row), then dropped: a folder that passes loads without error. Grading
    commands call this before any student code runs, so that a wrong folder is the instructor's
    error message rather than every student's lost points.

    Parameters
    ----------
    root : str or os.PathLike
        The folder, as :func:`load_cifar10` takes it; ``~`` is expanded.
    min_training : int
        The fewest training images the caller needs.

    Returns
    -------
    num_training, num_test : int
        Images in the five training batches together, and in the test batch.

    Raises
    ------
    CIFAR10FolderError
        With a one-line message saying what is wrong.
    """
    folder = Path(root).expanduser()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise CIFAR10FolderError(f"{folder} {what}{_did_you_mean(folder)}")
    counts = [_batch_size(folder, name) for name in (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE)]
    num_training, num_test = sum(counts[:-1]), counts[-1]
    if num_training < min_training:
        raise CIFAR10FolderError(
            f"{folder} holds {num_training} CIFAR-10 training images, fewer than "
            f"the {min_training} needed{_did_you_mean(folder)}"
        )
    return num_training, num_test


def _batch_size(folder, name):
    """Images in the batch file ``folder / name``; CIFAR10FolderError if it is missing or broken."""
    path = folder / name
    if not path.is_file():
        raise CIFAR10FolderError(
            f"{folder} is not a CIFAR-10 folder: it has no file {name} (expected "
            f'{", ".join(CIFAR10_TRAIN_FILES)} and {CIFAR10_TEST_FILE}, the "CIFAR-10 python '
            f'version" of {CIFAR10_URL}){_did_you_mean(folder)}'
        )
    try:
        _, labels = _load_cifar10_batch(path)
    except (OSError, ValueError) as exc:
        raise CIFAR10FolderError(_one_line(str(exc)) + _did_you_mean(folder)) from None
    return len(labels)


def _did_you_mean(folder):
    """'; did you mean <folder>/cifar-10-batches-py?' when that folder exists, else ''."""
    inside = _inner_folder(folder)
    return f"; did you mean {inside}?" if inside else ""


def _inner_folder(folder):
    """``folder``/cifar-10-batches-py if it exists (the usual slip: naming the folder above it), else None."""
    inside = folder / CIFAR10_FOLDER
    return inside if inside.is_dir() and folder.name != CIFAR10_FOLDER else None


def _one_line(text):
    return " ".join(text.split())


def _nhwc_to_nchw(X):
    """Return a C-contiguous copy of X (N, H, W, C) as (N, C, H, W)."""
    return np.ascontiguousarray(X.transpose(0, 3, 1, 2))


# ---------------------------------------------------------------------------------------------
# Either
# ---------------------------------------------------------------------------------------------


def get_data(cifar10_dir=None, **kwargs):
    """Return the assignment's data: CIFAR-10 if a folder is given, else the embedded digits.

    Parameters
    ----------
    cifar10_dir : str or os.PathLike or None
        Folder of the CIFAR-10 python batches (see :func:`load_cifar10`), or None for the
        digits that ship with the package.
    **kwargs
        ``num_training``, ``num_validation``, ``num_test``, ``subtract_mean``, passed to
        :func:`get_cifar10_data` or :func:`get_digits_data`; their defaults differ.

    Returns
    -------
    dict
        ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``, ``y_test``; X float64
        of shape (N, C, H, W), y int64 of shape (N,). (C, H, W) is (3, 32, 32) for
        CIFAR-10 and (1, 8, 8) for the digits.
    """
    if cifar10_dir is None:
        return get_digits_data(**kwargs)
    return get_cifar10_data(cifar10_dir, **kwargs)


def class_names(cifar10_dir=None):
    """Names of the classes of the data :func:`get_data` returns for the same argument.

    Returns
    -------
    tuple of str, length 10
        ``class_names(d)[y]`` names label ``y``.
    """
    return DIGITS_CLASSES if cifar10_dir is None else CIFAR10_CLASSES


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

# The smallest size of each split: the mean image needs at least one training example.
_MINIMUM_SIZES = {"num_training": 1, "num_validation": 0, "num_test": 0}


def _check_sizes(**sizes):
    """Validate split sizes given by keyword; return them as a dict of ints, in order."""
    checked = {}
    for name, value in sizes.items():
        if isinstance(value, bool):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        try:
            count = operator.index(value)
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {value!r}") from None
        if count < _MINIMUM_SIZES[name]:
            raise ValueError(f"{name} must be at least {_MINIMUM_SIZES[name]}, got {count}")
        checked[name] = count
    return checked


def _check_total(sizes, available, what):
    """Raise ValueError if the splits in ``sizes`` need more than ``available`` examples."""
    total = sum(sizes.values())
    if total > available:
        asked = " + ".join(f"{name}={count}" for name, count in sizes.items())
        raise ValueError(f"{asked} asks for {total} examples, but {what} hold only {available}")


def _assemble(splits, subtract_mean):
    """Build the result dict from ``[(X_train, y_train), (X_val, y_val), (X_test, y_test)]``.

    Each X is (N, C, H, W) float64 and each y (N,) int64. With ``subtract_mean`` the mean
    training image (C, H, W) is subtracted from every split, as the course does, so that
    validation and test see exactly the shift the model was trained with.
    """
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = splits
    if subtract_mean:
        mean_image = X_train.mean(axis=0)
        X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test}
