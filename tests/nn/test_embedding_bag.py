"""EmbeddingBag and F.embedding_bag against torch with identical weights, and bad input."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

rng = np.random.default_rng(0)
MODES = ["sum", "mean", "max"]


def both(*args, **kwargs):
    return torch.nn.EmbeddingBag(*args, **kwargs), ember.nn.EmbeddingBag(*args, **kwargs)


def with_offsets(mod, x, offsets):
    return mod(x, offsets)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", MODES)
def test_2d_input(dtype, mode):
    t, e = both(10, 4, mode=mode)
    compare_modules(t, e, [rng.integers(0, 10, (5, 3))], dtype, rtol=1e-5, atol=1e-6)
    assert repr(t) == repr(e)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_offsets_with_empty_bags(mode, include_last_offset):
    t, e = both(10, 4, mode=mode, include_last_offset=include_last_offset)
    x = rng.integers(0, 10, 9)
    offsets = np.array([0, 2, 2, 5, 9]) if not include_last_offset else np.array([0, 0, 3, 9])
    compare_modules(t, e, [x, offsets], call=with_offsets)


@pytest.mark.parametrize("mode", MODES)
def test_padding_idx_is_left_out_of_bags(mode):
    t, e = both(6, 3, mode=mode, padding_idx=2)
    x = np.array([2, 1, 2, 4, 2, 2, 5, 0])
    offsets = np.array([0, 3, 4, 6])  # the bag [2, 2] holds only padding
    compare_modules(t, e, [x, offsets], call=with_offsets)
    assert repr(t) == repr(e)
    assert not ember.nn.EmbeddingBag(6, 3, padding_idx=-1).weight.detach().numpy()[5].any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_sample_weights(dtype):
    t, e = both(8, 5, mode="sum", padding_idx=0)
    x = np.array([1, 0, 3, 3, 7, 2])
    arrays = [x, np.array([0, 1, 4]), rng.standard_normal(6)]
    compare_modules(t, e, arrays, dtype, call=lambda m, x, o, w: m(x, o, per_sample_weights=w))
    arrays = [rng.integers(0, 8, (3, 4)), rng.standard_normal((3, 4))]
    compare_modules(t, e, arrays, dtype, call=lambda m, x, w: m(x, per_sample_weights=w))


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq(mode):
    """Oracle: torch's F.embedding with scale_grad_by_freq, reduced per bag.

    (torch's own embedding_bag scales by the counts of the wrong rows on the CPU: for the
    input [1, 1, 4] it gives row 4 the gradient 0.5.)
    """
    x, sizes = np.array([1, 1, 1, 4, 1, 5]), [2, 4]

    def torch_bags(w):
        rows = torch.nn.functional.embedding(torch.tensor(x), w, scale_grad_by_freq=True)
        bags = [b.sum(0) if mode == "sum" else b.mean(0) for b in rows.split(sizes)]
        return torch.stack(bags)

    compare_functions(
        torch_bags,
        lambda w: ember.nn.functional.embedding_bag(
            ember.tensor(x), w, ember.tensor([0, 2]), scale_grad_by_freq=True, mode=mode
        ),
        [rng.standard_normal((6, 3))],
    )


def test_max_norm_renormalises_used_rows():
    t, e = both(6, 3, mode="sum", max_norm=1.0, padding_idx=5)
    with torch.no_grad():
        t.weight[5] = 4.0  # the padding row is left out of bags, but renormalised as in torch
    x = np.array([[1, 2], [2, 5]])
    compare_modules(t, e, [x])
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(), 1e-6)


def test_from_pretrained():
    w = rng.standard_normal((5, 3)).astype(np.float32)
    t = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="max")
    e = ember.nn.EmbeddingBag.from_pretrained(ember.tensor(w), mode="max")
    assert not e.weight.requires_grad
    x = np.array([[0, 4, 2]])
    np.testing.assert_allclose(e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    assert repr(t) == repr(e)


def test_functional_matches_torch():
    w, x = rng.standard_normal((7, 3)), np.array([3, 6, 1, 0, 2])
    compare_functions(
        lambda w, x, o: torch.nn.functional.embedding_bag(x, w, o, mode="max"),
        lambda w, x, o: ember.nn.functional.embedding_bag(x, w, o, mode="max"),
        [w, x, np.array([0, 1, 1])],
    )


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_and_double_backward(mode):
    w, x, o = rng.standard_normal((6, 3)), np.array([1, 4, 2, 2, 0, 5]), np.array([0, 2, 2, 5])
    check_gradcheck(
        lambda w: ember.nn.functional.embedding_bag(ember.tensor(x), w, ember.tensor(o), mode=mode),
        [w],
        second_order=True,
    )


def test_gradcheck_per_sample_weights():
    w, x, o = rng.standard_normal((6, 3)), ember.tensor(np.array([1, 4, 2, 2, 0])), None
    fn = lambda w, p: ember.nn.functional.embedding_bag(  # noqa: E731
        x, w, ember.tensor(np.array([0, 3])), mode="sum", per_sample_weights=p
    )
    check_gradcheck(fn, [w, rng.standard_normal(5)], second_order=True)
    assert o is None


BAD = [
    ({"input": [1, 2, 3]}, ValueError, "offsets has to be a 1D Tensor"),
    ({"input": [[1, 2]], "offsets": [0]}, ValueError, "if input is 2D"),
    ({"input": [[[1]]]}, ValueError, "1D or 2D"),
    ({"input": [1, 2, 3], "offsets": [1, 2]}, RuntimeError, r"offsets\[0\] has to be 0"),
    ({"input": [1, 2, 3], "offsets": [0, 5]}, RuntimeError, r"offsets\[-1\] can not be greater"),
    ({"input": [1, 2, 3], "offsets": [0, 2, 1]}, RuntimeError, "non-decreasing"),
    ({"input": [1, 2], "offsets": [0, 1], "include_last_offset": True}, None, "must equal"),
    ({"input": [1, 2, 9], "offsets": [0]}, RuntimeError, r"value 9.*\[0, 5\)"),
    ({"input": [1, -1], "offsets": [0]}, RuntimeError, r"value -1"),
    ({"input": [1.0, 2.0], "offsets": [0]}, RuntimeError, "'indices'"),
    ({"input": [[1]], "mode": "median"}, ValueError, "mode has to be one of"),
    ({"input": [[1]], "padding_idx": 7}, RuntimeError, "padding_idx must be within"),
    ({"input": [[1]], "mode": "mean", "psw": [[1.0]]}, NotImplementedError, "mode='sum'"),
    ({"input": [[1, 2]], "mode": "sum", "psw": [1.0]}, ValueError, "same shape"),
    ({"input": [[1]], "mode": "max", "scale_grad_by_freq": True}, ValueError, "max mode"),
]  # fmt: skip


@pytest.mark.parametrize("kw,error,match", BAD)
def test_bad_input(kw, error, match):
    kw = dict(kw)
    args = {"input": np.array(kw.pop("input"))}
    for k in ("offsets", "psw"):
        if k in kw:
            args[k] = np.array(kw.pop(k))
    for lib in (torch, ember) if error else (ember,):
        conv = (lambda a: torch.tensor(a)) if lib is torch else (lambda a: ember.tensor(a))
        w = conv(np.ones((5, 3), np.float32))
        offsets = conv(args["offsets"]) if "offsets" in args else None
        psw = conv(args["psw"].astype(np.float32)) if "psw" in args else None
        with pytest.raises(error or RuntimeError, match=match if lib is ember else None):
            lib.nn.functional.embedding_bag(
                conv(args["input"]), w, offsets, per_sample_weights=psw, **kw
            )
