"""Collectives of picklable Python objects (``broadcast_object_list`` and friends).

Objects are pickled, as in PyTorch, so only use them with ranks you trust. Sizes are
exchanged first, then the bytes, both non-blocking under the group's timeout.
"""

import pickle

import numpy as np

from ember.distributed.process_group import resolve
from ember.distributed.work import Work


def _dumps(obj):
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)


def _loads(buf):
    return pickle.loads(buf.tobytes())


def _wait(pg, opname, request):
    Work([request], pg, opname, number=pg.enter_collective()).wait()


def _root(pg, rank, group_rank, opname, argname):
    if group_rank is not None:
        return group_rank
    return pg.group_rank(0 if rank is None else rank, opname, argname)


def _gathered_bytes(pg, opname, data):
    """Every rank's byte array, in rank order."""
    sizes = np.empty(pg.size(), np.int64)
    _wait(pg, opname, pg.comm.Iallgather(np.array([data.size], np.int64), sizes))
    recv = np.empty(int(sizes.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait(pg, opname, pg.comm.Iallgatherv(data, [recv, (sizes.tolist(), offsets.tolist())]))
    return [recv[o : o + s] for o, s in zip(offsets, sizes)]


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s items on every rank by those of rank ``src``."""
    pg = resolve(group)
    if pg is None:
        return
    root = _root(pg, src, group_src, "broadcast_object_list", "src")
    data = _dumps(list(object_list)) if pg.rank() == root else None
    size = np.array([0 if data is None else data.size], np.int64)
    _wait(pg, "broadcast_object_list", pg.comm.Ibcast(size, root=root))
    if data is None:
        data = np.empty(int(size[0]), np.uint8)
    _wait(pg, "broadcast_object_list", pg.comm.Ibcast(data, root=root))
    if pg.rank() != root:
        objects = _loads(data)
        if len(objects) != len(object_list):
            raise ValueError(
                f"broadcast_object_list: rank {pg.global_ranks[root]} sent {len(objects)} "
                f"objects but this rank's object_list has {len(object_list)} slots"
            )
        object_list[:] = objects


def all_gather_object(object_list, obj, group=None):
    """Every rank's ``obj`` into ``object_list[rank]`` on every rank."""
    pg = resolve(group)
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise ValueError(
            f"all_gather_object: object_list must have {pg.size()} slots (the group size), "
            f"got {len(object_list)}"
        )
    for i, piece in enumerate(_gathered_bytes(pg, "all_gather_object", _dumps(obj))):
        object_list[i] = _loads(piece)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    pg = resolve(group)
    if pg is None:
        return
    root = _root(pg, dst, group_dst, "gather_object", "dst")
    if pg.rank() == root and (object_gather_list is None or len(object_gather_list) != pg.size()):
        raise ValueError(
            f"gather_object: Argument ``object_gather_list`` must be a list of {pg.size()} "
            "slots on the destination rank"
        )
    pieces = _gathered_bytes(pg, "gather_object", _dumps(obj))
    if pg.rank() == root:
        for i, piece in enumerate(pieces):
            object_gather_list[i] = _loads(piece)


def scatter_object_list(
    scatter_object_output_list, scatter_object_input_list=None, src=None, group=None, group_src=None
):
    """``scatter_object_input_list[i]`` of rank ``src`` into slot 0 of the output on rank i."""
    pg = resolve(group)
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    root = _root(pg, src, group_src, "scatter_object_list", "src")
    objects = None
    if pg.rank() == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != pg.size():
            raise ValueError(
                f"scatter_object_list: scatter_object_input_list must have {pg.size()} items "
                "on the source rank"
            )
        objects = list(scatter_object_input_list)
    holder = [objects]
    broadcast_object_list(holder, src=None, group=group, group_src=root)
    scatter_object_output_list[0] = holder[0][pg.rank()]
