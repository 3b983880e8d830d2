"""DistributedDataParallel: one model replica per process, gradients averaged over the group.

At construction rank 0's parameters and buffers are copied to every rank. The parameters are
split into buckets of about ``bucket_cap_mb`` (in reverse registration order, roughly the
order backward produces their gradients). A hook after each gradient's accumulation marks
its parameter ready; a full bucket is flattened and its all-reduce started at once,
non-blocking, while backward goes on with the layers before. Buckets start in index order on
every rank, so the ranks' collectives always pair up. A callback at the end of backward
waits for every bucket and writes the averaged gradients back, so ``backward()`` returns with
the gradients synchronised, as in PyTorch.

Inside ``join()`` (uneven inputs), every forward starts with a small all-reduce saying which
ranks are still training; a rank that has left the loop answers it with zeros and shadows the
collectives of the others' iteration (the buffers' broadcast, then one reduction of zeros per
bucket), until no rank is left training.
"""

import contextlib
import importlib

import numpy as np

from ember._tensor import Tensor
from ember.autograd import engine
from ember.autograd.grad_mode import is_grad_enabled, no_grad
from ember.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]


class _Distributed:
    """ember.distributed, imported on first use: importing it starts MPI."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("ember.distributed"), name)


dist = _Distributed()

_FIRST_BUCKET_BYTES = 1024**2

_UNFINISHED_REDUCTION = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. "
    "Parameter indices which did not receive grad for rank {rank}: {indices}\n"
    "Parameters which did not receive grad for rank {rank}: {names}"
)


class _Bucket:
    """Parameters whose gradients are all-reduced together as one flat tensor.

    The flat tensor is kept from one iteration to the next (allocating it anew costs the
    page faults of fresh memory every step), except with ``gradient_as_bucket_view``, where
    the gradients are views of it.
    """

    def __init__(self, indices, params):
        self.indices = indices
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.pending = len(params)
        self.flat = None
        self.kept = None
        self.work = None

    def fill(self, grads, keep):
        """The flat tensor holding ``grads`` (arrays, or None for zeros) one after another."""
        if not keep:
            self.kept = None
        if self.kept is None:
            self.kept = _zeros(sum(self.sizes), self.params[0].dtype)
        flat = self.kept._data
        offset = 0
        for g, n in zip(grads, self.sizes):
            if g is None:
                flat[offset : offset + n] = 0
            else:
                flat[offset : offset + n] = g.reshape(-1)
            offset += n
        self.flat = self.kept
        return self.flat


class DistributedDataParallel(Module):
    def __init__(
        self,
        module,
        device_ids=None,
        output_device=None,
        dim=0,
        broadcast_buffers=True,
        init_sync=True,
        process_group=None,
        bucket_cap_mb=None,
        find_unused_parameters=False,
        check_reduction=False,
        gradient_as_bucket_view=False,
        static_graph=False,
        delay_all_reduce_named_params=None,
        param_to_hook_all_reduce=None,
        mixed_precision=None,
        device_mesh=None,
        skip_all_reduce_unused_params=False,
    ):
        super().__init__()
        if not dist.is_available():
            raise RuntimeError(
                "DistributedDataParallel needs ember.distributed, which needs mpi4py: "
                "pip install mpich mpi4py"
            )
        self.module = module
        self.process_group = dist.group.WORLD if process_group is None else process_group
        if self.process_group is None:
            dist.get_rank()  # PyTorch's error for an uninitialised default group
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024**2)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any "
                "parameter that requires a gradient."
            )
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._world = dist.get_world_size(self.process_group)
        self._check_same_shapes()
        if init_sync:
            self._broadcast_from(list(module.parameters()) + list(module.buffers()))
        self._buckets, self._bucket_of = self._make_buckets()
        self._ready = [False] * len(self._params)
        self._used = [True] * len(self._params)
        self._next_bucket = 0
        self._expect_backward = False
        self._callback_queued = False
        self._unfinished = None
        self._join = None  # the state of an active join() context
        self._grad_hook_handles = [
            p.register_post_accumulate_grad_hook(self._make_hook(i))
            for i, p in enumerate(self._params)
        ]

    # -- construction ---------------------------------------------------------------------
    def _check_same_shapes(self):
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._param_names, self._params)]
        everyone = [None] * self._world
        dist.all_gather_object(everyone, mine, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if theirs != mine:
                i = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), None)
                detail = (
                    f"parameter {i}: {mine[i]} here, {theirs[i]} on rank {rank}"
                    if i is not None
                    else f"{len(mine)} parameters here, {len(theirs)} on rank {rank}"
                )
                raise RuntimeError(
                    "DistributedDataParallel: the model's parameters (name, shape, dtype) must "
                    f"be the same on every rank; {detail}"
                )

    def _broadcast_from(self, tensors, group_rank=0):
        """Copy the tensors of group rank ``group_rank`` to every rank, one flat message per
        dtype."""
        if self._world == 1 or not tensors:
            return
        src = dist.get_global_rank(self.process_group, group_rank)
        with no_grad():
            by_dtype = {}
            for t in tensors:
                by_dtype.setdefault(t.dtype, []).append(t)
            for group in by_dtype.values():
                flat = _flatten([t.detach() for t in group])
                dist.broadcast(flat, src=src, group=self.process_group)
                _unflatten_into(flat, group)

    def _make_buckets(self):
        """Buckets of parameters in reverse order. The first (the last layers' gradients, ready
        first) holds at most 1 MB, as in PyTorch, so its reduction starts early in backward."""
        buckets, bucket_of = [], [None] * len(self._params)
        current, size, dtype = [], 0, None
        cap = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.element_size()
            if current and (p.dtype != dtype or size + nbytes > cap):
                cap = self.bucket_bytes_cap
                buckets.append(current)
                current, size = [], 0
            current.append(i)
            size += nbytes
            dtype = p.dtype
        buckets.append(current)
        made = []
        for b, indices in enumerate(buckets):
            made.append(_Bucket(indices, [self._params[i] for i in indices]))
            for i in indices:
                bucket_of[i] = b
        return made, bucket_of

    # -- forward --------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._unfinished is not None:
            message, self._unfinished = self._unfinished, None
            raise RuntimeError(message)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        buffers_from = 0
        if self._join is not None:
            buffers_from, _ = self._join.round(active=True, sync=sync)
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._broadcast_from(list(self.module.buffers()), buffers_from)
        output = self.module(*inputs, **kwargs)
        if sync:
            self._prepare_for_backward(output)
        else:
            self._expect_backward = False
        return output

    def _prepare_for_backward(self, output):
        self._ready = [False] * len(self._params)
        self._used = [True] * len(self._params)
        for bucket in self._buckets:
            bucket.pending, bucket.work, bucket.flat = len(bucket.params), None, None
        self._next_bucket = 0
        self._expect_backward = True
        self._callback_queued = False
        if self.find_unused_parameters:
            reached = _leaves_reached(output)
            for i, p in enumerate(self._params):
                if id(p) not in reached:
                    self._used[i] = False
                    self._mark_ready(i)

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally; the first backward after the block averages them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    @contextlib.contextmanager
    def join(
        self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False
    ):
        """Train on uneven inputs: a rank whose loop ends inside the block shadows the others'
        collectives until every rank's loop has ended; then every rank takes the model of the
        last rank to finish.

        Gradients are averaged over the initial world size (joined ranks count as zeros), or
        over the ranks still training with ``divide_by_initial_world_size=False``. With
        ``throw_on_early_termination=True`` every rank raises as soon as one runs out.
        """
        if not enable:
            yield
            return
        if self._join is not None:
            raise RuntimeError("DistributedDataParallel.join: this model is already joining")
        self._join = _Join(self, divide_by_initial_world_size, throw_on_early_termination)
        try:
            yield
            self._shadow_until_all_joined()
        finally:
            self._join = None

    def _shadow_until_all_joined(self):
        join = self._join
        while True:
            answer = join.round(active=False, sync=False)
            if answer is None:
                break
            buffers_from, sync = answer
            if self.broadcast_buffers and self.require_forward_param_sync:
                self._broadcast_from(list(self.module.buffers()), buffers_from)
            if sync:
                self._shadow_backward()
        state = list(self.module.parameters())
        if self.broadcast_buffers:
            state += list(self.module.buffers())
        self._broadcast_from(state, max(join.last_active))

    def _shadow_backward(self):
        """The collectives of the others' backward, with zeros for this rank's gradients."""
        with no_grad():
            works = [
                dist.all_reduce(
                    _zeros(sum(b.sizes), b.params[0].dtype),
                    op=dist.ReduceOp.SUM,
                    group=self.process_group,
                    async_op=True,
                )
                for b in self._buckets
            ]
            if self.find_unused_parameters:
                flags = Tensor([0] * len(self._params))
                dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=self.process_group)
            for work in works:
                work.wait()

    # -- backward -------------------------------------------------------------------------
    def _make_hook(self, index):
        def hook(param):
            if not self._expect_backward:
                return
            if not self._callback_queued:
                self._callback_queued = True
                engine.queue_callback(self._finish_backward)
            if self._ready[index]:
                raise RuntimeError(
                    "Expected to mark a variable ready only once. This error is caused by one "
                    f"of the following reasons: parameter {self._param_names[index]} was used "
                    "in several reentrant backward passes, or its gradient was computed twice "
                    "in one iteration (try static_graph=True or find_unused_parameters=False)"
                )
            self._mark_ready(index)

        return hook

    def _mark_ready(self, index):
        self._ready[index] = True
        bucket = self._buckets[self._bucket_of[index]]
        bucket.pending -= 1
        # MPI moves a started reduction's data only inside MPI calls: test the ones in flight
        # so that they progress while backward computes.
        for started in self._buckets[: self._next_bucket]:
            if started.work is not None:
                started.work.is_completed()
        while (
            self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0
        ):
            self._launch(self._buckets[self._next_bucket])
            self._next_bucket += 1

    def _launch(self, bucket):
        """Start the bucket's reduction: a sum, divided by the world size on writing back."""
        grads = [
            None if p.grad is None or not self._used[i] else p.grad._data
            for i, p in zip(bucket.indices, bucket.params)
        ]
        flat = bucket.fill(grads, keep=not self.gradient_as_bucket_view)
        bucket.work = dist.all_reduce(
            flat, op=dist.ReduceOp.SUM, group=self.process_group, async_op=True
        )

    def _finish_backward(self):
        self._expect_backward = False
        if self._next_bucket < len(self._buckets):
            self._record_unfinished()
        used_anywhere = None
        if self.find_unused_parameters:  # on every rank: which ranks used what may differ
            flags = Tensor([1 if u else 0 for u in self._used])
            dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=self.process_group)
            used_anywhere = None if all(flags.tolist()) else flags.tolist()
        divisor = self._world if self._join is None else self._join.divisor
        with no_grad():
            for bucket in self._buckets[: self._next_bucket]:
                bucket.work.wait()
                self._write_back(bucket, used_anywhere, 1.0 / divisor)
                bucket.work = bucket.flat = None

    def _write_back(self, bucket, used_anywhere, factor):
        """Each gradient, ``factor`` times its summed piece of the bucket."""
        if self.gradient_as_bucket_view:
            bucket.flat.mul_(factor)
        flat = bucket.flat._data
        offset = 0
        for i, p, n in zip(bucket.indices, bucket.params, bucket.sizes):
            piece = flat[offset : offset + n].reshape(p.shape)
            offset += n
            if used_anywhere is not None and not used_anywhere[i]:
                continue
            if self.gradient_as_bucket_view:
                p.grad = bucket.flat[offset - n : offset].view(p.shape)
            elif p.grad is None or not _writable(p.grad._data, piece.dtype):
                p.grad = _from_numpy(piece * piece.dtype.type(factor))
            else:
                np.multiply(piece, piece.dtype.type(factor), out=p.grad._data)
                p.grad._bump_version()

    def _record_unfinished(self):
        missing = [i for i, r in enumerate(self._ready) if not r]
        rank = dist.get_rank()
        self._unfinished = _UNFINISHED_REDUCTION.format(
            rank=rank,
            indices=" ".join(map(str, missing)),
            names=", ".join(self._param_names[i] for i in missing),
        )

    def __getstate__(self):
        raise RuntimeError("DistributedDataParallel cannot be pickled; pickle .module instead")


