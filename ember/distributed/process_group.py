"""Process groups over MPI communicators: the default group, ``new_group`` and queries.

Backends "mpi" and "gloo" both run on MPI (mpi4py); "nccl" needs CUDA, which this build
lacks, and fails as PyTorch's CPU build does.
"""

import datetime

from mpi4py import MPI

from ember.distributed import faults, rendezvous
from ember.distributed.arrivals import ArrivalRecord

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class Backend(str):
    """A backend name: ``Backend("gloo") == "gloo"``."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    default_device_backend_map = {"cpu": "gloo", "cuda": "nccl"}

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        if value == Backend.UNDEFINED:
            value = name.lower()
        return str.__new__(cls, value)


class ProcessGroup:
    """A set of ranks that run collectives together, over one MPI communicator."""

    def __init__(self, comm, global_ranks, backend, timeout, name):
        self.comm = comm
        self.global_ranks = list(global_ranks)
        self._group_rank_of = {g: i for i, g in enumerate(self.global_ranks)}
        self._backend = Backend(backend)
        self.timeout = timeout
        self.timeout_seconds = timeout.total_seconds()
        self.group_name = name
        self._tag = 0
        try:
            self._arrivals = ArrivalRecord(comm)
        except MPI.Exception:  # no shared memory between these ranks: arrivals unknown
            self._arrivals = None

    def enter_collective(self):
        """Count a collective this rank starts on the group; its number (None if uncounted)."""
        return None if self._arrivals is None else self._arrivals.enter()

    def describe_absent(self, number):
        """Which ranks have not started collective ``number`` yet, in words (None: none known,
        as when every rank of this machine called it but one elsewhere did not)."""
        if self._arrivals is None or number is None:
            return None
        behind, unknown = self._arrivals.absent(number)
        behind = [self.global_ranks[r] for r in behind]
        beyond = ""
        if unknown:
            beyond = f"; {unknown} rank{'s' if unknown > 1 else ''} on other machines not checked"
        if behind:
            many = len(behind) > 1
            who = f"rank{'s' if many else ''} {', '.join(map(str, behind))}"
            return (
                f"{who} did not call it (collective number {number} on the group){beyond}; "
                f"{'they' if many else 'it'} may have failed, exited, or still be computing: "
                f"see {'their' if many else 'its'} output"
            )
        return None

    def free(self):
        """Release the group's MPI resources."""
        if self._arrivals is not None:
            self._arrivals.free()
            self._arrivals = None
        _free(self.comm)

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def name(self):
        return self._backend

    @property
    def bound_device_id(self):
        return None

    def group_rank(self, global_rank, opname, argname, error=RuntimeError):
        """The rank in this group of ``global_rank``; an error naming the op if not a member."""
        try:
            return self._group_rank_of[global_rank]
        except (KeyError, TypeError):
            raise error(
                f"{opname}: {argname}={global_rank!r} is not a rank of {self.describe()}"
            ) from None

    def describe(self):
        ranks = self.global_ranks
        shown = ranks if len(ranks) <= 16 else f"{ranks[:8]} ... {ranks[-4:]}"
        return f"process group '{self.group_name}' of {len(ranks)} ranks {shown}"

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup {self.group_name} ranks={self.global_ranks}>"


class _NonMember:
    """What ``new_group`` returns on ranks outside the group."""

    def __repr__(self):
        return "<non-group member>"


NON_GROUP_MEMBER = _NonMember()


class _GroupMeta(type):
    @property
    def WORLD(cls):
        return _state.default


class group(metaclass=_GroupMeta):
    """``group.WORLD`` is the default process group (None before ``init_process_group``)."""

    NON_GROUP_MEMBER = NON_GROUP_MEMBER


GroupMember = group


class _State:
    def __init__(self):
        self.default = None
        self.groups = []


_state = _State()


def is_available():
    return True


def is_initialized():
    return _state.default is not None


def is_mpi_available():
    return True


def is_gloo_available():
    return True


def is_nccl_available():
    return False


def is_ucc_available():
    return False


def is_torchelastic_launched():
    return False


def get_default_backend_for_device(device):
    """ "gloo" for the CPU, "nccl" for CUDA (PyTorch's defaults)."""
    kind = device if isinstance(device, str) else getattr(device, "type", str(device))
    kind = kind.split(":")[0]
    if kind not in Backend.default_device_backend_map:
        raise ValueError(f"Default backend not registered for device : {device}")
    return Backend.default_device_backend_map[kind]


