"""Export: trace the model with ember.fx, run it once on the example inputs to learn every
value's shape and dtype, and write each node as ONNX operators."""

import io
import os

import numpy as np

import ember
from ember.onnx import _modules
from ember.onnx._builder import GraphBuilder
from ember.onnx._functions import Converter
from ember.onnx._sequence import SEQUENCE_MODULES
from ember.onnx._values import ShapeValue, SizeValue, TensorValue, onnx_dtype


class UnsupportedOperatorError(RuntimeError):
    """An operation of the model that ember cannot write as ONNX."""


class ExportContext:
    def __init__(self, onnx, opset, root_name):
        self.onnx = onnx
        self.builder = GraphBuilder(onnx, opset)
        self.root_name = root_name
        self._params = {}
        self.meta = None  # the traced metadata of the node being converted
        self.strip = ""  # a prefix the tracing added to parameter paths

    def unsupported(self, what, path):
        where = f" in {self.root_name}.{path}" if path else f" in {self.root_name}"
        raise UnsupportedOperatorError(f"ember.onnx.export: {what}{where} cannot be exported")

    def onnx_dtype(self, dtype):
        return onnx_dtype(self.onnx, dtype)

    def param(self, tensor, name):
        """The initializer holding ``tensor`` (one per tensor, so tied weights stay tied)."""
        key = id(tensor)
        if self.strip and name.startswith(self.strip):
            name = name[len(self.strip) :]
        if key not in self._params:
            self._params[key] = self.builder.initializer(tensor.detach().numpy(), name)
        return self._params[key]

    def const_like(self, array, like):
        return self.builder.const(np.asarray(array), dtype=np.dtype(like.dtype.np))


def _metas(node):
    return node.meta.get("tensor_meta")


def _as_value(result, meta):
    """Wrap what a converter returned (an ONNX name, or already a value) with its metadata."""
    if isinstance(result, str):
        return TensorValue(result, tuple(meta.shape), meta.dtype)
    return result


def _resolve(arg, env):
    if isinstance(arg, ember.fx.Node):
        return env[arg]
    if isinstance(arg, tuple | list):
        return type(arg)(_resolve(a, env) for a in arg)
    if isinstance(arg, dict):
        return {k: _resolve(v, env) for k, v in arg.items()}
    if isinstance(arg, slice):
        return slice(_resolve(arg.start, env), _resolve(arg.stop, env), _resolve(arg.step, env))
    return arg


