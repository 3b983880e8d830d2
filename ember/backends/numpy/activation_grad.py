"""First derivatives of activations, unary math and powers, fused into few in-place passes.

Each elementwise kernel ``name(g, v, out=None)`` returns ``g * f'(x)`` as an array of ``g``'s
dtype, where ``v`` is the op's saved input ``x`` or output ``y`` (the name says which), both
of ``g``'s shape. It makes at most three buffers and passes over them in place, so a large
input costs a few memory-bound passes instead of a temporary per operator; ``elementwise``
splits it over the threads (each kernel is marked ``keeps_dtype``). ``softmax_grad`` works
on row blocks; GELU's tanh form also gives its derivative from the forward's passes. The ops
call these when a backward is not being recorded; under ``create_graph=True`` they
differentiate the same formula written in ember ops. Exact GELU's derivative is in
``gelu.py``, beside its forward.
"""

import math

import numpy as np

from ember.backends.numpy.row_blocks import over_rows
from ember.backends.numpy.select import select
from ember.backends.numpy.threads import keeps_dtype, over_blocks
from ember.backends.onednn import eltwise as onednn_eltwise

_TANH_K = math.sqrt(2 / math.pi)
_TANH_C = 0.044715


def _buffer(like, out):
    """``out``, or a new array like ``like`` (always an array: NumPy gives 0-d operands
    without ``out=`` back as scalars, which cannot be written in place)."""
    return np.empty(like.shape, like.dtype) if out is None else out


@keeps_dtype
def gelu_tanh_grad_x(g, x, out=None):
    """g (1 + t) (1/2 + a (1 - t)) with t = tanh(k (x + c x^3)) and a = k x (1 + 3 c x^2) / 2,
    which is g ((1 + t) / 2 + a (1 - t^2)) factored."""
    out = _buffer(g, out)
    a = np.square(x, out=_buffer(g, None))
    np.multiply(a, _TANH_C, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, x, out=out)
    np.multiply(out, _TANH_K, out=out)
    np.tanh(out, out=out)  # t
    np.multiply(a, 3 * _TANH_C, out=a)
    np.add(a, 1, out=a)
    np.multiply(a, x, out=a)
    np.multiply(a, 0.5 * _TANH_K, out=a)
    np.multiply(a, np.subtract(1, out, out=_buffer(g, None)), out=a)
    np.add(a, 0.5, out=a)
    np.add(out, 1, out=out)  # 1 + t from t itself: exact where t is near -1
    np.multiply(out, a, out=out)
    return np.multiply(out, g, out=out)


def gelu_tanh_and_derivative(x):
    """(y, d) for GELU's tanh form of a float32 array from one set of passes (a backward is
    then g d): y = x h and d = h (1 + 2 a (1 - t)) with h = (1 + t) / 2, which is the
    factored derivative above."""
    x = x if x.flags.c_contiguous else x.copy()
    out, derivative = np.empty_like(x), np.empty_like(x)
    over_blocks(_gelu_tanh_and_derivative_block, x, out, derivative)
    return out, derivative


def _gelu_tanh_and_derivative_block(x, out, d):
    np.square(x, out=d)
    np.multiply(d, _TANH_C, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, x, out=out)
    np.multiply(out, _TANH_K, out=out)
    np.tanh(out, out=out)  # t
    one_minus_t = np.subtract(1, out)
    np.multiply(out, 0.5, out=out)
    np.add(out, 0.5, out=out)  # h, from t itself: exact where t is near -1
    np.multiply(d, 3 * _TANH_C, out=d)
    np.add(d, 1, out=d)
    np.multiply(d, x, out=d)
    np.multiply(d, _TANH_K, out=d)  # 2 a
    np.multiply(d, one_minus_t, out=d)
    np.add(d, 1, out=d)
    np.multiply(d, out, out=d)
    np.multiply(out, x, out=out)


@keeps_dtype
def silu_grad_x(g, x, out=None):
    """g s (1 + x (1 - s)) with s = sigmoid(x)."""
    out = _buffer(g, out)
    s = np.negative(x, out=_buffer(g, None))
    np.exp(s, out=s)
    np.add(s, 1, out=s)
    np.reciprocal(s, out=s)
    np.subtract(1, s, out=out)
    np.multiply(out, x, out=out)
    np.add(out, 1, out=out)
    np.multiply(out, s, out=out)
    return np.multiply(out, g, out=out)


@keeps_dtype
def sigmoid_grad_y(g, y, out=None):
    """g y (1 - y)."""
    out = np.subtract(1, y, out=_buffer(g, out))
    np.multiply(out, y, out=out)
    return np.multiply(out, g, out=out)


