"""Shape arithmetic of sharded layouts, which needs no sharded tensor."""

from ember.distributed.tensor.placement_types import Partial, Replicate, Shard

__all__ = ["compute_local_shape_and_global_offset"]


def compute_local_shape_and_global_offset(global_shape, mesh, placements):
    """(local shape, global offset) of this rank's piece of a tensor of ``global_shape`` laid
    out by ``placements`` (one per mesh dimension) over ``mesh``; ``((0,), ())`` when the mesh
    does not hold this rank."""
    coordinate = mesh.get_coordinate()
    if coordinate is None:
        return (0,), ()
    if len(placements) != mesh.ndim:
        raise ValueError(
            f"compute_local_shape_and_global_offset: {len(placements)} placements for a "
            f"{mesh.ndim}-D mesh"
        )
    local_shape = list(global_shape)
    offset = [0] * len(local_shape)
    for mesh_dim, placement in enumerate(placements):
        if isinstance(placement, (Replicate, Partial)):
            continue
        if not isinstance(placement, Shard):
            raise NotImplementedError(
                f"compute_local_shape_and_global_offset: ember does not lay out {placement!r}"
            )
        dim = placement.dim % len(local_shape)
        size, start = Shard.local_shard_size_and_offset(
            local_shape[dim], mesh.size(mesh_dim), coordinate[mesh_dim]
        )
        local_shape[dim] = size
        offset[dim] += start
    return tuple(local_shape), tuple(offset)
