"""The DataLoader with worker processes: order and content against torch's, seeding, sharding,
persistent workers, shared memory, faults, and no process or /dev/shm file left behind."""

import glob
import math
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata
from ember.utils.data import _shared_memory, dataloader


@pytest.fixture(autouse=True)
def no_leaks():
    yield
    deadline = time.monotonic() + 3
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert multiprocessing.active_children() == []
    assert glob.glob(f"/dev/shm/ember_dl_{os.getpid()}_*") == []


def _plain(batch):
    """A batch of either library as nested Python lists, numbers and strings."""
    if hasattr(batch, "numpy"):
        return batch.numpy().tolist()
    if isinstance(batch, np.ndarray | np.generic):
        return batch.tolist()
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return [_plain(b) for b in batch]
    return batch


def _batches(loader):
    return [_plain(b) for b in loader]


class Items:
    """Map-style, usable by both libraries; item i takes longer for some i, to shuffle arrival."""

    def __init__(self, n, slow=()):
        self.n = n
        self.slow = set(slow)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i in self.slow:
            time.sleep(0.05)
        return {"x": np.full(2, i, np.float32), "y": i, "name": f"s{i}"}


# ---- order and content against torch, and equal for 0, 1 and 2 workers ---------------------
def _configs(ds):
    return [
        dict(batch_size=1),
        dict(batch_size=4),
        dict(batch_size=4, drop_last=True),
        dict(batch_size=None),
        dict(batch_size=3, sampler=[7, 1, 12, 0, 5, 5, 3]),
        dict(batch_sampler=[[3, 1], [0], [2, 9, 4], [13]]),
        dict(batch_size=2, sampler=lambda lib: lib.DistributedSampler(ds, 3, 1, shuffle=False)),
        dict(
            batch_size=2,
            sampler=lambda lib: lib.DistributedSampler(ds, 4, 3, shuffle=False, drop_last=True),
        ),
    ]


@pytest.mark.parametrize("config", range(8))
def test_batches_match_torch_for_0_1_2_workers(config):
    ds = Items(14, slow={0, 5})
    kwargs = _configs(ds)[config]

    def build(lib, workers):
        kw = dict(kwargs)
        if callable(kw.get("sampler")):
            kw["sampler"] = kw["sampler"](lib)
        return lib.DataLoader(ds, num_workers=workers, **kw)

    expected = _batches(build(tdata, 0))
    for workers in (0, 1, 2):
        loader = build(edata, workers)
        assert len(loader) == len(build(tdata, 0))
        assert _batches(loader) == expected, f"{workers} workers"


def test_shuffled_batches_are_equal_for_0_1_2_workers_with_the_same_seed():
    ds = Items(23)
    runs = []
    for workers in (0, 1, 2):
        g = ember.Generator().manual_seed(5)
        runs.append(
            _batches(edata.DataLoader(ds, 4, shuffle=True, num_workers=workers, generator=g))
        )
    assert runs[0] == runs[1] == runs[2]
    assert sorted(y for b in runs[0] for y in b["y"]) == list(range(23))
    assert [len(b["y"]) for b in runs[0]] == [4] * 5 + [3]


def test_random_samplers_with_workers_match_the_sampler_order():
    ds = Items(20)
    g = ember.Generator()
    w = edata.WeightedRandomSampler([1.0] * 10 + [0.0] * 10, 12, generator=g)
    for sampler in (
        edata.RandomSampler(ds, replacement=True, num_samples=9, generator=g),
        edata.RandomSampler(ds, num_samples=25, generator=g),
        edata.SubsetRandomSampler(list(range(5, 15)), generator=g),
        w,
    ):
        g.manual_seed(0)
        order = list(sampler)
        g.manual_seed(0)
        got = [y for b in edata.DataLoader(ds, 3, sampler=sampler, num_workers=2) for y in b["y"]]
        assert [int(y) for y in got] == order
    assert all(i < 10 for i in w)


