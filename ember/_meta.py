"""Meta arrays: the data of tensors on the ``meta`` device, which have a shape, a dtype and
strides but no values.

A ``MetaArray`` is a read-only, zero-strided view of one zero, so it takes the same few bytes
whatever its shape. That zero is itself held by a 0-d meta array, so a plain view NumPy makes
of a meta array (``np.asarray``) still has a meta array as its ``base``, and ``wrap`` turns it
back into a meta array. NumPy hands every ufunc and array function called with one to
the overrides below; they run the call on plain views (or, for elementwise ufuncs, on one
element per input) and return the results as meta arrays again. So an op written for cpu
arrays gives a meta result of the right shape and dtype, and cpu arrays pay nothing: the
overrides exist only on this subclass.

Values never leave: turning a meta array into a Python number, a list or bytes, or copying it
into a cpu array, raises PyTorch's errors (its truth value is False, see ``__bool__``).

PyTorch's strides are logical for meta tensors (contiguous for a new one, permuted by
``transpose``); the array's own strides stay zero, so that code building strided views from
them never reads past the one element, and the logical ones are kept beside them
(``element_strides``).
"""

import numpy as np

__all__ = [
    "MetaArray", "meta_array", "as_meta_if_viewed", "element_strides", "is_contiguous",
    "forward_on_meta", "meta_backward", "COPY_OUT", "NO_ITEM", "SEEN",
]  # fmt: skip

COPY_OUT = "Cannot copy out of meta tensor; no data!"
NO_ITEM = "Tensor.item() cannot be called on meta tensors"
_BASIC_INDEX = (int, np.integer, slice, type(None), type(Ellipsis))
# Functions whose result's shape depends on the values, which a meta array does not have.
_VALUE_DEPENDENT = {np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.extract}
# Functions that answer with a Python value computed from the values.
_VALUE_ANSWERS = {np.allclose, np.array_equal, np.array_equiv}

SEEN = [False]
"""True once a meta array has been made: until then ``Function.apply`` looks for none."""


def meta_array(shape, dtype, strides=None):
    """A meta array of ``shape`` and ``dtype``; ``strides`` in elements (None: contiguous)."""
    SEEN[0] = True
    owner = np.ndarray.__new__(MetaArray, (), dtype)
    owner.view(np.ndarray)[()] = 0
    shape = tuple(shape)
    arr = np.ndarray.__new__(MetaArray, shape, dtype, buffer=owner, strides=(0,) * len(shape))
    arr.flags.writeable = False
    arr._element_strides = None if strides is None else tuple(strides)
    return arr


def as_meta_if_viewed(arr):
    """``arr``, or a meta array of its shape when it is a plain view of a meta array."""
    if isinstance(arr.base, MetaArray) and not isinstance(arr, MetaArray):
        return meta_array(arr.shape, arr.dtype)
    return arr


def contiguous_strides(shape):
    """PyTorch's strides, in elements, of a contiguous tensor of ``shape``."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def element_strides(arr):
    """The logical strides of a meta array, in elements."""
    strides = arr._element_strides
    return contiguous_strides(arr.shape) if strides is None else strides


def is_contiguous(arr):
    """Whether a meta array's logical strides are the contiguous ones (size-1 dims aside)."""
    if arr.size == 0:
        return True
    expected = contiguous_strides(arr.shape)
    return all(n == 1 or s == e for n, s, e in zip(arr.shape, element_strides(arr), expected))


def _probe(arr):
    """An int8 array with ``arr``'s shape whose byte strides are its logical element strides.

    It points at one byte: only view operations (which read no element) may touch it, and
    their results' strides are the logical strides of the same view of ``arr``."""
    return np.lib.stride_tricks.as_strided(
        np.zeros(1, np.int8), arr.shape, element_strides(arr), writeable=False
    )


