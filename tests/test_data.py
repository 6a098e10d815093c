"""Tests of assignment.data: the embedded digits and the CIFAR-10 loader.

The CIFAR-10 loader is tested on small batch files in the real format (tests/cifar10_files.py),
written into ``tmp_path``: five training batches of 4 images and a test batch of 3. Every such
test runs twice: on files pickled by Python 3, and on files laid out as the official ones,
which Python 2 wrote (keys and array bytes as Python 2 ``str``, numpy's old module path).
"""

import pickle
from importlib import resources

import numpy as np
import pytest
from cifar10_files import (
    BLUE,
    CORNER_COL,
    CORNER_ROW,
    MARKER_COL,
    MARKER_RGB,
    MARKER_ROW,
    NUM_BATCHES,
    SIDE,
    TEST_SERIAL_START,
    dump_python2,
    dump_python3,
    label_of_test_image,
    label_of_training_image,
    write_cifar10_folder,
)

from assignment import data

DIGITS_COUNT = 1797
NUM_CLASSES = 10
DIGITS_SHAPE = (1, 8, 8)
MEAN_TOLERANCE = 1e-10  # float64 round-off of a mean over at most 1797 values of size <= 255

# The small CIFAR-10 folder.
TRAIN_PER_BATCH = 4
NUM_TRAIN = TRAIN_PER_BATCH * NUM_BATCHES
NUM_TEST = 3


# ---------------------------------------------------------------------------------------------
# The embedded digits
# ---------------------------------------------------------------------------------------------


def _open_archive():
    resource = resources.files("assignment") / "datasets" / "digits.npz"
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def test_embedded_archive_loads_without_pickle_and_holds_two_uint8_arrays():
    arrays = _open_archive()
    assert sorted(arrays) == ["images", "labels"]
    assert arrays["images"].shape == (DIGITS_COUNT, 8, 8)
    assert arrays["labels"].shape == (DIGITS_COUNT,)
    assert arrays["images"].dtype == np.uint8 and arrays["labels"].dtype == np.uint8


def test_embedded_archive_keeps_the_original_0_to_16_pixels_and_0_to_9_labels():
    arrays = _open_archive()
    assert arrays["images"].min() == 0 and arrays["images"].max() == 16
    assert set(np.unique(arrays["labels"])) == set(range(NUM_CLASSES))


def test_embedded_data_set_ships_its_attribution():
    readme = (resources.files("assignment") / "datasets" / "README.md").read_text("utf-8")
    for fact in (
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "https://doi.org/10.24432/C50P49",
        "Alpaydin",
        "Kaynak",
    ):
        assert fact in readme


