"""Time the fast layers against the naive reference loops and against PyTorch.

Usage::

    python benchmarks/bench_layers.py [--threads T] [--rounds R] [--repeats M]

On the notebook's sizes (convolution: x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2,
pad 1; max pooling: x (100, 3, 32, 32), 2 x 2 windows, stride 2), forward and backward,
it prints the speedup of ``assignment.fast_layers`` over the naive loops of
``solutions`` and the fast layers' time relative to PyTorch's CPU float64 operators, then
one verdict line per target.

Method: everything is measured in one process, in ``R`` rounds; each round times every
layer once naively, then ``M`` calls in a row of the fast layer and ``M`` of PyTorch's
(after one untimed call each; which of the two goes first alternates between rounds).
A layer's time is the median over rounds of its per-round median. PyTorch's forward is
``conv2d`` / ``max_pool2d`` on inputs that require gradients (the graph a training step
builds); its backward is ``torch.autograd.grad`` on a graph built beforehand, so only the
backward pass is timed, as for the numpy layers.

Threads: numpy's elementwise work runs on one core, so by default (``--threads 1``)
PyTorch and numpy's BLAS are both limited to one thread, and the comparison is of the
algorithms rather than of the core counts. ``--threads T`` gives both T threads. BLAS
threads are set through threadpoolctl when it is installed; otherwise they are the
library's default, and the header says so. PyTorch is optional: without it the numpy
speedups are still printed.
"""

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

