"""Batch norm of float32 channels-first arrays in few passes on every core.

NumPy's batch norm (`ember.backends.numpy.normalization`) makes its sums and its centring
passes on one core: a (32, 64, 32, 32) forward took 1.5 ms and its backward 2.4 ms on a
2-core AVX-512 machine, against PyTorch's 1.7 ms and 1.9 ms. Here each elementwise formula
is one oneDNN binary primitive with post-ops over the input seen as (N, C, L), with
per-channel operands (see `_Pass`), and the sums are oneDNN's row sums (rows of L, at most
`reduction.BLOCK` long or cut into blocks of it) whose (N, C) partials are added in
float64, as PyTorch accumulates a batch's statistics in double; the per-channel values
computed from them are rounded to float32 once:

- forward: the channel means; (x - mean)^2 in one pass and its sums, the biased variance;
  the output (x - mean) * (rstd * weight) + bias in one pass, rounded as NumPy's path
  rounds it;
- inference: the output from the given statistics, the same pass;
- backward: the sums of g and of (x - mean) * g (one pass, then the sums); the input's
  gradient as PyTorch's CPU kernel writes it, (g - (x - mean) * proj - mean(g)) * rstd *
  weight with proj = sum((x - mean) g) rstd^2 / count, in one pass.

BatchNorm2d forward and backward of (32, 64, 32, 32) then took 3.3-4.2 ms instead of 5.5
(PyTorch 3.6-4.3), of (32, 512, 4, 4) 0.53 instead of 1.36 (PyTorch 0.44); the twenty
batch norms of a ResNet-18 step on CIFAR-sized images 27 ms instead of 45.

oneDNN's own batch normalisation primitive took longer than NumPy's path on such arrays
(its plain-layout kernel: 2.2 ms forward at (32, 64, 32, 32)) and was an order of magnitude
less accurate. oneDNN's reduction over the batch axis or to per-channel (1, C, 1) sums runs
its reference code, so rows shorter than ``MIN_ROW`` are summed by NumPy instead.
"""

import numpy as np

from ember import _runtime
from ember.backends.onednn import binary, eltwise, library, reduction
from ember.backends.registry import DECLINE, register

MIN_ELEMENTS = 1 << 18
"""From here the passes run on oneDNN (a (32, 64, 1024) scale-and-shift pass: 0.11 ms on
oneDNN against NumPy's 0.44 for its two; smaller arrays pay the hand-off)."""

MIN_ROW = 256
"""Channel rows of at least this many elements are summed on oneDNN, shorter ones by NumPy
down the batch axis ((32, 256, 64): 43 us either way, (32, 512, 16): 65 us on oneDNN
against 22); see also `_Pass`."""

_TAG_AB, _TAG_ABC = 3, 4
_SUB, _MUL, _ADD = (binary.ALGORITHMS[f] for f in (np.subtract, np.multiply, np.add))
_SQUARE = eltwise.ALGORITHMS["square"]
_cache = library.RecentlyUsed(32)


class _Pass:
    """``x - column`` for an (N, C, L) ``x`` and per-channel values, followed by ``steps``:
    ("channel", algorithm) with further per-channel values, ("array", algorithm) with an
    array of x's shape, or ("square",). Each operation is rounded to float32 once.

    oneDNN broadcasts per-channel values fast along rows of L from ``MIN_ROW`` elements
    ((32, 128, 256) 63 us for two steps), slowly along short ones ((32, 512, 16): 136 us): there
    x is seen as (N, C * L) and the values as one (1, C * L) row repeating each channel's
    value L times (33 us)."""

    def __init__(self, n, c, length, steps):
        if length >= MIN_ROW:
            self.whole = library.Desc((n, c, length), tag=_TAG_ABC)
            self.column = library.Desc((1, c, 1), tag=_TAG_ABC)
        else:
            self.whole = library.Desc((n, c * length), tag=_TAG_AB)
            self.column = library.Desc((1, c * length), tag=_TAG_AB)
        whole, column, lib = self.whole.handle, self.column.handle, library._lib

        def append(step):
            if step[0] == "square":
                return lambda ops: lib.dnnl_post_ops_append_eltwise(ops, _SQUARE, 0.0, 0.0)
            operand = column if step[0] == "channel" else whole
            return lambda ops: lib.dnnl_post_ops_append_binary(ops, step[1], operand)

        kernel = binary.primitive(_SUB, whole, column, whole, binary.post_ops(*map(append, steps)))
        args = [(library.ARG_SRC, whole), (library.ARG_SRC_1, column), (library.ARG_DST, whole)]
        for i, step in enumerate(steps):
            if step[0] != "square":
                args.append((library.post_op_src(i), column if step[0] == "channel" else whole))
        self.runner = library.vectorised_runner(kernel, args)


_SQUARES = (("square",),)
_TIMES_ARRAY = (("array", _MUL),)
_AFFINE = (("channel", _MUL), ("channel", _ADD))
# ((x - mean) * proj - g + mean(g)) * -(rstd * weight): PyTorch's roundings, the negations
# exact
_INPUT_GRADIENT = (("channel", _MUL), ("array", _SUB), ("channel", _ADD), ("channel", _MUL))


