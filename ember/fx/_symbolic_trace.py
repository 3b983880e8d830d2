"""Symbolic tracing: run a module's forward on Proxies and record what it does in a Graph."""

import functools
import inspect
import math
import operator
import types

import ember
from ember.fx._patching import (
    Patcher,
    handmade_proxies,
    public_functions,
    register_wrapped,
    wrapped_globals,
)
from ember.fx.graph import Graph
from ember.fx.node import Node, has_side_effect
from ember.fx.proxy import ParameterProxy, Proxy, TraceError
from ember.nn import Module, Parameter, Sequential

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "GraphAppendingTracer"]


class _PlaceholderMarker:
    """Value for concrete_args that keeps an argument a placeholder (``PH``)."""

    def __repr__(self):
        return "PH"


PH = _PlaceholderMarker()


@has_side_effect
def _assert(condition, message):
    """Raise AssertionError(message) unless condition holds (guards specialised arguments)."""
    if not condition:
        raise AssertionError(message)


@has_side_effect
def _assert_is_none(value, message):
    """Raise AssertionError(message) unless value is None."""
    if value is not None:
        raise AssertionError(message)


class Tracer:
    """Turns a module or function into a Graph by running it on Proxies.

    Subclass and override ``is_leaf_module`` (which submodules stay single call_module
    nodes), ``create_proxy``, ``call_module`` or ``create_arg`` to change what is recorded.
    """

    def __init__(
        self, autowrap_modules=(math,), autowrap_functions=(), param_shapes_constant=False
    ):
        self._autowrap_function_ids = {
            id(value)
            for module in autowrap_modules
            for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and not isinstance(value, type)
        }
        self._autowrap_function_ids |= {id(fn) for fn in autowrap_functions}
        self._autowrap_search = list(autowrap_modules)
        self.param_shapes_constant = param_shapes_constant
        self.graph = None
        self.root = None
        self.tensor_attrs = {}
        self.submodule_paths = None

    proxy_buffer_attributes = False

    # -- recording --------------------------------------------------------------------------
    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node):
        return Proxy(node, self)

    def create_proxy(
        self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None
    ):
        """Record one node for kind/target called with args/kwargs and return its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a):
        """Turn a value into something a Node can hold: Proxies become their nodes, tensors
        become get_attr nodes of the root module."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        if isinstance(a, Parameter):
            for name, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", name, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, ember.Tensor):
            qualname = self.tensor_attrs.get(id(a))
            if qualname is None:
                i = 0
                while hasattr(self.root, f"_tensor_constant{i}"):
                    i += 1
                qualname = f"_tensor_constant{i}"
                self.root.register_buffer(qualname, a)
                self.tensor_attrs[id(a)] = qualname
            return self.create_node("get_attr", qualname, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(x) for x in a))
        if isinstance(a, tuple):
            return tuple(self.create_arg(x) for x in a)
        if isinstance(a, list):
            return [self.create_arg(x) for x in a]
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                if isinstance(self.create_arg(k), Node):
                    raise RuntimeError(
                        f"Keys for dictionaries used as an argument cannot contain a Node. "
                        f"Got key: {k}"
                    )
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if (
            isinstance(a, range)
            or a is None
            or a is Ellipsis
            or isinstance(a, (str, int, float, bool, complex, bytes, ember.dtype, ember.device))
        ):
            return a
        if isinstance(a, Module):
            raise NotImplementedError(
                f"argument of type {type(a).__name__}: a module can only be called during "
                f"tracing, not passed as an argument"
            )
        if callable(a) or isinstance(a, (type, types.ModuleType)):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj):
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj):
        raise TraceError(
            "Proxy object cannot be iterated. This can be attempted when the Proxy is used in "
            "a loop or as a *args or **kwargs function argument. See the ember.fx docs for a "
            "more detailed explanation of what types of control flow can be traced, and check "
            "out the Proxy docstring for help troubleshooting Proxy iteration errors"
        )

    def keys(self, obj):
        return self.create_proxy("call_method", "keys", (obj,), {})

    # -- modules ----------------------------------------------------------------------------
    def is_leaf_module(self, m, module_qualified_name):
        """ember.nn's own layers are recorded as call_module; user modules are traced
        through (Sequential too)."""
        return type(m).__module__.startswith("ember.nn") and not isinstance(m, Sequential)

    def path_of_module(self, mod):
        """The dotted name of mod inside the root module."""
        if self.submodule_paths is not None:
            path = self.submodule_paths.get(id(mod))
            if path is not None:
                return path
        for name, m in self.root.named_modules():
            if m is mod:
                return name
        raise NameError("module is not installed as a submodule")

    def call_module(self, m, forward, args, kwargs):
        """A call of submodule m: one call_module node for a leaf, its traced body otherwise."""
        qualname = self.path_of_module(m)
        if not self.is_leaf_module(m, qualname):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", qualname, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        """Reading module attribute attr: parameters (and buffers when
        proxy_buffer_attributes) become get_attr Proxies, anything else stays as it is."""
        if isinstance(attr_val, Parameter):
            store = self.root.named_parameters()
        elif self.proxy_buffer_attributes and isinstance(attr_val, ember.Tensor):
            store = self.root.named_buffers()
        else:
            return attr_val
        for name, value in store:
            if value is attr_val:
                if name not in parameter_proxy_cache:
                    factory = None
                    if self.param_shapes_constant and isinstance(attr_val, Parameter):

                        def factory(node, param=attr_val):
                            return ParameterProxy(self, node, param)

                    parameter_proxy_cache[name] = self.create_proxy(
                        "get_attr", name, (), {}, proxy_factory_fn=factory
                    )
                return parameter_proxy_cache[name]
        return attr_val

    # -- the trace --------------------------------------------------------------------------
    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        """Placeholders for the root's parameters (concrete_args are baked in instead).

        Returns the function to call and its positional arguments. A root taking ``*args``
        or ``**kwargs`` is called through a copy whose code takes them as plain parameters,
        so each becomes one placeholder (``*args``, ``**kwargs``) as in torch.
        """
        params = list(inspect.signature(root_fn).parameters.values())
        if is_module:
            params = params[1:]
        concrete_args = dict(concrete_args or {})
        kinds = inspect.Parameter
        by_kind = {}
        for p in params:
            by_kind.setdefault(p.kind, []).append(p)
        ordered = (
            by_kind.get(kinds.POSITIONAL_ONLY, [])
            + by_kind.get(kinds.POSITIONAL_OR_KEYWORD, [])
            + by_kind.get(kinds.KEYWORD_ONLY, [])
            + by_kind.get(kinds.VAR_POSITIONAL, [])
            + by_kind.get(kinds.VAR_KEYWORD, [])
        )
        values = {}
        for p in ordered:
            if p.name in concrete_args and concrete_args[p.name] is not PH:
                values[p.name] = self._specialised_arg(p.name, concrete_args[p.name])
                continue
            target = {kinds.VAR_POSITIONAL: "*", kinds.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
            default = () if p.default is inspect.Parameter.empty else (p.default,)
            type_expr = None if p.annotation is inspect.Parameter.empty else p.annotation
            values[p.name] = self.create_proxy(
                "placeholder", target, default, {}, type_expr=type_expr
            )
        if kinds.VAR_POSITIONAL in by_kind or kinds.VAR_KEYWORD in by_kind:
            root_fn = _taking_everything_positionally(root_fn)
            return root_fn, [values[p.name] for p in ordered]
        positional = [values[p.name] for p in ordered if p.kind is not kinds.KEYWORD_ONLY]
        keyword = {p.name: values[p.name] for p in ordered if p.kind is kinds.KEYWORD_ONLY}
        return functools.partial(root_fn, **keyword), positional

    def _specialised_arg(self, name, value):
        """A concrete argument: a placeholder guarded by an assert, and value used in tracing."""
        if value is None or isinstance(value, (bool, int, float, str)):
            node = self.create_proxy("placeholder", f"{name}_1", (), {}).node
            message = f"{name} has been specialized to have value {value} but got another value"
            if value is None:
                self.create_proxy("call_function", _assert_is_none, (node, message), {})
            else:
                eq = self.create_proxy("call_function", operator.eq, (node, value), {})
                self.create_proxy("call_function", _assert, (eq, message), {})
        return value

    def trace(self, root, concrete_args=None):
        """Record root (an ember.nn.Module or a function) into a new Graph and return it."""
        is_module = isinstance(root, Module)
        if is_module:
            self.root = root
            fn = type(root).forward
        elif callable(root):
            self.root = Module()
            fn = root
        else:
            raise TypeError(
                f"symbolic_trace: expected an ember.nn.Module or a function to trace, got "
                f"{type(root).__name__}"
            )
        self.graph = Graph(tracer_cls=type(self))
        self.tensor_attrs = {}
        for mod_name, mod in self.root.named_modules():
            for attr, value in list(vars(mod).items()):
                if isinstance(value, ember.Tensor):
                    self.tensor_attrs[id(value)] = f"{mod_name}.{attr}" if mod_name else attr
            for attr, value in mod._buffers.items():
                if value is not None:
                    self.tensor_attrs[id(value)] = f"{mod_name}.{attr}" if mod_name else attr
        self.submodule_paths = {id(m): name for name, m in self.root.named_modules()}
        call, args = self.create_args_for_root(fn, is_module, concrete_args)
        if is_module:
            args = [root] + args
        patcher = Patcher()
        handmade_proxies.trace_started()
        try:
            self._install_patches(patcher, fn)
            result = call(*args)
        finally:
            patcher.restore()
            handmade_proxies.trace_finished()
            self.submodule_paths = None
        self.create_node("output", "output", (self.create_arg(result),), {})
        return self.graph

    def _install_patches(self, patcher, root_fn):
        tracer = self
        parameter_proxy_cache = {}
        original_getattr = Module.__getattr__
        original_call = Module.__call__
        wrap_ids = {id(fn) for fn in public_functions()} | self._autowrap_function_ids
        # a GraphModule's code holds wrap()ed functions under its own global names
        wrap_ids |= {id(g[name]) for g, name in wrapped_globals() if name in g}

        def module_getattr(mod, name):
            return tracer.getattr(name, original_getattr(mod, name), parameter_proxy_cache)

        def module_call(mod, *args, **kwargs):
            def forward(*a, **k):
                return original_call(mod, *a, **k)

            patcher.autowrap_globals(getattr(type(mod).forward, "__globals__", {}), wrap_ids)
            return tracer.call_module(mod, forward, args, kwargs)

        patcher.patch_attr(Module, "__getattr__", module_getattr)
        patcher.patch_attr(Module, "__call__", module_call)
        patcher.patch_public_functions()
        patcher.patch_tensor_methods()
        patcher.patch_operators()
        for globals_dict, name in wrapped_globals():
            patcher.patch_global(globals_dict, name)
        for module in self._autowrap_search:
            patcher.autowrap_globals(vars(module), wrap_ids)
        patcher.autowrap_globals(getattr(root_fn, "__globals__", {}), wrap_ids)
        # a layer may hold a wrapped function as an attribute (``self.activation = F.gelu``)
        for module in self.root.modules():
            patcher.autowrap_globals(vars(module), wrap_ids)


def _taking_everything_positionally(fn):
    """A copy of fn whose keyword-only, ``*args`` and ``**kwargs`` parameters are plain
    positional ones (CPython keeps them in that order after the positional ones)."""
    code = fn.__code__
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    flags = code.co_flags & ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    new_code = code.replace(co_argcount=count, co_kwonlyargcount=0, co_flags=flags)
    return types.FunctionType(new_code, fn.__globals__, fn.__name__, None, fn.__closure__)


class GraphAppendingTracer(Tracer):
    """The tracer of a Proxy made directly on a Graph: appends to that graph. While one
    lives, ember functions called on its Proxies are recorded (see _HandmadeProxies)."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.root = Module()
        self.tensor_attrs = {}
        handmade_proxies.acquire(self)


def wrap(fn_or_name):
    """Record calls of this module-level function as one call_function node (whenever an
    argument is a Proxy) instead of tracing through it. Call at module scope, with the
    function or its name; usable as a decorator."""
    if callable(fn_or_name):
        name = getattr(fn_or_name, "__name__", None)
        if not name or name == "<lambda>":
            raise AssertionError("wrap: the function must have a name (no lambdas)")
    elif isinstance(fn_or_name, str):
        name = fn_or_name
    else:
        raise TypeError(f"wrap(fn_or_name): expected a function or a name, got {fn_or_name!r}")
    frame = inspect.currentframe().f_back
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    register_wrapped(frame.f_globals, name)
    return fn_or_name


def symbolic_trace(root, concrete_args=None):
    """Trace root (module or function) into a GraphModule.

    concrete_args fixes some arguments to constant values (branches on them are then
    resolved while tracing); PH keeps one a placeholder.
    """
    from ember.fx.graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
