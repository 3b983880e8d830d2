"""Integer indexing gives views and ``out=`` writes into the given tensor's memory, as in
PyTorch: writes through either are seen by the other."""

import pytest
import torch

import ember


def _integer_index_writes(lib):
    t = lib.zeros(3)
    t[0].add_(1)
    u = lib.zeros(2, 3)
    u[1][2].add_(5)
    v = lib.zeros(2, 3)
    v[1, 2].fill_(7)
    return t.tolist(), u.tolist(), v.tolist()


def _out_writes(lib, op):
    out = lib.zeros(2, 2)
    row = out[0]
    if op == "cat":
        lib.cat([lib.ones(1, 2), lib.full((1, 2), 2.0)], out=out)
    elif op == "matmul":
        lib.matmul(lib.eye(2), lib.full((2, 2), 3.0), out=out)
    else:
        lib.add(lib.ones(2, 2), 1, out=out)
    return out.tolist(), row.tolist()


def test_integer_indexing_is_a_view_like_torch():
    assert _integer_index_writes(ember) == _integer_index_writes(torch)


@pytest.mark.parametrize("op", ["cat", "matmul", "add"])
def test_out_argument_writes_into_the_tensor_like_torch(op):
    assert _out_writes(ember, op) == _out_writes(torch, op)


def test_integer_index_view_carries_gradient():
    x = ember.arange(3.0, requires_grad=True)
    (x[1] * 2).backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0]


def _integer_index_of_a_constant(lib):
    """t[i] of a tensor without grad: a view sharing t's version counter (an in-place write
    through it makes a saved t stale), whose ``_base`` is t, a 0-dim view for 1-dim t."""
    w = lib.ones(3, requires_grad=True)
    t = lib.arange(6.0).reshape(3, 2)
    y = (w.unsqueeze(1) * t).sum()  # mul saves t
    row = t[-1]
    before = t._version
    row.mul_(10)
    facts = [row.tolist(), t.tolist(), t._version - before, row._base is t]
    element = lib.arange(3)[2]
    facts += [element.dim(), element.item(), element.requires_grad, row.requires_grad]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    for bad in (3, -4):
        with pytest.raises(IndexError, match="out of bounds"):
            t[bad]
    return facts


def test_integer_index_of_a_constant_is_a_view_like_torch():
    assert _integer_index_of_a_constant(ember) == _integer_index_of_a_constant(torch)
