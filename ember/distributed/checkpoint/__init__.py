"""``torch.distributed.checkpoint``: sharded checkpoints written by every rank together. ember
has no sharded tensors to save this way, so ``save`` and ``load`` raise NotImplementedError;
``torch.save`` on rank 0 of a DistributedDataParallel run is the ember way."""

from ember.distributed.tensor._api import _unsupported

__all__ = ["save", "load"]


def save(state_dict, *, checkpoint_id=None, storage_writer=None, planner=None, **kwargs):
    raise _unsupported("torch.distributed.checkpoint.save")


def load(state_dict, *, checkpoint_id=None, storage_reader=None, planner=None, **kwargs):
    raise _unsupported("torch.distributed.checkpoint.load")
