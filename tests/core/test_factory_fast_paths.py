"""The fast paths of the tensor factories (zeros, ones, empty, full, *_like, arange, tensor,
rand, randn, randint, randperm) give what the general path gives.

A factory takes its fast path for a plain call (no ``out=``, layout or ``requires_grad``, on the
CPU by default or by ``device=ember.device("cpu")``, sizes as Python ints). ``device="cpu"``, a
string, always takes the general path, so a call with it is the reference for the same call
without it. PyTorch is the reference for values, dtypes and errors where ember follows it.
"""

import threading
import warnings

import numpy as np
import pytest
import torch

import ember

SIZE_FORMS = [
    ((2, 3), {}),
    (((2, 3),), {}),
    (([2, 3],), {}),
    ((), {"size": (2, 3)}),
    ((), {"size": [2, 3]}),
    ((torch.Size([2, 3]),), {}),
    ((16,), {}),
    ((0,), {}),
    (((),), {}),
    ((1, 0, 4), {}),
]
SIZE_FORM_IDS = [f"{args}-{kwargs}" for args, kwargs in SIZE_FORMS]


def _ember_args(args, kwargs):
    """The same call for ember: a torch.Size becomes an ember.Size."""
    args = tuple(ember.Size(a) if isinstance(a, torch.Size) else a for a in args)
    return args, kwargs


def _same(e, t):
    """ember tensor ``e`` matches torch tensor ``t`` in shape, dtype and values."""
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def _same_tensor(a, b):
    """Two ember tensors with the same shape, dtype, device, requires_grad and values."""
    assert a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
    assert a.requires_grad == b.requires_grad
    if not a.is_meta:
        np.testing.assert_array_equal(a._data, b._data)


@pytest.fixture
def default_device_reset():
    yield
    ember.set_default_device(None)


# -- zeros, ones, empty, full ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize(("args", "kwargs"), SIZE_FORMS, ids=SIZE_FORM_IDS)
def test_size_forms_match_torch(name, args, kwargs):
    e = getattr(ember, name)(*_ember_args(args, kwargs)[0], **kwargs)
    t = getattr(torch, name)(*args, **kwargs)
    if name == "empty":
        assert tuple(e.shape) == tuple(t.shape) and e.dtype == ember.float32
    else:
        _same(e, t)
    assert not e.requires_grad and e.device == ember.device("cpu")


@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize(
    "dtype",
    ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool", "complex64"],
)
def test_dtypes_match_torch(name, dtype):
    e = getattr(ember, name)(3, 4, dtype=getattr(ember, dtype))
    t = getattr(torch, name)(3, 4, dtype=getattr(torch, dtype))
    assert e.dtype == getattr(ember, dtype)
    if dtype == "bfloat16":  # PyTorch has no NumPy bfloat16
        e, t = e.float(), t.float()
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_default_dtype_is_followed(name):
    try:
        ember.set_default_dtype(ember.float64)
        assert getattr(ember, name)(2, 3).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_negative_and_bad_sizes_raise_as_before(name):
    fn = getattr(ember, name)
    with pytest.raises(
        RuntimeError,
        match=rf"{name}\(\): Trying to create tensor with negative "
        r"dimension -1: \[2, -1\]",
    ):
        fn(2, -1)
    with pytest.raises(RuntimeError, match="negative dimension -2"):
        fn((-2,))
    with pytest.raises(TypeError, match=rf"{name}\(\) got multiple values for argument 'size'"):
        fn(2, size=(3,))
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'size' must be a tuple of ints"):
        fn(None)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'size' must be a tuple of ints"):
        fn("a")
    with pytest.raises(TypeError, match="unknown dtype name"):
        fn(2, dtype="nonsense")


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_non_int_sizes_take_the_general_path(name):
    fn = getattr(ember, name)
    assert fn(np.int64(2), 3).shape == (2, 3)
    assert fn(ember.tensor(4)).shape == (4,)
    for lib in (torch, ember):  # refused as PyTorch refuses them, not truncated
        for args in ((True, 2), (2.5,), (2, 3.0), ()):
            with pytest.raises(TypeError):
                getattr(lib, name)(*args)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_requires_grad_out_layout_device(name):
    fn = getattr(ember, name)
    t = fn(2, 3, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    out = ember.zeros(2, 3)
    r = fn(2, 3, out=out)
    assert r is out
    with pytest.raises(RuntimeError, match="does not match dtype of out"):
        fn(2, 3, out=out, dtype=ember.float64)
    assert fn(2, 3, layout=ember.strided).shape == (2, 3)
    with pytest.raises(NotImplementedError, match="layout=.*sparse_coo"):
        fn(2, 3, layout=ember.sparse_coo)
    with pytest.raises(TypeError, match="argument 'layout' must be"):
        fn(2, 3, layout="strided")
    for device in ("cpu", ember.device("cpu"), "cpu:0"):
        assert fn(2, 3, device=device).device == ember.device("cpu")
    assert fn(2, 3, device="meta").is_meta
    assert fn(2, 3, device=ember.device("meta")).is_meta
    with pytest.raises(AssertionError, match="no GPU backend"):
        fn(2, 3, device="cuda")
    with pytest.raises(RuntimeError, match="device index 0"):
        fn(2, 3, device=0)


def test_integer_tensor_cannot_require_grad():
    for make in (
        lambda: ember.zeros(2, dtype=ember.long, requires_grad=True),
        lambda: ember.arange(3, requires_grad=True),
    ):
        with pytest.raises(RuntimeError, match="floating point and complex dtype can require"):
            make()


@pytest.mark.parametrize(
    "value", [2.0, -0.5, 7, 0, -3, True, False, 1e300, float("nan"), float("inf"), 2**40]
)
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "float16", "int64", "int32", "bool"])
def test_full_matches_general_path(value, dtype):
    """Values, dtype, warnings and errors, for the values ``ndarray.fill`` is used for and for
    those it must not be (a float into an integer array, a bool, ...)."""
    dt = None if dtype is None else getattr(ember, dtype)

    def call(**kw):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                r = ember.full((2, 3), value, dtype=dt, **kw)
            except Exception as e:  # noqa: BLE001 - the error itself is compared
                return type(e), str(e), None
        return r.dtype, r._data.tobytes(), [str(w.message) for w in caught]

    assert call() == call(device="cpu")


