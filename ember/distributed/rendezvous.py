"""Forming the default group's communicator.

Processes of one mpiexec job already share ``MPI.COMM_WORLD``. Processes of separate jobs
(``ember run`` on each machine, or ``mpiexec -n 1`` per process) meet at
MASTER_ADDR:MASTER_PORT: the job holding rank 0 opens an MPI port and, for each other job in
turn, hands the port name to that job's first process over a TCP connection; the job
connects, and the two communicators are merged. Finally the ranks are put in RANK order.
Processes started without mpiexec (MPI singletons) cannot be connected this way with MPICH.
"""

import os
import socket
import struct
import time
from urllib.parse import urlparse

from mpi4py import MPI

from ember.distributed.errors import DistNetworkError
from ember.distributed.faults import wait_requests

_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "HYDI_CONTROL_FD", "PMIX_RANK")


def launched_by_mpiexec():
    """Whether this process was started by an MPI launcher rather than as a singleton."""
    return MPI.COMM_WORLD.Get_size() > 1 or any(v in os.environ for v in _LAUNCHER_VARS)


def _env_int(name):
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"Error initializing torch.distributed using env:// rendezvous: environment "
            f"variable {name} must be an integer, got {value!r}"
        ) from None


def _master_address(init_method):
    if init_method and init_method.startswith("tcp://"):
        url = urlparse(init_method)
        return url.hostname, url.port
    addr, port = os.environ.get("MASTER_ADDR"), _env_int("MASTER_PORT")
    for name, value in (("MASTER_ADDR", addr), ("MASTER_PORT", port)):
        if value is None:
            raise ValueError(
                "Error initializing torch.distributed using env:// rendezvous: environment "
                f"variable {name} expected, but not set"
            )
    return addr, port


def form_world(init_method, rank, world_size, timeout):
    """``(comm, rank, world_size)`` of the default group, with ``comm`` in rank order."""
    if init_method is not None and not init_method.startswith(("env://", "tcp://", "file://")):
        raise ValueError(f"init_process_group: unsupported init_method {init_method!r}")
    if init_method and init_method.startswith("tcp://"):
        for part in urlparse(init_method).query.split("&"):
            key, _, value = part.partition("=")
            if key == "rank" and rank < 0:
                rank = int(value)
            elif key == "world_size" and world_size < 0:
                world_size = int(value)
    if rank < 0 and (r := _env_int("RANK")) is not None:
        rank = r
    if world_size < 0 and (w := _env_int("WORLD_SIZE")) is not None:
        world_size = w
    world = MPI.COMM_WORLD
    if rank < 0 and world_size < 0:
        if launched_by_mpiexec():
            return _dup_world(timeout), world.Get_rank(), world.Get_size()
        raise ValueError(
            "Error initializing torch.distributed using env:// rendezvous: environment "
            "variable RANK expected, but not set (start the processes with mpiexec, "
            "`ember run --nproc-per-node N`, or torch.multiprocessing.spawn)"
        )
    if rank < 0 or world_size < 0:
        missing = "RANK" if rank < 0 else "WORLD_SIZE"
        raise ValueError(
            "Error initializing torch.distributed using env:// rendezvous: environment "
            f"variable {missing} expected, but not set"
        )
    if not 0 <= rank < world_size:
        raise ValueError(
            f"init_process_group: rank {rank} is out of range for world_size {world_size}"
        )
    if world.Get_size() > world_size:
        raise ValueError(
            f"init_process_group: world_size={world_size} but this MPI job already has "
            f"{world.Get_size()} processes"
        )
    comm = _dup_world(timeout)
    if world.Get_size() < world_size:
        if not launched_by_mpiexec():
            raise DistNetworkError(
                f"init_process_group: rank {rank} of {world_size} was not started by mpiexec; "
                "MPICH cannot connect such processes. Start them with mpiexec, `ember run "
                "--nproc-per-node N`, or torch.multiprocessing.spawn"
            )
        comm = _join_jobs(comm, rank, world_size, _master_address(init_method), timeout)
    return _in_rank_order(comm, rank, world_size, timeout), rank, world_size