def _resolve_backend(backend, device_id):
    if backend is None:
        kind = getattr(device_id, "type", "cpu") if device_id is not None else "cpu"
        backend = get_default_backend_for_device(kind)
    if not isinstance(backend, str):
        raise ValueError(f"init_process_group: backend must be a string, got {backend!r}")
    if ":" in backend:  # "cpu:gloo,cuda:nccl": the CPU backend serves ember's tensors
        pairs = dict(p.split(":", 1) for p in backend.split(","))
        backend = pairs.get("cpu", next(iter(pairs.values())))
    backend = Backend(backend)
    if backend == Backend.NCCL:
        raise RuntimeError("Distributed package doesn't have NCCL built in")
    if backend not in (Backend.GLOO, Backend.MPI):
        raise RuntimeError(
            f"Invalid backend: '{backend}'; ember.distributed runs 'gloo' and 'mpi' (both over MPI)"
        )
    return backend


def _as_timedelta(timeout, opname):
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        return timeout
    raise TypeError(f"{opname}: Expected timeout argument to be of type datetime.timedelta")


def init_process_group(
    backend=None,
    init_method=None,
    timeout=None,
    world_size=-1,
    rank=-1,
    store=None,
    group_name="",
    pg_options=None,
    device_id=None,
):
    """Join this process to the default process group.

    Under ``mpiexec`` the MPI world is the group (rank and size from MPI, or from RANK and
    WORLD_SIZE). Processes of different MPI jobs (one per machine, say) meet at
    MASTER_ADDR:MASTER_PORT and are connected into one communicator (see rendezvous.py).
    """
    if _state.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = _resolve_backend(backend, device_id)
    timeout = _as_timedelta(timeout, "init_process_group")
    if store is not None:
        if init_method is not None:
            raise ValueError("Cannot specify both init_method and store.")
        if world_size <= 0 or rank < 0:
            raise ValueError("world_size and rank must be specified when store is given")
    # An exception while the ranks meet must end every rank too.
    faults.install_abort_hook(MPI.COMM_WORLD, rank if rank >= 0 else None, world_size)
    comm, rank, world_size = rendezvous.form_world(
        init_method, rank, world_size, timeout.total_seconds()
    )
    faults.set_abort_target(comm, rank, world_size)
    _state.default = ProcessGroup(comm, range(world_size), backend, timeout, group_name or "0")
    _state.groups = [_state.default]


def destroy_process_group(group=None):
    """Release ``group`` (or the default group and every group made from it)."""
    if group is None or group is _state.default:
        if _state.default is None:
            raise ValueError(
                "Default process group has not been initialized, please make sure to call "
                "init_process_group."
            )
        for pg in _state.groups:
            pg.free()
        _state.default, _state.groups = None, []
        faults.remove_abort_hook()
        return
    if group is NON_GROUP_MEMBER:
        return
    if group in _state.groups:
        _state.groups.remove(group)
        group.free()


def _free(comm):
    if comm != MPI.COMM_NULL and comm not in (MPI.COMM_WORLD, MPI.COMM_SELF):
        comm.Free()


def default_group():
    """The default process group; PyTorch's error before ``init_process_group``."""
    if _state.default is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _state.default


def resolve(group):
    """The ProcessGroup for a ``group=`` argument, or None for a rank outside it."""
    pg = default_group() if group is None else group
    if pg is NON_GROUP_MEMBER:
        return None
    if not isinstance(pg, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup made by new_group, got {group!r}")
    return pg


def new_group(
    ranks=None,
    timeout=None,
    backend=None,
    pg_options=None,
    use_local_synchronization=False,
    group_desc=None,
    device_id=None,
):
    """A group of the given global ranks; every rank of the world must call it."""
    world = default_group()
    n = world.size()
    ranks = sorted(range(n) if ranks is None else (int(r) for r in ranks))
    if len(set(ranks)) != len(ranks) or any(not 0 <= r < n for r in ranks):
        raise ValueError(
            f"new_group: ranks must be distinct ranks of the world (0 to {n - 1}), got {ranks}"
        )
    me = world.rank()
    faults.wait_requests(
        [world.comm.Ibarrier()], world.timeout_seconds, lambda: f"new_group on {world.describe()}"
    )
    color = 0 if me in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, key=me)
    timeout = world.timeout if timeout is None else _as_timedelta(timeout, "new_group")
    if comm == MPI.COMM_NULL:
        return NON_GROUP_MEMBER
    name = str(len(_state.groups))
    backend = world.name() if backend is None else _resolve_backend(backend, None)
    pg = ProcessGroup(comm, ranks, backend, timeout, name)
    _state.groups.append(pg)
    return pg


def get_rank(group=None):
    """This process's rank in ``group`` (-1 outside it)."""
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group=None):
    """The number of ranks in ``group`` (-1 outside it)."""
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group=None):
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg.name()


def get_process_group_ranks(group):
    pg = resolve(group)
    return list(pg.global_ranks)


def get_global_rank(group, group_rank):
    pg = resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg.describe()}")
    return pg.global_ranks[group_rank]


def get_group_rank(group, global_rank):
    pg = resolve(group)
    return pg.group_rank(global_rank, "get_group_rank", "global_rank", ValueError)
