"""Tensor subclasses defined in upper layers that lower ones must recognise.

Checkpoints store ``nn.Parameter`` objects; loading and saving them happens in
``_serialization``, which must not import ``nn``. ``nn/parameter.py`` registers the class
here when it is imported (``import ember`` always imports nn), and serialization asks for it.
"""

_parameter = []


def register_parameter_class(cls):
    _parameter[:] = [cls]


def parameter_class():
    """``nn.Parameter``, as registered by ``ember.nn.parameter``."""
    if not _parameter:
        raise RuntimeError(
            "ember.nn.parameter is not loaded: import ember before using checkpoints"
        )
    return _parameter[0]
