# %% [markdown] id="introduction"
# # Convolutional Networks
#
# In this notebook you implement the layers of a convolutional network in numpy: convolution
# and max pooling, forward and backward; put them together into a three-layer convolutional
# network and train it; and finish with two normalizations made for images, spatial batch
# normalization and spatial group normalization.
#
# All arrays are in **NCHW** layout: `N` examples, `C` channels, height `H`, width `W`.
# Inputs are read-only: no function changes the arrays or dicts it is given (`x`, `w`, `b`,
# `gamma`, `beta`, `dout`, the cache, the parameter dicts), except the running statistics
# that batch normalization's train mode stores in `bn_param`.
#
# ## How the notebook works
#
# There are nine tasks. Each has a **stub cell** that starts with `# TASK: <task id>` and holds
# the signature and a docstring giving every shape. Write your code between `# YOUR CODE HERE`
# and `# END OF YOUR CODE`, and delete the `raise NotImplementedError` line. The **check cell**
# after each stub runs the task's public checks and prints `PASS` or `FAIL`, every quantity's
# relative error against its threshold, the shapes (expected and yours) and, on failure, a hint.
# Besides the public case, each check tries every rule that the task's explanation and docstring
# state (strides that do not divide, non-square inputs, filters and pool windows, odd sides, a
# given `eps`, `G = 1` and `G = C`, ...), one case per rule, and a failing case names its rule.
#
# | # | task id | what you write |
# |---|---|---|
# | 1 | `conv_forward_naive` | the convolution's forward pass |
# | 2 | `conv_backward_naive` | its backward pass |
# | 3 | `max_pool_forward_naive` | max pooling's forward pass |
# | 4 | `max_pool_backward_naive` | its backward pass |
# | 5 | `three_layer_convnet` | the class `ThreeLayerConvNet` |
# | 6 | `spatial_batchnorm_forward` | spatial batch normalization, forward |
# | 7 | `spatial_batchnorm_backward` | its backward pass |
# | 8 | `spatial_groupnorm_forward` | spatial group normalization, forward |
# | 9 | `spatial_groupnorm_backward` | its backward pass |
#
# The other cells are experiments that use your code: while the code they need is not written
# yet, or fails, they print one line, `Skipped: ...`, and the notebook runs on.
#
# ## How your work is graded
#
# The grader reads only the **definitions** in this notebook: imports, functions, classes and
# constants. It does not run the experiment cells and does not see the variables they create,
# so keep everything a task needs inside its stub cell (or in other functions), and keep the
# names. It checks the public cases you see here and hidden ones (other shapes, strides,
# paddings, groups), trains your network on 100 examples, and times your naive layers against
# straightforward loops: loops are expected, only code far slower than them loses that point.
# The hidden cases try the same rules as the check cells, on other inputs: code that passes
# every check cell loses points only where a hidden variation of one of those rules shows a bug,
# on speed, or on the training run.

# %% id="setup"
try:
    import assignment  # the package of this assignment: layers, fast layers, solver, data, checks
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        f"{missing}: install the assignment into this notebook's Python by running "
        "%pip install -e .. in a cell, then restart the kernel (Kernel > Restart)") from None

import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