def test_load_digits_returns_nchw_float64_on_the_0_to_255_scale():
    X, y = data.load_digits()
    assert X.shape == (DIGITS_COUNT, *DIGITS_SHAPE) and X.dtype == np.float64
    assert y.shape == (DIGITS_COUNT,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 255.0


def test_load_digits_rescales_every_pixel_by_255_over_16():
    X, y = data.load_digits()
    arrays = _open_archive()
    np.testing.assert_allclose(X[:, 0] * 16 / 255, arrays["images"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y, arrays["labels"])


def test_every_digit_class_is_present_in_the_data_set_and_in_each_default_split():
    _, y = data.load_digits()
    assert np.array_equal(np.unique(y), np.arange(NUM_CLASSES))
    splits = data.get_digits_data()
    for key in ("y_train", "y_val", "y_test"):
        assert np.array_equal(np.unique(splits[key]), np.arange(NUM_CLASSES)), key


def test_digits_split_shapes_and_dtypes_follow_the_requested_sizes():
    splits = data.get_digits_data(num_training=50, num_validation=20, num_test=10)
    for name, count in (("train", 50), ("val", 20), ("test", 10)):
        assert splits[f"X_{name}"].shape == (count, *DIGITS_SHAPE)
        assert splits[f"X_{name}"].dtype == np.float64
        assert splits[f"y_{name}"].shape == (count,)
        assert splits[f"y_{name}"].dtype == np.int64


def test_digits_split_is_identical_on_every_call():
    first, second = data.get_digits_data(), data.get_digits_data()
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_digits_split_is_pinned_so_grades_do_not_move_between_numpy_versions():
    # A changed shuffle would silently change the overfit data the grader trains on.
    splits = data.get_digits_data(subtract_mean=False)
    np.testing.assert_array_equal(splits["y_train"][:10], [6, 5, 1, 3, 9, 4, 7, 1, 3, 4])


def test_default_digits_splits_are_disjoint_and_together_are_the_whole_data_set():
    X, y = data.load_digits()
    splits = data.get_digits_data(subtract_mean=False)
    parts = [
        np.column_stack([splits[f"X_{s}"].reshape(len(splits[f"y_{s}"]), -1), splits[f"y_{s}"]])
        for s in ("train", "val", "test")
    ]
    together = np.concatenate(parts)
    whole = np.column_stack([X.reshape(DIGITS_COUNT, -1), y])
    # Equal as multisets of rows: every image used exactly once, so no image is in two splits.
    np.testing.assert_array_equal(
        np.unique(together, axis=0, return_counts=True)[1], np.unique(whole, axis=0, return_counts=True)[1]
    )
    np.testing.assert_array_equal(np.unique(together, axis=0), np.unique(whole, axis=0))


def test_smaller_digits_splits_are_prefixes_of_the_default_ones():
    full = data.get_digits_data(subtract_mean=False)
    small = data.get_digits_data(num_training=100, num_validation=30, num_test=20, subtract_mean=False)
    np.testing.assert_array_equal(small["X_train"], full["X_train"][:100])
    np.testing.assert_array_equal(small["y_train"], full["y_train"][:100])
    # The cut continues along the same shuffled order: validation is the next 30 images,
    # which the default split puts in training; test the 20 after those.
    np.testing.assert_array_equal(small["X_val"], full["X_train"][100:130])
    np.testing.assert_array_equal(small["y_test"], full["y_train"][130:150])


def test_mean_subtraction_centres_the_training_images():
    splits = data.get_digits_data()
    assert np.abs(splits["X_train"].mean(axis=0)).max() < MEAN_TOLERANCE


def test_mean_subtraction_shifts_every_split_by_the_training_mean():
    raw = data.get_digits_data(subtract_mean=False)
    centred = data.get_digits_data(subtract_mean=True)
    mean_image = raw["X_train"].mean(axis=0)
    for key in ("X_train", "X_val", "X_test"):
        np.testing.assert_allclose(centred[key], raw[key] - mean_image, rtol=0, atol=1e-12)


def test_without_mean_subtraction_pixels_stay_on_the_0_to_255_scale():
    splits = data.get_digits_data(subtract_mean=False)
    assert splits["X_train"].min() == 0.0 and splits["X_train"].max() == 255.0


def test_sizes_that_use_exactly_every_image_are_accepted():
    splits = data.get_digits_data(num_training=DIGITS_COUNT, num_validation=0, num_test=0)
    assert splits["X_train"].shape == (DIGITS_COUNT, *DIGITS_SHAPE)
    assert splits["X_val"].shape == (0, *DIGITS_SHAPE)
    assert splits["y_test"].shape == (0,)


@pytest.mark.parametrize(
    "sizes, named",
    [
        ({"num_training": 0}, "num_training"),
        ({"num_validation": -1}, "num_validation"),
        ({"num_test": -5}, "num_test"),
        ({"num_training": 1500, "num_validation": 200, "num_test": 200}, "num_training=1500"),
    ],
)
def test_bad_digits_sizes_raise_value_error_naming_the_argument(sizes, named):
    with pytest.raises(ValueError, match=named):
        data.get_digits_data(**sizes)


@pytest.mark.parametrize("value", [10.0, "10", None, True])
def test_non_integer_sizes_raise_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match="num_validation"):
        data.get_digits_data(num_validation=value)


def test_numpy_integer_sizes_are_accepted():
    splits = data.get_digits_data(num_training=np.int64(10), num_validation=np.int32(5), num_test=np.uint8(3))
    assert [len(splits[k]) for k in ("y_train", "y_val", "y_test")] == [10, 5, 3]


def test_get_data_without_a_folder_returns_the_digits_and_passes_sizes_on():
    via_get_data = data.get_data(num_training=40, num_validation=10, num_test=5)
    direct = data.get_digits_data(num_training=40, num_validation=10, num_test=5)
    for key in direct:
        np.testing.assert_array_equal(via_get_data[key], direct[key], err_msg=key)
    assert data.class_names() == data.DIGITS_CLASSES
    assert data.DIGITS_CLASSES[7] == "7"


# ---------------------------------------------------------------------------------------------
# CIFAR-10 in the real file format
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=[dump_python3, dump_python2], ids=["python3-pickle", "python2-pickle"])
def cifar10_dir(tmp_path, request):
    """A folder with data_batch_1..5 (4 images each, serials 1..20) and test_batch (3 images)."""
    return write_cifar10_folder(tmp_path, TRAIN_PER_BATCH, NUM_TEST, request.param)


