"""float32 sum and mean of large contiguous tensors on oneDNN's reduction, and their gradients
written out by oneDNN: accuracy against a float64 reference and PyTorch, special values,
results independent of the thread count, which inputs take the path and which stay on NumPy,
and the gradients against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import library, reduction

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

N = 1 << 20


@pytest.fixture
def threads():
    """Run with two threads (the path's condition), restoring the count afterwards."""
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    yield ember.set_num_threads
    ember.set_num_threads(before)


@pytest.fixture
def calls(monkeypatch):
    """Counts of oneDNN's row sums and gradient writes as ember's ops run."""
    counts = {"sums": 0, "spread": 0}
    row_sums, spread = reduction._row_sums, reduction.spread

    def counted_sums(rows):
        counts["sums"] += 1
        return row_sums(rows)

    def counted_spread(values, shape):
        out = spread(values, shape)
        counts["spread"] += out is not None
        return out

    monkeypatch.setattr(reduction, "_row_sums", counted_sums)
    monkeypatch.setattr(reduction, "spread", counted_spread)
    return counts


def _data(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(0.5, 2.5, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def _relative_error(got, x, axis=None):
    """|got - exact| over the sum of magnitudes, against a float64 sum."""
    exact = x.astype(np.float64)
    scale = np.abs(exact).sum(axis=axis)
    return np.abs(np.asarray(got, np.float64) - exact.sum(axis=axis)) / scale


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize("size", [N, 4 * N + 300])
def test_sum_of_all_is_as_accurate_as_torchs(threads, calls, kind, size):
    x = _data(kind, size)
    ours = _relative_error(ember.from_numpy(x).sum().item(), x)
    theirs = _relative_error(torch.from_numpy(x).sum().item(), x)
    assert calls["sums"] == 1
    half_ulp = 2.0**-24 * abs(float(x.astype(np.float64).sum())) / np.abs(x).sum(dtype=np.float64)
    assert ours <= 4 * max(theirs, half_ulp)


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize("cols", [1024, 4096, 300])
def test_row_sums_are_as_accurate_as_torchs(threads, calls, kind, cols):
    x = _data(kind, (4 * N // cols, cols))
    ours = _relative_error(ember.from_numpy(x).sum(-1).numpy(), x, axis=-1)
    theirs = _relative_error(torch.from_numpy(x).sum(-1).numpy(), x, axis=-1)
    assert calls["sums"] == 1
    assert ours.mean() <= 2 * theirs.mean()
    assert ours.max() <= 3 * theirs.max()


@pytest.mark.parametrize(
    "shape, call",
    [
        ((1024, 1024), lambda lib, t: t.sum()),
        ((1024, 1024), lambda lib, t: t.mean()),
        ((1024, 1024), lambda lib, t: t.sum(-1)),
        ((1024, 1024), lambda lib, t: t.mean(-1)),
        ((1024, 1024), lambda lib, t: t.sum((0, 1), keepdim=True)),
        ((1024, 1024), lambda lib, t: t.mean(1, keepdim=True)),
        ((16, 64, 1024), lambda lib, t: t.sum(2)),
        ((16, 64, 1024), lambda lib, t: t.mean()),
        ((128, 8192), lambda lib, t: t.sum(-1)),
        ((65536, 4), lambda lib, t: t.mean(-1)),
        ((N + 77,), lambda lib, t: t.sum()),
        ((N,), lambda lib, t: lib.sum(t, 0)),
    ],
)
def test_ops_on_the_path_match_torch(threads, calls, shape, call):
    x = _data("normal", shape)
    got = call(ember, ember.from_numpy(x))
    expected = call(torch, torch.from_numpy(x))
    assert calls["sums"] == 1
    assert got.dtype == ember.float32 and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=2e-5, atol=2e-3)


@pytest.mark.parametrize(
    "make, call",
    [
        (lambda: _data("normal", (64, 1024)), lambda lib, t: t.sum()),  # small
        (lambda: _data("normal", (1024, 2048))[:, ::2], lambda lib, t: t.sum()),  # strided
        (lambda: _data("normal", (1024, 1024)).T, lambda lib, t: t.sum(-1)),  # transposed
        (lambda: _data("normal", (1024, 1024)).astype(np.float64), lambda lib, t: t.mean()),
        (lambda: _data("normal", (1024, 1024)), lambda lib, t: t.sum(0)),
        (lambda: _data("normal", (16, 64, 1024)), lambda lib, t: t.sum((1, 2))),
        (lambda: _data("normal", (512, 1500)), lambda lib, t: t.sum(-1)),  # rows of no block
        (lambda: _data("normal", (1024, 1024)), lambda lib, t: t.sum(dtype=lib.float64)),
    ],
    ids=["small", "strided", "transposed", "float64", "dim 0", "3-d two dims", "1500", "dtype"],
)
def test_other_inputs_stay_on_numpy_and_match_torch(threads, calls, make, call):
    x = make()
    got = call(ember, ember.from_numpy(x))
    expected = call(torch, torch.from_numpy(np.ascontiguousarray(x)))
    assert calls["sums"] == 0
    assert str(got.dtype) == str(expected.dtype).replace("torch", "ember")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=2e-3)


def test_out_and_dtype_arguments_keep_their_behaviour(threads):
    x = _data("uniform", (1024, 1024))
    out = ember.empty(1024)
    ember.sum(ember.from_numpy(x), -1, out=out)
    np.testing.assert_allclose(out.numpy(), torch.from_numpy(x).sum(-1).numpy(), rtol=1e-6)
    as_double = ember.from_numpy(x).mean(dtype=ember.float64)
    assert as_double.dtype == ember.float64
    np.testing.assert_allclose(as_double.item(), x.astype(np.float64).mean(), rtol=1e-12)


@pytest.mark.parametrize("dim", [None, -1])
def test_nan_and_infinities_propagate(threads, calls, dim):
    x = np.ones((1024, 1024), np.float32)
    x[3, 5] = np.nan
    x[7, 1] = np.inf
    x[9, 2], x[9, 3] = np.inf, -np.inf
    x[11, 4] = -np.inf

    def run(lib):
        t = lib.from_numpy(x)
        return (t.sum() if dim is None else t.sum(dim)).numpy()

    got, expected = run(ember), run(torch)
    assert calls["sums"] == 1
    np.testing.assert_array_equal(got, expected)
    if dim is None:
        assert np.isnan(got)
    else:
        assert np.isnan(got[3]) and got[7] == np.inf and np.isnan(got[9]) and got[11] == -np.inf


def test_infinities_of_both_signs_sum_to_nan(threads, calls):
    x = np.ones(N, np.float32)
    x[10], x[N - 10] = np.inf, -np.inf
    assert np.isnan(ember.from_numpy(x).sum().item())
    assert calls["sums"] == 1


def test_subnormals_are_not_flushed(threads):
    x = np.full((1024, 1024), 1e-40, np.float32)
    expected = torch.from_numpy(x).sum().item()
    assert ember.from_numpy(x).sum().item() == pytest.approx(expected, rel=1e-6)
    assert ember.from_numpy(x).sum(-1)[0].item() == pytest.approx(1024e-40, rel=1e-5)


def test_results_do_not_depend_on_the_thread_count(threads):
    x = ember.from_numpy(_data("normal", (1000, 2048)))
    results = []
    for count in (2, 3, 4):
        threads(count)
        results.append((x.sum().numpy(), x.sum(-1).numpy()))
    for total, rows in results[1:]:
        np.testing.assert_array_equal(total, results[0][0])
        np.testing.assert_array_equal(rows, results[0][1])


def test_one_thread_stays_on_numpy(threads, calls):
    x = _data("normal", (1024, 1024))
    threads(1)
    got = [ember.from_numpy(x).sum().item(), ember.from_numpy(x).mean(-1).numpy()]
    assert calls["sums"] == 0
    assert got[0] == pytest.approx(torch.from_numpy(x).sum().item(), rel=1e-4, abs=1e-2)
    np.testing.assert_allclose(got[1], torch.from_numpy(x).mean(-1).numpy(), atol=1e-6)


def test_without_the_library_numpy_sums(threads, calls, monkeypatch):
    monkeypatch.setattr(library, "available", lambda: False)
    x = _data("uniform", (1024, 1024))
    assert ember.from_numpy(x).sum().item() == pytest.approx(float(x.sum(dtype=np.float64)))
    assert calls["sums"] == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(),
        lambda t: t.mean(),
        lambda t: t.sum(-1),
        lambda t: t.mean(-1, keepdim=True),
        lambda t: t.sum((0, 1)) * 3,
    ],
)
def test_gradients_into_an_empty_grad_are_written_by_onednn(threads, calls, call):
    x = _data("normal", (1024, 1024))
    grads = []
    for lib in (ember, torch):
        leaf = lib.from_numpy(x.copy()).requires_grad_(True)
        out = call(leaf)
        out.backward(lib.from_numpy(_data("normal", tuple(out.shape), seed=1)))
        grads.append(leaf.grad.numpy())
    assert calls["spread"] == 1
    assert grads[0].flags.c_contiguous and grads[0].flags.writeable
    np.testing.assert_array_equal(grads[0], grads[1])


def test_gradients_elsewhere_stay_broadcast_views(threads, calls):
    x = ember.from_numpy(_data("normal", (1024, 1024))).requires_grad_(True)
    x.sum().backward()
    x.sum(-1).backward(ember.ones(1024))  # accumulated into an existing .grad
    (x * 2).sum().backward()  # not a leaf
    small = ember.ones(64, 64, requires_grad=True)
    small.sum().backward()
    assert calls["spread"] == 1
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1024, 1024), 4.0, np.float32))
    np.testing.assert_array_equal(small.grad.numpy(), np.ones((64, 64), np.float32))


