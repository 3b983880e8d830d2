"""Faults never hang the job: deadlines on every wait, and an abort on an uncaught exception.

MPI's blocking calls cannot be interrupted, so every collective is started non-blocking and
polled here against the process group's timeout. An exception that escapes a rank's script
would leave the other ranks blocked in their next collective; while a process group is
initialised, ``sys.excepthook`` prints the traceback, names the rank, and calls ``MPI_Abort``,
which makes mpiexec end every process of the job.
"""

import atexit
import os
import sys
import time

from mpi4py import MPI

from ember.distributed.errors import DistBackendError

# MPICH makes progress only inside MPI calls, so polling is what moves the data. Short
# operations finish while spinning; then each poll yields the core (a peer rank may be waiting
# for it: on a busy machine, sleeping even 0.1 ms can cost a scheduler tick of several ms per
# round of the algorithm); after a second, a rank is waiting for a slow peer (evaluation,
# checkpointing) and sleeps between polls to leave the core to others.
_SPIN_SECONDS = 0.002
_YIELD_SECONDS = 1.0
_SLEEP_SECONDS = 0.001
# Before MPI_Abort: time for mpiexec to forward this process's last output, which the abort
# would otherwise cut off.
_FORWARD_SECONDS = 0.2


# Set once an operation timed out: its MPI requests can never complete, and MPI_Finalize at
# exit would wait for them forever, so the process aborts the job instead (see _abort_at_exit).
_timed_out = []


@atexit.register
def _abort_at_exit():
    if _timed_out:
        sys.stderr.write(
            "ember.distributed: exiting after a timed-out operation; aborting all ranks\n"
        )
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(_FORWARD_SECONDS)
        MPI.COMM_WORLD.Abort(1)


def wait_requests(requests, timeout, describe, statuses=None, absent=None):
    """Wait for every MPI request, or raise DistBackendError once ``timeout`` seconds pass.

    ``describe()`` gives the text naming the operation, the group and its ranks; ``absent()``,
    if given, the text naming the ranks that did not arrive (or None when unknown).
    """
    if not requests or MPI.Request.Testall(requests, statuses):
        return
    start = time.monotonic()
    deadline = start + timeout
    while not MPI.Request.Testall(requests, statuses):
        now = time.monotonic()
        if now > deadline:
            _timed_out.append(describe)
            detail = absent() if absent is not None else None
            if detail is None:
                detail = (
                    "not every rank of the group arrived (a rank may have failed, exited, or be "
                    "running a different collective); see the other ranks' output"
                )
            raise DistBackendError(f"{describe()} timed out after {timeout:g} s: {detail}")
        waited = now - start
        if waited > _YIELD_SECONDS:
            time.sleep(_SLEEP_SECONDS)
        elif waited > _SPIN_SECONDS:
            os.sched_yield()


_installed = {}


def install_abort_hook(comm, rank, world_size):
    """Make an uncaught exception on this rank abort every rank of ``comm``."""
    _installed["target"] = (comm, rank, world_size)
    if "previous" in _installed:
        return
    previous = sys.excepthook

    def abort_on_exception(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        comm, rank, world_size = _installed["target"]
        if rank is None:
            rank, world_size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
        sys.stderr.write(
            f"ember.distributed: rank {rank} of {world_size} failed with an uncaught "
            f"{exc_type.__name__}; aborting all ranks\n"
        )
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(_FORWARD_SECONDS)
        _timed_out.clear()  # aborting now: nothing is left for the exit handler
        comm.Abort(1)

    _installed["previous"] = previous
    sys.excepthook = abort_on_exception


def set_abort_target(comm, rank, world_size):
    """The communicator (and the rank's name) the abort hook uses from now on."""
    _installed["target"] = (comm, rank, world_size)


def remove_abort_hook():
    """Restore the excepthook that was in place before ``install_abort_hook``."""
    previous = _installed.pop("previous", None)
    _installed.pop("target", None)
    if previous is not None:
        sys.excepthook = previous
