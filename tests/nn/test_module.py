"""Module behaviour against torch.nn.Module: registration, iteration, state_dict, hooks, repr."""

import copy

import numpy as np
import pytest
import torch

import ember


def build(nn, lib):
    """The same tree in either library: shared modules and parameters, buffers, None slots."""

    class Block(nn.Module):
        def __init__(self, shared):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.shared = shared
            self.register_buffer("count", lib.zeros(2))
            self.register_buffer("scratch", lib.ones(3), persistent=False)
            self.register_parameter("unused", None)
            self.scale = nn.Parameter(lib.ones(4))

        def forward(self, x):
            return self.shared(self.fc(x)) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            shared = nn.Linear(4, 4, bias=False)
            self.blocks = nn.ModuleList([Block(shared), Block(shared)])
            self.tied = nn.Linear(4, 4)
            self.tied.weight = self.blocks[0].fc.weight
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2), nn.Dropout(0.1))
            self.empty = None
            self.table = nn.ModuleDict({"b": nn.Tanh(), "a": nn.Identity()})
            self.extra = nn.ParameterList([nn.Parameter(lib.zeros(2)), nn.Parameter(lib.ones(1))])
            self.named = nn.ParameterDict({"z": nn.Parameter(lib.zeros(1))})

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.head(self.tied(x))

    return Net()


@pytest.fixture
def nets():
    return build(torch.nn, torch), build(ember.nn, ember)


def names(pairs):
    return [(n, tuple(v.shape)) for n, v in pairs]


def test_iterators_order_and_deduplicate_like_torch(nets):
    t, e = nets
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert names(e.named_buffers()) == names(t.named_buffers())
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    kw = {"remove_duplicate": False}
    assert names(e.named_parameters(**kw)) == names(t.named_parameters(**kw))
    assert [n for n, _ in e.named_modules(**kw)] == [n for n, _ in t.named_modules(**kw)]
    assert names(e.named_parameters("p", recurse=False)) == names(
        t.named_parameters("p", recurse=False)
    )
    assert names(e.blocks[1].named_parameters(prefix="x")) == names(
        t.blocks[1].named_parameters(prefix="x")
    )
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert len(list(e.buffers())) == len(list(t.buffers()))


def test_state_dict_keys_prefix_and_keep_vars(nets):
    t, e = nets
    assert names(e.state_dict().items()) == names(t.state_dict().items())
    assert list(e.state_dict(prefix="m.")) == list(t.state_dict(prefix="m."))
    sd = e.state_dict()
    assert not any(v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["tied.weight"].numpy(), e.tied.weight.detach().numpy())
    kept = e.state_dict(keep_vars=True)
    assert kept["tied.weight"] is e.tied.weight


def test_torch_state_dict_loads_and_outputs_agree(nets):
    t, e = nets
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t.eval(), e.eval()
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5
    )


def test_load_state_dict_missing_unexpected_and_shape_errors(nets):
    t, e = nets
    sd = {k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()}
    del sd["head.1.bias"]
    sd["head.1.extra"] = ember.zeros(1)
    sd["nothere.weight"] = ember.zeros(1)
    t_sd = {k: torch.tensor(v.numpy()) for k, v in sd.items()}
    with pytest.raises(RuntimeError) as t_err:
        t.load_state_dict(t_sd)
    with pytest.raises(RuntimeError) as e_err:
        e.load_state_dict(sd)
    assert str(e_err.value) == str(t_err.value)
    t_res, e_res = t.load_state_dict(t_sd, strict=False), e.load_state_dict(sd, strict=False)
    assert e_res.missing_keys == t_res.missing_keys == ["head.1.bias"]
    assert e_res.unexpected_keys == t_res.unexpected_keys
    assert repr(e.load_state_dict(e.state_dict())) == "<All keys matched successfully>"

    sd = e.state_dict()
    sd["head.1.weight"] = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"head\.1\.weight.*\[3, 4\].*\[2, 4\]"):
        e.load_state_dict(sd)
    with pytest.raises(RuntimeError, match=r"head\.1\.weight"):
        e.load_state_dict(sd, strict=False)


