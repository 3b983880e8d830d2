"""Random samplers draw their indices lazily: ``num_samples=int(1e10)`` (as minGPT and makemore
use) costs neither time nor memory up front, lengths stay right, a seeded generator gives the
same indices again, and invalid weights fail like torch's, on the first ``next``."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata

HUGE = 10**10

# Runs one case with the address space capped 2 GiB above what the interpreter already uses,
# so that drawing every index up front fails at once instead of exhausting the machine.
HUGE_CASE = r"""
import json, resource, sys, time, tracemalloc

with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (vm + (2 << 30), resource.RLIM_INFINITY))
import ember.utils.data as edata

case, n = sys.argv[1], 10**10
data = range(1000)
if case == "random":
    make = lambda: edata.RandomSampler(data, replacement=True, num_samples=n)
elif case == "permutations":
    make = lambda: edata.RandomSampler(data, num_samples=n)
elif case == "weighted":
    make = lambda: edata.WeightedRandomSampler([1.0] * 1000, n)
elif case == "batches":
    make = lambda: edata.BatchSampler(
        edata.RandomSampler(data, replacement=True, num_samples=n), 64, False
    )
else:
    workers = int(case[len("loader"):])
    sampler = edata.RandomSampler(data, replacement=True, num_samples=n)
    make = lambda: edata.DataLoader(data, 64, sampler=sampler, num_workers=workers)
tracemalloc.start()
start = time.perf_counter()
obj = make()
it = iter(obj)
first = next(it)
second = next(it)
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
del it
out = {"seconds": seconds, "peak": peak, "len": len(obj), "first": [first, second]}
if case.startswith("loader"):
    out["first"] = [first.tolist(), second.tolist()]
