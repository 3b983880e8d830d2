"""Which graph nodes are elementwise primitives, and their expressions.

``expression(node, root, builder, operand)`` gives the term a node computes, or None when
the node is not one the fuser knows (or is called with options that change its meaning, such
as ``alpha=``, ``rounding_mode=`` or ``inplace=True``). ``operand(arg)`` turns one of the
node's arguments into a term (an earlier term of the chain, a new chain input or a constant)
and raises ``NotFusible`` for anything else.
"""

import math
import operator

import ember
import ember.nn.functional as F
from ember import nn

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class NotFusible(Exception):
    """The node's arguments or options are outside what a fused kernel computes."""


def _gelu(b, x, approximate="none"):
    if approximate == "tanh":
        inner = b.mul(b.const(_SQRT_2_OVER_PI), b.add(x, b.mul(b.const(0.044715), b.pow(x, 3))))
        return b.mul(b.mul(b.const(0.5), x), b.add(b.const(1.0), b.op("tanh", inner)))
    if approximate != "none":
        raise NotFusible(approximate)
    return b.op("gelu", x)


def _unary(name):
    return lambda b, x: b.op(name, x)


def _binary(name):
    return lambda b, x, y: b.op(name, x, y)


_BINARY = {
    "add": (operator.add, ember.add, "add", "__add__"),
    "sub": (operator.sub, ember.sub, ember.subtract, "sub", "__sub__"),
    "mul": (operator.mul, ember.mul, ember.multiply, "mul", "__mul__"),
    "div": (operator.truediv, ember.div, ember.true_divide, "div", "true_divide", "__truediv__"),
    "gt": (operator.gt, ember.gt, ember.greater, "gt"),
    "lt": (operator.lt, ember.lt, ember.less, "lt"),
    "ge": (operator.ge, ember.ge, "ge"),
    "le": (operator.le, ember.le, "le"),
    "eq": (operator.eq, ember.eq, "eq"),
    "ne": (operator.ne, ember.ne, "ne"),
}
_UNARY = {
    "neg": (operator.neg, ember.neg, ember.negative, "neg", "negative", "__neg__"),
    "exp": (ember.exp, "exp"),
    "log": (ember.log, "log"),
    "tanh": (ember.tanh, F.tanh, "tanh"),
    "sigmoid": (ember.sigmoid, F.sigmoid, "sigmoid"),
    "erf": (ember.erf, "erf"),
    "sqrt": (ember.sqrt, "sqrt"),
    "abs": (operator.abs, ember.abs, "abs"),
    "sin": (ember.sin, "sin"),
    "cos": (ember.cos, "cos"),
    "relu": (F.relu, "relu"),
}

# target (function object or method name) -> (builder, operands...) -> term
_BUILDERS = {}
for _name, _targets in _BINARY.items():
    for _target in _targets:
        _BUILDERS[_target] = _binary(_name)
for _name, _targets in _UNARY.items():
    for _target in _targets:
        _BUILDERS[_target] = _unary(_name)
for _target in (ember.rsqrt, "rsqrt"):
    _BUILDERS[_target] = lambda b, x: b.pow(x, -0.5)
for _target in (ember.square, "square"):
    _BUILDERS[_target] = lambda b, x: b.pow(x, 2)
for _target in (F.silu,):
    _BUILDERS[_target] = lambda b, x: b.mul(x, b.op("sigmoid", x))
_BUILDERS[F.gelu] = _gelu
_BUILDERS[ember.where] = lambda b, c, x, y: b.op("where", c, x, y)

_MODULES = {
    nn.ReLU: lambda b, m, x: None if m.inplace else b.op("relu", x),
    nn.GELU: lambda b, m, x: _gelu(b, x, m.approximate),
    nn.SiLU: lambda b, m, x: None if m.inplace else b.mul(x, b.op("sigmoid", x)),
    nn.Tanh: lambda b, m, x: b.op("tanh", x),
    nn.Sigmoid: lambda b, m, x: b.op("sigmoid", x),
}

# keyword options that leave an op's meaning unchanged at these values
_NEUTRAL_KWARGS = {"alpha": 1, "inplace": False, "rounding_mode": None, "out": None}
_POWERS = (operator.pow, ember.pow, "pow", "__pow__")


def expression(node, root, builder, operand):
    """The term ``node`` computes, or None; see the module docstring."""
    try:
        return _expression(node, root, builder, operand)
    except NotFusible:
        return None


def _expression(node, root, builder, operand):
    if node.op == "call_module":
        module = root.get_submodule(node.target)
        make = _MODULES.get(type(module))
        if make is None or len(node.args) != 1 or node.kwargs:
            return None
        return make(builder, module, operand(node.args[0]))
    if node.op not in ("call_function", "call_method"):
        return None
    target = node.target
    kwargs = dict(node.kwargs)
    for key in list(kwargs):
        if key in _NEUTRAL_KWARGS and kwargs[key] == _NEUTRAL_KWARGS[key]:
            del kwargs[key]
    if target in _POWERS:
        if kwargs or len(node.args) != 2 or not _is_number(node.args[1]):
            return None
        return builder.pow(operand(node.args[0]), node.args[1])
    try:
        make = _BUILDERS.get(target)
    except TypeError:  # an unhashable target
        return None
    if make is None:
        return None
    if target is F.gelu:
        if set(kwargs) - {"approximate"} or len(node.args) != 1:
            return None
        return _gelu(builder, operand(node.args[0]), kwargs.get("approximate", "none"))
    if kwargs or len(node.args) != make.__code__.co_argcount - 1:  # e.g. one-argument where
        return None
    return make(builder, *[operand(a) for a in node.args])


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