TRAIN_SERIALS = np.arange(1, NUM_TRAIN + 1)
TEST_SERIALS = np.arange(TEST_SERIAL_START, TEST_SERIAL_START + NUM_TEST)


def test_load_cifar10_returns_nhwc_float64_images_of_all_batches(cifar10_dir):
    X_train, y_train, X_test, y_test = data.load_cifar10(cifar10_dir)
    assert X_train.shape == (NUM_TRAIN, SIDE, SIDE, 3) and X_train.dtype == np.float64
    assert X_test.shape == (NUM_TEST, SIDE, SIDE, 3) and X_test.dtype == np.float64
    assert y_train.shape == (NUM_TRAIN,) and y_train.dtype == np.int64
    assert y_test.shape == (NUM_TEST,) and y_test.dtype == np.int64


def test_load_cifar10_puts_each_plane_at_its_row_col_and_channel(cifar10_dir):
    X_train, _, X_test, _ = data.load_cifar10(cifar10_dir)
    for X in (X_train, X_test):
        np.testing.assert_array_equal(X[:, MARKER_ROW, MARKER_COL, :], np.tile(MARKER_RGB, (len(X), 1)))
        assert not X[:, MARKER_COL, MARKER_ROW, :].any()  # not transposed
        np.testing.assert_array_equal(X[:, CORNER_ROW, CORNER_COL, :], np.tile([0, 0, 255], (len(X), 1)))
        assert not X[:, CORNER_COL, CORNER_ROW, :].any()  # rows not flipped into columns
        assert not X[:, 0, SIDE - 1, :].any() and not X[:, SIDE - 1, SIDE - 1, :].any()
        # Exactly the written bytes are non-zero: serial, the marker's three, the corner.
        assert np.count_nonzero(X) == 5 * len(X)


def test_load_cifar10_keeps_images_and_labels_in_batch_order(cifar10_dir):
    X_train, y_train, X_test, y_test = data.load_cifar10(cifar10_dir)
    np.testing.assert_array_equal(X_train[:, 0, 0, 0], TRAIN_SERIALS)
    np.testing.assert_array_equal(y_train, label_of_training_image(TRAIN_SERIALS))
    np.testing.assert_array_equal(X_test[:, 0, 0, 0], TEST_SERIALS)
    np.testing.assert_array_equal(y_test, label_of_test_image(TEST_SERIALS))


def test_load_cifar10_accepts_a_string_path(cifar10_dir):
    X_train, *_ = data.load_cifar10(str(cifar10_dir))
    assert X_train.shape[0] == NUM_TRAIN


