"""Every collective against a NumPy reference; run under mpiexec with any number of ranks.

Each rank's input is drawn from a generator seeded by its rank, so every rank can compute the
expected result for the whole group with NumPy. A mismatch raises, which aborts the job.
"""

import ml_dtypes
import numpy as np

import ember as torch
import ember.distributed as dist

dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
OP = dist.ReduceOp
DTYPES = {
    "float32": (torch.float32, np.float32),
    "float64": (torch.float64, np.float64),
    "float16": (torch.float16, np.float16),
    "bfloat16": (torch.bfloat16, ml_dtypes.bfloat16),
    "int32": (torch.int32, np.int32),
    "int64": (torch.int64, np.int64),
    "uint8": (torch.uint8, np.uint8),
    "bool": (torch.bool, np.bool_),
    "complex64": (torch.complex64, np.complex64),
}


def data(r, shape, np_dtype):
    g = np.random.default_rng(1000 + r)
    if np_dtype == np.bool_:
        return g.random(shape) < 0.5
    if np.dtype(np_dtype).kind in "iu":
        return g.integers(1, 7, shape).astype(np_dtype)
    if np.dtype(np_dtype).kind == "c":
        return (g.standard_normal(shape) + 1j * g.standard_normal(shape)).astype(np_dtype)
    return g.standard_normal(shape).astype(np_dtype)


def tol(np_dtype):
    return {np.float16: 2e-3, ml_dtypes.bfloat16: 2e-2}.get(np_dtype, 1e-6)


def reference(op, arrays):
    wide = [a.astype(np.float64) if a.dtype.name in ("float16", "bfloat16") else a for a in arrays]
    if arrays[0].dtype == np.bool_:
        fn = {OP.SUM: np.logical_or, OP.MAX: np.logical_or, OP.BOR: np.logical_or,
              OP.PRODUCT: np.logical_and, OP.MIN: np.logical_and, OP.BAND: np.logical_and,
              OP.BXOR: np.logical_xor}[op]  # fmt: skip
        out = wide[0]
        for a in wide[1:]:
            out = fn(out, a)
        return out
    fn = {OP.SUM: np.add, OP.AVG: np.add, OP.PRODUCT: np.multiply, OP.MIN: np.minimum,
          OP.MAX: np.maximum, OP.BAND: np.bitwise_and, OP.BOR: np.bitwise_or,
          OP.BXOR: np.bitwise_xor}[op]  # fmt: skip
    out = wide[0]
    for a in wide[1:]:
        out = fn(out, a)
    if op is OP.AVG:
        out = out / len(arrays)
    return out.astype(arrays[0].dtype)


def check(got, want, np_dtype, what):
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else got
    kind = np.dtype(np_dtype).kind
    if kind in "fcV" or np_dtype == ml_dtypes.bfloat16:
        wide = np.complex128 if kind == "c" else np.float64
        t = tol(np_dtype)
        np.testing.assert_allclose(
            got.astype(wide), want.astype(wide), rtol=t, atol=t, err_msg=what
        )
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def applicable(op, np_dtype):
    kind = np.dtype(np_dtype).kind
    if op in (OP.BAND, OP.BOR, OP.BXOR):
        return kind in "iub"
    if kind == "c":
        return op in (OP.SUM, OP.AVG)
    return op is not OP.AVG or kind in "fcV"


shape = (3, 4)
for name, (tdt, ndt) in DTYPES.items():
    everyone = [data(r, shape, ndt) for r in range(n)]
    for op in OP:
        if op is OP.PREMUL_SUM:
            continue
        if not applicable(op, ndt):
            try:
                dist.all_reduce(torch.tensor(everyone[rank]), op=op)
            except (RuntimeError, ValueError) as e:
                assert "all_reduce" in str(e), str(e)
                continue
            raise AssertionError(f"all_reduce {op} on {name} should raise")
        t = torch.tensor(everyone[rank])
        dist.all_reduce(t, op=op)
        assert t.dtype == tdt, (t.dtype, tdt)
        check(t, reference(op, everyone), ndt, f"all_reduce {op} {name}")
        # a non-contiguous tensor: a transposed view of a larger base, written in place
        base = torch.tensor(np.concatenate([everyone[rank].T, everyone[rank].T]))
        view = base[: shape[1]].t()
        assert not view.is_contiguous()
        work = dist.all_reduce(view, op=op, async_op=True)
        work.wait()
        assert work.is_completed()
        check(base[: shape[1]].t(), reference(op, everyone), ndt, f"all_reduce {op} {name} view")
        check(base[shape[1] :].t(), everyone[rank], ndt, "untouched half")
        if op in (OP.SUM, OP.MAX):
            t = torch.tensor(everyone[rank])
            dist.reduce(t, dst=n - 1, op=op)
            if rank == n - 1:
                check(t, reference(op, everyone), ndt, f"reduce {op} {name}")
            out = torch.tensor(np.zeros(shape[1:], ndt))
            # rank r's chunk j is row j of its data's first column block
            chunks = [data(50 + r, (n, shape[1]), ndt) for r in range(n)]
            dist.reduce_scatter_tensor(out, torch.tensor(chunks[rank]), op=op)
            want = reference(op, [c[rank] for c in chunks])
            check(out, want, ndt, f"reduce_scatter_tensor {op} {name}")

    # movement of data: every dtype travels as bytes
    t = torch.tensor(everyone[rank])
    dist.broadcast(t, src=n - 1)
    check(t, everyone[n - 1], ndt, f"broadcast {name}")
    outs = [torch.tensor(np.zeros(shape, ndt)) for _ in range(n)]
    dist.all_gather(outs, torch.tensor(everyone[rank]))
    for r in range(n):
        check(outs[r], everyone[r], ndt, f"all_gather {name}")
    big = torch.tensor(np.zeros((n * shape[0], shape[1]), ndt))
    dist.all_gather_into_tensor(big, torch.tensor(everyone[rank]))
    check(big, np.concatenate(everyone), ndt, f"all_gather_into_tensor {name}")
    gathered = [torch.tensor(np.zeros(shape, ndt)) for _ in range(n)] if rank == 0 else None
    dist.gather(torch.tensor(everyone[rank]), gathered, dst=0)
    if rank == 0:
        for r in range(n):
            check(gathered[r], everyone[r], ndt, f"gather {name}")
    got = torch.tensor(np.zeros(shape, ndt))
    pieces = [torch.tensor(data(100 + r, shape, ndt)) for r in range(n)]
    dist.scatter(got, pieces if rank == 1 else None, src=1)
    check(got, data(100 + rank, shape, ndt), ndt, f"scatter {name}")

