"""Shape ops: views (view, transpose, expand, ...) share memory; joins and splits copy."""

import builtins
import functools

import numpy as np

from ember import _dtype
from ember._meta import meta_array
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import maybe_out
from ember._ops._util import int_sizes, norm_dim, norm_dims, shape_arg
from ember._ops.index import embed
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction, ViewFunction, untracked, untracked_view

__all__ = [
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "t",
    "swapaxes", "swapdims", "movedim", "moveaxis", "broadcast_to", "broadcast_tensors",
    "repeat_interleave", "tile", "cat", "concat", "concatenate", "stack", "hstack", "vstack",
    "dstack", "column_stack", "split", "chunk", "unbind", "narrow", "flip", "fliplr", "flipud",
    "roll", "tril", "triu", "diag", "diagonal", "meshgrid", "atleast_1d",
    "atleast_2d", "ravel", "select", "clone", "tensor_split", "rot90",
    "broadcast_shapes",
]  # fmt: skip


def _args_or_keyword(args, value, op, name):
    """Sizes or dims given as ``f(2, 3)``, ``f((2, 3))`` or by keyword ``f(name=(2, 3))``."""
    if value is None:
        return args
    if args:
        raise TypeError(f"{op}() got multiple values for argument '{name}'")
    return (value,)


