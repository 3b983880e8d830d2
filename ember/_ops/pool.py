"""Pooling in 1, 2 and 3 dimensions: max (with indices), average, adaptive, max-unpooling.

Each op is one Function whose forward runs a kernel of the registry (`max_pool`, `avg_pool`,
`adaptive_max_pool`, `max_unpool`: the NumPy ones work on any number of spatial axes) and
whose backward is made of Functions again, so every derivative order runs on the same
kernels: max pooling's gradient sends values to the window cell that won (`MaxPoolGrad`),
whose own gradient reads them back from there (`MaxPoolSelect`); average pooling and its
gradient are each other's adjoints. Adaptive average pooling is a product with averaging
matrices (or a mean, when the windows tile the input).
"""

import numpy as np

from ember._ops._geometry import (
    _ntuple,
    _pair,
    _single,
    conv_output_size,
    transposed_output_size,
    windows_extent,
)
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction
from ember.backends.registry import call

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "lp_pool2d",
]  # fmt: skip


class MaxPool(ArrayFunction):
    """The maximum of each window; with ``want_indices`` also its flat index in the plane.

    ``geometry`` is (kernel, stride, dilation, pads), pads (low, high) per spatial axis.
    """

    @staticmethod
    def forward(ctx, x, geometry, out_size, want_indices):
        out, winners = call("max_pool", x, *geometry, out_size)
        ctx.geometry = geometry
        if not want_indices:
            ctx.save_for_backward(x, winners)  # the input only for the version check, as torch
            return out
        indices = call("max_pool_indices", winners, *geometry, x.shape[2:])
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(x, winners, indices)  # input and indices: version checks
        return out, indices

    @staticmethod
    def backward(ctx, grad, *_indices_grad):
        x, winners = ctx.saved_tensors[:2]
        return MaxPoolGrad.apply(grad, winners, tuple(x.shape), ctx.geometry), None, None, None


class MaxPoolGrad(ArrayFunction):
    """Each gradient value sent to its window's winning cell of a zero input-shaped array.

    ``geometry`` is the pooling's, or None when the winners are flat plane indices.
    """

    @staticmethod
    def forward(ctx, grad, winners, in_shape, geometry):
        ctx.save_for_backward(winners)
        ctx.geometry = geometry
        return call("max_pool_grad", grad, winners, in_shape, geometry)

    @staticmethod
    def backward(ctx, grad):
        (winners,) = ctx.saved_tensors
        return MaxPoolSelect.apply(grad, winners, ctx.geometry), None, None, None


class MaxPoolSelect(ArrayFunction):
    """The value at each window's winning cell: the adjoint of `MaxPoolGrad`."""

    @staticmethod
    def forward(ctx, a, winners, geometry):
        ctx.save_for_backward(winners)
        ctx.geometry, ctx.in_shape = geometry, a.shape
        return call("max_pool_select", a, winners, geometry)

    @staticmethod
    def backward(ctx, grad):
        (winners,) = ctx.saved_tensors
        return MaxPoolGrad.apply(grad, winners, ctx.in_shape, ctx.geometry), None, None


class AdaptiveMaxPool(ArrayFunction):
    """The maximum over each of PyTorch's adaptive windows, and its flat index in the plane."""

    @staticmethod
    def forward(ctx, x, out_size):
        out, indices = call("adaptive_max_pool", x, out_size)
        ctx.save_for_backward(x, indices)  # the input only for the version check, as torch
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, grad, _indices_grad):
        x, indices = ctx.saved_tensors
        return MaxPoolGrad.apply(grad, indices, tuple(x.shape), None), None


class MaxUnpool(ArrayFunction):
    """Values written to their flat plane indices of zeros (where indices repeat, the last
    wins)."""

    @staticmethod
    def forward(ctx, x, indices, out_shape):
        ctx.save_for_backward(indices)
        return call("max_unpool", x, indices, out_shape)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return MaxPoolSelect.apply(grad, indices, None), None, None


class AvgPool(ArrayFunction):
    """Window sums over ``divisor``; ``geometry`` is (kernel, stride, pads)."""

    @staticmethod
    def forward(ctx, x, geometry, out_size, divisor):
        ctx.save_for_backward(x)  # for the version check only, as torch
        ctx.geometry, ctx.divisor = geometry, divisor  # divisor: per-window counts
        return call("avg_pool", x, *geometry, out_size, divisor)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return AvgPoolGrad.apply(grad, tuple(x.shape), ctx.geometry, ctx.divisor), None, None, None


