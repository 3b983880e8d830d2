"""Feature extraction: a model's intermediate values as the outputs of a new module.

``create_feature_extractor`` traces a model with ``ember.fx`` (once in train mode, once in eval
mode), makes the chosen nodes the graph's outputs, drops everything after them and returns a
module whose forward gives ``{output name: value}``. ``get_graph_node_names`` lists the names
nodes can be chosen by.

Node names are torchvision's: the dotted path of the module a node was recorded in, then the
node's own name for anything but a leaf-module call (``layer1.0.add``, ``layer1.0.conv1``); a
name already taken in the same scope gets ``_1``, ``_2``, ... (``layer1.0.relu_1``). A query
names a node or a module: ``"layer1"`` selects the last node recorded inside ``layer1``.
"""

import inspect
import math
import re
import warnings

from ember import fx, nn
from ember.fx.graph_module import _copy_attr
from ember.vision import ops

__all__ = ["create_feature_extractor", "get_graph_node_names"]


def _leaf_modules_for_ops():
    """Every module class of ember.vision.ops: they stay single nodes."""
    return [
        value
        for value in vars(ops).values()
        if inspect.isclass(value) and issubclass(value, nn.Module)
    ]


def _with_default_tracer_kwargs(tracer_kwargs):
    """tracer_kwargs with vision ops added to the wrapped functions and the leaf modules."""
    kwargs = dict(tracer_kwargs or {})
    autowrap = tuple(kwargs.get("autowrap_modules", ())) + (math, ops)
    kwargs["autowrap_modules"] = tuple(dict.fromkeys(autowrap))
    leaves = list(kwargs.get("leaf_modules", ())) + _leaf_modules_for_ops()
    kwargs["leaf_modules"] = list(dict.fromkeys(leaves))
    return kwargs


class LeafModuleAwareTracer(fx.Tracer):
    """A Tracer that also keeps instances of the classes in ``leaf_modules`` as single nodes."""

    def __init__(self, *args, leaf_modules=(), **kwargs):
        self.leaf_modules = tuple(leaf_modules)
        super().__init__(*args, **kwargs)

    def is_leaf_module(self, m, module_qualname):
        if isinstance(m, self.leaf_modules):
            return True
        return super().is_leaf_module(m, module_qualname)


