"""Folder trees a hostile submission might hold, built and removed without recursion (os.makedirs and
shutil.rmtree recurse once per level and fail on the trees these tests need)."""

import contextlib
import os


@contextlib.contextmanager
def nested_folders(root, depth, name="d", notebook=None):
    """``depth`` folders each inside the last, under ``root``, the deepest holding ``notebook`` (bytes) as
    ``deep.ipynb`` if given; removed again on exit."""
    descriptors = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=descriptors[-1])
            descriptors.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptors[-1]))
        if notebook is not None:
            handle = os.open("deep.ipynb", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptors[-1])
            os.write(handle, notebook)
            os.close(handle)
        yield
    finally:
        if notebook is not None and len(descriptors) == depth + 1:
            os.unlink("deep.ipynb", dir_fd=descriptors[-1])
        for parent in reversed(descriptors[:-1]):
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=parent)
        for descriptor in descriptors:
            os.close(descriptor)
