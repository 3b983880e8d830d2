"""An ONNX graph under construction: nodes, initializers and fresh value names.

Everything is written with the `onnx` package's helpers (`helper.make_node`,
`numpy_helper.from_array`, ...); no protobuf is encoded by hand.
"""

import numpy as np


class GraphBuilder:
    def __init__(self, onnx, opset):
        self.onnx = onnx
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._names = set()
        self._constants = {}

    def fresh(self, hint="v"):
        """A value name not used yet, readable: ``hint``, ``hint_1``, ..."""
        hint = hint.replace(".", "_") or "v"
        name, i = hint, 0
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    def reserve(self, name):
        self._names.add(name)
        return name

    def op(self, op_type, inputs, outputs=1, hint=None, **attrs):
        """Add a node; returns its output name (or the list of names if ``outputs`` > 1)."""
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def initializer(self, array, name):
        """A weight stored in the file under ``name`` (a parameter's path, as PyTorch names it)."""
        name = self.reserve(name) if name not in self._names else self.fresh(name)
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
        )
        return name

    def const(self, value, dtype=np.int64):
        """A constant tensor (shared between uses of the same value)."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.initializer(array, self.fresh("const"))
        return self._constants[key]
