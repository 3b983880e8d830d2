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
