"""Proxy: the stand-in value a traced program computes with; every use records a Node."""

import dis
import inspect
import operator

__all__ = ["Proxy", "Attribute", "ParameterProxy", "TraceError"]


def __getattr__(name):
    """GraphAppendingTracer is defined with the Tracer it extends; found here, as in torch."""
    if name == "GraphAppendingTracer":
        from ember.fx._symbolic_trace import GraphAppendingTracer

        return GraphAppendingTracer
    raise AttributeError(f"module 'ember.fx.proxy' has no attribute '{name}'")


class TraceError(ValueError):
    """A traced program did something symbolic tracing cannot record (e.g. branch on a value)."""


class Proxy:
    """Wraps a Node during tracing; operators, method calls and ember functions on it are
    recorded in the tracer's graph instead of being computed."""

    def __init__(self, node, tracer=None):
        if tracer is None:
            tracer = __getattr__("GraphAppendingTracer")(node.graph)
        self.tracer = tracer
        self.node = node

    def __repr__(self):
        return f"Proxy({self.node.name})"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy/pickle probing must not record nodes
        return Attribute(self, name)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        frame = inspect.currentframe().f_back
        for inst in dis.get_instructions(frame.f_code):
            if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                return (self[i] for i in range(inst.argval))
        return self.tracer.iter(self)

    def __bool__(self):
        return self.tracer.to_bool(self)

    def __len__(self):
        raise RuntimeError(
            "'len' is not supported in symbolic tracing by default. If you want this call to "
            "be recorded, please call ember.fx.wrap('len') at module scope"
        )

    def keys(self):
        return self.tracer.keys(self)

    def __deepcopy__(self, memo):
        raise TraceError(f"{self!r} cannot be deep-copied during symbolic tracing")

    __hash__ = object.__hash__


class Attribute(Proxy):
    """proxy.name: becomes a call_method when called, a getattr node when used as a value."""

    def __init__(self, root, attr):
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy(
                "call_function", getattr, (self.root, self.attr), {}
            ).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


class ParameterProxy(Proxy):
    """A parameter's Proxy when the tracer has ``param_shapes_constant``: its shape, size,
    dim and element count are the parameter's own constants, not recorded nodes."""

    def __init__(self, tracer, node, param):
        super().__init__(node, tracer)
        self.param = param

    @property
    def shape(self):
        return self.param.shape

    @property
    def ndim(self):
        return self.param.ndim

    def size(self, dim=None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self):
        return self.param.dim()

    def numel(self):
        return self.param.numel()

    def nelement(self):
        return self.param.numel()


def _binary(fn):
    def forward(self, other):
        return self.tracer.create_proxy("call_function", fn, (self, other), {})

    def reflected(self, other):
        return self.tracer.create_proxy("call_function", fn, (other, self), {})

    return forward, reflected


for _name, _fn in {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "lshift": operator.lshift, "rshift": operator.rshift, "and": operator.and_,
    "or": operator.or_, "xor": operator.xor, "matmul": operator.matmul,
}.items():  # fmt: skip
    _fwd, _refl = _binary(_fn)
    setattr(Proxy, f"__{_name}__", _fwd)
    setattr(Proxy, f"__r{_name}__", _refl)

for _name, _fn in {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "gt": operator.gt,
    "le": operator.le, "ge": operator.ge, "getitem": operator.getitem,
}.items():  # fmt: skip
    setattr(Proxy, f"__{_name}__", _binary(_fn)[0])

for _name, _fn in {
    "neg": operator.neg, "pos": operator.pos, "invert": operator.invert, "abs": operator.abs,
}.items():  # fmt: skip
    setattr(
        Proxy,
        f"__{_name}__",
        (lambda fn: lambda self: self.tracer.create_proxy("call_function", fn, (self,), {}))(_fn),
    )
