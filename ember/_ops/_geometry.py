"""Geometry of windowed ops: int-or-tuple arguments, output sizes and "same" padding.

Convolutions, pooling, fold/unfold and their modules all read their sizes from here, so one
formula serves every rank and every layer.
"""

import math

__all__ = [
    "_ntuple", "_single", "_pair", "_triple", "conv_output_size", "windows_extent",
    "transposed_output_size", "output_padding_for", "resolve_padding",
]  # fmt: skip


def _ntuple(n):
    """A parser turning an int into an ``n``-tuple; a tuple or list is kept as a tuple.

    Called with ``name`` and ``op``, the parser also checks that the result has ``n`` values.
    """

    def parse(value, name=None, op=None):
        out = tuple(value) if isinstance(value, tuple | list) else (value,) * n
        if name is not None and len(out) != n:
            raise RuntimeError(f"{op}: expected {name} to be a single int or {n} ints, got {value}")
        return out

    parse.__name__ = f"_ntuple_{n}"
    return parse


_single = _ntuple(1)
_pair = _ntuple(2)
_triple = _ntuple(3)


def conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """How many windows of a convolution or pooling fit along one axis.

    With ``ceil_mode`` a last partial window counts too, as long as it starts inside the input
    or the left padding (PyTorch's pooling rule).
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    count = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def windows_extent(count, kernel, stride, dilation):
    """How far ``count`` windows reach along one axis, from the first one's start to the last
    one's end."""
    return (count - 1) * stride + dilation * (kernel - 1) + 1


def transposed_output_size(size, kernel, stride, padding, dilation, output_padding=0):
    """Length of a transposed convolution's output along one axis."""
    return windows_extent(size, kernel, stride, dilation) - 2 * padding + output_padding


def output_padding_for(output_size, input_size, kernel, stride, padding, dilation):
    """The output padding per axis that makes a transposed convolution reach ``output_size``
    (which may carry leading batch and channel sizes)."""
    target = tuple(output_size)[-len(input_size) :]
    return tuple(
        t - transposed_output_size(i, k, s, p, d)
        for t, i, k, s, p, d in zip(target, input_size, kernel, stride, padding, dilation)
    )


def resolve_padding(padding, kernel, dilation, stride, op):
    """(padding on both sides, extra padding on the high side) per axis.

    ``padding`` is an int, a tuple, ``"valid"`` or ``"same"``; "same" pads ``dilation *
    (kernel - 1)`` in all, the odd element on the high side, and needs unit strides.
    """
    n = len(kernel)
    if padding == "valid":
        return (0,) * n, (0,) * n
    if padding == "same":
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple(t // 2 for t in total), tuple(t % 2 for t in total)
    if isinstance(padding, str):
        raise RuntimeError(
            f"{op}: Invalid padding string '{padding}', should be one of ['valid', 'same']"
        )
    return _ntuple(n)(padding, "padding", op), (0,) * n
