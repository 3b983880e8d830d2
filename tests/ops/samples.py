"""Sample-input generators for the op table: shapes with broadcasting, non-contiguous
(transposed) views, 0-d and empty arrays, and value ranges that suit each op's domain."""

import numpy as np

rng = np.random.default_rng(0)


def reseed(seed):
    """Start the sample stream afresh, so that a table's inputs do not depend on which other
    tables were imported before it."""
    global rng
    rng = np.random.default_rng(seed)


def r(*shape):
    """Standard normal floats."""
    return rng.standard_normal(shape)


def pos(*shape):
    """Floats in [0.5, 2): inside the domain of log, sqrt, reciprocal."""
    return rng.uniform(0.5, 2.0, shape)


def unit(*shape):
    """Floats in (-0.9, 0.9): inside the domain of asin, atanh, erfinv."""
    return rng.uniform(-0.9, 0.9, shape)


def prob(*shape):
    """Floats in (0.1, 0.9): inside the domain of logit."""
    return rng.uniform(0.1, 0.9, shape)


def away(*shape):
    """Floats at least 0.1 away from every integer and half-integer (for floor, round, ...)."""
    x = rng.uniform(-3, 3, shape)
    return np.floor(x * 2) / 2 + rng.uniform(0.1, 0.4, shape)


def ints(*shape, low=-5, high=6, dtype=np.int64):
    return rng.integers(low, high, shape).astype(dtype)


def bools(*shape):
    return rng.random(shape) < 0.5


def nc(*shape, gen=r):
    """A non-contiguous (transposed) array of the given shape."""
    return gen(*reversed(shape)).T


def distinct(*shape):
    """Normal floats without ties (for max, sort, median), as a shuffled arange plus noise."""
    n = int(np.prod(shape))
    return (rng.permutation(n) + rng.uniform(0.1, 0.5, n)).reshape(shape) / max(n, 1)


def unary(gen=r):
    """The standard samples of a unary op: 2-d, transposed, 0-d, empty."""
    return [(gen(3, 4),), (nc(4, 3, gen=gen),), (gen(),), (gen(0, 3),)]


def binary(gen_a=r, gen_b=r):
    """The standard samples of a broadcasting binary op."""
    return [
        (gen_a(3, 4), gen_b(3, 4)),
        (gen_a(2, 1, 3), gen_b(4, 1)),
        (nc(3, 4, gen=gen_a), gen_b(4)),
        (gen_a(), gen_b(2, 3)),
        (gen_a(0, 3), gen_b(3)),
    ]


def signs(*shape):
    """Floats that are -1 or 1: the labels of margin and hinge losses."""
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def labels(*shape, classes):
    """Class indices in [0, classes), int64."""
    return rng.integers(0, classes, shape).astype(np.int64)
