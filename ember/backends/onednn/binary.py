"""float32 add, subtract, multiply and divide of large arrays on oneDNN's binary primitive.

NumPy runs each on one core, and ember's own threads only pay from several million elements
on machines whose idle threads sleep deeply (see ``ember.backends.numpy.threads``). oneDNN
shares the work among GNU OpenMP's threads, which spin for a while between calls (see
``library._load``), as PyTorch's kernels do. Its results are the same IEEE
operations NumPy computes, so equal bit for bit (NaN payloads aside). Used for two
C-contiguous float32 arrays of one shape, or such an array and a Python number, of at least
``MIN_ELEMENTS``, when ember runs more than one thread; anything else gives None and the
caller's NumPy code runs.

With a ``scale``, ``fn(a, b * scale)`` is one pass (the optimizers' ``p += alpha * u``), where
NumPy makes ``b * scale`` as a temporary and then a second pass; oneDNN scales the second
operand and rounds the product before the add, as NumPy does, so the results are equal bit
for bit. Such updates pay from ``MIN_SCALED_ELEMENTS``.
"""

import ctypes

import numpy as np

from ember import _runtime
from ember.backends.onednn import eltwise, library

ALGORITHMS = {np.add: 0x1FFF0, np.multiply: 0x1FFF1, np.true_divide: 0x1FFF4, np.subtract: 0x1FFF5}
"""oneDNN's dnnl_alg_kind_t of each NumPy function taken here."""

MIN_ELEMENTS = 1 << 20
"""From here oneDNN is faster (2-core AVX2 machine, medians of interleaved calls through
ember: add of 1M 0.29 ms in NumPy against 0.22, multiply by a number 0.19 against 0.16; 512k
level at 0.12, 256k 0.076 against 0.090)."""

MIN_SCALED_ELEMENTS = 1 << 20
"""From here ``a + b * scale`` runs on oneDNN. Alone it is faster from far smaller sizes
(medians of back-to-back calls: 2.36M elements 1.70 ms in NumPy against 0.28, 401k 0.120
against 0.053, 131k 0.041 against 0.026), but an optimizer step right after a backward of
matrix products shares the cores with OpenBLAS's still-spinning threads: with updates of the
MLP's 401k and 262k weights on oneDNN its step took 4.6 or 6.2 ms from one process to the
next, against a steady 5.1 on NumPy. From 1M elements the pass saved outweighs that."""

_TAG_ABC = 4  # dnnl_abc, C-contiguous
_EXACT_INTS = 1 << 24  # Python ints up to this are float32 values exactly, as NumPy casts them
_ARG_ATTR_SCALES = 4096  # DNNL_ARG_ATTR_SCALES, or-ed with the argument it scales
_EXP = eltwise.ALGORITHMS["exp"]
_cache = library.RecentlyUsed(32)


def _declare():
    lib = library._lib
    lib.dnnl_binary_primitive_desc_create.argtypes = (
        [ctypes.c_void_p] * 2 + [ctypes.c_int] + [ctypes.c_void_p] * 4
    )
    lib.dnnl_post_ops_append_binary.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.dnnl_post_ops_append_eltwise.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_float,
    ]  # fmt: skip


if library.available():
    _declare()


