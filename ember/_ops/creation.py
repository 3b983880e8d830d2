"""Factories (tensor, zeros, arange, ...), random sampling, and dtype conversions."""

import builtins
import warnings

import numpy as np

from ember import _dtype
from ember._device import CPU, META, get_default_device, resolve_device
from ember._layout import check_layout
from ember._legacy_tensor_types import LegacyTensorType
from ember._meta import COPY_OUT, MetaArray, meta_array
from ember._ops._promotion import maybe_out, torch_type_name, zeros_like_t
from ember._ops._util import int_sizes, shape_arg
from ember._ops.comparison import where
from ember._ops.tensor_storage import storage_as_tensor
from ember._ops.typed_storage import is_storage
from ember._random import np_generator
from ember._tensor import Tensor, _array_from, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import inplace

_DRAW_CHUNK = 1 << 20  # float64 values drawn per copy into a large tensor

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full", "arange",
    "range", "linspace", "logspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like",
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like", "normal",
    "bernoulli", "multinomial", "poisson", "is_tensor", "is_floating_point", "is_complex",
    "numel", "tril_indices", "triu_indices", "scalar_tensor", "empty_strided", "frombuffer",
]  # fmt: skip


def _finish(arr, requires_grad=False, device=None, out=None):
    """The new tensor on ``device`` (None: the default device), or ``out`` holding its values
    when given."""
    if resolve_device(device, "creating a tensor") is META and not isinstance(arr, MetaArray):
        arr = meta_array(arr.shape, arr.dtype)
    t = wrap(arr)
    if out is not None:
        return maybe_out(t, out)
    if requires_grad:
        t.requires_grad = True
    return t


def _dt(dtype):
    return _dtype.to_dtype(dtype).np


def _plain(out, layout, device, requires_grad):
    """Whether a factory call may take its fast path: no ``out=``, layout or ``requires_grad``,
    and a CPU tensor, by default or by ``device=ember.device("cpu")``. Anything else (a device
    string, the meta device, cuda) goes through the general path and its checks."""
    return (
        out is None
        and layout is None
        and not requires_grad
        and (device is CPU or (device is None and get_default_device() is CPU))
    )


def _plain_shape(args, size=None):
    """The shape of ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))`` when it is non-negative
    Python ints, else None: ``_shape`` converts and checks everything else (tensors, NumPy
    ints, negative sizes) and raises its errors."""
    if size is not None:
        if args:
            return None
        args = (size,)
    elif not args:
        return None
    shape = int_sizes(args)
    if shape is None or (shape and min(shape) < 0):
        return None
    return shape


def _on_meta(device):
    """Whether a factory given ``device`` makes a meta tensor (then it allocates nothing)."""
    return resolve_device(device, "creating a tensor") is META


def _made_dtype(dtype, out, op):
    """The dtype a factory makes: ``dtype``, else ``out``'s, as PyTorch fills ``out`` in its own
    dtype; the two must agree when both are given."""
    if out is None:
        return dtype
    if dtype is None:
        return out.dtype
    if _dtype.to_dtype(dtype) is not out.dtype:
        raise RuntimeError(
            f"{op}: dtype {torch_type_name(_dtype.to_dtype(dtype))} does not match dtype of out "
            f"parameter ({torch_type_name(out.dtype)})"
        )
    return dtype


def _refuse_dtypes(dtype, op, names):
    """Refuse a ``dtype`` named in ``names``: the op has no values of that kind to make."""
    if dtype is not None and _dtype.to_dtype(dtype).name in names:
        raise NotImplementedError(
            f"{op}: not implemented for dtype {torch_type_name(_dtype.to_dtype(dtype))}"
        )


