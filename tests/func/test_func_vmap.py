"""ember.func.vmap against torch.func.vmap (float64), including per-sample gradients."""

import numpy as np
import pytest
import torch
import torch.func as tf

import ember
import ember.func as ef

RNG = np.random.default_rng(0)


def _close(a, b):
    if isinstance(b, torch.Tensor):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-9)
    elif isinstance(b, dict):
        assert set(a) == set(b)
        for k in b:
            _close(a[k], b[k])
    else:
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)


def _both(make, arrays, **vmap_kwargs):
    ours = ef.vmap(make(ember), **vmap_kwargs)(*[ember.tensor(a) for a in arrays])
    theirs = tf.vmap(make(torch), **vmap_kwargs)(*[torch.tensor(a) for a in arrays])
    _close(ours, theirs)
    return ours


@pytest.mark.parametrize(
    "shapes, in_dims, out_dims",
    [
        (((5, 3), (5, 3)), 0, 0),
        (((5, 3), (3,)), (0, None), 0),
        (((3, 5), (5, 3)), (1, 0), 1),
        (((3, 5), (3, 5)), -1, -1),
        (((2, 3, 5), (5, 3)), (2, 0), 2),
    ],
)
def test_in_dims_and_out_dims_match_torch(shapes, in_dims, out_dims):
    arrays = [RNG.standard_normal(s) for s in shapes]

    def make(lib):
        return lambda x, y: lib.sin(x) * y + y.sum()

    _both(make, arrays, in_dims=in_dims, out_dims=out_dims)


def test_several_outputs_with_their_own_out_dims():
    def make(lib):
        return lambda x: (x.sum(0), x * 2)

    _both(make, [RNG.standard_normal((4, 3, 2))], out_dims=(0, 1))


def test_nested_vmap_is_an_outer_operation():
    x, y = RNG.standard_normal(4), RNG.standard_normal(5)
    ours = ef.vmap(ef.vmap(ember.mul, (None, 0)), (0, None))(ember.tensor(x), ember.tensor(y))
    theirs = tf.vmap(tf.vmap(torch.mul, (None, 0)), (0, None))(torch.tensor(x), torch.tensor(y))
    _close(ours, theirs)
    np.testing.assert_allclose(ours.numpy(), np.outer(x, y))


def test_pytree_inputs_and_kwargs():
    def make(lib):
        def f(d, scale=1.0):
            return {"s": (d["a"] * d["b"]).sum() * scale, "a": d["a"]}

        return f

    a, b = RNG.standard_normal((6, 3)), RNG.standard_normal(3)
    ours = ef.vmap(make(ember), in_dims=({"a": 0, "b": None},))(
        {"a": ember.tensor(a), "b": ember.tensor(b)}, scale=2.0
    )
    theirs = tf.vmap(make(torch), in_dims=({"a": 0, "b": None},))(
        {"a": torch.tensor(a), "b": torch.tensor(b)}, scale=2.0
    )
    _close(ours, theirs)


def test_unbatched_output_with_out_dims_none():
    def make(lib):
        return lambda x, y: (x * 2, y + 1)

    _both(
        make,
        [RNG.standard_normal((3, 2)), RNG.standard_normal(2)],
        in_dims=(0, None),
        out_dims=(0, None),
    )
    with pytest.raises(ValueError, match="out_dims=None"):
        ef.vmap(lambda x: x, out_dims=None)(ember.tensor(RNG.standard_normal(3)))


def test_chunk_size_does_not_change_results():
    def make(lib):
        return lambda x: x.exp().sum()

    _both(make, [RNG.standard_normal((7, 2))], chunk_size=3)
    with pytest.raises(ValueError, match="chunk_size"):
        ef.vmap(ember.sin, chunk_size=0)


def test_randomness_modes():
    x = ember.zeros(4, 3)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        ef.vmap(lambda t: t + ember.rand(3))(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        tf.vmap(lambda t: t + torch.rand(3))(torch.zeros(4, 3))
    ember.manual_seed(3)
    same = ef.vmap(lambda t: t + ember.rand(3), randomness="same")(x).numpy()
    after_same = ember.rand(1).numpy()
    ember.manual_seed(3)
    once = ember.rand(3).numpy()
    after_once = ember.rand(1).numpy()
    np.testing.assert_array_equal(same, np.broadcast_to(once, (4, 3)))
    np.testing.assert_array_equal(after_same, after_once)
    different = ef.vmap(lambda t: t + ember.rand(3), randomness="different")(x).numpy()
    assert len({tuple(row) for row in different}) == 4
    with pytest.raises(RuntimeError, match="randomness"):
        ef.vmap(ember.sin, randomness="sometimes")


def test_input_errors():
    x = ember.ones(3, 2)
    with pytest.raises(ValueError, match="same size in the mapped dimension.*\\[3, 2\\]"):
        ef.vmap(ember.add)(x, ember.ones(2, 3))
    with pytest.raises(ValueError, match="in_dim=2 .*dimensionality 2"):
        ef.vmap(ember.sin, in_dims=2)(x)
    with pytest.raises(ValueError, match="non-Tensor"):
        ef.vmap(lambda t, n: t * n, in_dims=(0, 0))(x, 3)
    with pytest.raises(ValueError, match="in_dims is not compatible"):
        ef.vmap(ember.add, in_dims=(0,))(x, x)
    with pytest.raises(ValueError, match="at least one input"):
        ef.vmap(ember.sin, in_dims=None)(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        ef.vmap(lambda t: 1.0)(x)


def _models():
    rng = np.random.default_rng(5)
    models = []
    for lib in (ember, torch):
        nn = lib.nn
        models.append(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double())
    state = {k: rng.standard_normal(tuple(v.shape)) for k, v in models[1].state_dict().items()}
    models[0].load_state_dict({k: ember.tensor(v) for k, v in state.items()})
    models[1].load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return models


def test_per_sample_gradients_recipe_matches_torch():
    data, targets = RNG.standard_normal((6, 3)), RNG.integers(0, 2, 6)
    results = []
    for lib, func, model in zip((ember, torch), (ef, tf), _models()):
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def loss(params, buffers, x, y, lib=lib, func=func, model=model):
            logits = func.functional_call(model, (params, buffers), (x.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(logits, y.unsqueeze(0))

        per_sample = func.vmap(func.grad(loss), in_dims=(None, None, 0, 0))(
            params, buffers, lib.tensor(data), lib.tensor(targets)
        )
        results.append(per_sample)
    _close(*results)
    # each row is the gradient of that sample alone
    model = _models()[0]
    loss = ember.nn.functional.cross_entropy(
        model(ember.tensor(data[2:3])), ember.tensor(targets[2:3])
    )
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(results[0][name][2].numpy(), p.grad.numpy(), rtol=1e-10)


def test_grad_of_vmap_matches_torch():
    x = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)

    def make(lib, func):
        return lambda w, x: func.vmap(lambda row: lib.sin(row * w).sum(), in_dims=0)(x).pow(2).sum()

    _close(
        ef.grad(make(ember, ef))(ember.tensor(w), ember.tensor(x)),
        tf.grad(make(torch, tf))(torch.tensor(w), torch.tensor(x)),
    )