def primitive(algorithm, first, second, dst, configure=None):
    """oneDNN's binary primitive of ``algorithm`` on memory descriptor handles, with the
    attribute ``configure(attr)`` sets up (scales, post-ops), or None where oneDNN refuses
    it."""
    lib, attr = library._lib, ctypes.c_void_p()
    library._check(lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attr_create")
    try:
        if configure is not None:
            configure(attr)
        return library.Primitive(
            lambda pd: lib.dnnl_binary_primitive_desc_create(
                pd, library._engine, algorithm, first, second, dst, attr
            )
        )
    except library.Refused:
        return None
    finally:
        lib.dnnl_primitive_attr_destroy(attr)


def post_ops(*append):
    """A ``configure`` for `primitive` that gives it the post-ops the functions ``append``
    add, each called with the post-ops handle."""

    def configure(attr):
        lib, handle = library._lib, ctypes.c_void_p()
        library._check(lib.dnnl_post_ops_create(ctypes.byref(handle)), "post_ops_create")
        try:
            for add in append:
                library._check(add(handle), "post_op")
            library._check(lib.dnnl_primitive_attr_set_post_ops(attr, handle), "post_ops")
        finally:
            lib.dnnl_post_ops_destroy(handle)

    return configure


class _Kernel:
    """The primitive of one function on flat arrays of ``n`` elements, the second operand
    either of the same size or one element (a scalar, broadcast); ``scaled`` lists the
    operands (DNNL_ARG_*) multiplied by a scale given at each run, in that order. Its
    ``runner`` is None where oneDNN refuses them."""

    def __init__(self, algorithm, n, scalar, scaled):
        self.mds = [library.Desc((n,), tag=library.TAG_A)]
        self.mds.append(library.Desc((1,), tag=library.TAG_A) if scalar else self.mds[0])
        whole, second = (md.handle for md in self.mds)
        args = [(library.ARG_SRC, whole), (library.ARG_SRC_1, second), (library.ARG_DST, whole)]
        if scaled:
            self.mds.append(library.Desc((1,), tag=library.TAG_A))
            args += [(_ARG_ATTR_SCALES | operand, self.mds[-1].handle) for operand in scaled]

        def scales(attr):
            for operand in scaled:
                mask = library._lib.dnnl_primitive_attr_set_scales_mask(attr, operand, 0)
                library._check(mask, "scales")

        kernel = primitive(algorithm, whole, second, whole, scales)
        self.runner = None if kernel is None else library.Runner(kernel, args)


def _operand(x, size):
    """``x`` as a flat float32 array oneDNN reads, or None."""
    if (
        x.__class__ is float
        or x.__class__ is np.float32
        or (x.__class__ is int and abs(x) <= _EXACT_INTS)
    ):
        return np.array([x], np.float32)
    if (
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.size == size
        and x.flags.c_contiguous
    ):
        return x.reshape(-1)
    return None


def compute(fn, a, b, out=None, scale=None, first_scale=None):
    """``fn(a, b)``, or ``fn(a, b * scale)`` for an array ``b`` and a number ``scale`` (and
    ``fn(a * first_scale, b * scale)`` with ``first_scale``, each product rounded as NumPy
    rounds it), as a float32 array: into ``out`` when given (C-contiguous, of ``a``'s shape;
    ``a`` itself for an in-place update), else new. None where it declines."""
    algorithm = ALGORITHMS.get(fn)
    if (
        algorithm is None
        or a.__class__ is not np.ndarray
        or a.size < (MIN_ELEMENTS if scale is None and first_scale is None else MIN_SCALED_ELEMENTS)
        or not library.available()
        or _runtime.get_num_threads() < 2
    ):
        return None
    if (scale is not None or first_scale is not None) and b.__class__ is not np.ndarray:
        return None  # a number times a number: NumPy's caller multiplies them in float64
    first, second = _operand(a, a.size), _operand(b, a.size)
    if first is None or second is None or (b.__class__ is np.ndarray and b.shape != a.shape):
        return None
    target = np.empty(a.shape, np.float32) if out is None else out
    flat_target = _operand(target, a.size)
    given = [(library.ARG_SRC_1, scale), (library.ARG_SRC, first_scale)]
    scaled = tuple(operand for operand, number in given if number is not None)
    multipliers = [_operand(number, 1) for _, number in given if number is not None]
    if flat_target is None or target.shape != a.shape or any(m is None for m in multipliers):
        return None
    if out is not None and any(
        x.__class__ is np.ndarray
        and x.ctypes.data != out.ctypes.data
        and np.may_share_memory(out, x)
        for x in (a, b)
    ):  # oneDNN reads and writes in blocks: an operand that overlaps the output elsewhere
        return None
    scalar = second.size == 1
    key = (algorithm, a.size, scalar, scaled, _runtime.get_num_threads())
    kernel = _cache.get(key, lambda: _Kernel(algorithm, a.size, scalar, scaled))
    if kernel.runner is None:
        return None
    kernel.runner.run(first, second, flat_target, *multipliers)
    return target


MIN_CUBE_ELEMENTS = 1 << 18
"""From here ``x ** 3`` is one oneDNN pass instead of NumPy's two (2-core AVX-512 machine,
1M elements: 0.07 ms against 0.20; 256k 0.028 against 0.048)."""


class _Cube:
    """x * x * x on flat arrays of ``n`` elements in one pass: the product x * x (rounded to
    float32) times x again by a binary post-op, which is NumPy's and PyTorch's (x * x) * x
    bit for bit. Its ``runner`` is None where oneDNN refuses it."""

    def __init__(self, n):
        multiply = ALGORITHMS[np.multiply]
        self.md = library.Desc((n,), tag=library.TAG_A)
        whole = self.md.handle
        times_x = post_ops(
            lambda ops: library._lib.dnnl_post_ops_append_binary(ops, multiply, whole)
        )
        kernel = primitive(multiply, whole, whole, whole, times_x)
        operands = (library.ARG_SRC, library.ARG_SRC_1, library.post_op_src(0), library.ARG_DST)
        self.runner = (
            None if kernel is None else library.Runner(kernel, [(a, whole) for a in operands])
        )


def _plain_float32(x, least):
    """Whether ``x`` is a C-contiguous float32 NumPy array of at least ``least`` elements and
    oneDNN is there to take it."""
    return (
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.size >= least
        and x.flags.c_contiguous
        and library.available()
    )


def cube(x):
    """``x * x * x`` for a C-contiguous float32 array of at least ``MIN_CUBE_ELEMENTS``, as a
    new array; None where it declines."""
    if not _plain_float32(x, MIN_CUBE_ELEMENTS):
        return None
    kernel = _cache.get(("cube", x.size, _runtime.get_num_threads()), lambda: _Cube(x.size))
    if kernel.runner is None:
        return None
    flat, out = x.reshape(-1), np.empty(x.shape, np.float32)
    kernel.runner.run(flat, flat, flat, out.reshape(-1))
    return out


MIN_ROWWISE_ELEMENTS = 1 << 17
"""From here `subtract_rows` runs on oneDNN (rows of 1024: 128k elements 11 us against
NumPy's 22, 256k 18 against 46)."""


class _RowwiseSubtract:
    """a - column for a (rows, cols) a and a (rows, 1) column, broadcast along the rows; with
    ``then`` "exp", exp(a - column) (an eltwise post-op); with "subtract", (a - column) - second
    for a second (rows, 1) column (a binary post-op), each difference rounded."""

    def __init__(self, rows, cols, then=None):
        # seen as (1, rows, cols): a (1, rows, 1) column is then a per-channel operand, which
        # oneDNN's post-ops broadcast in vectorised code (a (rows, 1) one takes its reference
        # code there)
        self.whole = library.Desc((1, rows, cols), tag=_TAG_ABC)
        self.column = library.Desc((1, rows, 1), tag=_TAG_ABC)
        whole, column, lib = self.whole.handle, self.column.handle, library._lib
        steps = {
            None: None,
            "exp": post_ops(lambda ops: lib.dnnl_post_ops_append_eltwise(ops, _EXP, 0.0, 0.0)),
            "subtract": post_ops(
                lambda ops: lib.dnnl_post_ops_append_binary(ops, ALGORITHMS[np.subtract], column)
            ),
        }[then]
        kernel = primitive(ALGORITHMS[np.subtract], whole, column, whole, steps)
        args = [(library.ARG_SRC, whole), (library.ARG_SRC_1, column), (library.ARG_DST, whole)]
        if then == "subtract":
            args.append((library.post_op_src(0), column))  # the second column
        self.runner = library.vectorised_runner(kernel, args)


def subtract_rows(a, column, out, then=None, second=None):
    """``a - column`` into ``out`` (``a`` itself computes in place) for C-contiguous float32
    (rows, cols) ``a`` and ``out`` and a (rows, 1) ``column``, on every core; None where it
    declines (1024 x 1024: 0.05 ms against NumPy's 0.19 on one core). The same IEEE
    subtraction as NumPy's, so the same bits. With ``then="exp"``, exp(a - column) (oneDNN's
    exp, which flushes results below about 1e-38 to 0); with ``then="subtract"``,
    ``(a - column) - second`` for a second such column, in the same pass."""
    if not (
        _plain_float32(a, MIN_ROWWISE_ELEMENTS)
        and a.ndim == 2
        and library.plain(out, a.shape)
        and library.plain(column, (a.shape[0], 1))
        and (then != "subtract" or library.plain(second, (a.shape[0], 1)))
    ):
        return None
    key = ("rows", *a.shape, then, _runtime.get_num_threads())
    kernel = _cache.get(key, lambda: _RowwiseSubtract(*a.shape, then))
    if kernel.runner is None:
        return None
    kernel.runner.run(a, column, out, *(() if then != "subtract" else (second,)))
    return out