def _requested_shape(args, numel, op):
    """The shape that ``view(*args)`` or ``reshape(*args)`` asks for on ``numel`` elements:
    plain ints (one of them -1) that fit are taken as they are (the common case); anything
    else goes through the checks and errors of `shape_arg` and `_infer_shape`."""
    sizes = int_sizes(args)
    if sizes is None:
        return _infer_shape(shape_arg(args, op), numel, op)
    product, inferred = 1, None
    for i, n in enumerate(sizes):
        if n < 0:
            if n != -1 or inferred is not None:
                return _infer_shape(sizes, numel, op)
            inferred = i
        else:
            product *= n
    if inferred is None and product == numel:
        return sizes
    if inferred is not None and product and numel % product == 0:
        return sizes[:inferred] + (numel // product,) + sizes[inferred + 1 :]
    return _infer_shape(sizes, numel, op)


def _infer_shape(shape, numel, op):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


class Reshape(ViewFunction):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def _reshaped(input, shape):
    """``Reshape.apply(input, shape)``, without building the node where it records nothing."""
    if untracked(input):
        return untracked_view(input, input._data.reshape(shape))
    return Reshape.apply(input, shape)


def view(self, *shape, size=None, dtype=None):
    """A view with another shape, or (given a dtype) the same bytes read as another dtype;
    fails where the memory layout does not allow one."""
    if len(shape) == 1 and not isinstance(shape[0], tuple | list | int | np.integer):
        shape, dtype = (), shape[0]
    if dtype is not None:
        if shape or size is not None:
            raise TypeError("view() takes either a dtype or a size, not both")
        return _view_dtype(self, _dtype.to_dtype(dtype))
    shape = _args_or_keyword(shape, size, "view", "size")
    data = self._data
    shape = _requested_shape(shape, data.size, "view")
    if data.flags.c_contiguous:  # any shape is a view of contiguous memory
        return _reshaped(self, shape)
    try:
        probe = data.view()
        probe.shape = shape
    except AttributeError:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return _reshaped(self, shape)


def _view_dtype(t, dtype):
    """The same memory read as ``dtype``; with another element size the last dim scales."""
    x, new = t._data, np.dtype(dtype.np)
    if new.itemsize != x.itemsize:
        what = f"to view {t.dtype} as {dtype} (different element sizes)"
        if x.ndim == 0:
            raise RuntimeError(f"view(dtype): self.dim() cannot be 0 {what}")
        if x.shape[-1] != 1 and x.size and x.strides[-1] != x.itemsize:
            raise RuntimeError(
                f"view(dtype): self.stride(-1) must be 1 {what}, but got "
                f"{x.strides[-1] // x.itemsize}"
            )
        ratio = new.itemsize // x.itemsize
        if ratio > 1 and x.shape[-1] % ratio:
            raise RuntimeError(
                f"view(dtype): self.size(-1) must be divisible by {ratio} {what}, but got "
                f"{x.shape[-1]}"
            )
    try:
        return wrap(x.view(new))
    except ValueError as e:
        raise RuntimeError(f"view(dtype): cannot view {t.dtype} as {dtype}: {e}") from None


def reshape(input, *args, shape=None):
    """``input`` with another shape: a view when possible, else a copy."""
    args = _args_or_keyword(args, shape, "reshape", "shape")
    return _reshaped(input, _requested_shape(args, input._data.size, "reshape"))


def view_as(self, other):
    return self.view(other.shape)


def reshape_as(self, other):
    return self.reshape(other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input._data.ndim
    if nd == 0:
        return input.reshape(1)
    s, e = norm_dim(start_dim, nd, "flatten"), norm_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shp = input._data.shape
    return input.reshape(shp[:s] + (-1 if 0 not in shp else int(np.prod(shp[s : e + 1])),)
                         + shp[e + 1 :])  # fmt: skip


def ravel(input):
    return input.reshape(-1)


@numpy_kwargs
def unflatten(input, dim, sizes):
    d = norm_dim(dim, input._data.ndim, "unflatten")
    shp = input._data.shape
    sizes = _infer_shape(sizes, shp[d], "unflatten")
    return input.reshape(shp[:d] + tuple(sizes) + shp[d + 1 :])


@numpy_kwargs
def squeeze(input, dim=None):
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = norm_dims(dim, input._data.ndim, "squeeze") if shp else ()
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    return _reshaped(input, new)


@numpy_kwargs
def unsqueeze(input, dim):
    nd = input._data.ndim
    d = norm_dim(dim, nd + 1, "unsqueeze")
    shp = input._data.shape
    return _reshaped(input, shp[:d] + (1,) + shp[d:])


class Permute(ViewFunction):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(tuple(np.argsort(ctx.dims).tolist())), None


def _permuted(input, dims):
    """``Permute.apply(input, dims)``, without building the node where it records nothing."""
    if untracked(input):
        return untracked_view(input, input._data.transpose(dims))
    return Permute.apply(input, dims)


def permute(input, *args, dims=None):
    dims = shape_arg(_args_or_keyword(args, dims, "permute", "dims"), "permute")
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    return _permuted(input, norm_dims(dims, nd, "permute"))


def transpose(input, dim0, dim1):
    nd = input._data.ndim
    if nd == 0:
        return _permuted(input, ())
    d0, d1 = norm_dim(dim0, nd, "transpose"), norm_dim(dim1, nd, "transpose")
    order = list(range(nd))
    order[d0], order[d1] = order[d1], order[d0]
    return _permuted(input, tuple(order))


def swapaxes(input, axis0, axis1):
    return transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    return transpose(input, dim0, dim1)


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return _permuted(input, tuple(range(input._data.ndim))[::-1])


def reversed_dims(self):
    """``Tensor.T`` (and ``H``: ember's tensors are real): the dims in reverse order."""
    return _permuted(self, tuple(range(self._data.ndim))[::-1])


def last_two_dims_swapped(self):
    """``Tensor.mT`` (and ``mH``): the last two dims transposed."""
    return self.transpose(-2, -1)


def movedim(input, source, destination):
    nd = input._data.ndim
    src = norm_dims(source, nd, "movedim")
    dst = norm_dims(destination, nd, "movedim")
    if nd == 0:  # dim 0 or -1 of a 0-d tensor: nothing moves
        return _permuted(input, ())
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permuted(input, tuple(order))


moveaxis = movedim


class Expand(ViewFunction):
    @staticmethod
    def forward(ctx, x, shape):
        out = np.broadcast_to(x, shape)
        if isinstance(out, np.ndarray) and x.flags.writeable:
            # NumPy marks broadcast views read-only; PyTorch lets an expanded tensor be
            # written (in-place ops then refuse to write one memory location twice).
            out = np.lib.stride_tricks.as_strided(x, out.shape, out.strides)
        return out

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums the broadcast dims back


def expand(self, *args, size=None, implicit=False):
    """A view repeating size-1 dims (``implicit`` only marks tracing in PyTorch: ignored)."""
    sizes = shape_arg(_args_or_keyword(args, size, "expand", "size"), "expand")
    shp = self._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand({self.dtype}{{{list(shp)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(shp)})"
        )
    lead = len(sizes) - len(shp)
    target = tuple(s if s != -1 else shp[i - lead] for i, s in enumerate(sizes))
    for i, s in enumerate(shp):
        if s != 1 and s != target[i + lead]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[i + lead]}) must match the existing "
                f"size ({s}) at non-singleton dimension {i + lead}.  Target sizes: "
                f"{list(sizes)}.  Tensor sizes: {list(shp)}"
            )
    return Expand.apply(self, target)