def _floating_samples(dtype, op):
    """``dtype`` (None: the default), refused unless floating or complex: samples of a
    continuous distribution cannot be integers."""
    dt = _dtype.to_dtype(dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise NotImplementedError(f"{op}: samples cannot have dtype {torch_type_name(dt)}")
    return dt


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data``, with PyTorch's dtype inference."""
    dt = None if dtype is None else _dtype.to_dtype(dtype)
    if _plain(None, None, device, requires_grad):
        return wrap(_array_from(data, dt))
    return _finish(_array_from(data, dt), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with a NumPy array or tensor where it can."""
    if resolve_device(device, "as_tensor") is META:
        if isinstance(data, Tensor):
            return data.to(device=META, dtype=dtype)
        return tensor(data, dtype=dtype, device=META)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        dt = _dtype.from_np(data.dtype).np if dtype is None else _dt(dtype)
        return wrap(data.astype(dt, copy=False))
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """``obj`` as a tensor, sharing memory with a tensor or NumPy array where it can;
    ``copy=True`` always copies, ``copy=False`` refuses where a copy would be needed. A storage
    is read as ``dtype`` (uint8 for an UntypedStorage, its own for a TypedStorage)."""
    if is_storage(obj):
        obj = storage_as_tensor(obj, dtype)
    t = as_tensor(obj, dtype=dtype, device=device)
    src = obj._data if isinstance(obj, Tensor) else obj
    shares = isinstance(src, np.ndarray) and np.shares_memory(t._data, src)
    if copy is False and not shares:
        raise ValueError(f"asarray(): copy=False, but {type(obj).__name__} needs a copy here")
    if copy and shares:
        t = wrap(t._data.copy())
    if requires_grad:
        t = t.detach() if t is obj else t
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    try:
        _dtype.from_np(ndarray.dtype)
    except TypeError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{ndarray.dtype}. The only supported types "
            "are: float64, float32, float16, complex64, int64, int32, int16, int8, uint8, and "
            "bool."
        ) from None
    return wrap(ndarray)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-d tensor over ``count`` elements of ``buffer`` from byte ``offset``, sharing its
    memory (its storage is exactly those bytes). A read-only buffer is copied, with a warning."""
    try:
        view = memoryview(buffer).cast("B")
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    size, item = view.nbytes, _dtype.to_dtype(dtype).itemsize
    if size == 0 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if not 0 <= offset < size:
        raise ValueError(
            f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
            f"({size} bytes) minus 1"
        )
    if count < 0 and (size - offset) % item:
        raise ValueError(
            f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
            f"multiple of element size ({item})"
        )
    if count > 0 and offset + count * item > size:
        raise ValueError(
            f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) "
            f"must not be greater than actual buffer length ({size} bytes)"
        )
    if view.readonly:
        warnings.warn(
            "frombuffer: the given buffer is not writable; ember copies it (writes to the "
            "tensor will not reach the buffer). Make the buffer writable (a bytearray) to share "
            "its memory.",
            UserWarning,
            stacklevel=2,
        )
        view = memoryview(bytearray(view))
    return _finish(np.frombuffer(view, _dt(dtype), count, offset), requires_grad)


def _shape(args, size, op):
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``, checked non-negative."""
    if size is not None:
        if args:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        args = (size,)
    elif not args:
        raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
    shape = shape_arg(args, op)
    if any(s < 0 for s in shape):
        raise RuntimeError(
            f"{op}(): Trying to create tensor with negative dimension {builtins.min(shape)}: "
            f"{list(shape)}"
        )
    return shape


def _ones(shape, dt):
    """``np.ones(shape, dt)``, quicker: ``np.ones`` copies a 1 into an empty array, ``fill``
    stores the same 1 without ``copyto``'s overhead."""
    arr = np.empty(shape, dt)
    arr.fill(1)
    return arr


def _factory(name, np_fn):
    def make(*args, size=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False, memory_format=None,
             generator=None):  # fmt: skip
        if _plain(out, layout, device, requires_grad):
            shape = _plain_shape(args, size)
            if shape is not None:
                return wrap(np_fn(shape, _dt(dtype)))
        check_layout(layout, name)
        dtype = _made_dtype(dtype, out, name)
        shape = _shape(args, size, name)
        make = meta_array if _on_meta(device) else np_fn
        return _finish(make(shape, _dt(dtype)), requires_grad, device, out)

    make.__name__ = make.__qualname__ = name
    return make


zeros = _factory("zeros", np.zeros)
ones = _factory("ones", _ones)
empty = _factory("empty", np.empty)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):  # fmt: skip
    return empty(size, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):  # fmt: skip
    if _plain(out, layout, device, requires_grad) and not isinstance(fill_value, Tensor):
        shape = _plain_shape((), size)
        if shape is not None:
            if dtype is None:
                dtype = _dtype.category_default(_dtype.scalar_category(fill_value))
            return wrap(_filled(shape, fill_value, _dt(dtype)))
    check_layout(layout, "full")
    dtype = _made_dtype(dtype, out, "full")
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = _dtype.category_default(_dtype.scalar_category(fill_value))
    shape = _shape((), size, "full")
    if _on_meta(device):
        return _finish(meta_array(shape, _dt(dtype)), requires_grad, device, out)
    return _finish(np.full(shape, fill_value, _dt(dtype)), requires_grad, device, out)


