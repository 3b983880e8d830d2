"""Values that an op overwrites get a zero gradient, as in PyTorch: ``copy_`` into a tensor
that needs a gradient, and ``matrix_power(A, 0)`` (identities that still depend on ``A``).
Checked on cpu and on meta, against torch."""

import pytest
import torch

import ember


def _copy_into(m, device, dst_shape, src_shape):
    leaf = m.ones(dst_shape, device=device, requires_grad=True)
    source = m.ones(src_shape, device=device, requires_grad=True)
    out = (leaf * 2).copy_(source * 3)
    out.sum().backward()
    return out, leaf.grad, source.grad


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1,))])
def test_copy_gives_the_overwritten_values_a_zero_gradient(device, shapes):
    e = _copy_into(ember, device, *shapes)
    t = _copy_into(torch, device, *shapes)
    for a, b in zip(e, t):
        assert a.device.type == b.device.type and tuple(a.shape) == tuple(b.shape)
        if device == "cpu":
            assert a.tolist() == b.tolist()


def test_copy_of_a_cpu_tensor_into_a_meta_tensor_records_the_copy():
    for m in (ember, torch):
        dst = m.empty(2, 3, device="meta")
        out = dst.copy_(m.ones(3, requires_grad=True))
        assert out is dst and out.is_meta and out.grad_fn is not None and out._version == 1


def _matrix_power_zero(m, device):
    a = m.ones(2, 3, 3, device=device, requires_grad=True)
    r = m.linalg.matrix_power(a, 0)
    r.sum().backward()
    return r, a.grad


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_matrix_power_zero_is_identities_with_a_zero_gradient(device):
    (er, eg), (tr, tg) = _matrix_power_zero(ember, device), _matrix_power_zero(torch, device)
    assert er.requires_grad and tr.requires_grad
    assert er.device.type == tr.device.type == device
    assert tuple(er.shape) == tuple(tr.shape) and tuple(eg.shape) == tuple(tg.shape)
    if device == "cpu":
        assert er.tolist() == tr.tolist() and eg.tolist() == tg.tolist()


@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 2, 3)])
@pytest.mark.parametrize("n", [0, 2])
def test_matrix_power_refuses_non_square_input_as_torch(shape, n):
    with pytest.raises(RuntimeError) as t:
        torch.linalg.matrix_power(torch.ones(shape), n)
    with pytest.raises(RuntimeError) as e:
        ember.linalg.matrix_power(ember.ones(shape), n)
    assert str(e.value) == str(t.value)
