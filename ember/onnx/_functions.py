"""ONNX for the functions and tensor methods a traced forward calls (``call_function`` and
``call_method`` nodes): arithmetic, shape manipulation, reductions, activations."""

import builtins
import operator

import numpy as np

import ember
from ember.nn import functional as F
from ember.onnx import _ops
from ember.onnx._values import ShapeValue, SizeValue, TensorValue, shape_input

_BINARY = {
    operator.add: "Add", operator.sub: "Sub", operator.mul: "Mul", operator.truediv: "Div",
    operator.pow: "Pow", operator.matmul: "MatMul",
    ember.add: "Add", ember.sub: "Sub", ember.mul: "Mul", ember.div: "Div",
    ember.matmul: "MatMul", ember.pow: "Pow",
}  # fmt: skip
_COMPARE = {
    operator.eq: "Equal", operator.lt: "Less", operator.gt: "Greater",
    operator.le: "LessOrEqual", operator.ge: "GreaterOrEqual",
}  # fmt: skip
_UNARY = {
    ember.exp: "Exp", ember.log: "Log", ember.sqrt: "Sqrt", ember.abs: "Abs", ember.neg: "Neg",
    operator.neg: "Neg", ember.sin: "Sin", ember.cos: "Cos", ember.erf: "Erf",
    ember.floor: "Floor", ember.ceil: "Ceil", ember.reciprocal: "Reciprocal",
}  # fmt: skip
_ACTIVATION_FUNCTIONS = {
    F.relu: "ReLU", F.relu6: "ReLU6", F.sigmoid: "Sigmoid", F.tanh: "Tanh", F.gelu: "GELU",
    F.silu: "SiLU", F.mish: "Mish", F.leaky_relu: "LeakyReLU", F.elu: "ELU", F.selu: "SELU",
    F.celu: "CELU", F.softplus: "Softplus", F.softsign: "Softsign", F.hardtanh: "Hardtanh",
    F.hardsigmoid: "Hardsigmoid", F.hardswish: "Hardswish", F.logsigmoid: "LogSigmoid",
    F.tanhshrink: "Tanhshrink", F.softmax: "Softmax", F.log_softmax: "LogSoftmax",
    F.glu: "GLU", ember.relu: "ReLU", ember.sigmoid: "Sigmoid", ember.tanh: "Tanh",
    ember.softmax: "Softmax", ember.log_softmax: "LogSoftmax",
}  # fmt: skip
_ACTIVATION_METHODS = {
    "relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
    "log_softmax": "LogSoftmax",
}  # fmt: skip
_ACTIVATION_ARGS = {
    "Softmax": ("dim",), "LogSoftmax": ("dim",), "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",), "CELU": ("alpha",), "GLU": ("dim",), "Hardtanh": ("min_val", "max_val"),
    "Softplus": ("beta", "threshold"),
}  # fmt: skip


