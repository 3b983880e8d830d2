"""``torch.utils.flop_counter``: the floating-point operations of the matrix products and
convolutions run inside a ``with FlopCounterMode():`` block, forward and backward.

While active, the counter is ember's op recorder: every ``Function.apply`` reports to it, as to
``autograd.profiler.profile`` (it passes each op on to a profiler active around it), so an
inactive counter costs nothing. Counts are PyTorch's: a product of (m, k) and (k, n) matrices is
2*m*k*n, a batched one that times the batch size; a convolution is 2 * batch * weight elements
* output positions (input positions when transposed), and its backward the same again for each
of the input and weight gradients (the weight gradient of a grouped convolution counted as a
dense one's, as PyTorch counts it); attention is its two products, ``einsum`` the batched
products PyTorch reduces it to. Products with a vector on the
right (matrix-vector, dot) are not counted, as PyTorch does not count them. Ops are keyed by
PyTorch's names as strings (``"aten.mm"``).

Each count goes to ``"Global"`` and to every module running: in forward, the modules whose
call is on the stack, named as PyTorch names them (the first module seen by its class name, its
children ``Parent.child``); in backward, the modules that ran the op's forward.
"""

import math
import sys
import warnings
import weakref
from collections import defaultdict

from ember.autograd import engine
from ember.autograd.function import PROFILER

__all__ = ["FlopCounterMode"]


def _matmul_flops(a, b):
    """(op name, flops) of ``a @ b`` as PyTorch dispatches it; None for matrix-vector products."""
    if b.ndim == 1:
        return None
    k, n = b.shape[-2:]
    if b.ndim == 2:
        return "aten.mm", 2 * math.prod(a.shape[:-1]) * k * n
    m = a.shape[-2] if a.ndim > 1 else 1
    batch = math.prod(_broadcast(a.shape[:-2], b.shape[:-2]))
    return "aten.bmm", 2 * batch * m * k * n


def _broadcast(s, t):
    n = max(len(s), len(t))
    s, t = (1,) * (n - len(s)) + tuple(s), (1,) * (n - len(t)) + tuple(t)
    return tuple(max(x, y) for x, y in zip(s, t))


def _einsum_flops(equation, *operands):
    """PyTorch contracts operands left to right, each pair as one bmm over the indices both
    share or later terms need (indices only one operand has and nothing later needs are summed
    first); a pair with nothing to contract is a product, not counted."""
    inputs, output = equation.split("->")
    terms = inputs.split(",")
    sizes = {c: n for t, x in zip(terms, operands) for c, n in zip(t, x.shape)}
    flops, left = 0, terms[0]
    for i, right in enumerate(terms[1:], start=2):
        later = set(output).union(*terms[i:])
        both = set(left) & set(right)
        if both - later:
            kept = both | (set(left + right) & later)
            flops += 2 * math.prod(sizes[c] for c in kept)
        left = "".join(c for c in dict.fromkeys(left + right) if c in later)
    return ("aten.bmm", flops) if flops else None


def _linear_flops(x, w, b):
    rows = math.prod(x.shape[:-1])
    return ("aten.mm" if b is None else "aten.addmm"), 2 * rows * w.shape[0] * w.shape[1]


def _conv_name():
    return "aten.convolution_backward" if engine._FINAL_CALLBACKS else "aten.convolution"


def _convolution_flops(x, w, b, geometry, channels_last, out):
    return _conv_name(), 2 * x.shape[0] * math.prod(w.shape) * math.prod(out.shape[2:])


def _conv_transpose_flops(g, w, b, geometry, out_size, channels_last, out):
    return _conv_name(), 2 * g.shape[0] * math.prod(w.shape) * math.prod(g.shape[2:])


def _conv_weight_grad_flops(x, g, geometry, kernel_size, with_bias, out):
    # PyTorch counts the weight gradient of a grouped convolution as if it were dense
    weight = g.shape[1] * x.shape[1] * math.prod(kernel_size)
    return "aten.convolution_backward", 2 * x.shape[0] * weight * math.prod(g.shape[2:])


def _formulas():
    """Function class -> flops(*args, out) -> (op name, flops) or None."""
    from ember._ops.conv import Convolution, ConvTranspose, ConvWeightGrad
    from ember._ops.linalg import Einsum, MatMul
    from ember._ops.nn_misc import Linear

    return {
        MatMul: lambda a, b, out: _matmul_flops(a, b),
        Einsum: lambda equation, *operands_and_out: _einsum_flops(equation, *operands_and_out[:-1]),
        Linear: lambda x, w, b, out: _linear_flops(x, w, b),
        Convolution: _convolution_flops,
        ConvTranspose: _conv_transpose_flops,
        ConvWeightGrad: _conv_weight_grad_flops,
    }