# ---- datasets against torch ----------------------------------------------------------------
def test_datasets_match_torch():
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    y = np.arange(12)
    et, tt = (
        edata.TensorDataset(ember.tensor(x), ember.tensor(y)),
        tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
    )
    pairs = [
        (edata.ConcatDataset([et, et]), tdata.ConcatDataset([tt, tt])),
        (et + et, tt + tt),
        (edata.Subset(et, [3, 11, 0]), tdata.Subset(tt, [3, 11, 0])),
        (edata.StackDataset(et, Items(12)), tdata.StackDataset(tt, Items(12))),
        (edata.StackDataset(a=et, b=range(12)), tdata.StackDataset(a=tt, b=range(12))),
    ]
    for e, t in pairs:
        assert len(e) == len(t)
        assert _plain([e[i] for i in range(-2, len(e))]) == _plain(
            [t[i] for i in range(-2, len(t))]
        )
        assert _batches(edata.DataLoader(e, 5, num_workers=2)) == _batches(tdata.DataLoader(t, 5))
    with pytest.raises(ValueError, match="Size mismatch"):
        edata.StackDataset(et, range(3))
    with pytest.raises(ValueError, match="both types"):
        edata.StackDataset(et, b=et)
    with pytest.raises(AssertionError, match="Size mismatch"):
        edata.TensorDataset(ember.zeros(2), ember.zeros(3))


@pytest.mark.parametrize(
    "n,fractions",
    [(10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [0.1, 0.2, 0.3, 0.4]), (3, [1 / 3] * 3)],
)
def test_random_split_sizes_match_torch(n, fractions):
    e = edata.random_split(range(n), fractions, generator=ember.Generator().manual_seed(1))
    t = tdata.random_split(range(n), fractions)
    assert [len(p) for p in e] == [len(p) for p in t]
    assert sorted(i for p in e for i in p) == list(range(n))
    with pytest.raises(ValueError, match="between 0 and 1"):
        edata.random_split(range(n), [1.5, -0.5])


class Stream(edata.IterableDataset, tdata.IterableDataset):
    """Yields start .. stop-1, split between workers when ``shard`` is set."""

    def __init__(self, start, stop, shard=True, lib=edata):
        self.start, self.stop, self.shard, self.lib = start, stop, shard, lib

    def __len__(self):
        return self.stop - self.start

    def __iter__(self):
        info = self.lib.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.start, self.stop))
        per = math.ceil((self.stop - self.start) / info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.stop)))


@pytest.mark.parametrize(
    "shard,batch_size,drop_last",
    [(True, 3, False), (True, 4, True), (False, 4, False), (True, None, False)],
)
def test_iterable_dataset_sharding_matches_torch(shard, batch_size, drop_last):
    expected = {
        w: _batches(
            tdata.DataLoader(
                Stream(0, 11, shard, tdata), batch_size, num_workers=w, drop_last=drop_last
            )
        )
        for w in (0, 2)
    }
    for w in (0, 1, 2):
        got = _batches(
            edata.DataLoader(Stream(0, 11, shard), batch_size, num_workers=w, drop_last=drop_last)
        )
        assert got == expected[min(w, 2) if w != 1 else 0], f"{w} workers"


def test_chain_dataset_and_iterable_len():
    chain = edata.ChainDataset([Stream(0, 3), Stream(10, 12)])
    assert list(chain) == [0, 1, 2, 10, 11] == list(Stream(0, 3) + Stream(10, 12))
    assert len(chain) == 5
    assert len(edata.DataLoader(Stream(0, 10), 4)) == 3
    assert len(edata.DataLoader(Stream(0, 10), 4, drop_last=True)) == 2
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(edata.ChainDataset([range(3)]))