from assignment.checks import check, skip_until_implemented
from assignment.data import class_names, get_data
from assignment.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from assignment.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from assignment.layer_utils import (
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from assignment.solver import Solver

plt.rcParams["figure.figsize"] = (10.0, 8.0)
plt.rcParams["image.interpolation"] = "nearest"
plt.rcParams["image.cmap"] = "gray"

# %% [markdown] id="data-intro"
# ## Data
#
# By default the notebook uses a small data set that ships inside the `assignment` package, so
# nothing is downloaded: 1797 handwritten digits, 8x8 pixels, one channel (the test set of the
# UCI *Optical Recognition of Handwritten Digits* data set, CC BY 4.0; see
# `assignment/datasets/README.md`). Its pixels are rescaled to 0..255 like CIFAR-10's and the
# mean training image is subtracted, so the course's hyper-parameters carry over, and every
# experiment below runs in seconds.
#
# To use **CIFAR-10** instead, download the "CIFAR-10 python version" from
# <https://www.cs.toronto.edu/~kriz/cifar.html>, unpack it, and set `CIFAR10_DIR` below to the
# folder `cifar-10-batches-py`. The same cells then use 32x32 colour images; expect minutes
# rather than seconds for the training cells.

# %% id="cifar10-dir"
CIFAR10_DIR = None  # e.g. "datasets/cifar-10-batches-py" to use CIFAR-10

# %% id="load-data"
data = get_data(CIFAR10_DIR)
classes = class_names(CIFAR10_DIR)
for name, array in data.items():
    print(f"{name}: {array.shape}")
print("classes:", ", ".join(classes))

# %% [markdown] id="conv-forward-intro"
# # 1. Convolution: the naive forward pass
#
# A convolutional layer slides each of its `F` filters over the input. Filter `f` has shape
# `(C, HH, WW)`: it spans all `C` input channels and a window of `HH x WW` pixels. At each window
# position it multiplies the window elementwise by the filter, sums everything and adds the
# bias `b[f]`; that sum is one output value. (Strictly this is cross-correlation, since the
# filter is not flipped; deep-learning libraries call it convolution all the same.)
#
# Why convolutions: the same filter is used at every position, so a layer has
# `F * C * HH * WW + F` parameters however large the image is, and a pattern the filter learns
# is detected wherever it appears.
#
# **Padding and stride.** `pad` zeros are added on both sides of `H` and `W` before the filter
# slides, and `stride` is the step between window positions. The output has shape
# `(N, F, H', W')` with
#
# $$H' = 1 + \left\lfloor\frac{H + 2\,\text{pad} - HH}{\text{stride}}\right\rfloor,\qquad
# W' = 1 + \left\lfloor\frac{W + 2\,\text{pad} - WW}{\text{stride}}\right\rfloor.$$
#
# For example, 3x3 filters with `pad = 1` and `stride = 1` keep `H x W`. Rows or columns at the
# end that do not fill a whole window are ignored.
#
# **The cache** is what the backward pass needs: here simply the inputs `(x, w, b, conv_param)`,
# from which it can recompute every window.
#
# Plain loops over examples, filters and output positions, with a numpy product-and-sum for
# each window, are what this task asks for; efficiency comes later. Do not modify `x`:
# `np.pad` returns a padded copy.

# %% id="task-conv-forward-naive" tags=["task:conv_forward_naive"]
# TASK: conv_forward_naive
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """Naive forward pass of a convolutional layer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input: N examples of C channels, H x W pixels each. Do not modify it.
    w : ndarray, shape (F, C, HH, WW)
        F filters, each spanning all C channels and HH x WW pixels.
    b : ndarray, shape (F,)
        One bias per filter.
    conv_param : dict
        'stride' (int): pixels between neighbouring windows, along H and W.
        'pad' (int): zeros added on each side of H and W.

    Returns
    -------
    out : ndarray, shape (N, F, H', W')
        H' = 1 + (H + 2 * pad - HH) // stride and W' = 1 + (W + 2 * pad - WW) // stride.
    cache : tuple
        (x, w, b, conv_param), for conv_backward_naive.
    """
    out = None
    # YOUR CODE HERE
    raise NotImplementedError("conv_forward_naive")
    # END OF YOUR CODE
    cache = (x, w, b, conv_param)
    return out, cache


# %% id="check-conv-forward-naive"
check("conv_forward_naive", conv_forward_naive)

# %% [markdown] id="photo-intro"
# ### Aside: convolution as image processing
#
# Filters can be written by hand. Below, two 3x3 filters are applied to a photograph with your
# `conv_forward_naive`: the first computes a grayscale image (a weighted sum of the centre
# pixel's red, green and blue values), the second detects vertical edges (a Sobel kernel on
# that grayscale image). The first layer of a trained network learns filters of this kind.
#
# The photo is the portrait of Rear Admiral Grace Hopper that matplotlib ships in its sample
# data (`matplotlib.cbook.get_sample_data("grace_hopper.jpg")`). It is a US Navy photograph, a
# work of the US federal government, and as such in the public domain. Every third pixel is
# kept, so that naive loops finish in about a second.

# %% id="experiment-photo"
with skip_until_implemented("conv_forward_naive"):
    with cbook.get_sample_data("grace_hopper.jpg") as photo_file:
        photo = plt.imread(photo_file)  # (600, 512, 3), uint8
    photo = photo[::3, ::3].astype(np.float64)  # (200, 171, 3)
    x = photo.transpose(2, 0, 1)[np.newaxis]  # (1, 3, H, W): one RGB image

    luminance = np.array([0.299, 0.587, 0.114])  # how bright red, green and blue look
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    w = np.zeros((2, 3, 3, 3))
    w[0, :, 1, 1] = luminance  # grayscale: only the centre pixel, weighted per channel
    w[1] = luminance[:, np.newaxis, np.newaxis] * sobel  # vertical edges of the grayscale
    b = np.zeros(2)

    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})

    panels = [(photo / 255.0, "original"), (out[0, 0], "filter 0: grayscale"),
              (np.abs(out[0, 1]), "filter 1: vertical edges")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 6))
    for ax, (image, title) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(title)
        ax.axis("off")
    plt.show()

# %% [markdown] id="conv-backward-intro"
# # 2. Convolution: the naive backward pass
#
# Given the upstream gradient `dout` of shape `(N, F, H', W')`, compute `dx`, `dw` and `db`.
# Each output value `out[n, f, i, j]` is `sum(window * w[f]) + b[f]`, where the window is
# `x_pad[n, :, i*stride : i*stride + HH, j*stride : j*stride + WW]`. So every output value
# sends gradient to one window, one filter and one bias:
#
# * `db[f]` is the sum of `dout[n, f, i, j]` over `n`, `i` and `j`;
# * `dw[f]` gets `window * dout[n, f, i, j]`, added up over `n`, `i` and `j`;
# * the window of `dx_pad` gets `w[f] * dout[n, f, i, j]`. When `stride` is smaller than the
#   filter, windows overlap and their contributions add up (`+=`). Compute the gradient of the
#   padded input, then crop the padding away; mind `pad = 0`.
#
# The check calls your forward pass and gives its cache to your backward pass. Besides the
# expected values, it compares your gradients with numeric gradients of your own forward pass
# (centered differences, `eval_numerical_gradient_array`): relative errors around `1e-8` or
# smaller mean the two agree.

