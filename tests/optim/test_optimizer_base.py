"""The Optimizer base: construction errors, zero_grad, closures, parameter groups."""

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim


def pair(shape=(3,), value=1.0):
    a = np.full(shape, value, np.float32)
    return ember.tensor(a.copy(), requires_grad=True), torch.tensor(a.copy(), requires_grad=True)


def raised(fn):
    try:
        fn()
    except Exception as e:  # the type is what the test compares
        return type(e)
    return None


@pytest.mark.parametrize(
    "make_params",
    [
        lambda lib, p: [],
        lambda lib, p: p,
        lambda lib, p: [p * 2],
        lambda lib, p: [{"params": [p]}, {"params": [p]}],
        lambda lib, p: [{"params": {p}}],
        lambda lib, p: [1.0],
    ],
    ids=["empty", "bare-tensor", "non-leaf", "twice-across-groups", "set-in-group", "not-a-tensor"],
)
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_bad_params_raise_like_torch(make_params, name):
    ep, tp = pair()
    expected = raised(lambda: getattr(torch.optim, name)(make_params(torch, tp), lr=0.1))
    got = raised(lambda: getattr(eoptim, name)(make_params(ember, ep), lr=0.1))
    assert expected is not None
    assert got is expected


def test_duplicate_in_one_group_warns():
    ep, _ = pair()
    with pytest.warns(UserWarning, match="duplicate parameters"):
        eoptim.SGD([ep, ep], lr=0.1)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=-1.0)),
        ("SGD", dict(lr=0.1, nesterov=True)),
        ("Adam", dict(betas=(1.0, 0.9))),
        ("Adam", dict(eps=-1.0)),
        ("RMSprop", dict(alpha=-0.1)),
        ("Rprop", dict(etas=(1.5, 1.2))),
        ("Adagrad", dict(lr_decay=-1.0)),
    ],
)
def test_bad_hyperparameters_raise_value_error(name, kwargs):
    ep, tp = pair()
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([tp], **kwargs)
    with pytest.raises(ValueError):
        getattr(eoptim, name)([ep], **kwargs)


def test_defaults_and_groups_match_torch():
    ep1, tp1 = pair()
    ep2, tp2 = pair((2,))
    ours = eoptim.Adam([ep1], lr=0.1)
    ref = torch.optim.Adam([tp1], lr=0.1)
    ours.add_param_group({"params": ep2, "lr": 0.2})
    ref.add_param_group({"params": tp2, "lr": 0.2})
    assert ours.defaults == ref.defaults
    for g, h in zip(ours.param_groups, ref.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == {
            k: v for k, v in h.items() if k != "params"
        }
        assert len(g["params"]) == len(h["params"])
    with pytest.raises(ValueError, match="more than one parameter group"):
        ours.add_param_group({"params": [ep1]})


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    ep, _ = pair()
    ep.grad = ember.tensor(np.ones(3, np.float32))
    opt = eoptim.SGD([ep], lr=0.1)
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert ep.grad is None
    else:
        np.testing.assert_array_equal(ep.grad.numpy(), np.zeros(3, np.float32))


def test_step_returns_closure_loss_and_builds_no_graph():
    ep, _ = pair()
    opt = eoptim.SGD([ep], lr=0.5, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = (ep * ep).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(3.0)
    assert ep.is_leaf and ep.grad_fn is None
    np.testing.assert_allclose(ep.detach().numpy(), np.zeros(3))


def test_parameters_without_grad_get_no_state():
    ep, _ = pair()
    other, _ = pair()
    ep.grad = ember.tensor(np.ones(3, np.float32))
    opt = eoptim.Adam([ep, other])
    opt.step()
    assert other not in opt.state or not opt.state[other]
    assert float(opt.state[ep]["step"]) == 1.0


def test_repr_lists_groups():
    ep, _ = pair()
    text = repr(eoptim.SGD([ep], lr=0.1))
    assert text.startswith("SGD (") and "lr: 0.1" in text and "Parameter Group 0" in text


def test_step_hooks_run_and_can_be_removed():
    ep, _ = pair()
    ep.grad = ember.tensor(np.ones(3, np.float32))
    opt = eoptim.AdamW([ep])
    calls = []
    pre = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", float(o.state[ep]["step"]))))
    opt.step()
    pre.remove()
    opt.step()
    assert calls == [("pre", True), ("post", 1.0), ("post", 2.0)]
