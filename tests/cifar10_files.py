"""Small CIFAR-10 folders in the real file format, written by the tests.

Each batch file is a pickled dict with bytes keys whose b'data' rows hold the R, G and B planes of a
32x32 image, as in the official "CIFAR-10 python version". Files are pickled by Python 3, or laid out as
the official ones, which Python 2 wrote (keys and array bytes as Python 2 ``str``, numpy's old module
path). Images are numbered: the serial number sits in R at (0, 0); training images are 1, 2, ... in batch
order, test images start at TEST_SERIAL_START.
"""

import io
import pickle
import struct

import numpy as np

SIDE = 32
PLANE = SIDE * SIDE
NUM_BATCHES = 5
NUM_CLASSES = 10
TEST_SERIAL_START = 101  # test images are numbered 101.., training images 1.. (at most 100 of them)
# Every image carries this colour at (row 5, col 9): row != col catches a swap of H and W,
# three different values catch a wrong channel order.
MARKER_ROW, MARKER_COL = 5, 9
MARKER_RGB = (200, 100, 50)
# And pure blue in the bottom-left corner, which catches flipped rows or columns.
CORNER_ROW, CORNER_COL, BLUE = SIDE - 1, 0, 2
BATCH_NAMES = tuple(f"data_batch_{i}" for i in range(1, NUM_BATCHES + 1)) + ("test_batch",)


def offset(channel, row, col):
    """Byte of (channel, row, col) in a CIFAR-10 row: the R plane, then G, then B, row-major."""
    return channel * PLANE + row * SIDE + col


def image_row(serial):
    """One image as the file stores it: 3072 bytes, the serial number in R at (0, 0)."""
    row = np.zeros(3 * PLANE, dtype=np.uint8)
    row[offset(0, 0, 0)] = serial
    for channel, value in enumerate(MARKER_RGB):
        row[offset(channel, MARKER_ROW, MARKER_COL)] = value
    row[offset(BLUE, CORNER_ROW, CORNER_COL)] = 255
    return row


def label_of_training_image(serial):
    return serial % NUM_CLASSES


def label_of_test_image(serial):
    return (3 * serial) % NUM_CLASSES


class _Python2Pickler(pickle._Pickler):
    """Pickles ``bytes`` as Python 2 ``str``, the way the official CIFAR-10 files hold them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_python2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_python2_str


def dump_python3(batch, f):
    pickle.dump(batch, f, protocol=2)


def dump_python2(batch, f):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(batch)
    # The official files name numpy's array reconstructor by its pre-2.0 module path.
    f.write(buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))


def write_batch(path, serials, label_of, dump=dump_python3):
    batch = {
        b"batch_label": path.name.encode(),
        b"labels": [label_of(s) for s in serials],
        b"data": np.stack([image_row(s) for s in serials]),
        b"filenames": [f"image_{s}.png".encode() for s in serials],
    }
    with open(path, "wb") as f:
        dump(batch, f)


def write_cifar10_folder(folder, train_per_batch=4, num_test=3, dump=dump_python3):
    """Write data_batch_1..5 (``train_per_batch`` images each) and test_batch into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for batch in range(NUM_BATCHES):
        serials = range(1 + batch * train_per_batch, 1 + (batch + 1) * train_per_batch)
        write_batch(folder / f"data_batch_{batch + 1}", serials, label_of_training_image, dump)
    write_batch(
        folder / "test_batch", range(TEST_SERIAL_START, TEST_SERIAL_START + num_test), label_of_test_image, dump
    )
    return folder
