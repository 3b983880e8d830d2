"""ONNX for the sequence layers: LSTM and GRU (ONNX's own LSTM/GRU operators), multi-head
attention and Transformer encoder layers (written out as matrix products and softmax)."""

import math

import numpy as np

from ember import nn
from ember.onnx import _ops
from ember.onnx._values import TensorValue

# ONNX orders the gates (i, o, f, c) for LSTM and (z, r, h) for GRU; PyTorch (i, f, g, o)
# and (r, z, n).
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}


def _reorder_gates(array, kind, hidden):
    blocks = [array[i * hidden : (i + 1) * hidden] for i in range(len(_GATE_ORDER[kind]))]
    return np.concatenate([blocks[i] for i in _GATE_ORDER[kind]])


def recurrent(ctx, m, path, x, hx=None):
    """nn.LSTM / nn.GRU, one ONNX operator per layer; returns (output, h_n) or (output, (h, c))."""
    kind = type(m).__name__
    if getattr(m, "proj_size", 0):
        ctx.unsupported(f"{kind} with proj_size", path)
    b, dirs, hidden = ctx.builder, 2 if m.bidirectional else 1, m.hidden_size
    seq = x.name if not m.batch_first else b.op("Transpose", [x.name], perm=[1, 0, 2])
    initial = (
        [None, None] if hx is None else list(hx) if isinstance(hx, tuple | list) else [hx, None]
    )
    finals_h, finals_c = [], []
    for layer in range(m.num_layers):
        weights, recurrences, biases = [], [], []
        for suffix in [""] if dirs == 1 else ["", "_reverse"]:
            w = getattr(m, f"weight_ih_l{layer}{suffix}").detach().numpy()
            r = getattr(m, f"weight_hh_l{layer}{suffix}").detach().numpy()
            weights.append(_reorder_gates(w, kind, hidden))
            recurrences.append(_reorder_gates(r, kind, hidden))
            if m.bias:
                bi = getattr(m, f"bias_ih_l{layer}{suffix}").detach().numpy()
                bh = getattr(m, f"bias_hh_l{layer}{suffix}").detach().numpy()
                biases.append(
                    np.concatenate(
                        [_reorder_gates(bi, kind, hidden), _reorder_gates(bh, kind, hidden)]
                    )
                )
        inputs = [
            seq,
            b.initializer(np.stack(weights), b.fresh(f"{path}.W_l{layer}")),
            b.initializer(np.stack(recurrences), b.fresh(f"{path}.R_l{layer}")),
            b.initializer(np.stack(biases), b.fresh(f"{path}.B_l{layer}")) if m.bias else "",
            "",
        ]
        for state in initial:
            if state is not None:
                inputs.append(
                    b.op(
                        "Slice",
                        [state.name, b.const([layer * dirs]), b.const([(layer + 1) * dirs])],
                    )
                )
            elif kind == "LSTM" or state is initial[0]:
                inputs.append("")
        if kind == "GRU":
            inputs = inputs[:6]
        outputs = 3 if kind == "LSTM" else 2
        attrs = {"linear_before_reset": 1} if kind == "GRU" else {}
        names = b.op(
            kind, inputs, outputs=outputs, hidden_size=hidden,
            direction="bidirectional" if dirs == 2 else "forward", hint=f"{path}_l{layer}", **attrs,
        )  # fmt: skip
        finals_h.append(names[1])
        if kind == "LSTM":
            finals_c.append(names[2])
        # (seq, dirs, batch, hidden) -> (seq, batch, dirs * hidden)
        seq = b.op(
            "Reshape", [b.op("Transpose", [names[0]], perm=[0, 2, 1, 3]), b.const([0, 0, -1])]
        )
    out = seq if not m.batch_first else b.op("Transpose", [seq], perm=[1, 0, 2])
    meta = ctx.meta
    out_value = TensorValue(out, tuple(meta[0].shape), meta[0].dtype)
    h = b.op("Concat", finals_h, axis=0)
    if kind == "GRU":
        return out_value, TensorValue(h, tuple(meta[1].shape), meta[1].dtype)
    c = b.op("Concat", finals_c, axis=0)
    states = (TensorValue(h, tuple(meta[1][0].shape), meta[1][0].dtype),
              TensorValue(c, tuple(meta[1][1].shape), meta[1][1].dtype))  # fmt: skip
    return out_value, states