def _filled(shape, value, dt):
    """``np.full(shape, value, dt)``, quicker through ``ndarray.fill`` where that stores the same
    values with the same warnings and errors: a Python float in a NumPy float array, a Python
    int in an int64 one (``fill`` differs from ``np.full``'s ``copyto`` in other cases, e.g. a
    float NaN into an integer array raises instead of warning)."""
    if (value.__class__ is float and dt.kind == "f") or (
        value.__class__ is int and dt is _dtype.int64.np
    ):
        arr = np.empty(shape, dt)
        arr.fill(value)
        return arr
    return np.full(shape, value, dt)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):  # fmt: skip
    check_layout(layout, "scalar_tensor")
    return _finish(np.asarray(s, _dt(dtype)), requires_grad, device)


def _like(fn, np_fn):
    def make(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
             layout=None, pin_memory=False):  # fmt: skip
        if dtype is None and _plain_like(input, device, layout, requires_grad):
            return wrap(np_fn(input._data.shape, input.dtype.np))
        return fn(input.shape, dtype=dtype or input.dtype, layout=layout,
                  requires_grad=requires_grad,
                  device=input.device if device is None else device)  # fmt: skip

    make.__name__ = fn.__name__ + "_like"
    return make


def _plain_like(input, device, layout, requires_grad):
    """Whether a ``*_like`` call makes a plain CPU tensor like the CPU tensor ``input``."""
    return (
        device is None
        and layout is None
        and not requires_grad
        and isinstance(input, Tensor)
        and input._data.__class__ is np.ndarray
    )


zeros_like = _like(zeros, np.zeros)
ones_like = _like(ones, _ones)
empty_like = _like(empty, np.empty)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, pin_memory=False):  # fmt: skip
    return full(input.shape, fill_value, dtype=dtype or input.dtype, layout=layout,
                requires_grad=requires_grad,
                device=input.device if device is None else device)  # fmt: skip


def arange(start, end=None, step=1, *, out=None, dtype=None, device=None, requires_grad=False,
           layout=None, pin_memory=False):  # fmt: skip
    """Values from ``start`` to ``end`` (exclusive); integer arguments give int64."""
    if end is None:
        start, end = 0, start
    if _plain(out, layout, device, requires_grad) and _exact_int_range(start, end, step):
        dt = _dtype.int64.np if dtype is None else _dt(dtype)
        if dt.kind in "iuf":
            values = np.arange(start, end, step, np.int64 if dt.kind in "iu" else np.float64)
            return wrap(values.astype(dt, copy=False))
    check_layout(layout, "arange")
    dtype = _made_dtype(dtype, out, "arange")
    _refuse_dtypes(dtype, "arange", ("bool", "complex64", "complex128"))
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_int = builtins.all(isinstance(v, int | np.integer) for v in vals)
        dtype = _dtype.int64 if is_int else _dtype.get_default_dtype()
    dt = _dt(dtype)
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(builtins.max(n, 0), dtype=np.float64) * vals[2]).astype(dt)
    if dt.kind in "iu":
        arr = (vals[0] + np.arange(builtins.max(n, 0), dtype=np.int64) * vals[2]).astype(dt)
    return _finish(arr, requires_grad, device, out)


