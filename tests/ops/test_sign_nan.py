"""sign and sgn of NaN are 0 in PyTorch (NumPy keeps NaN), in every form ember offers."""

import numpy as np
import pytest
import torch

import ember

VALUES = [float("nan"), -0.0, 2.0, -3.0, float("inf"), float("-inf")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "form",
    [
        lambda lib, x: lib.sign(x),
        lambda lib, x: lib.sgn(x),
        lambda lib, x: x.clone().sign_(),
        lambda lib, x: lib._foreach_sign([x])[0],
        lambda lib, x: (lambda c: (lib._foreach_sign_([c]), c)[1])(x.clone()),
    ],
    ids=["sign", "sgn", "sign_", "foreach_sign", "foreach_sign_"],
)
def test_sign_of_nan_matches_torch(form, dtype):
    got = [
        form(lib, lib.tensor(VALUES, dtype=getattr(lib, dtype))).numpy() for lib in (torch, ember)
    ]
    np.testing.assert_array_equal(got[1], got[0])


def test_sign_of_zero_dim_nan_matches_torch():
    for lib in (torch, ember):
        x = lib.tensor(float("nan"))
        in_place = [x.clone()]
        lib._foreach_sign_(in_place)
        assert x.sign().item() == x.clone().sign_().item() == in_place[0].item() == 0.0
