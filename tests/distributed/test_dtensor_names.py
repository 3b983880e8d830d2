"""torch.distributed.tensor names in ember: placements and shard arithmetic against PyTorch's,
DTensor entry points failing clearly, and device meshes with functional collectives across two
MPI processes."""

import itertools
import json
import textwrap

import numpy as np
import pytest
import torch
import torch.distributed.device_mesh as torch_device_mesh
import torch.distributed.tensor as torch_dtensor
import torch.distributed.tensor.parallel as torch_parallel
from torch.distributed.tensor.placement_types import _StridedShard as TorchStridedShard

import ember

pytest.importorskip("mpi4py")

from ember.distributed import checkpoint, fsdp  # noqa: E402
from ember.distributed import device_mesh as ember_device_mesh  # noqa: E402
from ember.distributed import tensor as ember_dtensor  # noqa: E402
from ember.distributed._composable import fsdp as composable_fsdp  # noqa: E402
from ember.distributed.checkpoint import hf_storage  # noqa: E402
from ember.distributed.tensor import parallel as ember_parallel  # noqa: E402
from ember.distributed.tensor.placement_types import _StridedShard  # noqa: E402


def _placements(module, strided):
    return [
        module.Shard(0), module.Shard(1), module.Shard(-1), module.Replicate(),
        module.Partial(), module.Partial("max"), module.Partial("avg"),
        strided(0, split_factor=2), strided(1, split_factor=3),
    ]  # fmt: skip


def test_placements_print_compare_and_classify_as_torch():
    ours = _placements(ember_dtensor, _StridedShard)
    theirs = _placements(torch_dtensor, TorchStridedShard)
    for mine, reference in zip(ours, theirs):
        assert repr(mine) == repr(reference)
        assert str(mine) == str(reference)
        assert mine.is_replicate() == reference.is_replicate()
        assert mine.is_partial() == reference.is_partial()
        for dim in (None, 0, 1):
            assert mine.is_shard(dim) == reference.is_shard(dim), (mine, dim)
    for (a, ta), (b, tb) in itertools.product(zip(ours, theirs), repeat=2):
        assert (a == b) == (ta == tb), (a, b)
        if ta == tb:
            assert hash(a) == hash(b)
    assert {ember_dtensor.Shard(0): 1}[ember_dtensor.Shard(0)] == 1
    assert ember_dtensor.Shard(2).dim == 2 and ember_dtensor.Partial().reduce_op == "sum"


def test_placements_are_immutable_and_check_their_arguments():
    with pytest.raises(AttributeError):
        ember_dtensor.Shard(0).dim = 1
    with pytest.raises(TypeError, match="Shard"):
        ember_dtensor.Shard(1.5)
    with pytest.raises(TypeError, match="Partial"):
        ember_dtensor.Partial(3)


def test_local_shard_size_and_offset_matches_torch():
    for size, chunks in itertools.product(range(0, 12), range(1, 6)):
        for rank in range(chunks):
            expected = torch_dtensor.Shard.local_shard_size_and_offset(size, chunks, rank)
            got = ember_dtensor.Shard.local_shard_size_and_offset(size, chunks, rank)
            assert got == tuple(expected), (size, chunks, rank)
            assert ember_dtensor.Shard(0)._local_shard_size_and_offset(size, chunks, rank) == got
    with pytest.raises(ValueError, match="rank 3 is not in"):
        ember_dtensor.Shard.local_shard_size_and_offset(10, 3, 3)


def test_module_names_cover_torch():
    assert set(torch_dtensor.__all__) <= set(ember_dtensor.__all__)
    assert set(torch_parallel.__all__) == set(ember_parallel.__all__)
    assert set(torch_device_mesh.__all__) == set(ember_device_mesh.__all__)
    for name in ember_dtensor.__all__:
        assert hasattr(ember_dtensor, name), name
    for name in ember_parallel.__all__:
        assert hasattr(ember_parallel, name), name


def test_dtensor_is_a_tensor_type_that_no_tensor_belongs_to():
    DTensor = ember_dtensor.DTensor
    assert issubclass(DTensor, ember.Tensor)
    assert not isinstance(ember.zeros(2), DTensor)
    assert not isinstance(ember.nn.Parameter(ember.zeros(2)), DTensor)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ember_dtensor.DTensor(), "DTensor"),
        (lambda: ember_dtensor.DTensor.from_local(ember.zeros(2)), "DTensor.from_local"),
        (lambda: ember_dtensor.distribute_tensor(ember.zeros(2)), "distribute_tensor"),
        (lambda: ember_dtensor.distribute_module(ember.nn.Linear(2, 2)), "distribute_module"),
        (lambda: ember_dtensor.zeros(2, 3), "torch.distributed.tensor.zeros"),
        (lambda: ember_parallel.parallelize_module(ember.nn.Linear(2, 2)), "parallelize_module"),
        (lambda: ember_parallel.loss_parallel(), "loss_parallel"),
        (lambda: fsdp.fully_shard(ember.nn.Linear(2, 2)), "fully_shard"),
        (lambda: fsdp.FullyShardedDataParallel(ember.nn.Linear(2, 2)), "FullyShardedDataParallel"),
        (lambda: fsdp.FSDPModule(), "FSDPModule"),
        (lambda: checkpoint.save({}), "checkpoint.save"),
        (lambda: checkpoint.load({}), "checkpoint.load"),
        (lambda: hf_storage.HuggingFaceStorageReader("x"), "HuggingFaceStorageReader"),
    ],
)
def test_sharded_tensor_entry_points_raise_naming_what_was_asked(call, name):
    with pytest.raises(NotImplementedError, match=name):
        call()


