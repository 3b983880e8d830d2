"""Reverse-mode symbolic differentiation of a chain: the backward kernel's expression.

Each primitive's local derivative is written beside its name in ``_RULES``; ``gradients``
walks the chain from its output back to its inputs, summing the contributions of every use,
and gives one expression per input in terms of the inputs and the incoming gradient only
(forward intermediates are recomputed in the backward kernel, never saved).
"""

import math

from ember._compile.expr import COMPARISONS, topological

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _where_true(b, t, g):
    return b.op("where", t.args[0], g, b.const(0.0))


def _where_false(b, t, g):
    return b.op("where", t.args[0], b.const(0.0), g)


# op -> one function per argument: (builder, term, incoming gradient) -> gradient of that arg
_RULES = {
    "add": (lambda b, t, g: g, lambda b, t, g: g),
    "sub": (lambda b, t, g: g, lambda b, t, g: b.neg(g)),
    "mul": (lambda b, t, g: b.mul(g, t.args[1]), lambda b, t, g: b.mul(g, t.args[0])),
    "div": (
        lambda b, t, g: b.div(g, t.args[1]),
        lambda b, t, g: b.neg(b.div(b.mul(g, t), t.args[1])),
    ),
    "neg": (lambda b, t, g: b.neg(g),),
    "pow": (lambda b, t, g: b.mul(g, b.mul(b.const(t.value), b.pow(t.args[0], t.value - 1.0))),),
    "exp": (lambda b, t, g: b.mul(g, t),),
    "log": (lambda b, t, g: b.div(g, t.args[0]),),
    "tanh": (lambda b, t, g: b.mul(g, b.sub(b.const(1.0), b.mul(t, t))),),
    "sigmoid": (lambda b, t, g: b.mul(g, b.mul(t, b.sub(b.const(1.0), t))),),
    "relu": (lambda b, t, g: b.op("where", b.op("gt", t.args[0], b.const(0.0)), g, b.const(0.0)),),
    "erf": (
        lambda b, t, g: b.mul(
            g,
            b.mul(b.const(_TWO_OVER_SQRT_PI), b.op("exp", b.neg(b.mul(t.args[0], t.args[0])))),
        ),
    ),
    "sqrt": (lambda b, t, g: b.div(g, b.mul(b.const(2.0), t)),),
    "abs": (lambda b, t, g: b.mul(g, b.op("sign", t.args[0])),),
    "sign": (lambda b, t, g: b.mul(g, b.const(0.0)),),
    "sin": (lambda b, t, g: b.mul(g, b.op("cos", t.args[0])),),
    "cos": (lambda b, t, g: b.neg(b.mul(g, b.op("sin", t.args[0]))),),
    "gelu": (lambda b, t, g: b.op("gelu_backward", g, t.args[0]),),
    "where": (None, _where_true, _where_false),
}


def gradients(builder, output, grad, input_count):
    """Expressions for d(output)/d(input i) times ``grad``, for i in range(input_count); None
    for an input the output does not depend on differentiably."""
    adjoint = {id(output): grad}
    for term in reversed(topological([output])):
        g = adjoint.get(id(term))
        if g is None or term.op in ("input", "const") or term.op in COMPARISONS:
            continue
        for arg, rule in zip(term.args, _RULES[term.op]):
            if rule is None or arg.op == "const":
                continue
            contribution = rule(builder, term, g)
            previous = adjoint.get(id(arg))
            adjoint[id(arg)] = (
                contribution if previous is None else builder.add(previous, contribution)
            )
    found = {t.value: adjoint.get(id(t)) for t in topological([output]) if t.op == "input"}
    return [found.get(i) for i in range(input_count)]
