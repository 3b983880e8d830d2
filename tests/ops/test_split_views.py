"""split and chunk as one op of several views: gradients (unused pieces included, and of
second order) and the in-place changes PyTorch refuses on such views, against PyTorch."""

import numpy as np
import pytest
import torch

import ember

rng = np.random.default_rng(0)

CASES = {
    "split even": lambda t: t.split(3, 1),
    "split uneven": lambda t: t.split(4, 1),
    "split sizes": lambda t: t.split([1, 0, 5], 1),
    "chunk first dim": lambda t: t.chunk(2, 0),
    "negative dim": lambda t: t.split(2, -1),
}


@pytest.mark.parametrize("case", CASES)
def test_pieces_and_gradients_match_torch(case):
    x_array = rng.standard_normal((4, 6))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(x_array, requires_grad=True)
        pieces = CASES[case](x * 1.5)
        # every other piece unused: its gradient is zero
        loss = sum((p * (i + 1)).sum() for i, p in enumerate(pieces) if i % 2 == 0)
        loss.backward()
        results.append(([p.detach().numpy() for p in pieces], x.grad.numpy()))
    (t_pieces, t_grad), (e_pieces, e_grad) = results
    assert [p.shape for p in e_pieces] == [p.shape for p in t_pieces]
    for e, t in zip(e_pieces, t_pieces):
        np.testing.assert_array_equal(e, t)
    np.testing.assert_array_equal(e_grad, t_grad)


def test_second_derivative_through_split_matches_torch():
    x_array = rng.standard_normal((4, 6))
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(x_array, requires_grad=True)
        a, b = x.split(3, 1)
        (g,) = lib.autograd.grad((a**3).sum() + (b**2).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g**2).sum(), x)
        grads.append(gg.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def _inplace_error(lib):
    x = lib.randn(4, 6, requires_grad=True)
    a, _ = (x * 2).split(3, 1)
    with pytest.raises(RuntimeError) as error:
        a.mul_(2)
    return str(error.value)


def test_in_place_change_of_a_recorded_piece_raises_as_in_torch():
    assert _inplace_error(ember) == _inplace_error(torch)


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_in_place_changes_without_recording_write_through(lib):
    x = lib.zeros(4, 6)
    a, b = x.split(3, 1)
    a.add_(1)  # nothing requires grad
    with lib.no_grad():
        y = lib.zeros(4, 6, requires_grad=True)
        c, _ = (y * 2).split(3, 1)
        c.add_(1)
    assert x.numpy()[:, :3].sum() == 12 and x.numpy()[:, 3:].sum() == 0
