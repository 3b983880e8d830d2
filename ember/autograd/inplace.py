"""In-place writes under autograd: leaf checks, version bumps and view rebasing.

``inplace(t, fn, ...)`` computes ``fn(t, ...)`` and writes it into ``t``'s memory. With
autograd recording, ``t`` takes the new node as its grad_fn (the old value is kept in a private
copy for the graph), tensors saved earlier see the version go up, and when ``t`` is a view its
base learns that the viewed elements changed (PyTorch's CopySlices).
"""

import numpy as np

from ember import _dtype
from ember._meta import MetaArray
from ember._tensor import Tensor, wrap
from ember.autograd.grad_mode import GRAD_ENABLED, no_grad

# Ops that can write an unrecorded result straight into the destination's memory, as
# ``{op: write(t, args, kwargs) -> bool}``; the op library registers them (one pass, no copy).
_DIRECT_WRITES = {}


def register_direct_writes(writes):
    """Let ``inplace`` call ``writes[fn](t, args, kwargs)`` first when nothing is recorded;
    a writer returns False (``t`` untouched) where the op must build its result the long way."""
    _DIRECT_WRITES.update(writes)


def check_inplace(t):
    """Refuse in-place writes to leaves that require grad and to views of them."""
    if not GRAD_ENABLED[0]:
        return
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = t._base
    if t.grad_fn is not None and base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    if base is not None and t.grad_fn is not None and t.grad_fn._multiple_views:
        raise RuntimeError(
            f"Output {t._output_nr} of {type(t.grad_fn).__name__} is a view and is being modified "
            "inplace. This view is the output of a function that returns multiple views. Such "
            "functions do not allow the output views to be modified inplace. You should replace "
            "the inplace operation by an out-of-place one."
        )


def view_positions(base, view):
    """For each element of ``view`` (an array sharing ``base``'s memory), the C-order flat
    index of the same element in ``base``; None where the view is no strided window of it."""
    item = base.itemsize
    if any(s <= 0 for s in base.strides if s) or any(s < 0 for s in view.strides):
        return None
    start = base.__array_interface__["data"][0]
    offset, rem = divmod(view.__array_interface__["data"][0] - start, item)
    span = 1 + sum((n - 1) * s // item for n, s in zip(base.shape, base.strides) if n)
    if rem or offset < 0 or any(s % item for s in base.strides + view.strides):
        return None
    memory = np.full(span, -1, np.int64)  # base's memory, holding each element's flat index
    strides = tuple(s // item * 8 for s in base.strides)
    np.lib.stride_tricks.as_strided(memory, base.shape, strides)[...] = np.arange(
        base.size
    ).reshape(base.shape)
    vstrides = tuple(s // item * 8 for s in view.strides)
    ids = np.lib.stride_tricks.as_strided(memory[offset:], view.shape, vstrides).copy()
    return None if (ids < 0).any() else ids


def _stand_in_positions(base, view):
    """Positions for a meta view in its base: a meta view keeps no offset into its base, and
    as no value is ever read only the graph matters, so any positions in range do."""
    return (np.arange(view.size) % max(base.size, 1)).reshape(view.shape)


def rebase(base, old_base, ids, result):
    """Record on ``base`` that the elements at ``ids`` now hold ``result`` (PyTorch's
    CopySlices): later uses of the base differentiate through the in-place op on its view."""
    flat = old_base.reshape(-1).index_copy(0, wrap(ids.reshape(-1)), result.reshape(-1))
    new = flat.reshape(tuple(base._data.shape))
    base.grad_fn, base._output_nr, base._requires_grad = new.grad_fn, new._output_nr, True


def has_internal_overlap(arr):
    """Whether several elements of ``arr`` share one memory location (an expanded view); never
    for a meta array: nothing is written there, and PyTorch accepts in-place ops on an expanded
    meta tensor, nor for an empty array (NumPy may give its dims stride 0)."""
    if arr.__class__ is MetaArray or arr.size == 0 or 0 not in arr.strides:
        return False
    return any(st == 0 and n > 1 for n, st in zip(arr.shape, arr.strides))


def check_no_internal_overlap(t):
    if has_internal_overlap(t._data):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            f"single memory location (a tensor of shape {list(t.shape)} with strides "
            f"{list(t.stride())}). Please clone() the tensor before performing the operation."
        )


def _recorded_copy(t, arr):
    """A tensor holding ``arr`` that stands for ``t``'s old value in the graph."""
    old = wrap(arr)
    old._requires_grad, old.grad_fn, old._output_nr = t._requires_grad, t.grad_fn, t._output_nr
    return old


def _any_requires_grad(args):
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    return False


def inplace(self, fn, *args, **kwargs):
    """Compute ``fn(self, ...)`` and write it into ``self``'s memory (see the module docstring)."""
    check_inplace(self)
    check_no_internal_overlap(self)
    tracking = GRAD_ENABLED[0] and (self._requires_grad or _any_requires_grad(args))
    pending_rebase = None
    if tracking:
        result = fn(_recorded_copy(self, self._data.copy()), *args, **kwargs)
        base = self._base
        # A view of ``base``: recorded, or of a base outside the graph (not a detached alias).
        if (
            base is not None
            and self._data is not base._data
            and (self.grad_fn is not None or not base._requires_grad)
        ):
            ids = (
                _stand_in_positions(base._data, self._data)
                if self._data.__class__ is MetaArray
                else view_positions(base._data, self._data)
            )
            if ids is not None:
                pending_rebase = (base, _recorded_copy(base, base._data.copy()), ids)
    else:
        write = _DIRECT_WRITES.get(fn)
        if write is not None and write(self, args, kwargs):  # one pass, into self's memory
            return self
        with no_grad():
            result = fn(self, *args, **kwargs)
    r = result._data
    if r.shape != self._data.shape:
        if np.broadcast_shapes(r.shape, self._data.shape) != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(r.shape, self._data.shape))}"
            )
    if r.dtype != self._data.dtype and not np.can_cast(r.dtype, self._data.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {_dtype.from_np(r.dtype).name.capitalize()} can't be cast to the "
            f"desired output type {_dtype.from_np(self._data.dtype).name.capitalize()}"
        )
    np.copyto(self._data, r, casting="unsafe")
    self._vc[0] += 1
    if pending_rebase is not None:
        written = result if r.dtype == self._data.dtype else result.to(self.dtype)
        rebase(*pending_rebase, written.expand(tuple(self._data.shape)))
    if tracking:
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
    return self
