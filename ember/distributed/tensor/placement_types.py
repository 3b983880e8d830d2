"""Placements: how a distributed tensor's data is laid out over one dimension of a device mesh.

These are immutable value objects, compared and hashed by their fields, printed as in PyTorch
(``Shard(dim=0)``, ``S(0)``, ``Replicate()``, ``R``, ``Partial(sum)``, ``P(sum)``). They carry
no data, so libraries can build and compare sharding plans even though ember has no sharded
tensor to apply them to.
"""

__all__ = ["Placement", "Shard", "Replicate", "Partial"]


class Placement:
    """Base of all placements; ``is_shard``, ``is_replicate`` and ``is_partial`` classify one."""

    __slots__ = ()

    def is_shard(self, dim=None):
        return False

    def is_replicate(self):
        return False

    def is_partial(self, reduce_op=None):
        return False

    def _fields(self):
        return ()

    def __eq__(self, other):
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self):
        return hash((type(self).__name__, *self._fields()))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")


def _check_dim(placement, dim):
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{placement}(dim) expects an int, got {type(dim).__name__} {dim!r}")
    return dim


class Shard(Placement):
    """Each rank of the mesh dimension holds one contiguous chunk of tensor dimension ``dim``,
    chunked as ``torch.chunk`` does."""

    __slots__ = ("_dim",)

    def __init__(self, dim=0):
        object.__setattr__(self, "_dim", _check_dim("Shard", dim))

    @property
    def dim(self):
        return self._dim

    def is_shard(self, dim=None):
        return dim is None or dim == self._dim

    def _fields(self):
        return (self._dim,)

    @staticmethod
    def local_shard_size_and_offset(curr_local_size, num_chunks, rank):
        """(size, offset) along the sharded dimension of ``rank``'s chunk of a dimension of
        ``curr_local_size`` elements split into ``num_chunks`` chunks the way ``torch.chunk``
        splits it (equal chunks of ``ceil(size / num_chunks)``, the last ones shorter or empty).
        """
        if num_chunks <= 0 or not 0 <= rank < num_chunks:
            raise ValueError(
                f"Shard.local_shard_size_and_offset: rank {rank} is not in [0, {num_chunks})"
            )
        full_chunk = -(-curr_local_size // num_chunks)
        start = full_chunk * rank
        if start >= curr_local_size:
            return 0, curr_local_size
        return min(curr_local_size, start + full_chunk) - start, start

    def _local_shard_size_and_offset(self, curr_local_size, num_chunks, rank):
        return Shard.local_shard_size_and_offset(curr_local_size, num_chunks, rank)

    def __repr__(self):
        return f"Shard(dim={self._dim})"

    def __str__(self):
        return f"S({self._dim})"


class _StridedShard(Placement):
    """Shard ``dim`` after it was already split into ``split_factor`` groups: each rank holds
    one chunk from every group (the layout of fused, interleaved projections)."""

    __slots__ = ("_dim", "_split_factor")

    def __init__(self, dim, *, split_factor=1, sf=None):
        object.__setattr__(self, "_dim", _check_dim("_StridedShard", dim))
        object.__setattr__(self, "_split_factor", split_factor if sf is None else sf)

    @property
    def dim(self):
        return self._dim

    @property
    def split_factor(self):
        return self._split_factor

    def _fields(self):
        return (self._dim, self._split_factor)

    def __repr__(self):
        return f"_StridedShard(dim={self._dim}, sf={self._split_factor})"

    def __str__(self):
        return f"_S({self._dim}, {self._split_factor})"


class Replicate(Placement):
    """Every rank of the mesh dimension holds the whole tensor."""

    __slots__ = ()

    def is_replicate(self):
        return True

    def __repr__(self):
        return "Replicate()"

    def __str__(self):
        return "R"


class Partial(Placement):
    """Every rank holds a partial value; the tensor is their reduction by ``reduce_op``."""

    __slots__ = ("_reduce_op",)

    def __init__(self, reduce_op="sum"):
        if not isinstance(reduce_op, str):
            raise TypeError(f"Partial(reduce_op) expects a str, got {reduce_op!r}")
        object.__setattr__(self, "_reduce_op", reduce_op)

    @property
    def reduce_op(self):
        return self._reduce_op

    def is_partial(self, reduce_op=None):
        return reduce_op is None or reduce_op == self._reduce_op

    def _fields(self):
        return (self._reduce_op,)

    def __repr__(self):
        return f"Partial({self._reduce_op})"

    def __str__(self):
        return f"P({self._reduce_op})"