def test_load_state_dict_copies_in_place_and_keeps_parameter_objects(nets):
    _, e = nets
    w = e.head[1].weight
    sd = {k: v * 0 + 2 for k, v in e.state_dict().items()}
    e.load_state_dict(sd)
    assert e.head[1].weight is w and w.requires_grad and w.is_leaf
    assert (w.detach().numpy() == 2).all()
    assert (e.blocks[0].count.numpy() == 2).all()
    assert (e.blocks[0].scratch.numpy() == 1).all()  # not persistent: untouched


def test_registration_rules_match_torch():
    for lib in (torch, ember):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(2))
        with pytest.raises(TypeError):
            m.w = lib.ones(2)  # a plain tensor cannot replace a parameter
        m.w = None
        assert "w" in m._parameters and m.w is None
        with pytest.raises(KeyError):
            m.register_buffer("a.b", lib.ones(1))
        with pytest.raises(KeyError):
            m.register_parameter("", None)
        m.plain = 3
        with pytest.raises(KeyError):
            m.register_buffer("plain", lib.ones(1))
        m.register_buffer("buf", lib.ones(1))
        m.buf = lib.zeros(1)
        assert "buf" in m._buffers
        with pytest.raises(TypeError):
            m.buf = 5
        m.child = lib.nn.Linear(1, 1)
        del m.child
        assert "child" not in m._modules
        with pytest.raises(AttributeError, match="nothing"):
            _ = m.nothing
        m.add_module("sub", lib.nn.ReLU())
        m.register_module("sub2", lib.nn.ReLU())
        with pytest.raises(TypeError):
            m.add_module("bad", 3)
        assert [n for n, _ in m.named_children()] == ["sub", "sub2"]
        assert "sub" in dir(m) and "buf" in dir(m)
        with pytest.raises(NotImplementedError):
            m(1)


def test_assigning_a_parameter_over_a_buffer_moves_it():
    m = ember.nn.Module()
    m.register_buffer("x", ember.ones(1))
    m.x = ember.nn.Parameter(ember.ones(1))
    assert "x" in m._parameters and "x" not in m._buffers


def test_train_eval_requires_grad_zero_grad_and_apply(nets):
    _, e = nets
    assert e.training and all(m.training for m in e.modules())
    assert e.eval() is e and not any(m.training for m in e.modules())
    e.train()
    with pytest.raises(ValueError):
        e.train("no")
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())
    e.requires_grad_()
    out = e(ember.randn(2, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in e.head.parameters())
    e.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in e.head.parameters())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())
    seen = []
    assert e.apply(lambda m: seen.append(type(m).__name__)) is e
    t_seen = []
    build(torch.nn, torch).apply(lambda m: t_seen.append(type(m).__name__))
    assert seen == t_seen


def test_dtype_conversions_keep_parameter_identity(nets):
    _, e = nets
    p = e.head[1].weight
    e.head[1].weight.grad = ember.ones(2, 4)
    assert e.double() is e
    assert e.head[1].weight is p and p.dtype == ember.float64 and p.grad.dtype == ember.float64
    assert isinstance(p, ember.nn.Parameter) and p.requires_grad
    assert all(b.dtype == ember.float64 for b in e.buffers())
    e.to(ember.float32)
    assert p.dtype == ember.float32
    e.half()
    assert p.dtype == ember.float16
    e.float()
    e.to("cpu")
    e.to(ember.zeros(1, dtype=ember.float64))
    assert p.dtype == ember.float64
    e.type(ember.float32)
    assert p.dtype == ember.float32
    m = ember.nn.Module()
    m.register_buffer("idx", ember.tensor([1, 2]))
    m.double()
    assert m.idx.dtype == ember.int64  # integer buffers are left alone
    with pytest.raises(TypeError, match="floating point"):
        m.to(ember.int32)


