"""Ops returning several tensors give PyTorch's named results (``return_types.max`` ...):
names, fields, printing, pickling; and median/nanmedian's NaN rules, against PyTorch."""

import pickle

import numpy as np
import pytest
import torch

import ember

X = [[1.0, 3.0, -2.0], [2.0, 0.0, 5.0]]

CALLS = {
    "max": lambda t: t.max(1),
    "min": lambda t: t.min(0),
    "sort": lambda t: t.sort(),
    "topk": lambda t: t.topk(2),
    "kthvalue": lambda t: t.kthvalue(1),
    "median": lambda t: t.median(1),
    "nanmedian": lambda t: t.nanmedian(1),
    "mode": lambda t: t.mode(),
    "cummax": lambda t: t.cummax(1),
    "cummin": lambda t: t.cummin(0),
    "aminmax": lambda t: t.aminmax(),
    "frexp": lambda t: t.frexp(),
    "histogram": lambda t: t.flatten().histogram(3),
    "linalg_eigh": lambda t: torch_or_ember(t).linalg.eigh(t[:, :2] @ t[:, :2].T),
    "linalg_qr": lambda t: torch_or_ember(t).linalg.qr(t),
    "linalg_svd": lambda t: torch_or_ember(t).linalg.svd(t),
    "linalg_slogdet": lambda t: torch_or_ember(t).linalg.slogdet(t[:, :2]),
}


def torch_or_ember(t):
    return torch if isinstance(t, torch.Tensor) else ember


@pytest.mark.parametrize("name", sorted(CALLS))
def test_named_results_as_torch(name):
    expected = CALLS[name](torch.tensor(X))
    got = CALLS[name](ember.tensor(X))
    assert type(got).__name__ == type(expected).__name__ == name
    fields = [f for f in dir(expected) if f in ("values", "indices", "min", "max", "mantissa",
              "exponent", "hist", "bin_edges", "eigenvalues", "eigenvectors", "Q", "R", "U",
              "S", "Vh", "sign", "logabsdet")]  # fmt: skip
    assert fields and all(hasattr(got, f) for f in fields)
    assert len(got) == len(expected)
    assert repr(got).startswith(f"ember.return_types.{name}(\n")
    assert getattr(ember.return_types, name) is type(got)


def test_results_pickle_and_compare_as_tuples():
    r = ember.tensor(X).max(1)
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is type(r) and back.values.tolist() == r.values.tolist()
    values, indices = r
    assert tuple(r) == (values, indices)


def test_repr_matches_torch_byte_for_byte():
    expected = repr(torch.tensor(X).max(1)).replace("torch.", "ember.")
    assert repr(ember.tensor(X).max(1)) == expected


NAN_ROWS = np.array(
    [[1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, 1.0, 2.0], [np.nan] * 4, [4.0, 1.0, 2.0, 3.0]],
    dtype=np.float32,
)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_median_nan_rules_as_torch(name, dim):
    args = () if dim is None else (dim,)
    expected = getattr(torch, name)(torch.tensor(NAN_ROWS), *args)
    got = getattr(ember, name)(ember.tensor(NAN_ROWS), *args)
    if dim is None:
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
        return
    np.testing.assert_array_equal(got.values.numpy(), expected.values.numpy())
    picked = np.take_along_axis(NAN_ROWS, np.expand_dims(got.indices.numpy(), dim), dim)
    np.testing.assert_array_equal(picked.squeeze(dim), expected.values.numpy())