# %% id="task-conv-backward-naive" tags=["task:conv_backward_naive"]
# TASK: conv_backward_naive
import numpy as np


def conv_backward_naive(dout, cache):
    """Naive backward pass of a convolutional layer.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H', W')
        Upstream gradient.
    cache : tuple
        (x, w, b, conv_param) as returned by conv_forward_naive, with x of shape
        (N, C, H, W), w of shape (F, C, HH, WW) and b of shape (F,).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to x.
    dw : ndarray, shape (F, C, HH, WW)
        Gradient with respect to w.
    db : ndarray, shape (F,)
        Gradient with respect to b.
    """
    dx, dw, db = None, None, None
    # YOUR CODE HERE
    raise NotImplementedError("conv_backward_naive")
    # END OF YOUR CODE
    return dx, dw, db


# %% id="check-conv-backward-naive"
check("conv_backward_naive", conv_backward_naive, forward=conv_forward_naive)

# %% [markdown] id="pool-forward-intro"
# # 3. Max pooling: the naive forward pass
#
# Max pooling shrinks the spatial size and keeps the channels: each channel of each example is
# cut into windows of `pool_height x pool_width` pixels, `stride` apart, and each window is
# replaced by its maximum. It has no parameters; it makes the next layers cheaper and the
# features a little insensitive to small shifts. There is no padding, so
#
# $$H' = 1 + \left\lfloor\frac{H - \text{pool\_height}}{\text{stride}}\right\rfloor,\qquad
# W' = 1 + \left\lfloor\frac{W - \text{pool\_width}}{\text{stride}}\right\rfloor.$$
#
# Windows may be non-square, and may overlap (stride smaller than the window) or leave gaps.

# %% id="task-max-pool-forward-naive" tags=["task:max_pool_forward_naive"]
# TASK: max_pool_forward_naive
import numpy as np


def max_pool_forward_naive(x, pool_param):
    """Naive forward pass of a max-pooling layer.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input. Do not modify it.
    pool_param : dict
        'pool_height' (int), 'pool_width' (int): the window's size.
        'stride' (int): pixels between neighbouring windows.

    Returns
    -------
    out : ndarray, shape (N, C, H', W')
        H' = 1 + (H - pool_height) // stride and W' = 1 + (W - pool_width) // stride.
    cache : tuple
        What max_pool_backward_naive needs, e.g. (x, pool_param).
    """
    out, cache = None, None
    # YOUR CODE HERE
    raise NotImplementedError("max_pool_forward_naive")
    # END OF YOUR CODE
    return out, cache


# %% id="check-max-pool-forward-naive"
check("max_pool_forward_naive", max_pool_forward_naive)

# %% [markdown] id="pool-backward-intro"
# # 4. Max pooling: the naive backward pass
#
# The maximum of a window depends only on the input where the maximum sits: a small change of
# any other input leaves it unchanged. So each `dout[n, c, i, j]` goes to the position of its
# window's maximum (`np.argmax`, then `np.unravel_index` to get the row and column), and every
# other position gets zero. When windows overlap, one input can be the maximum of several
# windows: its gradient is the sum of what they send (`+=`). The checks' inputs have no ties.

# %% id="task-max-pool-backward-naive" tags=["task:max_pool_backward_naive"]
# TASK: max_pool_backward_naive
import numpy as np


def max_pool_backward_naive(dout, cache):
    """Naive backward pass of a max-pooling layer.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H', W')
        Upstream gradient.
    cache : tuple
        As returned by max_pool_forward_naive; x has shape (N, C, H, W).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to x.
    """
    dx = None
    # YOUR CODE HERE
    raise NotImplementedError("max_pool_backward_naive")
    # END OF YOUR CODE
    return dx


# %% id="check-max-pool-backward-naive"
check("max_pool_backward_naive", max_pool_backward_naive, forward=max_pool_forward_naive)

# %% [markdown] id="fast-layers-intro"
# # Fast layers
#
# Loops over every output position are slow in Python. `assignment.fast_layers` has vectorized
# versions of the four layers, in numpy only: the convolution gathers every input window into
# one matrix and does a single matrix product with the filters; max pooling takes the maximum
# of all windows at once. They accept the same arguments and their caches have the same format
# as yours. The cells below time your naive layers against them, print the speedup, and check
# that both give the same values (relative error near `1e-12`). The network below is built on
# the fast layers, so that it trains in seconds.