@pytest.mark.parametrize("value", [2.0, 7, True, -1.5])
@pytest.mark.parametrize("size", [(8, 16), [2, 3], (), (0,), torch.Size([4])])
def test_full_matches_torch(value, size):
    esize = ember.Size(size) if isinstance(size, torch.Size) else size
    _same(ember.full(esize, value), torch.full(size, value))
    _same(
        ember.full(esize, value, dtype=ember.float64), torch.full(size, value, dtype=torch.float64)
    )


def test_full_tensor_value_and_errors():
    _same(ember.full((2,), ember.tensor(3)), torch.full((2,), 3))
    _same(ember.full((2,), ember.tensor(1.5)), torch.full((2,), 1.5))
    with pytest.raises(TypeError, match="expected a number"):
        ember.full((2,), "x")
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.full((-1,), 1.0)
    assert ember.full((2,), 1.0, requires_grad=True).requires_grad
    assert ember.full((2,), 1.0, device="meta").is_meta


# -- *_like ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_matches_general_path(name):
    fn = getattr(ember, name)
    for x in (
        ember.randn(3, 4),
        ember.arange(5),
        ember.ones(2, dtype=ember.bfloat16),
        ember.nn.Parameter(ember.randn(2, 2)),
    ):
        r = fn(x)
        ref = fn(x, device="cpu")
        assert r.shape == x.shape and r.dtype == x.dtype and not r.requires_grad
        if name != "empty_like":
            _same_tensor(r, ref)
    x = ember.randn(3, 4)
    assert fn(x, dtype=ember.float64).dtype == ember.float64
    assert fn(x, requires_grad=True).requires_grad
    assert fn(x.to("meta")).is_meta
    assert fn(x, device="meta").is_meta
    with pytest.raises(NotImplementedError, match="layout"):
        fn(x, layout=ember.sparse_coo)


def test_like_values_match_torch():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    _same(ember.zeros_like(ember.tensor(x)), torch.zeros_like(torch.tensor(x)))
    _same(ember.ones_like(ember.tensor(x)), torch.ones_like(torch.tensor(x)))
    _same(ember.ones_like(ember.tensor([1, 2])), torch.ones_like(torch.tensor([1, 2])))


# -- meta and the default device ---------------------------------------------------------------

META_CALLS = {
    "zeros": lambda: ember.zeros(2, 3),
    "ones": lambda: ember.ones((2, 3)),
    "empty": lambda: ember.empty(size=(2, 3)),
    "full": lambda: ember.full((2, 3), 1.5),
    "arange": lambda: ember.arange(0, 6, dtype=ember.long),
    "rand": lambda: ember.rand(2, 3),
    "randn": lambda: ember.randn(2, 3),
    "randint": lambda: ember.randint(0, 10, (1,)),
    "randperm": lambda: ember.randperm(6),
    "tensor": lambda: ember.tensor([1, 2, 3]),
}


