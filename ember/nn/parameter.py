"""Parameter: a Tensor that a Module registers as one of its learnable weights."""

import sys

from ember import _dtype
from ember._device import resolve_device
from ember._ops.creation import empty
from ember._subclasses import register_parameter_class
from ember._tensor import Tensor, _init

__all__ = [
    "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer",
    "UninitializedTensorMixin", "is_lazy",
]  # fmt: skip


def _leaf_over(t, source):
    """Make ``t`` a fresh leaf that shares ``source``'s values (``Tensor.data`` assignment)."""
    _init(t, None, False)
    Tensor.data.fset(t, source)


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and registers itself on a Module."""

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = empty(0, dtype=_dtype.float32)
        _leaf_over(self, data)
        self._vc = data._vc
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.detach().clone(), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(self.detach().clone(), self._requires_grad)
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new


register_parameter_class(Parameter)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data=None, *, persistent=True):
        return object.__new__(cls)

    def __init__(self, data=None, *, persistent=True):
        _leaf_over(self, data if data is not None else empty(0, dtype=_dtype.float32))
        self.persistent = persistent


# The descriptor of the slot that holds a tensor's array: the guard below shadows it, and a
# pending tensor keeps an empty array of its future dtype there.
_DATA_SLOT = vars(Tensor)["_data"]


def is_lazy(t):
    """Whether ``t`` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(t, UninitializedTensorMixin)


class UninitializedTensorMixin:
    """A tensor whose shape is not known yet: it keeps a dtype and refuses to be computed with.

    Its array slot holds an empty placeholder of the pending dtype, which ``materialize`` replaces
    by real (uninitialised) storage, turning the object into ``cls_to_become`` in place so that
    the module and any optimizer keep referring to the same object.
    """

    __slots__ = ()
    cls_to_become = Tensor

    @property
    def _data(self):
        caller = sys._getframe(1).f_code.co_qualname
        raise ValueError(
            f"Attempted to use an uninitialized parameter in {caller}. This error happens when "
            "you are using a `LazyModule` or explicitly manipulating "
            f"`ember.nn.parameter.{type(self).__name__}` objects. When using LazyModules call "
            "`forward` with a dummy batch to initialize the parameters before calling ember "
            "functions"
        )

    @_data.setter
    def _data(self, value):
        _DATA_SLOT.__set__(self, value)

    @property
    def _placeholder(self):
        return _DATA_SLOT.__get__(self)

    @property
    def data(self):
        return Tensor.data.fget(self)

    @data.setter
    def data(self, value):
        """Another pending tensor passes on its dtype; a real one its values."""
        if is_lazy(value):
            _DATA_SLOT.__set__(self, value._placeholder)
        else:
            Tensor.data.fset(self, value)

    def _make_placeholder(self, dtype):
        _leaf_over(self, empty(0, dtype=_dtype.to_dtype(dtype)))

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor storage of ``shape`` and become a regular Parameter or Tensor."""
        resolve_device(device, f"{type(self).__name__}.materialize")
        dtype = self.dtype if dtype is None else _dtype.to_dtype(dtype)
        self.__class__ = self.cls_to_become
        self.data = empty(tuple(shape), dtype=dtype)

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    @property
    def dtype(self):
        return _dtype.from_np(self._placeholder.dtype)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def _converted(self, dtype):
        new = object.__new__(type(self))
        new._make_placeholder(dtype)
        new._requires_grad = self._requires_grad
        return new

    def to(self, *args, **kwargs):
        """A new uninitialised tensor of the requested dtype (the device must be the CPU)."""
        dtype, device = kwargs.get("dtype"), kwargs.get("device")
        for a in args:
            if isinstance(a, _dtype.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                device = a
        resolve_device(device, f"{type(self).__name__}.to")
        return self if dtype is None else self._converted(dtype)

    def type(self, dst_type):
        return self._converted(getattr(dst_type, "dtype", dst_type))

    def float(self, memory_format=None):
        return self._converted(_dtype.float32)

    def double(self, memory_format=None):
        return self._converted(_dtype.float64)

    def half(self, memory_format=None):
        return self._converted(_dtype.float16)

    def bfloat16(self, memory_format=None):
        return self._converted(_dtype.bfloat16)

    def detach(self):
        return self

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        resolve_device("cuda" if device is None else device, f"{type(self).__name__}.cuda")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self._converted(self.dtype)
        return memo[id(self)]


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter of a lazy module, before its first forward call fixes its shape."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return object.__new__(cls)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        resolve_device(device, "UninitializedParameter")
        self._make_placeholder(dtype)
        if requires_grad:
            self._requires_grad = True


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module, before its first forward call fixes its shape."""

    __slots__ = ()

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        return object.__new__(cls)

    def __init__(self, requires_grad=False, device=None, dtype=None):
        resolve_device(device, "UninitializedBuffer")
        self._make_placeholder(dtype)
        if requires_grad:
            self._requires_grad = True
