"""GraphModule: an nn.Module whose forward is Python generated from a Graph."""

import builtins
import copy
import itertools
import linecache
import operator
import os
import types

import ember
from ember.fx.graph import Graph, _has_attr_path
from ember.nn import Module, Parameter

__all__ = ["GraphModule"]

_source_counter = itertools.count()


def _exec_source(src, globals_):
    """Execute generated source under a unique file name that tracebacks can show."""
    key = f"<eval_with_key>.{next(_source_counter)}"
    linecache.cache[key] = (len(src), None, src.splitlines(True), key)
    exec(compile(src, key, "exec"), globals_)
    return globals_["forward"]


def _copy_attr(from_module, to_module, target):
    """Give to_module the attribute at dotted path target of from_module (same object),
    creating empty intermediate modules and keeping buffers buffers."""
    if not _has_attr_path(from_module, target):
        raise RuntimeError(
            f"GraphModule: the graph uses '{target}', which {type(from_module).__name__} does not "
            f"have"
        )
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:
            return  # the whole submodule is already shared
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    if isinstance(orig, ember.Tensor) and not isinstance(orig, Parameter):
        persistent = field not in getattr(from_module, "_non_persistent_buffers_set", ())
        to_module.register_buffer(field, orig, persistent=persistent)
    else:
        setattr(to_module, field, orig)


def _assign_attr(value, to_module, target):
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        to_module = t
    if isinstance(value, ember.Tensor) and not isinstance(value, Parameter):
        to_module.register_buffer(field, value)
    else:
        setattr(to_module, field, value)