@pytest.mark.parametrize("name", list(META_CALLS))
def test_with_device_meta_block(name):
    with ember.device("meta"):
        assert META_CALLS[name]().is_meta
        with ember.device("cpu"):
            assert not META_CALLS[name]().is_meta
        assert META_CALLS[name]().is_meta
    assert not META_CALLS[name]().is_meta


@pytest.mark.parametrize("name", list(META_CALLS))
def test_set_default_device_meta(name, default_device_reset):
    ember.set_default_device("meta")
    assert META_CALLS[name]().is_meta
    assert ember.get_default_device() == ember.device("meta")
    ember.set_default_device(None)
    assert not META_CALLS[name]().is_meta
    assert ember.get_default_device() == ember.device("cpu")


def test_meta_draw_leaves_the_stream_alone():
    ember.manual_seed(3)
    expected = ember.rand(4)
    ember.manual_seed(3)
    with ember.device("meta"):
        ember.rand(4)
        ember.randn(4)
    assert ember.rand(4).tolist() == expected.tolist()


def test_explicit_cpu_device_inside_meta_block():
    with ember.device("meta"):
        assert not ember.zeros(2, device=ember.device("cpu")).is_meta
        assert not ember.arange(3, device="cpu").is_meta
        assert not ember.zeros_like(ember.ones(2, device="cpu")).is_meta


def test_default_device_is_per_thread(default_device_reset):
    ember.set_default_device("meta")
    seen = {}

    def worker():
        seen["default"] = ember.get_default_device()
        seen["zeros"] = ember.zeros(2).is_meta
        with ember.device("meta"):
            seen["inner"] = ember.zeros(2).is_meta
        seen["after"] = ember.zeros(2).is_meta

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == {"default": ember.device("cpu"), "zeros": False, "inner": True, "after": False}
    assert ember.zeros(2).is_meta


def test_tensor_factory_paths():
    _same(
        ember.tensor([1, 2, 3, 4, 5], dtype=ember.long),
        torch.tensor([1, 2, 3, 4, 5], dtype=torch.long),
    )
    _same(ember.tensor([1.5, 2]), torch.tensor([1.5, 2]))
    assert ember.tensor([1.0], requires_grad=True).requires_grad
    assert ember.tensor([1.0], device="meta").is_meta
    assert not ember.tensor([1.0], device=ember.device("cpu")).is_meta
    with pytest.raises(AssertionError, match="no GPU backend"):
        ember.tensor([1.0], device="cuda")
    with pytest.raises(TypeError, match="expected a device"):
        ember.tensor([1.0], device=1.5)


# -- arange ------------------------------------------------------------------------------------

ARANGE_ARGS = [
    (16,),
    (0,),
    (0, 16),
    (3, 16),
    (0, 16, 3),
    (16, 0, -3),
    (-5, 5),
    (5, 5),
    (5, 5, -1),
    (0, 1, 0.1),
    (0.5, 4),
    (0, 4.0),
    (1.0,),
    (0, 10, 2.5),
    (-1, -10, -1),
    (2**40, 2**40 + 7),
    (0, 2**53 + 10, 2**52),
]
ARANGE_DTYPES = [
    None,
    "int64",
    "int32",
    "int16",
    "uint8",
    "float32",
    "float64",
    "float16",
    "bfloat16",
]


@pytest.mark.parametrize("args", ARANGE_ARGS, ids=str)
@pytest.mark.parametrize("dtype", ARANGE_DTYPES)
def test_arange_matches_torch_and_general_path(args, dtype):
    kw = {} if dtype is None else {"dtype": getattr(ember, dtype)}
    e = ember.arange(*args, **kw)
    _same_tensor(e, ember.arange(*args, device="cpu", **kw))
    ints = all(isinstance(a, int) for a in args)
    if dtype in ("int64", "int32", "int16", "uint8") and not ints:
        return  # float bounds and an integer dtype: ember's values are not PyTorch's (known)
    if dtype == "uint8" and min(args) < 0:
        return  # PyTorch refuses negative values for uint8 here
    t = torch.arange(*args, **({} if dtype is None else {"dtype": getattr(torch, dtype)}))
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    if max(abs(a) for a in args) < 2**24 or dtype in (None, "int64", "float64"):
        np.testing.assert_array_equal(e.double().numpy(), t.double().numpy())


