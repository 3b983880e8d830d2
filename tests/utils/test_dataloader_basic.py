"""Datasets, samplers, collation and the DataLoader against torch's on the same data."""

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import ember
import ember.utils.data as edata

Point = namedtuple("Point", ["x", "label"])


class Squares:
    """A map-style dataset usable by both libraries: dicts of arrays, numbers and strings."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {
            "x": np.full(3, i, np.float32),
            "y": i * i,
            "name": f"item{i}",
            "p": Point(float(i), i % 2),
        }


def _plain(batch):
    if hasattr(batch, "numpy"):
        return batch.numpy().tolist()
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return [_plain(b) for b in batch]
    return batch


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (4, False), (4, True), (None, False)])
def test_batches_match_torch(batch_size, drop_last):
    ds = Squares(10)
    t = list(tdata.DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    e = list(edata.DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    assert len(e) == len(t) == len(edata.DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    assert [_plain(b) for b in e] == [_plain(b) for b in t]


def test_tensor_dataset_subset_concat_and_batch_sampler():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    t_ds = tdata.ConcatDataset([tdata.TensorDataset(torch.tensor(x), torch.tensor(y))] * 2)
    e_ds = edata.ConcatDataset([edata.TensorDataset(ember.tensor(x), ember.tensor(y))] * 2)
    t_sub, e_sub = tdata.Subset(t_ds, [0, 5, 12, 19]), edata.Subset(e_ds, [0, 5, 12, 19])
    assert len(e_sub) == len(t_sub)
    sampler = [[3, 1], [0, 2]]
    t = [_plain(b) for b in tdata.DataLoader(t_sub, batch_sampler=sampler)]
    e = [_plain(b) for b in edata.DataLoader(e_sub, batch_sampler=sampler)]
    assert e == t


def test_random_sampler_is_a_permutation_and_seeded():
    ds = Squares(17)
    ember.manual_seed(3)
    first = [int(i) for i in edata.RandomSampler(ds)]
    ember.manual_seed(3)
    again = [int(i) for i in edata.RandomSampler(ds)]
    assert first == again and sorted(first) == list(range(17))


def test_random_split_lengths_and_fractions():
    parts = edata.random_split(range(10), [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(i for p in parts for i in p) == list(range(10))
    with pytest.raises(ValueError):
        edata.random_split(range(10), [3, 3])


def test_invalid_combinations_raise_pytorch_errors():
    ds = Squares(4)
    with pytest.raises(ValueError, match="mutually exclusive"):
        edata.DataLoader(ds, sampler=edata.SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        edata.DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        edata.BatchSampler(edata.SequentialSampler(ds), 0, False)


def test_collate_mismatch_names_the_field_and_shapes():
    with pytest.raises(RuntimeError, match=r"got \[2\] at entry 0 and \[3\] at entry 1"):
        edata.default_collate([ember.zeros(2), ember.zeros(3)])
    batch = [{"img": np.zeros((3, 4)), "y": 0}, {"img": np.zeros((3, 5)), "y": 1}]
    with pytest.raises(RuntimeError, match=r"field sample\['img'\].*\[3, 4\].*\[3, 5\] at entry 1"):
        edata.default_collate(batch)
    with pytest.raises(TypeError, match=r"field sample\[1\]\.x: .*entry 1 is int"):
        edata.default_collate([(0, Point(ember.zeros(1), 0)), (1, Point(1, 1))])
    with pytest.raises(RuntimeError, match=r"equal size \(field sample\['l'\]: entry 0 has 2"):
        edata.default_collate([{"l": [1, 2]}, {"l": [1]}])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        edata.default_collate([object()])


def _types(batch):
    """Batch structure with dtype names, for comparing containers and dtypes across libraries."""
    if hasattr(batch, "dtype") and hasattr(batch, "shape"):
        return (str(batch.dtype).split(".")[-1], tuple(batch.shape))
    if isinstance(batch, dict):
        return {k: _types(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return (type(batch).__name__, [_types(b) for b in batch])
    return type(batch).__name__


SAMPLES = [
    [1.5, 2.0],
    [1, 2],
    [True, False],
    [np.float32(1), np.float32(2)],
    [np.int16(1), np.int16(2)],
    [np.zeros((2, 3), np.uint8), np.ones((2, 3), np.uint8)],
    ["a", "b"],
    [b"a", b"b"],
    [Point(1.0, 2), Point(3.0, 4)],
    [(1, [2.0, np.zeros(2)]), (3, [4.0, np.ones(2)])],
    [{"a": {"b": np.int64(1)}}, {"a": {"b": np.int64(2)}}],
]


@pytest.mark.parametrize("batch", SAMPLES, ids=range(len(SAMPLES)))
def test_default_collate_and_convert_match_torch(batch):
    from torch.utils.data import default_collate, default_convert

    e, t = edata.default_collate(batch), default_collate(batch)
    assert _plain(e) == _plain(t) and _types(e) == _types(t)
    for sample in batch:
        e, t = edata.default_convert(sample), default_convert(sample)
        assert _plain(e) == _plain(t) and _types(e) == _types(t)