class GraphModule(Module):
    """A Module built from a root (module or dict of attributes) and a Graph.

    It holds the submodules, parameters and buffers the graph reads; ``recompile()``
    regenerates ``code`` and ``forward`` after the graph was edited.
    """

    def __new__(cls, *args, **kwargs):
        # each instance gets its own class, so that recompile() can set forward on it
        base = next(t for t in cls.__mro__ if "_per_instance_class" not in vars(t))

        class GraphModuleImpl(base):
            _per_instance_class = True

        return super().__new__(GraphModuleImpl)

    def __init__(self, root, graph, class_name="GraphModule"):
        super().__init__()
        self.__class__.__name__ = class_name
        self.__class__.__qualname__ = class_name
        if isinstance(root, Module):
            self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(
                            f"Node {node} referenced target {node.target} but that target was "
                            f"not provided in the root dict"
                        )
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError(
                f"GraphModule(root, graph): root must be a Module or a dict, got "
                f"{type(root).__name__}"
            )
        self.graph = graph

    @property
    def graph(self):
        """The Graph this module runs; assigning one recompiles."""
        return self.__dict__["_graph"]

    @graph.setter
    def graph(self, g):
        if not isinstance(g, Graph):
            raise TypeError(f"GraphModule.graph must be a Graph, got {type(g).__name__}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self):
        """The Python source of forward."""
        if "_code" not in self.__dict__:
            raise RuntimeError("Code has not been generated! Please report a bug to ember")
        return self.__dict__["_code"]

    def recompile(self):
        """Regenerate code and forward from the graph; returns the PythonCode."""
        python_code = self.graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        type(self).forward = _exec_source(python_code.src, dict(python_code.globals))
        return python_code

    def print_readable(self, print_output=True, include_stride=False, include_device=False):
        """forward written as the body of a module class; printed and returned."""
        body = self.code.strip("\n").rstrip()
        lines = [f"class {self._get_name()}(ember.nn.Module):"]
        lines += ["    " + line if line else line for line in body.splitlines()]
        text = "\n".join(lines) + "\n"
        if print_output:
            print(text)
        return text

    def __str__(self):
        return (
            super().__str__()
            + "\n"
            + self.code
            + "\n# To see more debug info, please use `graph_module.print_readable()`"
        )

    # -- editing submodules -----------------------------------------------------------------
    def add_submodule(self, target, m):
        """Install module m at dotted path target (creating empty parents); False if a
        non-module attribute is in the way."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            sub = getattr(mod, item, None)
            if sub is None:
                sub = Module()
                mod.add_module(item, sub)
            if not isinstance(sub, Module):
                return False
            mod = sub
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target):
        """Remove the submodule at target; False if there was none."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            mod = getattr(mod, item, None)
            if not isinstance(mod, Module):
                return False
        if field not in mod._modules:
            return False
        del mod._modules[field]
        return True

    def delete_all_unused_submodules(self):
        """Drop submodules no call_module or get_attr node refers to."""
        used = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                parts = node.target.split(".")
                used.update(".".join(parts[: i + 1]) for i in range(len(parts)))
                if node.op == "call_module":
                    sub = self.get_submodule(node.target)
                    used.update(f"{node.target}.{n}" for n, _ in sub.named_modules() if n)
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)

    # -- copying and saving -----------------------------------------------------------------
    def __deepcopy__(self, memo):
        holder = Module()
        holder.__dict__ = copy.deepcopy(
            {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}, memo
        )
        return GraphModule(holder, copy.deepcopy(self.graph, memo), self._get_name())

    def __copy__(self):
        return GraphModule(self, self.graph, self._get_name())

    def __reduce__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        globals_ = {
            k: v
            for k, v in self.graph.python_code().globals.items()
            if not isinstance(v, types.ModuleType)
        }
        return (_rebuild_graph_module, (state, self.code, globals_, self._get_name()))

    def to_folder(self, folder, module_name="FxModule"):
        """Write module.py (a module class with this forward), state_dict.pt and __init__.py
        to folder, so that ``from folder import module_name`` rebuilds this module.

        Layers are recreated from their repr, so every submodule must be an ember.nn layer
        without children of its own, or a plain container Module.
        """
        os.makedirs(folder, exist_ok=True)
        ember.save(self.state_dict(), os.path.join(folder, "state_dict.pt"))
        lines = ["import os", "from math import inf, nan", "", "import ember"]
        lines.append("from ember import device")
        lines += ["", "", f"class {module_name}(ember.nn.Module):", "    def __init__(self):"]
        lines.append("        super().__init__()")
        lines += _module_source("self", self)
        lines.append(
            "        self.load_state_dict(ember.load(os.path.join(os.path.dirname(__file__), "
            "'state_dict.pt')))"
        )
        code = "\n".join("    " + ln if ln else ln for ln in self.code.strip("\n").splitlines())
        lines += ["", code.rstrip()]
        with open(os.path.join(folder, "module.py"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(folder, "__init__.py"), "w") as f:
            f.write(f"from .module import {module_name}\n")


def _module_source(expr, module):
    """__init__ lines recreating module's parameters, buffers and children under expr."""
    lines = []
    for name, p in module._parameters.items():
        lines.append(
            f"        {expr}.register_parameter({name!r}, ember.nn.Parameter(ember.empty("
            f"{list(p.shape)}, dtype=ember.{p.dtype.name})))"
        )
    for name, b in module._buffers.items():
        persistent = name not in module._non_persistent_buffers_set
        lines.append(
            f"        {expr}.register_buffer({name!r}, ember.empty({list(b.shape)}, "
            f"dtype=ember.{b.dtype.name}), persistent={persistent})"
        )
    for name, child in module._modules.items():
        child_expr = f"getattr({expr}, {name!r})"
        if type(child) is Module:
            lines.append(f"        {expr}.add_module({name!r}, ember.nn.Module())")
            lines += _module_source(child_expr, child)
        elif type(child).__module__.startswith("ember.nn") and not child._modules:
            lines.append(f"        {expr}.add_module({name!r}, ember.nn.{child!r})")
        else:
            raise RuntimeError(
                f"to_folder: submodule {name} ({type(child).__name__}) cannot be written as "
                f"source; only ember.nn layers without children and plain Modules can"
            )
    return lines


def _rebuild_graph_module(state, code, globals_, class_name):
    """Unpickle a GraphModule: run its saved code and trace it again, keeping every
    submodule a leaf."""
    from ember.fx._symbolic_trace import Tracer

    holder = Module()
    holder.__dict__.update(state)
    globals_ = dict(globals_, ember=ember, operator=operator, builtins=builtins)
    forward = _exec_source(code, globals_)

    class KeepModules(Tracer):
        def is_leaf_module(self, m, module_qualified_name):
            return True

    holder_cls = type(class_name, (Module,), {"forward": forward})
    holder.__class__ = holder_cls
    graph = KeepModules().trace(holder)
    return GraphModule(holder, graph, class_name)
