"""DistributedDataParallel: one model replica per process, gradients averaged over the group.

At construction rank 0's parameters and buffers are copied to every rank. The parameters are
split into buckets of about ``bucket_cap_mb`` (in reverse registration order, roughly the
order backward produces their gradients). A hook after each gradient's accumulation marks
its parameter ready; a full bucket is flattened and its all-reduce started at once,
non-blocking, while backward goes on with the layers before. Buckets start in index order on
every rank, so the ranks' collectives always pair up. A callback at the end of backward
waits for every bucket and writes the averaged gradients back, so ``backward()`` returns with
the gradients synchronised, as in PyTorch.
"""

import contextlib
import importlib

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
    """Parameters whose gradients are all-reduced together as one flat tensor."""

    def __init__(self, indices, params):
        self.indices = indices
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.pending = len(params)
        self.flat = None
        self.work = None


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
            self._broadcast_from_rank0(list(module.parameters()) + list(module.buffers()))
        self._buckets, self._bucket_of = self._make_buckets()
        self._ready = [False] * len(self._params)
        self._used = [True] * len(self._params)
        self._next_bucket = 0
        self._expect_backward = False
        self._callback_queued = False
        self._unfinished = None
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

    def _broadcast_from_rank0(self, tensors):
        """Copy rank 0's tensors to every rank, one flat message per dtype."""
        if self._world == 1 or not tensors:
            return
        src = dist.get_global_rank(self.process_group, 0)
        with no_grad():
            by_dtype = {}
            for t in tensors:
                by_dtype.setdefault(t.dtype, []).append(t)
            for group in by_dtype.values():
                flat = _flatten([t.detach() for t in group])
                dist.broadcast(flat, src=src, group=self.process_group)
                _unflatten_into(flat, group)

    def _make_buckets(self):
        buckets, bucket_of = [], [None] * len(self._params)
        current, size, dtype = [], 0, None
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.element_size()
            if current and (p.dtype != dtype or size + nbytes > self.bucket_bytes_cap):
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
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._broadcast_from_rank0(list(self.module.buffers()))
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
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
        while (
            self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0
        ):
            self._launch(self._buckets[self._next_bucket])
            self._next_bucket += 1

    def _launch(self, bucket):
        with no_grad():
            grads = []
            for i, p in zip(bucket.indices, bucket.params):
                if p.grad is None or not self._used[i]:
                    grads.append(_zeros_like(p))
                else:
                    grads.append(p.grad.detach())
            bucket.flat = _flatten(grads)
            bucket.work = dist.all_reduce(
                bucket.flat, op=dist.ReduceOp.AVG, group=self.process_group, async_op=True
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
        with no_grad():
            for bucket in self._buckets[: self._next_bucket]:
                bucket.work.wait()
                self._write_back(bucket, used_anywhere)
                bucket.work = bucket.flat = None

    def _write_back(self, bucket, used_anywhere):
        offset = 0
        for i, p, n in zip(bucket.indices, bucket.params, bucket.sizes):
            piece = bucket.flat[offset : offset + n].view(p.shape)
            offset += n
            if used_anywhere is not None and not used_anywhere[i]:
                continue
            if self.gradient_as_bucket_view or p.grad is None:
                p.grad = piece if self.gradient_as_bucket_view else piece.clone()
            else:
                p.grad.copy_(piece)

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


def _zeros_like(p):
    from ember import zeros

    return zeros(p.shape, dtype=p.dtype)


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
