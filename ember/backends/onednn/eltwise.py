"""oneDNN's element-wise primitives: vectorised (JIT-compiled) kernels for large float32 arrays.

NumPy has no fused kernel for functions such as exact GELU and its derivative and computes
them in a dozen passes over memory; oneDNN's eltwise primitive computes each in one pass,
with the same special values as PyTorch's CPU kernels (GELU of +-inf is NaN in both). Its
exp, logistic (sigmoid), swish (SiLU) and tanh are also faster than NumPy's (1M float32 on a
2-core AVX2 machine: exp 0.35 ms against NumPy's 1.9, sigmoid 0.57 against 2.0, tanh 2.0
against 2.8) and within 6 ulp of the exact value, but exp and logistic flush results below
about 1e-38 to zero and give exp(NaN) = inf; ``forward`` recomputes those elements (inputs
below ``EXACT_FROM`` or NaN) with the caller's NumPy function. Its square root is IEEE's,
bit for bit NumPy's (NaN signs included), on both cores: 1M elements 0.14 ms against
NumPy's 0.41 on one (ember splits NumPy's work only where that pays on the machine, from 4M
elements on this one); level at 64k. Used for contiguous float32 arrays of at least
``MIN_ELEMENTS``; anything else, or a library that declines, returns None and the caller's
NumPy code runs.
"""

import ctypes

import numpy as np

from ember import _runtime
from ember.backends.onednn import library

ALGORITHMS = {
    "gelu_erf": 0x31, "gelu_tanh": 0x2B, "exp": 0x2A, "logistic": 0x29, "swish": 0x2C,
    "tanh": 0x21, "sqrt": 0x25, "relu": 0x20, "elu": 0x22, "clip_v2": 0x2F, "soft_relu": 0x27,
    "abs": 0x24, "square": 0x23, "reciprocal": 0x30,
    "relu_dst": 0x100, "tanh_dst": 0x101, "logistic_dst": 0x104,
}  # fmt: skip
"""oneDNN's dnnl_alg_kind_t values for the functions ember runs here. A name ending in
``_dst`` is the function whose backward reads its output instead of its input;
"reciprocal" is oneDNN's power function alpha * x ** beta with alpha 1 and beta -1, which
it computes as a division: 1 / x bit for bit, as abs and square are NumPy's."""

ALPHA = {"swish": 1.0, "elu": 1.0, "reciprocal": 1.0}
BETA = {"reciprocal": -1.0}
"""The functions' parameters where they have them, unless the caller passes ``alpha`` (and
``beta``):

- swish is x * sigmoid(alpha * x);
- relu is x where x > 0, else alpha * x: leaky ReLU's slope, with PyTorch's results for
  every input (NaN, infinities and signed zeros included), except that an alpha of 0 maps
  NaN to 0. Its backward from x takes the x > 0 branch for NaN, where PyTorch's takes the
  slope's; relu_dst's backward from ReLU's output is PyTorch's, NaN's included;
- elu is x where x > 0, else alpha * (exp(x) - 1). Its backward gives g for NaN, where
  PyTorch's gives NaN;
- clip_v2 clips to [alpha, beta] (hardtanh's bounds; NaN gives alpha, where PyTorch's
  gives NaN); its gradient passes strictly between them and is zero at NaN, as PyTorch's;
- soft_relu is softplus, log(1 + exp(alpha x)) / alpha, without a threshold: its values
  are off by up to 1% far below 0, its gradient sigmoid(alpha x) is within 5 ulp.

Callers check for NaN where these differ from PyTorch."""

EXACT_FROM = {"exp": -86.0, "logistic": -86.0, "swish": -86.0}
"""Below these inputs oneDNN's results run into its flush to zero (from about -87)."""

MIN_ELEMENTS = 1 << 16
MIN_CHEAP_ELEMENTS = {"abs": 1 << 19, "square": 1 << 19}
"""Functions NumPy computes at memory speed pay oneDNN's fixed cost only from larger arrays
(2-core AVX-512 machine, new output each call: abs of 256k 24 us in NumPy against 28, 512k
48 against 41, 1M 101 against 70)."""
_FORWARD_TRAINING = 0x40
_cache = library.RecentlyUsed(32)


def _declare():
    lib = library._lib
    lib.dnnl_eltwise_forward_primitive_desc_create.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_float, ctypes.c_float, ctypes.c_void_p,
    ]  # fmt: skip
    lib.dnnl_eltwise_backward_primitive_desc_create.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_float, ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip


