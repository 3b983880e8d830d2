"""Element-wise formulas of many steps in one pass on oneDNN: a binary primitive whose result
goes through a chain of post-ops before it is written.

A formula such as a polynomial costs NumPy a pass over memory per operation, on one core;
here each element goes through every step while it sits in a register, on every core. A step
is an eltwise function (``linear(alpha, beta)`` is ``alpha * v + beta``, ``function("exp")``) or a
binary operation with an array of the same size (``with_array("multiply")``), which reads
that array alongside. A formula starts with a binary operation of two arrays.

Each step rounds to float32 once: a binary step as NumPy's operation does, ``linear`` as a
fused multiply-add (``alpha * v + beta`` rounded once, where NumPy's ``v * alpha + beta``
rounds twice; with alpha 1 or -1 the two agree). A formula is deterministic element by
element, whatever the thread count.

oneDNN's binary maximum and minimum return their second operand where either is NaN, so in a
post-op (the running value first) a NaN of the running value is lost unless the array's
element is NaN too; formulas here arrange their steps for that.
"""

import numpy as np

from ember import _runtime
from ember.backends.onednn import binary, eltwise, library

BINARY = {
    "add": binary.ALGORITHMS[np.add],
    "multiply": binary.ALGORITHMS[np.multiply],
    "maximum": 0x1FFF2,  # dnnl_binary_max
    "minimum": 0x1FFF3,  # dnnl_binary_min
}
"""dnnl_alg_kind_t of the binary operations taken here."""
_LINEAR = 0x26
_cache = library.RecentlyUsed(32)


def linear(alpha, beta):
    """The step ``alpha * v + beta`` (beta -0.0 keeps the sign of a zero result)."""
    return ("eltwise", _LINEAR, float(alpha), float(beta))


def function(name, alpha=0.0, beta=0.0):
    """The step ``name(v)`` of `eltwise.ALGORITHMS` with its parameters: "abs", "exp"
    (oneDNN's, which flushes to 0 below about -87 and gives +inf for NaN), "clip_v2" (to
    [alpha, beta]; NaN gives alpha), "relu" (NaN gives 0)."""
    return ("eltwise", eltwise.ALGORITHMS[name], float(alpha), float(beta))


def with_array(operation):
    """The step ``operation(v, a)`` for the next array given to `run`."""
    return ("binary", BINARY[operation])


def horner(coefficients):
    """Steps continuing ``v`` into the polynomial with ``coefficients`` (highest power first)
    in ``v`` itself by Horner's rule: a linear step, then a product with the array (which `run`
    must be given ``len(coefficients) - 2`` times, once per product) and a linear step for
    each further coefficient."""
    steps = [linear(coefficients[0], coefficients[1])]
    for c in coefficients[2:]:
        steps += [with_array("multiply"), linear(1, c)]
    return tuple(steps)


class _Pass:
    """The primitive of one formula on flat arrays of ``n`` elements; ``runner`` is None where
    oneDNN refuses it or has only scalar code for it."""

    def __init__(self, n, first, steps):
        self.md = library.Desc((n,), tag=library.TAG_A)
        whole, lib = self.md.handle, library._lib

        def append(step):
            if step[0] == "eltwise":
                return lambda ops: lib.dnnl_post_ops_append_eltwise(ops, *step[1:])
            return lambda ops: lib.dnnl_post_ops_append_binary(ops, step[1], whole)

        kernel = binary.primitive(
            BINARY[first], whole, whole, whole, binary.post_ops(*map(append, steps))
        )
        args = [(library.ARG_SRC, whole), (library.ARG_SRC_1, whole)]
        args += [
            (library.post_op_src(i), whole) for i, step in enumerate(steps) if step[0] == "binary"
        ]
        args.append((library.ARG_DST, whole))
        self.runner = library.vectorised_runner(kernel, args)


def run(first, steps, a, b, arrays, out):
    """``out`` = the formula ``first(a, b)`` (a name of ``BINARY``) followed by ``steps``,
    whose binary steps read ``arrays`` in order; every array `plain_float32`, of one size,
    ``out`` apart from the others. Returns ``out``, or None where oneDNN declines."""
    if not library.available():
        return None
    key = (first, steps, out.size, _runtime.get_num_threads())
    runner = _cache.get(key, lambda: _Pass(out.size, first, steps)).runner
    if runner is None:
        return None
    runner.run(a, b, *arrays, out)
    return out


def plain_float32(*arrays):
    """Whether every array is a flat C-contiguous float32 NumPy array of the first's size."""
    n = arrays[0].size
    return all(
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.ndim == 1
        and x.size == n
        and x.flags.c_contiguous
        for x in arrays
    )
