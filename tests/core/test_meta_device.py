"""The meta device: tensors with shape, dtype and strides but no data, checked against PyTorch."""

import pickle
import tracemalloc

import pytest
import torch

import ember
import ember.nn as enn


def both(fn):
    """``fn`` run with ember and with torch, as the same program."""
    return fn(ember), fn(torch)


def same_meta(e, t):
    assert e.is_meta and t.is_meta
    assert e.device.type == t.device.type == "meta"
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()
    assert e.requires_grad == t.requires_grad


def raises_like(fn):
    """Both libraries raise the same exception type; ember's message is returned."""
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(type(theirs.value)) as ours:
        fn(ember)
    return str(ours.value)


FACTORIES = {
    "empty": lambda m: m.empty(2, 3, device="meta"),
    "zeros": lambda m: m.zeros((4,), device="meta", dtype=m.float64),
    "ones": lambda m: m.ones(2, 1, 3, device="meta", requires_grad=True),
    "full": lambda m: m.full((2, 2), 3, device="meta"),
    "rand": lambda m: m.rand(3, 2, device="meta"),
    "randn": lambda m: m.randn(5, device="meta"),
    "randint": lambda m: m.randint(0, 5, (2, 3), device="meta"),
    "arange": lambda m: m.arange(7, device="meta"),
    "eye": lambda m: m.eye(3, device="meta"),
    "linspace": lambda m: m.linspace(0, 1, 5, device="meta"),
    "tensor": lambda m: m.tensor([[1, 2], [3, 4]], device="meta"),
    "empty_like": lambda m: m.empty_like(m.ones(2, 3), device="meta"),
    "zeros_like": lambda m: m.zeros_like(m.empty(2, 3, device="meta")),
    "ones_like": lambda m: m.ones_like(m.empty(2, 3, device="meta"), dtype=m.int32),
    "full_like": lambda m: m.full_like(m.empty(4, device="meta"), 2.5),
    "rand_like": lambda m: m.rand_like(m.empty(4, device="meta")),
    "new_empty": lambda m: m.ones(2).new_empty(3, device="meta"),
    "new_zeros": lambda m: m.empty(2, device="meta").new_zeros((2, 5)),
    "new_ones": lambda m: m.empty(2, device="meta", dtype=m.float16).new_ones(3),
    "to": lambda m: m.ones(2, 3).to("meta"),
    "to_device_kw": lambda m: m.ones(2, 3).to(device="meta", dtype=m.float64),
    "device_object": lambda m: m.zeros(3, device=m.device("meta")),
    "as_tensor": lambda m: m.as_tensor([1.0, 2.0], device="meta"),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_make_meta_tensors(name):
    same_meta(*both(FACTORIES[name]))


def test_repr_shows_size_and_device():
    for make in (
        lambda m: m.empty(2, 3, device="meta"),
        lambda m: m.empty(2, device="meta", dtype=m.int64),
        lambda m: m.empty((), device="meta", requires_grad=True),
        lambda m: m.empty(0, device="meta", dtype=m.bool),
        lambda m: m.nn.Parameter(m.empty(2, device="meta")),
    ):
        e, t = both(make)
        assert repr(e) == repr(t).replace("torch.", "ember.")


def test_values_cannot_be_read():
    m = lambda lib: lib.empty(2, 3, device="meta")  # noqa: E731
    assert "meta" in raises_like(lambda lib: m(lib)[0, 0].item())
    assert "no data" in raises_like(lambda lib: m(lib).tolist())
    assert "meta" in raises_like(lambda lib: m(lib).numpy())
    raises_like(lambda lib: bool(m(lib)[0, 0]))
    raises_like(lambda lib: float(m(lib)[1, 1]))
    raises_like(lambda lib: int(m(lib)[1, 1]))
    raises_like(lambda lib: m(lib).sum().item())
    raises_like(lambda lib: (m(lib) == 0).all().item())
    raises_like(lambda lib: lib.allclose(m(lib), m(lib)))
    assert "no data" in raises_like(lambda lib: m(lib).to("cpu"))
    assert "no data" in raises_like(lambda lib: m(lib).cpu())
    assert "no data" in raises_like(lambda lib: lib.zeros(2, 3).copy_(m(lib)))
    raises_like(lambda lib: m(lib).numel() + m(lib).item())  # several elements: not a scalar


def test_numpy_conversion_is_refused():
    import numpy as np

    with pytest.raises(TypeError, match="meta"):
        np.asarray(ember.empty(2, device="meta"))


OPS = {
    "add_scalar": lambda m, x: x * 2 + 1,
    "int_times_float": lambda m, x: x.long() * 2.5,
    "broadcast": lambda m, x: x + m.ones(3, device="meta"),
    "cpu_scalar_tensor": lambda m, x: x + m.tensor(2.0),
    "compare": lambda m, x: x == x,
    "where": lambda m, x: m.where(x > 0, x, m.zeros((), device="meta")),
    "exp": lambda m, x: x.exp(),
    "relu": lambda m, x: m.nn.functional.relu(x),
    "softmax": lambda m, x: m.softmax(x, dim=-1),
    "matmul": lambda m, x: x @ m.empty(3, 5, device="meta"),
    "bmm_broadcast": lambda m, x: m.matmul(m.empty(4, 2, 3, device="meta"), x.t()),
    "linear": lambda m, x: m.nn.functional.linear(
        x, m.empty(6, 3, device="meta"), m.empty(6, device="meta")
    ),
    "reshape": lambda m, x: x.reshape(3, 2),
    "view": lambda m, x: x.view(-1),
    "permute": lambda m, x: x.unsqueeze(0).permute(2, 0, 1),
    "transpose": lambda m, x: x.transpose(0, 1),
    "transpose_reshape": lambda m, x: x.t().reshape(6),
    "t_contiguous": lambda m, x: x.t().contiguous(),
    "slice": lambda m, x: x[:, 1:],
    "select": lambda m, x: x[1],
    "element": lambda m, x: x[1, 2],
    "index_tensor": lambda m, x: x[m.tensor([0, 1, 1])],
    "expand": lambda m, x: x[:1].expand(4, 3),
    "sum": lambda m, x: x.sum(),
    "sum_dim": lambda m, x: x.sum(1, keepdim=True),
    "mean": lambda m, x: x.mean(0),
    "max_dim": lambda m, x: x.max(dim=1).values,
    "argmax": lambda m, x: x.argmax(1),
    "cat": lambda m, x: m.cat([x, x], 1),
    "stack": lambda m, x: m.stack([x, x]),
    "clone": lambda m, x: x.clone(),
    "cast": lambda m, x: x.to(m.float16),
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (3,)),
    "embedding": lambda m, x: m.nn.functional.embedding(
        m.zeros(4, 7, dtype=m.int64, device="meta"), x
    ),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_on_meta_tensors_give_meta_tensors(name):
    e, t = both(lambda m: OPS[name](m, m.empty(2, 3, device="meta")))
    same_meta(e, t)


def test_gradient_flags_follow_the_graph():
    e, t = both(lambda m: m.empty(2, 3, device="meta", requires_grad=True) * 2)
    same_meta(e, t)
    assert e.grad_fn is not None
    e, t = both(lambda m: m.ones(2, requires_grad=True).to("meta"))
    same_meta(e, t)
    assert e.grad_fn is not None


IN_PLACE = {
    "fill_": lambda m, x: x.fill_(1.5),
    "zero_": lambda m, x: x.zero_(),
    "normal_": lambda m, x: x.normal_(),
    "uniform_": lambda m, x: x.uniform_(-1, 1),
    "copy_": lambda m, x: x.copy_(m.ones(3)),
    "add_": lambda m, x: x.add_(1),
    "mul_": lambda m, x: x.mul_(m.empty(2, 1, device="meta")),
    "masked_fill_": lambda m, x: x.masked_fill_(m.empty(3, device="meta", dtype=m.bool), 0),
    "setitem": lambda m, x: x.__setitem__((0, slice(1, None)), 2.0),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_ops_write_nothing(name):
    def run(m):
        x = m.empty(2, 3, device="meta")
        out = IN_PLACE[name](m, x)
        return x, out

    (ex, eo), (tx, to) = both(run)
    same_meta(ex, tx)
    assert eo is None or eo is ex
    assert ex._version == tx._version


def test_view_needs_compatible_strides():
    msg = raises_like(lambda m: m.empty(2, 3, device="meta").t().view(6))
    assert "view size is not compatible" in msg
    same_meta(*both(lambda m: m.empty(4, 6, device="meta")[:, :3].view(2, 2, 3)))


def test_in_place_shape_errors_are_kept():
    raises_like(lambda m: m.empty(2, 3, device="meta").add_(m.empty(4, device="meta")))
    raises_like(lambda m: m.empty(2, 3, device="meta").copy_(m.ones(3, 3)))


def test_init_functions_are_no_ops():
    def run(m):
        w = m.empty(4, 6, device="meta")
        for init in (
            m.nn.init.kaiming_uniform_, m.nn.init.xavier_normal_, m.nn.init.trunc_normal_,
            m.nn.init.orthogonal_, m.nn.init.eye_, m.nn.init.zeros_, m.nn.init.ones_,
            lambda t: m.nn.init.constant_(t, 0.5), lambda t: m.nn.init.normal_(t, 0, 0.02),
        ):  # fmt: skip
            assert init(w) is w
        return w

    same_meta(*both(run))
    raises_like(lambda m: m.nn.init.eye_(m.empty(2, 3, 4, device="meta")))


def test_linear_on_meta_allocates_nothing():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        layer = enn.Linear(1000, 1000, device="meta")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert layer.weight.is_meta and layer.bias.is_meta
    assert grown < 100_000  # the weight alone would be 4 MB


def test_huge_meta_tensors_take_no_memory():
    def run(m):
        x = m.empty(10**6, 10**6, device="meta")  # 4 TB as float32
        y = (x * 2 + 1).t()[::2].unsqueeze(0).expand(3, -1, -1)
        m.nn.init.kaiming_uniform_(x)
        return y

    same_meta(*both(run))


def test_device_context_sets_the_default_device():
    def run(m):
        seen = []
        with m.device("meta"):
            seen.append(m.empty(3).device.type)
            seen.append(m.tensor([1.0]).device.type)
            seen.append(m.nn.Linear(2, 3).weight.device.type)
            seen.append(m.zeros_like(m.ones(2, device="cpu")).device.type)  # input's device
            seen.append(str(m.get_default_device()))
            with m.device("cpu"):
                seen.append(m.empty(1).device.type)
            seen.append(m.arange(3).device.type)
            seen.append(m.empty(1, device="cpu").device.type)
        seen.append(m.empty(1).device.type)
        try:
            with m.device("meta"):
                raise KeyError("leaving by an exception")
        except KeyError:
            pass
        seen.append(m.empty(1).device.type)
        return seen

    e, t = both(run)
    assert e == t


def test_set_default_device():
    def run(m):
        seen = []
        m.set_default_device("meta")
        try:
            seen += [m.empty(2).device.type, str(m.get_default_device())]
            seen.append(m.nn.Linear(2, 2).weight.device.type)
        finally:
            m.set_default_device(None)
        seen += [m.empty(2).device.type, str(m.get_default_device())]
        return seen

    e, t = both(run)
    assert e == t


def test_cuda_stays_an_error():
    with pytest.raises(AssertionError):
        with ember.device("cuda"):
            pass
    with pytest.raises(AssertionError):
        ember.set_default_device("cuda")


def test_to_empty_gives_cpu_storage():
    def run(m):
        layer = m.nn.Linear(2, 3, device="meta")
        layer.register_buffer("running", m.empty(3, device="meta"))
        layer.bias.requires_grad_(False)
        layer.to_empty(device="cpu")
        return layer

    e, t = both(run)
    for name in ("weight", "bias", "running"):
        ep, tp = getattr(e, name), getattr(t, name)
        assert ep.device.type == tp.device.type == "cpu"
        assert type(ep).__name__ == type(tp).__name__
        assert ep.requires_grad == tp.requires_grad
        assert tuple(ep.shape) == tuple(tp.shape)


def test_to_empty_without_recursing():
    def run(m):
        net = m.nn.Sequential(m.nn.Linear(2, 2, device="meta"))
        net.register_buffer("top", m.empty(2, device="meta"))
        net.to_empty(device="cpu", recurse=False)
        return net.top.device.type, net[0].weight.device.type

    e, t = both(run)
    assert e == t


def test_module_to_cpu_points_to_to_empty():
    msg = raises_like(lambda m: m.nn.Linear(2, 3, device="meta").to("cpu"))
    assert "to_empty" in msg


def test_load_state_dict_assign_keeps_parameter_flags():
    def run(m):
        layer = m.nn.Linear(2, 3, device="meta")
        layer.weight.requires_grad_(False)
        sd = {
            "weight": m.arange(6.0).reshape(3, 2),
            "bias": m.nn.Parameter(m.ones(3), requires_grad=False),
        }
        layer.load_state_dict(sd, assign=True)
        return layer, sd

    (e, esd), (t, tsd) = both(run)
    for name in ("weight", "bias"):
        ep, tp = getattr(e, name), getattr(t, name)
        assert type(ep).__name__ == type(tp).__name__ == "Parameter"
        assert ep.requires_grad == tp.requires_grad
        assert ep.device.type == "cpu"
        assert (ep.data_ptr() == esd[name].data_ptr()) == (tp.data_ptr() == tsd[name].data_ptr())
    assert e.weight.tolist() == t.weight.tolist()


def test_load_state_dict_into_meta_without_assign_warns():
    layer = enn.Linear(2, 3, device="meta")
    with pytest.warns(UserWarning, match="assign=True"):
        layer.load_state_dict({"weight": ember.ones(3, 2), "bias": ember.ones(3)})
    assert layer.weight.is_meta


def test_load_state_dict_from_meta_is_an_error():
    msg = raises_like(
        lambda m: m.nn.Linear(2, 3).load_state_dict(
            {"weight": m.ones(3, 2, device="meta"), "bias": m.ones(3)}
        )
    )
    assert "no data" in msg and "weight" in msg


def test_meta_tensors_pickle_and_deepcopy():
    import copy

    x = ember.empty(2, 3, device="meta", requires_grad=True)
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x)):
        assert y.is_meta and tuple(y.shape) == (2, 3) and y.requires_grad