def _dup_world(timeout):
    """A copy of MPI.COMM_WORLD, made once every process of the job has asked for it."""
    world = MPI.COMM_WORLD
    comm, request = world.Idup()
    wait_requests(
        [request],
        timeout,
        lambda: (
            f"init_process_group on the {world.Get_size()} processes started by mpiexec "
            f"(waiting in rank {world.Get_rank()} for the others to call it)"
        ),
    )
    return comm


def _in_rank_order(comm, rank, world_size, timeout):
    wait_requests(
        [comm.Ibarrier()],
        timeout,
        lambda: f"init_process_group (rank {rank} of {world_size}, waiting for the others)",
    )
    ranks = comm.allgather(rank)
    if sorted(ranks) != list(range(world_size)):
        raise ValueError(
            f"init_process_group: the processes gave ranks {ranks}; each of 0 to "
            f"{world_size - 1} must be given exactly once"
        )
    ordered = comm.Split(0, key=rank)
    comm.Free()
    return ordered


def _join_jobs(comm, rank, world_size, address, timeout):
    """Connect this MPI job's communicator with the other jobs' into one of world_size."""
    holds_rank0 = comm.allreduce(rank == 0, op=MPI.LOR)
    if holds_rank0:
        return _accept_jobs(comm, world_size, address, timeout)
    port = _receive_port_name(comm, address, timeout)
    inter = comm.Connect(port, root=0)
    merged = inter.Merge(high=True)
    inter.Free()
    comm.Free()
    return _accept_rest(merged, world_size, port, None, timeout)


def _accept_jobs(comm, world_size, address, timeout):
    server = None
    port = None
    if comm.Get_rank() == 0:
        port = MPI.Open_port()
        server = socket.create_server(("", address[1]), reuse_port=False)
        server.settimeout(timeout)
    port = comm.bcast(port, root=0)
    merged = _accept_rest(comm, world_size, port, server, timeout)
    if server is not None:
        server.close()
        MPI.Close_port(port)
    return merged


def _accept_rest(comm, world_size, port, server, timeout):
    """Accept jobs one at a time until the communicator holds ``world_size`` processes."""
    while comm.Get_size() < world_size:
        if comm.Get_rank() == 0:
            status = _hand_out_port(server, port, timeout, comm.Get_size(), world_size)
        else:
            status = None
        status = comm.bcast(status, root=0)
        if status != "ok":
            raise DistNetworkError(status)
        inter = comm.Accept(port, root=0)
        merged = inter.Merge(high=False)
        inter.Free()
        comm.Free()
        comm = merged
    return comm


def _hand_out_port(server, port, timeout, have, world_size):
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return (
            f"init_process_group: timed out after {timeout:g} s waiting for ranks to connect "
            f"to MASTER_ADDR:MASTER_PORT ({have} of {world_size} ranks joined)"
        )
    with conn:
        data = port.encode()
        conn.sendall(struct.pack("!I", len(data)) + data)
    return "ok"


def _receive_port_name(comm, address, timeout):
    port = error = None
    if comm.Get_rank() == 0:
        deadline = time.monotonic() + timeout
        while port is None and error is None:
            try:
                with socket.create_connection(address, timeout=timeout) as conn:
                    (n,) = struct.unpack("!I", _read_exactly(conn, 4))
                    port = _read_exactly(conn, n).decode()
            except OSError as e:
                if time.monotonic() > deadline:
                    error = (
                        f"init_process_group: could not reach the rank-0 process at "
                        f"{address[0]}:{address[1]} within {timeout:g} s ({e})"
                    )
                else:
                    time.sleep(0.1)
    port, error = comm.bcast((port, error), root=0)
    if error:
        raise DistNetworkError(error)
    return port


def _read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed during rendezvous")
        data += chunk
    return data
