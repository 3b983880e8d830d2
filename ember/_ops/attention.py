"""Attention: scaled dot-product attention and the multi-head attention forward pass."""

import functools
import math

import numpy as np

from ember._dtype import bool as bool_
from ember._dtype import from_np
from ember._ops.activation import softmax
from ember._ops.comparison import where
from ember._ops.nn_misc import _dropout_mask, dropout, linear
from ember._ops.pad import pad
from ember._ops.shape import cat
from ember._tensor import wrap
from ember.autograd.function import PROFILER, ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.backends import sdp
from ember.backends.numpy import attention as attention_kernels

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_FUSED_DTYPES = frozenset(map(np.dtype, ("float32", "float64")))


class _Attention(ArrayFunction):
    """softmax((q * scale) k^T + bias) v, with dropout on the weights, as one op.

    The forward and, when the backward is not itself being recorded, the backward run as
    fused NumPy kernels (``ember/backends/numpy/attention.py``). A recorded backward
    (``create_graph=True``) recomputes the weights with ember ops and writes the gradient
    formula with them, so higher derivatives flow as through the composed ops.
    """

    @staticmethod
    def forward(ctx, q, k, v, bias, scale, p):
        keep = None if p == 0.0 else _dropout_mask(q.shape[:-1] + (k.shape[-2],), p, q.dtype)
        out, q_scaled, weights = attention_kernels.attention_forward(q, k, v, bias, keep, scale)
        ctx.scale, ctx.keep = scale, keep
        ctx.save_for_backward(q, k, v, bias, q_scaled, weights)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, bias, q_scaled, weights = ctx.saved_tensors
        need_bias = ctx.needs_input_grad[3]
        if GRAD_ENABLED[0]:
            return (*_attention_grads_recorded(ctx, g, q, k, v, bias, need_bias), None, None)
        dq, dk, dv, d_scores = attention_kernels.attention_backward(
            g._data, q_scaled._data, k._data, v._data, weights._data, ctx.keep, ctx.scale
        )
        return wrap(dq), wrap(dk), wrap(dv), wrap(d_scores) if need_bias else None, None, None


def _attention_grads_recorded(ctx, g, q, k, v, bias, need_bias):
    """(dq, dk, dv, dbias) of ``_Attention`` in ember ops, differentiable again."""
    weights = _masked_softmax((q * ctx.scale) @ k.mT, bias)
    keep = None if ctx.keep is None else wrap(ctx.keep)
    dropped = weights if keep is None else weights * keep
    dv = dropped.mT @ g
    d_weights = g @ v.mT
    if keep is not None:
        d_weights = d_weights * keep
    d_scores = weights * (d_weights - (d_weights * weights).sum(-1, keepdim=True))
    dq = (d_scores @ k) * ctx.scale
    dk = d_scores.mT @ (q * ctx.scale)
    return dq, dk, dv, d_scores if need_bias else None


def _counting_flops():
    recorder = PROFILER[0]
    while recorder is not None:
        if hasattr(recorder, "get_total_flops"):  # ember.utils.flop_counter.FlopCounterMode
            return True
        recorder = getattr(recorder, "_previous", None)
    return False


def _fused_attention(query, key, value, bias, scale, dropout_p):
    """``_Attention`` when its kernels can take these operands, else None (the caller then
    composes the same computation from ember ops): NumPy float32 or float64 arrays of one
    dtype, equal batch dims, no empty dims, and a float bias of that dtype that broadcasts
    to the scores without growing them. While a FLOP counter is active the composed ops
    run, whose matrix products it counts forward and backward as PyTorch counts attention."""
    if _counting_flops():
        return None
    arrays = [query._data, key._data, value._data]
    if bias is not None:
        arrays.append(bias._data)
    dtype = arrays[0].dtype
    if dtype not in _FUSED_DTYPES or any(
        a.__class__ is not np.ndarray or a.dtype != dtype for a in arrays
    ):
        return None
    q, k, v = arrays[:3]
    if (
        q.ndim < 3
        or not q.ndim == k.ndim == v.ndim
        or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        or k.shape[-2] != v.shape[-2]
        or 0 in q.shape
        or 0 in k.shape
        or 0 in v.shape
    ):
        return None
    if bias is not None:
        scores_shape = q.shape[:-1] + (k.shape[-2],)
        try:
            if np.broadcast_shapes(bias._data.shape, scores_shape) != scores_shape:
                return None
        except ValueError:
            return None
    return _Attention.apply(query, key, value, bias, scale, dropout_p)


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """softmax(q k^T * scale + mask) v over the last two dims.

    A boolean ``attn_mask`` marks the positions that take part (True = attend); a float one
    is added to the scores.
    """
    sdp.check_math_allowed()
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(
            "scaled_dot_product_attention: dropout probability has to be between 0 and 1, "
            f"but got {dropout_p}"
        )
    L, S = query.shape[-2], key.shape[-2]
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query and key must have the same last dimension, "
            f"got {list(query.shape)} and {list(key.shape)}"
        )
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        # grouped-query attention: each key/value head serves a group of query heads
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or value.shape[-3] != hk:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the number of query heads ({hq}) "
                f"must be a multiple of the key and value heads ({hk}, {value.shape[-3]})"
            )
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "scaled_dot_product_attention: explicit attn_mask should not be set when "
                "is_causal=True"
            )
        attn_mask = _causal_bias(query, L, S)
    if attn_mask is not None and attn_mask.dtype.name == "bool":
        # a bias of 0 where attended, -inf elsewhere
        attn_mask = where(attn_mask, 0.0, float("-inf")).to(query.dtype)
    fused = _fused_attention(query, key, value, attn_mask, scale, dropout_p)
    if fused is not None:
        return fused
    weights = _masked_softmax((query * scale) @ key.transpose(-2, -1), attn_mask)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