class NodePathTracer(LeafModuleAwareTracer):
    """Records, for every node it creates, the node's name in the module hierarchy
    (``node_to_qualname``, in execution order)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_module_qualname = ""
        self.node_to_qualname = {}

    def call_module(self, m, forward, args, kwargs):
        outer = self.current_module_qualname
        try:
            self.current_module_qualname = self.path_of_module(m)
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.current_module_qualname = outer

    def create_proxy(
        self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None
    ):
        proxy = super().create_proxy(
            kind, target, args, kwargs, name, type_expr, proxy_factory_fn=proxy_factory_fn
        )
        self.node_to_qualname[proxy.node] = self._qualname_of(proxy.node)
        return proxy

    def _qualname_of(self, node):
        """The scope path, plus the node's own name unless it is a leaf-module call; a
        trailing ``_<n>`` (fx's graph-wide counter) is replaced by a counter local to the
        name, as torchvision does."""
        qualname = self.current_module_qualname
        if node.op != "call_module":
            qualname = f"{qualname}.{node.name}" if qualname else node.name
        if re.fullmatch(r".+_[0-9]+", qualname):
            qualname = qualname.rsplit("_", 1)[0]
        repeat = re.compile(rf"{re.escape(qualname)}(_[0-9]+)?")
        for taken in reversed(list(self.node_to_qualname.values())):
            match = repeat.fullmatch(taken)
            if match is not None:
                index = int(match.group(1)[1:]) + 1 if match.group(1) else 1
                return f"{qualname}_{index}"
        return qualname


def _is_subsequence(short, long):
    it = iter(long)
    return all(item in it for item in short)


def _warn_graph_differences(train_tracer, eval_tracer):
    """Warn when tracing in train and eval mode recorded different nodes."""
    train_nodes = list(train_tracer.node_to_qualname.values())
    eval_nodes = list(eval_tracer.node_to_qualname.values())
    if train_nodes == eval_nodes:
        return
    if _is_subsequence(eval_nodes, train_nodes):
        what = "NOTE: The nodes obtained by tracing the model in eval mode are a subsequence of "
        what += "those obtained in train mode. "
    elif _is_subsequence(train_nodes, eval_nodes):
        what = "NOTE: The nodes obtained by tracing the model in train mode are a subsequence of "
        what += "those obtained in eval mode. "
    else:
        what = "The nodes obtained by tracing the model in train mode are different to those "
        what += "obtained in eval mode. "
    warnings.warn(
        what + "When choosing nodes for feature extraction, you may need to specify output "
        "nodes for train and eval mode separately.",
        stacklevel=3,
    )


def _require_module(model, function):
    if not isinstance(model, nn.Module):
        raise TypeError(f"{function}: model must be an ember.nn.Module, got {type(model).__name__}")


def _trace(model, mode, tracer_kwargs, concrete_args):
    model.train(mode == "train")
    tracer = NodePathTracer(**tracer_kwargs)
    graph = tracer.trace(model, concrete_args=concrete_args)
    return tracer, graph


def get_graph_node_names(
    model, tracer_kwargs=None, suppress_diff_warning=False, concrete_args=None
):
    """``(train_nodes, eval_nodes)``: the names of the nodes found by tracing model in train
    mode and in eval mode, in execution order (any of them can be a ``return_nodes`` entry)."""
    _require_module(model, "get_graph_node_names")
    tracer_kwargs = _with_default_tracer_kwargs(tracer_kwargs)
    was_training = model.training
    try:
        train_tracer, _ = _trace(model, "train", tracer_kwargs, concrete_args)
        eval_tracer, _ = _trace(model, "eval", tracer_kwargs, concrete_args)
    finally:
        model.train(was_training)
    if not suppress_diff_warning:
        _warn_graph_differences(train_tracer, eval_tracer)
    return list(train_tracer.node_to_qualname.values()), list(eval_tracer.node_to_qualname.values())


class DualGraphModule(fx.GraphModule):
    """A GraphModule with one graph for train mode and one for eval mode; ``train(mode)``
    switches between them."""

    def __init__(self, root, train_graph, eval_graph, class_name="GraphModule"):
        nn.Module.__init__(self)
        self.__class__.__name__ = class_name
        self.__class__.__qualname__ = class_name
        for graph in (train_graph, eval_graph):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        self.train_graph = train_graph
        self.eval_graph = eval_graph
        self.graph = train_graph  # a new module is in train mode

    def train(self, mode=True):
        if mode and not self.training:
            self.graph = self.train_graph
        elif not mode and self.training:
            self.graph = self.eval_graph
        return super().train(mode)


def _as_name_dict(return_nodes):
    """A list of node names, or a ``{node name: output name}`` dict, as the dict."""
    if isinstance(return_nodes, (list, tuple)):
        return {str(name): str(name) for name in return_nodes}
    if isinstance(return_nodes, dict):
        return {str(name): str(output) for name, output in return_nodes.items()}
    raise TypeError(
        f"create_feature_extractor: return nodes must be a list of node names or a dict of "
        f"node name to output name, got {type(return_nodes).__name__}"
    )


def _select_outputs(tracer, graph, wanted, mode):
    """Make the nodes wanted names the graph's outputs and drop what they do not need."""
    available = list(tracer.node_to_qualname.values())
    for query in wanted:
        pattern = re.compile(rf"{re.escape(query)}(\..*)?")
        if not any(pattern.fullmatch(name) for name in available):
            raise ValueError(
                f"node: '{query}' is not present in model ({mode} mode). Hint: use "
                f"`get_graph_node_names` to make sure the `return_nodes` you specified are "
                f"present. It may even be that you need to specify `train_return_nodes` and "
                f"`eval_return_nodes` separately."
            )
    for node in [n for n in graph.nodes if n.op == "output"]:
        graph.erase_node(node)
    nodes = list(graph.nodes)
    remaining = dict(wanted)
    chosen = {}
    for node in reversed(nodes):  # a module's query takes the last node recorded inside it
        qualname = tracer.node_to_qualname.get(node)
        if qualname is None:
            continue
        for query, output_name in remaining.items():
            depth = query.count(".") + 1
            if ".".join(qualname.split(".")[:depth]) == query:
                chosen[output_name] = node
                del remaining[query]
                break
    outputs = dict(reversed(list(chosen.items())))
    with graph.inserting_after(nodes[-1]):
        graph.output(outputs)
    graph.eliminate_dead_code()


def create_feature_extractor(
    model,
    return_nodes=None,
    train_return_nodes=None,
    eval_return_nodes=None,
    tracer_kwargs=None,
    suppress_diff_warning=False,
    concrete_args=None,
):
    """A module computing model's intermediate values: its forward returns
    ``{output name: value}`` for the nodes named in return_nodes (a list of node names, or a
    dict of node name to output name). Give train_return_nodes and eval_return_nodes instead
    when the two modes trace to different graphs."""
    _require_module(model, "create_feature_extractor")
    if return_nodes is None and train_return_nodes is None and eval_return_nodes is None:
        raise ValueError(
            "Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, "
            "should be specified"
        )
    if (train_return_nodes is None) != (eval_return_nodes is None):
        raise ValueError(
            "If any of `train_return_nodes` and `eval_return_nodes` are specified, then both "
            "should be specified"
        )
    if (return_nodes is None) == (train_return_nodes is None):
        raise ValueError(
            "If `train_return_nodes` and `eval_return_nodes` are specified, then "
            "`return_nodes` should not be specified"
        )
    if return_nodes is not None:
        train_return_nodes = eval_return_nodes = return_nodes
    wanted = {"train": _as_name_dict(train_return_nodes), "eval": _as_name_dict(eval_return_nodes)}
    tracer_kwargs = _with_default_tracer_kwargs(tracer_kwargs)
    was_training = model.training
    tracers, graphs = {}, {}
    try:
        for mode in ("train", "eval"):
            tracers[mode], graphs[mode] = _trace(model, mode, tracer_kwargs, concrete_args)
            _select_outputs(tracers[mode], graphs[mode], wanted[mode], mode)
    finally:
        model.train(was_training)
    if not suppress_diff_warning:
        _warn_graph_differences(tracers["train"], tracers["eval"])
    extractor = DualGraphModule(
        model, graphs["train"], graphs["eval"], class_name=type(model).__name__
    )
    extractor.train(was_training)
    return extractor
