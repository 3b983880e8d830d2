"""A fused elementwise chain at run time: one autograd node, one pass forward, one backward.

``FusedKernel`` is what a compiled graph calls in place of the chain's nodes. For operands
it can compile (float32 or float64 tensors of one dtype, bool conditions, Python numbers) it
runs the generated forward kernel over cache-sized pieces of the output, on several threads
when the output is large, and records one ``FusedFunction`` node whose backward runs the
generated derivative kernel from the saved chain inputs. Any other operands (integer
tensors, mixed dtypes, arrays off the CPU, shapes and other Python values a traced graph
computes) replay the original calls eagerly, so the result is always the unfused one.
"""

import numpy as np

from ember._compile.codegen import Unsupported, generate
from ember._compile.derivative import gradients
from ember._compile.expr import COMPARISONS, topological
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction, once_differentiable
from ember.backends.numpy import threads
from ember.backends.onednn import eltwise as onednn_eltwise
from ember.backends.onednn import library as onednn_library

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_PIECE_ELEMENTS = 1 << 15  # a piece's few buffers stay in L2 (128 KiB each in float32)


class FusedKernel:
    """Callable standing for a chain of elementwise graph nodes; see the module docstring."""

    def __init__(self, name, builder, output, replay):
        self.name = name
        self.builder = builder
        self.output = output
        self.replay = replay  # (*inputs) -> the chain's result through the original calls
        self._variants = {}

    def __repr__(self):
        return f"FusedKernel({self.name}: {self.output!r})"

    def __call__(self, *inputs):
        signature = tuple(_operand_type(a) for a in inputs)
        variant = self._variants.get(signature)
        if variant is None:
            variant = self._variants[signature] = self._make_variant(signature)
        if variant is False or variant.eager_is_faster(inputs):
            return self.replay(*inputs)
        return FusedFunction.apply(variant, *inputs)

    def _make_variant(self, signature):
        floats = {d for d in signature if isinstance(d, np.dtype) and d.kind == "f"}
        if len(floats) != 1 or next(iter(floats)) not in _FLOATS:
            return False
        kinds = []
        for d in signature:
            if isinstance(d, np.dtype):
                if d.kind not in "fb":
                    return False
                kinds.append("float" if d.kind == "f" else "bool")
            elif d in (int, float):
                kinds.append("float")
            else:
                return False
        try:
            return _Variant(self, kinds, next(iter(floats)))
        except Unsupported:
            return False


def _operand_type(value):
    """A tensor's dtype when NumPy holds it (a GPU array replays eagerly), else the type."""
    if isinstance(value, Tensor):
        data = value._data
        return data.dtype if type(data) is np.ndarray else type(data)
    return type(value)


class _Variant:
    """The kernels of one chain for one set of operand kinds and one float dtype."""

    def __init__(self, kernel, kinds, dtype):
        self.kernel, self.kinds, self.dtype = kernel, kinds, dtype
        self.forward, self.forward_source = generate(
            [kernel.output], kinds, dtype, f"{kernel.name}_forward"
        )
        self.out_dtype = np.dtype(np.bool_) if _is_bool(kernel.output, kinds) else dtype
        self._backwards = {}
        self._has_exact_gelu = dtype == np.float32 and any(
            t.op == "gelu" for t in topological([kernel.output])
        )

    def eager_is_faster(self, inputs):
        """Whether the chain's own calls beat this kernel on ``inputs``: exact GELU of a large
        float32 array is one oneDNN pass eagerly, against NumPy's many passes here (measured:
        bias + GELU on (32, 64, 512), 1.9 ms eagerly against 6.3 fused)."""
        if not self._has_exact_gelu or not onednn_library.available():
            return False
        sizes = [a._data.size for a in inputs if isinstance(a, Tensor)]
        return max(sizes, default=0) >= onednn_eltwise.MIN_ELEMENTS

    def backward_for(self, needed):
        """The backward kernel computing the gradients of the inputs flagged in ``needed``."""
        entry = self._backwards.get(needed)
        if entry is None:
            b = self.kernel.builder
            grad_input = b.input(len(self.kinds))
            grads = gradients(b, self.kernel.output, grad_input, len(self.kinds))
            wanted = [i for i in range(len(self.kinds)) if needed[i]]
            zero = b.const(0.0)
            roots, slots = [], []  # equal gradients (add's two operands) share one array
            for i in wanted:
                term = grads[i] if grads[i] is not None else zero
                if term not in roots:
                    roots.append(term)
                slots.append(roots.index(term))
            fn, source = generate(
                roots, [*self.kinds, "float"], self.dtype, f"{self.kernel.name}_backward"
            )
            entry = self._backwards[needed] = (fn, wanted, slots, len(roots), source)
        return entry


