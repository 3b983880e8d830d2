"""NumPy's keyword names ``axis`` and ``keepdims`` as aliases of ``dim`` and ``keepdim``.

PyTorch's argument parser accepts them on every op whose native signature has a ``dim`` or
``keepdim`` parameter (``torch.sum(x, axis=0, keepdims=True)``, ``x.mean(axis=-1)``), but not
on ops written in Python (``torch.split``, ``torch.norm``, ``nn.functional.softmax``). Ops
that accept them are decorated with ``numpy_kwargs`` where they are defined, so the function
and the Tensor method (bound to the same object) accept them alike.
"""

import functools

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def _rename(op, kwargs):
    for alias, name in _ALIASES:
        if alias in kwargs:
            if name in kwargs:
                raise TypeError(
                    f"{op}() got both '{name}' and its alias '{alias}'; pass only one of them"
                )
            kwargs[name] = kwargs.pop(alias)


def numpy_kwargs(fn):
    """``fn`` accepting ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    op = fn.__name__

    @functools.wraps(fn)
    def accepting_numpy_names(*args, **kwargs):
        if kwargs and ("axis" in kwargs or "keepdims" in kwargs):
            _rename(op, kwargs)
        return fn(*args, **kwargs)

    return accepting_numpy_names
