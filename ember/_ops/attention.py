"""Attention: scaled dot-product attention and the multi-head attention forward pass."""

import math

import numpy as np

from ember._dtype import bool as bool_
from ember._dtype import from_np
from ember._ops.activation import softmax
from ember._ops.comparison import where
from ember._ops.nn_misc import dropout, linear
from ember._ops.pad import pad
from ember._ops.shape import cat
from ember._tensor import wrap
from ember.backends import sdp

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """softmax(q k^T * scale + mask) v over the last two dims.

    A boolean ``attn_mask`` marks the positions that take part (True = attend); a float one
    is added to the scores.
    """
    sdp.check_math_allowed()
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
    scores = (query * scale) @ key.transpose(-2, -1)
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "scaled_dot_product_attention: explicit attn_mask should not be set when "
                "is_causal=True"
            )
        attn_mask = scores.new_ones((L, S), dtype=bool_).tril()
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":  # a bias of 0 where attended, -inf elsewhere
            attn_mask = where(attn_mask, 0.0, float("-inf")).to(scores.dtype)
        # added, not filled in: the backward passes the gradient through unchanged
        scores = scores + attn_mask
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


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
    scores = (q * (1.0 / math.sqrt(head_dim))) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0 and training:
        weights = dropout(weights, dropout_p, True)
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
