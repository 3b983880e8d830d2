"""``ReduceOp`` and how each op reduces each dtype over MPI.

MPI has no bfloat16 or float16 and no average, and its logical ops on ``bool`` differ by
implementation, so a reduction is planned per dtype: half-precision floats are reduced in
float32 and rounded back, booleans travel as bytes (SUM and MAX as a bytewise maximum, that is
logical or; PRODUCT and MIN as a minimum, logical and), complex numbers as pairs of reals, and
AVG is a SUM divided by the group size afterwards.
"""

import enum

import numpy as np
from mpi4py import MPI


class ReduceOp(enum.Enum):
    """The reduction of ``all_reduce``, ``reduce`` and ``reduce_scatter``."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self):
        return f"RedOpType.{self.name}"


RedOpType = ReduceOp
# PyTorch nests the enum of ops as ``ReduceOp.RedOpType``; code names that type through it.
ReduceOp.RedOpType = ReduceOp

_MPI_OPS = {
    ReduceOp.SUM: MPI.SUM,
    ReduceOp.AVG: MPI.SUM,
    ReduceOp.PRODUCT: MPI.PROD,
    ReduceOp.MIN: MPI.MIN,
    ReduceOp.MAX: MPI.MAX,
    ReduceOp.BAND: MPI.BAND,
    ReduceOp.BOR: MPI.BOR,
    ReduceOp.BXOR: MPI.BXOR,
}
_BOOL_OPS = {
    ReduceOp.SUM: MPI.MAX,
    ReduceOp.MAX: MPI.MAX,
    ReduceOp.BOR: MPI.MAX,
    ReduceOp.PRODUCT: MPI.MIN,
    ReduceOp.MIN: MPI.MIN,
    ReduceOp.BAND: MPI.MIN,
    ReduceOp.BXOR: MPI.BXOR,
}
_HALF_NAMES = ("float16", "bfloat16")
_INTEGER_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                  "uint8": "Byte", "bool": "Bool"}  # fmt: skip


class ReductionPlan:
    """How to reduce one array: the array MPI works on, the MPI op, and how to write back."""

    __slots__ = ("op", "mpi_op", "work_dtype", "view_dtype", "average")

    def __init__(self, op, mpi_op, work_dtype=None, view_dtype=None, average=False):
        self.op, self.mpi_op = op, mpi_op
        self.work_dtype, self.view_dtype, self.average = work_dtype, view_dtype, average

    @property
    def copies(self):
        """Whether MPI works on a converted copy rather than on the tensor's own memory."""
        return self.work_dtype is not None

    def to_work(self, arr):
        """The array MPI reduces: ``arr`` itself (or a reinterpreting view) when possible."""
        if self.work_dtype is not None:
            return arr.astype(self.work_dtype)
        if self.view_dtype is not None:
            return arr.reshape(-1).view(self.view_dtype)
        return arr

    def finish(self, work, out, group_size):
        """Write the reduced ``work`` into ``out`` (the tensor's array), averaging if asked."""
        if self.average:
            np.divide(work, group_size, out=work)
        if work is out or np.may_share_memory(work, out):
            return
        if self.view_dtype is not None:
            work = work.reshape(-1).view(out.dtype)
        out[...] = work.reshape(out.shape).astype(out.dtype, copy=False)

    def output_buffer(self, arr):
        """The array MPI writes a reduction of ``arr``'s shape into (``arr`` when possible)."""
        if self.work_dtype is not None:
            return np.empty(arr.shape, self.work_dtype)
        if not arr.flags.c_contiguous:
            arr = np.empty(arr.shape, arr.dtype)
        return arr if self.view_dtype is None else arr.reshape(-1).view(self.view_dtype)


def _normalise(op, opname):
    if isinstance(op, ReduceOp):
        return op
    raise TypeError(f"{opname}: op must be a torch.distributed.ReduceOp, got {op!r}")


def plan_reduction(op, dtype, opname):
    """The ReductionPlan for reducing arrays of NumPy ``dtype`` with ``op`` in ``opname``."""
    op = _normalise(op, opname)
    if op is ReduceOp.PREMUL_SUM:
        raise RuntimeError(f"{opname}: ReduceOp.PREMUL_SUM is only supported by NCCL")
    bitwise = op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)
    average = op is ReduceOp.AVG
    if average and dtype.kind in "iub":
        name = _INTEGER_NAMES.get(dtype.name, dtype.name)
        raise RuntimeError(
            f"{opname}: result type Float can't be cast to the desired output type {name} "
            "(ReduceOp.AVG needs a floating point or complex tensor)"
        )
    if dtype == np.bool_:
        return ReductionPlan(op, _BOOL_OPS[op], view_dtype=np.uint8)
    if dtype.kind in "iu":
        return ReductionPlan(op, _MPI_OPS[op])
    if bitwise:
        raise RuntimeError(f"{opname}: Cannot use ReduceOp.{op.name} with non-integral dtype")
    if dtype.kind == "c":
        if op not in (ReduceOp.SUM, ReduceOp.AVG):
            raise ValueError(f"{opname} does not support {op} on complex tensors")
        real = np.float32 if dtype == np.complex64 else np.float64
        return ReductionPlan(op, MPI.SUM, view_dtype=real, average=average)
    if dtype.name in _HALF_NAMES:
        return ReductionPlan(op, _MPI_OPS[op], work_dtype=np.float32, average=average)
    return ReductionPlan(op, _MPI_OPS[op], average=average)
