"""CosineSimilarity and PairwiseDistance against torch, by finite differences, and bad input."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

rng = np.random.default_rng(0)

COSINE_CASES = [
    ((4, 5), (4, 5), {}),
    ((4, 5), (1, 5), {}),
    ((3, 4, 5), (3, 4, 5), {"dim": -1}),
    ((3, 4, 5), (4, 5), {"dim": 0, "eps": 1e-3}),
    ((6,), (6,), {"dim": 0}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("s1,s2,kw", COSINE_CASES)
def test_cosine_similarity_module(dtype, s1, s2, kw):
    t, e = torch.nn.CosineSimilarity(**kw), ember.nn.CosineSimilarity(**kw)
    # inputs of its own: the module's generator gives each test other values in each order
    # the tests run in (several processes share them out)
    draw = np.random.default_rng(1).standard_normal
    arrays = [draw(s1), draw(s2)]
    # float32 gradients that cancel to about 0 keep rounding noise of some 1e-6 in both
    atol = 1e-5 if dtype == "float32" else 1e-6
    compare_modules(t, e, arrays, dtype, rtol=1e-5, atol=atol)
    assert repr(t) == repr(e)


def test_cosine_similarity_of_zero_vector_is_zero_and_finite():
    x = rng.standard_normal((3, 4))
    x[1] = 0
    compare_functions(
        lambda a, b: torch.nn.functional.cosine_similarity(a, b),
        lambda a, b: ember.nn.functional.cosine_similarity(a, b),
        [x, rng.standard_normal((3, 4))],
    )


PAIRWISE_CASES = [
    ((4, 5), (4, 5), {}),
    ((4, 5), (5,), {"p": 1.0}),
    ((2, 3, 5), (2, 3, 5), {"p": 3.0, "keepdim": True}),
    ((4, 5), (4, 5), {"p": float("inf")}),
    ((7,), (7,), {"eps": 1e-3}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("s1,s2,kw", PAIRWISE_CASES)
def test_pairwise_distance_module(dtype, s1, s2, kw):
    t, e = torch.nn.PairwiseDistance(**kw), ember.nn.PairwiseDistance(**kw)
    arrays = [rng.standard_normal(s1), rng.standard_normal(s2)]
    compare_modules(t, e, arrays, dtype, rtol=1e-5, atol=1e-6)
    assert repr(t) == repr(e)


def test_gradcheck():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_gradcheck(lambda x, y: ember.nn.functional.cosine_similarity(x, y), [a, b])
    check_gradcheck(lambda x, y: ember.nn.functional.pairwise_distance(x, y, 3.0), [a, b])
    check_gradcheck(lambda x, y: ember.nn.CosineSimilarity(dim=0)(x, y), [a, b])


@pytest.mark.parametrize("name", ["CosineSimilarity", "PairwiseDistance"])
def test_bad_input(name):
    mod = getattr(ember.nn, name)()
    with pytest.raises(RuntimeError, match=r"\[3, 4\].*\[3, 5\]"):
        mod(ember.zeros(3, 4), ember.zeros(3, 5))
    with pytest.raises(RuntimeError, match="floating point"):
        mod(ember.zeros(3, 4, dtype=ember.long), ember.zeros(3, 4, dtype=ember.long))
    with pytest.raises(RuntimeError):  # torch raises the same kind of error
        getattr(torch.nn, name)()(torch.zeros(3, 4), torch.zeros(3, 5))


def test_cosine_similarity_dim_out_of_range():
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.nn.CosineSimilarity(dim=2)(ember.zeros(3, 4), ember.zeros(3, 4))
