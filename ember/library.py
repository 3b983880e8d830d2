"""ember.library: user-defined operators, as ``torch.library`` defines them.

``custom_op("ns::name", mutates_args=())`` turns a Python function into an operator, reachable
as ``ember.ops.ns.name``. Its implementation runs below autograd: gradients flow through it only
by the backward given to ``register_autograd``, run by ember's autograd as an
``ember.autograd.Function``. ``register_fake`` records the shape-only implementation PyTorch's
compiler uses; ember runs eagerly and never calls it. ``Library(ns, "DEF").define(schema)`` and
``impl(name, fn, dispatch_key)`` register an operator from a schema string; its implementation
runs as an ordinary function, so gradients flow through the ember ops it uses.
"""

import inspect
import re

from ember._tensor import Tensor
from ember.autograd import Function
from ember.autograd.grad_mode import no_grad
from ember.autograd.profiler import record_function

__all__ = [
    "Library", "custom_op", "define", "impl", "register_autograd", "register_fake",
    "register_kernel", "CustomOpDef",
]  # fmt: skip

_KINDS = ("DEF", "IMPL", "FRAGMENT")


def _dispatch_order(args):
    """The dispatch keys to look for, first to last, for a call on ``args``: autograd keys,
    the composite kernel, then the kernel of the first tensor argument's device."""
    device = next((a.device.type for a in args if isinstance(a, Tensor)), "cpu").upper()
    return (
        "Autograd", f"Autograd{device}", "CompositeImplicitAutograd", device,
        "CompositeExplicitAutograd",
    )  # fmt: skip


def _split_qualname(qualname):
    namespace, sep, name = qualname.partition("::")
    if not sep or not namespace or not name or "::" in name:
        raise ValueError(
            f"expected an operator name of the form 'namespace::name' (e.g. 'mylib::my_op'), "
            f"got {qualname!r}"
        )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.partition(".")[0]):
        raise ValueError(f"{qualname!r}: the operator name must be a Python identifier")
    return namespace, name.partition(".")[0]


class OpOverload:
    """``ember.ops.ns.name``: calls the operator (``.default`` is the same operator, as the
    one overload ember keeps)."""

    def __init__(self, namespace, name):
        self._namespace = namespace
        self.__name__ = name
        self._qualname = f"{namespace}::{name}"
        self._kernels = {}
        self._schema = None
        self._custom = None  # the CustomOpDef, for operators made by custom_op

    @property
    def default(self):
        return self

    def overloads(self):
        return ["default"]

    def __repr__(self):
        return f"{self._namespace}.{self.__name__}"

    def __call__(self, *args, **kwargs):
        if self._custom is not None:
            return self._custom(*args, **kwargs)
        if self._schema is not None:
            self._schema.check(self._qualname, args, kwargs)
        for key in _dispatch_order((*args, *kwargs.values())):
            if key in self._kernels:
                return self._kernels[key](*args, **kwargs)
        raise NotImplementedError(
            f"{self._qualname} has no implementation: register one with "
            f"Library.impl or torch.library.impl (it has {sorted(self._kernels) or 'none'})"
        )


class _Namespace:
    """``ember.ops.ns``: the operators of one namespace."""

    def __init__(self, name):
        self._name = name
        self._ops = {}

    def __getattr__(self, attr):
        ops = self.__dict__["_ops"]
        if attr in ops:
            return ops[attr]
        raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute '{attr}'")

    def __dir__(self):
        return sorted(self._ops)


class _Ops:
    """``ember.ops``: every namespace of user-defined operators. PyTorch's built-in ``aten``
    operators are not listed here; ember's functions are called directly."""

    def __init__(self):
        self._namespaces = {}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self.__dict__["_namespaces"].setdefault(name, _Namespace(name))

    def load_library(self, path):
        raise NotImplementedError(
            f"torch.ops.load_library({path!r}): ember cannot load compiled PyTorch operator "
            "libraries; define the operator in Python with torch.library.custom_op"
        )

    def _operator(self, qualname, create=True):
        namespace, name = _split_qualname(qualname)
        ns = getattr(self, namespace)
        if name not in ns._ops:
            if not create:
                raise RuntimeError(f"operator {qualname} does not exist: define it first")
            ns._ops[name] = OpOverload(namespace, name)
        return ns._ops[name]


ops = _Ops()


def _enter_range(name, args=None):
    handle = record_function(name, args)
    handle.__enter__()
    return handle


def _exit_range(handle):
    handle.__exit__(None, None, None)


# ``ember.ops.profiler``: record_function's range as operators, which programs that trace
# record_function with torch.fx put in their graphs.
for _name, _kernel in (
    ("_record_function_enter", _enter_range),
    ("_record_function_enter_new", _enter_range),
    ("_record_function_exit", _exit_range),
):
    ops._operator(f"profiler::{_name}")._kernels["CompositeImplicitAutograd"] = _kernel