def test_arange_point_one_steps_keep_their_length_and_values():
    e = ember.arange(0, 1, 0.1)
    assert e.shape == (10,) and e.dtype == ember.float32
    np.testing.assert_array_equal(e.numpy(), torch.arange(0, 1, 0.1).numpy())
    assert ember.arange(0, 1, 0.1, dtype=ember.float64).shape == (10,)


def test_arange_random_int_ranges_match_general_path():
    rng = np.random.default_rng(0)
    for _ in range(300):
        scale = int(10 ** rng.integers(0, 16))
        start, end = (int(v) for v in rng.integers(-scale, scale + 1, 2))
        step = int(rng.integers(1, max(abs(end - start) // 3, 1) + 1)) * (1 if end >= start else -1)
        for dtype in (None, ember.int32, ember.float32, ember.float64):
            kw = {} if dtype is None else {"dtype": dtype}
            _same_tensor(
                ember.arange(start, end, step, **kw),
                ember.arange(start, end, step, device="cpu", **kw),
            )


@pytest.mark.parametrize("bound", [ember.tensor(5), ember.tensor(5.0), np.int64(5), np.float32(5)])
def test_arange_other_bounds(bound):
    tb = torch.tensor(bound.item()) if isinstance(bound, ember.Tensor) else bound
    _same(ember.arange(bound), torch.arange(tb))
    _same(ember.arange(1, bound), torch.arange(1, tb))


def test_arange_errors_and_options():
    for args in ((0, 5, 0), (5, 0, 0)):
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            ember.arange(*args)
    for args in ((0, 5, -1), (5, 0, 1), (0.0, 5, -1)):
        with pytest.raises(RuntimeError, match="upper bound and larger bound inconsistent"):
            ember.arange(*args)
    for dtype in (ember.bool, ember.complex64):
        with pytest.raises(NotImplementedError, match="arange: not implemented for dtype"):
            ember.arange(5, dtype=dtype)
    with pytest.raises(TypeError, match="unknown dtype name"):
        ember.arange(5, dtype="nonsense")
    out = ember.zeros(4, dtype=ember.long)
    assert ember.arange(4, out=out) is out and out.tolist() == [0, 1, 2, 3]
    assert ember.arange(4.0, requires_grad=True).requires_grad
    assert ember.arange(4, device="meta").is_meta
    with pytest.raises(NotImplementedError, match="layout"):
        ember.arange(4, layout=ember.sparse_coo)
    with pytest.raises(AssertionError, match="no GPU backend"):
        ember.arange(4, device="cuda")
    assert ember.arange(2**62, 2**62 + 3).tolist() == [2**62, 2**62 + 1, 2**62 + 2]


# -- random streams ----------------------------------------------------------------------------

DRAWS = {
    "rand": lambda **kw: ember.rand(8, 16, **kw),
    "rand_size": lambda **kw: ember.rand(size=(3,), **kw),
    "rand64": lambda **kw: ember.rand(5, dtype=ember.float64, **kw),
    "rand16": lambda **kw: ember.rand(5, dtype=ember.float16, **kw),
    "randn": lambda **kw: ember.randn(8, 16, **kw),
    "randn64": lambda **kw: ember.randn((4, 4), dtype=ember.float64, **kw),
    "randn_bf16": lambda **kw: ember.randn(5, dtype=ember.bfloat16, **kw),
    "randn_scalar": lambda **kw: ember.randn((), **kw),
    "randint1": lambda **kw: ember.randint(0, 10, (1,), **kw),
    "randint_high": lambda **kw: ember.randint(10, (1,), **kw),
    "randint_big": lambda **kw: ember.randint(-(2**40), 2**40, (1,), **kw),
    "randint_2_32": lambda **kw: ember.randint(0, 2**32 + 3, (1,), **kw),
    "randint_one_value": lambda **kw: ember.randint(4, 5, (1,), **kw),
    "randint_many": lambda **kw: ember.randint(0, 27, (64,), **kw),
    "randint_2d": lambda **kw: ember.randint(-3, 3, (4, 5), dtype=ember.int64, **kw),
    "randint_int32": lambda **kw: ember.randint(0, 9, (3,), dtype=ember.int32, **kw),
    "randint_np_bound": lambda **kw: ember.randint(np.int64(0), 9, (1,), **kw),
    "randperm": lambda **kw: ember.randperm(32, **kw),
    "randperm_int32": lambda **kw: ember.randperm(7, dtype=ember.int32, **kw),
    "randperm_zero": lambda **kw: ember.randperm(0, **kw),
}


def _drawn_twice(draw, **kw):
    """Two draws in a row: the second shows that the first left the stream where it should."""
    return draw(**kw), draw(**kw)


@pytest.mark.parametrize("name", list(DRAWS))
@pytest.mark.parametrize("seed", [0, 1234])
def test_seeded_streams_match_across_paths(name, seed):
    draw = DRAWS[name]
    ember.manual_seed(seed)
    fast = _drawn_twice(draw)
    ember.manual_seed(seed)
    general = _drawn_twice(draw, device="cpu")
    gen = ember.Generator().manual_seed(seed)
    with_generator = _drawn_twice(draw, generator=gen)
    gen = ember.Generator().manual_seed(seed)
    with_generator_general = _drawn_twice(draw, generator=gen, device="cpu")
    for other in (general, with_generator, with_generator_general):
        for a, b in zip(fast, other, strict=True):
            _same_tensor(a, b)


@pytest.mark.parametrize("seed", [0, 99])
def test_seeded_streams_are_numpys(seed):
    """The values a seed gives are NumPy's PCG64 draws, as before the fast paths."""
    ember.manual_seed(seed)
    rng = np.random.default_rng(seed)
    np.testing.assert_array_equal(ember.rand(8, 16).numpy(), rng.random((8, 16)).astype(np.float32))
    np.testing.assert_array_equal(
        ember.randn(8, 16).numpy(), rng.standard_normal((8, 16), dtype=np.float32)
    )
    for low, high in ((0, 10), (-5, 5), (0, 2**33), (7, 8)):
        expected = rng.integers(low, high, size=(1,), dtype=np.int64)
        np.testing.assert_array_equal(ember.randint(low, high, (1,)).numpy(), expected)
    np.testing.assert_array_equal(
        ember.randint(0, 27, (12,)).numpy(), rng.integers(0, 27, size=(12,), dtype=np.int64)
    )
    np.testing.assert_array_equal(ember.randperm(32).numpy(), rng.permutation(32))
    assert ember.rand(1).item() == np.float32(rng.random())


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_dtype_errors(name):
    fn = getattr(ember, name)
    with pytest.raises(NotImplementedError, match=rf"{name}: samples cannot have dtype"):
        fn(2, dtype=ember.long)
    with pytest.raises(NotImplementedError, match=rf"{name}: samples cannot have dtype"):
        fn(-1, dtype=ember.long)  # the dtype is refused before the size


def test_randint_forms_and_errors():
    assert ember.randint(10, (3,)).shape == (3,)
    assert ember.randint(0, 10, size=(2, 2)).shape == (2, 2)
    assert ember.randint(0, 10, (1,)).dtype == ember.int64
    assert ember.randint(0, 10, (1,), dtype=ember.int32).dtype == ember.int32
    assert ember.randint(0, 10, ember.Size([1])).shape == (1,)
    assert ember.randint(0, 10, [1]).shape == (1,)
    for low, high in ((5, 5), (6, 5)):
        with pytest.raises(RuntimeError, match=f"from={low} >= to={high}"):
            ember.randint(low, high, (1,))
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.randint(0, 5, (-1,))
    with pytest.raises(NotImplementedError, match="randint: not implemented for dtype"):
        ember.randint(0, 5, (1,), dtype=ember.complex64)
    out = ember.zeros(3, dtype=ember.long)
    assert ember.randint(0, 5, (3,), out=out) is out
    assert ember.randint(0, 5, (1,), device="meta").is_meta
    with pytest.raises(AssertionError, match="no GPU backend"):
        ember.randint(0, 5, (1,), device="cuda")


def test_randperm_options():
    assert sorted(ember.randperm(10).tolist()) == list(range(10))
    assert ember.randperm(5).dtype == ember.int64
    assert ember.randperm(5, dtype=ember.float32).dtype == ember.float32
    with pytest.raises(NotImplementedError, match="randperm: not implemented for dtype"):
        ember.randperm(5, dtype=ember.bool)
    assert ember.randperm(5, device="meta").is_meta
    out = ember.zeros(4, dtype=ember.long)
    assert ember.randperm(4, out=out) is out


@pytest.mark.parametrize("n", [-1, 2.5, True, "3"])
def test_randperm_refuses_what_torch_refuses(n):
    for lib in (torch, ember):
        with pytest.raises((TypeError, RuntimeError)) as caught:
            lib.randperm(n)
        if lib is torch:
            kind = caught.type
    with pytest.raises(kind):
        ember.randperm(n)


@pytest.mark.parametrize("n", [0, 5, np.int64(4)])
def test_randperm_lengths_and_tensor_n(n):
    assert sorted(ember.randperm(n).tolist()) == list(range(int(n)))
    assert sorted(ember.randperm(ember.tensor(3)).tolist()) == [0, 1, 2]
