"""Errors and queries of a one-process group, under ``--lib torch`` or ``--lib ember``; prints
one JSON line per case: the exception type's name (or the value) and the message."""

import datetime
import json
import os
import sys

lib = sys.argv[1]
if lib == "torch":
    import torch
    import torch.distributed as dist
else:
    import ember as torch
    import ember.distributed as dist


def case(name, fn):
    try:
        value = fn()
        print(json.dumps([name, "ok", repr(value) if not isinstance(value, int | str) else value]))
    except Exception as e:
        print(json.dumps([name, type(e).__name__, str(e)]))


case("available", dist.is_available)
case("initialized before", dist.is_initialized)
case("rank before init", dist.get_rank)
case("all_reduce before init", lambda: dist.all_reduce(torch.ones(1)))
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[2])
case("nccl", lambda: dist.init_process_group("nccl", rank=0, world_size=1))
case("bad timeout", lambda: dist.init_process_group("gloo", timeout=5, rank=0, world_size=1))
case(
    "init",
    lambda: dist.init_process_group(
        "gloo", rank=0, world_size=1, timeout=datetime.timedelta(seconds=30)
    ),
)
case("init twice", lambda: dist.init_process_group("gloo", rank=0, world_size=1))
case("initialized after", dist.is_initialized)
case("backend", lambda: str(dist.get_backend()))
case("rank", dist.get_rank)
case("world size", dist.get_world_size)
case("world group", lambda: dist.group.WORLD is not None)
case("default backend cpu", lambda: dist.get_default_backend_for_device("cpu"))
case("default backend cuda", lambda: dist.get_default_backend_for_device("cuda"))
case("sum", lambda: (lambda t: (dist.all_reduce(t), t.tolist())[1])(torch.ones(2)))
case("band float", lambda: dist.all_reduce(torch.ones(2), op=dist.ReduceOp.BAND))
case("avg int", lambda: dist.all_reduce(torch.ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG))
case(
    "max complex",
    lambda: dist.all_reduce(torch.ones(2, dtype=torch.complex64), op=dist.ReduceOp.MAX),
)
case("broadcast bad src", lambda: dist.broadcast(torch.ones(1), src=3))
case(
    "async",
    lambda: (lambda w: (w.wait(), w.is_completed()))(dist.all_reduce(torch.ones(1), async_op=True)),
)
case("destroy", dist.destroy_process_group)
case("initialized at end", dist.is_initialized)