def expand_as(self, other):
    return self.expand(other.shape)


def broadcast_to(input, size):
    return input.expand(size)


def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast: {shapes}") from None


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


class Clone(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):
    return Clone.apply(input)


def contiguous(self, memory_format=None):
    if self._data.flags.c_contiguous:
        return self
    return Clone.apply(self)


def _skipped_by_cat(shape):
    """Whether cat skips an input of ``shape``: 1-d and empty, as PyTorch skips it."""
    return len(shape) == 1 and shape[0] == 0


class Cat(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        sizes, parts = [], []
        for x in xs:
            if _skipped_by_cat(x.shape):
                sizes.append(None)  # (its gradient is an empty tensor)
            else:
                sizes.append(x.shape[dim])
                parts.append(x)
        if not parts:  # all 1-d and empty
            ctx.sizes = [0] * len(xs)
            return np.concatenate(xs)
        ctx.sizes = sizes
        return np.concatenate(parts, axis=dim)

    @staticmethod
    def backward(ctx, g):
        out, start = [None], 0
        for s in ctx.sizes:
            if s is None:
                out.append(g.new_zeros((0,)))
                continue
            out.append(g.narrow(ctx.dim, start, s))
            start += s
        return tuple(out)


def _tensor_list(tensors, op):
    """``tensors`` as a list, each element checked to be a Tensor as PyTorch checks a
    TensorList argument."""
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{op}(): expected Tensor as element {i} in argument 0, but got {type(x).__name__}"
            )
    return tensors


def _promoted(tensors):
    """``tensors`` in their common dtype (PyTorch's promotion), unchanged when they share one."""
    dt = tensors[0]._data.dtype
    for x in tensors:
        if x._data.dtype != dt:
            common = _dtype.result_type(*tensors)
            return [x if x.dtype is common else x.to(common) for x in tensors]
    return tensors


@numpy_kwargs
def cat(tensors, dim=0, *, out=None):
    """Join tensors along an existing dim (1-d empty tensors are skipped, as in PyTorch)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    tensors = _promoted(tensors)
    shapes = [x._data.shape for x in tensors]
    ref = shapes[0]
    if _skipped_by_cat(ref):
        ref = next((s for s in shapes if not _skipped_by_cat(s)), ref)
    if not ref:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = norm_dim(dim, len(ref), "cat")
    for i, shape in enumerate(shapes):
        if shape == ref or _skipped_by_cat(shape):
            continue
        if len(shape) != len(ref) or any(
            a != b for j, (a, b) in enumerate(zip(shape, ref)) if j != d
        ):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size "
                f"{list(ref)} but got size {list(shape)} for tensor number {i} in the list."
            )
    return maybe_out(Cat.apply(d, *tensors), out)


concat = cat


def concatenate(tensors, axis=0, *, dim=None, out=None):
    """cat, with NumPy's argument name ``axis`` (``dim`` is accepted too)."""
    return cat(tensors, axis if dim is None else dim, out=out)


