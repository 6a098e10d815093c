"""The student notebook: built by scripts/build_notebook.py from its percent-format source
notebooks/ConvolutionalNetworks.py, nine tagged stubs, and it runs top to bottom as a stub (checks say
"not implemented"), solved by grader.solve (every check passes, the figures appear), and filled with
other correct implementations (vectorized, no sandwich layers)."""

import ast
import importlib.util
import os
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from assignment import checks
from assignment.checks import TASK_IDS
from grader.solve import StubCellNotFound, fill_task_cells, find_task_cell, solve

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "ConvolutionalNetworks.ipynb"
KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds for one cell; the slowest (training) takes ~10 s on the digits
# The inline backend renders figures to PNG without a display, as Jupyter does; plain Agg would
# render nothing, and there would be no figures to check.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
FIGURE_CELLS = ("experiment-photo", "experiment-overfit", "experiment-filters")


def load_builder():
    spec = importlib.util.spec_from_file_location("build_notebook", ROOT / "scripts" / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute(notebook, folder):
    """Run every cell in a fresh python3 kernel; any error fails the test (allow_errors=False)."""
    env = dict(
        os.environ,
        MPLBACKEND=INLINE_BACKEND,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)
    return notebook


def cell(notebook, cell_id):
    return next(c for c in notebook.cells if c.id == cell_id)


def stdout(code_cell):
    return "".join(o.text for o in code_cell.outputs if o.output_type == "stream" and o.name == "stdout")


def check_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and c.id.startswith("check-")]


# ---------------------------------------------------------------------------------------------
# The committed notebook and its structure
# ---------------------------------------------------------------------------------------------


def test_committed_notebook_equals_the_builders_output():
    assert NOTEBOOK.read_text(encoding="utf-8") == load_builder().render(), (
        "the notebook differs from its source notebooks/ConvolutionalNetworks.py: run python scripts/build_notebook.py"
    )


def test_builder_reads_markers_ids_tags_and_markdown_of_the_percent_format():
    cells = load_builder().read_cells(
        '# %% [markdown] id="intro"\n# # Title\n#\n# text\n\n'
        '# %% id="task-x" tags=["task:x", "other"]\n# TASK: x\ndef x():\n\n    return 1\n\n\n'
        '# %% id="check-x"\ncheck("x", x)\n'
    )
    assert [(c.cell_type, c.id, c.source, c.metadata) for c in cells] == [
        ("markdown", "intro", "# Title\n\ntext", {}),
        ("code", "task-x", "# TASK: x\ndef x():\n\n    return 1", {"tags": ["task:x", "other"]}),
        ("code", "check-x", 'check("x", x)', {}),
    ]


@pytest.mark.parametrize(
    "source, line, message",
    [
        ('x = 1\n# %% id="a"\n', 1, "the source must start with a '# %%' cell marker"),
        ('# %% [markdown] id="a"\n# fine\n#not markdown\n', 3, "a markdown line starts with '# '"),
        ('# %% Title id="a"\n', 1, "not a cell marker this script reads"),
        ('# %% id="a"\n\n# %% [markdown]\n', 3, 'a marker gives id="..."'),
        ('# %% id="a" collapsed=true\n', 1, 'a marker gives id="..."'),
    ],
)
def test_builder_refuses_what_is_outside_its_subset_and_names_the_line(source, line, message):
    builder = load_builder()
    with pytest.raises(builder.SourceError, match=re.escape(f"line {line}: {message}")):
        builder.read_cells(source)


def test_builder_is_deterministic_and_notebook_is_valid_nbformat_4_5():
    builder = load_builder()
    first, second = builder.build(), builder.build()
    assert first == second
    assert (first.nbformat, first.nbformat_minor) == (4, 5)
    nbformat.validate(first)
    assert first.metadata.kernelspec.name == KERNEL


def test_notebook_stores_no_outputs_and_has_unique_ids():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    ids = [c.id for c in notebook.cells]
    assert len(ids) == len(set(ids))
    for code_cell in (c for c in notebook.cells if c.cell_type == "code"):
        assert code_cell.outputs == [] and code_cell.execution_count is None