def test_get_cifar10_data_splits_like_the_course_and_returns_nchw(cifar10_dir):
    splits = data.get_cifar10_data(cifar10_dir, num_training=12, num_validation=5, num_test=2, subtract_mean=False)
    expected = {
        "train": (TRAIN_SERIALS[:12], label_of_training_image(TRAIN_SERIALS[:12])),
        "val": (TRAIN_SERIALS[12:17], label_of_training_image(TRAIN_SERIALS[12:17])),
        "test": (TEST_SERIALS[:2], label_of_test_image(TEST_SERIALS[:2])),
    }
    for name, (serials, labels) in expected.items():
        X, y = splits[f"X_{name}"], splits[f"y_{name}"]
        assert X.shape == (len(serials), 3, SIDE, SIDE) and X.flags.c_contiguous
        np.testing.assert_array_equal(X[:, 0, 0, 0], serials)
        np.testing.assert_array_equal(X[:, :, MARKER_ROW, MARKER_COL], np.tile(MARKER_RGB, (len(serials), 1)))
        np.testing.assert_array_equal(X[:, BLUE, CORNER_ROW, CORNER_COL], 255)
        np.testing.assert_array_equal(y, labels)
        assert y.dtype == np.int64


def test_get_cifar10_data_subtracts_the_training_mean_from_every_split(cifar10_dir):
    raw = data.get_cifar10_data(cifar10_dir, num_training=10, num_validation=6, num_test=3, subtract_mean=False)
    centred = data.get_cifar10_data(cifar10_dir, num_training=10, num_validation=6, num_test=3)
    assert np.abs(centred["X_train"].mean(axis=0)).max() < MEAN_TOLERANCE
    mean_image = raw["X_train"].mean(axis=0)
    assert mean_image[0, 0, 0] == TRAIN_SERIALS[:10].mean()
    for key in ("X_train", "X_val", "X_test"):
        np.testing.assert_allclose(centred[key], raw[key] - mean_image, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "sizes, named",
    [
        ({"num_training": 16, "num_validation": 5, "num_test": 1}, "num_validation=5"),
        ({"num_training": 10, "num_validation": 2, "num_test": NUM_TEST + 1}, "num_test"),
        ({"num_training": 0, "num_validation": 2, "num_test": 1}, "num_training"),
    ],
)
def test_get_cifar10_data_rejects_sizes_the_batches_cannot_fill(cifar10_dir, sizes, named):
    with pytest.raises(ValueError, match=named):
        data.get_cifar10_data(cifar10_dir, **sizes)


def test_missing_batch_file_names_the_file_and_where_to_download_cifar10(cifar10_dir):
    (cifar10_dir / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError) as error:
        data.load_cifar10(cifar10_dir)
    message = str(error.value)
    assert "data_batch_3" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert "CIFAR-10 python version" in message


