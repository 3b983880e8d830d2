"""oneDNN's layer normalisation primitive: the rows of a float32 (M, K) array.

NumPy's fused layer norm still makes about five passes over the input forward and six
backward, with reductions over short rows that cost per row; oneDNN's JIT-compiled kernel
makes one or two passes per row (about 2x faster forward and 3x backward on a transformer's
(1024, 128) activations). The forward gives the output, the mean and the biased variance;
the backward the gradients of input, weight and bias from those statistics. Used for
C-contiguous float32 arrays of at least ``MIN_ELEMENTS``; anything else, or a library that
declines, gives None and the NumPy kernels run.

The forward runs on the calling thread alone (on OpenMP's pool it took as long). The
backward runs on the pool where oneDNN runs AVX-512 code: there it takes half the
time ((2048, 128): 94 -> 58 us, (1024, 1024): 411 -> 212 us on a 2-core AVX-512 machine), and
its weight and bias gradients add per-thread partial sums, whose last bits then depend on
the thread count. Elsewhere it runs alone too: on a 2-core AVX2 machine the pool's partial
sums and wake-up cost more than the second core gave.
"""

import ctypes

import numpy as np

from ember import _runtime
from ember.backends.onednn import library

MIN_ELEMENTS = 1 << 14  # below this the call costs more than NumPy saves (measured)
_FORWARD_TRAINING, _BACKWARD = 0x40, 0x80  # dnnl_prop_kind_t
_USE_SCALE, _USE_SHIFT = 0x2, 0x4  # dnnl_normalization_flags_t
_ARG_MEAN, _ARG_VARIANCE, _ARG_SCALE, _ARG_SHIFT = 49, 50, 51, 52
_ARG_DIFF_SCALE, _ARG_DIFF_SHIFT = 255, 256
_TAG_AB = 3
_cache = library.RecentlyUsed(32)


def _declare():
    lib = library._lib
    lib.dnnl_layer_normalization_forward_primitive_desc_create.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_float, ctypes.c_uint, ctypes.c_void_p,
    ]  # fmt: skip
    lib.dnnl_layer_normalization_backward_primitive_desc_create.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_uint, ctypes.c_void_p,
        ctypes.c_void_p,
    ]  # fmt: skip


if library.available():
    _declare()


class _Pair:
    """Forward and backward runners for (m, k) rows. The forward takes a scale and a shift
    as ``flags`` says; the backward always takes both (its shift is not read, only its
    gradient, the bias gradient, is written)."""

    def __init__(self, m, k, eps, flags):
        lib, engine = library._lib, library._engine
        self.x = x = library.Desc((m, k), tag=_TAG_AB)
        self.stat = stat = library.Desc((m,), tag=library.TAG_A)
        self.param = param = library.Desc((k,), tag=library.TAG_A)
        both = _USE_SCALE | _USE_SHIFT

        def forward_pd(use):
            return library.Primitive(
                lambda out: lib.dnnl_layer_normalization_forward_primitive_desc_create(
                    out,
                    engine,
                    _FORWARD_TRAINING,
                    x.handle,
                    x.handle,
                    stat.handle,
                    eps,
                    use,
                    None,
                )  # fmt: skip
            )

        with library.one_thread():
            forward = forward_pd(flags)
            hint = forward if flags == both else forward_pd(both)
        create_backward = lambda: library.Primitive(  # noqa: E731
            lambda out: lib.dnnl_layer_normalization_backward_primitive_desc_create(
                out,
                engine,
                _BACKWARD,
                x.handle,
                x.handle,
                x.handle,
                stat.handle,
                eps,
                both,
                hint.pd,
                None,
            )  # fmt: skip
        )
        if library.avx512():
            backward = create_backward()
        else:
            with library.one_thread():
                backward = create_backward()
        args = [(library.ARG_SRC, x.handle), (library.ARG_DST, x.handle)]
        args += [(_ARG_MEAN, stat.handle), (_ARG_VARIANCE, stat.handle)]
        if flags & _USE_SCALE:
            args.append((_ARG_SCALE, param.handle))
        if flags & _USE_SHIFT:
            args.append((_ARG_SHIFT, param.handle))
        self.forward = library.Runner(forward, args)
        self.backward = library.Runner(
            backward,
            [
                (library.ARG_SRC, x.handle),
                (_ARG_MEAN, stat.handle),
                (_ARG_VARIANCE, stat.handle),
                (library.ARG_DIFF_DST, x.handle),
                (_ARG_SCALE, param.handle),
                (_ARG_SHIFT, param.handle),
                (library.ARG_DIFF_SRC, x.handle),
                (_ARG_DIFF_SCALE, param.handle),
                (_ARG_DIFF_SHIFT, param.handle),
            ],
        )


def _pair(m, k, eps, flags):
    key = (m, k, eps, flags, _runtime.get_num_threads())
    return _cache.get(key, lambda: _Pair(m, k, eps, flags))


def _usable(x, *params):
    return (
        library.available()
        and x.ndim == 2
        and x.size >= MIN_ELEMENTS
        and library.plain(x, x.shape)
        and all(p is None or library.plain(p, x.shape[1:]) for p in params)
    )


def forward(x, weight, bias, eps):
    """(out, mean, biased variance) of layer norm over the rows of ``x``, or None."""
    if not _usable(x, weight, bias):
        return None
    m, k = x.shape
    flags = (0 if weight is None else _USE_SCALE) | (0 if bias is None else _USE_SHIFT)
    out = np.empty_like(x)
    mean, var = np.empty(m, np.float32), np.empty(m, np.float32)
    params = [p for p in (weight, bias) if p is not None]
    try:
        _pair(m, k, float(eps), flags).forward.run(x, out, mean, var, *params)
    except library.Refused:
        return None
    return out, mean, var


def backward(g, x, weight, mean, var, eps):
    """(dx, dweight, dbias) of layer norm from the forward's input and statistics, or None.
    Without a weight, dweight is the gradient a weight of ones would have."""
    if not (_usable(x, weight) and library.plain(g, x.shape) and library.plain(mean, x.shape[:1])):
        return None
    if not library.plain(var, x.shape[:1]):
        return None
    m, k = x.shape
    scale = np.ones(k, np.float32) if weight is None else weight
    shift = np.zeros(k, np.float32)  # not read
    dx = np.empty_like(x)
    dw, db = np.empty(k, np.float32), np.empty(k, np.float32)
    try:
        pair = _pair(m, k, float(eps), _USE_SCALE | _USE_SHIFT)
        pair.backward.run(x, mean, var, g, scale, shift, dx, dw, db)
    except library.Refused:
        return None
    return dx, dw, db