def test_notebook_has_nine_tagged_stub_cells_with_markers():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in notebook.cells if any(t.startswith("task:") for t in c.metadata.get("tags", []))]
    assert [c.metadata.tags for c in tagged] == [[f"task:{task_id}"] for task_id in TASK_IDS]
    for task_id, stub in zip(TASK_IDS, tagged):
        assert stub.cell_type == "code"
        assert stub.source.splitlines()[0] == f"# TASK: {task_id}"
        assert stub.source.count("# YOUR CODE HERE") == stub.source.count("# END OF YOUR CODE") >= 1
        assert "raise NotImplementedError" in stub.source
        assert find_task_cell(notebook, task_id) is stub


def test_every_stub_is_followed_by_its_check_cell():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for task_id in TASK_IDS:
        index = notebook.cells.index(find_task_cell(notebook, task_id))
        assert notebook.cells[index + 1].source.startswith(f'check("{task_id}", ')


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_stub_docstring_gives_every_shape(task_id):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tree = ast.parse(find_task_cell(notebook, task_id).source)
    definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    docstring = ast.get_docstring(definitions[-1])
    assert "Parameters" in docstring
    assert ("Attributes" if task_id == "three_layer_convnet" else "Returns") in docstring
    assert re.search(r"shape \(N, C, H, W\)|\(F, C, fs, fs\)", docstring)


def test_notebook_never_imports_the_solutions():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for code_cell in (c for c in notebook.cells if c.cell_type == "code"):
        assert not re.search(r"^\s*(from|import)\s+solutions\b", code_cell.source, re.MULTILINE), code_cell.id


def test_photo_cell_credits_the_public_domain_photograph():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    credit = cell(notebook, "photo-intro").source
    assert "grace_hopper.jpg" in credit and "public domain" in credit and "US Navy" in credit
    assert "get_sample_data" in cell(notebook, "experiment-photo").source


def test_batchnorm_explanation_states_the_running_statistics_rules_the_checks_try():
    """The biased running variance (PyTorch's unbiased update loses points), test mode leaving bn_param
    unchanged, and statistics stored back when bn_param had none (SPEC section 3)."""
    text = " ".join(cell(nbformat.read(NOTEBOOK, as_version=4), "batchnorm-intro").source.split())
    assert "**biased** variance" in text and "PyTorch" in text and "unbiased" in text
    assert "also when it had none before the call" in text and "{'mode': 'train'}` alone" in text
    assert "`bn_param` is left exactly as it was" in text


def test_notebook_has_a_cifar10_folder_constant_set_to_none():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert cell(notebook, "cifar10-dir").source.startswith("CIFAR10_DIR = None")
    assert "get_data(CIFAR10_DIR)" in cell(notebook, "load-data").source


# ---------------------------------------------------------------------------------------------
# grader.solve
# ---------------------------------------------------------------------------------------------


def test_solve_writes_each_reference_under_its_task_line(tmp_path):
    solved = nbformat.read(solve(NOTEBOOK, tmp_path / "solved.ipynb"), as_version=4)
    for task_id in TASK_IDS:
        source = find_task_cell(solved, task_id).source
        assert source.startswith(f"# TASK: {task_id}\n")
        assert "NotImplementedError" not in source
        ast.parse(source)


