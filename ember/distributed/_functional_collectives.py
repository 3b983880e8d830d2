"""Functional collectives (``torch.distributed._functional_collectives``): each returns a new
tensor instead of writing into its argument.

ember's collectives complete before they return, so ``wait_tensor`` has nothing to wait for
and returns its argument.
"""

from ember import cat, empty, empty_like
from ember.autograd.function import Function
from ember.distributed import collectives
from ember.distributed.process_group import get_world_size
from ember.distributed.reduce_op import ReduceOp

__all__ = [
    "wait_tensor", "all_reduce", "all_gather_tensor", "reduce_scatter_tensor",
    "all_to_all_single", "all_to_all_single_autograd",
]  # fmt: skip

_OPS = {"sum": ReduceOp.SUM, "avg": ReduceOp.AVG, "max": ReduceOp.MAX, "min": ReduceOp.MIN}


def _reduce_op(op):
    if isinstance(op, str):
        if op.lower() not in _OPS:
            raise ValueError(f"functional collectives: unknown reduce op {op!r}")
        return _OPS[op.lower()]
    return op


def wait_tensor(tensor):
    """The finished result of a functional collective (already complete in ember)."""
    return tensor


def all_reduce(self, reduceOp, group=None):
    result = self.detach().clone()
    collectives.all_reduce(result, op=_reduce_op(reduceOp), group=group)
    return result


def all_gather_tensor(self, gather_dim, group=None):
    world = get_world_size(group)
    gathered = empty((world * self.shape[0], *self.shape[1:]), dtype=self.dtype)
    collectives.all_gather_into_tensor(gathered, self.contiguous(), group=group)
    if gather_dim != 0:
        gathered = cat(gathered.chunk(world, 0), dim=gather_dim)
    return gathered


def reduce_scatter_tensor(self, reduceOp, scatter_dim, group=None):
    world = get_world_size(group)
    if scatter_dim != 0:
        self = cat(self.chunk(world, scatter_dim), dim=0)
    output = empty((self.shape[0] // world, *self.shape[1:]), dtype=self.dtype)
    collectives.reduce_scatter_tensor(
        output, self.contiguous(), op=_reduce_op(reduceOp), group=group
    )
    return output


def all_to_all_single(self, output_split_sizes, input_split_sizes, group=None):
    if output_split_sizes is None:
        output = empty_like(self)
    else:
        output = empty((sum(output_split_sizes), *self.shape[1:]), dtype=self.dtype)
    collectives.all_to_all_single(
        output, self.contiguous(), output_split_sizes, input_split_sizes, group=group
    )
    return output


class _AllToAllSingle(Function):
    """all_to_all_single whose backward sends each gradient piece back where it came from."""

    @staticmethod
    def forward(ctx, input, output_split_sizes, input_split_sizes, group):
        ctx.splits = (output_split_sizes, input_split_sizes)
        ctx.group = group
        return all_to_all_single(input, output_split_sizes, input_split_sizes, group)

    @staticmethod
    def backward(ctx, grad):
        output_split_sizes, input_split_sizes = ctx.splits
        back = all_to_all_single(grad, input_split_sizes, output_split_sizes, ctx.group)
        return back, None, None, None


def all_to_all_single_autograd(self, output_split_sizes, input_split_sizes, group=None):
    return _AllToAllSingle.apply(self, output_split_sizes, input_split_sizes, group)
