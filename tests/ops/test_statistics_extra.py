"""Statistics and construction ops against PyTorch: cov, corrcoef, histc, histogram,
quantile, nanquantile, dist, renorm, gradient, rms_norm, vander, diagflat, diag_embed, block_diag,
cartesian_prod, combinations, unravel_index; the tensor queries (is_nonzero, is_same_size,
is_signed, is_neg, is_inference, nbytes, itemsize) and utilities (fill, zero_, detach,
sum_to_size, new_empty_strided)."""

import numpy as np
import pytest
import torch

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import distinct, ints, nc, pos, r, reseed

reseed(32)

U = dict(double_backward=True)


def with_nans(*shape):
    x = distinct(*shape)
    x[np.random.default_rng(5).random(shape) < 0.3] = np.nan
    return x


NAN_ROWS = with_nans(4, 6)
NAN_ROWS[1] = np.nan  # a slice of NaNs only
QS = np.array([0.0, 0.3, 0.5, 1.0])

STATISTICS = [
    Row("cov", lambda lib, x: (lib.cov(x), x.cov(correction=0), lib.cov(x[0])),
        [(r(3, 5),), (nc(2, 6),)], **U),
    Row("cov_weights", lambda lib, x, f, a: (lib.cov(x, fweights=f, aweights=a),
                                             lib.cov(x, fweights=f, correction=2),
                                             lib.cov(x, aweights=a, correction=0)),
        [(r(3, 5), ints(5, low=1, high=4), pos(5))], **U),
    Row("cov_int", lambda lib, x: lib.cov(x), [(ints(2, 5),)], dtypes=(None,), grad=False),
    Row("corrcoef", lambda lib, x: (lib.corrcoef(x), x.corrcoef()), [(r(3, 6),), (r(1, 4),)]),
    Row("histc", lambda lib, x: (lib.histc(x, bins=7), x.histc(4, -1, 1), lib.histc(x * 0)),
        [(r(3, 5),), (r(40),)], grad=False),
    Row("histogram", lambda lib, x: (*lib.histogram(x, bins=5),
                                     *x.histogram(4, range=(-1.0, 1.0), density=True)),
        [(r(3, 5),), (r(40),)], grad=False),
    Row("histogram_edges", lambda lib, x, e, w: (*lib.histogram(x, e),
                                                 *lib.histogram(x, e, weight=w)),
        [(r(3, 5), np.array([-1.0, 0.0, 0.5, 2.0]), pos(3, 5))], grad=False),
    Row("nanquantile", lambda lib, x: tuple(
        lib.nanquantile(x, 0.3, dim=1, interpolation=m) for m in
        ("linear", "lower", "higher", "midpoint", "nearest")), [(NAN_ROWS,)], gradcheck=False),
    Row("nanquantile_q", lambda lib, x, q: (lib.nanquantile(x, q, dim=0, keepdim=True),
                                           x.nanquantile(q), lib.nanquantile(x, q, keepdim=True)),
        [(NAN_ROWS, QS)], gradcheck=False, nondiff_args=(1,)),
    Row("nanquantile_finite", lambda lib, x: (lib.nanquantile(x, 0.4, dim=-1),
                                              lib.nanquantile(x, 0.5, dim=0, keepdim=True)),
        [(distinct(3, 5),), (distinct(7),)], **U),
    Row("quantile_nan", lambda lib, x: tuple(
        lib.quantile(x, 0.3, dim=1, interpolation=m) for m in
        ("linear", "lower", "higher", "midpoint", "nearest")), [(NAN_ROWS,)], gradcheck=False),
    Row("quantile_q", lambda lib, x, q: tuple(
        (lib.quantile(x, q, dim=0, keepdim=True, interpolation=m), x.quantile(q, interpolation=m))
        for m in ("linear", "lower", "higher", "midpoint", "nearest")),
        [(distinct(4, 6), QS)], gradcheck=False, nondiff_args=(1,)),
    Row("quantile_finite", lambda lib, x: (lib.quantile(x, 0.4, dim=-1),
                                           lib.quantile(x, 0.5, dim=0, keepdim=True)),
        [(distinct(3, 5),), (distinct(7),)], **U),
    Row("dist", lambda lib, a, b: tuple(lib.dist(a, b, p) for p in (2, 1, 3.5, float("inf"))),
        [(r(3, 4), r(4)), (r(2, 3), r(2, 3))], **U),
    Row("dist_p0", lambda lib, a, b: a.dist(b, 0), [(r(3, 4), r(4))], grad=False),
    Row("renorm", lambda lib, x: (lib.renorm(x, 2, 0, 1.0), x.renorm(1, 1, 0.5),
                                  lib.renorm(x, 3, -1, 100.0)),
        [(r(3, 4),), (r(2, 3, 4),)], **U),
    Row("renorm_", lambda lib, x: (x * 1).renorm_(2, 0, 1.0), [(r(3, 4),)]),
    Row("gradient", lambda lib, x: (*lib.gradient(x), *lib.gradient(x, spacing=2.0, dim=1),
                                    *lib.gradient(x, spacing=[0.5, 3.0], edge_order=2)),
        [(r(4, 5),), (nc(3, 4),)], **U),
    Row("gradient_coordinates", lambda lib, x, c: (
        *lib.gradient(x, spacing=(c,), dim=1),
        *lib.gradient(x, spacing=(c,), dim=-1, edge_order=2)),
        [(r(3, 5), np.array([0.0, 1.0, 1.5, 3.0, 3.2]))], nondiff_args=(1,), **U),
    Row("gradient_int", lambda lib, x: lib.gradient(x), [(ints(5),)], dtypes=(None,), grad=False),
    Row("rms_norm", lambda lib, x, w: (lib.rms_norm(x, (4,)), lib.rms_norm(x, [3, 4], w, 1e-3)),
        [(r(2, 3, 4), r(3, 4))], **U),
]  # fmt: skip

