"""The expression language of a fused elementwise chain.

A chain is a DAG of ``Term`` objects: inputs (the chain's operands, by position), constants
and primitive operations. One ``Builder`` makes every term of a chain and of its derivative,
and gives back the existing term for a repeated ``(op, args)``, so a subexpression shared by
the forward and the backward is computed once in a kernel.
"""

import math

UNARY = frozenset(
    ("neg", "exp", "log", "tanh", "sigmoid", "relu", "erf", "sqrt", "abs", "sin", "cos", "sign")
    + ("gelu",)  # exact GELU, x Phi(x): ember's kernel, faster than its erf expansion
)
# gelu_backward(g, x) = g (Phi(x) + x phi(x)), only made by the derivative of gelu
BINARY = frozenset(
    ("add", "sub", "mul", "div", "gt", "lt", "ge", "le", "eq", "ne", "gelu_backward")
)
COMPARISONS = frozenset(("gt", "lt", "ge", "le", "eq", "ne"))
# pow takes a constant exponent (term.value); where takes (condition, if_true, if_false)
OPS = UNARY | BINARY | {"pow", "where"}


class Term:
    """One node of a chain: ``op`` is "input", "const" or a primitive in ``OPS``."""

    __slots__ = ("op", "args", "value")

    def __init__(self, op, args=(), value=None):
        self.op, self.args, self.value = op, args, value

    def __repr__(self):
        if self.op == "input":
            return f"x{self.value}"
        if self.op == "const":
            return repr(self.value)
        extra = [repr(self.value)] if self.op == "pow" else []
        return f"{self.op}({', '.join([*map(repr, self.args), *extra])})"


class Builder:
    """Makes terms, sharing equal ones and folding the identities derivatives produce."""

    def __init__(self):
        self._made = {}

    def _term(self, op, args=(), value=None):
        key = (op, tuple(id(a) for a in args), value)
        term = self._made.get(key)
        if term is None:
            term = self._made[key] = Term(op, tuple(args), value)
        return term

    def input(self, index):
        return self._term("input", value=index)

    def const(self, value):
        return self._term("const", value=float(value) if not isinstance(value, bool) else value)

    def op(self, name, *args, value=None):
        if name not in OPS:
            raise ValueError(f"fused kernel: unknown primitive {name!r}")
        folded = _fold(self, name, args, value)
        return folded if folded is not None else self._term(name, args, value)

    # shorthands used by the primitive table and the derivative rules
    def add(self, a, b):
        return self.op("add", a, b)

    def sub(self, a, b):
        return self.op("sub", a, b)

    def mul(self, a, b):
        return self.op("mul", a, b)

    def div(self, a, b):
        return self.op("div", a, b)

    def neg(self, a):
        return self.op("neg", a)

    def pow(self, a, exponent):
        return self.op("pow", a, value=float(exponent))


def _is_const(term, value=None):
    return term.op == "const" and (value is None or term.value == value)


def _fold(b, name, args, value):
    """A simpler equal term for ``name(*args)``, or None. Only exact identities are used, so a
    fused result matches the unfused one (``x * 1`` is ``x``; ``0 * x`` is not folded, since
    it is NaN for an infinite x)."""
    if all(_is_const(a) for a in args) and name in _CONST_EVAL:
        return b.const(_CONST_EVAL[name](*[a.value for a in args], value))
    if name == "mul":
        x, y = args
        if _is_const(x, 1.0):
            return y
        if _is_const(y, 1.0):
            return x
    if name == "add":
        x, y = args
        if _is_const(x, 0.0):
            return y
        if _is_const(y, 0.0):
            return x
    if name == "sub" and _is_const(args[1], 0.0):
        return args[0]
    if name == "div" and _is_const(args[1], 1.0):
        return args[0]
    if name == "neg" and args[0].op == "neg":
        return args[0].args[0]
    if name == "pow" and value == 1.0:
        return args[0]
    return None


_CONST_EVAL = {
    "add": lambda a, b, _: a + b,
    "sub": lambda a, b, _: a - b,
    "mul": lambda a, b, _: a * b,
    "neg": lambda a, _: -a,
    "exp": lambda a, _: math.exp(a),
    "sqrt": lambda a, _: math.sqrt(a) if a >= 0 else math.nan,
}


def topological(roots):
    """Every term reachable from ``roots``, each after its arguments."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        term, expanded = stack.pop()
        if id(term) in seen:
            continue
        if expanded:
            seen.add(id(term))
            order.append(term)
            continue
        stack.append((term, True))
        stack.extend((a, False) for a in reversed(term.args) if id(a) not in seen)
    return order