def _is_bool(term, kinds):
    if term.op == "input":
        return kinds[term.value] == "bool"
    return term.op in COMPARISONS


def _scalar(value, dtype):
    return value if isinstance(value, np.ndarray) else dtype.type(value)


def run_pieces(fn, operands, outs):
    """``fn(*operands, *outs)`` over slabs of the outputs along their first long axis: each
    slab small enough for the kernel's buffers to stay in cache, slabs shared among threads."""
    shape = outs[0].shape
    ndim = len(shape)
    operands = [
        o.reshape((1,) * (ndim - o.ndim) + o.shape) if isinstance(o, np.ndarray) else o
        for o in operands
    ]
    size = outs[0].size
    axis = next((i for i, n in enumerate(shape) if n > 1), None)
    if axis is None or size <= _PIECE_ELEMENTS:
        fn(*operands, *outs)
        return
    inner = size // shape[axis]
    rows = max(1, _PIECE_ELEMENTS // inner)
    count = -(-shape[axis] // rows)
    lead = (slice(None),) * axis

    def piece(i):
        cut = lead + (slice(i * rows, (i + 1) * rows),)
        fn(
            *[o[cut] if isinstance(o, np.ndarray) and o.shape[axis] != 1 else o for o in operands],
            *[out[cut] for out in outs],
        )

    workers = threads.for_size(size)
    threads.run_chunks(piece, count, workers)


class FusedFunction(ArrayFunction):
    """The autograd node of a fused chain; it saves only the chain's tensor inputs."""

    @staticmethod
    def forward(ctx, variant, *inputs):
        dtype = variant.dtype
        operands = [_scalar(a, dtype) for a in inputs]
        shape = np.broadcast_shapes(*[a.shape for a in operands if isinstance(a, np.ndarray)])
        out = np.empty(shape, variant.out_dtype)
        with np.errstate(all="ignore"):
            run_pieces(variant.forward, operands, [out])
        ctx.variant = variant
        ctx.scalars = {i: a for i, a in enumerate(operands) if not isinstance(a, np.ndarray)}
        ctx.save_for_backward(*[a for a in inputs if isinstance(a, np.ndarray)])
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        variant = ctx.variant
        needed = tuple(ctx.needs_input_grad[1:])
        fn, wanted, slots, count, _ = variant.backward_for(needed)
        saved = iter(ctx.saved_tensors)
        operands = [
            ctx.scalars[i] if i in ctx.scalars else next(saved)._data
            for i in range(len(variant.kinds))
        ]
        g = grad._data
        if g.dtype != variant.dtype:
            g = g.astype(variant.dtype)
        shape = np.broadcast_shapes(g.shape, *[a.shape for a in operands if hasattr(a, "shape")])
        outs = [np.empty(shape, variant.dtype) for _ in range(count)]
        with np.errstate(all="ignore"):
            run_pieces(fn, [*operands, g], outs)
        result = [None] * (len(variant.kinds) + 1)
        for i, slot in zip(wanted, slots):
            result[i + 1] = wrap(outs[slot])
        return tuple(result)
