"""What the grader computes the same way for every submission, computed once per process.

The references' expected values of the normalization and convnet cases depend only on a case's parameters
(its seeds included; the conv and pool tasks' graded inputs come from each grading's secret, so theirs are
computed per grading and never cached here), the reference
model's overfit run only on the data folder, and the examples a derandomized hypothesis property tries on
a passing implementation only on the property and the number of examples asked for. They are identical
for every submission of a class, so a long-lived worker (``grade-class``, a Dask worker) computes each
once. Every cache is bounded (MAX_ENTRIES per function, least recently used dropped), and what it holds is
read-only (arrays flagged so, dicts as read-only mappings), so no check can change what the next
submission is compared with. Of the speed checks' timings, only the least time the reference loops took on
the speed case is kept, for a backward's speed rounds (grader.tasks.speed, "Kept reference times"); every
graded case and forward speed round is timed beside the reference. Across processes, the overfit run and
the properties' examples are kept on disk besides (:mod:`grader.tasks.disk`); the expected values and the
timings are not.

:func:`clear` empties every cache of this process (tests and ``benchmarks/bench_grading.py --cold``: the
uncached path, which reads the disk cache unless GRADER_CACHE_DIR is set empty); :func:`statistics` counts
hits and misses.
"""

import functools
import threading
import types
from collections import OrderedDict

import numpy as np

MAX_ENTRIES = 256  # per cached function: every case of every task, and every generated example of a property

_CACHES = []  # every cache made here, for clear() and statistics()


def memoized(function):
    """``function`` with its results kept (LRU, MAX_ENTRIES) by its hashable arguments, made read-only."""
    cached = functools.lru_cache(maxsize=MAX_ENTRIES)(lambda *args: read_only(function(*args)))
    _CACHES.append(cached)

    @functools.wraps(function)
    def lookup(*args):
        return cached(*args)

    lookup.cache_info, lookup.cache = cached.cache_info, cached
    return lookup


class BoundedStore:
    """A small LRU dict of at most MAX_ENTRIES items, registered for clear() and statistics(); safe to share
    between threads, as functools.lru_cache is."""

    def __init__(self):
        self.items, self.hits, self.misses = OrderedDict(), 0, 0
        self.lock = threading.Lock()
        _CACHES.append(self)

    def get(self, key):
        with self.lock:
            if key not in self.items:
                self.misses += 1
                return None
            self.hits += 1
            self.items.move_to_end(key)
            return self.items[key]

    def put(self, key, value):
        value = read_only(value)
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > MAX_ENTRIES:
                self.items.popitem(last=False)

    def cache_info(self):
        return functools._CacheInfo(self.hits, self.misses, MAX_ENTRIES, len(self.items))

    def cache_clear(self):
        with self.lock:
            self.items.clear()
            self.hits = self.misses = 0


def read_only(value):
    """``value`` with every array flagged read-only, tuples and lists as tuples, dicts as read-only mappings."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
        return value
    if isinstance(value, (tuple, list)):
        return tuple(read_only(item) for item in value)
    if isinstance(value, dict):
        return types.MappingProxyType({key: read_only(item) for key, item in value.items()})
    return value


def clear(keep=()):
    """Forget every cached value (the next grading computes them again, as an uncached one would), but those
    of the memoized functions in ``keep``."""
    kept = {id(function.cache) for function in keep}
    for cache in _CACHES:
        if id(cache) not in kept:
            cache.cache_clear()


def statistics():
    """(hits, misses) over every cache."""
    infos = [cache.cache_info() for cache in _CACHES]
    return sum(info.hits for info in infos), sum(info.misses for info in infos)


def key(case):
    """A case's parameters (a dict of numbers, strings and tuples) as a hashable key."""
    return tuple(sorted(case.items()))
