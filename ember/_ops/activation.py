"""Activation functions; softmax and log-softmax are single fused, stable ops."""

import math

import numpy as np

from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._util import norm_dim
from ember._ops.comparison import where
from ember._ops.unary import sigmoid_array
from ember._random import np_generator
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import inplace
from ember.backends.numpy import activation_grad, log1p_expm1
from ember.backends.numpy import gelu as gelu_kernels
from ember.backends.numpy.row_blocks import over_rows
from ember.backends.numpy.select import select
from ember.backends.numpy.threads import elementwise, keeps_dtype, num_threads
from ember.backends.onednn import binary as onednn_binary
from ember.backends.onednn import chain_grad
from ember.backends.onednn import eltwise as onednn_eltwise
from ember.backends.onednn import gelu_tanh as onednn_gelu_tanh
from ember.backends.onednn import reduction as onednn_reduction
from ember.backends.onednn import relu as onednn_relu
from ember.backends.onednn import softmax as onednn_softmax

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "leaky_relu_",
    "elu",
    "elu_",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "hardtanh",
    "hardtanh_",
    "hardsigmoid",
    "hardswish",
    "sigmoid",
    "tanh",
    "logsigmoid",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "threshold_",
    "prelu",
    "glu",
    "softmax",
    "log_softmax",
    "softmin",
    "rrelu",
]


def _inplace(fn):
    def apply_inplace(input, *args, **kwargs):
        return inplace(input, fn, *args, **kwargs)

    return apply_inplace


_RELU_SCALAR_BELOW = 4096
"""Below this relu takes NumPy's maximum with a scalar zero: without a buffer to zero first it
costs 1.1 us for 512 elements against 2.4 (level at 4096)."""