_EXACT = 2**53  # ints below this in size are exact in float64 and fit in int64


def _exact_int_range(start, end, step):
    """Whether ``np.arange(start, end, step)`` in int64 or float64 gives the general path's
    values (``start + i * step``, computed once in float64 and again in int64 for integer
    dtypes): Python ints small enough for both to be exact, with a step that reaches ``end``
    (the general path raises for the others)."""
    return (
        start.__class__ is int
        and end.__class__ is int
        and step.__class__ is int
        and -_EXACT < start < _EXACT
        and -_EXACT < end < _EXACT
        and 0 < (step if end >= start else -step) < _EXACT
    )


def range(start=0, end=None, step=1, *, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):  # fmt: skip
    """Deprecated inclusive range (as ``torch.range``)."""
    check_layout(layout, "range")
    if end is None:
        start, end = 0, start
    dt = _dt(dtype)
    n = int(np.floor((end - start) / step)) + 1
    return _finish((start + np.arange(n) * step).astype(dt), requires_grad, device)


def linspace(start, end, steps, *, out=None, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):  # fmt: skip
    check_layout(layout, "linspace")
    dtype = _made_dtype(dtype, out, "linspace")
    _refuse_dtypes(dtype, "linspace", ("bool",))
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    arr = np.linspace(float(start), float(end), steps, dtype=np.float64).astype(_dt(dtype))
    return _finish(arr, requires_grad, device, out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):  # fmt: skip
    check_layout(layout, "logspace")
    dtype = _made_dtype(dtype, out, "logspace")
    _refuse_dtypes(dtype, "logspace", ("bool",))
    arr = np.logspace(float(start), float(end), steps, base=base).astype(_dt(dtype))
    return _finish(arr, requires_grad, device, out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):  # fmt: skip
    check_layout(layout, "eye")
    dtype = _made_dtype(dtype, out, "eye")
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device, out)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):  # fmt: skip
    check_layout(layout, "tril_indices")
    resolve_device(device, "tril_indices")
    r, c = np.tril_indices(row, offset, col)
    return wrap(np.stack([r, c]).astype(_dt(dtype or _dtype.int64)))


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):  # fmt: skip
    check_layout(layout, "triu_indices")
    resolve_device(device, "triu_indices")
    r, c = np.triu_indices(row, offset, col)
    return wrap(np.stack([r, c]).astype(_dt(dtype or _dtype.int64)))


# -- random ----------------------------------------------------------------------------------


def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):  # fmt: skip
    """Uniform samples on [0, 1)."""
    if _plain(out, layout, device, requires_grad):
        shape = _plain_shape(args, size)
        if shape is not None:
            dt = _floating_samples(dtype, "rand").np
            return wrap(_uniform(np_generator(generator), shape, dt))
    check_layout(layout, "rand")
    dtype = _floating_samples(_made_dtype(dtype, out, "rand"), "rand")
    shape = _shape(args, size, "rand")
    if _on_meta(device):  # no draw: the generator's state stays as it is
        return _finish(meta_array(shape, _dt(dtype)), requires_grad, device, out)
    return _finish(_uniform(np_generator(generator), shape, _dt(dtype)), requires_grad, device, out)


def _uniform(gen, shape, dt):
    """``rand``'s values: float64 draws (what fixes a seed's values) cast to ``dt``."""
    return gen.random(shape, dtype=np.float64).astype(dt, copy=False)


