"""Normalisation: batch, layer, group and instance norm as one fused op, plus RMS and LRN.

``Normalize`` standardises its input over the statistics axes of a normalisation kind and
applies the affine transform, in one kernel pass (`ember/backends/numpy/normalization.py`;
float32 layer norm on oneDNN's primitive, `ember/backends/onednn/layer_norm.py`).
Its outputs are the result and the statistics (mean, 1 / sqrt(var + eps)); the statistics
are differentiable outputs, so the gradient formula can treat them as independent inputs:

- ``NormalizeBackward`` computes (dx, dweight, dbias) from (g, x, weight, mean, rstd) in one
  kernel pass (reading the forward kernel's cache as a constant: for layer norm the
  standardised input, or the variance where oneDNN ran the forward). Its own backward (the
  second derivative) is written with ember ops, treating mean and rstd as independent
  variables; their gradients flow back into ``Normalize``, whose backward adds how mean and
  rstd depend on x. Every order of derivative therefore runs through the same two Functions.

Each kind is described by a canonical 4-D view (N, G, K, L) of its input: the statistics
are taken over ``axes`` (per (N, G) for layer, group and instance norm, per G for batch
norm), weight and bias have shape (1, G, K, 1).
"""

import math

import numpy as np

from ember._runtime import get_num_threads
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import is_grad_enabled
from ember.backends.onednn import layer_norm as onednn_layer_norm
from ember.backends.registry import kernels

__all__ = [
    "layer_norm",
    "batch_norm",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "rms_norm",
]