class Relu(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        out = onednn_relu.relu(x)  # one pass on every core
        if out is None and x.size < _RELU_SCALAR_BELOW:
            # zero first: relu(-0.0) = -0.0 as PyTorch
            out = np.maximum(x.dtype.type(0), x, out=np.empty_like(x))
        elif out is None:
            # max(0, x) into a zeroed buffer: an array operand takes NumPy's vectorised loop
            # (a scalar 0 does not, 3x slower from 16k elements)
            zero = np.zeros_like(x)
            out = elementwise(np.maximum, zero, x, out=zero)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if _fusable(g, out):
            gx = onednn_eltwise.backward("relu_dst", g._data, out._data, alpha=0.0)
            if gx is not None:  # one pass on every core
                return wrap(gx)
            return _fused_grad(activation_grad.positive_part_grad, g, out)
        return _MaskGrad.apply(g, ~(out._data <= 0))  # NaN passes g, as in PyTorch


def _fusable(*tensors):
    """Whether a backward may use a fused array kernel: it is not being recorded (a
    recorded one differentiates the formula in ember ops) and the arrays are NumPy's."""
    return not GRAD_ENABLED[0] and activation_grad.plain_arrays(*(t._data for t in tensors))


def _fused_grad(kernel, g, saved):
    """``kernel(g, saved)`` on arrays (see backends/numpy/activation_grad.py) as a Tensor."""
    return wrap(elementwise(kernel, g._data, saved._data))


def _onednn_grad(name, g, x, alpha):
    """g * f'(x) for oneDNN's function ``name`` with parameter ``alpha`` in one pass as a
    Tensor, or None where oneDNN declines the arrays or x holds a NaN (oneDNN's kernels take
    the x > 0 branch there, PyTorch's the other; the minimum is NaN if any element is, and
    costs a fifth of the kernel). Call only where ``_fusable``."""
    if not onednn_eltwise.accepts(x._data) or np.isnan(x._data.min()):
        return None
    gx = onednn_eltwise.backward(name, g._data, x._data, alpha=alpha)
    return None if gx is None else wrap(gx)


class _MaskGrad(ArrayFunction):
    """g * mask for a fixed boolean mask (the derivative of piecewise-linear activations)."""

    @staticmethod
    def forward(ctx, g, mask):
        ctx.mask = mask  # computed by the caller from saved values, never a user tensor
        return g * mask

    @staticmethod
    def backward(ctx, gg):
        return _MaskGrad.apply(gg, ctx.mask), None


def relu(input, inplace=False):
    kind = input._data.dtype.kind
    if kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    if kind == "c":
        raise NotImplementedError("relu: clamp is not supported for complex types")
    if inplace:
        return relu_(input)
    return Relu.apply(input)


relu_ = _inplace(relu)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


class Threshold(ArrayFunction):
    @staticmethod
    def forward(ctx, x, threshold, value):
        # keeps x unless x <= threshold, so NaN passes through (with its gradient) as in PyTorch
        keep = np.logical_not(np.less_equal(x, threshold))
        ctx.mask = keep
        ctx.save_for_backward(x)  # for the version check: backward reads the mask
        if x.__class__ is not np.ndarray or x.ndim == 0:
            return np.where(keep, x, np.asarray(value, x.dtype))
        out = np.full_like(x, value)  # bit selection: several times faster than np.where
        return select(keep, x, out, out=out)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if the input was modified in place since forward
        return _MaskGrad.apply(g, ctx.mask), None, None


def threshold(input, threshold, value, inplace=False):
    if inplace:
        return threshold_(input, threshold, value)
    return Threshold.apply(input, threshold, value)


threshold_ = _inplace(lambda input, t, v: Threshold.apply(input, t, v))


class LeakyRelu(ArrayFunction):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        ctx.save_for_backward(x)
        # one pass on every core; with a slope of 0 oneDNN's relu maps NaN to 0
        out = onednn_eltwise.forward("relu", x, alpha=slope) if slope else None
        if out is not None:
            return out
        # x where x > 0, else x * slope as PyTorch computes it (a max of the two would give
        # NaN for inf with a slope of 0)
        scaled = np.asarray(elementwise(np.multiply, x, x.dtype.type(slope)))  # 0-d: an array
        if x.__class__ is not np.ndarray:  # meta and device arrays
            return np.where(x > 0, x, scaled)
        return select(x > 0, x, scaled, out=scaled)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if _fusable(g, x):
            gx = chain_grad.leaky_relu(g._data, x._data, ctx.slope)
            if gx is not None:  # one pass on every core, NaN's as PyTorch's
                return wrap(gx), None
            gx = _onednn_grad("relu", g, x, ctx.slope)
            if gx is not None:
                return gx, None
            return _fused_grad(activation_grad.leaky_relu_grad_x(ctx.slope), g, x), None
        return where(x > 0, g, g * ctx.slope), None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return leaky_relu_(input, negative_slope)
    return LeakyRelu.apply(input, negative_slope)


leaky_relu_ = _inplace(lambda input, s=0.01: LeakyRelu.apply(input, s))


@keeps_dtype
def _elu(x, alpha, out=None):
    """x where x > 0, else alpha expm1(x) (PyTorch's formula: exp(x) - 1 would cancel near
    0), in one buffer."""
    neg = np.empty_like(x) if out is None else out
    np.copyto(neg, x)
    np.minimum(neg, 0, out=neg, where=neg > 0)  # no overflow; -0.0 and NaN stay
    np.expm1(neg, out=neg)
    np.multiply(neg, x.dtype.type(alpha), out=neg)
    return select(x > 0, x, neg, out=neg)


_EXP_MINUS_ONE_EXACT_BELOW = -math.log(2)
"""Below this, exp(x) - 1 loses at most a bit to expm1(x)."""


def _elu_near_zero(x, y, alpha):
    """oneDNN's elu ``y`` computes alpha (exp(x) - 1), which cancels near 0 (exp(-1e-8) - 1
    is 0 where expm1 gives -1e-8) and maps -0.0 to +0.0: its elements with -ln 2 < x <= 0
    are computed again as alpha expm1(x), as PyTorch computes them. An input whose minimum
    is above 0 has none (NaN stays NaN in oneDNN's elu)."""
    if x.min() > 0:
        return
    near = np.flatnonzero((x > _EXP_MINUS_ONE_EXACT_BELOW) & ~(x > 0))
    if near.size:
        flat = y.reshape(-1)
        flat[near] = x.dtype.type(alpha) * log1p_expm1.expm1(x.reshape(-1)[near])


class Elu(ArrayFunction):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        y = onednn_eltwise.forward("elu", x, alpha=alpha)  # one pass on every core
        if y is None:
            y = elementwise(_elu, x, alpha)
        else:
            _elu_near_zero(x, y, alpha)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if _fusable(g, x):
            gx = _onednn_grad("elu", g, x, ctx.alpha)
            if gx is not None:
                return gx, None
        return where(x > 0, g, g * (y + ctx.alpha)), None  # alpha exp(x) = y + alpha, x <= 0


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return elu_(input, alpha)
    return Elu.apply(input, alpha)


elu_ = _inplace(lambda input, alpha=1.0: Elu.apply(input, alpha))

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    out = _SELU_SCALE * elu(input, _SELU_ALPHA)
    return _inplace(selu)(input) if inplace else out


def celu(input, alpha=1.0, inplace=False):
    neg = alpha * ((input.clamp(max=0) / alpha).exp() - 1)
    out = where(input > 0, input, neg)
    return _inplace(lambda t: celu(t, alpha))(input) if inplace else out


@keeps_dtype
def _gelu_tanh(x, out=None):
    """0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), in place in one buffer."""
    out = np.square(x, out=np.empty_like(x) if out is None else out)
    np.multiply(out, 0.044715, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, x, out=out)
    np.multiply(out, math.sqrt(2 / math.pi), out=out)
    np.tanh(out, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, x, out=out)
    return np.multiply(out, 0.5, out=out)


@keeps_dtype
def _silu(x, out=None):
    out = sigmoid_array(x, out=out)
    return np.multiply(out, x, out=out)


_ONEDNN_GELU = {"none": "gelu_erf", "tanh": "gelu_tanh"}


class Gelu(ArrayFunction):
    """GELU, exact (erf) or with the tanh approximation; one op with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        if approximate == "tanh" and onednn_gelu_tanh.preferred(x):
            found = onednn_gelu_tanh.forward(x, with_derivative=ctx.needs_input_grad[0])
            if found is not None:
                out, derivative = found
                ctx.save_for_backward(x, *(() if derivative is None else (derivative,)))
                return out
        out = onednn_eltwise.forward(_ONEDNN_GELU[approximate], x)
        if out is not None:  # one vectorised pass; its backward is one more
            ctx.save_for_backward(x)
            return out
        if ctx.needs_input_grad[0] and x.__class__ is np.ndarray and x.dtype == np.float32:
            # the derivative from the forward's own passes: a backward is then g times it
            kernel = activation_grad.gelu_tanh_and_derivative if approximate == "tanh" else (
                gelu_kernels.gelu_and_derivative)  # fmt: skip
            out, derivative = kernel(x)
            ctx.save_for_backward(x, derivative)
            return out
        ctx.save_for_backward(x)
        if approximate == "tanh":
            return elementwise(_gelu_tanh, x)
        return gelu_kernels.gelu(x)

    @staticmethod
    def backward(ctx, g):
        x, *derivative = ctx.saved_tensors
        if derivative and _fusable(g):
            d = derivative[0]._data
            return wrap(elementwise(np.multiply, g._data, d, out=np.empty_like(d))), None
        if _fusable(g, x):
            gx = onednn_eltwise.backward(_ONEDNN_GELU[ctx.approximate], g._data, x._data)
            if gx is not None:
                return wrap(gx), None
            kernel = activation_grad.gelu_tanh_grad_x if ctx.approximate == "tanh" else (
                gelu_kernels.gelu_grad)  # fmt: skip
            return _fused_grad(kernel, g, x), None
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = (k * (x + 0.044715 * x**3)).tanh()
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            return g * d, None
        cdf = 0.5 * (1 + (x * (1 / math.sqrt(2))).erf())
        pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + x * pdf), None


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate}")
    return Gelu.apply(input, approximate)


class Silu(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = onednn_eltwise.forward("swish", x, exact=_silu)
        return elementwise(_silu, x) if out is None else out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if _fusable(g, x):
            gx = onednn_eltwise.backward("swish", g._data, x._data)
            if gx is not None:
                return wrap(gx)
            return _fused_grad(activation_grad.silu_grad_x, g, x)
        s = x.sigmoid()
        return g * s * (1 + x * (1 - s))


def silu(input, inplace=False):
    return _inplace(silu)(input) if inplace else Silu.apply(input)


_SIGMOID_ROUNDS_TO_ONE = 17.0
"""From here sigmoid(s) rounds to 1 in float32 (1 - sigmoid(17) = 4.1e-8 < 2^-24)."""


def _softplus_grad_on_onednn(g, x, beta):
    """g sigmoid(beta x) in one pass on oneDNN's soft_relu (g itself above a threshold past
    ``_SIGMOID_ROUNDS_TO_ONE``), or None where it declines. oneDNN flushes the gradient to 0
    where beta x < ``EXACT_FROM["logistic"]``; those elements, and NaN's, are computed again
    as PyTorch does, g z / (z + 1) with z = exp(beta x) (subnormal there)."""
    gx = onednn_eltwise.backward("soft_relu", g, x, alpha=beta)
    if gx is None:
        return None
    lowest = onednn_eltwise.EXACT_FROM["logistic"]
    if not x.min() * beta >= lowest:  # NaN if any element is
        s = x * x.dtype.type(beta)
        tail = ~(s >= lowest)
        z = np.exp(s[tail])
        gx[tail] = g[tail] * z / (z + 1)
    return gx


class Softplus(ArrayFunction):
    """softplus in one kernel (``backends/numpy/log1p_expm1.py``) instead of the composition's
    passes. The gradient is PyTorch's formula, g z / (z + 1) with z = exp(beta x), or g where
    beta x > threshold (there z, clamped at the threshold, stays finite for double backward)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return log1p_expm1.softplus(x, beta, threshold)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.beta > 0 and ctx.threshold >= _SIGMOID_ROUNDS_TO_ONE and _fusable(g, x):
            gx = _softplus_grad_on_onednn(g._data, x._data, ctx.beta)
            if gx is not None:
                return wrap(gx), None, None
        scaled = x * ctx.beta
        z = scaled.clamp(max=ctx.threshold).exp()
        return where(scaled > ctx.threshold, g, g * z / (z + 1)), None, None


