"""Multi-head attention's head split (bias_k/v, zero attention, separate key/value sizes)
and scaled_dot_product_attention's masks, against torch: outputs and every gradient."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules

rng = np.random.default_rng(0)
L, S, N, E, HEADS = 5, 6, 3, 8, 2


def _mha_arrays(batch_first, kdim=E, vdim=E):
    def shape(length, dim):
        return (N, length, dim) if batch_first else (length, N, dim)

    return [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim)),
            rng.standard_normal(shape(S, vdim))]  # fmt: skip


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias_kv,zero_attn", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_extra_key_positions_match_torch(batch_first, bias_kv, zero_attn, dtype):
    kwargs = dict(add_bias_kv=bias_kv, add_zero_attn=zero_attn, batch_first=batch_first)
    torch.manual_seed(0)
    tmod = torch.nn.MultiheadAttention(E, HEADS, **kwargs)
    emod = ember.nn.MultiheadAttention(E, HEADS, **kwargs)
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = True
    mask = np.triu(np.ones((L, S), bool), 1)
    compare_modules(
        tmod,
        emod,
        _mha_arrays(batch_first) + [pad, mask],
        dtype=dtype,
        call=lambda m, q, k, v, p, a: m(q, k, v, key_padding_mask=p, attn_mask=a),
    )


@pytest.mark.parametrize("need_weights", [False, True])
def test_separate_key_and_value_sizes_match_torch(need_weights):
    tmod = torch.nn.MultiheadAttention(E, HEADS, kdim=5, vdim=7)
    emod = ember.nn.MultiheadAttention(E, HEADS, kdim=5, vdim=7)
    compare_modules(
        tmod,
        emod,
        _mha_arrays(False, 5, 7),
        call=lambda m, q, k, v: m(q, k, v, need_weights=need_weights, average_attn_weights=False),
        pick=lambda out: [o for o in out if o is not None],
    )


def test_self_attention_float_mask_matches_torch():
    tmod = torch.nn.MultiheadAttention(E, HEADS, batch_first=True)
    emod = ember.nn.MultiheadAttention(E, HEADS, batch_first=True)
    x = rng.standard_normal((N, L, E))
    bias = rng.standard_normal((L, L))
    compare_modules(tmod, emod, [x, bias], call=lambda m, x, a: m(x, x, x, attn_mask=a)[0],
                    constant_inputs=(1,))  # fmt: skip


MASKS = {
    "none": lambda: None,
    "bool (L, S)": lambda: rng.random((L, S)) > 0.3,
    "bool full": lambda: rng.random((2, HEADS, L, S)) > 0.3,
    "bool broadcast heads": lambda: rng.random((2, 1, L, S)) > 0.3,
    "float (L, S)": lambda: rng.standard_normal((L, S)),
}


def _sdpa(lib, arrays, mask, **kwargs):
    tensors = [lib.tensor(a, requires_grad=True) for a in arrays]
    q, k, v = tensors
    q = q.transpose(1, 2)  # a strided (B, heads, L, D) view, as after a head split
    m = None if mask is None else lib.tensor(mask)
    out = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kwargs)
    weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)))
    (out * weights).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("scale", [None, 0.3])
def test_scaled_dot_product_attention_masks_match_torch(mask, scale):
    q = rng.standard_normal((2, L, HEADS, 4))
    k, v = rng.standard_normal((2, HEADS, S, 4)), rng.standard_normal((2, HEADS, S, 3))
    m = MASKS[mask]()
    if m is not None and m.dtype == bool:
        m[..., 0] = True  # every query attends somewhere: no row of -inf only
    ours, theirs = (_sdpa(lib, (q, k, v), m, scale=scale) for lib in (ember, torch))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("length", [L, S])
def test_causal_attention_gradients_match_torch(length):
    q = rng.standard_normal((2, L, HEADS, 4)).astype(np.float32)
    k, v = (rng.standard_normal((2, HEADS, length, 4)).astype(np.float32) for _ in range(2))
    ours, theirs = (_sdpa(lib, (q, k, v), None, is_causal=True) for lib in (ember, torch))
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_causal_attention_with_a_mask_raises():
    q = ember.ones(1, 1, 2, 2)
    m = ember.ones(2, 2, dtype=ember.bool)
    with pytest.raises(RuntimeError, match="attn_mask should not be set"):
        ember.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=m, is_causal=True)


@pytest.mark.parametrize("batch_first", [False, True])
def test_output_strides_match_torch(batch_first):
    x = rng.standard_normal((N, L, E)).astype(np.float32)
    strides = []
    for lib in (ember, torch):
        t = lib.tensor(x)
        out, _ = lib.nn.MultiheadAttention(E, HEADS, batch_first=batch_first)(t, t, t)
        strides.append(out.stride())
    assert strides[0] == strides[1]