def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):  # fmt: skip
    """Standard normal samples."""
    if _plain(out, layout, device, requires_grad):
        shape = _plain_shape(args, size)
        if shape is not None:
            dt = _floating_samples(dtype, "randn").np
            return wrap(_normal(np_generator(generator), shape, dt))
    check_layout(layout, "randn")
    dtype = _floating_samples(_made_dtype(dtype, out, "randn"), "randn")
    shape = _shape(args, size, "randn")
    if _on_meta(device):
        return _finish(meta_array(shape, _dt(dtype)), requires_grad, device, out)
    return _finish(_normal(np_generator(generator), shape, _dt(dtype)), requires_grad, device, out)


def _normal(gen, shape, dt):
    """``randn``'s values: drawn in ``dt`` where NumPy can (float32, float64; each gives its own
    stream), else drawn in float64 and cast."""
    if dt.char in "fd":  # float32, float64
        return gen.standard_normal(shape, dtype=dt)
    return gen.standard_normal(shape).astype(dt)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):  # fmt: skip
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if (dtype is None or dtype is _dtype.int64) and _plain(out, layout, device, requires_grad):
        shape = _plain_shape((), size)
        if shape is not None and low.__class__ is int and high.__class__ is int and low < high:
            return wrap(_integers(np_generator(generator), low, high, shape))
    check_layout(layout, "randint")
    dtype = _made_dtype(dtype, out, "randint")
    _refuse_dtypes(dtype, "randint", ("complex64", "complex128"))
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )  # noqa: E501
    shape = _shape((), size, "randint")
    if _on_meta(device):
        return _finish(meta_array(shape, _dt(dtype or _dtype.int64)), requires_grad, device, out)
    arr = np_generator(generator).integers(low, high, size=shape, dtype=np.int64)
    return _finish(arr.astype(_dt(dtype or _dtype.int64)), requires_grad, device, out)


def _integers(gen, low, high, shape):
    """``gen.integers(low, high, size=shape, dtype=np.int64)``, for Python int bounds. One value
    is drawn without a size: NumPy gives the same value (and leaves the same state) several
    times quicker, as its sized path spends microseconds in ``np.prod(size)``."""
    if shape == (1,):
        arr = np.empty(1, np.int64)
        arr[0] = gen.integers(low, high, dtype=np.int64)
        return arr
    return gen.integers(low, high, size=shape, dtype=np.int64)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):  # fmt: skip
    plain_int64 = dtype is None or dtype is _dtype.int64
    if n.__class__ is int and n >= 0 and plain_int64 and _plain(out, layout, device, requires_grad):
        return wrap(np_generator(generator).permutation(n).astype(np.int64, copy=False))
    check_layout(layout, "randperm")
    dtype = _made_dtype(dtype, out, "randperm")
    _refuse_dtypes(dtype, "randperm", ("bool", "complex64", "complex128"))
    n = _permutation_length(n)
    arr = np_generator(generator).permutation(n).astype(_dt(dtype or _dtype.int64))
    return _finish(arr, requires_grad, device, out)


def _permutation_length(n):
    """``randperm``'s ``n`` as an int: a Python or NumPy int, or a tensor holding one."""
    if isinstance(n, Tensor) and n._data.size == 1 and n._data.dtype.kind in "iu":
        n = n.item()
    if n.__class__ is bool or not isinstance(n, int | np.integer):
        raise TypeError(
            f"randperm(): argument 'n' (position 1) must be int, not {type(n).__name__}"
        )
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    return int(n)


def _random_like(fn):
    def make(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
             layout=None, pin_memory=False, generator=None):  # fmt: skip
        return fn(input.shape, dtype=dtype or input.dtype, layout=layout,
                  requires_grad=requires_grad, device=input.device if device is None else device,
                  generator=generator)  # fmt: skip

    make.__name__ = fn.__name__ + "_like"
    return make