def test_second_derivatives_through_sum_and_mean(threads):
    x = _data("uniform", (1024, 1024))
    grads = []
    for lib in (ember, torch):
        leaf = lib.from_numpy(x.copy()).requires_grad_(True)
        (first,) = lib.autograd.grad(leaf.mean(-1).pow(2).sum(), leaf, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), leaf)
        grads.append(second.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("value", [0.5, -0.0, np.inf, -np.inf, 1e-42, 3e38])
def test_one_value_written_everywhere_keeps_its_bits(threads, value):
    got = reduction.spread(np.array(value, np.float32), (512, 1024))
    assert got is not None and got.shape == (512, 1024)
    np.testing.assert_array_equal(
        got.view(np.int32), np.full(got.shape, value, np.float32).view(np.int32)
    )


def test_a_nan_gradient_is_left_to_numpy(threads):
    assert reduction.spread(np.array(np.nan, np.float32), (512, 1024)) is None
    leaf = ember.from_numpy(_data("normal", (512, 1024))).requires_grad_(True)
    leaf.sum().backward(ember.tensor(float("nan")))
    assert np.isnan(leaf.grad.numpy()).all()


def test_one_value_per_row_keeps_its_bits(threads):
    values = _data("normal", 1024)
    values[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-42, 0.0]
    got = reduction.spread(values, (1024, 512))
    expected = np.ascontiguousarray(np.broadcast_to(values[:, None], (1024, 512)))
    assert got is not None
    np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))