def _plain(x):
    """``x`` with every meta array in it (also inside lists, tuples, dicts) a plain view."""
    if isinstance(x, MetaArray):
        return x.view(np.ndarray)
    if isinstance(x, list | tuple):
        return type(x)(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _probes(x):
    """``x`` with every meta array in it a probe (see ``_probe``)."""
    if isinstance(x, MetaArray):
        return _probe(x)
    if isinstance(x, list | tuple):
        return type(x)(_probes(v) for v in x)
    if isinstance(x, dict):
        return {k: _probes(v) for k, v in x.items()}
    return x


def _identities(x):
    """``x`` with every meta array in it a plain read-only stack of identity matrices (zeros
    where it is not square): values a linear-algebra routine accepts, as it would reject zeros
    as singular."""
    if isinstance(x, MetaArray):
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            return x.view(np.ndarray)
        return np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
    if isinstance(x, list | tuple):
        return type(x)(_identities(v) for v in x)
    if isinstance(x, dict):
        return {k: _identities(v) for k, v in x.items()}
    return x


def _stand_ins(func, x):
    """The arrays ``func`` runs on in place of the meta arrays in ``x``."""
    return _identities(x) if func.__module__.startswith("numpy.linalg") else _plain(x)


def _views_meta(arr):
    """Whether ``arr`` is a view of a meta array's memory."""
    base = arr.base
    while base is not None:
        if isinstance(base, MetaArray):
            return True
        base = base.base
    return False


def _view_result(result, probe):
    """A view NumPy made of a meta array, as a meta array whose logical strides are those of
    the same view of the probe (contiguous where that view reverses an axis)."""
    if probe.shape != result.shape or any(s < 0 for s in probe.strides):
        return meta_array(result.shape, result.dtype)
    return meta_array(result.shape, result.dtype, probe.strides)


def _as_meta(result):
    """The arrays in ``result`` as meta arrays (freeing any memory they held)."""
    if isinstance(result, MetaArray):
        return result
    if isinstance(result, np.ndarray | np.generic):
        return meta_array(np.shape(result), result.dtype)
    if isinstance(result, list | tuple):
        items = [_as_meta(v) for v in result]
        return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)
    return result


def _into(outs, result, name):
    """Writing ``result`` into ``outs``: a no-op for meta outputs once the shapes fit; a cpu
    output would receive values a meta array does not have."""
    results = result if isinstance(result, tuple) else (result,)
    for out, res in zip(outs, results):
        if not isinstance(out, MetaArray) and not isinstance(out.base, MetaArray):
            if not FILLING[0]:
                raise NotImplementedError(COPY_OUT)
            np.ndarray.fill(out, 0)
        if np.broadcast_shapes(np.shape(res), out.shape) != out.shape:
            raise ValueError(
                f"{name}: non-broadcastable output operand with shape {out.shape} doesn't "
                f"match the broadcast shape {np.broadcast_shapes(np.shape(res), out.shape)}"
            )
    return outs[0] if len(outs) == 1 else tuple(outs)


def _one_element(x):
    return np.ones((), x.dtype) if isinstance(x, np.ndarray) else x


