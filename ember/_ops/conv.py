"""Convolutions in 1, 2 and 3 dimensions and their transposes, as one triangle of ops.

Three linear ops are each other's derivatives: `Convolution` (y = conv(x, w) + b),
`ConvTranspose` (conv's adjoint in its input: the input gradient, and conv_transpose) and
`ConvWeightGrad` (conv's adjoint in its weight). The backward of each is made of the other
two (and of itself), so every derivative order runs on the same kernels: ``conv2d``,
``conv2d_grad_input`` and ``conv2d_grad_weight`` (``conv3d...`` in 3-D) from the kernel
registry, oneDNN's for float32 where it is installed and NumPy's otherwise. 1-D convolutions
are 2-D ones over a height of one.

Results are contiguous unless a 2-D input was channels-last, as in PyTorch.

Where no gradient of the weight is recorded (inference, frozen layers), a 2-D convolution
hands its kernel the weight's version: oneDNN's kernel then reorders the weight into its
layout once per version instead of on every call.
"""

import numpy as np

from ember._ops._geometry import (
    _ntuple,
    _pair,
    _single,
    conv_output_size,
    output_padding_for,
    resolve_padding,
    transposed_output_size,
)
from ember._ops._util import is_channels_last
from ember._ops.pad import pad as pad_fn
from ember._tensor import wrap
from ember.autograd.function import PROFILER, ArrayFunction
from ember.autograd.grad_mode import is_grad_enabled
from ember.backends.registry import call

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "unfold", "fold",
]  # fmt: skip

_KERNELS = {
    rank: (f"conv{rank}d", f"conv{rank}d_grad_input", f"conv{rank}d_grad_weight") for rank in (2, 3)
}


def _in_layout(out, channels_last):
    """A kernel's result in the layout PyTorch gives: channels-last where ``channels_last``,
    else contiguous. Kernels return either (oneDNN's usually the right one, NumPy's always
    channels-last), so this copies only where a kernel's layout differs."""
    if not channels_last:
        return np.ascontiguousarray(out)
    if out.ndim != 4 or out.transpose(0, 2, 3, 1).flags.c_contiguous:
        return out
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _cropped(t, size):
    """``t`` cut to spatial ``size``: a convolution of a transposed convolution's output can be
    longer than the transposed input where the output padding reaches a further window."""
    if tuple(t.shape[2:]) == tuple(size):
        return t
    return t[(slice(None), slice(None), *(slice(0, n) for n in size))]


def _weight_and_bias_grads(x, grad, geometry, kernel_size, need_w, need_b):
    """The weight and bias gradients of conv(x, .) + b for output gradient ``grad``, those
    not needed None; the weight gradient's kernel also sums the bias gradient."""
    if need_w:
        found = ConvWeightGrad.apply(x, grad, geometry, kernel_size, need_b)
        return found if need_b else (found, None)
    return None, (grad.sum((0, *range(2, grad.dim()))) if need_b else None)


def _convolve(x, w, b, geometry, weight_version):
    """The forward kernel; with ``weight_version`` (the weight tensor's version counter and
    its count) one that reuses what it prepared from the weight at that version where a
    backend has one (oneDNN's), else the plain one."""
    if weight_version is not None:
        try:
            return call("conv2d_reusing_weight", x, w, b, *geometry, weight_version)
        except NotImplementedError:  # no backend here keeps prepared weights
            pass
    return call(_KERNELS[x.ndim - 2][0], x, w, b, *geometry)


def _reusable_version(weight):
    """The version of a NumPy weight of which no gradient is recorded, else None: a weight
    being trained changes every step, so what a kernel prepared would not be used again. Also
    None while a profiler or FLOP counter watches the ops (they see `Convolution`'s
    positional arguments only)."""
    if weight.requires_grad and is_grad_enabled():
        return None
    if PROFILER[0] is not None or weight._data.__class__ is not np.ndarray:
        return None
    return (weight._vc, weight._version)


