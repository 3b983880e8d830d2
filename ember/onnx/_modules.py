"""ONNX for each ember.nn layer that tracing keeps whole (a ``call_module`` node).

Each converter takes the export context, the layer, its qualified name and its input values,
and returns the output value. Weights become initializers named by their parameter path
(``features.0.weight``), as in PyTorch's exports.
"""

import numpy as np

from ember import nn
from ember.onnx import _ops


def _ntuple(value, n):
    return tuple(value) if isinstance(value, tuple | list) else (value,) * n


def _conv_pads(module, x, n):
    """ONNX pads (begins then ends) and the Pad mode needed first, if any."""
    kernel, dilation = _ntuple(module.kernel_size, n), _ntuple(module.dilation, n)
    if module.padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        begins = [t // 2 for t in totals]
        ends = [t - b for t, b in zip(totals, begins)]
    elif module.padding == "valid":
        begins = ends = [0] * n
    else:
        begins = ends = list(_ntuple(module.padding, n))
    return begins + ends


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def conv(ctx, m, path, x):
    n = x.rank - 2
    pads = _conv_pads(m, x, n)
    inputs = [x.name, ctx.param(m.weight, path + ".weight")]
    if m.bias is not None:
        inputs.append(ctx.param(m.bias, path + ".bias"))
    if m.padding_mode != "zeros":
        if m.padding_mode == "circular" and ctx.builder.opset < 19:
            ctx.unsupported("Conv with padding_mode='circular' (needs opset 19)", path)
        full = [0, 0] + pads[:n] + [0, 0] + pads[n:]
        inputs[0] = ctx.builder.op(
            "Pad", [x.name, ctx.builder.const(full)], mode=_PAD_MODES[m.padding_mode]
        )
        pads = [0] * (2 * n)
    return ctx.builder.op(
        "Conv", inputs, kernel_shape=list(_ntuple(m.kernel_size, n)),
        strides=list(_ntuple(m.stride, n)), pads=pads, dilations=list(_ntuple(m.dilation, n)),
        group=m.groups, hint=path,
    )  # fmt: skip


def conv_transpose(ctx, m, path, x):
    n = x.rank - 2
    inputs = [x.name, ctx.param(m.weight, path + ".weight")]
    if m.bias is not None:
        inputs.append(ctx.param(m.bias, path + ".bias"))
    pads = list(_ntuple(m.padding, n))
    return ctx.builder.op(
        "ConvTranspose", inputs, kernel_shape=list(_ntuple(m.kernel_size, n)),
        strides=list(_ntuple(m.stride, n)), pads=pads + pads,
        dilations=list(_ntuple(m.dilation, n)), output_padding=list(_ntuple(m.output_padding, n)),
        group=m.groups, hint=path,
    )  # fmt: skip


def linear(ctx, m, path, x):
    weight = ctx.param(m.weight, path + ".weight")
    bias = None if m.bias is None else ctx.param(m.bias, path + ".bias")
    return _ops.linear(ctx, x, weight, bias, path)


def batch_norm(ctx, m, path, x):
    if m.running_mean is None:
        ctx.unsupported("BatchNorm without running statistics in eval mode", path)
    c = m.num_features
    scale = (
        ctx.param(m.weight, path + ".weight")
        if m.weight is not None
        else ctx.const_like(np.ones(c), x)
    )
    bias = (
        ctx.param(m.bias, path + ".bias") if m.bias is not None else ctx.const_like(np.zeros(c), x)
    )
    mean = ctx.param(m.running_mean, path + ".running_mean")
    var = ctx.param(m.running_var, path + ".running_var")
    return ctx.builder.op(
        "BatchNormalization", [x.name, scale, bias, mean, var], epsilon=float(m.eps), hint=path
    )


def layer_norm(ctx, m, path, x):
    shape = tuple(m.normalized_shape)
    ones, zeros = np.ones(shape), np.zeros(shape)
    weight = getattr(m, "weight", None)
    bias = getattr(m, "bias", None)
    scale = ctx.param(weight, path + ".weight") if weight is not None else ctx.const_like(ones, x)
    shift = ctx.param(bias, path + ".bias") if bias is not None else ctx.const_like(zeros, x)
    return ctx.builder.op(
        "LayerNormalization",
        [x.name, scale, shift],
        axis=-len(shape),
        epsilon=float(m.eps),
        hint=path,
    )


def group_norm(ctx, m, path, x):
    b = ctx.builder
    grouped = b.op("Reshape", [x.name, b.const([0, m.num_groups, -1])])
    axes = b.const([2])
    mean = b.op("ReduceMean", [grouped, axes], keepdims=1)
    centred = b.op("Sub", [grouped, mean])
    var = b.op("ReduceMean", [b.op("Mul", [centred, centred]), axes], keepdims=1)
    eps = ctx.const_like(np.array(m.eps), x)
    normed = b.op("Div", [centred, b.op("Sqrt", [b.op("Add", [var, eps])])])
    out = b.op("Reshape", [normed, b.op("Shape", [x.name])])
    if m.affine:
        per_channel = [m.num_channels] + [1] * (x.rank - 2)
        w = b.op("Reshape", [ctx.param(m.weight, path + ".weight"), b.const(per_channel)])
        bias = b.op("Reshape", [ctx.param(m.bias, path + ".bias"), b.const(per_channel)])
        out = b.op("Add", [b.op("Mul", [out, w]), bias], hint=path)
    return out


def _pool_args(m, n):
    kernel = list(_ntuple(m.kernel_size, n))
    stride = list(_ntuple(m.stride if m.stride not in (None, ()) else m.kernel_size, n))
    padding = list(_ntuple(m.padding, n))
    return kernel, stride, padding + padding


def max_pool(ctx, m, path, x):
    if m.return_indices:
        ctx.unsupported("MaxPool with return_indices=True", path)
    kernel, stride, pads = _pool_args(m, x.rank - 2)
    return ctx.builder.op(
        "MaxPool", [x.name], kernel_shape=kernel, strides=stride, pads=pads,
        dilations=list(_ntuple(m.dilation, x.rank - 2)), ceil_mode=int(m.ceil_mode), hint=path,
    )  # fmt: skip


def avg_pool(ctx, m, path, x):
    if getattr(m, "divisor_override", None):
        ctx.unsupported("AvgPool with divisor_override", path)
    kernel, stride, pads = _pool_args(m, x.rank - 2)
    return ctx.builder.op(
        "AveragePool", [x.name], kernel_shape=kernel, strides=stride, pads=pads,
        ceil_mode=int(m.ceil_mode), count_include_pad=int(m.count_include_pad), hint=path,
    )  # fmt: skip


def adaptive_pool(ctx, m, path, x, kind):
    return _ops.adaptive_pool(ctx, x, m.output_size, kind, path)


def embedding(ctx, m, path, x):
    if m.max_norm is not None:
        ctx.unsupported("Embedding with max_norm", path)
    return ctx.builder.op(
        "Gather", [ctx.param(m.weight, path + ".weight"), x.name], axis=0, hint=path
    )


def flatten(ctx, m, path, x):
    return _ops.flatten(ctx, x, m.start_dim, m.end_dim)


def identity(ctx, m, path, x):
    return x.name


def prelu(ctx, m, path, x):
    slope = ctx.param(m.weight, path + ".weight")
    if m.num_parameters > 1:
        slope = ctx.builder.op("Reshape", [slope, ctx.builder.const([-1] + [1] * (x.rank - 2))])
    return ctx.builder.op("PRelu", [x.name, slope], hint=path)


def _activation(name):
    def convert(ctx, m, path, x):
        return _ops.activation(ctx, name, x, path, m)

    return convert


MODULES = {
    nn.Conv1d: conv, nn.Conv2d: conv, nn.Conv3d: conv,
    nn.ConvTranspose1d: conv_transpose, nn.ConvTranspose2d: conv_transpose,
    nn.Linear: linear,
    nn.BatchNorm1d: batch_norm, nn.BatchNorm2d: batch_norm, nn.BatchNorm3d: batch_norm,
    nn.LayerNorm: layer_norm, nn.GroupNorm: group_norm,
    nn.MaxPool1d: max_pool, nn.MaxPool2d: max_pool,
    nn.AvgPool1d: avg_pool, nn.AvgPool2d: avg_pool,
    nn.AdaptiveAvgPool1d: lambda c, m, p, x: adaptive_pool(c, m, p, x, "avg"),
    nn.AdaptiveAvgPool2d: lambda c, m, p, x: adaptive_pool(c, m, p, x, "avg"),
    nn.AdaptiveMaxPool2d: lambda c, m, p, x: adaptive_pool(c, m, p, x, "max"),
    nn.Embedding: embedding, nn.Flatten: flatten, nn.PReLU: prelu,
    nn.Identity: identity, nn.Dropout: identity, nn.Dropout1d: identity, nn.Dropout2d: identity,
    nn.Dropout3d: identity, nn.AlphaDropout: identity, nn.FeatureAlphaDropout: identity,
}  # fmt: skip
for _cls in _ops.ACTIVATION_MODULES:
    MODULES[getattr(nn, _cls)] = _activation(_cls)
