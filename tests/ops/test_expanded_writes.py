"""Writing into an expanded tensor: allowed where the written region repeats no memory
location (fill_ and zero_ write anywhere), refused otherwise, as in PyTorch; the base sees
the write."""

import numpy as np
import pytest
import torch

import ember


def _copy_into_row(lib):
    base = lib.arange(5)
    x = base.expand((1, -1))
    x.copy_(lib.arange(5) * 2)
    return x, base


def _add_into_row(lib):
    base = lib.zeros(4)
    x = base[None].expand(1, 4)
    x.add_(lib.arange(4.0))
    return x, base


def _fill_repeated(lib):
    base = lib.zeros(3)
    x = base.expand(2, 3)
    x.fill_(7.0)
    return x, base


def _zero_repeated(lib):
    base = lib.ones(3)
    x = base.expand(2, 3)
    x.zero_()
    return x, base


def _setitem_scalar(lib):
    base = lib.zeros(5)
    x = base.expand(3, -1)
    x[0] = 1.0
    return x, base


def _setitem_row(lib):
    base = lib.zeros(3)
    x = base.expand(2, 3)
    x[1] = lib.tensor([1.0, 2.0, 3.0])
    return x, base


ALLOWED = [_copy_into_row, _add_into_row, _fill_repeated, _zero_repeated, _setitem_scalar,
           _setitem_row]  # fmt: skip


@pytest.mark.parametrize("fn", ALLOWED, ids=lambda f: f.__name__.strip("_"))
def test_write_into_expanded_tensor_matches_torch(fn):
    want_x, want_base = fn(torch)
    got_x, got_base = fn(ember)
    np.testing.assert_array_equal(got_x.numpy(), want_x.numpy())
    np.testing.assert_array_equal(got_base.numpy(), want_base.numpy())


def _copy_overlapping(lib):
    lib.arange(5).expand((3, -1)).copy_(lib.arange(15).view(3, 5))


def _add_overlapping(lib):
    lib.arange(5).expand((3, -1)).add_(1)


def _mul_overlapping(lib):
    lib.ones(2, 1).expand(2, 4).mul_(lib.ones(2, 4))


def _setitem_column_tensor(lib):
    x = lib.zeros(3).expand(2, 3)
    x[:, 1] = lib.tensor([1.0, 2.0])


def _setitem_column_scalar(lib):
    x = lib.zeros(3).expand(2, 3)
    x[:, 1] = 4.0


REFUSED = [_copy_overlapping, _add_overlapping, _mul_overlapping, _setitem_column_tensor,
           _setitem_column_scalar]  # fmt: skip


@pytest.mark.parametrize("fn", REFUSED, ids=lambda f: f.__name__.strip("_"))
def test_write_repeating_a_memory_location_refused_as_in_torch(fn):
    with pytest.raises(RuntimeError, match="more than one element"):
        fn(torch)
    with pytest.raises(RuntimeError, match="single memory location") as got:
        fn(ember)
    assert "clone()" in str(got.value)


def test_expanded_view_still_differentiates():
    grads = []
    for lib in (torch, ember):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (w.expand(4, 3) * lib.arange(12.0).view(4, 3)).sum().backward()
        grads.append(w.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,)])
def test_in_place_ops_on_empty_results_are_allowed_as_torch(shape):
    for lib in (torch, ember):
        x = lib.zeros(*shape) * 1
        assert tuple(x.neg_().shape) == shape
        assert tuple(x.add_(1).shape) == shape