def test_missing_test_batch_is_reported_too(cifar10_dir):
    (cifar10_dir / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch"):
        data.get_data(cifar10_dir)


def test_missing_folder_says_the_folder_does_not_exist(tmp_path):
    missing = tmp_path / "cifar-10-batches-py"
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        data.load_cifar10(missing)
    assert str(missing) in str(error.value)


def test_a_file_that_is_not_a_batch_raises_value_error_naming_it(cifar10_dir):
    with open(cifar10_dir / "data_batch_2", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(ValueError, match="data_batch_2"):
        data.load_cifar10(cifar10_dir)


def test_a_batch_with_wrong_row_length_raises_value_error(cifar10_dir):
    with open(cifar10_dir / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="3072"):
        data.load_cifar10(cifar10_dir)


def test_get_data_with_a_folder_returns_cifar10_and_its_class_names(cifar10_dir):
    splits = data.get_data(cifar10_dir, num_training=8, num_validation=4, num_test=3)
    assert splits["X_train"].shape == (8, 3, SIDE, SIDE)
    assert splits["X_val"].shape == (4, 3, SIDE, SIDE)
    assert splits["X_test"].shape == (3, 3, SIDE, SIDE)
    assert data.class_names(cifar10_dir) == data.CIFAR10_CLASSES
    assert len(data.CIFAR10_CLASSES) == NUM_CLASSES
    assert data.CIFAR10_CLASSES[0] == "airplane" and data.CIFAR10_CLASSES[9] == "truck"


# ---------------------------------------------------------------------------------------------
# check_cifar10_folder: a wrong folder is one line, found before anything uses it
# ---------------------------------------------------------------------------------------------


def _folder_error(folder, **kwargs):
    with pytest.raises(data.CIFAR10FolderError) as error:
        data.check_cifar10_folder(folder, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_check_cifar10_folder_counts_the_images_of_a_good_folder(cifar10_dir):
    assert data.check_cifar10_folder(cifar10_dir) == (NUM_TRAIN, NUM_TEST)
    assert data.check_cifar10_folder(str(cifar10_dir), min_training=NUM_TRAIN) == (NUM_TRAIN, NUM_TEST)


def test_the_parent_of_cifar_10_batches_py_is_refused_with_did_you_mean(tmp_path):
    inner = write_cifar10_folder(tmp_path / "fake_cifar" / "cifar-10-batches-py")
    message = _folder_error(tmp_path / "fake_cifar")
    assert "no file data_batch_1" in message
    assert message.endswith(f"did you mean {inner}?")
    assert data.check_cifar10_folder(inner) == (NUM_TRAIN, NUM_TEST)


def test_the_loader_given_the_parent_of_cifar_10_batches_py_asks_did_you_mean(tmp_path):
    inner = write_cifar10_folder(tmp_path / "cifar-10-batches-py")
    with pytest.raises(FileNotFoundError, match="data_batch_1") as error:
        data.get_data(tmp_path)
    assert str(error.value).endswith(f"Did you mean {inner}?")


def test_an_empty_folder_is_refused_naming_the_missing_file_and_where_to_get_the_data(tmp_path):
    message = _folder_error(tmp_path)
    assert "no file data_batch_1" in message and data.CIFAR10_URL in message
    assert "did you mean" not in message


def test_a_missing_folder_and_a_file_are_refused(tmp_path):
    assert "does not exist" in _folder_error(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in _folder_error(tmp_path / "file")


def test_a_missing_test_batch_is_refused(cifar10_dir):
    (cifar10_dir / "test_batch").unlink()
    assert "no file test_batch" in _folder_error(cifar10_dir)


def _truncated(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _random_bytes(path):
    path.write_bytes(bytes(range(256)) * 8)


def _text_labels(path):
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [b"cat", b"dog"]}, f)


def _labels_out_of_range(path):
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 10]}, f)


def _float_pixels(path):
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072)), b"labels": [0, 1]}, f)


@pytest.mark.parametrize(
    "corrupt, named",
    [
        (_truncated, "does not unpickle"),
        (_random_bytes, "does not unpickle"),
        (_text_labels, "not integers"),
        (_labels_out_of_range, "from 3 to 10"),
        (_float_pixels, "uint8"),
    ],
    ids=["truncated", "random-bytes", "text-labels", "label-10", "float-pixels"],
)
def test_a_corrupt_batch_is_refused_naming_the_file_and_the_fault(cifar10_dir, corrupt, named):
    corrupt(cifar10_dir / "data_batch_4")
    message = _folder_error(cifar10_dir)
    assert "data_batch_4 is not a CIFAR-10 python batch" in message and named in message


def test_a_corrupt_batch_makes_the_loader_raise_value_error_too(cifar10_dir):
    _truncated(cifar10_dir / "data_batch_1")
    with pytest.raises(ValueError, match="data_batch_1 is not a CIFAR-10 python batch"):
        data.load_cifar10(cifar10_dir)


def test_too_few_training_images_for_the_caller_are_refused(cifar10_dir):
    message = _folder_error(cifar10_dir, min_training=100)
    assert f"holds {NUM_TRAIN} CIFAR-10 training images, fewer than the 100 needed" in message