# %% id="experiment-conv-timing"
with skip_until_implemented("conv_forward_naive", "conv_backward_naive"):
    rng = np.random.default_rng(231)
    x = rng.standard_normal((20, 3, 16, 16))
    w = rng.standard_normal((8, 3, 3, 3))
    b = rng.standard_normal(8)
    dout = rng.standard_normal((20, 8, 16, 16))
    conv_param = {"stride": 1, "pad": 1}

    def timed(function, *args):
        start = time.perf_counter()
        result = function(*args)
        return result, time.perf_counter() - start

    (out_naive, cache_naive), t_naive = timed(conv_forward_naive, x, w, b, conv_param)
    (out_fast, cache_fast), t_fast = timed(conv_forward_fast, x, w, b, conv_param)
    print(f"Forward:  naive {t_naive:.4f}s, fast {t_fast:.4f}s, "
          f"speedup {t_naive / t_fast:.0f}x, difference {rel_error(out_naive, out_fast):.1e}")

    grads_naive, t_naive = timed(conv_backward_naive, dout, cache_naive)
    grads_fast, t_fast = timed(conv_backward_fast, dout, cache_fast)
    print(f"Backward: naive {t_naive:.4f}s, fast {t_fast:.4f}s, speedup {t_naive / t_fast:.0f}x")
    for name, naive, fast in zip(("dx", "dw", "db"), grads_naive, grads_fast):
        print(f"  {name} difference: {rel_error(naive, fast):.1e}")

# %% id="experiment-pool-timing"
with skip_until_implemented("max_pool_forward_naive", "max_pool_backward_naive"):
    rng = np.random.default_rng(231)
    x = rng.standard_normal((20, 3, 32, 32))
    dout = rng.standard_normal((20, 3, 16, 16))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

    start = time.perf_counter()
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    t_naive = time.perf_counter() - start
    start = time.perf_counter()
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    t_fast = time.perf_counter() - start
    print(f"Forward:  naive {t_naive:.4f}s, fast {t_fast:.4f}s, "
          f"speedup {t_naive / t_fast:.0f}x, difference {rel_error(out_naive, out_fast):.1e}")

    start = time.perf_counter()
    dx_naive = max_pool_backward_naive(dout, cache_naive)
    t_naive = time.perf_counter() - start
    start = time.perf_counter()
    dx_fast = max_pool_backward_fast(dout, cache_fast)
    t_fast = time.perf_counter() - start
    print(f"Backward: naive {t_naive:.4f}s, fast {t_fast:.4f}s, "
          f"speedup {t_naive / t_fast:.0f}x, dx difference {rel_error(dx_naive, dx_fast):.1e}")

# %% [markdown] id="sandwich-intro"
# # Sandwich layers
#
# Some sequences of layers come up again and again, so `assignment.layer_utils` provides them
# as one forward/backward pair (built on the fast layers): `conv_relu_forward/backward`,
# `conv_relu_pool_forward/backward` and `affine_relu_forward/backward`. Their caches are tuples
# of the caches of the layers inside. The cell below checks two of them against numeric
# gradients; they are given, so this runs before you write anything. You will use them in the
# network.

