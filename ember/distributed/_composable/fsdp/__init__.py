"""``torch.distributed._composable.fsdp``: the older home of ``fully_shard``."""
# ruff: noqa: F401  (re-exported names)

from ember.distributed.fsdp import (
    CPUOffloadPolicy,
    FSDPModule,
    MixedPrecisionPolicy,
    OffloadPolicy,
    fully_shard,
)