def test_hand_written_empty_weights_flow():
    """What init_empty_weights-style code does: build on meta through a patched
    register_parameter, then load real weights with assign=True and run the model."""

    def run(m):
        original = m.nn.Module.register_parameter

        def register_on_meta(module, name, param):
            original(module, name, param)
            if param is not None:
                kwargs = {"requires_grad": param.requires_grad}
                module._parameters[name] = type(param)(
                    module._parameters[name].to("meta"), **kwargs
                )

        m.nn.Module.register_parameter = register_on_meta
        try:
            net = m.nn.Sequential(m.nn.Linear(4, 3), m.nn.Tanh(), m.nn.Linear(3, 2))
        finally:
            m.nn.Module.register_parameter = original
        metas = [p.is_meta for p in net.parameters()]
        with m.device("meta"):
            twin = m.nn.Sequential(m.nn.Linear(4, 3), m.nn.Tanh(), m.nn.Linear(3, 2))
        metas += [p.is_meta for p in twin.parameters()]
        sd = {
            k: m.linspace(-1, 1, v.numel()).reshape(tuple(v.shape))
            for k, v in net.state_dict().items()
        }
        net.load_state_dict(sd, assign=True)
        x = m.linspace(-1, 1, 8).reshape(2, 4)
        return metas, net(x)

    (em, ey), (tm, ty) = both(run)
    assert em == tm and all(em)
    assert ey.device.type == "cpu"
    assert ey.detach().numpy().ravel().tolist() == pytest.approx(
        ty.detach().numpy().ravel().tolist(), abs=1e-6
    )
