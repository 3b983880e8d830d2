"""The fused paths a transformer step takes, against PyTorch: scaled dot-product attention as
one op (masks, dropout, views, float64, double backward), multi-head attention through it,
and layer norm and softmax on oneDNN (with the NumPy fallbacks they decline to)."""

import numpy as np
import pytest
import torch

import ember
from ember._ops import attention as attention_ops
from ember._ops.nn_misc import _dropout_mask
from ember.backends.onednn import binary as onednn_binary
from ember.backends.onednn import layer_norm as onednn_layer_norm
from ember.backends.onednn import library
from ember.backends.onednn import reduction as onednn_reduction
from ember.backends.onednn import softmax as onednn_softmax

needs_onednn = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")


def _rand(rng, shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _close(ours, theirs, dtype=np.float32):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def _both(arrays, requires_grad=True):
    """The same arrays as leaf tensors of ember and of torch."""
    return (
        [ember.tensor(a, requires_grad=requires_grad) for a in arrays],
        [torch.tensor(a, requires_grad=requires_grad) for a in arrays],
    )


def _calls(monkeypatch, owner, name):
    """Record the results of ``owner.name`` from now on, to check a case really takes it."""
    results = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        results.append(original(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(owner, name, recording)
    return results


def _uses_fused_attention(monkeypatch):
    return _calls(monkeypatch, attention_ops._Attention, "apply")


# --- scaled dot-product attention -------------------------------------------------------


def _mask(kind, rng, shape, dtype):
    if kind == "bool":
        m = rng.random(shape) > 0.3
        m[..., 0] = True  # every row attends somewhere
        return m
    if kind in ("float", "float_broadcast"):
        return _rand(rng, shape, dtype)
    return None


SDPA_CASES = [
    # (batch dims, L, S, E, Ev, mask kind, mask shape, is_causal)
    ((2, 3), 8, 8, 16, 16, None, None, True),
    ((2, 3), 8, 8, 16, 16, None, None, False),
    ((2, 3), 8, 5, 16, 4, "bool", (8, 5), False),
    ((2, 3), 8, 5, 16, 4, "float", (2, 3, 8, 5), False),
    ((2, 3), 8, 5, 16, 4, "float_broadcast", (1, 3, 1, 5), False),
    ((4,), 16, 16, 8, 8, None, None, True),
    ((2, 2, 2), 4, 6, 8, 8, "bool", (2, 1, 2, 4, 6), False),
    # scores large enough for oneDNN's softmax
    ((4, 4), 64, 64, 16, 16, None, None, True),
    ((2, 4), 48, 96, 16, 8, "float", (2, 4, 48, 96), False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SDPA_CASES)
def test_sdpa_forward_and_gradients_match_torch(case, dtype, monkeypatch):
    batch, L, S, E, Ev, mask_kind, mask_shape, causal = case
    rng = np.random.default_rng(0)
    arrays = [_rand(rng, (*batch, L, E), dtype), _rand(rng, (*batch, S, E), dtype)]
    arrays.append(_rand(rng, (*batch, S, Ev), dtype))
    mask = _mask(mask_kind, rng, mask_shape, dtype)
    float_mask = mask is not None and mask.dtype != bool
    if float_mask:
        arrays.append(mask)
    ours, theirs = _both(arrays)
    if mask is not None and not float_mask:
        ours.append(ember.tensor(mask))
        theirs.append(torch.tensor(mask))
    calls = _uses_fused_attention(monkeypatch)
    g = _rand(rng, (*batch, L, Ev), dtype)
    results = []
    for lib, ts in ((ember, ours), (torch, theirs)):
        q, k, v = ts[:3]
        m = ts[3] if mask is not None else None
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)
        out.backward(lib.tensor(g))
        results.append([out] + [t.grad for t in ts if t.requires_grad])
    assert len(calls) == 1
    for a, b in zip(*results, strict=True):
        _close(a, b, dtype)


@needs_onednn
def test_sdpa_softmax_runs_on_onednn_for_large_scores(monkeypatch):
    forwards = _calls(monkeypatch, onednn_softmax, "forward")
    backwards = _calls(monkeypatch, onednn_softmax, "backward")
    q = ember.tensor(_rand(np.random.default_rng(19), (4, 4, 64, 16)), requires_grad=True)
    ember.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    assert forwards[0] is not None
    assert (backwards[0] is not None) == _vectorised_softmax_backward(4 * 4 * 64, 64)


def test_sdpa_non_contiguous_views_match_torch(monkeypatch):
    """q, k, v as a GPT block makes them: split from one projection and transposed."""
    rng = np.random.default_rng(1)
    qkv, g = _rand(rng, (3, 10, 48)), _rand(rng, (3, 4, 10, 4))
    calls = _uses_fused_attention(monkeypatch)
    results = []
    for lib in (ember, torch):
        x = lib.tensor(qkv, requires_grad=True)
        q, k, v = (z.view(3, 10, 4, 4).transpose(1, 2) for z in x.split(16, dim=2))
        out = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3)
        out.backward(lib.tensor(g).transpose(1, 2).contiguous().transpose(1, 2))
        results.append((out, x.grad))
    assert len(calls) == 1
    for a, b in zip(*results):
        _close(a, b)


@pytest.mark.parametrize("layout", ["contiguous", "heads_inside", "transposed_rows"])
def test_sdpa_output_strides_match_torch(layout):
    """The output is laid out as the query is, as PyTorch's kernel lays it out."""
    x = _rand(np.random.default_rng(18), (3, 10, 48))
    strides = []
    for lib in (ember, torch):
        t = lib.tensor(x)
        if layout == "heads_inside":  # (batch, length, heads, features) memory
            q = t.view(3, 10, 4, 12).transpose(1, 2)
        elif layout == "transposed_rows":
            q = t.view(3, 2, 24, 10).transpose(-1, -2)
        else:
            q = t.view(3, 4, 10, 12)
        strides.append(lib.nn.functional.scaled_dot_product_attention(q, q, q).stride())
    assert strides[0] == strides[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_dropout_in_training_matches_a_torch_reference(dtype):
    """The weights are dropped with ember's own random stream (see docs/compat.md); the same
    draw, taken again after reseeding, builds the reference in torch ops."""
    rng = np.random.default_rng(2)
    shape_q, p = (2, 3, 7, 8), 0.4
    arrays = [_rand(rng, shape_q, dtype), _rand(rng, (2, 3, 9, 8), dtype)]
    arrays += [_rand(rng, (2, 3, 9, 5), dtype), _rand(rng, (7, 9), dtype)]
    g = _rand(rng, (2, 3, 7, 5), dtype)
    ours, theirs = _both(arrays)
    ember.manual_seed(5)
    out = ember.nn.functional.scaled_dot_product_attention(*ours[:3], ours[3], dropout_p=p)
    out.backward(ember.tensor(g))
    ember.manual_seed(5)
    keep = torch.tensor(_dropout_mask((2, 3, 7, 9), p, np.dtype(dtype)))
    q, k, v, m = theirs
    weights = torch.softmax(q @ k.transpose(-2, -1) / np.sqrt(8) + m, -1)
    expected = (weights * keep) @ v
    expected.backward(torch.tensor(g))
    _close(out, expected, dtype)
    for a, b in zip(ours, theirs):
        _close(a.grad, b.grad, dtype)


@pytest.mark.parametrize("p", [1.5, -0.1])
def test_sdpa_dropout_probability_out_of_range_raises_as_torch(p):
    q = _rand(np.random.default_rng(21), (1, 2, 4, 8))
    for lib in (ember, torch):
        t = lib.tensor(q)
        with pytest.raises(RuntimeError):
            lib.nn.functional.scaled_dot_product_attention(t, t, t, dropout_p=p)
    with pytest.raises(RuntimeError, match="between 0 and 1, but got"):
        ember.nn.functional.scaled_dot_product_attention(*(ember.tensor(q),) * 3, dropout_p=p)


def test_sdpa_double_backward_matches_torch():
    rng = np.random.default_rng(3)
    arrays = [_rand(rng, (2, 2, 5, 4), np.float64) for _ in range(3)]
    mask = _rand(rng, (5, 5), np.float64)
    mask[1], mask[3, :2] = -np.inf, -np.inf  # a row masked throughout, and part of one
    arrays.append(mask)
    results = []
    for lib, ts in zip((ember, torch), _both(arrays)):
        out = lib.nn.functional.scaled_dot_product_attention(*ts[:3], attn_mask=ts[3])
        grads = lib.autograd.grad((out * out).sum(), ts, create_graph=True)
        total = sum((gr * gr).sum() for gr in grads)
        results.append(lib.autograd.grad(total, ts))
    for a, b in zip(*results):
        _close(a, b, np.float64)


@pytest.mark.parametrize("fused", [True, False])
def test_sdpa_fully_masked_rows_give_zeros_as_torch(fused, monkeypatch):
    """A row that attends to nothing gives zeros and zero gradients (PyTorch 2.13's CPU
    attention), on the fused path and the composed one."""
    if not fused:
        monkeypatch.setattr(attention_ops, "_fused_attention", lambda *args: None)
    rng = np.random.default_rng(4)
    arrays = [_rand(rng, (1, 2, 4, 8)) for _ in range(3)]
    mask = np.ones((4, 4), bool)
    mask[2] = False
    results = []
    for lib, ts in zip((ember, torch), _both(arrays)):
        out = lib.nn.functional.scaled_dot_product_attention(*ts, attn_mask=lib.tensor(mask))
        out.backward(lib.tensor(np.ones((1, 2, 4, 8), np.float32)))
        results.append([out] + [t.grad for t in ts])
    assert not np.isnan(results[0][0].detach().numpy()).any()
    for a, b in zip(*results):
        _close(a, b)


def test_sdpa_mismatched_batch_dims_use_the_composed_path(monkeypatch):
    """Broadcast batch dims are not the fused kernel's: the composed ops run them."""
    rng = np.random.default_rng(5)
    arrays = [_rand(rng, (2, 3, 4, 8)), _rand(rng, (1, 3, 6, 8)), _rand(rng, (1, 3, 6, 8))]
    calls = _uses_fused_attention(monkeypatch)
    results = []
    for lib, ts in zip((ember, torch), _both(arrays)):
        out = lib.nn.functional.scaled_dot_product_attention(*ts)
        out.sum().backward()
        results.append([out] + [t.grad for t in ts])
    assert not calls
    for a, b in zip(*results):
        _close(a, b)


# --- multi-head attention -------------------------------------------------------------


def _mha_pair(dropout=0.0, batch_first=True):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(16, 4, dropout=dropout, batch_first=batch_first)
    ours = ember.nn.MultiheadAttention(16, 4, dropout=dropout, batch_first=batch_first)
    ours.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    return ours, theirs


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_without_weights_matches_torch_with_masks(batch_first, monkeypatch):
    rng = np.random.default_rng(6)
    x = _rand(rng, (3, 5, 16) if batch_first else (5, 3, 16))  # batch 3, length 5
    attn_mask = _rand(rng, (5, 5))
    padding = np.zeros((3, 5), np.float32)
    padding[:, -1] = -np.inf
    calls = _uses_fused_attention(monkeypatch)
    results = []
    for lib, module in zip((ember, torch), _mha_pair(batch_first=batch_first)):
        t = lib.tensor(x, requires_grad=True)
        out, weights = module(
            t, t, t, key_padding_mask=lib.tensor(padding), attn_mask=lib.tensor(attn_mask),
            need_weights=False,
        )  # fmt: skip
        assert weights is None
        out.sum().backward()
        results.append([out, t.grad] + [p.grad for p in module.parameters()])
    assert len(calls) == 1
    for a, b in zip(*results):
        _close(a, b)


def test_mha_dropout_in_training_matches_a_torch_reference():
    rng = np.random.default_rng(7)
    x, p = _rand(rng, (2, 6, 16)), 0.25
    ours, theirs = _mha_pair(dropout=p)
    ember.manual_seed(11)
    t = ember.tensor(x, requires_grad=True)
    out = ours(t, t, t, need_weights=False)[0]
    out.sum().backward()
    ember.manual_seed(11)
    keep = torch.tensor(_dropout_mask((2, 4, 6, 6), p, np.dtype(np.float32)))
    tx = torch.tensor(x, requires_grad=True)
    qkv = torch.nn.functional.linear(tx, theirs.in_proj_weight, theirs.in_proj_bias)
    q, k, v = (z.view(2, 6, 4, 4).transpose(1, 2) for z in qkv.chunk(3, -1))
    weights = torch.softmax(q @ k.transpose(-2, -1) / 2.0, -1) * keep
    merged = (weights @ v).transpose(1, 2).reshape(2, 6, 16)
    expected = theirs.out_proj(merged)
    expected.sum().backward()
    _close(out, expected)
    _close(t.grad, tx.grad)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        _close(a.grad, b.grad)


def test_transformer_encoder_layer_training_step_matches_torch():
    """The workload's layer: pre-norm, exact GELU, batch first, no dropout."""
    torch.manual_seed(0)
    kwargs = dict(dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    theirs = torch.nn.TransformerEncoderLayer(32, 4, 64, **kwargs)
    ours = ember.nn.TransformerEncoderLayer(32, 4, 64, **kwargs)
    ours.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    x = _rand(np.random.default_rng(8), (4, 40, 32))
    results = []
    for lib, module in ((ember, ours), (torch, theirs)):
        t = lib.tensor(x, requires_grad=True)
        out = module(t)
        (out * out).mean().backward()
        results.append([out, t.grad] + [p.grad for p in module.parameters()])
    for a, b in zip(*results):
        _close(a, b)


# --- layer norm on oneDNN --------------------------------------------------------------


def _layer_norm_both(x, g, affine, transpose=False, dtype=np.float32):
    rng = np.random.default_rng(9)
    k = x.shape[-1] if not transpose else x.shape[-2]
    params = [_rand(rng, (k,), dtype), _rand(rng, (k,), dtype)] if affine else []
    results = []
    for lib, ts in zip((ember, torch), _both([x, *params])):
        inp = ts[0].transpose(-1, -2) if transpose else ts[0]
        out = lib.nn.functional.layer_norm(inp, (k,), *(ts[1:] or [None, None]))
        out.backward(lib.tensor(g))
        results.append([out] + [t.grad for t in ts])
    for a, b in zip(*results):
        _close(a, b, dtype)


@needs_onednn
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_on_onednn_matches_torch(affine, monkeypatch):
    rng = np.random.default_rng(10)
    x, g = _rand(rng, (8, 64, 96), scale=3.0) + 1.5, _rand(rng, (8, 64, 96))
    forwards = _calls(monkeypatch, onednn_layer_norm, "forward")
    backwards = _calls(monkeypatch, onednn_layer_norm, "backward")
    _layer_norm_both(x, g, affine)
    assert forwards[0] is not None and backwards[0] is not None  # both ran on oneDNN


@needs_onednn
def test_layer_norm_non_contiguous_input_and_gradient_match_torch():
    rng = np.random.default_rng(11)
    x = _rand(rng, (4, 80, 64))  # normalised over its middle axis, seen transposed
    g = np.ascontiguousarray(_rand(rng, (4, 80, 64)).transpose(0, 2, 1))
    _layer_norm_both(x, g, affine=True, transpose=True)


def test_layer_norm_float64_matches_torch():
    rng = np.random.default_rng(12)
    x, g = _rand(rng, (64, 128), np.float64), _rand(rng, (64, 128), np.float64)
    _layer_norm_both(x, g, affine=True, dtype=np.float64)


@needs_onednn
def test_layer_norm_numpy_backward_after_a_onednn_forward(monkeypatch):
    """Where the oneDNN backward declines, NumPy's runs from the oneDNN forward's
    statistics."""
    monkeypatch.setattr(onednn_layer_norm, "backward", lambda *a: None)
    forwards = _calls(monkeypatch, onednn_layer_norm, "forward")
    rng = np.random.default_rng(13)
    _layer_norm_both(_rand(rng, (256, 128)), _rand(rng, (256, 128)), affine=True)
    assert forwards[0] is not None


@needs_onednn
def test_layer_norm_double_backward_after_a_onednn_forward(monkeypatch):
    forwards = _calls(monkeypatch, onednn_layer_norm, "forward")
    rng = np.random.default_rng(14)
    x, w = _rand(rng, (256, 128)), _rand(rng, (128,))
    results = []
    for lib, (tx, tw) in zip((ember, torch), _both([x, w])):
        out = lib.nn.functional.layer_norm(tx, (128,), tw)
        gx, gw = lib.autograd.grad((out * out * out).sum(), (tx, tw), create_graph=True)
        results.append(lib.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (tx, tw)))
    assert forwards[0] is not None
    for a, b in zip(*results):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-3, atol=2e-3)


@needs_onednn
def test_layer_norm_and_softmax_results_on_one_thread_and_two():
    """Outputs and input gradients are the same bits on one thread and two; layer norm's
    weight and bias gradients add per-thread partial sums where its backward runs on the
    pool (AVX-512 CPUs), so only their last bits may differ."""
    rng = np.random.default_rng(20)
    x, g, w = _rand(rng, (512, 128)), _rand(rng, (512, 128)), _rand(rng, (128,))
    before = ember.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            ember.set_num_threads(threads)
            tx, tw, tb = (ember.tensor(a, requires_grad=True) for a in (x, w, w))
            out = ember.nn.functional.layer_norm(tx, (128,), tw, tb)
            out = out + ember.nn.functional.softmax(tx, -1)
            out.backward(ember.tensor(g))
            results.append([t.detach().numpy() for t in (out, tx.grad, tw.grad, tb.grad)])
    finally:
        ember.set_num_threads(before)
    for a, b in zip(results[0][:2], results[1][:2]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(results[0][2:], results[1][2:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        if not library.avx512():
            np.testing.assert_array_equal(a, b)


# --- softmax on oneDNN -----------------------------------------------------------------


@needs_onednn
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_torch_with_masked_rows(name, monkeypatch):
    """Softmax runs on oneDNN both ways; log-softmax's forward stays on NumPy (oneDNN's is
    less accurate), its backward is offered to oneDNN."""
    forwards = _calls(monkeypatch, onednn_softmax, "forward")
    backwards = _calls(monkeypatch, onednn_softmax, "backward")
    rng = np.random.default_rng(15)
    x, g = _rand(rng, (384, 64), scale=4.0), _rand(rng, (384, 64))
    x[1, :10] = -np.inf
    x[2] = -np.inf
    results = []
    for lib, (t,) in zip((ember, torch), _both([x])):
        out = getattr(lib.nn.functional, name)(t, -1)
        out.backward(lib.tensor(g))
        results.append((out, t.grad))
    on_onednn = [r is not None for r in forwards + backwards]
    # the backward declines: the row of -inf gives NaN, which NumPy's formula spreads
    assert on_onednn == ([True, False] if name == "softmax" else [False])
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)


@needs_onednn
@pytest.mark.parametrize("scale", [1.0, 10.0, 100.0])
def test_log_softmax_backward_on_onednn_is_as_accurate_as_torchs(scale, monkeypatch):
    """Against a float64 gradient, with some masked (-inf) logits: ember's error within
    1.5x PyTorch's own (plus float32 rounding of the largest |g|)."""
    backwards = _calls(monkeypatch, onednn_softmax, "backward")
    rng = np.random.default_rng(18)
    x, g = _rand(rng, (384, 128), scale=scale), _rand(rng, (384, 128))
    x[5, :30] = -np.inf
    grads = []
    for lib, dtype in ((ember, np.float32), (torch, np.float32), (torch, np.float64)):
        t = lib.tensor(x.astype(dtype), requires_grad=True)
        lib.nn.functional.log_softmax(t, -1).backward(lib.tensor(g.astype(dtype)))
        grads.append(t.grad.numpy().astype(np.float64))
    ours, theirs, exact = grads
    if _vectorised_softmax_backward(384, 128, log=True):
        assert backwards and backwards[0] is not None
    slack = 1e-7 * np.abs(g).max()
    assert np.abs(ours - exact).max() <= 1.5 * np.abs(theirs - exact).max() + slack
    np.testing.assert_array_equal(ours[5, :30], g[5, :30])  # exp(-inf) = 0: g passes


@needs_onednn
@pytest.mark.parametrize("shape", [(256, 1024), (2048, 64)])
def test_large_log_softmax_shifts_on_onednn_and_keeps_torchs_special_rows(shape, monkeypatch):
    """Row maxima and the two subtractions on oneDNN; oneDNN's maximum skips NaN, yet a row
    with NaN, with +inf or all -inf still gives NaN everywhere, as PyTorch's."""
    maxima = _calls(monkeypatch, onednn_reduction, "row_max")
    subtractions = _calls(monkeypatch, onednn_binary, "subtract_rows")
    x = _rand(np.random.default_rng(19), shape, scale=5.0)
    x[3, 7], x[4, 1], x[5], x[6, :9] = np.nan, np.inf, -np.inf, -np.inf
    ours = ember.nn.functional.log_softmax(ember.tensor(x), -1).numpy()
    theirs = torch.nn.functional.log_softmax(torch.tensor(x), -1).numpy()
    assert [m is not None for m in maxima] == [True]
    assert [s is not None for s in subtractions] == [True, True]
    assert np.isnan(ours[3:6]).all() and np.isnan(theirs[3:6]).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@needs_onednn
@pytest.mark.parametrize("special", [np.inf, np.nan])
def test_softmax_with_inf_or_nan_inputs_gives_torch_nan_rows(special):
    """oneDNN would skip NaN and give 0 beside +inf; such inputs take the NumPy path."""
    x = _rand(np.random.default_rng(16), (384, 64))
    x[3, 7] = special
    assert onednn_softmax.forward(x) is None
    for name in ("softmax", "log_softmax"):
        ours = getattr(ember.nn.functional, name)(ember.tensor(x), -1).numpy()
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), -1).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@needs_onednn
def test_softmax_in_place_forward_and_backward_kernels():
    rng = np.random.default_rng(17)
    x, g = _rand(rng, (256, 80)), _rand(rng, (256, 80))
    expected = torch.softmax(torch.tensor(x), -1)
    buffer = x.copy()
    assert onednn_softmax.forward(buffer, out=buffer) is buffer
    np.testing.assert_allclose(buffer, expected.numpy(), rtol=1e-5, atol=1e-7)
    t = torch.tensor(x, requires_grad=True)
    (grad,) = torch.autograd.grad(torch.softmax(t, -1), t, torch.tensor(g))
    d = g.copy()
    if not _vectorised_softmax_backward(256, 80):
        assert onednn_softmax.backward(d, buffer, out=d) is None
        return
    assert onednn_softmax.backward(d, buffer, out=d) is d
    np.testing.assert_allclose(d, grad.numpy(), rtol=1e-5, atol=1e-6)


def _vectorised_softmax_backward(rows, cols, log=False):
    """Whether this CPU has a vectorised oneDNN softmax (or log-softmax) backward for (rows,
    cols): AVX2 machines get only oneDNN's reference code, which ember leaves to NumPy."""
    return onednn_softmax._pair(rows, cols, log).backward is not None


@needs_onednn
def test_softmax_backward_declines_onednn_reference_code(monkeypatch):
    """A backward oneDNN implements only with its slow reference code runs in NumPy and
    still matches PyTorch; the forward stays on oneDNN."""
    monkeypatch.setattr(onednn_softmax, "_cache", library.RecentlyUsed(4))
    monkeypatch.setattr(library.Primitive, "implementation", lambda self: "ref:any")
    backwards = _calls(monkeypatch, onednn_softmax, "backward")
    forwards = _calls(monkeypatch, onednn_softmax, "forward")
    x = _rand(np.random.default_rng(23), (128, 200))
    (ours,), (theirs,) = _both([x])
    ember.softmax(ours, -1).pow(2).sum().backward()
    torch.softmax(theirs, -1).pow(2).sum().backward()
    assert forwards[0] is not None and backwards == [None]
    _close(ours.grad, theirs.grad)
