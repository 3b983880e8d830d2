"""Tensor collectives and point-to-point messages over MPI.

Tensors travel as their NumPy arrays, never pickled: MPI reads and writes the tensor's own
memory when it is contiguous, and a contiguous staging copy otherwise (written back when the
operation completes). Data that is only moved travels as raw bytes, so every dtype works
(bfloat16 included); reductions follow the plan of reduce_op.py. Every operation is started
non-blocking; the blocking form waits on the Work handle, which honours the group's timeout.
"""

import numpy as np
from mpi4py import MPI

from ember._tensor import Tensor
from ember.distributed.debug_checks import check_same_call
from ember.distributed.process_group import resolve
from ember.distributed.reduce_op import ReduceOp, plan_reduction
from ember.distributed.work import Work


def _array(t, opname, argname):
    if not isinstance(t, Tensor):
        raise TypeError(f"{opname}: {argname} must be a Tensor, got {type(t).__name__}")
    arr = t._data
    if not isinstance(arr, np.ndarray):
        raise RuntimeError(f"{opname}: {argname} must be a CPU tensor, got {t.device}")
    return arr


def _tensor_list(tensors, n, opname, argname, like=None):
    """The arrays of a list of ``n`` tensors, each with ``like``'s numel and dtype if given."""
    if not isinstance(tensors, list | tuple) or len(tensors) != n:
        got = len(tensors) if isinstance(tensors, list | tuple) else type(tensors).__name__
        raise ValueError(
            f"{opname}: {argname} must be a list of {n} tensors (the group size), got {got}"
        )
    arrays = [_array(t, opname, f"{argname}[{i}]") for i, t in enumerate(tensors)]
    if like is not None:
        for i, a in enumerate(arrays):
            if a.size != like.size or a.dtype != like.dtype:
                raise RuntimeError(
                    f"{opname}: invalid tensor size or dtype at index {i} of {argname} "
                    f"(expected {tuple(like.shape)} {like.dtype}, got {tuple(a.shape)} {a.dtype})"
                )
    return arrays


def _bytes(arr):
    """The bytes of a C-contiguous array, as a flat uint8 view."""
    return arr.reshape(-1).view(np.uint8)