# %% id="experiment-sandwich"
rng = np.random.default_rng(231)
x = rng.standard_normal((2, 3, 16, 16))
w = rng.standard_normal((3, 3, 3, 3))
b = rng.standard_normal(3)
conv_param = {"stride": 1, "pad": 1}
pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
sandwiches = [
    ("conv_relu_pool", lambda x, w, b: conv_relu_pool_forward(x, w, b, conv_param, pool_param),
     conv_relu_pool_backward),
    ("conv_relu", lambda x, w, b: conv_relu_forward(x, w, b, conv_param), conv_relu_backward),
]
for name, forward, backward in sandwiches:
    out, cache = forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: forward(v, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: forward(x, v, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda v: forward(x, w, v)[0], b, dout)
    print(f"{name}: out {out.shape}; relative errors dx {rel_error(dx, dx_num):.1e}, "
          f"dw {rel_error(dw, dw_num):.1e}, db {rel_error(db, db_num):.1e}")

# %% [markdown] id="convnet-intro"
# # 5. A three-layer convolutional network
#
# Put the layers together:
#
# `conv - relu - 2x2 max pool - affine - relu - affine - softmax`
#
# | stage | output shape |
# |---|---|
# | input | `(N, C, H, W)` |
# | conv: `F` filters of `fs x fs`, stride 1, pad `(fs - 1) // 2`; relu | `(N, F, H, W)` (for odd `fs`) |
# | 2x2 max pool, stride 2 | `(N, F, H // 2, W // 2)` |
# | affine (each example flattened to `F * (H // 2) * (W // 2)` values); relu | `(N, hidden_dim)` |
# | affine | `(N, num_classes)`: the scores |
#
# The parameters live in the dict `self.params`: `W1 (F, C, fs, fs)`, `b1 (F,)`,
# `W2 (F * (H // 2) * (W // 2), hidden_dim)`, `b2 (hidden_dim,)`, `W3 (hidden_dim, num_classes)`,
# `b3 (num_classes,)`. Weights start from a normal distribution with standard deviation
# `weight_scale` and biases at zero, all cast to `dtype`. `H` and `W` need not be equal.
# The computation is in `dtype` too: a float32 model returns float32 scores and gradients.
#
# `loss(X)` returns the scores; `loss(X, y)` returns the softmax loss plus the L2 penalty
# `0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))` (biases are not regularized), and a dict
# of gradients keyed like `params`. Scores may be large (a check shifts every one by 1000):
# `softmax_loss` subtracts each row's largest score before exponentiating, so it cannot overflow. Use the sandwich layers on the way forward and their
# backward passes, in reverse order, on the way back.

# %% id="task-three-layer-convnet" tags=["task:three_layer_convnet"]
# TASK: three_layer_convnet
import numpy as np

from assignment.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from assignment.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    Parameters
    ----------
    input_dim : tuple of int (C, H, W)
        Shape of one input image.
    num_filters : int
        F, the number of filters of the convolution.
    filter_size : int
        fs, the (odd) width and height of each filter.
    hidden_dim : int
        Units of the hidden affine layer.
    num_classes : int
        Number of scores per example.
    weight_scale : float
        Standard deviation of the initial weights.
    reg : float
        Strength of the L2 regularization.
    dtype : numpy dtype
        Dtype of every parameter and of the computation: scores and gradients come back in dtype.

    Attributes
    ----------
    params : dict of str to ndarray
        W1 (F, C, fs, fs), b1 (F,), W2 (F * (H // 2) * (W // 2), hidden_dim),
        b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,).
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32):
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        # YOUR CODE HERE
        # Fill self.params with W1, b1, W2, b2, W3, b3 (shapes in the class docstring).
        raise NotImplementedError("ThreeLayerConvNet.__init__")
        # END OF YOUR CODE
        for name, value in self.params.items():
            self.params[name] = value.astype(dtype)

    def loss(self, X, y=None):
        """Scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
            Input images.
        y : ndarray of int, shape (N,), optional
            Labels, 0 <= y[i] < num_classes.

        Returns
        -------
        scores : ndarray, shape (N, num_classes), of dtype self.dtype
            When y is None.
        loss : float
            When y is given: data loss plus L2 regularization.
        grads : dict of str to ndarray, each of dtype self.dtype
            When y is given: the gradient of loss for every entry of params, same shapes.
        """
        X = X.astype(self.dtype)
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        # Stride 1 and this padding keep H x W for odd filter sizes.
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        scores = None
        # YOUR CODE HERE
        # The forward pass: compute the scores.
        raise NotImplementedError("ThreeLayerConvNet.loss: forward pass")
        # END OF YOUR CODE
        if y is None:
            return scores

        loss, grads = 0.0, {}
        # YOUR CODE HERE
        # The backward pass: the loss, and the gradients in grads (with the L2 terms).
        raise NotImplementedError("ThreeLayerConvNet.loss: backward pass")
        # END OF YOUR CODE
        return loss, grads


# %% id="check-three-layer-convnet"
check("three_layer_convnet", ThreeLayerConvNet)

# %% [markdown] id="sanity-intro"
# ### Sanity check: the initial loss
#
# With tiny weights every score is close to 0, so the softmax gives each of the 10 classes
# probability 1/10 and the loss is $-\log(1/10) = \log 10 \approx 2.303$. Adding
# regularization must make the loss go up.

# %% id="experiment-sanity-loss"
with skip_until_implemented("ThreeLayerConvNet"):
    np.random.seed(231)
    input_dim = data["X_train"].shape[1:]
    X, y = data["X_train"][:50], data["y_train"][:50]
    model = ThreeLayerConvNet(input_dim=input_dim)
    regularized = ThreeLayerConvNet(input_dim=input_dim, reg=0.5)
    regularized.params = {name: value.copy() for name, value in model.params.items()}
    print(f"Initial loss, reg = 0:   {model.loss(X, y)[0]:.6f} (log(10) = {np.log(10):.6f})")
    print(f"Initial loss, reg = 0.5: {regularized.loss(X, y)[0]:.6f} (should be higher)")

# %% [markdown] id="gradient-check-intro"
# ### Gradient check
#
# Numeric gradients of the loss for every parameter, on a tiny network in float64 (in float32
# the centered differences would be swamped by rounding). Relative errors of about `1e-4` or
# less mean that the backward pass agrees with the forward pass. The error printed is the
# worst entry's: an entry whose true gradient is almost zero, or a step that crosses a ReLU or
# max-pool kink, can push one parameter's error up to about `1e-2` without a bug (`W2` is the
# usual one); errors near 1 are bugs.

# %% id="experiment-gradient-check"
with skip_until_implemented("ThreeLayerConvNet"):
    np.random.seed(231)
    num_inputs, input_dim, num_classes = 2, (3, 16, 16), 10
    X = np.random.randn(num_inputs, *input_dim)
    y = np.random.randint(num_classes, size=num_inputs)
    model = ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=input_dim, hidden_dim=7,
                              weight_scale=1e-2, dtype=np.float64)
    loss, grads = model.loss(X, y)
    for name in sorted(grads):
        grad_num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                           verbose=False, h=1e-6)
        print(f"{name}: max relative error {rel_error(grad_num, grads[name]):.2e}")

# %% [markdown] id="overfit-intro"
# ### Overfit a small data set
#
# A network that can learn should drive the training accuracy on 100 examples close to 100%
# within a few epochs. On CIFAR-10 the validation accuracy stays far lower: the network has
# memorized its 100 images, which is overfitting. The digits are much easier, so even 100 of
# them generalize fairly well. The grader runs the same experiment on your class.

