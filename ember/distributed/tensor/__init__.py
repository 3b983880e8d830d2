"""``torch.distributed.tensor``: placements and device meshes are real; sharded tensors
(DTensor and everything that builds one) raise NotImplementedError naming what was asked for."""

from ember.distributed.device_mesh import DeviceMesh, init_device_mesh
from ember.distributed.tensor._api import (
    DTensor,
    distribute_module,
    distribute_tensor,
    empty,
    full,
    ones,
    rand,
    randn,
    zeros,
)
from ember.distributed.tensor.placement_types import Partial, Placement, Replicate, Shard

__all__ = [
    "DTensor", "distribute_tensor", "distribute_module", "Shard", "Replicate", "Partial",
    "Placement", "ones", "empty", "full", "rand", "randn", "zeros", "DeviceMesh",
    "init_device_mesh",
]  # fmt: skip