def _first_order_grads(x, w, grad, geometry, need_b):
    """The input, weight and bias gradients of a 2-D convolution in one kernel call, which
    lets oneDNN reorder the output gradient once for both; for first derivatives only (the
    triangle of ops below records what a second derivative needs)."""
    g = grad._data.astype(x._data.dtype, copy=False)
    dx, dw, db = call("conv2d_backward", x._data, g, w._data, *geometry, need_b)
    gx = wrap(_in_layout(dx, is_channels_last(x._data)))
    return gx, wrap(dw), (wrap(db) if need_b else None)


class Convolution(ArrayFunction):
    """conv(x, w) + b, with ``geometry`` = (stride, padding, dilation, groups) per axis, in the
    channels-last layout when ``channels_last``; ``weight_version``: see `_convolve`."""

    @staticmethod
    def forward(ctx, x, w, b, geometry, channels_last, weight_version=None):
        out = _convolve(x, w, b, geometry, weight_version)
        ctx.save_for_backward(x, w)
        ctx.geometry = geometry
        return _in_layout(out, channels_last)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        # the one-call kernel, unless a backward is recorded (double backward) or a profiler
        # or FLOP counter watches the ops (they see the triangle's ops, named as PyTorch's)
        if need_x and need_w and x.dim() == 4 and not is_grad_enabled() and PROFILER[0] is None:
            return (*_first_order_grads(x, w, grad, ctx.geometry, need_b), None, None)
        gx = None
        if need_x:
            layout = is_channels_last(x._data)
            gx = ConvTranspose.apply(grad, w, None, ctx.geometry, tuple(x.shape[2:]), layout)
        kernel_size = tuple(w.shape[2:])
        gw, gb = _weight_and_bias_grads(x, grad, ctx.geometry, kernel_size, need_w, need_b)
        return gx, gw, gb, None, None


class ConvTranspose(ArrayFunction):
    """conv's adjoint in its input, plus a bias: conv_transpose(g, w) + b, of spatial size
    ``out_size``, in the channels-last layout when ``channels_last``."""

    @staticmethod
    def forward(ctx, g, w, b, geometry, out_size, channels_last):
        g = g.astype(w.dtype, copy=False)
        out = call(_KERNELS[g.ndim - 2][1], g, w, out_size, *geometry)
        if b is not None:
            out += b.reshape(-1, *(1,) * len(out_size))
        ctx.save_for_backward(g, w)
        ctx.geometry = geometry
        return _in_layout(out, channels_last)

    @staticmethod
    def backward(ctx, grad):
        g, w = ctx.saved_tensors
        need_g, need_w, need_b = ctx.needs_input_grad[:3]
        gg = None
        if need_g:
            gg = Convolution.apply(grad, w, None, ctx.geometry, is_channels_last(g._data))
            gg = _cropped(gg, g.shape[2:])
        gw = gb = None
        if need_w:
            gw = ConvWeightGrad.apply(grad, g, ctx.geometry, tuple(w.shape[2:]), False)
        if need_b:
            gb = grad.sum((0, *range(2, grad.dim())))
        return gg, gw, gb, None, None, None


class ConvWeightGrad(ArrayFunction):
    """conv's adjoint in its weight: the weight gradient of conv(x, .) for output gradient g,
    and with ``with_bias`` also the bias gradient (g summed over all but the channels)."""

    @staticmethod
    def forward(ctx, x, g, geometry, kernel_size, with_bias):
        g = g.astype(x.dtype, copy=False)
        dw, db = call(_KERNELS[x.ndim - 2][2], x, g, kernel_size, *geometry, with_bias)
        ctx.save_for_backward(x, g)
        ctx.geometry = geometry
        return (dw, db) if with_bias else dw

    @staticmethod
    def backward(ctx, grad_w, grad_b=None):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        gx = gg = None
        if need_x:
            layout = is_channels_last(x._data)
            gx = ConvTranspose.apply(g, grad_w, None, ctx.geometry, tuple(x.shape[2:]), layout)
        if need_g:  # conv(x, grad_w) + grad_b: the bias gradient is linear in g too
            layout = is_channels_last(g._data)
            gg = _cropped(Convolution.apply(x, grad_w, grad_b, ctx.geometry, layout), g.shape[2:])
        return gx, gg, None, None, None


