"""Compare an ember module with the same torch module, given identical weights."""

import numpy as np
import torch

import ember


def copy_weights(tmod, emod, dtype="float64"):
    """Load torch's state_dict into the ember module (through NumPy) and cast torch's."""
    tmod.to(getattr(torch, dtype))
    state = {}
    for k, v in tmod.state_dict().items():
        a = v.detach().numpy()
        state[k] = ember.tensor(a.astype(dtype) if a.dtype.kind == "f" else a)
    emod.load_state_dict(state)
    emod.to(getattr(ember, dtype))


def compare_modules(
    tmod,
    emod,
    arrays,
    dtype="float64",
    rtol=1e-6,
    atol=1e-7,
    call=lambda mod, *xs: mod(*xs),
    pick=lambda out: out,
    train=True,
    constant_inputs=(),
):
    """Forward outputs, input gradients and parameter gradients must agree."""
    copy_weights(tmod, emod, dtype)
    tmod.train(train)
    emod.train(train)
    assert list(emod.state_dict()) == list(tmod.state_dict())
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    diff = [
        a.dtype.kind == "f" and bool(np.isfinite(a).all()) and i not in constant_inputs
        for i, a in enumerate(arrays)
    ]
    t_in = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    e_in = [ember.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    t_out, e_out = pick(call(tmod, *t_in)), pick(call(emod, *e_in))
    t_out = t_out if isinstance(t_out, tuple | list) else (t_out,)
    e_out = e_out if isinstance(e_out, tuple | list) else (e_out,)
    rng = np.random.default_rng(123)
    weights = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in t_out]
    sum((o * torch.tensor(w)).sum() for o, w in zip(t_out, weights)).backward()
    sum((o * ember.tensor(w)).sum() for o, w in zip(e_out, weights)).backward()
    for t, e in zip(t_out, e_out):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    for t, e in zip(t_in, e_in):
        if t.grad is not None:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        tg = t_params[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tg.numpy(), rtol=rtol, atol=atol, err_msg=name)
    t_buffers = dict(tmod.named_buffers())
    for name, b in emod.named_buffers():
        np.testing.assert_allclose(
            b.numpy(), t_buffers[name].numpy(), rtol=rtol, atol=atol, err_msg=name
        )