class Converter:
    """Turns one call_function / call_method node into ONNX, given its argument values."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.b = ctx.builder

    # -- helpers -------------------------------------------------------------------------
    def operand(self, value, dtype):
        """An ONNX name for a tensor, a size or a Python number, in ``dtype``."""
        if isinstance(value, TensorValue):
            if np.dtype(value.dtype.np) != np.dtype(dtype.np):
                return self.b.op("Cast", [value.name], to=self.ctx.onnx_dtype(dtype))
            return value.name
        if isinstance(value, SizeValue):
            name = self.b.op("Squeeze", [value.name, self.b.const([0])])
            if np.dtype(dtype.np) != np.int64:
                name = self.b.op("Cast", [name], to=self.ctx.onnx_dtype(dtype))
            return name
        return self.b.const(np.array(value), dtype=np.dtype(dtype.np))

    def size_arith(self, op_type, a, c):
        """Arithmetic between sizes stays a size (shapes built from it stay dynamic)."""
        static = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul,
                  "Div": operator.floordiv}[op_type](int(a), int(c))  # fmt: skip
        names = [x.name if isinstance(x, SizeValue) else self.b.const([int(x)]) for x in (a, c)]
        return SizeValue(self.b.op(op_type, names), static)

    # -- dispatch ------------------------------------------------------------------------
    def call_function(self, target, args, kwargs, node, out_meta):
        if target is builtins.getattr:
            return self.getattr(*args)
        if target is operator.getitem:
            return self.getitem(*args)
        if target in (operator.truediv, operator.floordiv) and isinstance(args[0], SizeValue):
            return self.size_arith("Div", *args)
        if target in _BINARY:
            a, c = args[0], args[1]
            if (
                isinstance(a, SizeValue | int)
                and isinstance(c, SizeValue | int)
                and _BINARY[target] != "MatMul"
            ):
                return self.size_arith(_BINARY[target], a, c)
            return self.binary(_BINARY[target], a, c, out_meta)
        if target in _COMPARE:
            return self.compare(_COMPARE[target], args[0], args[1])
        if target in _UNARY:
            return self.b.op(_UNARY[target], [self.operand(args[0], out_meta.dtype)])
        if target in _ACTIVATION_FUNCTIONS:
            return self.activation(_ACTIVATION_FUNCTIONS[target], args, kwargs, node)
        handler = self.FUNCTIONS.get(target)
        if handler is None:
            self.ctx.unsupported(f"function {getattr(target, '__name__', target)}", node.name)
        return handler(self, *args, **kwargs)

    def call_method(self, name, args, kwargs, node, out_meta):
        if name in _ACTIVATION_METHODS:
            return self.activation(_ACTIVATION_METHODS[name], args, kwargs, node)
        binary = {
            "add": "Add",
            "sub": "Sub",
            "mul": "Mul",
            "div": "Div",
            "matmul": "MatMul",
            "pow": "Pow",
        }
        if name in binary:
            return self.binary(binary[name], args[0], args[1], out_meta)
        handler = self.METHODS.get(name)
        if handler is None:
            self.ctx.unsupported(f"Tensor.{name}", node.name)
        return handler(self, *args, **kwargs)

    # -- families ------------------------------------------------------------------------
    def binary(self, op_type, a, c, out_meta):
        dtype = out_meta.dtype
        return self.b.op(op_type, [self.operand(a, dtype), self.operand(c, dtype)])

    def compare(self, op_type, a, c):
        like = a if isinstance(a, TensorValue) else c
        return self.b.op(op_type, [self.operand(a, like.dtype), self.operand(c, like.dtype)])

    def activation(self, kind, args, kwargs, node):
        x, rest = args[0], list(args[1:])
        names = _ACTIVATION_ARGS.get(kind, ())
        settings = dict(zip(names, rest))
        settings.update({k: v for k, v in kwargs.items() if k in names or k == "approximate"})
        if kind == "GELU" and "approximate" not in settings and rest:
            settings["approximate"] = rest[0]
        return _ops.activation(self.ctx, kind, x, node.name, **settings)

    def getattr(self, obj, name):
        if name == "shape" and isinstance(obj, TensorValue):
            return ShapeValue(self.b.op("Shape", [obj.name]), tuple(obj.shape))
        if name in ("T", "mT") and isinstance(obj, TensorValue):
            return self.transpose(obj, -2, -1)
        self.ctx.unsupported(f"attribute {name}", "")

    def getitem(self, obj, index):
        if isinstance(obj, ShapeValue):
            if isinstance(index, slice):
                start, stop, _ = index.indices(len(obj.static))
                name = self.b.op("Slice", [obj.name, self.b.const([start]), self.b.const([stop])])
                return ShapeValue(name, obj.static[start:stop])
            i = index % len(obj.static)
            return SizeValue(
                self.b.op("Gather", [obj.name, self.b.const([i])], axis=0), obj.static[i]
            )
        if not isinstance(obj, TensorValue):
            return obj[index]
        return self.slice_tensor(obj, index if isinstance(index, tuple) else (index,))

    def slice_tensor(self, x, index):
        """Basic indexing with ints, slices, None and Ellipsis."""
        if any(i is Ellipsis for i in index):
            at = index.index(Ellipsis)
            named = sum(1 for i in index if i is not None and i is not Ellipsis)
            index = index[:at] + (slice(None),) * (x.rank - named) + index[at + 1 :]
        name, dim, squeeze, unsqueeze, out_dim = x.name, 0, [], [], 0
        starts, ends, axes, steps = [], [], [], []
        for i in index:
            if i is None:
                unsqueeze.append(out_dim)
                out_dim += 1
                continue
            if isinstance(i, TensorValue):
                self.ctx.unsupported("indexing with a tensor", "")
            if isinstance(i, int):
                size = x.shape[dim]
                i = i % size
                starts, ends, axes, steps = starts + [i], ends + [i + 1], axes + [dim], steps + [1]
                squeeze.append(dim)
            elif i != slice(None):
                start, stop, step = i.indices(x.shape[dim])
                starts, ends, axes, steps = (
                    starts + [start],
                    ends + [stop],
                    axes + [dim],
                    steps + [step],
                )
                out_dim += 1
            else:
                out_dim += 1
            dim += 1
        if axes:
            name = self.b.op(
                "Slice",
                [
                    name,
                    self.b.const(starts),
                    self.b.const(ends),
                    self.b.const(axes),
                    self.b.const(steps),
                ],
            )
        if squeeze:
            name = self.b.op("Squeeze", [name, self.b.const(squeeze)])
        if unsqueeze:
            name = self.b.op("Unsqueeze", [name, self.b.const(unsqueeze)])
        return name

    def sizes(self, args):
        return (
            args[0] if len(args) == 1 and isinstance(args[0], tuple | list | ShapeValue) else args
        )

    def view(self, x, *sizes):
        return _ops.reshape(self.ctx, x, self.sizes(sizes))

    def size(self, x, dim=None):
        shape = ShapeValue(self.b.op("Shape", [x.name]), tuple(x.shape))
        return shape if dim is None else self.getitem(shape, dim)

    def flatten(self, x, start_dim=0, end_dim=-1):
        return _ops.flatten(self.ctx, x, start_dim, end_dim)

    def permute(self, x, *dims):
        dims = self.sizes(dims)
        return self.b.op("Transpose", [x.name], perm=[int(d) % x.rank for d in dims])

    def transpose(self, x, dim0, dim1):
        perm = list(range(x.rank))
        perm[dim0 % x.rank], perm[dim1 % x.rank] = perm[dim1 % x.rank], perm[dim0 % x.rank]
        return self.b.op("Transpose", [x.name], perm=perm)

    def t(self, x):
        return x.name if x.rank < 2 else self.transpose(x, 0, 1)

    def contiguous(self, x, *args, **kwargs):
        return x.name

    def unsqueeze(self, x, dim):
        return self.b.op("Unsqueeze", [x.name, self.b.const([dim % (x.rank + 1)])])

    def squeeze(self, x, dim=None):
        if dim is None:
            return self.b.op("Squeeze", [x.name])
        dims = [d % x.rank for d in (dim if isinstance(dim, tuple | list) else (dim,))]
        dims = [d for d in dims if x.shape[d] == 1]
        return self.b.op("Squeeze", [x.name, self.b.const(dims)]) if dims else x.name

    def _reduce(self, op_type, x, dim=None, keepdim=False, dtype=None):
        if dim is None:
            return self.b.op(op_type, [x.name], keepdims=0)
        dims = [d % x.rank for d in (dim if isinstance(dim, tuple | list) else (dim,))]
        return self.b.op(op_type, [x.name, self.b.const(dims)], keepdims=int(keepdim))

    def mean(self, x, dim=None, keepdim=False, dtype=None):
        return self._reduce("ReduceMean", x, dim, keepdim)

    def sum(self, x, dim=None, keepdim=False, dtype=None):
        return self._reduce("ReduceSum", x, dim, keepdim)

    def amax(self, x, dim=None, keepdim=False):
        return self._reduce("ReduceMax", x, dim, keepdim)

    def cat(self, tensors, dim=0):
        rank = tensors[0].rank
        return self.b.op("Concat", [t.name for t in tensors], axis=dim % rank)

    def stack(self, tensors, dim=0):
        rank = tensors[0].rank + 1
        parts = [self.b.op("Unsqueeze", [t.name, self.b.const([dim % rank])]) for t in tensors]
        return self.b.op("Concat", parts, axis=dim % rank)

    def chunk(self, x, chunks, dim=0):
        size = x.shape[dim]
        step = -(-size // chunks)
        return self.split(x, step, dim)

    def split(self, x, split_size, dim=0):
        size = x.shape[dim]
        sizes = split_size if isinstance(split_size, list | tuple) else [
            min(split_size, size - s) for s in range(0, size, split_size)
        ]  # fmt: skip
        names = self.b.op(
            "Split", [x.name, self.b.const(sizes)], outputs=len(sizes), axis=dim % x.rank
        )
        names = names if isinstance(names, list) else [names]
        shapes = [x.shape[: dim % x.rank] + (s,) + x.shape[dim % x.rank + 1 :] for s in sizes]
        return tuple(TensorValue(n, s, x.dtype) for n, s in zip(names, shapes))

    def linear(self, x, weight, bias=None):
        return _ops.linear(self.ctx, x, weight.name, None if bias is None else bias.name, "linear")

    def dropout(self, x, p=0.5, training=False, inplace=False):
        if training:
            self.ctx.unsupported("dropout with training=True", "")
        return x.name

    def adaptive_avg_pool2d(self, x, output_size):
        return _ops.adaptive_pool(self.ctx, x, output_size, "avg", "adaptive_avg_pool2d")

    def expand(self, x, *sizes):
        sizes = [x.shape[i - (len(self.sizes(sizes)) - x.rank)] if int(s) == -1 else s
                 for i, s in enumerate(self.sizes(sizes))]  # fmt: skip
        return self.b.op("Expand", [x.name, shape_input(self.b, sizes)])

    FUNCTIONS = {}
    METHODS = {}


Converter.FUNCTIONS = {
    ember.flatten: Converter.flatten, ember.cat: Converter.cat, ember.concat: Converter.cat,
    ember.stack: Converter.stack, ember.permute: Converter.permute,
    ember.transpose: Converter.transpose, ember.reshape: lambda self, x, shape: self.view(x, shape),
    ember.mean: Converter.mean, ember.sum: Converter.sum, ember.amax: Converter.amax,
    ember.unsqueeze: Converter.unsqueeze, ember.squeeze: Converter.squeeze,
    ember.chunk: Converter.chunk, ember.split: Converter.split,
    F.linear: Converter.linear, F.dropout: Converter.dropout,
    F.adaptive_avg_pool2d: Converter.adaptive_avg_pool2d,
}  # fmt: skip
Converter.METHODS = {
    "view": Converter.view, "reshape": Converter.view, "size": Converter.size,
    "flatten": Converter.flatten, "permute": Converter.permute, "transpose": Converter.transpose,
    "t": Converter.t, "contiguous": Converter.contiguous, "unsqueeze": Converter.unsqueeze,
    "squeeze": Converter.squeeze, "mean": Converter.mean, "sum": Converter.sum,
    "amax": Converter.amax, "chunk": Converter.chunk, "split": Converter.split,
    "expand": Converter.expand,
}  # fmt: skip