def test_solve_finds_untagged_stubs_by_their_task_line(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for code_cell in notebook.cells:
        code_cell.metadata.pop("tags", None)
    nbformat.write(notebook, tmp_path / "untagged.ipynb")
    solved = nbformat.read(solve(tmp_path / "untagged.ipynb", tmp_path / "solved.ipynb"), as_version=4)
    assert "NotImplementedError" not in find_task_cell(solved, "spatial_groupnorm_backward").source


def test_solve_names_the_missing_task_and_writes_nothing(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.remove(find_task_cell(notebook, "max_pool_backward_naive"))
    nbformat.write(notebook, tmp_path / "incomplete.ipynb")
    with pytest.raises(StubCellNotFound, match="max_pool_backward_naive.*task:max_pool_backward_naive"):
        solve(tmp_path / "incomplete.ipynb", tmp_path / "solved.ipynb")
    assert not (tmp_path / "solved.ipynb").exists()


# ---------------------------------------------------------------------------------------------
# Other correct implementations: vectorized, and a network without the sandwich layers
# ---------------------------------------------------------------------------------------------

VECTORIZED_CONV = """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view


    def conv_windows(x_pad, filter_height, filter_width, stride):
        # (N, C, H', W', HH, WW): every window at once, as a view.
        windows = sliding_window_view(x_pad, (filter_height, filter_width), axis=(2, 3))
        return windows[:, :, ::stride, ::stride]


    def conv_forward_naive(x, w, b, conv_param):
        stride, pad = conv_param["stride"], conv_param["pad"]
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        windows = conv_windows(x_pad, w.shape[2], w.shape[3], stride)
        out = np.einsum("nchwij,fcij->nfhw", windows, w) + b[:, None, None]
        return out, (x, w, b, conv_param)
"""
VECTORIZED_CONV_BACKWARD = (
    VECTORIZED_CONV
    + """

    def conv_backward_naive(dout, cache):
        x, w, b, conv_param = cache
        stride, pad = conv_param["stride"], conv_param["pad"]
        _, _, filter_height, filter_width = w.shape
        _, _, out_height, out_width = dout.shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dw = np.einsum("nchwij,nfhw->fcij", conv_windows(x_pad, filter_height, filter_width, stride), dout)
        dx_pad = np.zeros_like(x_pad)
        for i in range(filter_height):
            for j in range(filter_width):
                rows = slice(i, i + stride * out_height, stride)
                cols = slice(j, j + stride * out_width, stride)
                dx_pad[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
        height, width = x.shape[2:]
        return dx_pad[:, :, pad:pad + height, pad:pad + width], dw, dout.sum(axis=(0, 2, 3))
"""
)
VECTORIZED_POOL = """
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view


    def pool_windows(x, pool_param):
        height, width, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        return sliding_window_view(x, (height, width), axis=(2, 3))[:, :, ::stride, ::stride]


    def max_pool_forward_naive(x, pool_param):
        return pool_windows(x, pool_param).max(axis=(4, 5)), (x, pool_param)
"""
VECTORIZED_POOL_BACKWARD = (
    VECTORIZED_POOL
    + """

    def max_pool_backward_naive(dout, cache):
        x, pool_param = cache
        width, stride = pool_param["pool_width"], pool_param["stride"]
        N, C, out_height, out_width = dout.shape
        flat = pool_windows(x, pool_param).reshape(N, C, out_height, out_width, -1).argmax(axis=-1)
        n, c, i, j = np.indices(dout.shape)
        dx = np.zeros_like(x)
        np.add.at(dx, (n, c, i * stride + flat // width, j * stride + flat % width), dout)
        return dx
"""
)
PLAIN_LAYER_NETWORK = """
    import numpy as np

    from assignment.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                                        max_pool_forward_fast)
    from assignment.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


    class ThreeLayerConvNet:
        def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                     num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
            channels, height, width = input_dim
            self.reg, self.dtype = reg, dtype
            shapes = {"W1": (num_filters, channels, filter_size, filter_size), "b1": (num_filters,),
                      "W2": (num_filters * (height // 2) * (width // 2), hidden_dim), "b2": (hidden_dim,),
                      "W3": (hidden_dim, num_classes), "b3": (num_classes,)}
            self.params = {name: (np.random.normal(0.0, weight_scale, shape) if name[0] == "W"
                                  else np.zeros(shape)).astype(dtype) for name, shape in shapes.items()}

        def loss(self, X, y=None):
            p = self.params
            pad = (p["W1"].shape[2] - 1) // 2
            conv, conv_cache = conv_forward_fast(X.astype(self.dtype), p["W1"], p["b1"], {"stride": 1, "pad": pad})
            rectified, relu1_cache = relu_forward(conv)
            pooled, pool_cache = max_pool_forward_fast(rectified, {"pool_height": 2, "pool_width": 2, "stride": 2})
            hidden, hidden_cache = affine_forward(pooled, p["W2"], p["b2"])
            active, relu2_cache = relu_forward(hidden)
            scores, scores_cache = affine_forward(active, p["W3"], p["b3"])
            if y is None:
                return scores
            loss, dscores = softmax_loss(scores, y)
            grads = {}
            dactive, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
            dpooled, grads["W2"], grads["b2"] = affine_backward(relu_backward(dactive, relu2_cache), hidden_cache)
            drectified = max_pool_backward_fast(dpooled, pool_cache)
            _, grads["W1"], grads["b1"] = conv_backward_fast(relu_backward(drectified, relu1_cache), conv_cache)
            for name in ("W1", "W2", "W3"):
                loss += 0.5 * self.reg * np.sum(p[name] ** 2)
                grads[name] = grads[name] + self.reg * p[name]
            return loss, grads
"""
DIRECT_BATCHNORM = """
    import numpy as np

    AXES = (0, 2, 3)


    def spatial_batchnorm_forward(x, gamma, beta, bn_param):
        eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
        channels = x.shape[1]
        running_mean = bn_param.get("running_mean", np.zeros(channels))
        running_var = bn_param.get("running_var", np.zeros(channels))
        scale, shift = gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1)
        if bn_param["mode"] == "test":
            x_hat = (x - running_mean.reshape(1, -1, 1, 1)) / np.sqrt(running_var.reshape(1, -1, 1, 1) + eps)
            return scale * x_hat + shift, None
        mean, var = x.mean(axis=AXES, keepdims=True), x.var(axis=AXES, keepdims=True)
        x_hat = (x - mean) / np.sqrt(var + eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean.ravel()
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var.ravel()
        return scale * x_hat + shift, (x_hat, scale, np.sqrt(var + eps))
"""
DIRECT_BATCHNORM_BACKWARD = (
    DIRECT_BATCHNORM
    + """

    def spatial_batchnorm_backward(dout, cache):
        x_hat, scale, std = cache
        count = dout.shape[0] * dout.shape[2] * dout.shape[3]
        dx_hat = dout * scale
        dx = (count * dx_hat - dx_hat.sum(axis=AXES, keepdims=True)
              - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True)) / (count * std)
        return dx, (dout * x_hat).sum(axis=AXES), dout.sum(axis=AXES)
"""
)
STAGED_GROUPNORM = """
    import numpy as np

    GROUP_AXES = (2, 3, 4)


    def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
        N, C, H, W = x.shape
        grouped = x.reshape(N, G, C // G, H, W)
        centered = grouped - grouped.mean(axis=GROUP_AXES, keepdims=True)
        std = np.sqrt((centered ** 2).mean(axis=GROUP_AXES, keepdims=True) + gn_param.get("eps", 1e-5))
        x_hat = (centered / std).reshape(x.shape)
        return gamma * x_hat + beta, (centered, std, gamma)
"""
STAGED_GROUPNORM_BACKWARD = (
    STAGED_GROUPNORM
    + """

    def spatial_groupnorm_backward(dout, cache):
        # The chain rule in stages: through x_hat, the variance and the mean.
        centered, std, gamma = cache
        count = centered[0, 0].size
        x_hat = (centered / std).reshape(dout.shape)
        dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
        dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
        dx_hat = (dout * gamma).reshape(centered.shape)
        dvar = (dx_hat * centered).sum(axis=GROUP_AXES, keepdims=True) * -0.5 * std ** -3
        dmean = -(dx_hat / std).sum(axis=GROUP_AXES, keepdims=True)
        dx = dx_hat / std + dvar * 2.0 * centered / count + dmean / count
        return dx.reshape(dout.shape), dgamma, dbeta
"""
)
VARIANTS = {
    "conv_forward_naive": VECTORIZED_CONV,
    "conv_backward_naive": VECTORIZED_CONV_BACKWARD,
    "max_pool_forward_naive": VECTORIZED_POOL,
    "max_pool_backward_naive": VECTORIZED_POOL_BACKWARD,
    "three_layer_convnet": PLAIN_LAYER_NETWORK,
    "spatial_batchnorm_forward": DIRECT_BATCHNORM,
    "spatial_batchnorm_backward": DIRECT_BATCHNORM_BACKWARD,
    "spatial_groupnorm_forward": STAGED_GROUPNORM,
    "spatial_groupnorm_backward": STAGED_GROUPNORM_BACKWARD,
}
VARIANT_FORWARDS = {
    "conv_backward_naive": "conv_forward_naive",
    "max_pool_backward_naive": "max_pool_forward_naive",
    "spatial_batchnorm_backward": "spatial_batchnorm_forward",
    "spatial_groupnorm_backward": "spatial_groupnorm_forward",
}


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_other_correct_implementation_passes_the_check(task_id):
    namespace = {}
    exec(textwrap.dedent(VARIANTS[task_id]), namespace)
    name = "ThreeLayerConvNet" if task_id == "three_layer_convnet" else task_id
    forward = namespace.get(VARIANT_FORWARDS.get(task_id))
    result = checks.check(task_id, namespace[name], forward=forward, verbose=False)
    assert result.passed, checks.render(result)


# ---------------------------------------------------------------------------------------------
# Executing the notebook
# ---------------------------------------------------------------------------------------------


def assert_checks_show_only_their_report(notebook):
    """A check cell prints its report and nothing else: no Out[] with the returned value under it. (Its
    print may arrive as several stream outputs: a busy kernel flushes stdout part way through.)"""
    for check_cell in check_cells(notebook):
        kinds = [o.output_type for o in check_cell.outputs]
        assert kinds and set(kinds) == {"stream"}, (check_cell.id, kinds)


@pytest.mark.slow  # runs the notebook in a kernel
def test_stub_notebook_runs_clean_and_every_check_reports_not_implemented(tmp_path):
    notebook = execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path)
    for check_cell in check_cells(notebook):
        assert ": not implemented yet" in stdout(check_cell), check_cell.id
    assert_checks_show_only_their_report(notebook)
    assert "Skipped:" in stdout(cell(notebook, "experiment-photo"))
    assert "Skipped:" in stdout(cell(notebook, "experiment-filters"))


# A forward pass that raises something else than NotImplementedError: / instead of // makes H' a float.
CONV_WITH_TRUE_DIVISION = """
    import numpy as np


    def conv_forward_naive(x, w, b, conv_param):
        stride, pad = conv_param["stride"], conv_param["pad"]
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        out_height = 1 + (H + 2 * pad - HH) / stride
        out_width = 1 + (W + 2 * pad - WW) / stride
        out = np.zeros((N, F, out_height, out_width))
        return out, (x, w, b, conv_param)
"""


@pytest.mark.slow
def test_a_function_that_raises_costs_each_experiment_one_line_and_the_notebook_runs_on(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    fill_task_cells(notebook, {"conv_forward_naive": textwrap.dedent(CONV_WITH_TRUE_DIVISION)})
    notebook = execute(notebook, tmp_path)  # allow_errors=False: any traceback fails the test
    assert stdout(cell(notebook, "check-conv-forward-naive")).startswith("conv_forward_naive: ERROR")
    for cell_id in ("experiment-photo", "experiment-conv-timing"):
        printed = stdout(cell(notebook, cell_id))
        assert printed.startswith("Skipped: TypeError: ") and printed.count("\n") == 1, printed
        assert "of conv_forward_naive: out = np.zeros((N, F, out_height, out_width))" in printed
    assert ": not implemented yet" in stdout(cell(notebook, "check-spatial-groupnorm-backward"))


def test_first_cell_without_the_package_says_the_one_install_command(monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert first.id == "setup"
    monkeypatch.setitem(sys.modules, "assignment", None)  # as if the package were not installed
    with pytest.raises(ModuleNotFoundError) as error:
        exec(compile(first.source, "<setup cell>", "exec"), {})
    message = str(error.value)
    assert "assignment" in message and "%pip install -e .. in a cell, then restart the kernel" in message
    assert "\n" not in message and error.value.__suppress_context__
    assert (NOTEBOOK.parent / ".." / "pyproject.toml").is_file()  # what '..' installs, seen from the notebook


def assert_every_check_passes(notebook):
    cells = check_cells(notebook)
    assert len(cells) == len(TASK_IDS)
    for check_cell in cells:
        printed = stdout(check_cell)
        assert re.match(r"\w+: PASS\n", printed), f"{check_cell.id}:\n{printed}"
        assert "FAIL" not in printed
    assert_checks_show_only_their_report(notebook)


def assert_figures_appear(notebook):
    for cell_id in FIGURE_CELLS:
        outputs = cell(notebook, cell_id).outputs
        assert any("image/png" in o.get("data", {}) for o in outputs), f"no figure in {cell_id}"


@pytest.mark.slow
def test_solved_notebook_runs_top_to_bottom_and_every_check_passes(tmp_path):
    solved = solve(NOTEBOOK, tmp_path / "solved.ipynb")
    notebook = execute(nbformat.read(solved, as_version=4), tmp_path)
    assert_every_check_passes(notebook)
    assert_figures_appear(notebook)
    assert "Skipped" not in "".join(stdout(c) for c in notebook.cells if c.cell_type == "code")
    speedup = re.search(r"Forward: +naive .* speedup (\d+)x", stdout(cell(notebook, "experiment-conv-timing")))
    assert speedup and int(speedup.group(1)) > 1
    accuracy = re.search(r"Validation accuracy: ([\d.]+)", stdout(cell(notebook, "experiment-train")))
    assert accuracy and float(accuracy.group(1)) > 0.8


@pytest.mark.slow
def test_notebook_with_other_correct_implementations_runs_clean(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    fill_task_cells(notebook, {task_id: textwrap.dedent(source) for task_id, source in VARIANTS.items()})
    notebook = execute(notebook, tmp_path)
    assert_every_check_passes(notebook)
    assert_figures_appear(notebook)
