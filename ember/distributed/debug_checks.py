"""``TORCH_DISTRIBUTED_DEBUG=DETAIL``: before each collective, the ranks compare what they were
asked to do (the operation, its tensors' shapes and dtypes, the reduce op, the root) and raise
the same RuntimeError on every rank when they disagree, instead of letting MPI pair up
mismatched calls. The comparison is one all-gather of a fixed-size description, waited for
with the group's timeout, so a rank that never comes cannot hang the others here either.
"""

import os

import numpy as np

from ember.distributed.work import Work

_DESCRIPTION_BYTES = 512


def enabled():
    return os.environ.get("TORCH_DISTRIBUTED_DEBUG", "").upper() == "DETAIL"


def describe(opname, tensors=(), **arguments):
    """What this rank was asked to do, in words every rank can compare."""
    parts = [opname]
    # the bare dtype name ("float32"), the same whether reprs say "ember." or "torch."
    parts += [f"{list(t.shape)} {t.dtype.name}" for t in tensors]
    parts += [f"{k}={v}" for k, v in sorted(arguments.items())]
    return ", ".join(parts)


def check_same_call(pg, opname, tensors=(), **arguments):
    """Raise RuntimeError on every rank of ``pg`` unless all ranks describe the same call."""
    if not enabled():
        return
    mine = describe(opname, tensors, **arguments).encode()[:_DESCRIPTION_BYTES]
    send = np.zeros(_DESCRIPTION_BYTES, np.uint8)
    send[: len(mine)] = np.frombuffer(mine, np.uint8)
    everyone = np.empty((pg.size(), _DESCRIPTION_BYTES), np.uint8)
    Work([pg.comm.Iallgather(send, everyone)], pg, f"{opname} (debug check)").wait()
    calls = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in everyone]
    if len(set(calls)) > 1:
        listing = "; ".join(f"rank {pg.global_ranks[r]}: {call}" for r, call in enumerate(calls))
        raise RuntimeError(
            f"Detected mismatch between collectives on {pg.describe()} "
            f"(TORCH_DISTRIBUTED_DEBUG=DETAIL): {listing}"
        )