def _contiguous(arr):
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def _root(pg, rank, group_rank, opname, argname):
    """The group rank of a root given as a global ``rank`` or as a ``group_rank``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"{opname}: Can only specify {argname} or group_{argname}")
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"{opname}: group_{argname}={group_rank} is outside {pg.describe()}")
        return group_rank
    return pg.group_rank(0 if rank is None else rank, opname, argname)


def _copy_back(dst_arrays, src):
    """Copy consecutive pieces of the flat byte array ``src`` into ``dst_arrays``."""
    offset = 0
    for a in dst_arrays:
        n = a.nbytes
        a[...] = src[offset : offset + n].view(a.dtype).reshape(a.shape)
        offset += n


def _bump(*tensors):
    for t in tensors:
        t._bump_version()


def _run(pg, opname, requests, async_op, finish=None, result=None, statuses=None):
    """The Work of a collective just started on every rank of ``pg`` (counted, so that a
    timeout can name the ranks that never started it); waited for unless ``async_op``."""
    work = Work(requests, pg, opname, finish, result, statuses, pg.enter_collective())
    if async_op:
        return work
    work.wait()
    return None


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group has entered the barrier."""
    pg = resolve(group)
    if pg is None:
        return None
    check_same_call(pg, "barrier")
    return _run(pg, "barrier", [pg.comm.Ibarrier()], async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every other rank."""
    pg = resolve(group)
    if pg is None:
        return None
    arr = _array(tensor, "broadcast", "tensor")
    root = _root(pg, src, group_src, "broadcast", "src")
    check_same_call(pg, "broadcast", [tensor], src=root)
    buf = _contiguous(arr)

    def finish():
        if buf is not arr:
            arr[...] = buf
        if pg.rank() != root:
            tensor._bump_version()

    return _run(
        pg, "broadcast", [pg.comm.Ibcast(_bytes(buf), root=root)], async_op, finish, [tensor]
    )


def _reduction(tensor, op, opname):
    arr = _array(tensor, opname, "tensor")
    plan = plan_reduction(op, arr.dtype, opname)
    return arr, plan, plan.to_work(_contiguous(arr))


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the group in place; every rank gets the result."""
    pg = resolve(group)
    if pg is None:
        return None
    check_same_call(pg, "all_reduce", [tensor], op=op)
    arr, plan, work = _reduction(tensor, op, "all_reduce")
    req = pg.comm.Iallreduce(MPI.IN_PLACE, work, plan.mpi_op)

    def finish():
        plan.finish(work, arr, pg.size())
        tensor._bump_version()

    return _run(pg, "all_reduce", [req], async_op, finish, [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the group into ``tensor`` on rank ``dst``."""
    pg = resolve(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "reduce", "dst")
    check_same_call(pg, "reduce", [tensor], op=op, dst=root)
    arr, plan, work = _reduction(tensor, op, "reduce")
    if pg.rank() == root:
        req = pg.comm.Ireduce(MPI.IN_PLACE, work, plan.mpi_op, root=root)
    else:
        req = pg.comm.Ireduce(work, None, plan.mpi_op, root=root)

    def finish():
        if pg.rank() == root:
            plan.finish(work, arr, pg.size())
            tensor._bump_version()

    return _run(pg, "reduce", [req], async_op, finish, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[rank]`` on every rank."""
    pg = resolve(group)
    if pg is None:
        return None
    arr = _array(tensor, "all_gather", "tensor")
    outs = _tensor_list(tensor_list, pg.size(), "all_gather", "tensor_list", like=arr)
    check_same_call(pg, "all_gather", [tensor])
    recv = np.empty(pg.size() * arr.nbytes, np.uint8)
    req = pg.comm.Iallgather(_bytes(_contiguous(arr)), recv)

    def finish():
        _copy_back(outs, recv)
        _bump(*tensor_list)

    return _run(pg, "all_gather", [req], async_op, finish, list(tensor_list))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated (or stacked) into ``output_tensor``."""
    pg = resolve(group)
    if pg is None:
        return None
    opname = "all_gather_into_tensor"
    inp = _array(input_tensor, opname, "input_tensor")
    out = _array(output_tensor, opname, "output_tensor")
    if out.size != pg.size() * inp.size or out.dtype != inp.dtype:
        raise ValueError(
            f"{opname}: output tensor size must be equal to world_size times input tensor "
            f"size, with the same dtype (world_size {pg.size()}, input {tuple(inp.shape)} "
            f"{inp.dtype}, output {tuple(out.shape)} {out.dtype})"
        )
    check_same_call(pg, opname, [input_tensor, output_tensor])
    recv = _contiguous(out)
    req = pg.comm.Iallgather(_bytes(_contiguous(inp)), _bytes(recv))

    def finish():
        if recv is not out:
            out[...] = recv
        output_tensor._bump_version()

    return _run(pg, opname, [req], async_op, finish, [output_tensor])


def _reduce_scatter(pg, opname, out, output_tensor, send_arrays, op, async_op):
    check_same_call(pg, opname, [output_tensor], op=op)
    plan = plan_reduction(op, out.dtype, opname)
    send = plan.to_work(np.concatenate([a.reshape(-1) for a in send_arrays]))
    recv = plan.output_buffer(out)
    req = pg.comm.Ireduce_scatter_block(send, recv, plan.mpi_op)

    def finish():
        plan.finish(recv, out, pg.size())
        output_tensor._bump_version()

    return _run(pg, opname, [req], async_op, finish, [output_tensor])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[i]`` over the group into ``output`` of rank i."""
    pg = resolve(group)
    if pg is None:
        return None
    out = _array(output, "reduce_scatter", "output")
    ins = _tensor_list(input_list, pg.size(), "reduce_scatter", "input_list", like=out)
    return _reduce_scatter(pg, "reduce_scatter", out, output, ins, op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` over the group; rank i gets the i-th of its size() equal chunks."""
    pg = resolve(group)
    if pg is None:
        return None
    opname = "reduce_scatter_tensor"
    out, inp = _array(output, opname, "output"), _array(input, opname, "input")
    if inp.size != pg.size() * out.size or inp.dtype != out.dtype:
        raise ValueError(
            f"{opname}: input tensor must be world_size times the size of the output tensor, "
            f"with the same dtype (world_size {pg.size()}, input {tuple(inp.shape)} "
            f"{inp.dtype}, output {tuple(out.shape)} {out.dtype})"
        )
    return _reduce_scatter(pg, opname, out, output, [inp], op, async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    pg = resolve(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather", "dst")
    arr = _array(tensor, "gather", "tensor")
    check_same_call(pg, "gather", [tensor], dst=root)
    send = _bytes(_contiguous(arr))
    if pg.rank() != root:
        if gather_list:
            raise ValueError(
                "gather: Argument ``gather_list`` must NOT be specified on non-destination ranks."
            )
        return _run(pg, "gather", [pg.comm.Igather(send, None, root=root)], async_op)
    outs = _tensor_list(gather_list, pg.size(), "gather", "gather_list", like=arr)
    recv = np.empty(pg.size() * arr.nbytes, np.uint8)
    req = pg.comm.Igather(send, recv, root=root)

    def finish():
        _copy_back(outs, recv)
        _bump(*gather_list)

    return _run(pg, "gather", [req], async_op, finish, list(gather_list))


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """``scatter_list[i]`` of rank ``src`` into ``tensor`` on rank i."""
    pg = resolve(group)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "scatter", "src")
    arr = _array(tensor, "scatter", "tensor")
    check_same_call(pg, "scatter", [tensor], src=root)
    send = None
    if pg.rank() == root:
        ins = _tensor_list(scatter_list, pg.size(), "scatter", "scatter_list", like=arr)
        send = np.concatenate([_bytes(_contiguous(a)) for a in ins])
    elif scatter_list:
        raise ValueError(
            "scatter: Argument ``scatter_list`` must NOT be specified on non-source ranks."
        )
    recv = _contiguous(arr)
    req = pg.comm.Iscatter(send, _bytes(recv), root=root)

    def finish():
        if recv is not arr:
            arr[...] = recv
        tensor._bump_version()

    return _run(pg, "scatter", [req], async_op, finish, [tensor])


def _alltoallv(pg, opname, send_pieces, recv_sizes, async_op, on_done, result):
    """Send ``send_pieces[i]`` (byte arrays) to rank i; receive ``recv_sizes[i]`` bytes from i."""
    send = np.concatenate(send_pieces) if send_pieces else np.empty(0, np.uint8)
    send_counts = [p.size for p in send_pieces]
    recv = np.empty(sum(recv_sizes), np.uint8)
    req = pg.comm.Ialltoallv(
        [send, (send_counts, np.cumsum([0, *send_counts[:-1]]).tolist())],
        [recv, (list(recv_sizes), np.cumsum([0, *recv_sizes[:-1]]).tolist())],
    )
    return _run(pg, opname, [req], async_op, lambda: on_done(recv), result)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op=False):
    """``input_tensor_list[j]`` of rank i into ``output_tensor_list[i]`` of rank j."""
    pg = resolve(group)
    if pg is None:
        return None
    n = pg.size()
    outs = _tensor_list(output_tensor_list, n, "all_to_all", "output_tensor_list")
    ins = _tensor_list(input_tensor_list, n, "all_to_all", "input_tensor_list")
    for i, (o, a) in enumerate(zip(outs, ins)):
        if o.dtype != a.dtype:
            raise RuntimeError(
                f"all_to_all: output_tensor_list[{i}] is {o.dtype} but "
                f"input_tensor_list[{i}] is {a.dtype}"
            )

    def done(recv):
        _copy_back(outs, recv)
        _bump(*output_tensor_list)

    pieces = [_bytes(_contiguous(a)) for a in ins]
    return _alltoallv(
        pg, "all_to_all", pieces, [o.nbytes for o in outs], async_op, done, list(output_tensor_list)
    )


def _splits(sizes, rows, n, opname, argname):
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise ValueError(
                f"{opname}: dimension 0 ({rows}) of the {argname.split('_')[0]} "
                f"tensor must be divisible by the group size {n}"
            )
        return [rows // n] * n
    sizes = [int(s) for s in sizes]
    if len(sizes) != n or sum(sizes) != rows or min(sizes) < 0:
        raise ValueError(
            f"{opname}: {argname}={sizes} must have {n} non-negative entries "
            f"summing to dimension 0 ({rows})"
        )
    return sizes


def all_to_all_single(
    output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False
):
    """Split ``input`` along dim 0, send piece i to rank i, concatenate what arrives."""
    pg = resolve(group)
    if pg is None:
        return None
    opname = "all_to_all_single"
    out, inp = _array(output, opname, "output"), _array(input, opname, "input")
    if out.dtype != inp.dtype or out.shape[1:] != inp.shape[1:]:
        raise RuntimeError(
            f"{opname}: output {tuple(out.shape)} {out.dtype} and input "
            f"{tuple(inp.shape)} {inp.dtype} must agree in dtype and in every "
            "dimension but the first"
        )
    n = pg.size()
    row = int(np.prod(inp.shape[1:], dtype=np.int64)) * inp.itemsize
    send_rows = _splits(
        input_split_sizes, inp.shape[0] if inp.ndim else 1, n, opname, "input_split_sizes"
    )
    recv_rows = _splits(
        output_split_sizes, out.shape[0] if out.ndim else 1, n, opname, "output_split_sizes"
    )
    flat = _bytes(_contiguous(inp))
    bounds = np.cumsum([0, *send_rows]) * row
    pieces = [flat[bounds[i] : bounds[i + 1]] for i in range(n)]

    def done(recv):
        out[...] = recv.view(out.dtype).reshape(out.shape)
        output._bump_version()

    return _alltoallv(pg, opname, pieces, [r * row for r in recv_rows], async_op, done, [output])


def _peer(pg, rank, group_rank, opname, argname):
    peer = _root(pg, rank, group_rank, opname, argname)
    if peer == pg.rank():
        raise ValueError(
            f"{opname}: Invalid {argname}: a rank cannot send to or receive "
            f"from itself ({argname}={peer})"
        )
    return peer


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    pg = resolve(group)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "isend", "dst")
    buf = _bytes(_contiguous(_array(tensor, "isend", "tensor")).copy())
    opname = f"send to rank {pg.global_ranks[peer]}"
    return Work([pg.comm.Isend(buf, dest=peer, tag=tag)], pg, opname)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank if None); returns a Work."""
    pg = resolve(group)
    if pg is None:
        return None
    source = MPI.ANY_SOURCE
    if src is not None or group_src is not None:
        source = _peer(pg, src, group_src, "irecv", "src")
    arr = _array(tensor, "irecv", "tensor")
    buf = _contiguous(arr)
    statuses = [MPI.Status()]
    req = pg.comm.Irecv(_bytes(buf), source=source, tag=tag)

    def finish():
        if buf is not arr:
            arr[...] = buf
        tensor._bump_version()

    opname = "recv from any rank"
    if source != MPI.ANY_SOURCE:
        opname = f"recv from rank {pg.global_ranks[source]}"
    work = Work([req], pg, opname, finish, [tensor], statuses)
    work.source_rank = lambda: pg.global_ranks[statuses[0].Get_source()]
    return work


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send ``tensor`` to rank ``dst`` and wait until it is sent."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into ``tensor`` from rank ``src`` (any rank if None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source_rank()


class P2POp:
    """One send or receive of ``batch_isend_irecv``."""

    def __init__(self, op, tensor, peer=None, group=None, tag=0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` "
                "or ``torch.distributed.irecv``."
            )
        self.op, self.tensor, self.peer = op, tensor, peer
        self.group, self.tag, self.group_peer = group, tag, group_peer


def batch_isend_irecv(p2p_op_list):
    """Start every send and receive of the list; returns their Work handles."""
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier whose timeout error names the ranks that did not arrive."""
    pg = resolve(group)
    if pg is None:
        return
    limit = pg.timeout_seconds if timeout is None else timeout.total_seconds()
    tag = 0x7FFF
    token = np.zeros(1, np.uint8)
    if pg.rank() != 0:
        pg.comm.Isend(token, dest=0, tag=tag).Wait()
        Work([pg.comm.Irecv(token, source=0, tag=tag)], pg, "monitored_barrier").wait(limit)
        return
    import time

    pending = {
        r: pg.comm.Irecv(np.zeros(1, np.uint8), source=r, tag=tag) for r in range(1, pg.size())
    }
    deadline = time.monotonic() + limit
    while pending and time.monotonic() < deadline:
        for r in [r for r, q in pending.items() if q.Test()]:
            del pending[r]
        time.sleep(0.0005)
    if pending:
        missing = [pg.global_ranks[r] for r in pending]
        shown = missing if wait_all_ranks else missing[:1]
        raise RuntimeError(
            f"monitored_barrier on {pg.describe()}: rank{'s' if len(shown) > 1 else ''} "
            f"{', '.join(map(str, shown))} failed to pass monitoredBarrier in {limit:g} s"
        )
    for r in range(1, pg.size()):
        pg.comm.Isend(token, dest=r, tag=tag).Wait()
