"""PyTorch's ``nn.modules.utils``: int-or-tuple parsers and a state-dict prefix helper."""

from ember._ops._geometry import _ntuple, _pair, _single, _triple

_quadruple = _ntuple(4)

__all__ = [
    "_ntuple",
    "_single",
    "_pair",
    "_triple",
    "_quadruple",
    "_reverse_repeat_tuple",
    "_list_with_default",
    "consume_prefix_in_state_dict_if_present",
]


def _reverse_repeat_tuple(t, n):
    """Each value of ``t``, from last to first, repeated ``n`` times: (1, 2), 2 -> (2, 2, 1, 1)."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults):
    """``out_size`` with each None replaced by the matching trailing size of ``defaults``."""
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    tail = defaults[-len(out_size) :]
    return [d if v is None else v for v, d in zip(out_size, tail)]


def consume_prefix_in_state_dict_if_present(state_dict, prefix):
    """Strip ``prefix`` from the keys (and metadata keys) of ``state_dict`` having it, in place."""
    for key in sorted(state_dict.keys()):
        if key.startswith(prefix):
            state_dict[key[len(prefix) :]] = state_dict.pop(key)
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        for key in list(metadata.keys()):
            if key + "." == prefix:
                metadata[""] = metadata.pop(key)
            elif key.startswith(prefix):
                metadata[key[len(prefix) :]] = metadata.pop(key)