# ---- worker info, seeding, init fn -------------------------------------------------------
class Probe(edata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = edata.get_worker_info()
        return {
            "i": i,
            "id": info.id,
            "n": info.num_workers,
            "seed": info.seed,
            "same_ds": info.dataset is not None and type(info.dataset) is Probe,
            "np": float(np.random.rand()),
            "py": random.random(),
            "ember": float(ember.rand(1)),
            "init": os.environ.get("EMBER_TEST_INIT", ""),
        }


def _init(worker_id):
    os.environ["EMBER_TEST_INIT"] = f"w{worker_id}"


def test_worker_info_seeds_and_init_fn():
    def run(seed):
        g = ember.Generator().manual_seed(seed)
        loader = edata.DataLoader(
            Probe(), batch_size=None, num_workers=2, generator=g, worker_init_fn=_init
        )
        return list(loader)

    a, b, c = run(1), run(1), run(2)
    assert edata.get_worker_info() is None
    assert [r["id"] for r in a] == [0, 1] * 4 and {r["n"] for r in a} == {2}
    assert all(r["same_ds"] for r in a) and [r["init"] for r in a] == ["w0", "w1"] * 4
    base = a[0]["seed"]
    assert [r["seed"] for r in a] == [base, base + 1] * 4
    draws = [(r["np"], r["py"], r["ember"]) for r in a]
    assert draws == [(r["np"], r["py"], r["ember"]) for r in b]  # reproducible
    assert draws != [(r["np"], r["py"], r["ember"]) for r in c]  # depends on the generator
    for k in ("np", "py", "ember"):
        assert a[0][k] != a[1][k]  # workers differ
    with pytest.raises(RuntimeError, match="Cannot assign"):
        edata.WorkerInfo(id=0).id = 1


# ---- persistent workers, prefetch, contexts ---------------------------------------------------
def test_persistent_workers_reuse_processes_and_survive_early_break():
    loader = edata.DataLoader(Items(10, slow={2}), 3, num_workers=2, persistent_workers=True)
    expected = _batches(tdata.DataLoader(Items(10), 3))
    assert _batches(loader) == expected
    pids = {p.pid for p in multiprocessing.active_children()}
    assert len(pids) == 2
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert _batches(loader) == expected
    assert {p.pid for p in multiprocessing.active_children()} == pids
    del loader


def test_persistent_worker_killed_between_epochs():
    loader = edata.DataLoader(range(6), 2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    victim = multiprocessing.active_children()[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    with pytest.raises(RuntimeError, match=f"pid\\(s\\) {victim.pid}\\) exited unexpectedly"):
        iter(loader)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]  # a fresh set of workers
    del loader


@pytest.mark.parametrize("prefetch_factor", [1, 3])
def test_prefetch_factor(prefetch_factor):
    loader = edata.DataLoader(Items(9), 2, num_workers=2, prefetch_factor=prefetch_factor)
    assert _batches(loader) == _batches(tdata.DataLoader(Items(9), 2))


class SlowFirst(Items):
    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.5)
        return i


def test_in_order_false_delivers_as_ready():
    got = [b.tolist() for b in edata.DataLoader(SlowFirst(8), 2, num_workers=2, in_order=False)]
    assert sorted(got) == [[0, 1], [2, 3], [4, 5], [6, 7]] and got[0] != [0, 1]


def test_spawn_context():
    ds = edata.TensorDataset(ember.arange(6))
    loader = edata.DataLoader(ds, 4, num_workers=1, multiprocessing_context="spawn")
    assert _batches(loader) == [[[0, 1, 2, 3]], [[4, 5]]]


# ---- shared memory ------------------------------------------------------------------------
class Images(edata.Dataset):
    def __init__(self, n, shape=(3, 32, 32), as_tensor=False):
        self.n, self.shape, self.as_tensor = n, shape, as_tensor

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = np.full(self.shape, i, np.float32)
        return ember.from_numpy(x) if self.as_tensor else (x, np.full((40, 40), -i))


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("threshold", [_shared_memory.THRESHOLD, 2**62])
def test_large_batches_through_shared_memory_or_pickle(as_tensor, threshold, monkeypatch):
    monkeypatch.setattr(_shared_memory, "THRESHOLD", threshold)
    ds = Images(10, as_tensor=as_tensor)
    got = list(edata.DataLoader(ds, 4, num_workers=2))
    for b, batch in enumerate(got):
        x = batch if as_tensor else batch[0]
        ids = np.arange(b * 4, min(b * 4 + 4, 10), dtype=np.float32)
        assert x.shape == (len(ids), 3, 32, 32) and x.dtype == ember.float32
        assert np.array_equal(x.numpy()[:, 1, 2, 3], ids)
        x.add_(1)  # received batches are writable
        if not as_tensor:
            assert batch[1].dtype == ember.int64 and np.array_equal(batch[1].numpy()[:, 5, 5], -ids)


def test_shared_memory_files_round_trip_and_are_reused(monkeypatch):
    prefix = f"ember_dl_{os.getpid()}_unit_"
    monkeypatch.setattr(_shared_memory, "_pool", None)
    _shared_memory.start_worker(3, prefix)
    try:
        big = np.arange(100_000, dtype=np.int64)
        batch = {"a": big[::2], "b": ember.tensor(big.reshape(10, -1)), "c": np.ones(3)}
        payload = _shared_memory.dumps(batch)
        assert len(payload) < 2000  # the big arrays went through files
        files = sorted(glob.glob(f"/dev/shm/{prefix}*"))
        assert len(files) == 2
        receiver = _shared_memory.Receiver(payload)
        out = receiver.load()
        assert np.array_equal(out["a"], big[::2]) and out["a"].flags.writeable
        assert out["b"].numpy().tolist() == big.reshape(10, -1).tolist()
        assert out["c"].tolist() == [1.0] * 3
        assert sorted(w for w, _ in receiver.released) == [3, 3]
        _shared_memory.release([name for _, name in receiver.released])
        again = _shared_memory.Receiver(_shared_memory.dumps(batch)).load()
        assert sorted(glob.glob(f"/dev/shm/{prefix}*")) == files  # written again, not new
        assert np.array_equal(again["a"], big[::2])
        _shared_memory.dumps(batch)  # nothing released: new files
        assert len(glob.glob(f"/dev/shm/{prefix}*")) == 4
    finally:
        _shared_memory.start_worker(0, None)
        _shared_memory.remove_all(prefix)


# ---- faults ---------------------------------------------------------------------------------
class Boom(edata.Dataset):
    def __init__(self, bad, exc=ValueError, n=12):
        self.bad, self.exc, self.n = bad, exc, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            args = (f"sample {i} is broken",) + ((i,) if self.exc is TwoArgError else ())
            raise self.exc(*args)
        return i


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


@pytest.mark.parametrize("exc", [ValueError, KeyError, TwoArgError])
def test_worker_exception_is_reraised_with_worker_id_and_traceback(exc):
    loader = edata.DataLoader(Boom(5, exc), batch_size=2, num_workers=2)
    expected = RuntimeError if exc is TwoArgError else exc
    got = []
    with pytest.raises(expected) as info:
        for b in loader:
            got.append(b.tolist())
    msg = str(info.value)
    assert "in DataLoader worker process 0" in msg  # batch [4, 5] is task 2: worker 0
    assert "Original Traceback (most recent call last)" in msg
    assert "in __getitem__" in msg and "sample 5 is broken" in msg
    assert got == [[0, 1], [2, 3]]


def test_worker_init_fn_failure_and_unpicklable_result():
    def bad_init(worker_id):
        raise OSError(f"cannot open shard {worker_id}")

    with pytest.raises(OSError, match="cannot open shard 0"):
        list(edata.DataLoader(range(4), num_workers=1, worker_init_fn=bad_init))
    unpicklable = edata.DataLoader(range(4), num_workers=1, collate_fn=lambda b: lambda: b)
    with pytest.raises(Exception, match="worker process 0"):
        list(unpicklable)


class Killer(edata.Dataset):
    def __len__(self):
        return 40

    def __getitem__(self, i):
        if i == 6 and edata.get_worker_info().id == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_killed_worker_raises_promptly():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited unexpectedly.*SIGKILL"):
        for _ in edata.DataLoader(Killer(), batch_size=2, num_workers=2):
            pass
    assert time.monotonic() - start < 5


class Sleepy(edata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(0.05 if i == 0 else 10)
        return i


def test_timeout(monkeypatch):
    monkeypatch.setattr(dataloader, "JOIN_TIMEOUT", 0.2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(edata.DataLoader(Sleepy(), num_workers=1, timeout=0.5))
    assert time.monotonic() - start < 3


def _workers_of_this_process():
    """Command lines of this process's children by /proc, which also sees processes that
    multiprocessing has forgotten; multiprocessing's own resource tracker does not count."""
    me = str(os.getpid())
    kids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            with open(stat.replace("stat", "cmdline"), "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
            if "resource_tracker" not in cmd:
                kids.append(cmd)
    return kids


def test_early_break_delete_and_exception_in_loop_leave_no_processes():
    ds = Images(40, shape=(64, 64))
    for _ in edata.DataLoader(ds, 4, num_workers=2):
        break
    assert _workers_of_this_process() == []
    loader = edata.DataLoader(ds, 4, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)
    del it, loader
    assert _workers_of_this_process() == []

    def train():
        for i, _ in enumerate(edata.DataLoader(ds, 4, num_workers=2)):
            if i == 2:
                raise ArithmeticError("loss is nan")

    with pytest.raises(ArithmeticError):
        train()
    assert _workers_of_this_process() == []


ORPHAN_SCRIPT = """
import os, sys, time
import numpy as np
import ember.utils.data as edata
loader = edata.DataLoader([np.ones((64, 64, 64))] * 64, 4, num_workers=2, prefetch_factor=4)
it = iter(loader)
next(it)
print(" ".join(str(w.pid) for w in it._pool.workers), flush=True)
time.sleep(60)
"""


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_exit_and_clean_up_when_the_main_process_is_killed():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and glob.glob(f"/dev/shm/ember_dl_{proc.pid}_*")
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, pids))
    assert glob.glob(f"/dev/shm/ember_dl_{proc.pid}_*") == []


# ---- invalid arguments: the same exception as torch -------------------------------------------
BAD_ARGS = [
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True),
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_size=2, batch_sampler=[[0, 1]]),
    dict(drop_last=True, batch_sampler=[[0, 1]]),
    dict(batch_size=None, drop_last=True),
    dict(batch_size=0),
    dict(multiprocessing_context="fork"),
    dict(num_workers=1, multiprocessing_context="nope"),
    dict(num_workers=1, multiprocessing_context=3),
]