# %% id="experiment-overfit"
with skip_until_implemented("ThreeLayerConvNet"):
    np.random.seed(231)
    num_train = 100
    small_data = {
        "X_train": data["X_train"][:num_train], "y_train": data["y_train"][:num_train],
        "X_val": data["X_val"], "y_val": data["y_val"],
    }
    model = ThreeLayerConvNet(input_dim=data["X_train"].shape[1:], weight_scale=1e-2)
    solver = Solver(model, small_data, num_epochs=15, batch_size=50, update_rule="adam",
                    optim_config={"learning_rate": 1e-3}, verbose=True, print_every=5)
    solver.train()
    print(f"Final training accuracy: {solver.train_acc_history[-1]:.2f}")

    fig, (ax_loss, ax_accuracy) = plt.subplots(2, 1, figsize=(10, 8))
    ax_loss.plot(solver.loss_history, "o")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss")
    ax_accuracy.plot(solver.train_acc_history, "-o", label="train")
    ax_accuracy.plot(solver.val_acc_history, "-o", label="validation")
    ax_accuracy.set_xlabel("epoch")
    ax_accuracy.set_ylabel("accuracy")
    ax_accuracy.legend(loc="lower right")
    plt.show()

# %% [markdown] id="train-intro"
# ### Train the network
#
# Now train on the whole training set. On the digits a few epochs take seconds and reach a
# validation accuracy above 90%; on CIFAR-10 one epoch takes minutes and reaches about 40%.

# %% id="experiment-train"
trained_model = None
with skip_until_implemented("ThreeLayerConvNet"):
    np.random.seed(231)
    model = ThreeLayerConvNet(input_dim=data["X_train"].shape[1:], hidden_dim=500, reg=0.001)
    solver = Solver(model, data, num_epochs=1 if CIFAR10_DIR else 5, batch_size=50,
                    update_rule="adam", optim_config={"learning_rate": 1e-3},
                    verbose=True, print_every=20)
    start = time.perf_counter()
    solver.train()
    print(f"Trained in {time.perf_counter() - start:.1f}s")
    print(f"Validation accuracy: {solver.check_accuracy(data['X_val'], data['y_val']):.3f}")
    print(f"Test accuracy:       {solver.check_accuracy(data['X_test'], data['y_test']):.3f}")
    trained_model = model

# %% [markdown] id="filters-intro"
# ### The first layer's filters
#
# Each filter of the first layer is an image of `C x fs x fs` weights, shown here scaled to the
# full gray (or colour) range on its own. On CIFAR-10, after an epoch, many of them look like
# detectors of oriented edges and of colours. On the 8x8 digits a 7x7 filter covers almost
# the whole image, so the filters look more like rough templates of parts of digits, and
# stay noisy.

# %% id="experiment-filters"
if trained_model is None:
    print("Skipped: train the network in the cell above first.")
