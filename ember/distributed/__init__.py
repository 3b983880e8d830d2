"""Distributed training over MPI: ``torch.distributed`` for ember.

Process groups, collectives and point-to-point messages run on MPI through mpi4py (the
"mpi" and "gloo" backends both use it). ``is_available()`` says whether mpi4py imports;
install it with ``pip install ember[distributed]``.
"""
# ruff: noqa: F401  (the names are this package's API)


def _mpi_imports():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


_AVAILABLE = _mpi_imports()


def is_available():
    """Whether ember's distributed package can run (mpi4py is installed)."""
    return _AVAILABLE


if _AVAILABLE:
    from ember.distributed.collectives import (
        P2POp,
        all_gather,
        all_gather_into_tensor,
        all_reduce,
        all_to_all,
        all_to_all_single,
        barrier,
        batch_isend_irecv,
        broadcast,
        gather,
        irecv,
        isend,
        monitored_barrier,
        recv,
        reduce,
        reduce_scatter,
        reduce_scatter_tensor,
        scatter,
        send,
    )
    from ember.distributed.constants import default_pg_timeout
    from ember.distributed.device_mesh import DeviceMesh, init_device_mesh
    from ember.distributed.errors import (
        DistBackendError,
        DistError,
        DistNetworkError,
        DistStoreError,
    )
    from ember.distributed.object_collectives import (
        all_gather_object,
        broadcast_object_list,
        gather_object,
        scatter_object_list,
    )
    from ember.distributed.process_group import (
        Backend,
        GroupMember,
        ProcessGroup,
        destroy_process_group,
        get_backend,
        get_default_backend_for_device,
        get_global_rank,
        get_group_rank,
        get_process_group_ranks,
        get_rank,
        get_world_size,
        group,
        init_process_group,
        is_gloo_available,
        is_initialized,
        is_mpi_available,
        is_nccl_available,
        is_torchelastic_launched,
        is_ucc_available,
        new_group,
    )
    from ember.distributed.reduce_op import ReduceOp
    from ember.distributed.work import Work
