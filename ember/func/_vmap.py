"""vmap: map a function over a batch dimension of its inputs.

ember runs the function once per batch element and stacks the results along ``out_dims``.
That is exact, and composes with every other transform (``vmap(grad(f))`` gives
per-sample gradients), but it costs one call per element instead of one batched call.
``chunk_size`` therefore changes nothing but is checked as PyTorch does.
"""

import functools

from ember._ops.elementwise import equal
from ember._ops.shape import stack
from ember._random import get_rng_state, set_rng_state
from ember._tensor import Tensor
from ember.func._tree import broadcast_prefix, flatten, unflatten

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` applied to each slice of the inputs along ``in_dims`` (None: not mapped);
    the results are stacked along ``out_dims``.

    ``randomness``: 'error' raises when ``func`` draws random numbers, 'different' gives each
    element its own draws, 'same' gives every element the same draws.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        leaves, spec = flatten(args)
        dims = _input_dims(in_dims, args)
        size = _batch_size(leaves, dims, in_dims)
        results = _run(func, leaves, spec, dims, size, kwargs, randomness)
        return _stack_outputs(results, out_dims)

    return wrapped


def _input_dims(in_dims, args):
    if isinstance(in_dims, (int, type(None))):
        return broadcast_prefix(in_dims, args, "vmap: in_dims")
    if not isinstance(in_dims, (tuple, list)):
        raise ValueError(
            f"vmap: Expected in_dims to be int or a (potentially nested) tuple matching the "
            f"structure of inputs, got: {type(in_dims).__name__}."
        )
    if len(in_dims) != len(args):
        raise ValueError(
            f"vmap: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"{len(in_dims)} entries but there are {len(args)} positional inputs."
        )
    return broadcast_prefix(tuple(in_dims), args, "vmap: in_dims")


def _batch_size(leaves, dims, in_dims):
    sizes = []
    for leaf, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(f"vmap: in_dim entries must be int or None, got {d!r}")
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"vmap: Got in_dim={d} for an input but the input is of type "
                f"{type(leaf).__name__}. We cannot vmap over non-Tensor arguments, please use "
                "None as the respective in_dim"
            )
        if not -leaf.dim() <= d < leaf.dim():
            raise ValueError(
                f"vmap: Got in_dim={d} for some input, but that input is a Tensor of "
                f"dimensionality {leaf.dim()} so expected in_dim to satisfy "
                f"-{leaf.dim()} <= in_dim < {leaf.dim()}."
            )
        sizes.append(leaf.shape[d])
    if not sizes:
        raise ValueError(
            f"vmap(f, in_dims={in_dims!r}, ...)(<inputs>): at least one input must be a "
            "Tensor mapped over (in_dims not all None)"
        )
    if len(set(sizes)) != 1:
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    if sizes[0] == 0:
        raise ValueError("vmap: the mapped dimension has size 0; ember needs at least one element")
    return sizes[0]


def _run(func, leaves, spec, dims, size, kwargs, randomness):
    start = get_rng_state() if randomness != "different" else None
    results = []
    for i in range(size):
        if randomness == "same":
            set_rng_state(start)
        sliced = [v if d is None else v.select(d, i) for v, d in zip(leaves, dims)]
        results.append(func(*unflatten(sliced, spec), **kwargs))
        if randomness == "error" and not _same_state(start, get_rng_state()):
            set_rng_state(start)
            raise RuntimeError(
                "vmap: called random operation while in randomness error mode. Please either "
                "use the 'same' or 'different' randomness flags on vmap or perform the "
                "randomness operation out of vmap"
            )
    return results


def _same_state(a, b):
    return a.shape == b.shape and equal(a, b)


def _stack_outputs(results, out_dims):
    first, spec = flatten(results[0])
    columns = [[] for _ in first]
    for r in results:
        leaves, s = flatten(r)
        if s != spec:
            raise ValueError("vmap: the function returned outputs of different structures")
        for column, v in zip(columns, leaves):
            column.append(v)
    dims = broadcast_prefix(out_dims, results[0], "vmap: out_dims")
    stacked = []
    for column, d in zip(columns, dims):
        if d is None:
            stacked.append(_unmapped(column))
            continue
        if not isinstance(column[0], Tensor):
            raise ValueError(
                f"vmap: `func` must only return Tensors, got type {type(column[0]).__name__}. "
                "Did you mean to set out_dims= to None for output?"
            )
        ndim = column[0].dim() + 1
        if not -ndim <= d < ndim:
            raise ValueError(
                f"vmap: out_dim={d} is out of range for outputs of {ndim - 1} dimensions "
                f"(expected {-ndim} <= out_dim < {ndim})"
            )
        stacked.append(stack(column, dim=d))
    return unflatten(stacked, spec)


def _unmapped(column):
    """An output with out_dim None: the same for every element, so one of them is returned."""
    first = column[0]
    for v in column[1:]:
        same = (
            isinstance(v, Tensor) and v.shape == first.shape and bool((v == first).all())
            if isinstance(first, Tensor)
            else v == first
        )
        if not same:
            raise ValueError(
                "vmap: out_dims=None for an output that differs across the mapped dimension; "
                "only unbatched outputs can have out_dims=None"
            )
    return first
