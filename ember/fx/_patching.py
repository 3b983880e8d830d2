"""Temporary replacement of ember's functions while tracing, so calls on Proxies are recorded.

ember has no ``__torch_function__`` protocol; instead, for the length of one trace, the
public functions of ``ember``, ``ember.nn.functional``, ``ember.linalg``, ``ember.fft`` and
``ember.special`` (those loaded, their ``torch`` aliases under ``ember run``, and the names
``wrap()`` registered) are swapped for wrappers that record a call_function node when any
argument is a Proxy and call the original otherwise. Everything is put back afterwards,
even on error.
"""

import builtins
import functools
import sys
import types
import weakref

import ember
from ember.fx.proxy import Proxy

_MISSING = object()
_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType)

# (globals dict, name) pairs registered by ember.fx.wrap
_wrapped_globals = []


def register_wrapped(globals_dict, name):
    if not any(g is globals_dict and n == name for g, n in _wrapped_globals):
        _wrapped_globals.append((globals_dict, name))


def wrapped_globals():
    return list(_wrapped_globals)


_NAMESPACES = ("ember", "ember.nn.functional", "ember.linalg", "ember.fft", "ember.special")


def _namespaces():
    """The loaded modules whose public functions are recorded when called on Proxies."""
    return [sys.modules[name] for name in _NAMESPACES if name in sys.modules]


def _public_names(module):
    names = [n for n in vars(module) if not n.startswith("_")]
    if module is ember:
        names += sorted(getattr(ember, "_FROM_FUNCTIONAL", ()))
    return names


def public_functions():
    """The functions (not classes) ember and ember.nn.functional export."""
    found = {}
    for module in _namespaces():
        for name in _public_names(module):
            value = getattr(module, name, None)
            value = getattr(value, "__fx_original__", value)
            if isinstance(value, _FUNCTION_TYPES):
                found[id(value)] = value
    return list(found.values())


def _aliases_of(module):
    """Modules standing for module under another name (``torch`` for ``ember`` in programs
    run by ``ember run``); each holds its own copy of the namespace."""
    return [
        m
        for m in list(sys.modules.values())
        if isinstance(m, types.ModuleType) and vars(m).get("_ember_target") is module
    ]


def _find_proxy(value):
    """The first Proxy inside a nest of tuples, lists, dicts and slices, or None."""
    if isinstance(value, Proxy):
        return value
    if isinstance(value, (tuple, list)):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    elif isinstance(value, slice):
        items = (value.start, value.stop, value.step)
    else:
        return None
    for item in items:
        found = _find_proxy(item)
        if found is not None:
            return found
    return None


def _first_proxy(args, kwargs):
    found = _find_proxy(args)
    return found if found is not None or not kwargs else _find_proxy(kwargs)


# Tensor operators recorded as call_method when the tensor is on the left of a Proxy,
# under the method name torch records
_TENSOR_DUNDERS = {
    "__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
    "__floordiv__": "__floordiv__", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__and__": "__and__", "__or__": "__or__", "__xor__": "__xor__",
    "__lshift__": "__lshift__", "__rshift__": "__rshift__", "__eq__": "eq", "__ne__": "ne",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__getitem__": "__getitem__",
}  # fmt: skip


def _recording_method(recorded_name, original):
    @functools.wraps(original)
    def method(self, *args, **kwargs):
        proxy = _first_proxy(args, kwargs)
        if proxy is not None:
            return proxy.tracer.create_proxy("call_method", recorded_name, (self,) + args, kwargs)
        return original(self, *args, **kwargs)

    return method


class _RecordingWrapper:
    """Stands in for an ember function: records a call_function node of the original when an
    argument is a Proxy, calls it otherwise. Equal to (and hashed as) the original, so code
    that compares ``node.target == ember.relu`` while the wrapper is installed still works."""

    def __init__(self, original):
        functools.update_wrapper(self, original)
        self.__fx_original__ = original

    def __call__(self, *args, **kwargs):
        proxy = _first_proxy(args, kwargs)
        if proxy is not None:
            return proxy.tracer.create_proxy("call_function", self.__fx_original__, args, kwargs)
        return self.__fx_original__(*args, **kwargs)

    def __eq__(self, other):
        return self.__fx_original__ == getattr(other, "__fx_original__", other)

    def __hash__(self):
        return hash(self.__fx_original__)

    def __repr__(self):
        return repr(self.__fx_original__)