class _Join:
    """One ``join()`` context: the all-reduce that starts every round, and what it told."""

    def __init__(self, ddp, divide_by_initial_world_size, throw_on_early_termination):
        self.ddp = ddp
        self.divide_by_initial_world_size = divide_by_initial_world_size
        self.throw = throw_on_early_termination
        self.last_active = list(range(ddp._world))  # ranks training in the last round
        self.divisor = ddp._world  # of the summed gradients

    def round(self, active, sync):
        """One round on this rank: training (``active``) or joined. None once every rank has
        joined; else the highest training rank (whose buffers count) and whether they reduce
        gradients this round."""
        ddp = self.ddp
        world = ddp._world
        flags = _zeros(world + 1, _int64())
        if active:
            flags[dist.get_rank(ddp.process_group)] = 1
            flags[world] = 1 if sync else 0
        dist.all_reduce(flags, group=ddp.process_group)
        flags = flags.tolist()
        training = [r for r in range(world) if flags[r]]
        if not training:
            return None
        if self.throw and len(training) < world:
            if not active:
                raise RuntimeError(f"Rank {dist.get_rank()} exhausted all inputs.")
            raise RuntimeError(
                "Detected at least one rank that exhausted inputs. Throwing across all ranks."
            )
        self.last_active = training
        if not self.divide_by_initial_world_size:
            self.divisor = len(training)
        return max(training), flags[world] > 0


def _int64():
    from ember import int64

    return int64


def _zeros(shape, dtype):
    from ember import zeros

    return zeros(shape, dtype=dtype)


def _from_numpy(array):
    from ember import from_numpy

    return from_numpy(array)


def _writable(array, dtype):
    return isinstance(array, np.ndarray) and array.flags.writeable and array.dtype == dtype


def _flatten(tensors):
    from ember import cat

    return cat([t.reshape(-1) for t in tensors])


def _unflatten_into(flat, tensors):
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset : offset + n].view(t.shape))
        offset += n


def _leaves_reached(output):
    """Ids of the leaf tensors the autograd graph of ``output`` reaches."""
    stack, seen, leaves = [], set(), set()
    _collect_tensors(output, stack)
    stack = [t.grad_fn for t in stack if t.grad_fn is not None] + [
        t for t in stack if t.grad_fn is None and t.requires_grad
    ]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):
            leaves.add(id(node))
            continue
        stack.extend(edge[0] for edge in node._edges if edge is not None)
    return leaves


def _collect_tensors(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, list | tuple):
        for x in obj:
            _collect_tensors(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _collect_tensors(x, out)
