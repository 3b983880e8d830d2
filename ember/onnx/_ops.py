"""ONNX for the operations both layers and functions use: activations, linear, pooling,
reshapes. Values come in as `TensorValue`s; the functions return ONNX value names."""

import math

import numpy as np

from ember.onnx._values import shape_input

# nn layer name -> how its activation is written (the functional forms share these)
ACTIVATION_MODULES = (
    "ReLU", "ReLU6", "Sigmoid", "Tanh", "GELU", "SiLU", "Mish", "LeakyReLU", "ELU", "SELU",
    "CELU", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid",
    "Tanhshrink", "Softmax", "LogSoftmax", "GLU", "Threshold",
)  # fmt: skip


def _scalar(ctx, value, like):
    return ctx.const_like(np.array(value), like)


def _gelu(ctx, x, approximate):
    b = ctx.builder
    half = _scalar(ctx, 0.5, x)
    one = _scalar(ctx, 1.0, x)
    if approximate == "tanh":
        cube = b.op("Mul", [b.op("Mul", [x.name, x.name]), x.name])
        inner = b.op("Add", [x.name, b.op("Mul", [cube, _scalar(ctx, 0.044715, x)])])
        t = b.op("Tanh", [b.op("Mul", [inner, _scalar(ctx, math.sqrt(2 / math.pi), x)])])
    else:
        t = b.op("Erf", [b.op("Mul", [x.name, _scalar(ctx, 1 / math.sqrt(2), x)])])
    return b.op("Mul", [b.op("Mul", [x.name, half]), b.op("Add", [t, one])], hint="gelu")


def activation(ctx, kind, x, path, module=None, **kw):
    """One activation; its settings come from ``module`` (a layer) or ``kw`` (a function)."""
    b = ctx.builder

    def arg(name, default):
        return getattr(module, name, default) if module is not None else kw.get(name, default)

    simple = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Softsign": "Softsign",
              "Hardswish": "HardSwish", "Mish": "Mish"}  # fmt: skip
    if kind in simple:
        return b.op(simple[kind], [x.name], hint=path)
    if kind == "GELU":
        return _gelu(ctx, x, arg("approximate", "none"))
    if kind == "SiLU":
        return b.op("Mul", [x.name, b.op("Sigmoid", [x.name])], hint=path)
    if kind == "LeakyReLU":
        return b.op("LeakyRelu", [x.name], alpha=float(arg("negative_slope", 0.01)), hint=path)
    if kind == "ELU":
        return b.op("Elu", [x.name], alpha=float(arg("alpha", 1.0)), hint=path)
    if kind == "CELU":
        return b.op("Celu", [x.name], alpha=float(arg("alpha", 1.0)), hint=path)
    if kind == "SELU":
        return b.op("Selu", [x.name], alpha=1.6732632423543772, gamma=1.0507009873554805, hint=path)
    if kind == "Softplus":
        beta = float(arg("beta", 1.0))
        if beta == 1.0:
            return b.op("Softplus", [x.name], hint=path)
        scaled = b.op("Mul", [x.name, _scalar(ctx, beta, x)])
        return b.op("Div", [b.op("Softplus", [scaled]), _scalar(ctx, beta, x)], hint=path)
    if kind in ("Hardtanh", "ReLU6"):
        low, high = (0.0, 6.0) if kind == "ReLU6" else (arg("min_val", -1.0), arg("max_val", 1.0))
        return b.op("Clip", [x.name, _scalar(ctx, low, x), _scalar(ctx, high, x)], hint=path)
    if kind == "Hardsigmoid":
        return b.op("HardSigmoid", [x.name], alpha=1 / 6, beta=0.5, hint=path)
    if kind == "LogSigmoid":
        return b.op("Neg", [b.op("Softplus", [b.op("Neg", [x.name])])], hint=path)
    if kind == "Tanhshrink":
        return b.op("Sub", [x.name, b.op("Tanh", [x.name])], hint=path)
    if kind in ("Softmax", "LogSoftmax"):
        dim = arg("dim", None)
        if dim is None:
            ctx.unsupported(f"{kind} without dim", path)
        return b.op(kind, [x.name], axis=int(dim), hint=path)
    if kind == "GLU":
        first, second = b.op("Split", [x.name], outputs=2, axis=int(arg("dim", -1)), num_outputs=2)
        return b.op("Mul", [first, b.op("Sigmoid", [second])], hint=path)
    if kind == "Threshold":
        above = b.op("Greater", [x.name, _scalar(ctx, arg("threshold", 0.0), x)])
        return b.op("Where", [above, x.name, _scalar(ctx, arg("value", 0.0), x)], hint=path)
    ctx.unsupported(f"activation {kind}", path)


def linear(ctx, x, weight, bias, path):
    b = ctx.builder
    if x.rank == 2 and bias is not None:
        return b.op("Gemm", [x.name, weight, bias], transB=1, hint=path)
    out = b.op("MatMul", [x.name, b.op("Transpose", [weight], perm=[1, 0])])
    return out if bias is None else b.op("Add", [out, bias], hint=path)


def adaptive_pool(ctx, x, output_size, kind, path):
    n = x.rank - 2
    out = tuple(output_size) if isinstance(output_size, tuple | list) else (output_size,) * n
    spatial = x.shape[2:]
    out = tuple(s if o is None else o for o, s in zip(out, spatial))
    if all(o == 1 for o in out):
        return ctx.builder.op(
            "GlobalAveragePool" if kind == "avg" else "GlobalMaxPool", [x.name], hint=path
        )
    if any(s % o for s, o in zip(spatial, out)):
        ctx.unsupported(
            f"adaptive {kind} pooling from {tuple(spatial)} to {out} (sizes not multiples)", path
        )
    kernel = [s // o for s, o in zip(spatial, out)]
    op = "AveragePool" if kind == "avg" else "MaxPool"
    return ctx.builder.op(op, [x.name], kernel_shape=kernel, strides=kernel, hint=path)


def _dims(ctx, x):
    return ctx.builder.op("Shape", [x.name])


def flatten(ctx, x, start_dim=0, end_dim=-1):
    rank = x.rank
    start, end = start_dim % max(rank, 1), end_dim % max(rank, 1)
    if end == rank - 1 and start == 1:
        return ctx.builder.op("Flatten", [x.name], axis=1)
    b = ctx.builder
    shape = _dims(ctx, x)
    parts = []
    if start > 0:
        parts.append(b.op("Slice", [shape, b.const([0]), b.const([start])]))
    parts.append(b.const([-1]))
    if end < rank - 1:
        parts.append(b.op("Slice", [shape, b.const([end + 1]), b.const([rank])]))
    return b.op("Reshape", [x.name, b.op("Concat", parts, axis=0)])


def reshape(ctx, x, sizes):
    return ctx.builder.op("Reshape", [x.name, shape_input(ctx.builder, sizes)])