class MetaArray(np.ndarray):
    """The array of a meta tensor (see the module docstring)."""

    def __array_finalize__(self, obj):
        same = (
            isinstance(obj, MetaArray)
            and np.ndarray.shape.__get__(obj) == np.ndarray.shape.__get__(self)
            and obj.dtype == self.dtype
        )  # a plain ``view()``: the same logical strides
        self._element_strides = obj._element_strides if same else None

    @property
    def shape(self):
        return np.ndarray.shape.__get__(self)

    @shape.setter
    def shape(self, new):
        """In-place reshaping (how ``view`` checks that it can): refused, as NumPy refuses it,
        where the logical strides allow no view of the new shape."""
        try:
            probe = np.reshape(_probe(self), new, copy=False)
        except ValueError:
            raise AttributeError(
                "Incompatible shape for in-place modification. Use `.reshape()` to make a "
                "copy with the desired shape."
            ) from None
        np.ndarray.shape.__set__(self, new)
        self._element_strides = probe.strides

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if method == "at":
            if not isinstance(inputs[0], MetaArray) and not FILLING[0]:
                raise NotImplementedError(COPY_OUT)
            return None
        if out is not None:
            result = self.__array_ufunc__(ufunc, method, *inputs, **kwargs)
            return _into(out, result, ufunc.__name__)
        with np.errstate(all="ignore"):
            if method == "__call__" and ufunc.signature is None and "where" not in kwargs:
                shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
                one = ufunc(*(_one_element(x) for x in inputs), **kwargs)
                strides = _elementwise_strides(shape, inputs)
                if isinstance(one, tuple):
                    return tuple(meta_array(shape, r.dtype, strides) for r in one)
                return meta_array(shape, np.result_type(one), strides)
            return _as_meta(getattr(ufunc, method)(*_plain(inputs), **_plain(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        if func in _VALUE_DEPENDENT:
            raise NotImplementedError(
                f"{func.__name__}: the shape of the result depends on the values, and meta "
                "tensors have none"
            )
        if func in _VALUE_ANSWERS:
            raise RuntimeError(NO_ITEM)
        if func is np.repeat and isinstance(
            args[1] if len(args) > 1 else kwargs.get("repeats"), MetaArray
        ):
            raise NotImplementedError(
                "repeat: the shape of the result depends on the values of the repeats, and "
                "meta tensors have none"
            )
        if func is np.copyto:
            dst, src = args[0], args[1]
            np.broadcast_shapes(np.shape(src), np.shape(dst))
            return _into((dst,), np.asarray(_plain(src)), "copyto")
        if func is np.broadcast_to and isinstance(args[0], MetaArray):
            return self._view(args[0], lambda a: np.broadcast_to(a, *args[1:], **kwargs))
        out = kwargs.pop("out", None)
        with np.errstate(all="ignore"):
            result = func(*_stand_ins(func, args), **_stand_ins(func, kwargs))
        if out is not None:
            return _into(out if isinstance(out, tuple) else (out,), result, func.__name__)
        if isinstance(result, np.ndarray) and _views_meta(result):
            return _view_result(result, func(*_probes(args), **_probes(kwargs)))
        return _as_meta(result)

    # -- views keep their logical strides ---------------------------------------------------
    @staticmethod
    def _view(arr, make_view):
        """``make_view(arr)`` as a meta array, with the logical strides the same view of a
        strided array would have."""
        probe = make_view(_probe(arr))
        return meta_array(probe.shape, arr.dtype, probe.strides)

    def transpose(self, *axes):
        return self._view(self, lambda a: a.transpose(*axes))

    def swapaxes(self, axis1, axis2):
        return self._view(self, lambda a: a.swapaxes(axis1, axis2))

    def reshape(self, *shape, **kwargs):
        new_shape = np.ndarray.reshape(self, *shape, **kwargs).shape
        try:
            return self._view(self, lambda a: np.reshape(a, new_shape, copy=False))
        except ValueError:  # no view of these strides has that shape: a contiguous copy
            return meta_array(new_shape, self.dtype)

    def __getitem__(self, key):
        parts = key if isinstance(key, tuple) else (key,)
        if all(isinstance(k, _BASIC_INDEX) and not isinstance(k, bool) for k in parts):
            if not any(k is Ellipsis for k in parts):
                parts = (*parts, Ellipsis)  # a 0-d array, never a scalar read from memory
            return self._view(self, lambda a: a[parts])
        if any(isinstance(k, MetaArray) and k.dtype == np.bool_ for k in parts):
            raise NotImplementedError(
                "indexing a meta tensor with a boolean mask: the shape of the result depends "
                "on the mask's values, and meta tensors have none"
            )
        return _as_meta(np.ndarray.__getitem__(self.view(np.ndarray), _plain(key)))

    def __setitem__(self, key, value):
        target = np.ndarray.__getitem__(self.view(np.ndarray), _plain(key))
        np.broadcast_to(_plain(value), np.shape(target))

    # -- copies stay meta -------------------------------------------------------------------
    def copy(self, order="C"):
        return meta_array(self.shape, self.dtype)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return meta_array(self.shape, dtype)

    # -- values do not exist ----------------------------------------------------------------
    def _no_item(self, *args, **kwargs):
        raise RuntimeError(NO_ITEM)

    def _no_value(self, *args, **kwargs):
        """A value read: an error, except within an op on meta inputs, where a kernel storing
        a meta element into a buffer of its own reads a zero (its result becomes meta)."""
        if not FILLING[0]:
            raise RuntimeError(NO_ITEM)
        return self.dtype.type(0).item()

    def _no_copy_out(self, *args, **kwargs):
        raise NotImplementedError(COPY_OUT)

    def nonzero(self):
        return self.__array_function__(np.nonzero, (MetaArray,), (self,), {})

    def __bool__(self):
        """False: a value check inside a kernel (any NaN? an index out of range?) passes, as
        PyTorch's meta kernels check no values. ``bool`` of a meta tensor raises."""
        return False

    __int__ = __index__ = _no_item
    item = __float__ = __complex__ = _no_value
    tolist = tobytes = _no_copy_out

    @property
    def ctypes(self):
        raise NotImplementedError(COPY_OUT)

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__


# -- ops on meta inputs -----------------------------------------------------------------------
def _dense_in_order_of(shape, strides):
    """Contiguous strides for ``shape`` laid out in the order of ``strides`` (largest first),
    as PyTorch gives the result of an elementwise op on a permuted input."""
    order = sorted(range(len(shape)), key=lambda i: -strides[i])
    result, step = [0] * len(shape), 1
    for i in reversed(order):
        result[i] = step
        step *= max(shape[i], 1)
    return tuple(result)


def _elementwise_strides(shape, inputs):
    """The logical strides of an elementwise result: those of the first input of the full
    shape, made dense in its order (None: contiguous)."""
    for x in inputs:
        if isinstance(x, np.ndarray) and x.shape == shape:
            if isinstance(x, MetaArray):
                strides = element_strides(x)
            elif x.flags.c_contiguous or any(s < 0 for s in x.strides):
                return None
            else:
                strides = x.strides
            dense = _dense_in_order_of(shape, strides)
            return None if dense == contiguous_strides(shape) else dense
    return None


def _layout(arr):
    """A plain array's strides in elements when it is laid out densely in some order of its
    dims (None: contiguous, also for anything else)."""
    if arr.flags.c_contiguous or any(s <= 0 or s % arr.itemsize for s in arr.strides):
        return None
    strides = tuple(s // arr.itemsize for s in arr.strides)
    return strides if _dense_in_order_of(arr.shape, strides) == strides else None


def _meta_result(r):
    """An array an op computed for meta inputs, as a meta array of its shape, dtype, layout."""
    if r.__class__ is MetaArray or not isinstance(r, np.ndarray | np.generic):
        return r
    if isinstance(r, np.generic) or isinstance(r.base, MetaArray):
        return meta_array(np.shape(r), r.dtype)
    return meta_array(r.shape, r.dtype, _layout(r))


def _is_exempt(arr):
    """Cpu tensors accepted beside meta ones: 0-d scalars, integer indices and boolean masks
    (PyTorch's attention takes a cpu mask beside meta inputs), and the zero gradient autograd
    fills in for an output that was not used."""
    if arr.ndim == 0 or arr.dtype.kind in "iub":
        return True
    return arr.flags.owndata and arr.flags.c_contiguous and not arr.any()


# Matrix products and convolutions, which PyTorch runs on meta and cpu inputs mixed (no device
# check); every other op refuses the mix as its elementwise ops do.
_MIXING_OPS = frozenset({"MatMul", "Einsum", "Convolution", "ConvTranspose"})


def _check_one_device(op, tensors):
    """Refuse meta and cpu tensors mixed in one op, with PyTorch's message."""
    if op in _MIXING_OPS:
        return
    first = None
    for arr in tensors:
        on_meta = isinstance(arr, MetaArray)
        if not on_meta and _is_exempt(arr):
            continue
        if first is None:
            first = arr
        elif on_meta != isinstance(first, MetaArray):
            expected, found = ("cpu", "meta") if on_meta else ("meta", "cpu")
            raise RuntimeError(
                f"{op}: Tensor on device {found} is not on the expected device {expected}! "
                f"(a {expected} tensor of shape {list(first.shape)} and a {found} tensor of "
                f"shape {list(arr.shape)}; move them to one device with .to())"
            )


FILLING = [0]
"""How many ops on meta inputs are running: while one is, a cpu buffer a kernel allocated may
take a meta result (see ``_into``)."""


class _Filling:
    """Within the block: a kernel that writes a meta result into a cpu buffer it allocated
    gets zeros there instead of an error (the op's outputs are made meta afterwards)."""

    def __enter__(self):
        FILLING[0] += 1
        self._errors = np.seterr(all="ignore")  # zeros give 0/0 and log(0): values nobody reads

    def __exit__(self, *exc):
        np.seterr(**self._errors)
        FILLING[0] -= 1


def forward_on_meta(op, forward, ctx, arrays, tensors, kwargs):
    """Run an op's array ``forward`` on meta inputs (``tensors``: the arrays of its tensor
    arguments) and return meta outputs.

    Most kernels run on meta arrays as they are: the overrides above compute shapes only. A
    kernel that allocates a cpu buffer and writes into it gets zeros there (``_Filling``).
    Either way the outputs become meta arrays with the layout the kernel gave them, what
    ``forward`` kept for backward refers to meta arrays, and the node's backward runs the
    same way (``meta_backward``).
    """
    if not FILLING[0]:
        _check_one_device(op, tensors)
    with _Filling():
        raw = forward(ctx, *arrays, **kwargs)
    single = not isinstance(raw, tuple)
    raws = (raw,) if single else raw
    metas = tuple(_meta_result(r) for r in raws)
    renamed = {id(r): m for r, m in zip(raws, metas) if m is not r}
    _rename_in_context(ctx, renamed, {id(a) for a in arrays})
    return metas[0] if single else metas


def meta_backward(backward, wrap):
    """``backward`` for a node built on meta inputs: run as ``forward_on_meta`` runs a
    forward, its gradients made meta tensors (``wrap``: array to Tensor)."""

    def run(ctx, *grads):
        with _Filling():
            out = backward(ctx, *grads)
        if isinstance(out, tuple):
            return tuple(_meta_gradient(g, wrap) for g in out)
        return _meta_gradient(out, wrap)

    return run


def _meta_gradient(g, wrap):
    """A gradient a backward on meta inputs computed as a cpu tensor, as a meta tensor."""
    data = getattr(g, "_data", None)
    if data is None or data.__class__ is MetaArray or g.grad_fn is not None:
        return g
    return wrap(_meta_result(data))


def _rename_in_context(ctx, renamed, inputs):
    """Point what ``ctx`` holds at the meta arrays standing for the plain ones it was given."""

    def swap(x):
        if id(x) in renamed:
            return renamed[id(x)]
        if id(x) in inputs or not isinstance(x, np.ndarray) or x.ndim == 0:
            return x
        return _meta_result(x)

    d = ctx.__dict__
    for name, value in list(d.items()):
        if name == "_non_diff":
            d[name] = {id(renamed[i]) if i in renamed else i for i in value}
        elif name in ("_to_save", "_to_save_forward"):
            d[name] = tuple(swap(x) for x in value)
        elif isinstance(value, np.ndarray):
            d[name] = swap(value)