class AvgPoolGrad(ArrayFunction):
    """The adjoint of average pooling: each window's gradient spread over its cells."""

    @staticmethod
    def forward(ctx, grad, in_shape, geometry, divisor):
        ctx.geometry, ctx.divisor, ctx.out_size = geometry, divisor, grad.shape[2:]
        return call("avg_pool_grad", grad, in_shape, *geometry, divisor)

    @staticmethod
    def backward(ctx, grad):
        out = AvgPool.apply(grad, ctx.geometry, ctx.out_size, ctx.divisor)
        return out, None, None, None


def _check_pool_args(op, k, s, p, d):
    """PyTorch's errors for non-positive kernel sizes, strides and dilations, negative pads."""
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(x <= 0 for x in v):
            raise RuntimeError(f"{op}: {name} should be greater than zero, but got {name}={v}")
    if any(x < 0 for x in p):
        raise RuntimeError(f"{op}: pad must be non-negative, but got pad={p}")


def _check_rank(op, input, rank):
    if input.dim() not in (rank + 1, rank + 2):
        raise RuntimeError(
            f"{op}: Expected {rank + 1}D or {rank + 2}D input, got {list(input.shape)}"
        )


def _geometry(op, rank, x, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel, stride, dilation, pads, out_size) of a pooling of batched ``x``; pads are
    (low, high) per axis, the high side grown so that every window lies in the padded input."""
    parse = _ntuple(rank)
    k = parse(kernel_size, "kernel_size", op)
    s = parse(stride, "stride", op) if stride not in (None, []) else k
    p, d = parse(padding, "padding", op), parse(dilation, "dilation", op)
    _check_pool_args(op, k, s, p, d)
    if any(pp > kk // 2 for pp, kk in zip(p, k)):
        raise RuntimeError(
            f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
            f"kernel_size={k}"
        )
    size = tuple(x.shape[2:])
    out = tuple(map(conv_output_size, size, k, s, p, d, (ceil_mode,) * rank))
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"{op}: Given input size ({'x'.join(map(str, x.shape[1:]))}), calculated output "
            f"size ({'x'.join(map(str, (x.shape[1], *out)))}). Output size is too small"
        )
    pads = tuple(
        (pp, pp + max(0, windows_extent(o, kk, ss, dd) - (n + 2 * pp)))
        for n, o, kk, ss, pp, dd in zip(size, out, k, s, p, d)
    )
    return k, s, d, pads, out


def _batched(fn, input, rank, *args):
    """Run ``fn`` on ``input`` with a batch axis, added and removed where it had none."""
    if input.dim() == rank + 2:
        return fn(input, *args)
    r = fn(input.unsqueeze(0), *args)
    return tuple(t.squeeze(0) for t in r) if isinstance(r, tuple) else r.squeeze(0)


def _max_pool(op, rank, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_rank(op, input, rank)

    def run(x):
        k, s, d, pads, out = _geometry(
            op, rank, x, kernel_size, stride, padding, dilation, ceil_mode
        )
        return MaxPool.apply(x, (k, s, d, pads), out, return_indices)

    return _batched(run, input, rank)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(op, rank, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):  # fmt: skip
    _check_rank(op, input, rank)

    def run(x):
        k, s, _, pads, out = _geometry(op, rank, x, kernel_size, stride, padding, 1, ceil_mode)
        if divisor_override is not None:
            divisor = float(divisor_override)
        else:
            # Count the cells of each window that lie in the input (plus the declared padding
            # when count_include_pad), never the extra cells ceil_mode adds.
            size = x.shape[2:]
            mask = np.zeros([1, 1, *(n + lo + hi for n, (lo, hi) in zip(size, pads))])
            if count_include_pad:
                inside = tuple(slice(0, n + 2 * lo) for n, (lo, _) in zip(size, pads))
            else:
                inside = tuple(slice(lo, lo + n) for n, (lo, _) in zip(size, pads))
            mask[(slice(None), slice(None), *inside)] = 1
            divisor = call("avg_pool", mask, k, s, ((0, 0),) * rank, out, 1.0)
        return AvgPool.apply(x, (k, s, pads), out, divisor)

    return _batched(run, input, rank)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override,
    )  # fmt: skip


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override,
    )  # fmt: skip


def _check_adaptive(input, output_size, op, spatial):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got: "
            f"{list(input.shape)}"
        )
    sizes = tuple(input.shape[-spatial:])
    if 0 in sizes:
        raise RuntimeError(
            f"{op}(): Expected input to have non-zero size for non-batch dimensions, but input "
            f"has sizes {list(input.shape)}"
        )
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')
    out = (output_size,) * spatial if isinstance(output_size, int) else tuple(output_size)
    if len(out) != spatial:
        raise RuntimeError(f"{op}(): output_size must have {spatial} elements, got {out}")
    out = tuple(n if o is None else o for o, n in zip(out, sizes))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}(): output_size must be non-negative, got {out}")
    return out


def _averaging_matrix(size, out, dtype):
    """(out, size) matrix whose row i averages PyTorch's adaptive window i."""
    start = np.arange(out) * size // out
    end = -(-(np.arange(out) + 1) * size // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg(input, out_size):
    """Means over adaptive windows of the last len(out_size) axes: a reshape and a mean when
    the windows tile the input, else a product with an averaging matrix per axis."""
    rank = len(out_size)
    sizes = tuple(input.shape[-rank:])
    lead = tuple(input.shape[:-rank])
    if all(o and n % o == 0 for n, o in zip(sizes, out_size)):
        split = [v for n, o in zip(sizes, out_size) for v in (o, n // o)]
        return input.reshape(*lead, *split).mean(tuple(range(-2 * rank + 1, 0, 2)))
    dt = input._data.dtype
    x = input
    for axis, (n, o) in enumerate(zip(sizes, out_size)):
        matrix = _averaging_matrix(n, o, dt)
        if axis == rank - 1:
            x = x @ wrap(np.ascontiguousarray(matrix.T))
            continue
        before, after = x.shape[len(lead) : len(lead) + axis], x.shape[len(lead) + axis + 1 :]
        rows = x.reshape(*lead, int(np.prod(before, dtype=int)), n, -1)
        x = (wrap(matrix) @ rows).reshape(*lead, *before, o, *after)
    return x


def adaptive_avg_pool1d(input, output_size):
    """Means over adaptive windows of the last axis."""
    return _adaptive_avg(
        input, _check_adaptive(input, _single(output_size), "adaptive_avg_pool1d", 1)
    )


def adaptive_avg_pool2d(input, output_size):
    """Means over adaptive windows of the last two axes."""
    return _adaptive_avg(input, _check_adaptive(input, output_size, "adaptive_avg_pool2d", 2))


def adaptive_avg_pool3d(input, output_size):
    """Means over adaptive windows of the last three axes."""
    return _adaptive_avg(input, _check_adaptive(input, output_size, "adaptive_avg_pool3d", 3))


def _adaptive_max(op, rank, input, output_size, return_indices):
    out_size = _check_adaptive(input, output_size, op, rank)

    def run(x):
        if 0 in out_size:
            empty = x[(Ellipsis, *(slice(0, o) for o in out_size))]
            return empty, wrap(np.zeros(empty.shape, np.int64))
        return AdaptiveMaxPool.apply(x, out_size)

    out, idx = _batched(run, input, rank)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of the last axis; optionally their indices."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, _single(output_size), return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows of the last two axes; optionally their flat indices."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive windows of the last three axes; optionally their flat indices."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _max_unpool(op, rank, input, indices, kernel_size, stride, padding, output_size):
    """Scatter ``input`` to the flat plane ``indices`` of a zero (N, C, *size) output."""
    parse = _ntuple(rank)
    k = parse(kernel_size, "kernel_size", op)
    s = parse(stride, "stride", op) if stride is not None else k
    p = parse(padding, "padding", op)
    default = tuple(map(transposed_output_size, input.shape[-rank:], k, s, p, (1,) * rank))
    if output_size is None:
        output_size = default
    output_size = _single(output_size)[-rank:]
    for i, (o, d, st) in enumerate(zip(output_size, default, s)):
        if not d - st < o < d + st:
            raise ValueError(
                f'{op}: invalid output_size "{output_size}" (dim {i} must be between '
                f"{d - st + 1} and {d + st - 1})"
            )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            f"{op}: Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    idx = indices._data
    volume = int(np.prod(output_size))
    if idx.size and (idx.min() < 0 or idx.max() >= volume):
        bad = idx.max() if idx.max() >= volume else idx.min()
        raise RuntimeError(
            f"{op}: Found an invalid max index: {bad} (output volumes are of size "
            f"{'x'.join(map(str, output_size))})"
        )
    if input.dim() == rank + 1:
        return _max_unpool(
            op, rank, input.unsqueeze(0), indices.unsqueeze(0), k, s, p, output_size
        ).squeeze(0)
    return MaxUnpool.apply(input, indices, (*input.shape[:2], *output_size))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def lp_finish(mean_of_powers, norm_type, window):
    """(window * mean of x^p)^(1/p), with PyTorch's sign(s) * relu(|s|): a negative window sum
    (odd p) gives NaN as in PyTorch."""
    s = mean_of_powers
    return (s.sign() * s.abs().relu()).mul(window) ** (1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _pair(kernel_size)
    out = avg_pool2d(input**norm_type, k, stride, 0, ceil_mode)
    return lp_finish(out, norm_type, k[0] * k[1])