# Run as a script from a checkout, the project's packages may not be installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assignment.fast_layers import (  # noqa: E402 (after the path set-up)
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from assignment.gradient_check import rel_error  # noqa: E402
from solutions import (  # noqa: E402
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

try:
    import torch
except ImportError:  # optional: only the comparison with PyTorch needs it
    torch = None

# What the fast layers are meant to achieve on these sizes.
MIN_CONV_SPEEDUP = 1000  # conv forward and backward vs the naive loops
MIN_POOL_SPEEDUP = 100  # max pooling forward and backward vs the naive loops
MAX_TORCH_RATIO = 1.25  # fast layer time / PyTorch time, every layer

# The results must agree before their times mean anything; float64 throughout.
AGREEMENT_TOLERANCE = 1e-9

CONV_PARAM = {"stride": 2, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
SEED = 231


class Case(NamedTuple):
    """One layer to time: three zero-argument callables doing the same work."""

    name: str
    min_speedup: float
    naive: object
    fast: object
    torch: object  # None without PyTorch


class Timing(NamedTuple):
    """Median seconds of one case."""

    name: str
    min_speedup: float
    naive: float
    fast: float
    torch: float  # nan without PyTorch


def main(argv=None):
    """Parse the options, set the threads, time every case, print the table and verdicts."""
    args = _parse_args(argv)
    with _thread_limits(args.threads) as blas_threads:
        print(_header(args, blas_threads))
        cases = _conv_cases() + _pool_cases()
        timings = _time_cases(cases, args.rounds, args.repeats)
    print(_table(timings))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine slows the naive loops most)")
    print()
    for line in _verdicts(timings):
        print(line)


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for PyTorch and numpy's BLAS (default: 1)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each times the naive loops once (default: 5)")
    parser.add_argument("--repeats", type=int, default=21, help="fast and PyTorch calls per round (default: 21)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _thread_limits(threads):
    """Give PyTorch and numpy's BLAS ``threads`` threads; yield a description of BLAS's."""
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        yield "library default (threadpoolctl not installed)"
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        counts = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        yield ", ".join(map(str, counts)) or "unknown"


def _header(args, blas_threads):
    torch_line = (
        f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), float64"
        if torch is not None
        else "PyTorch: not installed, no comparison with it"
    )
    return "\n".join(
        [
            "Fast layers vs naive loops and PyTorch (CPU)",
            f"numpy {np.__version__}, BLAS threads: {blas_threads} (the fast layers use no "
            f"other threads); {torch_line}",
            f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
            f"{args.rounds} rounds x {args.repeats} repeats, interleaved; medians",
            "",
        ]
    )


def _conv_cases():
    """Convolution forward and backward on the notebook's sizes, checked to agree."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((100, 3, 31, 31))
    w = rng.standard_normal((25, 3, 3, 3))
    b = rng.standard_normal(25)
    out, naive_cache = conv_forward_naive(x, w, b, CONV_PARAM)
    _, fast_cache = conv_forward_fast(x, w, b, CONV_PARAM)
    dout = rng.standard_normal(out.shape)
    expected = (out,) + tuple(conv_backward_naive(dout, naive_cache))
    got = (conv_forward_fast(x, w, b, CONV_PARAM)[0],) + conv_backward_fast(dout, fast_cache)
    _check_agreement("conv, fast", got, expected)

    torch_forward = torch_backward = None
    if torch is not None:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        conv_args = dict(stride=CONV_PARAM["stride"], padding=CONV_PARAM["pad"])

        def torch_forward():
            return torch.nn.functional.conv2d(tx, tw, tb, **conv_args)

        graph = torch_forward()
        tdout = torch.tensor(dout)

        def torch_backward():
            return torch.autograd.grad(graph, (tx, tw, tb), tdout, retain_graph=True)

        got = (graph,) + torch_backward()
        _check_agreement("conv, PyTorch", [t.detach().numpy() for t in got], expected)

    return [
        Case(
            "conv forward",
            MIN_CONV_SPEEDUP,
            lambda: conv_forward_naive(x, w, b, CONV_PARAM),
            lambda: conv_forward_fast(x, w, b, CONV_PARAM),
            torch_forward,
        ),
        Case(
            "conv backward",
            MIN_CONV_SPEEDUP,
            lambda: conv_backward_naive(dout, naive_cache),
            lambda: conv_backward_fast(dout, fast_cache),
            torch_backward,
        ),
    ]


def _pool_cases():
    """Max pooling forward and backward on the notebook's sizes, checked to agree."""
    rng = np.random.default_rng(SEED + 1)
    x = rng.standard_normal((100, 3, 32, 32))
    out, naive_cache = max_pool_forward_naive(x, POOL_PARAM)
    _, fast_cache = max_pool_forward_fast(x, POOL_PARAM)
    dout = rng.standard_normal(out.shape)
    expected = (out, max_pool_backward_naive(dout, naive_cache))
    got = (max_pool_forward_fast(x, POOL_PARAM)[0], max_pool_backward_fast(dout, fast_cache))
    _check_agreement("pool, fast", got, expected)

    torch_forward = torch_backward = None
    if torch is not None:
        tx = torch.tensor(x, requires_grad=True)
        size = (POOL_PARAM["pool_height"], POOL_PARAM["pool_width"])

        def torch_forward():
            return torch.nn.functional.max_pool2d(tx, size, stride=POOL_PARAM["stride"])

        graph = torch_forward()
        tdout = torch.tensor(dout)

        def torch_backward():
            return torch.autograd.grad(graph, (tx,), tdout, retain_graph=True)

        got = (graph,) + torch_backward()
        _check_agreement("pool, PyTorch", [t.detach().numpy() for t in got], expected)

    return [
        Case(
            "pool forward",
            MIN_POOL_SPEEDUP,
            lambda: max_pool_forward_naive(x, POOL_PARAM),
            lambda: max_pool_forward_fast(x, POOL_PARAM),
            torch_forward,
        ),
        Case(
            "pool backward",
            MIN_POOL_SPEEDUP,
            lambda: max_pool_backward_naive(dout, naive_cache),
            lambda: max_pool_backward_fast(dout, fast_cache),
            torch_backward,
        ),
    ]


def _check_agreement(label, got, expected):
    """Stop the benchmark loudly if an implementation disagrees with the naive loops."""
    for index, (a, e) in enumerate(zip(got, expected)):
        error = rel_error(a, e)
        if not error < AGREEMENT_TOLERANCE:
            raise SystemExit(f"{label}: output {index} disagrees with the naive loops, rel_error {error:.2e}")


def _time_cases(cases, rounds, repeats):
    """Median times of every case over interleaved rounds."""
    samples = {case.name: {"naive": [], "fast": [], "torch": []} for case in cases}
    for round_index in range(rounds):
        for case in cases:
            record = samples[case.name]
            record["naive"].append(_seconds(case.naive))
            contenders = [("fast", case.fast), ("torch", case.torch)]
            # Alternate who goes first, so that neither always inherits the other's cache.
            for key, function in contenders[:: 1 if round_index % 2 == 0 else -1]:
                record[key].append(_median_seconds(function, repeats))
    return [
        Timing(
            case.name,
            case.min_speedup,
            *(statistics.median(samples[case.name][key]) for key in ("naive", "fast", "torch")),
        )
        for case in cases
    ]


def _median_seconds(function, repeats):
    """Median seconds of ``repeats`` calls in a row, after one untimed call; nan for None."""
    if function is None:
        return float("nan")
    function()
    return statistics.median(_seconds(function) for _ in range(repeats))


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _table(timings):
    """Times, and the two ratios the targets are about; PyTorch's speedup for context."""
    lines = [
        f"{'layer':<14} {'naive':>11} {'fast':>9} {'torch':>9} "
        f"{'naive/fast':>11} {'naive/torch':>12} {'fast/torch':>11}"
    ]
    for t in timings:
        lines.append(
            f"{t.name:<14} {_ms(t.naive):>11} {_ms(t.fast):>9} {_ms(t.torch):>9} "
            f"{_ratio(t.naive, t.fast, 'x'):>11} {_ratio(t.naive, t.torch, 'x'):>12} "
            f"{_ratio(t.fast, t.torch, ''):>11}"
        )
    return "\n".join(lines)


def _ratio(numerator, denominator, suffix):
    if np.isnan(denominator):
        return "-"
    ratio = numerator / denominator
    return f"{ratio:.0f}{suffix}" if suffix else f"{ratio:.2f}"


def _ms(seconds):
    return "-" if np.isnan(seconds) else f"{seconds * 1e3:.2f} ms"


def _verdicts(timings):
    """One line per target: the measured value, the target, met or not."""
    lines = []
    for t in timings:
        speedup = t.naive / t.fast
        lines.append(
            f"{t.name}: {speedup:.0f}x faster than the naive loops "
            f"(target >= {t.min_speedup}x): {_met(speedup >= t.min_speedup)}"
        )
    for t in timings:
        if np.isnan(t.torch):
            lines.append(f"{t.name}: no PyTorch, ratio to PyTorch not measured")
            continue
        ratio = t.fast / t.torch
        lines.append(
            f"{t.name}: {ratio:.2f} x PyTorch's time (target <= {MAX_TORCH_RATIO}): {_met(ratio <= MAX_TORCH_RATIO)}"
        )
    return lines


def _met(ok):
    return "MET" if ok else "NOT MET"


if __name__ == "__main__":
    main()