def test_get_submodule_parameter_and_buffer(nets):
    t, e = nets
    assert e.get_submodule("blocks.1.fc") is e.blocks[1].fc
    assert e.get_submodule("") is e
    assert e.get_parameter("head.1.bias") is e.head[1].bias
    assert e.get_buffer("blocks.0.count") is e.blocks[0].count
    for net in (t, e):
        with pytest.raises(AttributeError, match="nope"):
            net.get_submodule("blocks.nope")
        with pytest.raises(AttributeError):
            net.get_parameter("head.1.nope")


def test_repr_matches_torch(nets):
    t, e = nets
    assert repr(e) == repr(t).replace("torch.float32", "ember.float32")
    t2 = torch.nn.Sequential(*[torch.nn.Linear(3, 3) for _ in range(3)], torch.nn.ReLU())
    e2 = ember.nn.Sequential(*[ember.nn.Linear(3, 3) for _ in range(3)], ember.nn.ReLU())
    assert repr(e2) == repr(t2)
    t3 = torch.nn.ModuleList([torch.nn.Linear(3, 3)] * 3 + [torch.nn.ReLU()])
    e3 = ember.nn.ModuleList([ember.nn.Linear(3, 3)] * 3 + [ember.nn.ReLU()])
    assert repr(e3) == repr(t3)


def test_deepcopy_is_independent_and_keeps_sharing(nets):
    _, e = nets
    e.blocks[0].fc.weight.grad = ember.ones(4, 4)
    c = copy.deepcopy(e)
    assert names(c.named_parameters()) == names(e.named_parameters())
    assert c.tied.weight is c.blocks[0].fc.weight
    assert c.blocks[0].shared is c.blocks[1].shared
    assert c.blocks[0].fc.weight is not e.blocks[0].fc.weight
    assert isinstance(c.tied.weight, ember.nn.Parameter) and c.tied.weight.requires_grad
    np.testing.assert_array_equal(c.blocks[0].fc.weight.grad.numpy(), 1)
    with ember.no_grad():
        c.tied.weight.fill_(7)
    assert not (e.tied.weight.detach().numpy() == 7).any()
    x = ember.randn(2, 4)
    e.eval(), c.eval()
    assert c(x).shape == e(x).shape


def test_forward_pre_hooks_and_forward_hooks_like_torch():
    log = {}
    for lib in (torch, ember):
        m = lib.nn.Linear(2, 2)
        calls = log.setdefault(lib.__name__, [])

        def pre(mod, args, calls=calls):
            calls.append("pre")
            return (args[0] * 2,)

        def pre_first(mod, args, calls=calls):
            calls.append("pre_first")

        def pre_kw(mod, args, kwargs, calls=calls):
            calls.append(("pre_kw", sorted(kwargs)))

        def post(mod, args, out, calls=calls):
            calls.append(("post", tuple(args[0].shape)))
            return out + 1

        def post_kw(mod, args, kwargs, out, calls=calls):
            calls.append("post_kw")

        h1 = m.register_forward_pre_hook(pre)
        m.register_forward_pre_hook(pre_first, prepend=True)
        m.register_forward_pre_hook(pre_kw, with_kwargs=True)
        h2 = m.register_forward_hook(post)
        m.register_forward_hook(post_kw, with_kwargs=True)
        with torch.no_grad():
            m.weight.copy_(torch.eye(2)) if lib is torch else None
        if lib is ember:
            with ember.no_grad():
                m.weight.copy_(ember.eye(2))
                m.bias.zero_()
        else:
            with torch.no_grad():
                m.bias.zero_()
        out = m(lib.ones(1, 2))
        assert out.tolist() == [[3.0, 3.0]]
        h1.remove()
        h2.remove()
        out = m(lib.ones(1, 2))
        assert out.tolist() == [[1.0, 1.0]]
    assert log["ember"] == log["torch"]


def test_full_backward_hooks_see_and_replace_gradients():
    results = {}
    for lib in (torch, ember):
        m = lib.nn.Linear(3, 2)
        with (torch if lib is torch else ember).no_grad():
            m.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3).astype(np.float32)))
        seen = []

        def hook(mod, grad_input, grad_output, seen=seen):
            seen.append((grad_input[0].tolist(), grad_output[0].tolist()))
            return (grad_input[0] * 10,)

        def pre(mod, grad_output, seen=seen):
            seen.append(("pre", grad_output[0].tolist()))

        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(pre)
        x = lib.ones(1, 3, requires_grad=True)
        (m(x) * lib.tensor([[1.0, 2.0]])).sum().backward()
        results[lib.__name__] = (seen, x.grad.tolist())
    assert results["ember"] == results["torch"]


