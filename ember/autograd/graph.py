"""``torch.autograd.graph``: hooks on the tensors saved for backward, and the graph's node types.

``saved_tensors_hooks(pack, unpack)`` applies to every tensor a Function saves for backward
while the block is active: ``pack`` runs when the tensor is saved and its result is kept
instead of the tensor; ``unpack`` runs each time backward reads it back. The innermost active
pair applies. ``save_on_cpu`` is such a pair that keeps saved tensors in host memory.
"""

import abc
import collections
import contextlib

from ember._tensor import Tensor
from ember.autograd.function import SAVED_TENSORS_HOOKS, FunctionCtx, _AccumulateGradView

__all__ = [
    "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "Node",
    "GradientEdge", "get_gradient_edge", "increment_version",
]  # fmt: skip

_DISABLED = [None]  # the message of the active disable_saved_tensors_hooks, or None


class saved_tensors_hooks:
    """Within the block, tensors saved for backward go through ``pack_hook`` when saved and
    through ``unpack_hook`` when backward reads them."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _DISABLED[0] is not None:
            raise RuntimeError(_DISABLED[0])
        SAVED_TENSORS_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        SAVED_TENSORS_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep tensors saved for backward in CPU memory and move them back to their device when
    backward reads them. As in PyTorch, a CPU tensor is kept as itself unless ``pin_memory``
    asks for a (pinned) copy; ember's host memory needs no pinning, so that copy is plain."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(tensor):
            if not pin_memory:
                return tensor.device, tensor.cpu()
            return tensor.device, tensor.detach().cpu().clone()

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    """Within the block, using saved tensor hooks raises RuntimeError(``error_message``); so
    does entering the block while hooks are active."""
    if SAVED_TENSORS_HOOKS:
        raise RuntimeError(error_message)
    previous, _DISABLED[0] = _DISABLED[0], error_message
    try:
        yield
    finally:
        _DISABLED[0] = previous


class Node(abc.ABC):
    """Base of the autograd graph's nodes: ``isinstance(t.grad_fn, Node)`` is True."""

    @abc.abstractmethod
    def name(self):
        """The node's class name, as ``MulBackward0``."""

    @classmethod
    def __subclasshook__(cls, candidate):
        if cls is Node and issubclass(candidate, (FunctionCtx, _AccumulateGradView)):
            return True
        return NotImplemented


GradientEdge = collections.namedtuple(
    "GradientEdge", ["node", "output_nr", "ownership_token"], defaults=[None]
)
GradientEdge.__doc__ = "An edge of the graph: the node a tensor's gradient flows into."


def get_gradient_edge(tensor):
    """The edge ``tensor``'s gradient flows into: its grad_fn, or its accumulator if a leaf."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "It is not possible to get the gradient edge for a Tensor that does not require "
            "gradients"
        )
    if tensor.grad_fn is None:
        return GradientEdge(_AccumulateGradView(tensor), 0)
    return GradientEdge(tensor.grad_fn, tensor._output_nr)


def increment_version(tensor):
    """Count an in-place change made behind autograd's back (tensors saved earlier then fail
    their version check)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"increment_version expects a Tensor, got {type(tensor).__name__}")
    tensor._vc[0] += 1
