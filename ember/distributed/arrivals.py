"""Which ranks reached a collective: counters in memory shared by the ranks of one machine.

Every rank of a process group counts the collectives it has started on the group, in a
window of MPI shared memory that the other ranks of its machine read directly (no message,
no help from the rank read). When a collective times out, the ranks whose count is below
this rank's have not called it yet: the error names them. Ranks on other machines cannot be
read this way and are reported as unknown.
"""

import numpy as np
from mpi4py import MPI


class ArrivalRecord:
    """Collective counters of the ranks of ``comm`` that share this machine."""

    def __init__(self, comm):
        self._node = comm.Split_type(MPI.COMM_TYPE_SHARED)
        self._win = MPI.Win.Allocate_shared(8, 8, comm=self._node)
        self._counts = [
            np.frombuffer(self._win.Shared_query(r)[0], np.int64, count=1)
            for r in range(self._node.Get_size())
        ]
        self._mine = self._counts[self._node.Get_rank()]
        self._mine[0] = 0
        # Group rank of each rank of this machine, in the order of ``_counts``.
        self._local_ranks = self._node.allgather(comm.Get_rank())
        self._size = comm.Get_size()
        self._node.Barrier()  # every counter zeroed before anyone counts

    def enter(self):
        """Count one more collective started by this rank; its number in the sequence."""
        self._mine[0] += 1
        return int(self._mine[0])

    def absent(self, number):
        """Group ranks known not to have started collective ``number``, and how many ranks
        could not be checked (on other machines)."""
        behind = [
            rank for rank, count in zip(self._local_ranks, self._counts) if int(count[0]) < number
        ]
        return sorted(behind), self._size - len(self._local_ranks)

    def free(self):
        self._counts = self._mine = None
        self._win.Free()
        self._node.Free()