def check_conv_args(op, stride, padding, dilation, groups):
    """PyTorch's errors for a non-positive stride, dilation or groups and a negative padding
    (arithmetic on them would otherwise fail deep inside with a ZeroDivisionError)."""
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {list(dilation)}")
    if not isinstance(padding, str) and any(p < 0 for p in _ntuple(len(stride))(padding)):
        raise RuntimeError(
            f"{op}: negative padding is not supported, got padding={list(_pair(padding))}"
        )
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")


def _check_operands(op, rank, input, weight, bias, groups, transposed):
    """PyTorch's errors for the ranks, dtypes and channel counts of a convolution's operands."""
    if input.dim() not in (rank + 1, rank + 2):
        raise RuntimeError(
            f"Expected {rank + 1}D (unbatched) or {rank + 2}D (batched) input to {op}, but got "
            f"input of size: {list(input.shape)}"
        )
    if weight.dim() != rank + 2:
        raise RuntimeError(
            f"{op}: expected a {rank + 2}-D weight, but got weight of size {list(weight.shape)}"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"{op}: Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same"
        )
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(weight.shape)}] instead"
        )
    channels = input.shape[-rank - 1]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != expected:
        raise RuntimeError(
            f"Given {'transposed=1, ' if transposed else f'groups={groups}, '}weight of size "
            f"{list(weight.shape)}, expected input{list(input.shape)} to have {expected} "
            f"channels, but got {channels} channels instead"
        )
    if bias is not None:
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.dim() != 1 or bias.shape[0] != out_channels:
            raise RuntimeError(
                f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                f"with {out_channels} elements, but got bias of size {list(bias.shape)} instead"
            )
        if bias.dtype != input.dtype:
            raise RuntimeError(
                f"{op}: Input type ({input.dtype}) and bias type ({bias.dtype}) should be the same"
            )


def _convolution(
    op, rank, input, weight, bias, stride, padding, dilation, groups, reuse_weight=True
):
    """The checks and "same" padding shared by conv2d and conv3d, then `Convolution`;
    ``reuse_weight=False`` for a weight made for this call alone (see `_reusable_version`)."""
    _check_operands(op, rank, input, weight, bias, groups, transposed=False)
    if input.dim() == rank + 1:
        out = _convolution(
            op, rank, input.unsqueeze(0), weight, bias, stride, padding, dilation, groups,
            reuse_weight,
        )  # fmt: skip
        return out.squeeze(0)
    parse = _ntuple(rank)
    stride, dilation = parse(stride, "stride", op), parse(dilation, "dilation", op)
    check_conv_args(op, stride, padding, dilation, groups)
    channels_last = is_channels_last(input._data)
    kernel = tuple(weight.shape[2:])
    pad, extra = resolve_padding(padding, kernel, dilation, stride, op)
    if any(extra):
        input = pad_fn(input, tuple(v for e in reversed(extra) for v in (0, e)))
    padded = [size + 2 * p for size, p in zip(input.shape[2:], pad)]
    if any(size < d * (k - 1) + 1 for size, k, d in zip(padded, kernel, dilation)):
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({' x '.join(map(str, padded))})."
            f" Kernel size: ({' x '.join(map(str, kernel))}). Kernel size can't be greater than "
            "actual input size"
        )
    geometry = (stride, pad, dilation, groups)
    version = _reusable_version(weight) if reuse_weight and rank == 2 else None
    if version is None:
        return Convolution.apply(input, weight, bias, geometry, channels_last)
    return Convolution.apply(input, weight, bias, geometry, channels_last, weight_version=version)


