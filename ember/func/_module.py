"""functional_call and stack_module_state: modules as functions of their parameters."""

import contextlib

from ember._ops.shape import stack
from ember._tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]


def functional_call(
    module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False
):
    """Call ``module`` with the given tensors in place of its parameters and buffers.

    Names are those of ``named_parameters``/``named_buffers``; names left out keep the
    module's own tensors. The module is restored afterwards, also when the call raises.
    With ``tie_weights``, a tensor given for one name of a tied parameter is used for all of
    its names.
    """
    replacements = _merge(parameter_and_buffer_dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = kwargs or {}
    slots = _slots(module)
    unknown = [name for name in replacements if name not in slots]
    if unknown:
        raise RuntimeError(
            f"functional_call got unexpected key(s): {unknown}; the module's parameters and "
            f"buffers are {sorted(slots)}"
        )
    if strict:
        missing = sorted(set(slots) - set(replacements))
        if missing:
            raise RuntimeError(f"functional_call got missing key(s) with strict=True: {missing}")
    if tie_weights:
        replacements = _tie(replacements, slots)
    with _swapped(slots, replacements):
        return module(*args, **kwargs)


def _merge(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (tuple, list)) or not all(isinstance(d, dict) for d in dicts):
        raise TypeError(
            "functional_call: parameter_and_buffer_dicts must be a dict or a tuple of dicts, "
            f"got {type(dicts).__name__}"
        )
    merged = {}
    for d in dicts:
        for name, value in d.items():
            if name in merged:
                raise ValueError(
                    f"functional_call: {name!r} appeared in multiple dictionaries; behavior of "
                    "functional call is ambiguous"
                )
            merged[name] = value
    return merged


def _slots(module):
    """Dotted name -> (owning module, store name, attribute, original tensor), for every
    parameter and buffer, tied ones under each of their names."""
    slots = {}
    for prefix, owner in module.named_modules(remove_duplicate=False):
        for store in ("_parameters", "_buffers"):
            for attr, tensor in owner.__dict__[store].items():
                name = f"{prefix}.{attr}" if prefix else attr
                slots[name] = (owner, store, attr, tensor)
    return slots


def _tie(replacements, slots):
    """Give every name of a tied tensor the replacement given for one of its names."""
    by_original = {}
    for name, value in replacements.items():
        original = slots[name][3]
        if original is None:
            continue
        earlier = by_original.setdefault(id(original), (name, value))
        if earlier[1] is not value:
            raise ValueError(
                f"functional_call got multiple values for keys {[earlier[0], name]}, which are "
                "tied. Consider using tie_weights=False"
            )
    tied = dict(replacements)
    for name, (_, _, _, original) in slots.items():
        if name not in tied and original is not None and id(original) in by_original:
            tied[name] = by_original[id(original)][1]
    return tied


@contextlib.contextmanager
def _swapped(slots, replacements):
    done = []
    try:
        for name, value in replacements.items():
            owner, store, attr, original = slots[name]
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"functional_call: expected a Tensor for {name!r}, got {type(value).__name__}"
                )
            owner.__dict__[store][attr] = value
            done.append((owner, store, attr, original))
        yield
    finally:
        for owner, store, attr, original in reversed(done):
            owner.__dict__[store][attr] = original


def stack_module_state(models):
    """``(params, buffers)``: each module's parameters and buffers stacked along a new first
    dimension, keyed by name, for ``vmap`` over an ensemble with ``functional_call``.

    The stacked parameters are new leaves (requiring grad when the originals do); the
    modules are not changed.
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    kind = type(models[0])
    if not all(type(m) is kind for m in models):
        raise RuntimeError(
            "stack_module_state: Expected all models to be of the same class, got "
            f"{sorted({type(m).__name__ for m in models})}"
        )
    params = {}
    for name, first in models[0].named_parameters():
        group = [dict(m.named_parameters())[name] for m in models]
        if any(p.requires_grad != first.requires_grad for p in group):
            raise RuntimeError(
                f"stack_module_state: Expected {name} from each model to have the same "
                "requires_grad"
            )
        params[name] = stack([p.detach() for p in group]).requires_grad_(first.requires_grad)
    buffers = {
        name: stack([dict(m.named_buffers())[name] for m in models])
        for name, _ in models[0].named_buffers()
    }
    return params, buffers