def test_spread_declines_what_it_does_not_write(threads):
    assert reduction.spread(np.ones(4, np.float32), (1024, 1024)) is None  # neither shape
    assert reduction.spread(np.ones(1024), (1024, 1024)) is None  # float64
    assert reduction.spread(np.ones(8, np.float32), (8, 1024)) is None  # small
    threads(1)
    assert reduction.spread(np.ones(1024, np.float32), (1024, 1024)) is None


def test_writes_do_not_depend_on_what_the_memory_held(threads):
    """The gradient writes run over uninitialised memory: any bits there (NaN, infinities,
    subnormals) must give the same result."""
    rows, cols = 512, 512
    held = np.random.default_rng(3).integers(0, 2**32, rows * cols, dtype=np.uint32)
    held = held.view(np.float32).reshape(rows, cols)
    held[0, :4] = [np.nan, np.inf, -np.inf, 1e-42]
    values = _data("normal", rows)
    repeat = reduction._RepeatRows(rows, cols)
    out = held.copy()
    repeat.runner.run(out, repeat.zero, out, values)
    np.testing.assert_array_equal(out, np.broadcast_to(values[:, None], (rows, cols)))
    fill = reduction._Fill(rows * cols, -2.5)
    out = held.copy()
    fill.runner.run(out, out)
    np.testing.assert_array_equal(out, np.full((rows, cols), -2.5, np.float32))