def softplus(input, beta=1.0, threshold=20.0):
    if log1p_expm1.takes_softplus(input._data, threshold):
        return Softplus.apply(input, beta, threshold)
    scaled = input * beta
    soft = (scaled.clamp(max=threshold).exp()).log1p() / beta
    return where(scaled > threshold, input, soft)


def mish(input, inplace=False):
    out = input * softplus(input).tanh()
    return _inplace(mish)(input) if inplace else out


def softsign(input):
    return input / (1 + input.abs())


class Hardtanh(ArrayFunction):
    """x clipped to [lo, hi] (bounds of x's dtype). The gradient passes strictly inside the
    bounds: zero at them (where clamp's passes) and at NaN, as in PyTorch's vectorised
    kernel (its scalar loop, for small or strided tensors, passes NaN's)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.bounds = lo, hi
        # np.clip with bounds of x's dtype takes NumPy's vectorised loop (Python floats or
        # np.maximum/np.minimum with a scalar do not, 4x slower); NaN and -0.0 as PyTorch
        ctx.save_for_backward(x)
        return elementwise(np.clip, x, x.dtype.type(lo), x.dtype.type(hi), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        if _fusable(g, x):
            gx = onednn_eltwise.backward("clip_v2", g._data, x._data, alpha=lo, beta=hi)
            if gx is not None:  # one pass on every core, with the gradient described above
                return wrap(gx), None, None
        inside = np.logical_and(np.greater(x._data, lo), np.less(x._data, hi))
        return _MaskGrad.apply(g, inside), None, None


def _hardtanh(input, lo, hi):
    if input._data.dtype.kind in "fiu":  # integers take the bounds truncated, as in PyTorch
        return Hardtanh.apply(input, lo, hi)
    return input.clamp(lo, hi)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    return _hardtanh(input, min_val, max_val)


hardtanh_ = _inplace(lambda input, lo=-1.0, hi=1.0: _hardtanh(input, lo, hi))


def hardsigmoid(input, inplace=False):
    out = (input / 6 + 0.5).clamp(0.0, 1.0)
    return _inplace(hardsigmoid)(input) if inplace else out


def hardswish(input, inplace=False):
    out = input * (input + 3).clamp(0.0, 6.0) / 6
    return _inplace(hardswish)(input) if inplace else out


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def logsigmoid(input):
    return -softplus(-input)


def tanhshrink(input):
    return input - input.tanh()


def softshrink(input, lambd=0.5):
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, input * 0))


def hardshrink(input, lambd=0.5):
    return where(input.abs() > lambd, input, input * 0)


def prelu(input, weight):
    if weight.numel() != 1 and input.dim() > 1:
        shape = [1] * input.dim()
        shape[1] = weight.numel()
        weight = weight.reshape(shape)
    return where(input > 0, input, input * weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    if training and inplace:
        return _inplace(rrelu)(input, lower, upper, True)
    if training:
        if input.is_meta:  # no values to draw
            return where(input >= 0, input, input * input.new_empty(input.shape))
        slope = np_generator().uniform(lower, upper, input.shape).astype(input._data.dtype)
        return where(input >= 0, input, input * wrap(slope))
    return leaky_relu(input, (lower + upper) / 2, inplace)


def glu(input, dim=-1):
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(
            f"glu: Halving dimension must be even, but dimension {dim} is size {size} "
            f"(input shape {list(input.shape)})"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def _softmax_dim(input, dim, op):
    if dim is None:
        dim = 0 if input.dim() in (0, 1, 3) else 1
    return norm_dim(dim, max(input.dim(), 1), op)


def _last_axis_softmax(x, log):
    """Softmax or log-softmax over the last axis of a C-contiguous array: softmax on oneDNN's
    fused kernel where it runs, else a block of rows at a time (its passes then read it from
    cache), large inputs on several threads."""
    fused = _log_softmax_on_onednn_exp(x) if log else onednn_softmax.forward(x)
    if fused is not None:
        return fused
    rows = x.reshape(-1, x.shape[-1])
    out = np.empty_like(rows)

    def block(lo, hi):
        e = out[lo:hi]
        np.subtract(rows[lo:hi], rows[lo:hi].max(axis=1, keepdims=True), out=e)
        if log:
            np.subtract(e, np.log(np.exp(e).sum(axis=1, keepdims=True)), out=e)
        else:
            np.exp(e, out=e)
            np.divide(e, e.sum(axis=1, keepdims=True), out=e)

    over_rows(block, rows.shape[0], x.size, num_threads())
    return out.reshape(x.shape)


def _log_softmax_on_onednn_exp(x):
    """Log-softmax over the last axis, (x - max) - log(sum(exp(x - max))) as PyTorch's kernel
    rounds it, in four passes on oneDNN where it takes x: the row maxima; exp(x - max) (a
    subtraction with an exp post-op); the row sums (`reduction.sum_last`, or NumPy's); and
    both subtractions in one pass (1024 x 1024: 0.2 ms; NumPy's one core takes 0.13, 0.19 and
    0.15 ms for a maximum and a subtraction alone). oneDNN's own log-softmax is about ten
    times less accurate. Only the sums of the exponentials are read, so oneDNN's exp flushing
    results below 1e-38 to zero changes nothing (each sum holds the row maximum's 1). A row
    holding NaN or +inf (whose maximum oneDNN skips, and whose exp oneDNN makes +inf) has a
    sum that is not finite, where no other row's can be: those rows are computed again as
    NumPy computes them, NaN throughout as in PyTorch. None where oneDNN declines x."""
    if not onednn_eltwise.accepts(x):
        return None
    rows = x.reshape(-1, x.shape[-1])
    maxima = onednn_reduction.row_max(rows)
    if maxima is None:
        return None
    e = onednn_binary.subtract_rows(rows, maxima, np.empty_like(rows), then="exp")
    if e is None:
        return None
    sums = onednn_reduction.sum_last(e) if onednn_reduction.usable(e) else None
    sums = np.einsum("ij->i", e) if sums is None else sums  # einsum: 3x NumPy's row sums
    logs = np.log(sums)[:, None]
    out = onednn_binary.subtract_rows(rows, maxima, e, then="subtract", second=logs)
    if out is None:
        np.subtract(np.subtract(rows, maxima, out=e), logs, out=e)
        out = e
    bad = np.flatnonzero(~np.isfinite(sums))
    if bad.size:
        again = rows[bad]
        shifted = again - again.max(axis=1, keepdims=True)
        out[bad] = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return out.reshape(x.shape)


class Softmax(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0 or x.size == 0:
            out = np.ones_like(x)
        elif dim == x.ndim - 1 and x.flags.c_contiguous:
            out = _last_axis_softmax(x, log=False)
        else:
            e = np.exp(x - np.max(x, axis=dim, keepdims=True))
            out = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if _fusable(g, y) and y.dim() and y._data.size:
            return _softmax_grad(g, y, ctx.dim, log=False), None
        gy = g * y
        return gy - y * gy.sum(ctx.dim, keepdim=True) if y.dim() else gy * 0, None


class LogSoftmax(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0 or x.size == 0:
            out = np.zeros_like(x)
        elif dim == x.ndim - 1 and x.flags.c_contiguous:
            out = _last_axis_softmax(x, log=True)
        else:
            shifted = x - np.max(x, axis=dim, keepdims=True)
            out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not y.dim():
            return g * 0, None
        if _fusable(g, y) and y._data.size:
            return _softmax_grad(g, y, ctx.dim, log=True), None
        return g - y.exp() * g.sum(ctx.dim, keepdim=True), None


def _softmax_grad(g, y, dim, log):
    g, y = g._data, y._data
    if dim == y.ndim - 1:
        fused = onednn_softmax.backward(g, y, log=log)
        if fused is not None:
            return wrap(fused)
    return wrap(activation_grad.softmax_grad(g, y, dim, log, num_threads()))


def _cast_for(input, dtype):
    return input if dtype is None else input.to(dtype)


def _check_float(input, op):
    if not input.is_floating_point():
        raise RuntimeError(
            f"{op}: not implemented for integer or bool input ({input.dtype}); pass a floating "
            "point tensor or dtype=ember.float32"
        )


@numpy_kwargs
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    input = _cast_for(input, dtype)
    _check_float(input, "softmax")
    return Softmax.apply(input, _softmax_dim(input, dim, "softmax"))


@numpy_kwargs
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    input = _cast_for(input, dtype)
    _check_float(input, "log_softmax")
    return LogSoftmax.apply(input, _softmax_dim(input, dim, "log_softmax"))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-_cast_for(input, dtype), dim)
