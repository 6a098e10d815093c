import sys
from pathlib import Path

import pytest

# The tests share small factories (tests/notebooks.py) without being a package.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True, scope="session")
def _grader_cache(tmp_path_factory):
    """The grader's disk cache (grader.tasks.disk) in a folder of this test run, shared by its gradings and the
    processes they start: the suite neither reads nor fills the developer's own cache. Tests of the cache
    itself point GRADER_CACHE_DIR elsewhere."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_CACHE_DIR", str(tmp_path_factory.mktemp("grader-cache")))
        yield
