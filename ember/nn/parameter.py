"""Parameter: a Tensor that a Module registers as one of its learnable weights."""

import numpy as np

from ember._tensor import Tensor, _init

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and registers itself on a Module."""

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = Tensor(np.empty(0, np.float32))
        _init(self, data._data, False)
        self._vc = data._vc
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor(self._data), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(Tensor(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            new.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data=None, *, persistent=True):
        return object.__new__(cls)

    def __init__(self, data=None, *, persistent=True):
        _init(self, data._data if data is not None else np.empty(0, np.float32), False)
        self.persistent = persistent


UninitializedParameter = Parameter
