"""The fast layers agree with the naive reference loops, with numeric gradients and with
PyTorch, on every geometry the graded cases use (SPEC section 4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignment import fast_layers
from assignment.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from assignment.gradient_check import eval_numerical_gradient_array, rel_error
from solutions import (
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

# float64 against the loops: the same products, summed in another order.
REFERENCE_TOLERANCE = 1e-9
# float32 against float64, relative to the largest value: rounding of ~100-term sums.
FLOAT32_TOLERANCE = 1e-5
# Central differences of piecewise-linear layers: only rounding, far below this.
NUMERIC_GRADIENT_TOLERANCE = 1e-6
# PyTorch float64 against the fast layers: summation order only.
TORCH_TOLERANCE = 1e-9

# (x shape, w shape, stride, pad)
CONV_CASES = [
    pytest.param((2, 3, 7, 7), (4, 3, 3, 3), 1, 1, id="stride1-pad1"),
    pytest.param((2, 3, 8, 8), (4, 3, 3, 3), 1, 0, id="pad0"),
    pytest.param((2, 3, 6, 6), (4, 3, 3, 3), 1, 2, id="pad2"),
    pytest.param((2, 3, 9, 9), (4, 3, 3, 3), 2, 1, id="stride2"),
    pytest.param((2, 2, 10, 10), (3, 2, 3, 3), 3, 1, id="stride3"),
    pytest.param((2, 2, 7, 11), (3, 2, 3, 3), 2, 1, id="H-ne-W"),
    pytest.param((2, 2, 8, 8), (3, 2, 2, 4), 1, 1, id="HH-ne-WW"),
    pytest.param((1, 3, 6, 6), (2, 3, 3, 3), 1, 1, id="N1"),
    pytest.param((2, 1, 6, 6), (2, 1, 3, 3), 1, 1, id="C1"),
    pytest.param((2, 3, 6, 6), (1, 3, 3, 3), 1, 1, id="F1"),
    pytest.param((2, 2, 10, 9), (3, 2, 4, 3), 3, 1, id="stride-leaves-remainder"),
    pytest.param((2, 2, 8, 9), (3, 2, 3, 2), 3, 0, id="stride3-pad0-remainder"),
    pytest.param((2, 2, 5, 5), (2, 2, 5, 5), 1, 0, id="filter-covers-input"),
    pytest.param((2, 2, 5, 7), (2, 2, 1, 1), 2, 0, id="1x1-stride-above-filter"),
    pytest.param((2, 2, 6, 6), (2, 2, 2, 2), 4, 2, id="stride4-pad2"),
    pytest.param((3, 3, 31, 31), (5, 3, 3, 3), 2, 1, id="notebook-like"),
]

# (x shape, pool_height, pool_width, stride)
POOL_CASES = [
    pytest.param((2, 3, 8, 8), 2, 2, 2, id="2x2-stride2"),
    pytest.param((2, 2, 9, 7), 3, 2, 2, id="non-square-window"),
    pytest.param((2, 2, 8, 8), 3, 3, 1, id="overlapping-stride1"),
    pytest.param((2, 2, 9, 9), 3, 3, 2, id="overlapping-stride2"),
    pytest.param((2, 2, 10, 10), 2, 2, 3, id="stride-above-window"),
    pytest.param((2, 2, 6, 10), 2, 2, 2, id="H-ne-W"),
    pytest.param((2, 2, 7, 9), 2, 2, 2, id="not-tiling"),
    pytest.param((1, 1, 4, 4), 4, 4, 1, id="window-covers-input"),
    pytest.param((2, 2, 5, 8), 1, 3, 2, id="1x3-window"),
    pytest.param((3, 3, 32, 32), 2, 2, 2, id="notebook-like"),
]


def conv_inputs(x_shape, w_shape, dtype=np.float64, seed=0):
    """Random x (N, C, H, W), w (F, C, HH, WW), b (F,) of the given dtype."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, b


