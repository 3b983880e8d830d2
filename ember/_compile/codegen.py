"""Python source for a fused kernel: NumPy ufunc calls writing into reused buffers.

Measured on this machine (float32, 32x64x512, the tanh-GELU chain): NumPy's vectorised
transcendental loops beat both numexpr (no VML here; its tanh took 26x NumPy's) and Numba
(scalar ``tanhf``: 8.6 ms against NumPy's 1.0 ms for the chain), so a kernel is a straight
sequence of ufunc calls with ``out=`` into a few buffers, run over cache-sized pieces of
the output. One kernel computes several outputs (a backward gives one gradient per input)
and shares the terms they have in common.
"""

import numpy as np

from ember._compile.expr import COMPARISONS, topological
from ember._ops.unary import sign_array
from ember.backends.numpy.erf import erf
from ember.backends.numpy.gelu import gelu, gelu_grad


class Unsupported(Exception):
    """The chain cannot be compiled for these operand dtypes; it runs eagerly instead."""


# emitted as calls that read an operand after writing the target, which must differ from it
_READS_AFTER_WRITING = frozenset(("where", "pow", "erf", "gelu", "gelu_backward"))

_UFUNCS = {
    "add": "np.add", "sub": "np.subtract", "mul": "np.multiply", "div": "np.true_divide",
    "neg": "np.negative", "exp": "np.exp", "log": "np.log", "tanh": "np.tanh",
    "sqrt": "np.sqrt", "abs": "np.absolute", "sin": "np.sin", "cos": "np.cos",
    "sign": "sign", "erf": "erf", "gelu": "gelu", "gelu_backward": "gelu_grad",
    "gt": "np.greater", "lt": "np.less",
    "ge": "np.greater_equal", "le": "np.less_equal", "eq": "np.equal", "ne": "np.not_equal",
}  # fmt: skip


def generate(roots, input_kinds, dtype, name="fused"):
    """Compile ``roots`` (terms) into ``name(x0, x1, ..., out0, out1, ...)``.

    ``input_kinds[i]`` is "float" (an array or scalar of ``dtype``) or "bool" (a bool array);
    each root's value is written into the matching ``out`` array, whose shape every operand
    broadcasts to. Returns ``(function, source)``.
    """
    dtype = np.dtype(dtype)
    order = [t for t in topological(roots) if t.op != "input"]
    kinds = {}
    for t in topological(roots):
        kinds[id(t)] = _kind(t, kinds, input_kinds)
    last_use = {}
    for step, t in enumerate(order):
        for a in t.args:
            last_use[id(a)] = step
    root_slot = {}
    for i, r in enumerate(roots):
        root_slot.setdefault(id(r), f"out{i}")
    names, constants, free, lines = {}, {}, {"float": [], "bool": []}, []
    for t in topological(roots):
        if t.op == "input":
            names[id(t)] = f"x{t.value}"
    temp_count = 0
    for step, t in enumerate(order):
        if t.op == "const":
            cname = f"c{len(constants)}"
            constants[cname] = (
                np.bool_(t.value) if isinstance(t.value, bool) else dtype.type(t.value)
            )
            names[id(t)] = cname
            continue
        args = [names[id(a)] for a in t.args]
        dying = [id(a) for a in t.args if last_use.get(id(a)) == step]
        if t.op not in _READS_AFTER_WRITING:  # a ufunc may overwrite an operand it has read
            _release(dying, names, kinds, free, root_slot)
        target = root_slot.get(id(t))
        if target is None:
            kind = kinds[id(t)]
            if free[kind]:
                target = free[kind].pop()
            else:
                target = f"t{temp_count}"
                temp_count += 1
                lines.append(f"    {target} = empty(shape, {'bool_' if kind == 'bool' else 'dt'})")
        names[id(t)] = target
        lines.append(_emit(t, args, target, dtype))
        if t.op in _READS_AFTER_WRITING:
            _release(dying, names, kinds, free, root_slot)
    for i, r in enumerate(roots):
        slot = f"out{i}"
        if names[id(r)] != slot:
            lines.append(f"    np.copyto({slot}, {names[id(r)]})")
    inputs = sorted({t.value for t in topological(roots) if t.op == "input"})
    count = max([*inputs, len(input_kinds) - 1]) + 1
    params = [f"x{i}" for i in range(count)] + [f"out{i}" for i in range(len(roots))]
    source = f"def {name}({', '.join(params)}):\n    shape = out0.shape\n" + "\n".join(lines)
    namespace = {
        "np": np, "empty": np.empty, "erf": erf, "sign": sign_array, "gelu": gelu,
        "gelu_grad": gelu_grad,
        "dt": dtype, "bool_": np.bool_, **constants,
    }  # fmt: skip
    exec(compile(source, f"<ember fused kernel {name}>", "exec"), namespace)
    return namespace[name], source


def _release(dying, names, kinds, free, root_slot):
    for key in dying:
        name = names[key]
        if name.startswith("t") and name not in free[kinds[key]]:
            free[kinds[key]].append(name)


def _kind(t, kinds, input_kinds):
    if t.op == "input":
        if t.value >= len(input_kinds):
            raise Unsupported(f"input x{t.value} has no dtype")
        return input_kinds[t.value]
    if t.op == "const":
        return "bool" if isinstance(t.value, bool) else "float"
    if t.op in COMPARISONS:
        return "bool"
    if t.op == "where":
        if kinds[id(t.args[0])] != "bool":
            raise Unsupported("where's condition must be a bool tensor")
        return "float"
    if all(kinds[id(a)] == "bool" for a in t.args):
        raise Unsupported(f"{t.op} of bool operands only")
    return "float"


def _emit(t, args, target, dtype):
    op = t.op
    if op == "where":
        cond, yes, no = args
        return f"    np.copyto({target}, {no}); np.copyto({target}, {yes}, where={cond})"
    if op == "sigmoid":  # as ember's sigmoid: 1 / (1 + exp(-x))
        x, o = args[0], target
        return (
            f"    np.negative({x}, out={o}); np.exp({o}, out={o}); "
            f"np.add({o}, dt.type(1), out={o}); np.reciprocal({o}, out={o})"
        )
    if op == "relu":
        return f"    np.maximum({args[0]}, dt.type(0), out={target})"
    if op == "pow":
        return _emit_pow(args[0], t.value, target)
    return f"    {_UFUNCS[op]}({', '.join(args)}, out={target})"


def _emit_pow(x, exponent, target):
    """NumPy's generic power is slow (about 40x a multiply): small exponents are written out."""
    if exponent == 0.0:
        return f"    {target}.fill(1)"
    if exponent == 2.0:
        return f"    np.multiply({x}, {x}, out={target})"
    if exponent == 3.0:
        return f"    np.multiply({x}, {x}, out={target}); np.multiply({target}, {x}, out={target})"
    if exponent == 0.5:
        return f"    np.sqrt({x}, out={target})"
    if exponent == -1.0:
        return f"    np.true_divide(dt.type(1), {x}, out={target})"
    if exponent == -2.0:
        square = f"np.multiply({x}, {x}, out={target})"
        return f"    {square}; np.true_divide(dt.type(1), {target}, out={target})"
    return f"    np.power({x}, dt.type({exponent!r}), out={target})"