def _graph_inputs(ctx, gm, args, input_names, dynamic_axes):
    """Graph inputs for the tensors in ``args`` (tuples of tensors, such as an LSTM's state,
    give one input each, in order); other arguments are constants of the export."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    defaults = [p.args[0] for p in placeholders[len(args) :] if p.args]
    args = tuple(args) + tuple(defaults)  # forward's own defaults fill the rest
    if len(args) != len(placeholders):
        raise TypeError(
            f"ember.onnx.export: the model's forward takes {len(placeholders)} inputs, "
            f"{len(args)} were given"
        )
    given = iter(input_names or [])
    infos, env = [], {}

    def declare(value, default):
        if not isinstance(value, ember.Tensor):
            if isinstance(value, tuple | list):
                return type(value)(declare(v, f"{default}_{i}") for i, v in enumerate(value))
            return value
        name = ctx.builder.reserve(next(given, default))
        dims = _dims_with_names(value.shape, name, dynamic_axes)
        dtype = ctx.onnx_dtype(value.dtype)
        infos.append(ctx.onnx.helper.make_tensor_value_info(name, dtype, dims))
        return TensorValue(name, tuple(value.shape), value.dtype)

    for node, value in zip(placeholders, args):
        env[node] = declare(value, node.name)
    return infos, env


def _dims_with_names(shape, name, dynamic_axes):
    axes = (dynamic_axes or {}).get(name, {})
    if isinstance(axes, list | tuple):
        axes = {a: f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return [axes.get(i, s) for i, s in enumerate(shape)]


def _convert(ctx, gm, env):
    converter = Converter(ctx)
    modules = dict(gm.named_modules())
    outputs = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            continue
        args, kwargs = _resolve(node.args, env), _resolve(node.kwargs, env)
        meta = _metas(node)
        if node.op == "get_attr":
            target = gm
            for part in node.target.split("."):
                target = getattr(target, part)
            env[node] = TensorValue(
                ctx.param(target, node.target), tuple(target.shape), target.dtype
            )
        elif node.op == "call_module":
            module = modules[node.target]
            convert = _modules.MODULES.get(type(module)) or SEQUENCE_MODULES.get(type(module))
            if convert is None:
                ctx.unsupported(f"layer {type(module).__name__}", node.target)
            ctx.meta = meta
            env[node] = _as_value(convert(ctx, module, node.target, *args, **kwargs), meta)
        elif node.op == "call_function":
            env[node] = _as_value(
                converter.call_function(node.target, args, kwargs, node, meta), meta
            )
        elif node.op == "call_method":
            env[node] = _as_value(
                converter.call_method(node.target, args, kwargs, node, meta), meta
            )
        elif node.op == "output":
            outputs = args[0]
    return outputs


def _flat_outputs(outputs):
    if isinstance(outputs, tuple | list):
        return [leaf for o in outputs for leaf in _flat_outputs(o)]
    if isinstance(outputs, dict):
        return [leaf for o in outputs.values() for leaf in _flat_outputs(o)]
    return [outputs]


class _WholeLayer(ember.nn.Module):
    """Holds a layer exported on its own, so that tracing records it as one call.

    Tracing runs a root module's forward on proxies; ember's layers call functions they
    hold directly (a Transformer layer's activation), which tracing cannot see, so a layer
    that has its own converter is wrapped and converted whole. One subclass per number of
    inputs, since traced forwards take a fixed list of arguments.
    """

    def __init__(self, layer):
        super().__init__()
        self.layer = layer


class _OneInput(_WholeLayer):
    def forward(self, x):
        return self.layer(x)


class _TwoInputs(_WholeLayer):
    def forward(self, x, y):
        return self.layer(x, y)


class _ThreeInputs(_WholeLayer):
    def forward(self, x, y, z):
        return self.layer(x, y, z)


_WHOLE = {1: _OneInput, 2: _TwoInputs, 3: _ThreeInputs}


def export_model(onnx, model, args, f, kwargs, export_params, input_names, output_names,
                 opset_version, dynamic_axes, do_constant_folding):  # fmt: skip
    args = args if isinstance(args, tuple) else (args,)
    args = args + tuple((kwargs or {}).values())
    was_training = model.training
    model.eval()
    converted_whole = (type(model) in _modules.MODULES or type(model) in SEQUENCE_MODULES) and len(
        args
    ) in _WHOLE
    try:
        gm = ember.fx.symbolic_trace(_WHOLE[len(args)](model) if converted_whole else model)
        with ember.no_grad():
            ember.fx.passes.shape_prop.ShapeProp(gm).propagate(*args)
        ctx = ExportContext(onnx, opset_version, type(model).__name__)
        ctx.strip = "layer." if converted_whole else ""
        inputs, env = _graph_inputs(ctx, gm, args, input_names, dynamic_axes)
        outputs = [o for o in _flat_outputs(_convert(ctx, gm, env))]
    finally:
        model.train(was_training)
    builder = ctx.builder
    out_infos, names = [], list(output_names or [])
    for i, value in enumerate(outputs):
        if isinstance(value, SizeValue | ShapeValue) or not isinstance(value, TensorValue):
            ctx.unsupported("an output that is not a tensor", "")
        name = names[i] if i < len(names) else f"output_{i}" if len(outputs) > 1 else "output"
        builder.reserve(name)
        builder.nodes.append(onnx.helper.make_node("Identity", [value.name], [name]))
        dims = _dims_with_names(value.shape, name, dynamic_axes)
        if dynamic_axes:  # sizes may follow a dynamic input: only the named ones are fixed
            dims = [d if isinstance(d, str) else None for d in dims]
        out_infos.append(
            onnx.helper.make_tensor_value_info(name, ctx.onnx_dtype(value.dtype), dims)
        )
    initializers = builder.initializers
    if not export_params:
        weights = set(ctx._params.values())
        initializers = [t for t in initializers if t.name not in weights]
        inputs += [
            onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
            for t in builder.initializers
            if t.name in weights
        ]
    graph = onnx.helper.make_graph(
        builder.nodes, f"{type(model).__name__}", inputs, out_infos, initializers
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", opset_version)],
        producer_name="ember",
        producer_version=ember.__version__,
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by current onnxruntime releases
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if isinstance(f, str | os.PathLike):
        with open(f, "wb") as out:
            out.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    return proto