class _Schema:
    """The argument names of a schema such as ``name(Tensor x, float s=1., *, int k=2) -> Tensor``,
    to check calls the way PyTorch's dispatcher does."""

    def __init__(self, text):
        match = re.fullmatch(r"\s*([\w.]+)\s*\((.*)\)\s*->\s*(.+?)\s*", text)
        if match is None:
            raise RuntimeError(f"could not parse operator schema {text!r}")
        self.text = text.strip()
        self.name = match.group(1)
        self.positional, self.keyword_only = [], []
        target = self.positional
        for arg in _split_arguments(match.group(2)):
            if arg == "*":
                target = self.keyword_only
                continue
            declaration, _, _ = arg.partition("=")
            target.append(declaration.split()[-1])

    def check(self, qualname, args, kwargs):
        if len(args) > len(self.positional):
            raise RuntimeError(
                f"{qualname}() expected at most {len(self.positional)} argument(s) but received "
                f"{len(args)} argument(s). Declaration: {qualname}{self.text[len(self.name) :]}"
            )
        known = set(self.positional[len(args) :]) | set(self.keyword_only)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise RuntimeError(f"{qualname}() got unexpected keyword argument(s) {unknown}")


def _split_arguments(text):
    """Split a schema's argument list at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


class Library:
    """A namespace's operator registrations: ``Library("mylib", "DEF")`` may define operators,
    ``"IMPL"`` only implements existing ones, ``"FRAGMENT"`` does both."""

    def __init__(self, ns, kind, dispatch_key=""):
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind!r}; expected one of {_KINDS}")
        self.ns = ns
        self.kind = kind
        self.dispatch_key = dispatch_key

    def __repr__(self):
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})"

    def define(self, schema, alias_analysis="", *, tags=()):
        """Declare an operator from its schema; returns its name."""
        if self.kind == "IMPL":
            raise RuntimeError(f"Library(ns={self.ns!r}, 'IMPL') cannot define operators")
        parsed = _Schema(schema)
        op = ops._operator(f"{self.ns}::{parsed.name}")
        op._schema = parsed
        return parsed.name

    def impl(self, op_name, fn, dispatch_key="", *, with_keyset=False, allow_override=True):
        """Use ``fn`` as the operator's implementation for ``dispatch_key``."""
        if with_keyset:
            raise NotImplementedError("Library.impl: with_keyset=True is not supported by ember")
        name = op_name.__name__ if isinstance(op_name, OpOverload) else op_name
        qualname = name if "::" in name else f"{self.ns}::{name}"
        key = dispatch_key or self.dispatch_key or "CompositeImplicitAutograd"
        ops._operator(qualname, create=False)._kernels[key] = fn


def define(qualname, schema, *, lib=None, tags=()):
    """``torch.library.define("ns::name", "(Tensor x) -> Tensor")``."""
    namespace, name = _split_qualname(qualname)
    (lib or Library(namespace, "FRAGMENT")).define(name + schema, tags=tags)


def impl(qualname, types, func=None, *, lib=None):
    """Register ``func`` for the device type(s) ``types`` ("cpu", "cuda", "default");
    usable as a decorator."""

    def register(fn):
        if isinstance(qualname, CustomOpDef):
            qualname.register_kernel(types, fn)
            return fn
        op = ops._operator(qualname, create=False)
        if op._custom is not None:
            op._custom.register_kernel(types, fn)
            return fn
        for device in [types] if isinstance(types, str) else types:
            op._kernels[_DEVICE_KEYS.get(device, device)] = fn
        return fn

    return register if func is None else register(func)


_DEVICE_KEYS = {"cpu": "CPU", "cuda": "CUDA", "default": "CompositeExplicitAutograd"}


