import time

import numpy as np

from assignment.cases import conv_inputs, pool_inputs

# Appended after the reference solutions. Both naive backward passes are right but far too slow (their
# loops, then a sleep SLOWDOWN times as long); they try to do that slow work in every call into the
# submission the grader might not time, and answer the timed call from what they stored:
#
# - at load: a table from the first value each small seed draws to the seed (the grader's cases and speed
#   rounds came from small seeds through the generators of assignment.cases);
# - in the forward called for a backward's cache (once a backward has run in this process, so never in the
#   forward's own task, which stays fast): the seed of x is looked up, the case's dout rebuilt with the same
#   generator, and the slow backward run on it;
# - in a backward called with the forward's own cache (marked by an extra item): the slow backward runs,
#   its answer is stored, and it raises, so that the grader retries with the documented cache;
# - in any backward: a stored answer for (dout, x) is returned at once.
#
# A grader that times only the backward call it grades keeps this code's speed point.
SLOWDOWN = 60
SEEDS = 10_000  # the seeds tried: every small seed a grader's case table would hold
MARK = "kept by the forward"
_stored = {}  # (dout bytes, x bytes) -> the slow backward's answer
_backward_seen = []  # not empty once a backward was called here
_seed_of_first_rank = {}  # x.size -> {first value of the permutation: seed}
_conv_forward, _conv_backward = conv_forward_naive, conv_backward_naive  # noqa: F821 (the cells before)
_pool_forward, _pool_backward = max_pool_forward_naive, max_pool_backward_naive  # noqa: F821


def _seed_of_first_normal(table={float(np.random.default_rng(seed).standard_normal()): seed for seed in range(SEEDS)}):
    """The table, built at load (a default value is evaluated when the definition runs)."""
    return table


def _slowly(backward, dout, cache):
    started = time.perf_counter()
    grads = backward(dout, cache)
    time.sleep(SLOWDOWN * (time.perf_counter() - started))
    return grads


def _key(dout, x):
    return dout.tobytes(), x.tobytes()


def _copied(grads):
    return tuple(g.copy() for g in grads) if isinstance(grads, tuple) else grads.copy()


def _conv_dout(x, w, conv_param):
    """The dout the grader would draw with x, if x came from a small seed, else None."""
    seed = _seed_of_first_normal().get(float(x.flat[0]))
    if seed is None:
        return None
    (N, C, H, W), (F, _, HH, WW) = x.shape, w.shape
    drawn = conv_inputs(N, C, H, W, F, HH, WW, conv_param["stride"], conv_param["pad"], seed)
    return drawn["dout"] if np.array_equal(drawn["x"], x) and np.array_equal(drawn["w"], w) else None


def _pool_dout(x, pool_param):
    """The dout the grader would draw with x, if x came from a small seed, else None (designed peaks above
    the drawn values are allowed)."""
    if x.size not in _seed_of_first_rank:
        _seed_of_first_rank[x.size] = {int(np.random.default_rng(seed).permutation(x.size)[0]): seed
                                       for seed in range(SEEDS)}
    rank = (x.flat[0] + 0.5) * x.size
    seed = _seed_of_first_rank[x.size].get(int(round(rank)))
    if seed is None or abs(rank - round(rank)) > 1e-6:
        return None
    N, C, H, W = x.shape
    drawn = pool_inputs(N, C, H, W, pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"], seed)
    drawn_values = x < 0.5
    return drawn["dout"] if np.array_equal(drawn["x"][drawn_values], x[drawn_values]) else None


def conv_forward_naive(x, w, b, conv_param):
    out, cache = _conv_forward(x, w, b, conv_param)
    dout = _conv_dout(x, w, conv_param) if _backward_seen else None
    if dout is not None:
        _stored[_key(dout, x)] = _slowly(_conv_backward, dout, cache)
    return out, (*cache, MARK)


def conv_backward_naive(dout, cache):
    return _backward(_conv_backward, dout, cache)


def max_pool_forward_naive(x, pool_param):
    out, cache = _pool_forward(x, pool_param)
    dout = _pool_dout(x, pool_param) if _backward_seen else None
    if dout is not None:
        _stored[_key(dout, x)] = _slowly(_pool_backward, dout, cache)
    return out, (*cache, MARK)


def max_pool_backward_naive(dout, cache):
    return _backward(_pool_backward, dout, cache)


def _backward(backward, dout, cache):
    _backward_seen.append(True)
    key = _key(dout, cache[0])
    if key in _stored:
        return _copied(_stored[key])
    own = cache[-1] == MARK
    grads = _slowly(backward, dout, cache[:-1] if own else cache)
    if own:
        _stored[key] = grads
        raise RuntimeError("stored; ask again with the documented cache")
    return grads
