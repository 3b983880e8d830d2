"""Samplers: the order in which a map-style dataset's keys are visited."""

import itertools
from typing import Generic, TypeVar

import numpy as np

from ember._random import np_generator
from ember._tensor import Tensor

T_co = TypeVar("T_co", covariant=True)

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
]


def _is_positive_int(x):
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


class Sampler(Generic[T_co]):
    """Base class: an iterable of dataset keys (or of lists of keys, for batch samplers).

    Generic in the key type, as PyTorch's: ``class MySampler(Sampler[int])``.
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation, or ``num_samples`` draws with replacement.

    Indices are drawn lazily, ``CHUNK`` at a time with replacement and one permutation at a
    time without, so ``num_samples`` may be far larger than memory (``int(1e10)`` for "as
    many as training takes"). Without a ``generator``, each iteration draws its seed from
    the global generator and then uses a generator of its own.
    """

    # Large enough that NumPy's per-call cost vanishes (with 32, as PyTorch draws, it doubles
    # the time per index), small enough that the first index costs microseconds.
    CHUNK = 1024

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not _is_positive_int(self.num_samples):
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if n == 0:
            raise RuntimeError(
                f"RandomSampler: cannot draw num_samples={self.num_samples} samples from an "
                "empty data_source"
            )
        gen = _iteration_generator(self.generator)
        if self.replacement:
            full, rest = divmod(self.num_samples, self.CHUNK)
            for _ in range(full):
                yield from gen.integers(0, n, self.CHUNK).tolist()
            yield from gen.integers(0, n, rest).tolist()
        else:
            full, rest = divmod(self.num_samples, n)
            for _ in range(full):
                yield from gen.permutation(n).tolist()
            if rest:
                yield from gen.permutation(n)[:rest].tolist()

    def __len__(self):
        return self.num_samples


def _iteration_generator(generator):
    """The NumPy generator one iteration draws from: the given ember Generator's, or a new one
    seeded from the global generator (so that the draws do not depend on what else uses the
    global generator while the iteration runs)."""
    if generator is not None:
        return np_generator(generator)
    return np.random.default_rng(int(np_generator(None).integers(0, 2**63)))


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in np_generator(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    With replacement, indices are drawn lazily, ``CHUNK`` at a time, so ``num_samples`` may be
    far larger than memory. Without replacement, ``num_samples`` may not exceed the number of
    non-zero weights (as ``torch.multinomial`` documents).
    """

    CHUNK = RandomSampler.CHUNK

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_positive_int(num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _check_weights(self):
        w = self.weights
        problem = None
        if w.size == 0:
            problem = "weights is empty"
        elif not np.isfinite(w).all():
            problem = "encountering probability entry = infinity or NaN"
        elif (w < 0).any():
            problem = "encountering probability entry < 0"
        elif w.sum() <= 0:
            problem = "sum of probabilities <= 0"
        elif not self.replacement and self.num_samples > np.count_nonzero(w):
            problem = (
                f"cannot draw num_samples={self.num_samples} samples without replacement "
                f"from {np.count_nonzero(w)} non-zero weights"
            )
        if problem is not None:
            raise RuntimeError(
                f"WeightedRandomSampler: invalid multinomial distribution ({problem})"
            )

    def __iter__(self):
        self._check_weights()
        gen = np_generator(self.generator)
        if not self.replacement:
            p = self.weights / self.weights.sum()
            yield from gen.choice(len(p), self.num_samples, False, p).tolist()
            return
        cdf = np.cumsum(self.weights)
        last = int(np.flatnonzero(self.weights)[-1])  # where a draw rounded up to the total goes
        full, rest = divmod(self.num_samples, self.CHUNK)
        for size in itertools.chain(itertools.repeat(self.CHUNK, full), (rest,)):
            picks = np.searchsorted(cdf, gen.random(size) * cdf[-1], side="right")
            yield from np.minimum(picks, last).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's keys into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_positive_int(batch_size):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