def _canonical(kind, groups, shape):
    """(view shape (N, G, K, L), statistics axes) of an input of ``shape``; for layer norm
    ``groups`` is the number of elements each row normalises (see ``Normalize``)."""
    if kind == "layer":
        return (_row_count(shape, groups), 1, groups, 1), (2, 3)
    n, c = shape[0], shape[1]
    length = math.prod(shape[2:])
    if kind == "batch":
        return (n, c, 1, length), (0, 2, 3)
    return (n, groups, c // groups, length), (2, 3)


def _row_count(shape, size):
    """The rows of ``size`` elements layer norm normalises in an input of ``shape`` (for
    ``size`` 0, the input is the (rows, 0) matrix itself)."""
    return math.prod(shape) // size if size else shape[0]


def _as_rows(x, size):
    """Layer norm's input array as its matrix of rows of ``size`` elements (a view where
    its layout allows)."""
    return x.reshape(-1, size) if size else x


def _kept(view, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(view))


def _forward_kernel(kind, x, weight, bias, groups, eps):
    if kind == "layer":
        rows = _as_rows(x, groups)
        fused = onednn_layer_norm.forward(rows, weight, bias, eps)
        if fused is not None:  # its cache is the variance, which the oneDNN backward reads
            out, mean, var = fused
            rstd = (1.0 / np.sqrt(var + eps)).astype(var.dtype, copy=False)
            return out.reshape(x.shape), mean, var, rstd, var
        out, *rest = kernels.layer_norm_forward(rows, weight, bias, eps, threads=get_num_threads())
        return out.reshape(x.shape), *rest
    if kind == "batch":
        return kernels.batch_norm_forward(x, weight, bias, eps)
    return kernels.group_norm_forward(x, weight, bias, groups, eps)


def _backward_kernel(kind, g, x, weight, mean, rstd, cache, groups, eps, needs):
    if kind == "layer":
        shape, g, x = x.shape, _as_rows(g, groups), _as_rows(x, groups)
        grads = None
        if cache.ndim == 1:  # the oneDNN forward ran: cache is the variance
            grads = onednn_layer_norm.backward(np.ascontiguousarray(g), x, weight, mean, cache, eps)
            if grads is None:
                cache = (x - mean[:, None]) * rstd[:, None]  # the standardised input NumPy reads
        if grads is None:
            grads = kernels.layer_norm_backward(
                g, x, weight, mean, rstd, cache, needs, threads=get_num_threads()
            )
        dx, dw, db = grads
        dx = None if dx is None else dx.reshape(shape)
        return tuple(d if need else None for d, need in zip((dx, dw, db), needs))
    if kind == "batch":
        return kernels.batch_norm_backward(g, x, weight, mean, rstd, cache, needs)
    return kernels.group_norm_backward(g, x, weight, mean, rstd, cache, groups, needs)


class Normalize(ArrayFunction):
    """(x - mean) * rstd * weight + bias over the statistics of ``kind``.

    ``groups`` is group norm's number of groups; for layer norm it is the number of
    elements each row normalises, the input's trailing ones: the op takes the input in its
    own shape and its kernels read it as a matrix of rows (one op where reshapes before and
    after would add two, forward and backward).

    Returns (out, mean, rstd, var); var (biased, for running statistics) is not
    differentiable. PyTorch saves the bias for layer norm only, and so does this op, so an
    in-place change of the bias is reported exactly where PyTorch reports it.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, kind, groups, eps):
        out, mean, var, rstd, cache = _forward_kernel(kind, x, weight, bias, groups, eps)
        ctx.kind, ctx.groups, ctx.eps = kind, groups, eps
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(var)
        ctx.save_for_backward(x, weight, bias if kind == "layer" else None, mean, rstd, cache)
        return out, mean, rstd, var

    @staticmethod
    def backward(ctx, g, g_mean, g_rstd, _g_var):
        x, weight, _, mean, rstd, cache = ctx.saved_tensors
        dx = dw = db = None
        if g is not None:
            needs = ctx.needs_input_grad[:3]
            dx, dw, db = NormalizeBackward.apply(g, x, weight, mean, rstd, cache, ctx.kind,
                                                 ctx.groups, ctx.eps, needs)  # fmt: skip
        if ctx.needs_input_grad[0] and (g_mean is not None or g_rstd is not None):
            through_stats = _statistics_vjp(ctx, x, mean, rstd, g_mean, g_rstd)
            dx = through_stats if dx is None else dx + through_stats
        return dx, dw, db, None, None, None


def _statistics_vjp(ctx, x, mean, rstd, g_mean, g_rstd):
    """d/dx of <g_mean, mean(x)> + <g_rstd, rstd(x)>: mean' = 1/n, rstd' = -rstd^2 xhat / n."""
    view, axes = _canonical(ctx.kind, ctx.groups, tuple(x.shape))
    count = math.prod(view[a] for a in axes)
    stats = _kept(view, axes)
    x4, m, r = x.reshape(view), mean.reshape(stats), rstd.reshape(stats)
    total = None
    if g_mean is not None:
        total = (g_mean.reshape(stats) / count).expand(view)
    if g_rstd is not None:
        term = (x4 - m) * (r * r * r * g_rstd.reshape(stats)) / -count
        total = term if total is None else total + term
    return total.reshape(tuple(x.shape))


class NormalizeBackward(ArrayFunction):
    """(dx, dweight, dbias) of ``Normalize`` from (g, x, weight, mean, rstd), in one pass."""

    @staticmethod
    def forward(ctx, g, x, weight, mean, rstd, cache, kind, groups, eps, needs):
        grads = _backward_kernel(kind, g, x, weight, mean, rstd, cache, groups, eps, needs)
        ctx.kind, ctx.groups = kind, groups
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(g, x, weight, mean, rstd)
        return grads

    @staticmethod
    def backward(ctx, ggx, ggw, ggb):
        """The vector-Jacobian product of the formula in the module docstring, in ember ops,
        with mean and rstd as independent inputs (their own dependence on x is Normalize's)."""
        g, x, weight, mean, rstd = ctx.saved_tensors
        view, axes = _canonical(ctx.kind, ctx.groups, tuple(x.shape))
        stats, params = _kept(view, axes), (1, view[1], view[2], 1)
        x4, g4 = x.reshape(view), g.reshape(view)
        m, r = mean.reshape(stats), rstd.reshape(stats)
        w4 = None if weight is None else weight.reshape(params)
        xhat = (x4 - m) * r
        gh = g4 if w4 is None else g4 * w4
        d_g = d_xhat = d_r = d_w = None
        if ggx is not None:
            u = ggx.reshape(view)
            u_mean, ux_mean = u.mean(axes, keepdim=True), (u * xhat).mean(axes, keepdim=True)
            gh_mean, ghx_mean = gh.mean(axes, keepdim=True), (gh * xhat).mean(axes, keepdim=True)
            d_gh = r * (u - u_mean - xhat * ux_mean)
            d_g = d_gh if w4 is None else d_gh * w4
            if w4 is not None:
                d_w = (d_gh * g4).sum((0, 3), keepdim=True)
            d_xhat = -r * (u * ghx_mean + gh * ux_mean)
            d_r = (u * (gh - gh_mean - xhat * ghx_mean)).sum(axes, keepdim=True)
        if ggw is not None:
            gw4 = ggw.reshape(params)
            d_g = _add(d_g, gw4 * xhat)
            d_xhat = _add(d_xhat, gw4 * g4)
        if ggb is not None:
            d_g = _add(d_g, ggb.reshape(params).expand(view))
        d_x = d_m = None
        if d_xhat is not None:
            d_x = d_xhat * r
            d_m = -d_x.sum(axes, keepdim=True)
            d_r = _add(d_r, (d_xhat * (x4 - m)).sum(axes, keepdim=True))
        return (
            _shaped(d_g, g),
            _shaped(d_x, x),
            _shaped(d_w, weight),
            _shaped(d_m, mean),
            _shaped(d_r, rstd),
            None,
            None,
            None,
            None,
            None,
        )


def _add(a, b):
    return b if a is None else a + b


def _shaped(grad, like):
    return None if grad is None or like is None else grad.reshape(tuple(like.shape))


def _require_float(input, op):
    if not input.dtype.is_floating_point:  # PyTorch's type: "not implemented for 'Long'"
        raise NotImplementedError(
            f"{op}: not implemented for {input.dtype}: expected a floating-point input"
        )


def _check_parameter(param, name, shape, op):
    if param is not None and tuple(param.shape) != tuple(shape):
        raise RuntimeError(
            f"{op}: expected {name} of shape {list(shape)}, but got {name} of shape "
            f"{list(param.shape)}"
        )


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
    _require_float(input, "layer_norm")
    _check_parameter(weight, "weight", normalized_shape, "layer_norm")
    _check_parameter(bias, "bias", normalized_shape, "layer_norm")
    n = math.prod(normalized_shape)
    flat_w, flat_b = (_as_shape(t, (n,)) for t in (weight, bias))
    if n == 0:  # rows of nothing: the (rows, 0) matrix, whose row count its shape keeps
        rows = math.prod(input.shape[: input.dim() - k])
        out = Normalize.apply(_as_shape(input, (rows, 0)), flat_w, flat_b, "layer", 0, eps)[0]
        return _as_shape(out, tuple(input.shape))
    return Normalize.apply(input, flat_w, flat_b, "layer", n, eps)[0]


def _as_shape(t, shape):
    """``t.reshape(shape)``, or ``t`` itself where it has that shape already (a reshape is an
    op of its own, forward and backward: a layer norm over the last dim of a matrix needs
    none)."""
    return t if t is None or tuple(t.shape) == shape else t.reshape(shape)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the trailing ``normalized_shape`` dims, times weight."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(normalized_shape) :]) != normalized_shape:
        raise RuntimeError(
            f"rms_norm: given normalized_shape={list(normalized_shape)}, expected input with "
            f"shape [*, {', '.join(str(s) for s in normalized_shape)}], but got input of size "
            f"{list(input.shape)}"
        )
    _require_float(input, "rms_norm")
    dims = tuple(range(-len(normalized_shape), 0))
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.dim() - 2)


def _with_statistics(input, mean, var, weight, bias, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias with given per-channel statistics,
    as one scale and one shift per channel: two passes over the input. Where no gradient is
    recorded (inference), one kernel call does it, without a graph node per step."""
    operands = [t for t in (input, mean, var, weight, bias) if t is not None]
    same_dtype = all(t.dtype == input.dtype for t in operands)
    if (
        input._data.__class__ is np.ndarray
        and input.numel()
        and same_dtype
        and not (is_grad_enabled() and any(t.requires_grad for t in operands))
    ):
        arrays = (t if t is None else t._data for t in (input, mean, var, weight, bias))
        return wrap(kernels.batch_norm_inference(*arrays, eps))
    shape = _channel_shape(input)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def _update_running(running, value, momentum):
    """running = (1 - momentum) * running + momentum * value, in place (no graph)."""
    data = running._data
    data *= 1 - momentum
    data += (momentum * value).astype(data.dtype, copy=False)
    running._bump_version()


def batch_norm(
    input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Normalise each channel over the batch (and spatial dims) in training, or with the
    running statistics in evaluation; training updates the running statistics in place."""
    if input.dim() < 2:
        raise ValueError(f"expected 2D or more input (got {input.dim()}D input)")
    _require_float(input, "batch_norm")
    c = input.shape[1]
    _check_parameter(weight, "weight", (c,), "batch_norm")
    _check_parameter(bias, "bias", (c,), "batch_norm")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm in evaluation mode needs running_mean and running_var")
        return _with_statistics(input, running_mean, running_var, weight, bias, eps)
    n = input.numel() // c if c else 0
    if n <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size "
            f"{list(input.shape)}"
        )
    out, mean, _, var = Normalize.apply(input, weight, bias, "batch", 1, eps)
    if running_mean is not None:
        _update_running(running_mean, mean._data, momentum)
    if running_var is not None:
        _update_running(running_var, var._data * (n / (n - 1)), momentum)
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each sample over groups of ``C / num_groups`` channels, then an affine per
    channel."""
    if input.dim() < 2:
        raise RuntimeError(
            f"group_norm: expected an input of at least 2 dimensions (N, C, *), got shape "
            f"{list(input.shape)}"
        )
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}"
        )
    _require_float(input, "group_norm")
    _check_parameter(weight, "weight", (c,), "group_norm")
    _check_parameter(bias, "bias", (c,), "group_norm")
    return Normalize.apply(input, weight, bias, "group", num_groups, eps)[0]


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
    """Normalise each channel of each sample over its spatial dims (group norm with one
    channel per group); running statistics, when given, average the per-sample ones."""
    if input.dim() < 3:
        raise ValueError(
            f"instance_norm: expected an input of at least 3 dimensions (N, C, *), got shape "
            f"{list(input.shape)}"
        )
    _require_float(input, "instance_norm")
    c = input.shape[1]
    _check_parameter(weight, "weight", (c,), "instance_norm")
    _check_parameter(bias, "bias", (c,), "instance_norm")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "instance_norm without input statistics needs running_mean and running_var"
            )
        return _with_statistics(input, running_mean, running_var, weight, bias, eps)
    out, mean, _, var = Normalize.apply(input, weight, bias, "group", c, eps)
    if running_mean is not None:
        _update_running(running_mean, mean._data.mean(axis=0), momentum)
    if running_var is not None:
        k = math.prod(input.shape[2:])
        _update_running(running_var, var._data.mean(axis=0) * (k / max(k - 1, 1)), momentum)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta."""
    from ember._ops.shape import cat

    if input.dim() < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensional input, got shape "
            f"{list(input.shape)}"
        )
    sq = (input * input).unsqueeze(1)
    c = input.shape[1]
    pad_front, pad_back = size // 2, (size - 1) // 2

    def zeros(n):
        return wrap(np.zeros((sq.shape[0], 1, n) + tuple(sq.shape[3:]), input._data.dtype))

    padded = cat([zeros(pad_front), sq, zeros(pad_back)], 2)
    windows = sum(padded.narrow(2, i, c) for i in range(size)) / size
    div = (windows.squeeze(1) * alpha + k) ** beta
    return input / div