CONSTRUCTION = [
    # torch's vander has no working backward (it writes its own saved result in place): the
    # gradient is checked against finite differences in test_vander_gradient.
    Row("vander", lambda lib, x: (lib.vander(x), lib.vander(x, 2, True), lib.vander(x, N=0),
                                  lib.vander(x, N=5)), [(r(4),), (r(1),)], grad=False),
    Row("vander_int", lambda lib, x: lib.vander(x), [(ints(3, dtype=np.int32),),
                                                    (np.array([True, False]),)],
        dtypes=(None,), grad=False),
    Row("diagflat", lambda lib, x: (lib.diagflat(x), x.diagflat(1), lib.diagflat(x, -2)),
        [(r(2, 3),), (r(),)], **U),
    Row("diag_embed", lambda lib, x: (x.diag_embed(), x.diag_embed(1, 0, 2)), [(r(2, 3),)], **U),
    Row("block_diag", lambda lib, a, b, c: (lib.block_diag(a, b, c), lib.block_diag(c, a)),
        [(r(2, 3), r(), r(4)), (r(0, 2), r(1, 1), r(2))], **U),
    Row("block_diag_mixed", lambda lib, a, b: lib.block_diag(a, b), [(ints(2, 2), r(3))]),
    Row("cartesian_prod", lambda lib, a, b, c: (lib.cartesian_prod(a, b, c), lib.cartesian_prod(a)),
        [(r(3), r(2), r(4))], **U),
    Row("combinations", lambda lib, a: (lib.combinations(a), lib.combinations(a, 3, True),
                                        lib.combinations(a, 0), lib.combinations(a[:2], 3)),
        [(r(4),)], **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(STATISTICS + CONSTRUCTION))
def test_row(row, sample):
    check_row(row, sample)


def both(fn):
    """``fn(lib)`` in torch and ember."""
    return fn(torch), fn(ember)


def assert_same(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_array_equal(b.numpy(), a.numpy())


@pytest.mark.parametrize("indices", [np.array([[0, 7], [14, 3]]), np.array([-1, -15]),
                                     np.array(4, np.int32)])  # fmt: skip
def test_unravel_index(indices):
    assert_same(*both(lambda lib: lib.unravel_index(lib.tensor(indices), (3, 5))))
    assert_same(*both(lambda lib: lib.unravel_index(lib.tensor(indices), [15])))


def test_histc_and_histogram_out():
    x = r(20).astype(np.float32)
    a, b = both(lambda lib: lib.histc(lib.tensor(x), bins=3, out=lib.empty(0)))
    assert_same(a, b)
    a, b = both(lambda lib: lib.histogram(lib.tensor(x), 3, out=(lib.empty(0), lib.empty(0))))
    np.testing.assert_array_equal(b.hist.numpy(), a.hist.numpy())
    np.testing.assert_allclose(b.bin_edges.numpy(), a.bin_edges.numpy(), rtol=1e-6)


EDGES = [np.array([-1.0, 0.0, 1.0]), np.array([-2.0, 0.5, 2.0]), np.array([-3.0, 3.0])]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bins": 4},
        {"bins": [2, 3, 4], "density": True},
        {"bins": 3, "range": [-1.0, 1.0, -2.0, 2.0, 0.0, 1.0]},
        {"bins": EDGES},
        {"bins": 3, "weight": np.random.default_rng(2).random((5, 8))},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogramdd(kwargs, dtype):
    x = np.random.default_rng(1).standard_normal((5, 8, 3)).astype(dtype)

    def run(lib):
        kw = {k: [lib.tensor(e.astype(dtype)) for e in v] if k == "bins" and isinstance(v, list) and
              isinstance(v[0], np.ndarray) else v for k, v in kwargs.items()}  # fmt: skip
        if "weight" in kw:
            kw["weight"] = lib.tensor(kw["weight"].astype(dtype))
        return lib.histogramdd(lib.tensor(x), **kw)

    want, got = both(run)
    assert str(got.hist.dtype).split(".")[-1] == str(want.hist.dtype).split(".")[-1]
    np.testing.assert_allclose(got.hist.numpy(), want.hist.numpy(), rtol=1e-5)
    assert len(got.bin_edges) == len(want.bin_edges)
    for g, w in zip(got.bin_edges, want.bin_edges):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


def test_nanquantile_out():
    x = with_nans(3, 4)
    a, b = both(lambda lib: lib.nanquantile(lib.tensor(x), 0.5, dim=1, out=lib.empty(0).double()))
    np.testing.assert_allclose(b.numpy(), a.numpy())


def test_queries():
    x = r(3, 4).astype(np.float32)
    for lib in (torch, ember):
        t = lib.tensor(x)
        results = (
            lib.is_nonzero(lib.tensor([0.0])), lib.is_nonzero(lib.tensor(2)),
            t[0, 0].is_nonzero(), lib.is_same_size(t, t[0:3]),
            t.is_same_size(t[:2]), lib.is_signed(t),
            lib.is_signed(lib.tensor([1], dtype=lib.uint8)),
            lib.is_neg(t), t.is_neg(), lib.is_inference(t), t.is_inference(), t.nbytes,
            t.itemsize, t.double().itemsize, t[:, :2].nbytes,
        )  # fmt: skip
        if lib is torch:
            expected = results
    assert results == expected


@pytest.mark.parametrize("values", [np.array([]), np.array([1.0, 2.0])])
def test_is_nonzero_errors(values):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="ambiguous"):
            lib.is_nonzero(lib.tensor(values))


def test_fill_zero_detach():
    x = r(3, 4)
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        v = lib.tensor(2.0, requires_grad=True)
        filled = lib.fill(t * 1, v) * lib.tensor(x)
        filled.sum().backward()
        y = lib.fill(t, 1.5)
        z = (t * 1).detach()
        lib.zero_(z)
        w = lib.fill_(t.detach().clone(), 3)
        d = lib.detach(t)
        lib.detach_(t * 1)
        result = (filled.detach().numpy(), v.grad.numpy(), y.detach().numpy(), z.numpy(),
                  w.numpy(), d.requires_grad, t.grad.numpy())  # fmt: skip
        if lib is torch:
            expected = result
    for got, want in zip(result, expected):
        if isinstance(want, np.ndarray):
            np.testing.assert_allclose(got, want)
        else:
            assert got == want


@pytest.mark.parametrize("size", [(3, 1), (1, 4), (4,), (1, 1), (3, 4)])
def test_sum_to_size(size):
    x = r(3, 4)
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        out = t.sum_to_size(*size)
        out2 = t.sum_to_size(size)
        (out * lib.tensor(np.arange(np.prod(size), dtype=float).reshape(size))).sum().backward()
        grads.append((out.detach().numpy(), out2.detach().numpy(), t.grad.numpy()))
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want)