@keeps_dtype
def tanh_grad_y(g, y, out=None):
    """g (1 - y^2)."""
    out = np.square(y, out=_buffer(g, out))
    np.subtract(1, out, out=out)
    return np.multiply(out, g, out=out)


@keeps_dtype
def positive_part_grad(g, v, out=None):
    """0 where v <= 0, else g (relu's derivative from its input or output; g at NaN, as in
    PyTorch)."""
    return np.multiply(g, np.logical_not(np.less_equal(v, 0)), out=_buffer(g, out))


def leaky_relu_grad_x(slope):
    """The kernel g where x > 0, else g * slope."""

    @keeps_dtype
    def kernel(g, x, out=None):
        out = np.multiply(g, g.dtype.type(slope), out=_buffer(g, out))
        return select(np.greater(x, 0), g, out, out=out)

    return kernel


@keeps_dtype
def sqrt_grad_y(g, y, out=None):
    """g / (2 y)."""
    out = np.add(y, y, out=_buffer(g, out))
    return np.divide(g, out, out=out)


@keeps_dtype
def rsqrt_grad_y(g, y, out=None):
    """-g y^3 / 2."""
    out = np.square(y, out=_buffer(g, out))
    np.multiply(out, y, out=out)
    np.multiply(out, -0.5, out=out)
    return np.multiply(out, g, out=out)


@keeps_dtype
def reciprocal_grad_y(g, y, out=None):
    """-g y^2."""
    out = np.square(y, out=_buffer(g, out))
    np.negative(out, out=out)
    return np.multiply(out, g, out=out)


@keeps_dtype
def square_grad_x(g, x, out=None):
    """g 2 x (the derivative of x ** 2)."""
    out = np.add(x, x, out=_buffer(g, out))
    return np.multiply(out, g, out=out)


@keeps_dtype
def cube_grad_x(g, x, out=None):
    """g 3 x^2 (the derivative of x ** 3)."""
    out = np.square(x, out=_buffer(g, out))
    np.multiply(out, 3, out=out)
    return np.multiply(out, g, out=out)


def softmax_grad(g, y, axis, log, threads):
    """The input gradient of softmax (``log=False``: y (g - sum(g y))) or log-softmax
    (g - exp(y) sum(g)) along ``axis``, from the output ``y``; one buffer, and over the last
    axis of C-contiguous arrays a block of rows at a time on ``threads`` threads."""
    if axis != y.ndim - 1 or not (y.flags.c_contiguous and g.flags.c_contiguous):
        return _softmax_grad_rows(g, y, np.empty(y.shape, y.dtype), axis, log)
    out = np.empty(y.shape, y.dtype)  # returned as allocated: it owns its memory
    rows, cols, result = (a.reshape(-1, y.shape[-1]) for a in (g, y, out))
    # log-softmax's exp(y) over the whole array on oneDNN where it takes it (5x NumPy's exp)
    exps = onednn_eltwise.forward("exp", cols, exact=np.exp, out=result) if log else None

    def block(lo, hi):
        _softmax_grad_rows(rows[lo:hi], cols[lo:hi], result[lo:hi], 1, log, exps is not None)

    over_rows(block, rows.shape[0], y.size, threads)
    return out


def _softmax_grad_rows(g, y, out, axis, log, out_holds_exp=False):
    """One block's gradient in ``out`` (which holds exp(y) already if ``out_holds_exp``)."""
    if log:
        total = _sums(g, axis)
        if not out_holds_exp:
            np.exp(y, out=out)
        np.multiply(out, total, out=out)
        return np.subtract(g, out, out=out)
    np.multiply(g, y, out=out)
    total = _sums(out, axis)
    np.subtract(g, total, out=out)
    return np.multiply(out, y, out=out)


def _sums(a, axis):
    """Sums along ``axis``, kept; over the rows of a matrix through einsum (3x NumPy's sum)."""
    if a.ndim == 2 and axis == 1:
        return np.einsum("ij->i", a)[:, None]
    return np.sum(a, axis=axis, keepdims=True)


@keeps_dtype
def exp_grad_y(g, y, out=None):
    """g y."""
    return np.multiply(g, y, out=_buffer(g, out))


def plain_arrays(*arrays):
    """Whether the kernels here can take these operands: NumPy arrays of this process (not
    a meta tensor's stand-in or another device's array, which keep their ops' formulas)."""
    return all(a.__class__ is np.ndarray for a in arrays)