print(json.dumps(out))
"""


def _huge(case):
    proc = subprocess.run(
        [sys.executable, "-c", HUGE_CASE, case], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _torch_len(case):
    data = range(1000)
    sampler = tdata.RandomSampler(data, replacement=True, num_samples=HUGE)
    if case == "random":
        return len(sampler)
    if case == "permutations":
        return len(tdata.RandomSampler(data, num_samples=HUGE))
    if case == "weighted":
        return len(tdata.WeightedRandomSampler([1.0] * 1000, HUGE))
    if case == "batches":
        return len(tdata.BatchSampler(sampler, 64, False))
    return len(tdata.DataLoader(data, 64, sampler=sampler))


@pytest.mark.parametrize(
    "case", ["random", "permutations", "weighted", "batches", "loader0", "loader2"]
)
def test_huge_num_samples_is_cheap_to_start(case):
    got = _huge(case)
    assert got["len"] == _torch_len(case)
    assert got["seconds"] < 10
    assert got["peak"] < 16 << 20  # what a few batches of indices take, not 10**10 of them
    for item in got["first"]:
        values = item if isinstance(item, list) else [item]
        assert all(0 <= v < 1000 for v in values)
        assert len(values) == (64 if case in ("batches", "loader0", "loader2") else 1)


# ---- the lazily drawn indices: counts, ranges, reproducibility --------------------------------
def _samplers(lib, generator):
    data = range(10)
    return [
        lib.RandomSampler(data, replacement=True, num_samples=77, generator=generator),
        lib.RandomSampler(data, replacement=True, num_samples=64, generator=generator),
        lib.RandomSampler(data, num_samples=25, generator=generator),
        lib.RandomSampler(data, generator=generator),
        lib.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 70, generator=generator),
        lib.WeightedRandomSampler([0.0, 1.0, 3.0, 2.0], 3, False, generator=generator),
        lib.SubsetRandomSampler([4, 8, 15, 16, 23, 42], generator=generator),
    ]


def _shape(indices, lib_sampler):
    """What is certain about one epoch of a sampler, whatever the random draws were."""
    if isinstance(lib_sampler, edata.RandomSampler | tdata.RandomSampler):
        if not lib_sampler.replacement:
            n = len(lib_sampler.data_source)
            blocks = [sorted(indices[i : i + n]) for i in range(0, len(indices), n)]
            return len(indices), [b == list(range(n)) for b in blocks], len(set(indices))
        return len(indices), min(indices) >= 0, max(indices) < len(lib_sampler.data_source)
    if isinstance(lib_sampler, edata.WeightedRandomSampler | tdata.WeightedRandomSampler):
        weights = np.asarray(lib_sampler.weights)
        distinct = len(set(indices)) == len(indices)
        return (
            len(indices),
            all(weights[i] > 0 for i in indices),
            distinct or lib_sampler.replacement,
        )
    return sorted(indices)


def test_epochs_have_the_same_shape_as_torchs():
    ours = _samplers(edata, ember.Generator().manual_seed(1))
    theirs = _samplers(tdata, torch.Generator().manual_seed(1))
    for e, t in zip(ours, theirs, strict=True):
        assert len(e) == len(t)
        assert _shape(list(e), e) == _shape(list(t), t), type(e).__name__


@pytest.mark.parametrize("chunks, offset", [(0, 1), (0, 5), (1, -1), (1, 0), (1, 1), (2, 5)])
def test_draw_counts_across_chunk_boundaries(chunks, offset):
    num_samples = chunks * edata.RandomSampler.CHUNK + offset
    for make in (
        lambda lib: lib.RandomSampler(range(7), replacement=True, num_samples=num_samples),
        lambda lib: lib.WeightedRandomSampler([1.0, 0.0, 2.0], num_samples),
    ):
        ours, theirs = list(make(edata)), list(make(tdata))
        assert len(ours) == len(theirs) == len(make(edata))
        assert set(ours) <= set(range(7))


def test_seeded_generator_gives_the_same_indices_again():
    def epochs(seed):
        g = ember.Generator().manual_seed(seed)
        return [list(s) for s in _samplers(edata, g)]

    assert epochs(3) == epochs(3)
    assert epochs(3) != epochs(4)
    ember.manual_seed(5)
    a = list(edata.RandomSampler(range(100), replacement=True, num_samples=300))
    ember.manual_seed(5)
    b = list(edata.RandomSampler(range(100), replacement=True, num_samples=300))
    assert a == b and len(set(a)) > 50


def test_draws_with_replacement_follow_the_weights():
    weights = [0.0, 1.0, 3.0, 0.0, 4.0]
    sampler = edata.WeightedRandomSampler(weights, 80_000, generator=ember.Generator())
    counts = np.bincount(list(sampler), minlength=len(weights))
    expected = np.asarray(weights) / sum(weights) * 80_000
    assert counts[0] == counts[3] == 0
    # five standard deviations of a binomial count
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected + 1))
    uniform = np.bincount(list(edata.RandomSampler(range(5), True, 50_000)), minlength=5)
    assert np.all(np.abs(uniform - 10_000) <= 5 * np.sqrt(10_000))


# ---- invalid weights: torch's exception type, raised on the first next() ----------------------
@pytest.mark.parametrize(
    "weights, num_samples, replacement",
    [
        ([-1.0, 2.0], 2, True),
        ([0.0, 0.0], 2, True),
        ([float("inf"), 1.0], 2, True),
        ([float("nan"), 1.0], 2, False),
        ([1.0, 0.0, 2.0], 4, False),
        ([], 1, True),
    ],
)
def test_invalid_weights_raise_like_torch_on_first_next(weights, num_samples, replacement):
    errors = []
    for lib in (tdata, edata):
        it = iter(lib.WeightedRandomSampler(weights, num_samples, replacement))  # no error yet
        with pytest.raises(Exception) as info:
            next(it)
        errors.append(info.type)
    assert errors[0] is errors[1] is RuntimeError
    with pytest.raises(RuntimeError, match="WeightedRandomSampler"):
        list(edata.WeightedRandomSampler(weights, num_samples, replacement))


def test_empty_data_source_with_num_samples_raises_like_torch():
    for lib in (tdata, edata):
        it = iter(lib.RandomSampler([], replacement=True, num_samples=3))
        with pytest.raises(RuntimeError):
            next(it)
    with pytest.raises(RuntimeError, match="RandomSampler.*empty data_source"):
        list(edata.RandomSampler([], num_samples=3))


def test_pin_memory_without_an_accelerator_warns_like_torch():
    for lib in (tdata, edata):
        with pytest.warns(UserWarning, match="pin_memory"):
            got = [b.tolist() for b in lib.DataLoader(range(4), 2, pin_memory=True)]
        assert got == [[0, 1], [2, 3]]