if library.available():
    _declare()


class _Pair:
    """The forward and backward primitives of one function on flat arrays of n elements."""

    def __init__(self, algorithm, alpha, beta, n):
        lib, engine = library._lib, library._engine
        self.md = md = library.Desc((n,), tag=library.TAG_A)
        self.forward = library.Primitive(
            lambda out: lib.dnnl_eltwise_forward_primitive_desc_create(
                out, engine, _FORWARD_TRAINING, algorithm, md.handle, md.handle, alpha, beta, None
            )
        )
        self.backward = library.Primitive(
            lambda out: lib.dnnl_eltwise_backward_primitive_desc_create(
                out,
                engine,
                algorithm,
                md.handle,
                md.handle,
                md.handle,
                alpha,
                beta,
                self.forward.pd,
                None,
            )  # fmt: skip
        )


def _pair(name, n, alpha=None, beta=None):
    alpha = ALPHA.get(name, 0.0) if alpha is None else float(alpha)
    beta = BETA.get(name, 0.0) if beta is None else float(beta)
    key = (name, n, alpha, beta, _runtime.get_num_threads())
    return _cache.get(key, lambda: _Pair(ALGORITHMS[name], alpha, beta, n))


def _usable(*arrays, least=MIN_ELEMENTS):
    first = arrays[0]
    return (
        library.available()
        and first.size >= least
        and all(
            a.__class__ is np.ndarray
            and a.dtype == np.float32
            and a.flags.c_contiguous
            and a.shape == first.shape
            for a in arrays
        )
    )


def accepts(x):
    """Whether the kernels here take arrays like ``x`` (a library that then refuses a
    primitive still makes ``forward`` return None)."""
    return _usable(x)


def kernel_name(name, x):
    """The implementation oneDNN runs ``name`` with on arrays like ``x`` (such as
    'jit:avx2'), or None where it declines them."""
    if not _usable(x):
        return None
    try:
        return _pair(name, x.size).forward.implementation()
    except library.Refused:
        return None


def forward(name, x, exact=None, out=None, alpha=None, beta=None):
    """f(x) with oneDNN's function ``name`` (and parameters, see ``ALPHA``) into
    ``out`` (a new array if None; ``x`` itself computes in place), or None where it declines.

    For the functions of ``EXACT_FROM``, ``exact`` (an array function) computes the elements
    oneDNN does not get right; the result is then PyTorch's there too. Without it they keep
    oneDNN's values (0 where they would be below about 1e-38)."""
    least = MIN_CHEAP_ELEMENTS.get(name, MIN_ELEMENTS)
    if not _usable(x, least=least) or (out is not None and not _usable(x, out)):
        return None
    lowest = EXACT_FROM.get(name)
    # the minimum is NaN if any element is, so NaN inputs are recomputed too
    outside = None
    if exact is not None and lowest is not None and not x.min() >= lowest:
        outside = ~(x >= lowest)
        inputs = x[outside]  # read before an in-place run overwrites them
    if out is None:
        out = np.empty_like(x)
    try:
        pair = _pair(name, x.size, alpha, beta)
        md = pair.md.handle
        pair.forward.run([(library.ARG_SRC, md, x), (library.ARG_DST, md, out)])
    except library.Refused:
        return None
    if outside is not None:
        out[outside] = exact(inputs)
    return out


def inverse_sqrt(x):
    """1 / sqrt(x) as a new array, root and reciprocal each oneDNN's exact kernel (NumPy's
    bits; 1M elements: 0.12 ms against NumPy's 0.68), or None where it declines."""
    root = forward("sqrt", x)
    if root is not None and forward("reciprocal", root, out=root) is None:
        np.reciprocal(root, out=root)
    return root


def backward(name, grad, saved, alpha=None, beta=None):
    """grad * f'(x) with oneDNN's function ``name`` (and parameters) as a new array, or None
    where it declines; ``saved`` is x, or f(x) for a name ending in ``_dst``."""
    if not _usable(grad, saved):
        return None
    out = np.empty_like(saved)
    kind = library.ARG_DST if name.endswith("_dst") else library.ARG_SRC
    try:
        pair = _pair(name, saved.size, alpha, beta)
        md = pair.md.handle
        pair.backward.run(
            [(kind, md, saved), (library.ARG_DIFF_DST, md, grad), (library.ARG_DIFF_SRC, md, out)]
        )
    except library.Refused:
        return None
    return out
