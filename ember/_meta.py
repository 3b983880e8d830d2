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
    "COPY_OUT", "NO_ITEM",
]  # fmt: skip

COPY_OUT = "Cannot copy out of meta tensor; no data!"
NO_ITEM = "Tensor.item() cannot be called on meta tensors"
_BASIC_INDEX = (int, np.integer, slice, type(None), type(Ellipsis))
# Functions whose result's shape depends on the values, which a meta array does not have.
_VALUE_DEPENDENT = {np.nonzero, np.argwhere, np.flatnonzero, np.unique, np.extract}
# Functions that answer with a Python value computed from the values.
_VALUE_ANSWERS = {np.allclose, np.array_equal, np.array_equiv}


def meta_array(shape, dtype, strides=None):
    """A meta array of ``shape`` and ``dtype``; ``strides`` in elements (None: contiguous)."""
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
        if not isinstance(out, MetaArray):
            raise NotImplementedError(COPY_OUT)
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
            if not isinstance(inputs[0], MetaArray):
                raise NotImplementedError(COPY_OUT)
            return None
        if out is not None:
            result = self.__array_ufunc__(ufunc, method, *inputs, **kwargs)
            return _into(out, result, ufunc.__name__)
        with np.errstate(all="ignore"):
            if method == "__call__" and ufunc.signature is None and "where" not in kwargs:
                shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
                one = ufunc(*(_one_element(x) for x in inputs), **kwargs)
                if isinstance(one, tuple):
                    return tuple(meta_array(shape, r.dtype) for r in one)
                return meta_array(shape, np.result_type(one))
            return _as_meta(getattr(ufunc, method)(*_plain(inputs), **_plain(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        if func in _VALUE_DEPENDENT:
            raise NotImplementedError(
                f"{func.__name__}: the shape of the result depends on the values, and meta "
                "tensors have none"
            )
        if func in _VALUE_ANSWERS:
            raise RuntimeError(NO_ITEM)
        if func is np.copyto:
            dst, src = args[0], args[1]
            np.broadcast_shapes(np.shape(src), np.shape(dst))
            return _into((dst,), np.asarray(_plain(src)), "copyto")
        if func is np.broadcast_to and isinstance(args[0], MetaArray):
            return self._view(args[0], lambda a: np.broadcast_to(a, *args[1:], **kwargs))
        out = kwargs.pop("out", None)
        with np.errstate(all="ignore"):
            result = func(*_plain(args), **_plain(kwargs))
        if out is not None:
            return _into(out if isinstance(out, tuple) else (out,), result, func.__name__)
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

    def _no_copy_out(self, *args, **kwargs):
        raise NotImplementedError(COPY_OUT)

    def nonzero(self):
        return self.__array_function__(np.nonzero, (MetaArray,), (self,), {})

    def __bool__(self):
        """False: a value check inside a kernel (any NaN? an index out of range?) passes, as
        PyTorch's meta kernels check no values. ``bool`` of a meta tensor raises."""
        return False

    item = __float__ = __int__ = __index__ = __complex__ = _no_item
    tolist = tobytes = _no_copy_out

    @property
    def ctypes(self):
        raise NotImplementedError(COPY_OUT)

    def __repr__(self):
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__