def _conv_transpose(
    op, rank, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    """The checks shared by conv_transpose2d and conv_transpose3d, then `ConvTranspose`."""
    _check_operands(op, rank, input, weight, bias, groups, transposed=True)
    if input.dim() == rank + 1:
        out = _conv_transpose(
            op, rank, input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
            dilation,
        )  # fmt: skip
        return out.squeeze(0)
    parse = _ntuple(rank)
    stride, padding = parse(stride, "stride", op), parse(padding, "padding", op)
    output_padding = parse(output_padding, "output_padding", op)
    dilation = parse(dilation, "dilation", op)
    check_conv_args(op, stride, padding, dilation, groups)
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={list(output_padding)}, stride={list(stride)}, "
            f"dilation={list(dilation)}"
        )
    size = tuple(
        map(
            transposed_output_size,
            input.shape[2:], weight.shape[2:], stride, padding, dilation, output_padding,
        )
    )  # fmt: skip
    if any(v <= 0 for v in size):
        raise RuntimeError(
            f"{op}: Given input size per channel: ({' x '.join(map(str, input.shape[2:]))}). "
            f"Calculated output size per channel: ({' x '.join(map(str, size))}). Output size "
            "is too small"
        )
    geometry = (stride, padding, dilation, groups)
    return ConvTranspose.apply(input, weight, bias, geometry, size, is_channels_last(input._data))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of (N, C, H, W) (or unbatched (C, H, W)) input."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of (N, C, D, H, W) (or unbatched (C, D, H, W)) input."""
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) (or unbatched (C, L)) input, as a 2-D one of height 1."""
    if input.dim() == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(
            0
        )
    pad = padding if isinstance(padding, str) else (0, *_single(padding))
    out = conv2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1, *_single(stride)),
        pad,
        (1, *_single(dilation)),
        groups,
    )
    return out.squeeze(2)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The transpose of a 2-D convolution; weight (C_in, C_out / groups, kH, kW)."""
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
        dilation,
    )  # fmt: skip


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The transpose of a 3-D convolution; weight (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
        dilation,
    )  # fmt: skip


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The transpose of a 1-D convolution, as a 2-D one of height 1."""
    out = conv_transpose2d(
        input.unsqueeze(-2),
        weight.unsqueeze(2),
        bias,
        (1, *_single(stride)),
        (0, *_single(padding)),
        (0, *_single(output_padding)),
        groups,
        (1, *_single(dilation)),
    )
    return out.squeeze(-2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C, H, W) -> (N, C * kh * kw, L) columns, as F.unfold; (C, H, W) -> (C * kh * kw, L)."""
    if input.dim() == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if input.dim() != 4:
        raise RuntimeError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)"
        )
    kh, kw = _pair(kernel_size)
    c = input.shape[1]
    eye = wrap(np.eye(c * kh * kw, dtype=input._data.dtype).reshape(c * kh * kw, c, kh, kw))
    out = _convolution("conv2d", 2, input, eye, None, stride, padding, dilation, 1, False)
    return out.reshape(out.shape[0], c * kh * kw, -1)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: sums columns back into (N, C, H, W) (or (C, H, W) from 2-D)."""
    if input.dim() == 2:
        return fold(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride)[0]
    if input.dim() != 3:
        raise RuntimeError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.dim()}D)"
        )
    kh, kw = _pair(kernel_size)
    oh, ow = _pair(output_size)
    n, ckk, length = input.shape
    c = ckk // (kh * kw)
    stride, dilation, padding = _pair(stride), _pair(dilation), _pair(padding)
    lh = conv_output_size(oh, kh, stride[0], padding[0], dilation[0])
    lw = conv_output_size(ow, kw, stride[1], padding[1], dilation[1])
    if lh * lw != length:
        raise RuntimeError(
            f"Given output_size={(oh, ow)}, kernel_size={(kh, kw)}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {lh} * {lw} = "
            f"{lh * lw}, but got input.size(2)={length}."
        )
    eye = wrap(np.eye(c * kh * kw, dtype=input._data.dtype).reshape(c * kh * kw, c, kh, kw))
    cols = input.reshape(n, ckk, lh, lw)
    out_pad = output_padding_for((oh, ow), (lh, lw), (kh, kw), stride, padding, dilation)
    return conv_transpose2d(cols, eye, None, stride, padding, out_pad, 1, dilation)
