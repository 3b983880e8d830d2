"""ShapeProp: run a GraphModule on example inputs and record each node's tensor metadata."""

from typing import NamedTuple

import ember
from ember.fx.interpreter import Interpreter
from ember.fx.node import map_aggregate

__all__ = ["ShapeProp", "TensorMetadata", "extract_tensor_metadata"]


class TensorMetadata(NamedTuple):
    shape: tuple
    dtype: object
    requires_grad: bool
    stride: tuple
    memory_format: object  # ember.contiguous_format when contiguous, else None
    is_quantized: bool
    qparams: dict


def extract_tensor_metadata(result):
    """The TensorMetadata of one tensor."""
    memory_format = ember.contiguous_format if result.is_contiguous() else None
    return TensorMetadata(
        shape=result.shape,
        dtype=result.dtype,
        requires_grad=result.requires_grad,
        stride=tuple(result.stride()),
        memory_format=memory_format,
        is_quantized=False,
        qparams={},
    )


class ShapeProp(Interpreter):
    """``ShapeProp(gm).propagate(*inputs)`` runs gm and stores, for every node whose value
    holds tensors, ``node.meta["tensor_meta"]`` (a TensorMetadata, or the same nest of them
    as the value) and ``node.meta["type"]``."""

    def run_node(self, n):
        result = super().run_node(n)
        found = []

        def describe(x):
            if isinstance(x, ember.Tensor):
                found.append(True)
                return extract_tensor_metadata(x)
            return x

        meta = map_aggregate(result, describe)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        """Run the module on args (recording metadata) and return its result."""
        return super().run(*args)
