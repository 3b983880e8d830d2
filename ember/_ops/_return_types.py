"""Named results of ops that return several tensors (``torch.return_types.max`` and friends):
tuples with named fields, printed as PyTorch prints them, one class per op name, collected in
``REGISTRY`` for ``ember.return_types``."""

from collections import namedtuple

from ember import _dtype

REGISTRY = {}


def _repr(self):
    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{_dtype.repr_package}.return_types.{type(self).__name__}(\n{fields})"


def return_type(name, fields):
    """The result class of op ``name`` with ``fields``; the same class on every call."""
    if name not in REGISTRY:
        cls = namedtuple(name, fields)
        cls.__repr__ = _repr
        cls.__module__ = "ember.return_types"  # where pickle finds it
        REGISTRY[name] = cls
    elif REGISTRY[name]._fields != tuple(fields):
        raise ValueError(f"return type {name} exists with fields {REGISTRY[name]._fields}")
    return REGISTRY[name]