def _run(steps, x, mean, operands, out):
    """``out`` = the pass of ``steps`` over ``x`` (N, C, L) from ``x - mean``, its binary
    steps reading ``operands`` in order (per-channel ones of shape (C,)); False where oneDNN
    declines."""
    n, c, length = x.shape
    key = (n, c, length, steps, _runtime.get_num_threads())
    runner = _cache.get(key, lambda: _Pass(n, c, length, steps)).runner
    if runner is None:
        return False
    if length < MIN_ROW:  # per-channel values as a row of C * L (see _Pass)
        mean = np.repeat(mean, length)
        operands = [v if v.ndim == 3 else np.repeat(v, length) for v in operands]
    runner.run(x, mean, out, *operands)
    return True


def _channel_sums(a):
    """The sums of an (N, C, L) array over its batch and length axes: float32 partial sums
    (rows of L, or NumPy's down the batch axis for short rows) added in float64, as PyTorch
    accumulates a batch's statistics in double."""
    rows = reduction.sum_last(a) if a.shape[2] >= MIN_ROW else None
    if rows is None:
        return a.sum(axis=0).sum(axis=1, dtype=np.float64)
    return rows.sum(axis=0, dtype=np.float64)


def _channels_first(x, *per_channel):
    """``x`` as (N, C, L) where it and the per-channel arrays (None allowed) are taken here,
    else None."""
    if x.ndim < 2 or x.size < MIN_ELEMENTS or _runtime.get_num_threads() < 2:
        return None
    if not (library.available() and library.plain(x, x.shape)):
        return None
    if not all(v is None or library.plain(v, x.shape[1:2]) for v in per_channel):
        return None
    return x.reshape(x.shape[0], x.shape[1], -1)


def _standardise(x, mean, rstd, weight, bias, out):
    """``out`` = (x - mean) * (rstd * weight) + bias per channel in one pass (the scale
    rounded to float32 once); False where oneDNN declines."""
    scale = (rstd if weight is None else rstd * weight).astype(np.float32)
    shift = np.zeros_like(mean) if bias is None else bias
    return _run(_AFFINE, x, mean, (scale, shift), out)


@register("batch_norm_forward", "onednn", dtypes=[np.float32], priority=10)
def batch_norm_forward(x, weight, bias, eps):
    """(out, mean, biased variance, rstd, None) as the NumPy kernel's, in three passes over
    ``x`` and one over a scratch array of its size."""
    x3 = _channels_first(x, weight, bias)
    if x3 is None:
        return DECLINE
    count = x3.shape[0] * x3.shape[2]
    mean = (_channel_sums(x3) / count).astype(np.float32)
    squares = np.empty(x3.shape, np.float32)
    if not _run(_SQUARES, x3, mean, (), squares):
        return DECLINE
    var = _channel_sums(squares) / count
    rstd = (1.0 / np.sqrt(var + eps)).astype(np.float32)
    out = squares  # summed: the buffer takes the output
    if not _standardise(x3, mean, rstd, weight, bias, out):
        return DECLINE
    return out.reshape(x.shape), mean, var.astype(np.float32), rstd, None


@register("batch_norm_inference", "onednn", dtypes=[np.float32], priority=10)
def batch_norm_inference(x, mean, var, weight, bias, eps):
    """(x - mean) * (weight / sqrt(var + eps)) + bias with given statistics, in one pass."""
    x3 = _channels_first(x, mean, var, weight, bias)
    if x3 is None:
        return DECLINE
    rstd = 1.0 / np.sqrt(var.astype(np.float64) + eps)
    out = np.empty(x3.shape, np.float32)
    if not _standardise(x3, mean, rstd, weight, bias, out):
        return DECLINE
    return out.reshape(x.shape)


@register("batch_norm_backward", "onednn", dtypes=[np.float32], priority=10)
def batch_norm_backward(g, x, weight, mean, rstd, cache, needs):
    """(dx, dweight, dbias) as the NumPy kernel's: two passes over ``x`` and ``g``, one over
    a scratch array."""
    x3 = _channels_first(x, weight, mean, rstd)
    if x3 is None or g.__class__ is not np.ndarray or g.shape != x.shape:
        return DECLINE
    g3 = np.ascontiguousarray(g).reshape(x3.shape)
    count = x3.shape[0] * x3.shape[2]
    products = np.empty(x3.shape, np.float32)
    if not _run(_TIMES_ARRAY, x3, mean, (g3,), products):
        return DECLINE
    dot, db = _channel_sums(products), _channel_sums(g3)
    dx = None
    if needs[0]:
        proj = (dot * rstd * rstd / count).astype(np.float32)
        mean_g = (db / count).astype(np.float32)
        scale = -rstd if weight is None else -(rstd * weight)
        dx = products  # summed: the buffer takes the gradient
        if not _run(_INPUT_GRADIENT, x3, mean, (proj, g3, mean_g, scale), dx):
            return DECLINE
        dx = dx.reshape(x.shape)
    dw = (dot * rstd).astype(np.float32) if needs[1] else None
    return dx, dw, db.astype(np.float32) if needs[2] else None