# reduce_scatter with a list, all_to_all (uneven sizes), all_to_all_single (uneven splits)
ins = [torch.tensor(data(rank * 10 + r, (5,), np.float32)) for r in range(n)]
out = torch.zeros(5)
dist.reduce_scatter(out, ins)
check(
    out, sum(data(r * 10 + rank, (5,), np.float32) for r in range(n)), np.float32, "reduce_scatter"
)
send = [torch.tensor(data(rank * 10 + r, (r + 1, 2), np.float64)) for r in range(n)]
recv = [torch.zeros(rank + 1, 2, dtype=torch.float64) for _ in range(n)]
dist.all_to_all(recv, send)
for r in range(n):
    check(recv[r], data(r * 10 + rank, (rank + 1, 2), np.float64), np.float64, "all_to_all")
in_splits = [(rank + r) % 3 + 1 for r in range(n)]
out_splits = [(r + rank) % 3 + 1 for r in range(n)]
inp = torch.tensor(data(rank, (sum(in_splits), 3), np.int64))
out = torch.zeros(sum(out_splits), 3, dtype=torch.int64)
dist.all_to_all_single(out, inp, out_splits, in_splits)
expected = []
for r in range(n):
    theirs = data(r, (sum((r + q) % 3 + 1 for q in range(n)), 3), np.int64)
    start = sum((r + q) % 3 + 1 for q in range(rank))
    expected.append(theirs[start : start + (r + rank) % 3 + 1])
check(out, np.concatenate(expected), np.int64, "all_to_all_single")

# a future over an asynchronous all_reduce gives the reduced tensor
fut = dist.all_reduce(torch.full((2,), float(rank)), async_op=True).get_future()
check(fut.wait()[0], np.full(2, n * (n - 1) / 2, np.float32), np.float32, "future")
assert fut.done() and fut.then(lambda f: f.value()[0].sum().item()).wait() == n * (n - 1)

# point to point around a ring, blocking and not
right, left = (rank + 1) % n, (rank - 1) % n
buf = torch.zeros(4, dtype=torch.bfloat16)
reqs = [dist.isend(torch.tensor(data(rank, (4,), np.float32)).bfloat16(), right),
        dist.irecv(buf, left)]  # fmt: skip
for w in reqs:
    w.wait()
check(buf, data(left, (4,), np.float32).astype(ml_dtypes.bfloat16), ml_dtypes.bfloat16, "isend")
if rank == 0:
    for _ in range(1, n):
        t = torch.zeros(2, dtype=torch.int32)
        src = dist.recv(t)
        check(t, np.array([src, src * 2], np.int32), np.int32, "recv from any")
else:
    dist.send(torch.tensor([rank, rank * 2], dtype=torch.int32), 0)

# objects
objs = [None] * n
dist.all_gather_object(objs, {"rank": rank, "sq": [rank**2]})
assert objs == [{"rank": r, "sq": [r**2]} for r in range(n)], objs
lst = ["a", rank] if rank == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == ["a", 0], lst
g = [None] * n if rank == 1 else None
dist.gather_object(("x", rank), g, dst=1)
assert rank != 1 or g == [("x", r) for r in range(n)], g
got = [None]
dist.scatter_object_list(got, [{"to": r} for r in range(n)] if rank == 0 else None, src=0)
assert got == [{"to": rank}], got

# a subgroup of ranks 0 and n-1
sub = dist.new_group([0, n - 1])
t = torch.ones(2) * rank
res = dist.all_reduce(t, group=sub)
if rank in (0, n - 1):
    assert dist.get_world_size(sub) == 2 and dist.get_rank(sub) == (0 if rank == 0 else 1)
    check(t, np.full(2, float(n - 1), np.float32), np.float32, "subgroup all_reduce")
else:
    assert res is None and dist.get_rank(sub) == -1
    check(t, np.full(2, float(rank), np.float32), np.float32, "non-member untouched")

# bad input is reported, naming the operation
for call, fragment in [
    (lambda: dist.all_gather([torch.zeros(2)] * n, torch.zeros(3)), "all_gather"),
    (lambda: dist.all_gather([torch.zeros(2)], torch.zeros(2)) if n > 1 else 1 / 0, "all_gather"),
    (lambda: dist.all_gather_into_tensor(torch.zeros(n + 1), torch.zeros(1)), "world_size"),
    (lambda: dist.broadcast(torch.zeros(1), src=n), "broadcast"),
    (lambda: dist.all_reduce(torch.zeros(1), op=OP.BAND), "non-integral"),
]:
    try:
        call()
    except (ValueError, RuntimeError, ZeroDivisionError) as e:
        assert isinstance(e, ZeroDivisionError) or fragment in str(e), (fragment, str(e))
    else:
        raise AssertionError(f"expected an error mentioning {fragment}")

dist.barrier()
print(f"rank {rank} of {n}: all collectives match NumPy")
dist.destroy_process_group()