def test_sum_to_size_error():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="expandable"):
            lib.ones(3, 4).sum_to_size(2)


def test_new_empty_strided():
    for lib in (torch, ember):
        t = lib.ones(2, dtype=lib.float64)
        e = t.new_empty_strided((2, 3), (3, 1))
        f = t.new_empty_strided((4,), (1,), dtype=lib.int32)
        result = (tuple(e.shape), str(e.dtype).split(".")[-1], str(f.dtype).split(".")[-1])
        if lib is torch:
            expected = result
    assert result == expected


@pytest.mark.parametrize("kwargs", [{}, {"N": 2, "increasing": True}, {"N": 6}])
def test_vander_gradient(kwargs):
    x = ember.tensor(r(4), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: ember.vander(t, **kwargs), (x,))
    assert ember.autograd.gradgradcheck(lambda t: ember.vander(t, **kwargs), (x,))


def test_unravel_index_out_of_range_raises():
    """torch wraps such indices around silently; ember refuses them (docs/compat.md)."""
    with pytest.raises(RuntimeError, match="range"):
        ember.unravel_index(ember.tensor([6]), (2, 3))


def raises_like_torch(fn, match):
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(expected.type, match=match):
        fn(ember)


X = np.arange(6.0).reshape(2, 3)


@pytest.mark.parametrize(
    "fn,match",
    [
        (lambda lib: lib.cov(lib.ones(2, 2, 2)), "cov"),
        (lambda lib: lib.cov(lib.tensor(X), fweights=lib.ones(3)), "fweights"),
        (lambda lib: lib.cov(lib.tensor(X), aweights=lib.ones(2)), "aweights"),
        (lambda lib: lib.cov(lib.tensor(X), fweights=lib.tensor([1, -1, 1])), "negative"),
        (lambda lib: lib.histc(lib.tensor([1, 2])), "histogram"),
        (lambda lib: lib.histc(lib.tensor(X), bins=4, min=3, max=1), "max must be larger"),
        (lambda lib: lib.histc(lib.tensor(X), bins=-1), "bins"),
        (lambda lib: lib.histogram(lib.tensor(X), lib.tensor([1.0])), "bins"),
        (lambda lib: lib.histogramdd(lib.tensor(X), bins=[2]), "histogramdd"),
        (lambda lib: lib.histogramdd(lib.tensor(X[0]), bins=2), "histogramdd"),
        (lambda lib: lib.histogramdd(lib.tensor(X), bins=2, range=[0.0, 1.0]), "range"),
        (lambda lib: lib.histogramdd(lib.tensor(X), bins=2, weight=lib.ones(3)), "weight"),
        (lambda lib: lib.histogramdd(lib.tensor(X), bins=[lib.tensor([0.0, 1.0])] * 3), "dtype"),
        (lambda lib: lib.nanquantile(lib.tensor(X), 1.5), "q"),
        (lambda lib: lib.nanquantile(lib.tensor([1, 2]), 0.5), "float"),
        (lambda lib: lib.nanquantile(lib.tensor(X), 0.5, interpolation="cubic"), "interpolation"),
        (lambda lib: lib.nanquantile(lib.tensor(X), 0.5, dim=2), "(?i)dimension"),
        (lambda lib: lib.renorm(lib.tensor(X), 0, 0, 1.0), "renorm"),
        (lambda lib: lib.dist(lib.ones(2), lib.ones(3)), "dist"),
        (lambda lib: lib.renorm(lib.tensor(X), 2, 0, -1.0), "maxnorm"),
        (lambda lib: lib.dist(lib.tensor([1, 2]), lib.tensor([1, 2])), "(?i)float"),
        (lambda lib: lib.gradient(lib.ones(1)), "edge_order"),
        (lambda lib: lib.gradient(lib.ones(3), edge_order=3), "edge_order"),
        (lambda lib: lib.gradient(lib.ones(3, 3), spacing=[1.0, 2.0, 3.0]), "spacing"),
        (lambda lib: lib.vander(lib.ones(2, 2)), "one-dimensional"),
        (lambda lib: lib.block_diag(lib.ones(2, 2, 2)), "block_diag"),
        (lambda lib: lib.cartesian_prod(lib.ones(2, 2)), "1D"),
        (lambda lib: lib.combinations(lib.ones(2, 2)), "1D"),
        (lambda lib: lib.unravel_index(lib.tensor([1.0]), (2, 3)), "integer"),
        (lambda lib: lib.unravel_index(lib.tensor([-1]), (-2, 3)), "negative"),
    ],
)
def test_errors(fn, match):
    raises_like_torch(fn, match)