def _module_call_codes():
    from ember.nn import Module

    return (Module.__call__.__code__, Module._call_with_hooks.__code__)


class FlopCounterMode:
    """Counts the FLOPs of the ops run inside the block; ``get_total_flops()`` and
    ``get_flop_counts()`` (by module name, then op name) read them. Prints the table on exit
    when ``display``."""

    def __init__(self, mods=None, depth=2, display=True, custom_mapping=None):
        if mods is not None:
            warnings.warn(
                "mods argument is not needed anymore, you can stop passing it", stacklevel=2
            )
        if custom_mapping:
            raise NotImplementedError(
                "FlopCounterMode(custom_mapping=...): ember counts its own ops only; "
                f"custom formulas for {', '.join(map(str, custom_mapping))} are not supported"
            )
        self.flop_counts = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.entered = None  # the op being run on behalf of ``record`` (the recorder protocol)
        self._previous = None
        self._active = False
        self._formulas = _formulas()
        self._call_codes = _module_call_codes()
        self._run_node_code = engine._run_node.__code__
        self._module_names = {}  # id(module) -> (module, name, children named)
        self._node_parents = weakref.WeakKeyDictionary()  # autograd node -> module names

    def __enter__(self):
        if self._active:
            raise RuntimeError("FlopCounterMode is not reentrant: it is already active")
        self.flop_counts.clear()
        self._previous, PROFILER[0] = PROFILER[0], self
        self._active = True
        return self

    def __exit__(self, *exc):
        PROFILER[0], self._previous = self._previous, None
        self._active = False
        self._node_parents = weakref.WeakKeyDictionary()
        if self.display:
            print(self.get_table(self.depth))
        return False

    def get_total_flops(self):
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self):
        """{module name: {op name: flops}}, ``"Global"`` holding every op."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None):
        """The counts per module down to ``depth`` levels, with each op's share of the total."""
        depth = 999999 if depth is None else depth
        total = self.get_total_flops()
        rows = []
        for name in sorted(self.flop_counts):
            level = 0 if name == "Global" else name.count(".") + 1
            if level > depth:
                continue
            counts = self.flop_counts[name]
            pad = " " * level
            rows.append((pad + name, sum(counts.values())))
            rows.extend((f"{pad} - {op}", n) for op, n in counts.items())
        if not rows:
            rows = [("Global", 0)]
        width = max(len("Module"), *(len(r[0]) for r in rows))
        lines = [f"{'Module':<{width}}  {'FLOP':>12}  {'% Total':>8}"]
        lines += [f"{n:<{width}}  {f:>12,}  {_percent(f, total):>8}" for n, f in rows]
        return "\n".join(lines)

    # -- the recorder protocol of Function.apply ----------------------------------------------
    def record(self, cls, args, kwargs):
        self.entered = cls
        try:
            if self._previous is not None:
                out = self._previous.record(cls, args, kwargs)
            else:
                out = cls.apply(*args, **kwargs)
        finally:
            self.entered = None
        formula = self._formulas.get(cls)
        if formula is not None:
            counted = formula(*args, out, **kwargs)
            if counted is not None:
                self._count(*counted, out)
        return out

    def open(self, name, shapes=None):
        """A ``record_function`` range: passed on to the profiler active around the counter."""
        if self._previous is not None:
            self._previous.open(name, shapes)

    def close(self):
        if self._previous is not None:
            self._previous.close()

    def _count(self, op, flops, out):
        parents = self._parents()
        for name in parents:
            self.flop_counts[name][op] += flops
        node = getattr(out, "grad_fn", None)
        if node is not None:
            self._node_parents[node] = parents

    def _parents(self):
        """The names of the modules the current op runs in, with ``"Global"``."""
        names = {"Global"}
        modules = []
        frame = sys._getframe(3)
        while frame is not None:
            code = frame.f_code
            if code in self._call_codes:
                modules.append(frame.f_locals["self"])
            elif code is self._run_node_code:
                names.update(self._node_parents.get(frame.f_locals["node"], ()))
            frame = frame.f_back
        for module in reversed(modules):  # outermost first, so that it names its children
            names.add(self._name_of(module))
        return frozenset(names)

    def _name_of(self, module):
        """The module's name: its class name, unless a module seen before named it its child
        (``Parent.child``); naming a module names all its descendants."""
        known = self._module_names.get(id(module))
        if known is None or known[0] is not module:
            known = self._module_names[id(module)] = (module, type(module).__name__, False)
        _, name, named_children = known
        if not named_children:
            self._module_names[id(module)] = (module, name, True)
            for child_name, child in module.named_children():
                self._module_names[id(child)] = (child, f"{name}.{child_name}", False)
                self._name_of(child)
        return name


def _percent(part, whole):
    return f"{100 * part / whole:.2f}%" if whole else "0%"