def stack_arrays(arrays, dim=0):
    """``np.stack(arrays, dim)``; along dim 0, arrays of one dim or more as one concatenation,
    reshaped (NumPy's stack makes a view of each array first, which costs more than the copy
    for small ones: 32 arrays of 16 elements 8.7 us, concatenated 2.9)."""
    shape = arrays[0].shape
    if dim == 0 and shape:
        return np.concatenate(arrays).reshape((len(arrays), *shape))
    return np.stack(arrays, axis=dim)


class Stack(ArrayFunction):
    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        return stack_arrays(xs, dim)

    @staticmethod
    def backward(ctx, g):
        return (None, *g.unbind(ctx.dim))


@numpy_kwargs
def stack(tensors, dim=0, *, out=None):
    """Join tensors of equal shape along a new dim: one copy, as one node of the graph."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shp)} at entry 0 "
                f"and {list(x._data.shape)} at entry {i}"
            )
    tensors = _promoted(tensors)
    d = norm_dim(dim, len(shp) + 1, "stack")
    return maybe_out(Stack.apply(d, *tensors), out)


def hstack(tensors):
    tensors = [atleast_1d(x) for x in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(x) for x in tensors], 0)


def dstack(tensors):
    ts = []
    for x in tensors:
        x = atleast_2d(x)
        ts.append(x.unsqueeze(-1) if x.ndim == 2 else x)
    return cat(ts, 2)


def column_stack(tensors):
    return hstack([x.reshape(-1, 1) if x.ndim <= 1 else x for x in tensors])


def atleast_1d(x):
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x):
    return x.reshape(1, -1) if x.ndim < 2 else x


class Slice(ViewFunction):
    """A view of ``x[key]`` for a key of ints and slices (narrow, select, split)."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.shape = key, x.shape
        return x[key]

    @staticmethod
    def backward(ctx, g):
        return embed(g, ctx.shape, ctx.key), None


@numpy_kwargs
def narrow(input, dim, start, length):
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input._data.ndim, "narrow")
    n = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return Slice.apply(input, key)


@numpy_kwargs
def select(input, dim, index):
    if input._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input._data.ndim, "select")
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    return Slice.apply(input, (slice(None),) * d + (int(index) % n,))


def split(tensor, split_size_or_sections, dim=0):
    d = norm_dim(dim, tensor._data.ndim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got {n}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sizes}"
            )
    return Split.apply(tensor, d, tuple(sizes))


class Split(ViewFunction):
    """Views of consecutive pieces of ``x`` along ``dim``, of the given sizes (split, chunk).

    One op for all the pieces: its backward concatenates their gradients, where a slice per
    piece gave each a gradient of the whole input's size, zero outside it, to be summed. As
    in PyTorch, the pieces refuse in-place changes while autograd records them."""

    _multiple_views = True

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        lead, pieces, start = (slice(None),) * dim, [], 0
        for size in sizes:
            pieces.append(x[(*lead, slice(start, start + size))])
            start += size
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def split_method(self, split_size, dim=0):
    """``Tensor.split``: its first argument is named ``split_size``, not as in ``ember.split``."""
    return split(self, split_size, dim)


@numpy_kwargs
def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None):
    given = [v for v in (indices_or_sections, sections, indices) if v is not None]
    if len(given) != 1:
        raise TypeError(
            "tensor_split() expects exactly one of indices_or_sections, sections, indices"
        )
    indices_or_sections = given[0]
    d = norm_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        return split(input, sizes, d)
    bounds = [0] + [builtins.min(int(i), n) for i in indices_or_sections] + [n]
    return tuple(input.narrow(d, a, builtins.max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))