def test_hook_handles_work_as_context_managers():
    m = ember.nn.Identity()
    calls = []
    with m.register_forward_hook(lambda *a: calls.append(1)):
        m(ember.ones(1))
    m(ember.ones(1))
    assert calls == [1]


def _with_extra_repr(lib):
    class Scaled(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.k = 3

        def extra_repr(self):
            return f"k={self.k}\nsecond line" if self.k > 3 else f"k={self.k}"

    return Scaled


def test_extra_repr_one_line_and_several():
    t, e = _with_extra_repr(torch)(), _with_extra_repr(ember)()
    assert repr(e) == repr(t) == "Scaled(k=3)"
    t.k = e.k = 4
    assert repr(ember.nn.Sequential(e)) == repr(torch.nn.Sequential(t))
    assert repr(e) == repr(t)


def test_state_dict_hook_can_edit_the_result():
    def drop_bias(module, state, prefix, local_metadata):
        del state[prefix + "bias"]

    for lib in (torch, ember):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        m[0].register_state_dict_post_hook(drop_bias)
        assert list(m.state_dict()) == ["0.weight"]


def test_state_dict_and_load_hooks_run_like_torch():
    logs = {}
    for lib in (torch, ember):
        log = logs.setdefault(lib.__name__, [])
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        m[0].register_state_dict_pre_hook(lambda mod, prefix, keep, log=log: log.append(prefix))
        m[0].register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, *rest, log=log: log.append(("pre", prefix, sorted(sd)))
        )

        def post(mod, keys, log=log):
            log.append(("post", list(keys.missing_keys)))
            keys.missing_keys.clear()  # a post hook may forgive missing keys

        m.register_load_state_dict_post_hook(post)
        sd = m.state_dict()
        del sd["0.bias"]
        result = m.load_state_dict(sd)
        assert result.missing_keys == []
    assert logs["ember"] == logs["torch"]


def test_extra_state_round_trips_through_state_dict():
    def make(lib):
        class Counter(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.steps = 0
                self.w = lib.nn.Parameter(lib.zeros(1))

            def get_extra_state(self):
                return {"steps": self.steps}

            def set_extra_state(self, state):
                self.steps = state["steps"]

        return lib.nn.Sequential(Counter())

    t, e = make(torch), make(ember)
    assert list(e.state_dict()) == list(t.state_dict()) == ["0.w", "0._extra_state"]
    e[0].steps = 5
    e2 = make(ember)
    e2.load_state_dict(e.state_dict())
    assert e2[0].steps == 5
    with pytest.raises(RuntimeError, match="_extra_state"):
        e2.load_state_dict({"0.w": ember.zeros(1)})


def test_load_state_dict_assign_keeps_the_loaded_tensors():
    m = ember.nn.Linear(2, 2)
    w = ember.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, ember.nn.Parameter) and m.weight.requires_grad
    assert np.shares_memory(m.weight.detach().numpy(), w.numpy())


def test_set_submodule_and_to_empty():
    for lib in (torch, ember):
        m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.ReLU()))
        m.set_submodule("0.0", lib.nn.Tanh())
        assert isinstance(m[0][0], lib.nn.Tanh)
    m = ember.nn.Linear(3, 2)
    w = m.weight
    m.to_empty()
    assert m.weight is w and tuple(w.shape) == (2, 3)


def test_modules_pickle_through_ember_save(tmp_path):
    t, e = build(torch.nn, torch), build(ember.nn, ember)
    path = tmp_path / "w.pt"
    ember.save(e.state_dict(), path)
    loaded = ember.load(path)
    assert list(loaded) == list(t.state_dict())
    e2 = build(ember.nn, ember)
    e2.load_state_dict(loaded)
    for (n, a), (_, b) in zip(e.state_dict().items(), e2.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=n)