else:
    filters = trained_model.params["W1"].astype(np.float64)  # (F, C, fs, fs)
    num_filters, channels = filters.shape[:2]
    low = filters.min(axis=(1, 2, 3), keepdims=True)
    high = filters.max(axis=(1, 2, 3), keepdims=True)
    scaled = (filters - low) / np.maximum(high - low, 1e-12)
    columns = int(np.ceil(np.sqrt(num_filters)))
    rows = int(np.ceil(num_filters / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(8, 8))
    for index, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if index < num_filters:
            image = scaled[index].transpose(1, 2, 0)  # (fs, fs, C)
            ax.imshow(image[:, :, 0] if channels == 1 else image, vmin=0.0, vmax=1.0)
    fig.suptitle(f"First-layer filters, {filters.shape[2]}x{filters.shape[3]}")
    plt.show()

# %% [markdown] id="batchnorm-intro"
# # 6. Spatial batch normalization
#
# Batch normalization of a fully connected layer normalizes each of its `D` features with the
# mean and variance over the minibatch, then scales and shifts it with a learned `gamma` and
# `beta`. In a convolutional layer a channel is computed by one filter at every position, so
# its values at all positions of all images are samples of the *same* feature. Spatial batch
# normalization therefore keeps one mean, one variance, one `gamma` and one `beta` **per
# channel**, with the statistics taken over the `N * H * W` values of that channel (axes
# `(N, H, W)`). Normalizing each pixel separately would break the weight sharing that makes
# convolutions work, and leave only `N` values per statistic.
#
# This makes it the batch normalization you already have, with each pixel of each image
# treated as one example of `C` features: move `C` last with a transpose,
# `(N, C, H, W) -> (N, H, W, C)`, reshape to `(N * H * W, C)`, call
# `assignment.layers.batchnorm_forward`, and undo both steps. In `'train'` mode the batch
# statistics normalize `x` and the running averages in `bn_param` are updated
# (`running = momentum * running + (1 - momentum) * batch statistic`, with `bn_param`'s
# `momentum`, default 0.9). The batch variance in that update is the one that normalizes the
# batch: the **biased** variance, `np.var` over `(N, H, W)` with `ddof=0`, as `batchnorm_forward`
# computes it (PyTorch's running update uses the unbiased variance instead: that convention
# loses points here). The updated averages are stored back into `bn_param`, also when it had
# none before the call: then they start at zeros of shape `(C,)`, and after a call with
# `{'mode': 'train'}` alone, `bn_param` holds `running_mean` and `running_var`. In `'test'`
# mode the running averages (and `bn_param`'s `eps`, default 1e-5) normalize `x`, and
# `bn_param` is left exactly as it was: test mode reads it, never writes it.

# %% id="task-spatial-batchnorm-forward" tags=["task:spatial_batchnorm_forward"]
# TASK: spatial_batchnorm_forward
import numpy as np

from assignment.layers import batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass of spatial batch normalization.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input. Do not modify it (nor gamma and beta).
    gamma : ndarray, shape (C,)
        Scale, per channel.
    beta : ndarray, shape (C,)
        Shift, per channel.
    bn_param : dict
        'mode': 'train' or 'test' (required).
        'eps': added to the variance (default 1e-5), in both modes.
        'momentum': of the running averages (default 0.9).
        'running_mean', 'running_var': ndarrays of shape (C,) (default zeros); train mode
        stores the updated ones into bn_param (running_var averages the biased batch
        variance), test mode leaves bn_param unchanged.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : object
        What spatial_batchnorm_backward needs.
    """
    out, cache = None, None
    # YOUR CODE HERE
    raise NotImplementedError("spatial_batchnorm_forward")
    # END OF YOUR CODE
    return out, cache


# %% id="check-spatial-batchnorm-forward"
check("spatial_batchnorm_forward", spatial_batchnorm_forward)

# %% [markdown] id="batchnorm-experiment-intro"
# In train mode the output of every channel has mean `beta[c]` and standard deviation
# `gamma[c]`, whatever the input's. In test mode, after the running averages have seen enough
# batches, the same holds approximately for new data from the same distribution.

# %% id="experiment-batchnorm"
with skip_until_implemented("spatial_batchnorm_forward"):
    np.random.seed(231)
    N, C, H, W = 10, 3, 4, 5
    x = 4 * np.random.randn(N, C, H, W) + 10
    print("Before:          means", x.mean(axis=(0, 2, 3)), "stds", x.std(axis=(0, 2, 3)))
    out, _ = spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), {"mode": "train"})
    print("gamma 1, beta 0: means", out.mean(axis=(0, 2, 3)), "stds", out.std(axis=(0, 2, 3)))
    gamma, beta = np.array([3.0, 4.0, 5.0]), np.array([6.0, 7.0, 8.0])
    out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    print("gamma", gamma, "beta", beta, ": means", out.mean(axis=(0, 2, 3)),
          "stds", out.std(axis=(0, 2, 3)))

    bn_param = {"mode": "train"}
    for _ in range(50):  # warm up the running averages
        spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    out, _ = spatial_batchnorm_forward(2.3 * np.random.randn(N, C, H, W) + 13, gamma, beta,
                                       bn_param)
    print("Test mode:       means", out.mean(axis=(0, 2, 3)), "stds", out.std(axis=(0, 2, 3)),
          "(close to beta and gamma)")

# %% [markdown] id="batchnorm-backward-intro"
# ### The backward pass
#
# Undo in reverse what the forward pass did to the shapes: arrange `dout` exactly as `x` was
# arranged (transpose `C` last, reshape to `(N * H * W, C)`), call
# `assignment.layers.batchnorm_backward` with your cache, then reshape and transpose `dx` back.
# `dgamma` and `dbeta` have shape `(C,)`.

# %% id="task-spatial-batchnorm-backward" tags=["task:spatial_batchnorm_backward"]
# TASK: spatial_batchnorm_backward
import numpy as np

from assignment.layers import batchnorm_backward


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial batch normalization (train mode).

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
        Upstream gradient.
    cache : object
        As returned by spatial_batchnorm_forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to x.
    dgamma : ndarray, shape (C,)
        Gradient with respect to gamma.
    dbeta : ndarray, shape (C,)
        Gradient with respect to beta.
    """
    dx, dgamma, dbeta = None, None, None
    # YOUR CODE HERE
    raise NotImplementedError("spatial_batchnorm_backward")
    # END OF YOUR CODE
    return dx, dgamma, dbeta


# %% id="check-spatial-batchnorm-backward"
check("spatial_batchnorm_backward", spatial_batchnorm_backward, forward=spatial_batchnorm_forward)

# %% [markdown] id="groupnorm-intro"
# # 7. Spatial group normalization
#
# Batch statistics need large batches: with a few images per batch (large images, large
# models) they are noisy, and the network behaves differently in training and at test time.
# Normalizations that look at **one example at a time** avoid both problems:
#
# * **layer normalization** normalizes each example over all its `(C, H, W)` values;
# * **instance normalization** normalizes each channel of each example over its `(H, W)` values;
# * **group normalization** (Wu and He, 2018) sits in between: the `C` channels of an example
#   are split into `G` groups of `C // G` consecutive channels, and each group is normalized
#   over its `(C // G, H, W)` values. `G = 1` is layer normalization and `G = C` is instance
#   normalization.
#
# Layer normalization forces every channel of an example into one distribution although
# channels detect different features; instance normalization throws away how strong each
# channel is relative to the others. Groups of related channels keep some of both, and group
# normalization trains well with batches as small as one or two images.
#
# For each example `n` and group `g`, with the `M = (C // G) * H * W` values of the group:
# `mu = mean(x)`, `var = mean((x - mu)**2)`, `x_hat = (x - mu) / sqrt(var + eps)`; then
# `out = gamma * x_hat + beta` with one `gamma` and `beta` per channel, of shape `(1, C, 1, 1)`.
# Training and test mode are the same: there are no running averages. Because the channels
# of a group are consecutive, `x.reshape(N, G, -1)` puts each (example, group) in one row.

# %% id="task-spatial-groupnorm-forward" tags=["task:spatial_groupnorm_forward"]
# TASK: spatial_groupnorm_forward
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Forward pass of spatial group normalization.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input. Do not modify it (nor gamma and beta).
    gamma : ndarray, shape (1, C, 1, 1)
        Scale, per channel.
    beta : ndarray, shape (1, C, 1, 1)
        Shift, per channel.
    G : int
        Number of groups; it divides C, and each group holds C // G consecutive channels.
    gn_param : dict
        'eps': added to the variance (default 1e-5).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : object
        What spatial_groupnorm_backward needs.
    """
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    # YOUR CODE HERE
    raise NotImplementedError("spatial_groupnorm_forward")
    # END OF YOUR CODE
    return out, cache


# %% id="check-spatial-groupnorm-forward"
check("spatial_groupnorm_forward", spatial_groupnorm_forward)

# %% [markdown] id="groupnorm-experiment-intro"
# With `gamma = 1` and `beta = 0` every group of every example has mean 0 and standard
# deviation 1. With `G = 1` the result equals layer normalization, and with `G = C` instance
# normalization, computed here directly.

# %% id="experiment-groupnorm"
with skip_until_implemented("spatial_groupnorm_forward"):
    np.random.seed(231)
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 4 * np.random.randn(N, C, H, W) + 10
    ones, zeros = np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1))
    out, _ = spatial_groupnorm_forward(x, ones, zeros, G, {})
    groups = out.reshape(N, G, -1)
    print("Means per (example, group):\n", groups.mean(axis=2))
    print("Stds per (example, group):\n", groups.std(axis=2))

    eps = 1e-5
    layer_norm = (x - x.mean(axis=(1, 2, 3), keepdims=True)) / np.sqrt(
        x.var(axis=(1, 2, 3), keepdims=True) + eps)
    instance_norm = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(
        x.var(axis=(2, 3), keepdims=True) + eps)
    out_layer, _ = spatial_groupnorm_forward(x, ones, zeros, 1, {"eps": eps})
    out_instance, _ = spatial_groupnorm_forward(x, ones, zeros, C, {"eps": eps})
    print(f"G = 1 vs layer normalization:    {rel_error(out_layer, layer_norm):.1e}")
    print(f"G = C vs instance normalization: {rel_error(out_instance, instance_norm):.1e}")

# %% [markdown] id="groupnorm-backward-intro"
# ### The backward pass
#
# Within one (example, group) of `M` values, write `dx_hat = dout * gamma` and let the means run
# over the group. The mean and the variance both depend on every `x` of the group, and the
# chain rule through them simplifies to
#
# $$dx = \frac{1}{\sqrt{\text{var} + \epsilon}}\Big(d\hat{x} - \text{mean}(d\hat{x})
# - \hat{x}\;\text{mean}(d\hat{x}\,\hat{x})\Big),$$
#
# with $d\hat{x}$ for `dx_hat` and $\hat{x}$ for `x_hat`: the form of batch normalization's
# backward pass, with the group in place of the batch. `dbeta` and `dgamma` are sums over
# `(N, H, W)` of `dout` and `dout * x_hat`, kept in gamma's shape `(1, C, 1, 1)`.

# %% id="task-spatial-groupnorm-backward" tags=["task:spatial_groupnorm_backward"]
# TASK: spatial_groupnorm_backward
import numpy as np


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of spatial group normalization.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
        Upstream gradient.
    cache : object
        As returned by spatial_groupnorm_forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Gradient with respect to x.
    dgamma : ndarray, shape (1, C, 1, 1)
        Gradient with respect to gamma.
    dbeta : ndarray, shape (1, C, 1, 1)
        Gradient with respect to beta.
    """
    dx, dgamma, dbeta = None, None, None
    # YOUR CODE HERE
    raise NotImplementedError("spatial_groupnorm_backward")
    # END OF YOUR CODE
    return dx, dgamma, dbeta


# %% id="check-spatial-groupnorm-backward"
check("spatial_groupnorm_backward", spatial_groupnorm_backward, forward=spatial_groupnorm_forward)

# %% [markdown] id="conclusion"
# # Handing in
#
# Run the whole notebook from the top (*Restart & Run All*) and check that every check cell
# prints `PASS`. Then hand in this notebook. Remember that the grader reads only definitions:
# code that your functions need must live in functions, classes, imports or constants, not in
# loose statements.