@numpy_kwargs
def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    n = input._data.shape[norm_dim(dim, input._data.ndim, "chunk")]
    step = -(-n // chunks) if n else 1
    return split(input, step, dim)


@numpy_kwargs
def unbind(input, dim=0):
    _require_dims(input, dim, "unbind")
    d = norm_dim(dim, input._data.ndim, "unbind")
    return tuple(input.select(d, i) for i in range(input._data.shape[d]))


def _require_dims(input, dim, op):
    """PyTorch's error for ops that need a real dim (roll, unbind) given a 0-d tensor."""
    if input._data.ndim == 0:
        raise IndexError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")


class Flip(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


def flip(input, *args, dims=None):
    args = _args_or_keyword(args, dims, "flip", "dims")
    dims = norm_dims(shape_arg(args, "flip"), input._data.ndim, "flip")
    return Flip.apply(input, dims if input._data.ndim else ())


def fliplr(input):
    return input.flip(1)


def flipud(input):
    return input.flip(0)


class Roll(ArrayFunction):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return g.roll(neg, ctx.dims), None, None


def roll(input, shifts, dims=None):
    if isinstance(shifts, list):
        shifts = tuple(shifts)
    if isinstance(dims, list):
        dims = tuple(dims)
    if dims is not None:
        _require_dims(input, dims, "roll")
    return Roll.apply(input, shifts, dims)


def rot90(input, k=1, dims=(0, 1)):
    k %= 4
    d0, d1 = dims
    if k == 0:
        return input.clone()
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip(d0, d1)
    return input.transpose(d0, d1).flip(d1)


class _Mask(ArrayFunction):
    """Multiply by a fixed mask (tril, triu)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask  # built from the shape by the caller, never a user tensor
        return np.where(mask, x, np.zeros((), x.dtype))

    @staticmethod
    def backward(ctx, g):
        return _Mask.apply(g, ctx.mask), None


def _tri_mask(shape, diagonal, lower):
    return _tri_mask_of(shape[-2], shape[-1], diagonal, lower)


@functools.lru_cache(maxsize=64)
def _tri_mask_of(n, m, diagonal, lower):
    """The (n, m) mask of tril (``lower``) or triu, read-only: kept for the next call (a model
    masks the same shape every step)."""
    mask = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1, dtype=bool)
    mask.setflags(write=False)
    return mask


def tril(input, diagonal=0):
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return _Mask.apply(input, _tri_mask(input._data.shape, diagonal, True))


def triu(input, diagonal=0):
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return _Mask.apply(input, _tri_mask(input._data.shape, diagonal, False))


class Diagonal(ViewFunction):
    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.shape, ctx.args = x.shape, (offset, d1, d2)
        return np.diagonal(x, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        return DiagonalBackward.apply(g, ctx.shape, *ctx.args), None, None, None


class DiagonalBackward(ArrayFunction):
    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = np.zeros(shape, g.dtype)
        view = np.diagonal(out, offset, d1, d2)
        view.setflags(write=True)
        view[...] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg.diagonal(*ctx.args), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    return Diagonal.apply(input, offset, norm_dim(dim1, nd, "diagonal"),
                          norm_dim(dim2, nd, "diagonal"))  # fmt: skip


def diag(input, diagonal=0):
    if input._data.ndim == 1:
        n = input._data.shape[0] + builtins.abs(diagonal)
        return DiagonalBackward.apply(input, (n, n), diagonal, 0, 1)
    if input._data.ndim == 2:
        return input.diagonal(diagonal).clone()
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")


def diag_embed(input, offset=0):
    """Each last-dim vector on the diagonal (``offset``) of the last two dims of a new tensor;
    construction.diag_embed places those dims anywhere."""
    n = input.shape[-1] + builtins.abs(offset)
    shape = tuple(input.shape[:-1]) + (n, n)
    return DiagonalBackward.apply(input, shape, offset, len(shape) - 2, len(shape) - 1)


def repeat(self, *args, repeats=None):
    sizes = shape_arg(_args_or_keyword(args, repeats, "repeat", "repeats"), "repeat")
    if len(sizes) < self._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    x = self.reshape((1,) * (len(sizes) - self._data.ndim) + self._data.shape)
    # Interleave a size-k broadcast axis before each dim, then merge: a pure view + one copy.
    inter = []
    for k, s in zip(sizes, x.shape):
        inter += [k, s]
    expanded = x.reshape(tuple(v for s in x.shape for v in (1, s))).expand(tuple(inter))
    return expanded.reshape(tuple(k * s for k, s in zip(sizes, x.shape)))


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return input.repeat(dims)


def _repeated_indices(repeats, output_size):
    """0, 1, 2, ... each repeated ``repeats[i]`` times (int64); a meta ``repeats`` has no
    values, so only ``output_size`` can give the length."""
    if repeats.dim() != 1:
        raise RuntimeError(
            "repeat_interleave only accept 1D vector as repeat, got repeats of shape "
            f"{list(repeats.shape)}"
        )
    if repeats._data.dtype not in (np.int64, np.int32):
        raise NotImplementedError(
            f"repeat_interleave: repeats must be an int64 or int32 tensor, got {repeats.dtype}"
        )
    if repeats.is_meta:
        if output_size is None:
            raise RuntimeError(
                "repeat_interleave: cannot repeat_interleave a meta tensor without output_size"
            )
        return wrap(meta_array((output_size,), np.int64))
    r = repeats._data
    if r.size and r.min() < 0:
        raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {r.tolist()}")
    idx = np.repeat(np.arange(r.size), r)
    if output_size is not None and output_size != idx.size:
        raise RuntimeError(
            f"repeat_interleave: Invalid output_size, expected {idx.size} but got {output_size}"
        )
    return wrap(idx)


@numpy_kwargs
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each slice of ``input`` along ``dim`` (of the flattened input when None) repeated
    ``repeats`` times (a number, or one count per slice); ``repeat_interleave(counts)`` alone
    gives the indices 0, 1, ... each repeated ``counts[i]`` times."""
    if repeats is None:
        return _repeated_indices(input, output_size)
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    d = norm_dim(dim, input._data.ndim, "repeat_interleave")
    n = input._data.shape[d]
    if not isinstance(repeats, Tensor):
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: Repeats must be non-negative, got {repeats}")
        repeats = wrap(np.full(n, repeats, np.int64))
    if repeats.dim() > 1:
        raise RuntimeError(
            "repeat_interleave: repeats must be 0-dim or 1-dim tensor, got repeats of shape "
            f"{list(repeats.shape)}"
        )
    if repeats.numel() == 1:
        repeats = repeats.reshape(1).expand(n)
    elif repeats.numel() != n:
        raise RuntimeError(
            "repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{repeats.numel()} and input.size({d}) = {n}"
        )
    index = _repeated_indices(repeats, output_size)
    if index.is_meta and not input.is_meta:
        raise NotImplementedError(
            "repeat_interleave: repeats on the meta device have no values to repeat the "
            f"slices of a {input.device.type} tensor by"
        )
    return input.index_select(d, index.to(input.device))


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    shape = tuple(t.numel() for t in tensors)
    n = len(tensors)
    outs = []
    for i, t in enumerate(tensors):
        view = [1] * n
        view[i] = -1
        outs.append(t.reshape(view).expand(shape))
    if indexing == "xy" and n >= 2:
        outs = [o.transpose(0, 1) for o in outs]
    return tuple(outs)


@numpy_kwargs
def squeeze_(self, dim=None):
    return _set_shape(self, self.squeeze(dim))


@numpy_kwargs
def unsqueeze_(self, dim):
    return _set_shape(self, self.unsqueeze(dim))


def t_(self):
    return _set_shape(self, self.t())


def transpose_(self, dim0, dim1):
    return _set_shape(self, self.transpose(dim0, dim1))


def _set_shape(t, new):
    t._data = new._data
    t.grad_fn, t._output_nr = new.grad_fn, new._output_nr
    return t
