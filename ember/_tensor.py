"""Tensor: one array, its dtype and device, and its place in the autograd graph.

Math lives in ``ember._ops``; ``ember/_ops/_methods.py`` binds the methods and operators
that reach it (and ``backward``), so that a method, the top-level function and
``nn.functional`` all reach the same op.
"""

import builtins
import copy
import itertools
import weakref

import numpy as np

from ember import _dtype, _layout
from ember._device import CPU, META, device, resolve_device
from ember._meta import (
    COPY_OUT,
    NO_ITEM,
    SEEN,
    MetaArray,
    as_meta_if_viewed,
    element_strides,
    is_contiguous,
    meta_array,
)
from ember._printing import tensor_repr

__all__ = ["Tensor", "Size", "wrap"]


class Size(tuple):
    """The shape of a tensor: a tuple of ints, printed as ``ember.Size([2, 3])``."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"{_dtype.repr_package}.Size({list(self)})"

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class Tensor:
    """A multi-dimensional array with autograd, mirroring ``torch.Tensor``."""

    __slots__ = (
        "_data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_vc", "_base",
        "_hooks", "_retains_grad", "__weakref__",
    )  # fmt: skip
    __array_priority__ = 1000
    __array_ufunc__ = None  # NumPy defers to Tensor's reflected operators

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, dtype=None, device=None, requires_grad=False):
        """``Tensor(data)`` copies data; ``Tensor(2, 3)`` makes an uninitialised float tensor."""
        on_meta = device is not None and resolve_device(device, "Tensor") is META
        if len(args) == 1 and not isinstance(args[0], int | np.integer):
            arr = _array_from(args[0], _dtype.to_dtype(dtype))
            if on_meta:
                arr = meta_array(arr.shape, arr.dtype)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], tuple | list) else args
            make = meta_array if on_meta else np.empty
            arr = make(tuple(shape), _dtype.to_dtype(dtype).np)
        _init(self, arr, requires_grad)

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    @property
    def dtype(self):
        return _dtype.from_np(self._data.dtype)

    @property
    def device(self):
        d = self._data
        if isinstance(d, np.ndarray):
            return META if isinstance(d, MetaArray) else CPU
        return device("cuda", d.device.id)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    @property
    def is_meta(self):
        return isinstance(self._data, MetaArray)

    @property
    def layout(self):
        return _layout.strided  # every ember tensor is dense

    is_sparse = False
    is_quantized = False
    is_nested = False
    is_xpu = is_mps = is_mtia = is_ipu = is_xla = is_vulkan = is_maia = is_mkldnn = False

    def element_size(self):
        return self._data.itemsize

    def stride(self, dim=None):
        if isinstance(self._data, MetaArray):
            st = element_strides(self._data)
        elif self._data.size == 0:  # NumPy gives empty arrays zero strides; PyTorch contiguous
            st = tuple(
                int(np.prod([max(n, 1) for n in self._data.shape[i + 1 :]]))
                for i in range(self._data.ndim)
            )
        else:
            st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_norm_dim(dim, self._data.ndim, "stride")]

    def storage_offset(self):
        base = self._data
        while isinstance(base.base, np.ndarray):
            base = base.base
        off = self._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return off // self._data.itemsize

    def data_ptr(self):
        if isinstance(self._data, MetaArray):
            return 0
        return self._data.__array_interface__["data"][0]

    def untyped_storage(self):
        return _Storage(self._data)

    def is_contiguous(self, memory_format=None):
        if isinstance(self._data, MetaArray):
            return is_contiguous(self._data)
        return self._data.flags.c_contiguous

    def is_floating_point(self):
        return self._data.dtype.kind == "f" or self.dtype is _dtype.bfloat16

    def is_complex(self):
        return self._data.dtype.kind == "c"

    def is_signed(self):
        return self.dtype.is_signed

    # -- autograd state ---------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and not self.is_floating_point() and not self.is_complex():
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients "
                f"(got {self.dtype})"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def retains_grad(self):
        return bool(self._retains_grad)

    @property
    def _version(self):
        return self._vc[0]

    def _bump_version(self):
        self._vc[0] += 1

    @property
    def data(self):
        out = wrap(self._data)
        out._vc = self._vc
        return out

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    def detach(self):
        out = wrap(self._data)
        out._vc = self._vc
        out._base = self if self._base is None else self._base
        return out

    def detach_(self):
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self):
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        ref = weakref.ref(self)

        def store(g):
            t = ref()
            if t is not None:
                t.grad = g.detach() if t.grad is None else t.grad + g.detach()

        # Stored after the tensor's other hooks have run, as in PyTorch.
        node = self.grad_fn
        if node._retain_hooks is None:
            node._retain_hooks = {}
        node._retain_hooks[self._output_nr] = store
        self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node._out_hooks is None:
                node._out_hooks = {}
            hooks = node._out_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    # -- conversions ------------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        if isinstance(self._data, MetaArray):
            raise RuntimeError(NO_ITEM)
        v = self._data.reshape(()).item() if self._data.ndim else self._data.item()
        if self.dtype is _dtype.bfloat16:
            v = builtins.float(v)
        return v

    def tolist(self):
        if isinstance(self._data, MetaArray):
            raise NotImplementedError(COPY_OUT)
        if self.dtype is _dtype.bfloat16:
            return self._data.astype(np.float32).tolist()
        return self._data.tolist()

    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if isinstance(self._data, MetaArray):
            raise TypeError(
                "can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first."
            )
        if not isinstance(self._data, np.ndarray):
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        if isinstance(self._data, MetaArray):
            return self.numpy()  # raises, naming the meta device
        arr = self._data if isinstance(self._data, np.ndarray) else self._data.get()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {'no values' if self._data.size == 0 else 'more than one value'} is ambiguous"  # noqa: E501
            )
        if isinstance(self._data, MetaArray):
            raise RuntimeError(NO_ITEM)
        return builtins.bool(self._data.reshape(()))

    def _one_element(self, kind):
        """The single value, for float()/int()/complex(): ValueError otherwise, as in PyTorch."""
        if self._data.size != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars: {kind}() of a "
                f"tensor of shape {list(self._data.shape)} ({self._data.size} elements)"
            )
        return self.item()

    def __float__(self):
        return builtins.float(self._one_element("float"))

    def __int__(self):
        return builtins.int(self._one_element("int"))

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __complex__(self):
        return complex(self._one_element("complex"))

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        if isinstance(self._data, MetaArray):
            return (_rebuild_meta, (self._data.shape, self._data.dtype, self._requires_grad))
        return (_rebuild, (np.array(self.numpy(force=True)), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        new = type(self).__new__(type(self))
        _init(new, self._data.copy(), self._requires_grad)
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        if hasattr(self, "__dict__"):
            for k, v in self.__dict__.items():
                setattr(new, k, copy.deepcopy(v, memo))
        memo[id(self)] = new
        return new

    def __repr__(self, *, tensor_contents=None):
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)


class _Storage:
    """Enough of an untyped storage for identity checks (``data_ptr``) and sizes."""

    def __init__(self, arr):
        base = arr
        while isinstance(base.base, np.ndarray):
            base = base.base
        self._base = base

    def data_ptr(self):
        return self._base.__array_interface__["data"][0]

    def nbytes(self):
        return self._base.nbytes

    def size(self):
        return self._base.nbytes


class RemovableHandle:
    """Returned by every ``register_*hook``: ``remove()`` unregisters the hook, and so does
    leaving a ``with`` block. ``hooks`` is a dict that holds the hook under the handle's ``id``
    (modules, optimizers) or a list that holds ``hook`` itself (tensors, gradient
    accumulators)."""

    _ids = itertools.count()

    def __init__(self, hooks, hook=None):
        self.hooks_dict = hooks
        self.id = next(RemovableHandle._ids)
        self._hook = hook

    def remove(self):
        if isinstance(self.hooks_dict, dict):
            self.hooks_dict.pop(self.id, None)
        elif self._hook in self.hooks_dict:
            self.hooks_dict.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _init(t, arr, requires_grad=False):
    t._data = arr
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._hooks = None
    t._retains_grad = False
    t._requires_grad = False
    if requires_grad:
        t.requires_grad = True


def wrap(arr, requires_grad=False):
    """A Tensor around ``arr`` without copying it (a plain view of a meta array stays meta)."""
    if SEEN[0] and arr.base.__class__ is MetaArray:
        arr = as_meta_if_viewed(arr)
    t = object.__new__(Tensor)
    t._data = arr
    t._requires_grad = requires_grad
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._hooks = None
    t._retains_grad = False
    return t


def _rebuild(arr, requires_grad):
    return wrap(arr, requires_grad)


def _rebuild_meta(shape, dtype, requires_grad):
    return wrap(meta_array(shape, dtype), requires_grad)


def _norm_dim(dim, ndim, op):
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})"
        )
    return dim % n


def _array_from(data, dtype=None):
    """A new array from Python data, NumPy arrays or Tensors, with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        if isinstance(data._data, MetaArray):
            raise NotImplementedError(COPY_OUT)
        arr = np.array(data._data, copy=True)
        return arr if dtype is None else arr.astype(dtype.np)
    if isinstance(data, np.ndarray | np.generic):  # a NumPy scalar keeps its dtype too
        if dtype is None:
            return np.array(data, copy=True, dtype=_dtype.from_np(data.dtype).np, order="C")
        return np.array(data, dtype=dtype.np, copy=True, order="C")
    if dtype is not None:
        return np.array(_plain(data), dtype=dtype.np)
    arr = np.array(_plain(data))
    if arr.dtype.kind == "f":
        arr = arr.astype(_dtype.get_default_dtype().np)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "c":  # complex of the default float's width, as in PyTorch
        arr = arr.astype(_dtype.get_default_dtype().to_complex().np)
    elif arr.dtype.kind == "b":
        pass
    elif arr.dtype == object or arr.dtype.kind in "US":
        raise TypeError(f"Could not infer dtype of {type(data).__name__}: {data!r:.80}")
    return arr


def _plain(data):
    """Replace Tensors nested in lists by their values."""
    if isinstance(data, list | tuple):
        if any(isinstance(x, Tensor | list | tuple) for x in data):
            return [_plain(x) for x in data]
        return data
    if isinstance(data, Tensor):
        if data._data.ndim:
            return data._data
        return data.item()
    return data