def _attention(ctx, m, path, query, key, value, need_weights, average):
    """Multi-head attention without masks; returns (output name, weights name or None)."""
    b = ctx.builder
    heads, embed = m.num_heads, m.embed_dim
    head_dim = embed // heads
    batch_first = getattr(m, "batch_first", False)
    w = m.in_proj_weight.detach().numpy() if m.in_proj_weight is not None else None
    if w is None:
        ctx.unsupported("MultiheadAttention with separate key/value sizes", path)
    bias = m.in_proj_bias.detach().numpy() if m.in_proj_bias is not None else None

    def project(x, i, name):
        weight = b.initializer(w[i * embed : (i + 1) * embed], b.fresh(f"{path}.{name}_weight"))
        out = b.op("MatMul", [x.name, b.op("Transpose", [weight], perm=[1, 0])])
        if bias is not None:
            out = b.op(
                "Add",
                [
                    out,
                    b.initializer(
                        bias[i * embed : (i + 1) * embed], b.fresh(f"{path}.{name}_bias")
                    ),
                ],
            )
        # (L, N, E) or (N, L, E) -> (N, heads, L, head_dim)
        split = b.op("Reshape", [out, b.const([0, 0, heads, head_dim])])
        return b.op("Transpose", [split], perm=[0, 2, 1, 3] if batch_first else [1, 2, 0, 3])

    q, k, v = project(query, 0, "q"), project(key, 1, "k"), project(value, 2, "v")
    scale = ctx.const_like(np.array(1 / math.sqrt(head_dim)), query)
    scores = b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])]), scale])
    probs = b.op("Softmax", [scores], axis=-1)
    context = b.op("MatMul", [probs, v])
    merged = b.op("Transpose", [context], perm=[0, 2, 1, 3] if batch_first else [2, 0, 1, 3])
    merged = b.op("Reshape", [merged, b.const([0, 0, embed])])
    out_w = ctx.param(m.out_proj.weight, f"{path}.out_proj.weight")
    out_b = None if m.out_proj.bias is None else ctx.param(m.out_proj.bias, f"{path}.out_proj.bias")
    merged_value = TensorValue(merged, tuple(query.shape), query.dtype)
    output = _ops.linear(ctx, merged_value, out_w, out_b, f"{path}.out_proj")
    if not need_weights:
        return output, None
    weights = b.op("ReduceMean", [probs, b.const([1])], keepdims=0) if average else probs
    return output, weights


def multihead_attention(ctx, m, path, query, key, value, key_padding_mask=None, need_weights=True,
                        attn_mask=None, average_attn_weights=True, is_causal=False):  # fmt: skip
    if key_padding_mask is not None or attn_mask is not None or is_causal:
        ctx.unsupported("MultiheadAttention with masks", path)
    output, weights = _attention(
        ctx, m, path, query, key, value, need_weights, average_attn_weights
    )
    meta = ctx.meta
    out = TensorValue(output, tuple(meta[0].shape), meta[0].dtype)
    if weights is None:
        return out, None
    return out, TensorValue(weights, tuple(meta[1].shape), meta[1].dtype)


def _encoder_layer(ctx, m, path, x):
    activation = {id(nn.functional.relu): "ReLU", id(nn.functional.gelu): "GELU"}.get(
        id(m.activation)
    )
    if activation is None:
        ctx.unsupported("TransformerEncoderLayer with a custom activation", path)

    def attend(h):
        out, _ = _attention(ctx, m.self_attn, f"{path}.self_attn", h, h, h, False, True)
        return TensorValue(out, x.shape, x.dtype)

    def dense(layer, h, name):
        weight = ctx.param(layer.weight, f"{path}.{name}.weight")
        bias = ctx.param(layer.bias, f"{path}.{name}.bias")
        return TensorValue(_ops.linear(ctx, h, weight, bias, f"{path}.{name}"), (), x.dtype)

    def feed_forward(h):
        hidden = dense(m.linear1, h, "linear1")
        hidden = TensorValue(_ops.activation(ctx, activation, hidden, path), (), x.dtype)
        return TensorValue(dense(m.linear2, hidden, "linear2").name, x.shape, x.dtype)

    def norm(layer, h, name):
        from ember.onnx._modules import layer_norm

        return TensorValue(layer_norm(ctx, layer, f"{path}.{name}", h), x.shape, x.dtype)

    def add(a, c):
        return TensorValue(ctx.builder.op("Add", [a.name, c.name]), x.shape, x.dtype)

    if m.norm_first:
        x = add(x, attend(norm(m.norm1, x, "norm1")))
        return add(x, feed_forward(norm(m.norm2, x, "norm2")))
    x = norm(m.norm1, add(x, attend(x)), "norm1")
    return norm(m.norm2, add(x, feed_forward(x)), "norm2")


def encoder_layer(ctx, m, path, x, src_mask=None, src_key_padding_mask=None, is_causal=False):
    if src_mask is not None or src_key_padding_mask is not None or is_causal:
        ctx.unsupported("TransformerEncoderLayer with masks", path)
    return _encoder_layer(ctx, m, path, x).name


def encoder(ctx, m, path, x, mask=None, src_key_padding_mask=None, is_causal=None):
    if mask is not None or src_key_padding_mask is not None or is_causal:
        ctx.unsupported("TransformerEncoder with masks", path)
    for i, layer in enumerate(m.layers):
        x = _encoder_layer(ctx, layer, f"{path}.layers.{i}", x)
    if m.norm is not None:
        from ember.onnx._modules import layer_norm

        return layer_norm(ctx, m.norm, f"{path}.norm", x)
    return x.name


SEQUENCE_MODULES = {
    nn.LSTM: recurrent, nn.GRU: recurrent, nn.MultiheadAttention: multihead_attention,
    nn.TransformerEncoderLayer: encoder_layer, nn.TransformerEncoder: encoder,
}  # fmt: skip