def test_fsdp_policies_are_value_objects_as_in_torch():
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy

    ours = fsdp.MixedPrecisionPolicy(param_dtype=ember.bfloat16)
    theirs = MixedPrecisionPolicy(param_dtype=torch.bfloat16)
    assert ours.param_dtype is ember.bfloat16 and ours == fsdp.MixedPrecisionPolicy(ember.bfloat16)
    assert (ours.reduce_dtype, ours.output_dtype, ours.cast_forward_inputs) == (
        theirs.reduce_dtype, theirs.output_dtype, theirs.cast_forward_inputs
    )  # fmt: skip
    assert fsdp.CPUOffloadPolicy().pin_memory == CPUOffloadPolicy().pin_memory
    assert composable_fsdp.fully_shard is fsdp.fully_shard


def test_parallel_styles_hold_their_layouts():
    Shard, Replicate = ember_dtensor.Shard, ember_dtensor.Replicate
    style = ember_parallel.RowwiseParallel(input_layouts=Shard(1), output_layouts=Replicate())
    assert style.input_layouts == Shard(1) and style.output_layouts == Replicate()
    assert style.use_local_output is True
    assert isinstance(ember_parallel.ColwiseParallel(), ember_parallel.ParallelStyle)
    assert ember_parallel.SequenceParallel().sequence_dim == 1
    with pytest.raises(NotImplementedError, match="ColwiseParallel"):
        ember_parallel.ColwiseParallel()._apply(ember.nn.Linear(2, 2), None)


MESH_SCRIPT = """
import json
import sys

import ember
import ember.distributed as dist
from ember.distributed import _functional_collectives as funcol
from ember.distributed.device_mesh import DeviceMesh, init_device_mesh
from ember.distributed.tensor import Replicate, Shard
from ember.distributed.tensor._utils import compute_local_shape_and_global_offset

mesh = init_device_mesh("cpu", (2,), mesh_dim_names=("dp",))
rank = dist.get_rank()
value = ember.tensor([float(rank + 1)])
dist.all_reduce(value, group=mesh.get_group("dp"))
grid = DeviceMesh("cpu", [[0, 1]], mesh_dim_names=("pp", "tp"))
tp = grid["tp"]
x = (ember.arange(4.0) * (rank + 1)).requires_grad_()
exchanged = funcol.all_to_all_single_autograd(x, [2, 2], [2, 2], group=tp.get_group())
(exchanged * ember.arange(4.0)).sum().backward()
result = json.dumps({
    "rank": rank, "coordinate": mesh.get_coordinate(), "local_rank": mesh.get_local_rank("dp"),
    "shape": list(mesh.shape), "sum": value.item(),
    "grid_coordinate": grid.get_coordinate(), "tp_ranks": tp.mesh.tolist(),
    "tp_local_rank": tp.get_local_rank(),
    "local": [list(p) for p in compute_local_shape_and_global_offset((5, 3), mesh, [Shard(0)])],
    "local_2d": [list(p) for p in compute_local_shape_and_global_offset(
        (4, 7), grid, [Replicate(), Shard(1)])],
    "reduced": funcol.wait_tensor(funcol.all_reduce(ember.tensor([rank * 10.0]), "sum",
                                                    mesh.get_group())).tolist(),
    "gathered": funcol.all_gather_tensor(ember.tensor([[rank, rank]]), 1,
                                         mesh.get_group()).tolist(),
    "scattered": funcol.reduce_scatter_tensor(ember.tensor([[1.0, 2.0], [3.0, 4.0]]) * (rank + 1),
                                              "sum", 1, mesh.get_group()).tolist(),
    "exchanged": exchanged.tolist(), "grad": x.grad.tolist(),
})
with open(f"{sys.argv[1]}/rank{rank}.json", "w") as f:
    f.write(result)
"""


def _torch_chunk_offset(size, chunks, rank):
    pieces = torch.arange(size).chunk(chunks)
    if rank >= len(pieces):
        return 0, size
    return len(pieces[rank]), int(pieces[rank][0]) if len(pieces[rank]) else size


def test_device_mesh_groups_and_functional_collectives_on_two_ranks(mpirun, tmp_path):
    script = tmp_path / "mesh.py"
    script.write_text(textwrap.dedent(MESH_SCRIPT))
    mpirun(str(script), 2, str(tmp_path))
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert [r["rank"] for r in results] == [0, 1]
    for rank, r in enumerate(results):
        assert r["coordinate"] == [rank] and r["local_rank"] == rank and r["shape"] == [2]
        assert r["sum"] == 3.0
        assert r["grid_coordinate"] == [0, rank]
        assert r["tp_ranks"] == [0, 1] and r["tp_local_rank"] == rank
        size, offset = _torch_chunk_offset(5, 2, rank)
        assert r["local"] == [[size, 3], [offset, 0]]
        size, offset = _torch_chunk_offset(7, 2, rank)
        assert r["local_2d"] == [[4, size], [0, offset]]
        assert r["reduced"] == [10.0]
        assert r["gathered"] == [[0, 0, 1, 1]]
        assert r["scattered"] == ([[3.0], [9.0]] if rank == 0 else [[6.0], [12.0]])
    # all_to_all: rank r receives piece r of every rank's x = arange(4) * (rank + 1).
    sent = [np.arange(4.0) * (rank + 1) for rank in range(2)]
    for rank, r in enumerate(results):
        expected = np.concatenate([s[2 * rank : 2 * rank + 2] for s in sent])
        np.testing.assert_array_equal(r["exchanged"], expected)
        # Element 2d + j of rank s's x lands on rank d at position 2s + j, where the loss
        # sum(exchanged * arange(4)) weighs it by 2s + j.
        np.testing.assert_array_equal(r["grad"], [2 * rank, 2 * rank + 1] * 2)