class CustomOpDef:
    """An operator made by ``custom_op``: call it like the function it wraps."""

    def __init__(self, namespace, name, fn, mutates_args):
        self._namespace = namespace
        self._name = name
        self._init_fn = fn
        self._kernels = {}
        self._mutates_args = mutates_args
        self._signature = inspect.signature(fn)
        self._fake_fn = None
        self._backward = None
        self._setup_context = None
        self._function = _no_formula_function(f"{namespace}.{name}.default")
        self.__name__ = name
        self.__doc__ = fn.__doc__

    def __repr__(self):
        return f"<CustomOpDef({self._namespace}::{self._name})>"

    def __call__(self, *args, **kwargs):
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        # Every input positional, in the signature's order, so that autograd sees them all.
        return self._function.apply(self, *bound.arguments.values())

    def _run(self, *inputs):
        """The implementation for the device of the first tensor input, below autograd."""
        args, kwargs = [], {}
        for p, value in zip(self._signature.parameters.values(), inputs):
            if p.kind is inspect.Parameter.KEYWORD_ONLY:
                kwargs[p.name] = value
            else:
                args.append(value)
        device = next((a.device.type for a in inputs if isinstance(a, Tensor)), None)
        fn = self._kernels.get(device, self._init_fn)
        with no_grad():
            return fn(*args, **kwargs)

    def register_kernel(self, device_types, fn=None, /):
        """Use ``fn`` for the given device type(s) instead of the function ``custom_op`` wraps."""

        def register(f):
            for device in [device_types] if isinstance(device_types, str) else device_types:
                self._kernels[device] = f
            return f

        return register if fn is None else register(fn)

    def register_fake(self, fn, /):
        """Record the shape-only implementation used by PyTorch's compiler (never called here)."""
        self._fake_fn = fn
        return fn

    def register_autograd(self, backward, /, *, setup_context=None):
        """Differentiate the operator with ``backward(ctx, *grads)`` returning one gradient per
        input (None for non-tensors); ``setup_context(ctx, inputs, output)`` saves what it
        needs, as in ``ember.autograd.Function``."""
        self._backward = backward
        self._setup_context = setup_context
        self._function = _formula_function(f"{self._namespace}.{self._name}.default", self)


def _no_formula_function(qualname):
    """The Function a custom op without ``register_autograd`` runs through: backward fails."""

    def forward(ctx, op, *args):
        return op._run(*args)

    def backward(ctx, *grads):
        raise RuntimeError(
            f"Trying to backward through {qualname} but no autograd formula was registered. "
            "Please use register_autograd to add one."
        )

    return _function_class(qualname, forward, backward)


def _formula_function(qualname, op):
    """The Function a custom op with ``register_autograd`` runs through. ``ctx`` leaves out the
    operator itself: ``ctx.needs_input_grad`` has one entry per input of the operator."""

    def forward(ctx, op, *args):
        output = op._run(*args)
        if op._setup_context is not None:
            op._setup_context(ctx, args, output)
        return output

    def backward(ctx, *grads):
        full_needs = ctx.needs_input_grad
        ctx.needs_input_grad = full_needs[1:]
        try:
            result = op._backward(ctx, *grads)
        finally:
            ctx.needs_input_grad = full_needs
        result = result if isinstance(result, (tuple, list)) else (result,)
        if len(result) != len(full_needs) - 1:
            raise RuntimeError(
                f"{qualname}: the backward registered with register_autograd returned "
                f"{len(result)} gradient(s), but the operator has {len(full_needs) - 1} input(s)"
            )
        return (None, *result)

    return _function_class(qualname, forward, backward)


def _function_class(qualname, forward, backward):
    name = "GeneratedBackwardFor_" + qualname.replace(".", "_")
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})  # fmt: skip


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None, tags=None):
    """Make ``fn`` the operator ``name`` ("ns::op"); usable as a decorator. Every parameter
    needs a type annotation unless ``schema`` is given, as in PyTorch."""

    def wrap(f):
        namespace, opname = _split_qualname(name)
        for p in inspect.signature(f).parameters.values():
            if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise ValueError(
                    f"custom_op {name!r}: *{p.name} parameters are not supported; "
                    "list each input as its own parameter"
                )
            if schema is None and p.annotation is inspect.Parameter.empty:
                raise ValueError(
                    f"infer_schema(func): Parameter {p.name} must have a type annotation. "
                    f"Got func with signature {inspect.signature(f)})"
                )
        op = CustomOpDef(namespace, opname, f, mutates_args)
        if device_types is not None:
            op.register_kernel(device_types, f)
        ops._operator(name)._custom = op
        return op

    return wrap if fn is None else wrap(fn)


def _custom_op_for(op):
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, OpOverload) and op._custom is not None:
        return op._custom
    if isinstance(op, str):
        found = ops._operator(op, create=False)._custom
        if found is not None:
            return found
    raise NotImplementedError(
        f"{op!r}: ember supports register_fake, register_autograd and register_kernel on "
        "operators made by torch.library.custom_op"
    )


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """Record the fake (shape-only) implementation of ``op``; usable as a decorator."""
    custom = _custom_op_for(op)
    return custom.register_fake if func is None else custom.register_fake(func)


def register_autograd(op, backward, /, *, setup_context=None, lib=None):
    _custom_op_for(op).register_autograd(backward, setup_context=setup_context)


def register_kernel(op, device_types, func=None, /, *, lib=None):
    return _custom_op_for(op).register_kernel(device_types, func)
