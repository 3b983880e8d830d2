"""Normalisation: one fused standardisation op under layer, batch, group and instance norm."""

import numpy as np

from ember._ops._norm_reference import standardized
from ember._ops.batch_norm_fused import BatchNormTrain
from ember._ops.layer_norm_fused import LayerNormRows
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import GRAD_ENABLED

__all__ = [
    "layer_norm",
    "batch_norm",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "rms_norm",
]


class Standardize(ArrayFunction):
    """(x - mean) / sqrt(var + eps) over ``axes``; also returns the mean and biased variance."""

    @staticmethod
    def forward(ctx, x, axes, eps):
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.mean(centered * centered, axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat = centered * rstd
        ctx.axes, ctx.eps, ctx.rstd, ctx.xhat = axes, eps, rstd, xhat
        ctx.mark_non_differentiable(mean, var)
        ctx.save_for_backward(x)
        return xhat, mean, var

    @staticmethod
    def backward(ctx, g, _gmean, _gvar):
        axes, eps = ctx.axes, ctx.eps
        if GRAD_ENABLED[0]:  # create_graph: differentiate the composed ops
            return recorded_backward(ctx, lambda x: (standardized(x, axes, eps),), (g,))
        _ = ctx.saved_tensors  # raises if the input was modified in place since forward
        gd, xh = g._data, ctx.xhat
        gm = gd.mean(axis=axes, keepdims=True)
        gxm = (gd * xh).mean(axis=axes, keepdims=True)
        return wrap(ctx.rstd * (gd - gm - xh * gxm)), None, None


def _affine(x, weight, bias, shape):
    if weight is not None:
        x = x * (weight.reshape(shape) if shape is not None else weight)
    if bias is not None:
        x = x + (bias.reshape(shape) if shape is not None else bias)
    return x


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.dim() - k :]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size "
            f"{list(input.shape)}"
        )
    axes = tuple(range(input.dim() - k, input.dim()))
    n = int(np.prod(normalized_shape))
    if (
        input.numel()
        and n
        and input.dtype.is_floating_point
        and (weight is None or tuple(weight.shape) == normalized_shape)
    ):
        flat_w = None if weight is None else weight.reshape(n)
        flat_b = None if bias is None else bias.reshape(n)
        out = LayerNormRows.apply(input.reshape(-1, n), flat_w, flat_b, eps)
        return out.reshape(input.shape)
    xhat, _, _ = Standardize.apply(input, axes, eps)
    return _affine(xhat, weight, bias, None)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    dims = tuple(range(-len(normalized_shape), 0))
    eps = eps if eps is not None else float(np.finfo(input._data.dtype).eps)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.dim() - 2)


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalise each channel over the batch (and spatial dims) in training, or with the
    running statistics in evaluation; training updates the running statistics in place."""
    if input.dim() < 2:
        raise ValueError(f"expected 2D or more input (got {input.dim()}D input)")
    shape = _channel_shape(input)
    if training:
        axes = (0,) + tuple(range(2, input.dim()))
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{list(input.shape)}"
            )
        if input.dtype.is_floating_point and input.numel():
            out, mean, var = BatchNormTrain.apply(input, weight, bias, eps)
        else:
            xhat, mean, var = Standardize.apply(input, axes, eps)
            out = _affine(xhat, weight, bias, shape)
        if running_mean is not None:
            rm = running_mean._data
            rm *= 1 - momentum
            rm += (momentum * mean._data.reshape(-1)).astype(rm.dtype)
            running_mean._bump_version()
        if running_var is not None:
            rv = running_var._data
            rv *= 1 - momentum
            rv += (momentum * var._data.reshape(-1) * (n / (n - 1))).astype(rv.dtype)
            running_var._bump_version()
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm in evaluation mode needs running_mean and running_var")
    scale = (running_var.reshape(shape) + eps).rsqrt()
    return _affine((input - running_mean.reshape(shape)) * scale, weight, bias, shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}"
        )
    grouped = input.reshape(n, num_groups, -1)
    xhat, _, _ = Standardize.apply(grouped, (2,), eps)
    return _affine(xhat.reshape(input.shape), weight, bias, _channel_shape(input))


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats=True,
    momentum=0.1,
    eps=1e-5,
):
    shape = _channel_shape(input)
    if not use_input_stats:
        scale = (running_var.reshape(shape) + eps).rsqrt()
        return _affine((input - running_mean.reshape(shape)) * scale, weight, bias, shape)
    axes = tuple(range(2, input.dim()))
    xhat, mean, var = Standardize.apply(input, axes, eps)
    if running_mean is not None:
        m = mean._data.mean(axis=0).reshape(-1)
        running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * m
    if running_var is not None:
        k = int(np.prod(input.shape[2:]))
        v = var._data.mean(axis=0).reshape(-1) * k / max(k - 1, 1)
        running_var._data[...] = (1 - momentum) * running_var._data + momentum * v
    return _affine(xhat, weight, bias, shape)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    from ember._ops.shape import cat

    sq = (input * input).unsqueeze(1)
    c = input.shape[1]
    pad_front, pad_back = size // 2, (size - 1) // 2

    def zeros(n):
        return wrap(
            np.zeros(
                (sq.shape[0], 1, n) + tuple(sq.shape[3:]),
                input._data.dtype,
            )
        )

    padded = cat([zeros(pad_front), sq, zeros(pad_back)], 2)
    windows = sum(padded.narrow(2, i, c) for i in range(size)) / size
    div = (windows.squeeze(1) * alpha + k) ** beta
    return input / div
