"""ember.testing.assert_close against torch.testing.assert_close: the same verdicts and reports."""

import numpy as np
import pytest
import torch

import ember
from ember.testing import assert_close, make_tensor


def _both(a, e, **kw):
    """(ember's error text or None, torch's error text or None) for the same comparison."""
    out = []
    for lib, check in ((ember, assert_close), (torch, torch.testing.assert_close)):
        try:
            check(lib.tensor(a), lib.tensor(e), **kw)
            out.append(None)
        except AssertionError as err:
            out.append(str(err))
    return out


CASES = [
    (np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 2.0, 3.0 + 1e-6], np.float32), {}),
    (np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 2.5, 3.1], np.float32), {}),
    (np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 4) + np.eye(3, 4) * 1e-3, {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {}),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), {"equal_nan": True}),
    (np.array([1.0, np.inf]), np.array([1.0, np.inf]), {}),
    (np.array([1, 2, 3]), np.array([1, 2, 4]), {}),
    (np.array([1.0, 2.0]), np.array([1.1, 2.0]), {"rtol": 0.2, "atol": 0.0}),
    (np.array(2.0), np.array(2.5), {}),
]


@pytest.mark.parametrize("a,e,kw", CASES)
def test_same_verdict_and_report(a, e, kw):
    ours, theirs = _both(a, e, **kw)
    assert (ours is None) == (theirs is None)
    if theirs is not None:
        assert ours.splitlines()[:4] == theirs.splitlines()[:4]


def test_structure_dtype_and_shape_errors():
    x = ember.ones(3)
    with pytest.raises(AssertionError, match="dtype"):
        assert_close(x, x.double())
    assert_close(x, x.double(), check_dtype=False)
    with pytest.raises(AssertionError, match="shape"):
        assert_close(x, ember.ones(4))
    with pytest.raises(AssertionError, match=r"item \[1\]"):
        assert_close([x, x], [x, x + 1])
    with pytest.raises(AssertionError, match="'b'"):
        assert_close({"a": x, "b": x}, {"a": x, "b": x * 2})
    with pytest.raises(ValueError, match="rtol"):
        assert_close(x, x, rtol=0.1)
    with pytest.raises(AssertionError, match="custom"):
        assert_close(x, x + 1, msg="custom")


def test_make_tensor_ranges():
    ember.manual_seed(0)
    f = make_tensor(200, dtype=ember.float32, low=-2, high=3)
    assert (
        f.dtype == ember.float32
        and f.shape == (200,)
        and -2 <= float(f.min())
        and float(f.max()) < 3
    )
    i = make_tensor((5, 5), dtype=ember.int64, low=0, high=4, exclude_zero=True)
    assert i.dtype == ember.int64 and int(i.min()) >= 1 and int(i.max()) <= 3
    assert make_tensor(3, dtype=ember.float64, requires_grad=True).requires_grad
