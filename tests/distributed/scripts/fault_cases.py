"""A rank misbehaves; the job must end quickly with a message naming what went wrong.

``uncaught``: rank 1 raises while rank 0 waits in all_reduce (30 min default timeout).
``timeout``: rank 1 never calls all_reduce; rank 0's times out after the group's timeout.
``absent``: on 3 ranks, rank 2 never calls all_reduce; the others' errors name it.
``monitored``: rank 1 never reaches monitored_barrier; rank 0's error names it.
``caught``: rank 0 catches its timeout and ends normally; rank 1 is still away.
``init``: rank 1 never calls init_process_group.
``mismatch_shape`` / ``mismatch_op``: the ranks call all_reduce with different shapes, or
different collectives; run with TORCH_DISTRIBUTED_DEBUG=DETAIL, every rank raises.
``killed``: rank 1 is killed by SIGKILL while rank 0 waits in all_reduce.
"""

import datetime
import os
import signal
import sys
import time

import ember as torch
import ember.distributed as dist

case = sys.argv[1]
timeout = datetime.timedelta(seconds=2) if case != "uncaught" else None
if case == "init" and os.environ.get("PMI_RANK") == "1":
    time.sleep(60)
dist.init_process_group("gloo", timeout=timeout)
rank = dist.get_rank()
if case == "uncaught":
    if rank == 1:
        time.sleep(0.5)
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(torch.ones(3))
elif case == "timeout":
    if rank == 1:
        time.sleep(60)
    try:
        dist.all_reduce(torch.ones(3))
    except dist.DistBackendError as e:
        print(f"caught: {e}", flush=True)
        raise
elif case == "absent":  # run on 3 ranks: ranks 0 and 1 wait for rank 2
    if rank == 2:
        time.sleep(60)
    dist.all_reduce(torch.ones(3))
    dist.barrier()
elif case == "caught":
    if rank == 1:
        time.sleep(60)
    try:
        dist.barrier()
    except dist.DistBackendError:
        print("rank 0 ends normally after catching the timeout", flush=True)
        sys.exit(0)
elif case == "monitored":
    if rank == 1:
        time.sleep(60)
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=2))
elif case == "mismatch_shape":
    dist.all_reduce(torch.ones(3 + rank))
elif case == "mismatch_op":
    if rank == 0:
        dist.all_reduce(torch.ones(3))
    else:
        dist.broadcast(torch.ones(3), src=0)
elif case == "killed":
    if rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(torch.ones(3))
print("not reached", flush=True)
