"""``torch.distributed.fsdp``: fully sharded data parallel needs sharded parameters, which ember
does not have. The policy objects are real dataclasses (so configurations can be built and
inspected); wrapping a module raises NotImplementedError naming the call."""

import dataclasses

from ember._dtype import dtype as _dtype
from ember.distributed.tensor._api import _unsupported

__all__ = [
    "fully_shard", "FSDPModule", "FullyShardedDataParallel", "MixedPrecisionPolicy",
    "OffloadPolicy", "CPUOffloadPolicy",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class MixedPrecisionPolicy:
    param_dtype: _dtype | None = None
    reduce_dtype: _dtype | None = None
    output_dtype: _dtype | None = None
    cast_forward_inputs: bool = True


@dataclasses.dataclass
class OffloadPolicy:
    """No offloading (the default policy)."""


@dataclasses.dataclass
class CPUOffloadPolicy(OffloadPolicy):
    pin_memory: bool = True


class FSDPModule:
    """The class ``fully_shard`` mixes into a module (no ember module is one)."""

    def __new__(cls, *args, **kwargs):
        raise _unsupported("torch.distributed.fsdp.FSDPModule")


class FullyShardedDataParallel:
    """The wrapper-style FSDP (unsupported: use DistributedDataParallel)."""

    def __init__(self, module, *args, **kwargs):
        raise _unsupported("torch.distributed.fsdp.FullyShardedDataParallel")


def fully_shard(module, *args, **kwargs):
    raise _unsupported("torch.distributed.fsdp.fully_shard")