@pytest.mark.parametrize("kwargs", BAD_ARGS, ids=[str(k) for k in BAD_ARGS])
def test_invalid_arguments_raise_like_torch(kwargs):
    with pytest.raises(Exception) as t:
        tdata.DataLoader(range(4), **kwargs)
    with pytest.raises(type(t.value)) as e:
        edata.DataLoader(range(4), **kwargs)
    first_words = " ".join(str(t.value).split()[:3])
    assert str(e.value).startswith(first_words)


@pytest.mark.parametrize(
    "kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])]
)
def test_iterable_dataset_rejects_samplers_like_torch(kwargs):
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
        edata.DataLoader(Stream(0, 3), **kwargs)


def test_loader_attributes_are_frozen_and_sampler_errors():
    loader = edata.DataLoader(range(4))
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        edata.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        edata.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        edata.WeightedRandomSampler([[1.0]], 1)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        edata.BatchSampler(range(3), 2, 1)
    with pytest.raises(ValueError, match="Invalid rank 3"):
        edata.DistributedSampler(range(3), num_replicas=3, rank=3)
    with pytest.raises(RuntimeError, match="Requires distributed package"):
        edata.DistributedSampler(range(3))  # no process group is running


@pytest.mark.parametrize(
    "n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False), (12, 4, True)]
)
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        e = edata.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        t = tdata.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(e) == list(t) and len(e) == len(t)


def test_distributed_sampler_shuffle_partitions_and_set_epoch():
    def epoch(e):
        parts = []
        for rank in range(3):
            s = edata.DistributedSampler(range(9), 3, rank, seed=4)
            s.set_epoch(e)
            parts.append(list(s))
        return parts

    a = epoch(0)
    assert sorted(sum(a, [])) == list(range(9)) and a == epoch(0) and a != epoch(1)