def distinct_values(shape, seed=0):
    """Shuffled values 0.01 apart: no ties, and no argmax change under a 1e-5 nudge."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.01


def pool_param(pool_height, pool_width, stride):
    return {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}


def scaled_error(got, expected):
    """Largest absolute difference relative to the largest expected magnitude."""
    return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


@pytest.fixture
def torch():
    """PyTorch, or a skip when it is not installed."""
    return pytest.importorskip("torch")


# Convolution against the naive loops


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_forward_matches_reference(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out, _ = conv_forward_fast(x, w, b, conv_param)
    expected, _ = conv_forward_naive(x, w, b, conv_param)
    assert out.shape == expected.shape
    assert rel_error(out, expected) < REFERENCE_TOLERANCE


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_backward_matches_reference(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    _, naive_cache = conv_forward_naive(x, w, b, conv_param)
    grads = conv_backward_fast(dout, cache)
    expected = conv_backward_naive(dout, naive_cache)
    for got, want in zip(grads, expected):
        assert got.shape == want.shape
        assert rel_error(got, want) < REFERENCE_TOLERANCE


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES[:6])
def test_conv_backward_accepts_the_naive_cache(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    out, naive_cache = conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    dout = np.random.default_rng(1).standard_normal(out.shape)
    grads = conv_backward_fast(dout, naive_cache)
    for got, want in zip(grads, conv_backward_naive(dout, naive_cache)):
        assert rel_error(got, want) < REFERENCE_TOLERANCE


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", [CONV_CASES[3], CONV_CASES[6]])
def test_conv_float32_in_gives_float32_out_close_to_float64(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape, dtype=np.float32)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    grads = conv_backward_fast(dout, cache)

    wide = [a.astype(np.float64) for a in (x, w, b, dout)]
    expected_out, naive_cache = conv_forward_naive(*wide[:3], conv_param)
    expected_grads = conv_backward_naive(wide[3], naive_cache)
    for got, want in zip((out,) + grads, (expected_out,) + tuple(expected_grads)):
        assert got.dtype == np.float32
        assert scaled_error(got, want) < FLOAT32_TOLERANCE


def test_conv_of_integer_input_is_float64():
    x, w, b = conv_inputs((2, 2, 5, 5), (3, 2, 3, 3))
    x_int = np.round(x * 10).astype(np.int64)
    out, cache = conv_forward_fast(x_int, w, b, {"stride": 1, "pad": 1})
    expected, _ = conv_forward_naive(x_int.astype(np.float64), w, b, {"stride": 1, "pad": 1})
    assert out.dtype == np.float64
    assert rel_error(out, expected) < REFERENCE_TOLERANCE
    dx, _, _ = conv_backward_fast(np.ones_like(out), cache)
    assert dx.dtype == np.float64


@pytest.mark.parametrize("pad", [0, 1])
def test_conv_does_not_modify_its_inputs(pad):
    x, w, b = conv_inputs((2, 3, 7, 8), (4, 3, 3, 3))
    originals = [a.copy() for a in (x, w, b)]
    out, cache = conv_forward_fast(x, w, b, {"stride": 2, "pad": pad})
    dout = np.random.default_rng(1).standard_normal(out.shape)
    originals.append(dout.copy())
    conv_backward_fast(dout, cache)
    for array, original in zip((x, w, b, dout), originals):
        np.testing.assert_array_equal(array, original)


def test_conv_accepts_non_contiguous_arrays():
    x, w, b = conv_inputs((2, 3, 7, 9), (4, 3, 3, 2))
    x_view = np.asfortranarray(x)[:, :, :, ::-1]
    conv_param = {"stride": 2, "pad": 1}
    out, cache = conv_forward_fast(x_view, w, b, conv_param)
    expected, naive_cache = conv_forward_naive(np.ascontiguousarray(x_view), w, b, conv_param)
    assert rel_error(out, expected) < REFERENCE_TOLERANCE
    dout = np.random.default_rng(1).standard_normal(out.shape).transpose(1, 0, 2, 3).copy()
    dout = dout.transpose(1, 0, 2, 3)  # same values, non-contiguous
    for got, want in zip(conv_backward_fast(dout, cache), conv_backward_naive(dout, naive_cache)):
        assert rel_error(got, want) < REFERENCE_TOLERANCE


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [
        pytest.param((2, 2, 5, 5), (3, 2, 3, 3), 1, 1, id="stride1-pad1"),
        pytest.param((2, 2, 6, 5), (2, 2, 2, 3), 2, 0, id="stride2-non-square"),
        pytest.param((1, 2, 7, 7), (2, 2, 3, 3), 3, 2, id="stride3-pad2"),
    ],
)
def test_conv_gradients_match_numeric_gradients(x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)

    def forward(x_, w_, b_):
        return conv_forward_fast(x_, w_, b_, conv_param)[0]

    numeric = (
        eval_numerical_gradient_array(lambda v: forward(v, w, b), x, dout),
        eval_numerical_gradient_array(lambda v: forward(x, v, b), w, dout),
        eval_numerical_gradient_array(lambda v: forward(x, w, v), b, dout),
    )
    for got, want in zip((dx, dw, db), numeric):
        assert rel_error(got, want) < NUMERIC_GRADIENT_TOLERANCE


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, conv_param, message",
    [
        pytest.param((2, 3, 5, 5), (4, 2, 3, 3), (4,), {"stride": 1, "pad": 0}, "channels", id="channel-mismatch"),
        pytest.param((2, 3, 5, 5), (4, 3, 3, 3), (3,), {"stride": 1, "pad": 0}, "b must", id="bias-shape"),
        pytest.param(
            (2, 3, 5, 5), (4, 3, 8, 3), (4,), {"stride": 1, "pad": 1}, "HH=8", id="filter-larger-than-padded-input"
        ),
        pytest.param((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 0, "pad": 0}, "stride", id="stride-zero"),
        pytest.param((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1, "pad": -1}, "pad", id="negative-pad"),
        pytest.param((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"pad": 0}, "no 'stride'", id="missing-stride"),
        pytest.param((3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1, "pad": 0}, "x must", id="x-not-4d"),
    ],
)
def test_conv_rejects_bad_arguments_naming_them(x_shape, w_shape, b_shape, conv_param, message):
    with pytest.raises(ValueError, match=message):
        conv_forward_fast(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), conv_param)


def test_conv_backward_rejects_dout_of_the_wrong_shape():
    x, w, b = conv_inputs((2, 3, 5, 5), (4, 3, 3, 3))
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match="dout must have shape"):
        conv_backward_fast(np.zeros(out.shape[:3] + (4,)), cache)


@pytest.mark.parametrize(
    "block_bytes",
    [
        pytest.param(1, id="one-image-per-block"),
        pytest.param(40_000, id="blocks-with-a-shorter-last-one"),
    ],
)
def test_conv_result_does_not_depend_on_the_block_size(monkeypatch, block_bytes):
    x, w, b = conv_inputs((5, 3, 9, 8), (4, 3, 3, 2))
    conv_param = {"stride": 2, "pad": 1}
    out, naive_cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    expected = (out,) + tuple(conv_backward_naive(dout, naive_cache))
    monkeypatch.setattr(fast_layers, "BLOCK_BYTES", block_bytes)
    fast_out, cache = conv_forward_fast(x, w, b, conv_param)
    for got, want in zip((fast_out,) + conv_backward_fast(dout, cache), expected):
        assert rel_error(got, want) < REFERENCE_TOLERANCE


@st.composite
def conv_geometries(draw):
    """Small convolutions of any stride, padding and shape whose filter fits."""
    pad = draw(st.integers(0, 2))
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    filter_height = draw(st.integers(1, height + 2 * pad))
    filter_width = draw(st.integers(1, width + 2 * pad))
    x_shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width)
    w_shape = (draw(st.integers(1, 3)), x_shape[1], filter_height, filter_width)
    return x_shape, w_shape, draw(st.integers(1, 4)), pad


@settings(max_examples=60, deadline=None, derandomize=True)
@given(conv_geometries())
def test_conv_matches_reference_on_generated_geometries(geometry):
    x_shape, w_shape, stride, pad = geometry
    x, w, b = conv_inputs(x_shape, w_shape)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    expected, naive_cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    got = (out,) + conv_backward_fast(dout, cache)
    for a, e in zip(got, (expected,) + tuple(conv_backward_naive(dout, naive_cache))):
        assert rel_error(a, e) < REFERENCE_TOLERANCE


def test_conv_of_an_empty_batch_is_empty():
    x, w, b = conv_inputs((0, 3, 5, 5), (2, 3, 3, 3))
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    dx, dw, db = conv_backward_fast(out, cache)
    assert out.shape == (0, 2, 5, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros_like(b))


# Max pooling against the naive loops


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", POOL_CASES)
def test_max_pool_forward_matches_reference(x_shape, pool_height, pool_width, stride):
    x = np.random.default_rng(0).standard_normal(x_shape)
    params = pool_param(pool_height, pool_width, stride)
    out, _ = max_pool_forward_fast(x, params)
    expected, _ = max_pool_forward_naive(x, params)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", POOL_CASES)
def test_max_pool_backward_matches_reference(x_shape, pool_height, pool_width, stride):
    x = np.random.default_rng(0).standard_normal(x_shape)
    params = pool_param(pool_height, pool_width, stride)
    out, cache = max_pool_forward_fast(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    _, naive_cache = max_pool_forward_naive(x, params)
    expected = max_pool_backward_naive(dout, naive_cache)
    assert rel_error(max_pool_backward_fast(dout, cache), expected) < REFERENCE_TOLERANCE
    assert rel_error(max_pool_backward_fast(dout, naive_cache), expected) < REFERENCE_TOLERANCE


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", POOL_CASES[:5])
def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order(x_shape, pool_height, pool_width, stride):
    # Few distinct values: most windows hold a tie, like the zeros after a ReLU.
    x = np.random.default_rng(0).integers(0, 3, x_shape).astype(np.float64)
    params = pool_param(pool_height, pool_width, stride)
    out, cache = max_pool_forward_fast(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    dx = max_pool_backward_fast(dout, cache)
    _, naive_cache = max_pool_forward_naive(x, params)
    np.testing.assert_allclose(dx, max_pool_backward_naive(dout, naive_cache), rtol=REFERENCE_TOLERANCE, atol=0)
    # Each window sends its gradient to exactly one position.
    assert dx.sum() == pytest.approx(dout.sum(), rel=REFERENCE_TOLERANCE)


def test_max_pool_tie_in_a_constant_window_goes_to_its_top_left():
    x = np.zeros((1, 1, 2, 3))
    _, cache = max_pool_forward_fast(x, pool_param(2, 3, 1))
    dx = max_pool_backward_fast(np.full((1, 1, 1, 1), 5.0), cache)
    expected = np.zeros_like(x)
    expected[0, 0, 0, 0] = 5.0
    np.testing.assert_array_equal(dx, expected)


def test_overlapping_windows_add_their_gradients_at_a_shared_maximum():
    # The 9 is the maximum of all four overlapping 2x2 windows of a 3x3 input.
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]])[None, None]
    out, cache = max_pool_forward_fast(x, pool_param(2, 2, 1))
    dout = np.array([[1.0, 10.0], [100.0, 1000.0]])[None, None]
    dx = max_pool_backward_fast(dout, cache)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 9.0))
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 1111.0
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", [POOL_CASES[1], POOL_CASES[2]])
def test_max_pool_float32_in_gives_float32_out(x_shape, pool_height, pool_width, stride):
    x = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)
    params = pool_param(pool_height, pool_width, stride)
    out, cache = max_pool_forward_fast(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    dx = max_pool_backward_fast(dout, cache)
    expected_out, naive_cache = max_pool_forward_naive(x.astype(np.float64), params)
    expected_dx = max_pool_backward_naive(dout.astype(np.float64), naive_cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    np.testing.assert_array_equal(out, expected_out.astype(np.float32))
    assert scaled_error(dx, expected_dx) < FLOAT32_TOLERANCE


def test_max_pool_does_not_modify_its_inputs():
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    x_before = x.copy()
    out, cache = max_pool_forward_fast(x, pool_param(3, 3, 1))
    dout = np.ones_like(out)
    max_pool_backward_fast(dout, cache)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, np.ones_like(out))


@pytest.mark.parametrize(
    "x_shape, pool_height, pool_width, stride",
    [
        pytest.param((2, 2, 6, 6), 2, 2, 2, id="tiling"),
        pytest.param((2, 2, 7, 6), 3, 2, 1, id="overlapping-non-square"),
        pytest.param((1, 2, 8, 7), 2, 2, 3, id="stride-above-window"),
    ],
)
def test_max_pool_gradient_matches_numeric_gradient(x_shape, pool_height, pool_width, stride):
    x = distinct_values(x_shape)
    params = pool_param(pool_height, pool_width, stride)
    out, cache = max_pool_forward_fast(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    numeric = eval_numerical_gradient_array(lambda v: max_pool_forward_fast(v, params)[0], x, dout)
    assert rel_error(max_pool_backward_fast(dout, cache), numeric) < NUMERIC_GRADIENT_TOLERANCE


@pytest.mark.parametrize("block_bytes", [1, 5_000])
def test_max_pool_result_does_not_depend_on_the_block_size(monkeypatch, block_bytes):
    x = np.random.default_rng(0).standard_normal((5, 2, 9, 8))
    params = pool_param(3, 2, 2)
    out, naive_cache = max_pool_forward_naive(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    monkeypatch.setattr(fast_layers, "BLOCK_BYTES", block_bytes)
    fast_out, cache = max_pool_forward_fast(x, params)
    np.testing.assert_array_equal(fast_out, out)
    assert (
        rel_error(max_pool_backward_fast(dout, cache), max_pool_backward_naive(dout, naive_cache)) < REFERENCE_TOLERANCE
    )


@st.composite
def pool_geometries(draw):
    """Small poolings of any window and stride that fit the input."""
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    x_shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width)
    return (x_shape, draw(st.integers(1, height)), draw(st.integers(1, width)), draw(st.integers(1, 4)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(pool_geometries(), st.booleans())
def test_max_pool_matches_reference_on_generated_geometries(geometry, with_ties):
    x_shape, pool_height, pool_width, stride = geometry
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, x_shape).astype(float) if with_ties else rng.standard_normal(x_shape)
    params = pool_param(pool_height, pool_width, stride)
    out, cache = max_pool_forward_fast(x, params)
    expected, naive_cache = max_pool_forward_naive(x, params)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    np.testing.assert_array_equal(out, expected)
    assert (
        rel_error(max_pool_backward_fast(dout, cache), max_pool_backward_naive(dout, naive_cache)) < REFERENCE_TOLERANCE
    )


def test_max_pool_of_an_empty_batch_is_empty():
    x = np.zeros((0, 2, 4, 4))
    out, cache = max_pool_forward_fast(x, pool_param(2, 2, 2))
    assert out.shape == (0, 2, 2, 2)
    assert max_pool_backward_fast(out, cache).shape == x.shape


@pytest.mark.parametrize(
    "x_shape, params, message",
    [
        pytest.param((2, 2, 4, 4), pool_param(5, 2, 2), "pool_height=5", id="window-too-tall"),
        pytest.param((2, 2, 4, 4), pool_param(2, 2, 0), "stride", id="stride-zero"),
        pytest.param((2, 2, 4, 4), {"pool_height": 2, "stride": 2}, "no 'pool_width'", id="missing-width"),
        pytest.param((2, 4, 4), pool_param(2, 2, 2), "x must", id="x-not-4d"),
    ],
)
def test_max_pool_rejects_bad_arguments_naming_them(x_shape, params, message):
    with pytest.raises(ValueError, match=message):
        max_pool_forward_fast(np.zeros(x_shape), params)


# Against PyTorch


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv_matches_torch(torch, x_shape, w_shape, stride, pad):
    x, w, b = conv_inputs(x_shape, w_shape)
    out, cache = conv_forward_fast(x, w, b, {"stride": stride, "pad": pad})
    dout = np.random.default_rng(1).standard_normal(out.shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
    t_grads = torch.autograd.grad(t_out, (tx, tw, tb), torch.tensor(dout))
    assert rel_error(out, t_out.detach().numpy()) < TORCH_TOLERANCE
    for got, want in zip(conv_backward_fast(dout, cache), t_grads):
        assert rel_error(got, want.numpy()) < TORCH_TOLERANCE


@pytest.mark.parametrize("x_shape, pool_height, pool_width, stride", POOL_CASES)
def test_max_pool_matches_torch(torch, x_shape, pool_height, pool_width, stride):
    x = np.random.default_rng(0).standard_normal(x_shape)
    out, cache = max_pool_forward_fast(x, pool_param(pool_height, pool_width, stride))
    dout = np.random.default_rng(1).standard_normal(out.shape)
    tx = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.max_pool2d(tx, (pool_height, pool_width), stride=stride)
    (t_dx,) = torch.autograd.grad(t_out, (tx,), torch.tensor(dout))
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    assert rel_error(max_pool_backward_fast(dout, cache), t_dx.numpy()) < TORCH_TOLERANCE