rand_like = _random_like(rand)
randn_like = _random_like(randn)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 memory_format=None, layout=None, pin_memory=False, generator=None):  # fmt: skip
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, layout=layout,
                   device=input.device if device is None else device,
                   requires_grad=requires_grad, generator=generator)  # fmt: skip


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False):  # fmt: skip
    """Normal samples; ``mean`` and ``std`` may be tensors (broadcast together)."""
    check_layout(layout, "normal")
    gen = np_generator(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        dt = (mean if isinstance(mean, Tensor) else std)._data.dtype
        return _finish((m + s * gen.standard_normal(shape)).astype(dt), False, device, out)
    dtype = _floating_samples(_made_dtype(dtype, out, "normal"), "normal")
    shape = _shape((), size, "normal") if size is not None else ()
    arr = (mean + std * gen.standard_normal(shape)).astype(_dt(dtype))
    return _finish(arr, requires_grad, device, out)


def bernoulli(input, p=None, *, generator=None):
    prob = input._data if p is None else np.full(input._data.shape, p)
    arr = np_generator(generator).random(input._data.shape) < prob
    return wrap(arr.astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the rows of ``input`` taken as (unnormalised) probabilities."""
    probs = input._data.astype(np.float64)
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    gen = np_generator(generator)
    out = []
    for row in rows:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        out.append(gen.choice(row.size, num_samples, replace=replacement, p=row / total))
    arr = np.asarray(out, np.int64)
    return wrap(arr.reshape(num_samples) if probs.ndim == 1 else arr)


def poisson(input, generator=None):
    return wrap(np_generator(generator).poisson(input._data).astype(input._data.dtype))


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def numel(input):
    return input.numel()


# -- in-place fills and random fills ---------------------------------------------------------


def _fill_in_place(self, arr):
    """Overwrite ``self``'s values (no gradient flows through a fill)."""
    return _fill_with(self, lambda data: np.copyto(data, arr, casting="unsafe"))


def _fill_drawn(self, draw):
    """Fill ``self`` with ``draw(count)``'s float64 values. A large contiguous NumPy array is
    filled a chunk at a time: the same values as one draw (NumPy's generators draw in order),
    without a float64 copy of the whole array (twice a float32 weight's size at its peak)."""
    data = self._data
    if data.__class__ is not np.ndarray or data.size <= _DRAW_CHUNK or not data.flags.c_contiguous:
        return _fill_in_place(self, draw(data.shape))

    def fill(data):
        flat = data.reshape(-1)
        for start in builtins.range(0, flat.size, _DRAW_CHUNK):
            part = flat[start : start + _DRAW_CHUNK]
            np.copyto(part, draw(part.size), casting="unsafe")

    return _fill_with(self, fill)


def _fill_with(self, fill):
    """``fill(self's array)`` as an in-place op that no gradient flows through."""
    if GRAD_ENABLED[0] and self.grad_fn is None and self._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    fill(self._data)
    self._vc[0] += 1
    if self.grad_fn is not None:
        self.grad_fn = None
        self._requires_grad = False
    return self


def _fill_value(self, value):
    """Fill with a number or a 0-d tensor; under autograd a recorded op, as in PyTorch: the
    old values get a zero gradient and a tensor ``value`` the sum of the gradient."""
    value_grad = isinstance(value, Tensor) and value._requires_grad
    if GRAD_ENABLED[0] and (self._requires_grad or value_grad):
        keep = wrap(np.zeros((), bool))
        return inplace(self, lambda t: where(keep, t, value))
    if isinstance(value, Tensor):  # a meta tensor is filled with shapes only
        value = value._data if self.is_meta else value.item()
    return _fill_in_place(self, value)


def zero_(self):
    return _fill_value(self, 0.0 if self.is_floating_point() else 0)


def fill_(self, value):
    return _fill_value(self, value)


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    if self.is_meta:  # nothing to draw for
        return _fill_in_place(self, a)
    gen = np_generator(generator)
    return _fill_drawn(self, lambda size: gen.uniform(a, b, size))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    if self.is_meta:
        return _fill_in_place(self, mean)
    gen = np_generator(generator)

    def draw(size):
        values = gen.standard_normal(size)
        values *= std
        values += mean
        return values

    return _fill_drawn(self, draw)


def bernoulli_(self, p=0.5, *, generator=None):
    prob = p._data if isinstance(p, Tensor) else p
    return _fill_in_place(self, np_generator(generator).random(self._data.shape) < prob)


def random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        to = 2 ** (8 * self._data.itemsize - 1) if self._data.dtype.kind == "i" else 2**24
        from_, to = 0, to if from_ == 0 else from_
    return _fill_in_place(self, np_generator(generator).integers(from_, to, self._data.shape))


def exponential_(self, lambd=1.0, *, generator=None):
    return _fill_in_place(self, np_generator(generator).exponential(1 / lambd, self._data.shape))


def geometric_(self, p, *, generator=None):
    return _fill_in_place(self, np_generator(generator).geometric(p, self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_in_place(self, np_generator(generator).lognormal(mean, std, self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _fill_in_place(
        self, median + sigma * np_generator(generator).standard_cauchy(self._data.shape)
    )


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast) into ``self``; differentiable with respect to ``src``."""
    if not isinstance(src, Tensor):
        src = wrap(np.asarray(src))
    try:
        np.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({list(self.shape)}) must match the size of tensor b "
            f"({list(src.shape)}) at non-singleton dimension (copy_)"
        ) from None
    if src.is_meta != self.is_meta:
        if src.is_meta:
            raise NotImplementedError(COPY_OUT)
        src = ToMeta.apply(src)  # only the shape and dtype are copied into a meta tensor
    return inplace(self, _CopyFrom.apply, src)


class _CopyFrom(ArrayFunction):
    @staticmethod
    def forward(ctx, dst, src):
        return np.broadcast_to(src, dst.shape).astype(dst.dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        return zeros_like_t(g), g  # the overwritten values get a zero gradient, as in PyTorch


# -- dtype and device conversions ------------------------------------------------------------


class Cast(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        if g.is_complex() and ctx.src.kind != "c":  # a real source gets the real part
            g = g.real
        return g.to(_dtype.from_np(ctx.src)), None


def _cast(t, dt, copy=False):
    if t._data.dtype == dt.np and not copy:
        return t
    if t._data.dtype == dt.np:
        return t.clone()
    return Cast.apply(t, dt.np)


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    """Convert dtype and/or device, as PyTorch's three forms: ``to(device=None, dtype=None,
    non_blocking=False, copy=False)``, ``to(dtype, non_blocking=False, copy=False)`` and
    ``to(other, non_blocking=False, copy=False)``; an unknown keyword raises TypeError."""
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dtype, device = other.dtype, other.device
    else:
        if rest and not isinstance(rest[0], bool) and not _is_dtype_like(rest[0]):
            device = rest.pop(0)
        if rest and not isinstance(rest[0], bool) and _is_dtype_like(rest[0]):
            dtype = rest.pop(0)
    flags = [non_blocking, copy]
    if len(rest) > 2 or not all(isinstance(f, bool) for f in rest):
        raise TypeError(
            f"to() received an invalid combination of arguments: {_describe(args)}; expected "
            "(device, dtype, non_blocking, copy), (dtype, non_blocking, copy) or "
            "(tensor, non_blocking, copy)"
        )
    flags[: len(rest)] = rest
    copy = flags[1]
    out = self
    if device is not None:
        out = _to_device(out, resolve_device(device, "Tensor.to"))
    if dtype is not None:
        out = _cast(out, _dtype.to_dtype(dtype), copy)
    elif copy and out is self:
        out = self.clone()
    return out


def _is_dtype_like(a):
    return isinstance(a, _dtype.dtype) or (isinstance(a, type) and a in (float, int, bool))


def _describe(args):
    return "(" + ", ".join(type(a).__name__ for a in args) + ")"


def _to_device(t, dev):
    """``t`` on ``dev``, which resolve_device has checked: the CPU or the meta device. A meta
    tensor has no values to bring back to the CPU."""
    if t.is_meta == (dev is META):
        return t
    if dev is META:
        return ToMeta.apply(t)
    raise NotImplementedError(COPY_OUT)


class ToMeta(ArrayFunction):
    """``t.to("meta")``: the shape and dtype of ``t``, without its values."""

    @staticmethod
    def forward(ctx, x):
        return meta_array(x.shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g.to("cpu")  # a meta gradient has no values for a cpu input: this raises


# Tensor.float(), Tensor.long() and the rest: the method name and the dtype it casts to.
DTYPE_CONVERSIONS = {
    "float": _dtype.float32, "double": _dtype.float64, "half": _dtype.float16,
    "bfloat16": _dtype.bfloat16, "long": _dtype.int64, "int": _dtype.int32,
    "short": _dtype.int16, "char": _dtype.int8, "byte": _dtype.uint8, "bool": _dtype.bool,
}  # fmt: skip


def dtype_conversion(name, dt):
    """The method ``Tensor.<name>()``: a cast to ``dt``."""

    def conv(self, memory_format=None):
        return _cast(self, dt)

    conv.__name__ = name
    return conv


_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
    "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
}  # fmt: skip
_FROM_TYPE_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def tensor_type(self, dtype=None, non_blocking=False, **kwargs):
    """Without arguments the type name (``'torch.FloatTensor'``); with a dtype, a cast."""
    if dtype is None:
        return "torch." + _TYPE_NAMES.get(self.dtype.name, "Tensor")
    if isinstance(dtype, LegacyTensorType):  # ember.LongTensor, ember.cuda.FloatTensor, ...
        resolve_device("cuda" if dtype.is_cuda else "cpu", "Tensor.type")
        dtype = dtype.dtype
    if isinstance(dtype, str):
        resolve_device("cuda" if ".cuda." in dtype else "cpu", "Tensor.type")
        name = dtype.split(".")[-1]
        if name in _FROM_TYPE_NAME:
            return _cast(self, _dtype.to_dtype(_FROM_TYPE_NAME[name]))
    return _cast(self, _dtype.to_dtype(dtype))


def type_as(self, other):
    return _cast(self, other.dtype)


def cpu(self, memory_format=None):
    return _to_device(self, resolve_device("cpu", "Tensor.cpu"))


def cuda(self, device=None, non_blocking=False, memory_format=None):
    return _to_device(self, resolve_device("cuda" if device is None else device, "Tensor.cuda"))


def pin_memory(self, device=None):
    """Page-locked memory is for copies to an accelerator; like PyTorch without one, refuse."""
    raise RuntimeError(
        "Tensor.pin_memory: Cannot access accelerator device when none is available "
        "(ember has no GPU backend yet)"
    )


def share_memory_(self):
    """Move this tensor's data into shared memory (see ember/multiprocessing/shared_memory.py)."""
    from ember.multiprocessing.shared_memory import share_memory_

    return share_memory_(self)


def is_shared(self):
    from ember.multiprocessing.shared_memory import is_shared

    return is_shared(self)


def is_pinned(self):
    return False


def _new(fn):
    def method(self, *args, size=None, dtype=None, device=None, requires_grad=False,
               layout=None, pin_memory=False):  # fmt: skip
        return fn(*args, size=size, dtype=dtype or self.dtype, layout=layout,
                  device=self.device if device is None else device,
                  requires_grad=requires_grad)  # fmt: skip

    method.__name__ = method.__qualname__ = "new_" + fn.__name__
    return method


new_zeros = _new(zeros)
new_ones = _new(ones)
new_empty = _new(empty)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):  # fmt: skip
    return full(size, fill_value, dtype=dtype or self.dtype, layout=layout,
                device=self.device if device is None else device,
                requires_grad=requires_grad)  # fmt: skip


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False):  # fmt: skip
    check_layout(layout, "new_tensor")
    return tensor(data, dtype=dtype or self.dtype, device=self.device if device is None else device,
                  requires_grad=requires_grad)  # fmt: skip


def new(self, *args):
    """``Tensor.new(*sizes)`` or ``Tensor.new(data)``: a tensor of ``self``'s dtype."""
    return Tensor(*args, dtype=self.dtype) if args else empty(0, dtype=self.dtype)
