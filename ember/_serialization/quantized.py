"""Quantized tensors in checkpoints, supplied by the quantization package.

Serialization sits below ``ember.ao`` and does not import it: ``ember.ao.quantization``
registers here, when it is imported (``import ember`` imports that part of it), the globals a
checkpoint names for quantized tensors (``torch._utils._rebuild_qtensor``,
``torch.per_tensor_affine``, ...), the types that pickle as such a global by their ``name``,
and how its quantized tensors pickle.
"""

__all__ = ["register", "GLOBALS", "reducer", "pickles_by_name"]

GLOBALS = {}
"""``{"torch.X": ember object}``, admitted by both unpicklers."""

_REDUCERS = {}
_BY_NAME = set()


def register(globals, reducers, by_name):
    """Admit ``globals``; pickle an object of a type in ``reducers`` (``{type: reduce}``)
    with ``reduce(pickler, obj)``, and one of a type in ``by_name`` as ``torch.<obj.name>``."""
    GLOBALS.update(globals)
    _REDUCERS.update(reducers)
    _BY_NAME.update(by_name)


def reducer(obj):
    """The reduce function registered for ``obj``'s type, or None."""
    return _REDUCERS.get(type(obj))


def pickles_by_name(obj):
    return type(obj) in _BY_NAME