class Patcher:
    """Records every replacement it makes and undoes them all in restore()."""

    def __init__(self):
        self._undo = []
        self._wrappers = {}
        self._visited_globals = set()

    def patch_attr(self, obj, name, value):
        self._undo.append((obj, name, vars(obj).get(name, _MISSING)))
        setattr(obj, name, value)

    def _set_item(self, mapping, name, value):
        self._undo.append((mapping, name, mapping.get(name, _MISSING)))
        mapping[name] = value

    def _wrapper(self, original):
        original = getattr(original, "__fx_original__", original)
        wrapper = self._wrappers.get(id(original))
        if wrapper is None:
            wrapper = _RecordingWrapper(original)
            self._wrappers[id(original)] = wrapper
        return wrapper

    def patch_public_functions(self):
        for module in _namespaces():
            functions = {}
            for name in _public_names(module):
                value = getattr(module, name, None)
                value = getattr(value, "__fx_original__", value)
                if isinstance(value, _FUNCTION_TYPES):
                    functions[name] = value
            for holder in [module] + _aliases_of(module):
                namespace = vars(holder)
                for name, value in functions.items():
                    own = namespace.get(name, value)
                    own = getattr(own, "__fx_original__", own)
                    if isinstance(own, _FUNCTION_TYPES):
                        self._set_item(namespace, name, self._wrapper(own))

    def patch_tensor_methods(self):
        """Record methods of real tensors called with a Proxy argument (``self.buf.view(n, -1)``,
        ``self.buf + x``) as call_method nodes, under the names torch records."""
        from ember import Tensor

        seen = set()
        for klass in Tensor.__mro__[:-1]:
            for name, value in list(vars(klass).items()):
                if name in seen:
                    continue
                seen.add(name)
                recorded = _TENSOR_DUNDERS.get(name, None if name.startswith("_") else name)
                if recorded is not None and isinstance(value, types.FunctionType):
                    self.patch_attr(Tensor, name, _recording_method(recorded, value))

    def patch_operators(self):
        """Record ``ember.ops`` operators called with a Proxy argument as call_function nodes."""
        from ember.library import OpOverload

        original = OpOverload.__call__

        def call(op, *args, **kwargs):
            proxy = _first_proxy(args, kwargs)
            if proxy is not None:
                return proxy.tracer.create_proxy("call_function", op, args, kwargs)
            return original(op, *args, **kwargs)

        self.patch_attr(OpOverload, "__call__", call)

    def patch_global(self, globals_dict, name):
        """Wrap globals_dict[name] (a builtin such as len when the module has no such name)."""
        value = globals_dict.get(name, _MISSING)
        if value is _MISSING:
            value = getattr(builtins, name, _MISSING)
            if value is _MISSING:
                return
        if hasattr(value, "__fx_original__"):
            return
        self._set_item(globals_dict, name, self._wrapper(value))

    def autowrap_globals(self, globals_dict, function_ids):
        """Wrap the names in a module's globals bound to functions in function_ids
        (``from ember import cat`` in user code, math.sqrt, autowrap_functions)."""
        if id(globals_dict) in self._visited_globals:
            return
        self._visited_globals.add(id(globals_dict))
        for name, value in list(globals_dict.items()):
            if not name.startswith("_") and id(value) in function_ids:
                self.patch_global(globals_dict, name)

    def restore(self):
        while self._undo:
            target, name, old = self._undo.pop()
            if isinstance(target, dict):
                if old is _MISSING:
                    target.pop(name, None)
                else:
                    target[name] = old
            elif old is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, old)
        self._visited_globals.clear()


class _HandmadeProxies:
    """Keeps ember's functions recording while a tracer made outside symbolic_trace lives.

    ``Proxy(node)`` and ``GraphAppendingTracer(graph)`` build graphs by calling ember
    functions on Proxies directly (or by calling a GraphModule on them to inline it); the
    stand-ins stay installed until the last such tracer is garbage collected. Installing and
    removing wait while a symbolic_trace runs (it has its own stand-ins), so the two sets of
    replacements are always undone in the reverse order of their installation.
    """

    def __init__(self):
        self._live = 0
        self._traces = 0
        self._patcher = None

    def acquire(self, tracer):
        self._live += 1
        weakref.finalize(tracer, self._release)
        self._sync()

    def _release(self):
        self._live -= 1
        self._sync()

    def trace_started(self):
        self._traces += 1

    def trace_finished(self):
        self._traces -= 1
        self._sync()

    def _sync(self):
        """Stand-ins installed exactly while a hand-made tracer lives and no trace runs on
        top of them."""
        if self._traces:
            return
        if self._live and self._patcher is None:
            self._patcher = Patcher()
            self._patcher.patch_public_functions()
        elif not self._live and self._patcher is not None:
            self._patcher.restore()
            self._patcher = None


handmade_proxies = _HandmadeProxies()