def _masked_softmax(scores, bias):
    """softmax(scores + bias) over the last dim, the bias added (not filled in: the backward
    passes the gradient through unchanged). Rows the bias masks throughout (-inf everywhere)
    give zeros, as PyTorch's attention does, and no NaN gradients."""
    dead = None
    if bias is not None and not bias.is_meta:
        dead = (bias == float("-inf")).all(-1, keepdim=True)
        dead = dead if dead.any() else None
    if dead is not None:
        bias = where(dead, 0.0, bias)
    weights = softmax(scores if bias is None else scores + bias, dim=-1)
    return weights if dead is None else where(dead, 0.0, weights)


@functools.lru_cache(maxsize=16)
def _causal_bias_array(L, S, dtype):
    bias = np.where(np.tri(L, S, dtype=bool), 0.0, -np.inf).astype(dtype)
    bias.flags.writeable = False
    return bias


def _causal_bias(query, L, S):
    """The additive mask of causal attention: 0 on and below the diagonal, -inf above (a
    cached constant for NumPy arrays, or a boolean mask for other arrays)."""
    data = query._data
    if data.__class__ is np.ndarray and data.dtype.kind == "f":
        return wrap(_causal_bias_array(L, S, data.dtype))
    return query.new_ones((L, S), dtype=bool_).tril()


def _merge_masks(attn_mask, key_padding_mask, n_batch, n_heads, L, S, dtype):
    """One additive float mask of shape (N, heads, L, S) or (L, S), or None.

    Boolean masks follow nn.MultiheadAttention's convention: True marks a position that is
    *not* attended.
    """
    merged = None
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            m = wrap(np.where(attn_mask._data, -np.inf, 0.0).astype(dtype))
        else:
            m = attn_mask.to(_dtype_of(dtype))
        if m.dim() == 3:
            m = m.reshape(n_batch, n_heads, L, S)
        elif m.dim() != 2:
            raise RuntimeError(f"attn_mask's dimension {m.dim()} is not supported")
        elif tuple(m.shape) != (L, S):
            raise RuntimeError(
                f"The shape of the 2D attn_mask is {tuple(m.shape)}, but should be {(L, S)}."
            )
        merged = m
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n_batch, S):
            raise RuntimeError(
                f"expecting key_padding_mask shape of {(n_batch, S)}, but got "
                f"{tuple(key_padding_mask.shape)}"
            )
        if key_padding_mask.dtype.name == "bool":
            kp = np.where(key_padding_mask._data, -np.inf, 0.0).astype(dtype)
        else:
            kp = key_padding_mask._data.astype(dtype)
        kp = wrap(kp.reshape(n_batch, 1, 1, S))
        merged = kp if merged is None else merged + kp
    return merged


def _dtype_of(np_dtype):
    return from_np(np.dtype(np_dtype))


def multi_head_attention_forward(
    query,
    key,
    value,
    embed_dim_to_check,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn,
    dropout_p,
    out_proj_weight,
    out_proj_bias,
    training=True,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    use_separate_proj_weight=False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights=True,
    is_causal=False,
):
    """Multi-head attention on (L, N, E) inputs, as ``torch.nn.functional``'s."""
    batched = query.dim() == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    if E != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {E}"
        )
    head_dim = E // num_heads
    if head_dim * num_heads != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    # The projections run on batch-major (N, length, E) rows: each head's matrix in the
    # products below then has rows 3E or E apart, not N times that, which BLAS multiplies
    # several times faster for attention's small matrices; for batch_first inputs (given
    # here transposed) the rows are the caller's memory and the projection copies nothing.
    packed = query is key and key is value and not use_separate_proj_weight
    query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    if not use_separate_proj_weight:
        if packed:
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            wq, wk, wv = in_proj_weight.chunk(3)
            bq, bk, bv = in_proj_bias.chunk(3) if in_proj_bias is not None else (None,) * 3
            q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    else:
        bq, bk, bv = in_proj_bias.chunk(3) if in_proj_bias is not None else (None,) * 3
        q = linear(query, q_proj_weight, bq)
        k = linear(key, k_proj_weight, bk)
        v = linear(value, v_proj_weight, bv)
    if bias_k is not None:
        k = cat([k, bias_k.reshape(1, 1, E).expand(N, 1, E)], 1)
        v = cat([v, bias_v.reshape(1, 1, E).expand(N, 1, E)], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    S = k.shape[1]
    # (N, length, E) -> (N, heads, length, head_dim): views, no copies
    q, k, v = (t.reshape(N, t.shape[1], num_heads, head_dim).transpose(1, 2) for t in (q, k, v))
    if add_zero_attn:
        z = wrap(np.zeros((N, num_heads, 1, head_dim), q._data.dtype))
        k, v = cat([k, z], 2), cat([v, z], 2)
        S += 1
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    if is_causal and attn_mask is None:
        attn_mask = wrap(~np.tril(np.ones((L, S), bool)))
    mask = _merge_masks(attn_mask, key_padding_mask, N, num_heads, L, S, q._data.dtype)
    scale, p = 1.0 / math.sqrt(head_dim), dropout_p if training else 0.0
    out = None if need_weights else _fused_attention(q, k, v, mask, scale, p)
    if out is None:
        scores = (q * scale) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = softmax(scores, dim=-1)
        if p > 0.0:
            weights = dropout(weights, p, True)
        out = weights @ v  # (N, heads, L, head_dim)
    out = out.permute(2, 0, 1, 3).reshape(L, N, E)
    out = linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    w = weights.mean(1) if average_attn_weights else weights
    if not batched:
        w = w.squeeze(0)
    return out, w
