"""float32 sums of large contiguous arrays, and the gradients they spread back, on oneDNN.

A sum reads memory once and does little else, so what it costs is the cores that read and
the fixed cost of starting them. PyTorch sums 1M float32 elements in about 30 us on both
cores of a 2-core AVX-512 machine; NumPy's pairwise sum takes 180 us on one, ``einsum`` row
sums split over ember's own threads 60 us (their hand-off costs tens of microseconds).
oneDNN's reduction primitive runs on GNU OpenMP's spinning threads, as PyTorch's kernels do:
30 us for 1M (5 us fixed), 0.87 ms for 16M, against NumPy's 12 us from 64k elements on.

It adds each row in SIMD lanes, so its error grows with the row's length (rows of 65536
uniform [0.5, 2.5) values: mean relative error 2.1e-7 against PyTorch's 4.0e-8). Rows of up
to ``BLOCK`` elements are as accurate as PyTorch's sums (4.1e-8 against 4.0e-8; N(0, 1)
data, relative to the sum of magnitudes: 4.9e-9 against 3.3e-9), so longer rows and whole
arrays are summed in blocks of ``BLOCK`` whose partial sums NumPy adds pairwise (whole
arrays of 1M and 16M elements: 3.0e-8 and 2.5e-8 against PyTorch's 3.4e-8 and 2.5e-8;
N(0, 1): 1.4e-10 and 5.7e-11 against 1.0e-10 and 6.8e-11). Each block is summed by one
thread, so results do not depend on the thread count.

The gradient of a sum repeats the output's gradient over the reduced elements. Where it goes
straight into an empty ``.grad``, it has to be written out in full (PyTorch does too, 24 us
for 1M elements); NumPy copies 1M elements of a broadcast view in 70 us (one value) or 80
(one value per row) on one core. oneDNN writes one value everywhere in 31 us (eltwise
``clip_v2`` with both bounds that value maps anything, NaN included, to it) and one value
per row in 45-54 us (`_RepeatRows`), bit for bit the values NumPy would write. (A reorder
from a row of ones scaled per row runs on one thread here: 56 us, 70 for rows of 256.)
"""

import ctypes
import math

import numpy as np

from ember import _runtime
from ember.backends.onednn import binary, eltwise, library

BLOCK = 1024
"""Elements summed in SIMD lanes before NumPy adds the partial sums pairwise."""

MIN_ELEMENTS = 1 << 17
"""From here oneDNN is faster than NumPy on one core (64k elements: 10 us against 12.5;
128k: 11 against 24)."""

MIN_SPREAD_ELEMENTS = 1 << 18
"""From here oneDNN writes a sum's gradient faster than NumPy copies a broadcast view (one
value per row of 1024: 128k elements 15.5 us against 12, 256k 22 against 22, 1M 47 against
81; one value: 128k 10 against 11, 256k 13 against 19, 1M 31 against 70)."""

_MAX, _SUM = 0x2FFF2, 0x2FFF4  # dnnl_reduction_max, dnnl_reduction_sum
_CLIP = eltwise.ALGORITHMS["clip_v2"]
_FORWARD_INFERENCE = 0x60
_ADD, _MUL, _SUB = (binary.ALGORITHMS[f] for f in (np.add, np.multiply, np.subtract))
_TAG_AB, _TAG_ABC = 3, 4
_cache = library.RecentlyUsed(32)
_fills = library.RecentlyUsed(8)  # by size and value, fixed in the primitive (made in 60-200 us)


def _declare():
    lib = library._lib
    lib.dnnl_reduction_primitive_desc_create.argtypes = [ctypes.c_void_p] * 2 + [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_float,
        ctypes.c_void_p,
    ]  # fmt: skip


if library.available():
    _declare()


def _primitive(create_pd):
    """The primitive ``create_pd`` makes, or None where oneDNN refuses it."""
    try:
        return library.Primitive(create_pd)
    except library.Refused:
        return None


class _RowReduction:
    """The sums (or with ``algorithm`` _MAX the maxima) of the rows of a C-contiguous
    (rows, cols) array."""

    def __init__(self, rows, cols, algorithm=_SUM):
        self.src = library.Desc((rows, cols), tag=_TAG_AB)
        self.dst = library.Desc((rows, 1), tag=_TAG_AB)
        src, dst = self.src.handle, self.dst.handle
        create = lambda pd: library._lib.dnnl_reduction_primitive_desc_create(  # noqa: E731
            pd, library._engine, algorithm, src, dst, 0.0, 0.0, None
        )
        self.runner = library.vectorised_runner(
            _primitive(create), [(library.ARG_SRC, src), (library.ARG_DST, dst)]
        )


class _Fill:
    """Writes ``value`` into every element of a flat array of ``n`` (whatever it held)."""

    def __init__(self, n, value):
        self.md = library.Desc((n,), tag=library.TAG_A)
        md = self.md.handle
        create = lambda pd: library._lib.dnnl_eltwise_forward_primitive_desc_create(  # noqa: E731
            pd, library._engine, _FORWARD_INFERENCE, _CLIP, md, md, value, value, None
        )
        self.runner = library.vectorised_runner(
            _primitive(create), [(library.ARG_SRC, md), (library.ARG_DST, md)]
        )


class _RepeatRows:
    """Writes a (rows, cols) array whose row i holds a given value i everywhere: a binary
    primitive over the array's own elements (whatever they held), seen as (1, rows, cols),
    whose post-ops map each result to 1 (``clip_v2`` to [1, 1]) and multiply it by its row's
    value (a per-channel operand)."""

    def __init__(self, rows, cols):
        self.whole = library.Desc((1, rows, cols), tag=_TAG_ABC)
        self.values = library.Desc((1, rows, 1), tag=_TAG_ABC)
        self.scalar = library.Desc((1, 1, 1), tag=_TAG_ABC)
        self.zero = np.zeros(1, np.float32)
        lib, whole, values = library._lib, self.whole.handle, self.values.handle
        to_one_times_value = binary.post_ops(
            lambda ops: lib.dnnl_post_ops_append_eltwise(ops, _CLIP, 1.0, 1.0),
            lambda ops: lib.dnnl_post_ops_append_binary(ops, _MUL, values),
        )
        kernel = binary.primitive(_ADD, whole, self.scalar.handle, whole, to_one_times_value)
        self.runner = library.vectorised_runner(
            kernel,
            [(library.ARG_SRC, whole), (library.ARG_SRC_1, self.scalar.handle),
             (library.ARG_DST, whole), (library.post_op_src(1), values)],
        )  # fmt: skip


def _cached(kind, *shape):
    """The ``kind`` built for ``shape`` and the current thread count (cached)."""
    key = (kind, *shape, _runtime.get_num_threads())
    return _cache.get(key, lambda: kind(*shape))


def _on_threads(size, least=MIN_ELEMENTS):
    return library.available() and size >= least and _runtime.get_num_threads() > 1


def usable(x):
    """Whether the sums here take ``x``: a large C-contiguous float32 array, with oneDNN
    present and more than one thread."""
    return (
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.flags.c_contiguous
        and _on_threads(x.size)
    )


def _row_sums(rows):
    """The float32 sums of the rows of C-contiguous ``rows`` (at most ``BLOCK`` long), or
    None."""
    runner = _cached(_RowReduction, *rows.shape).runner
    if runner is None:
        return None
    sums = np.empty(rows.shape[0], np.float32)
    runner.run(rows, sums)
    return sums


def row_max(rows):
    """The maxima of the rows of a C-contiguous float32 (rows, cols) array as a (rows, 1)
    array on every core, or None where oneDNN does not run it. oneDNN's maximum skips NaN;
    callers whose results must carry a row's NaN have to carry it themselves (1024 rows of
    1024: 0.03 ms against NumPy's 0.13 on one core)."""
    if not (usable(rows) and rows.ndim == 2):
        return None
    runner = _cached(_RowReduction, *rows.shape, _MAX).runner
    if runner is None:
        return None
    maxima = np.empty((rows.shape[0], 1), np.float32)
    runner.run(rows, maxima)
    return maxima


def sum_last(x):
    """The sums over the last axis of a `usable` ``x`` (shape ``x.shape[:-1]``), or None
    where the axis is longer than ``BLOCK`` and no multiple of it."""
    cols = x.shape[-1]
    if cols > BLOCK and cols % BLOCK:
        return None
    sums = _row_sums(x.reshape(-1, min(cols, BLOCK)))
    if sums is None:
        return None
    if cols > BLOCK:
        sums = np.add.reduce(sums.reshape(-1, cols // BLOCK), axis=-1)
    return sums.reshape(x.shape[:-1])


def sum_all(x):
    """The sum of every element of a `usable` ``x`` as a float32 scalar, or None."""
    flat = x.reshape(-1)
    whole = flat.size // BLOCK * BLOCK
    sums = _row_sums(flat[:whole].reshape(-1, BLOCK))
    if sums is None:
        return None
    total = np.add.reduce(sums)  # pairwise, as np.sum
    return total + np.add.reduce(flat[whole:]) if whole < flat.size else total


def spread(values, shape):
    """A new C-contiguous float32 array of ``shape`` repeating ``values`` (a float32 array
    of one value, or of one per element of ``shape[:-1]`` in C order) along the last axis,
    or None where oneDNN does not write it."""
    size = math.prod(shape)
    if (
        not _on_threads(size, MIN_SPREAD_ELEMENTS)
        or values.__class__ is not np.ndarray
        or values.dtype != np.float32
    ):
        return None
    flat = np.ascontiguousarray(values.reshape(-1))
    out = np.empty(shape, np.float32)
    if flat.size == 1:
        bits = int(flat.view(np.uint32)[0])  # a key for every value, NaN included
        key = (size, bits, _runtime.get_num_threads())
        runner = _fills.get(key, lambda: _Fill(size, float(flat[0]))).runner
        arrays = (out, out)
    elif flat.size == size // shape[-1]:
        repeat = _cached(_RepeatRows, flat.size, shape[-1])
        runner, arrays = repeat.runner, (out, repeat.zero, out, flat)
    else:
        return None
    if runner is None:
        return None
    runner.run(*arrays)
    return out


_SQUARE = eltwise.ALGORITHMS["square"]
_CENTERED_CHUNK = 1 << 20
"""Elements of ``x - mean`` squared per run before their rows are summed: 4 MB, in cache."""


class _Centered:
    """``x - mean`` for a flat float32 ``x`` of ``n`` elements and a one-element ``mean``,
    then squared (``square``) or times a one-element factor: a binary subtraction whose
    second operand is broadcast, with one post-op."""

    def __init__(self, n, square):
        self.whole = library.Desc((n,), tag=library.TAG_A)
        self.one = library.Desc((1,), tag=library.TAG_A)
        lib, whole, one = library._lib, self.whole.handle, self.one.handle
        if square:
            step = lambda ops: lib.dnnl_post_ops_append_eltwise(ops, _SQUARE, 0.0, 0.0)  # noqa: E731
        else:
            step = lambda ops: lib.dnnl_post_ops_append_binary(ops, _MUL, one)  # noqa: E731
        kernel = binary.primitive(_SUB, whole, one, whole, binary.post_ops(step))
        args = [(library.ARG_SRC, whole), (library.ARG_SRC_1, one), (library.ARG_DST, whole)]
        if not square:
            args.append((library.post_op_src(0), one))
        self.runner = library.vectorised_runner(kernel, args)


def centered_square_sum(x, mean):
    """The sum of ``(x - mean) ** 2`` over a `usable` ``x`` (``mean`` a float32 number), each
    square rounded to float32 and summed as `sum_all` sums, so the result does not depend on
    the thread count; None where oneDNN does not run it. The squares are made a chunk at a
    time into a buffer that stays in cache (16M elements: one read of ``x``)."""
    flat = x.reshape(-1)
    whole = flat.size // BLOCK * BLOCK
    if whole == 0:
        return None
    m = np.array([mean], np.float32)
    squares = np.empty(min(whole, _CENTERED_CHUNK), np.float32)
    partials = []
    for start in range(0, whole, _CENTERED_CHUNK):
        stop = min(whole, start + _CENTERED_CHUNK)
        piece = squares[: stop - start]
        runner = _cached(_Centered, stop - start, True).runner
        if runner is None:
            return None
        runner.run(flat[start:stop], m, piece)
        sums = _row_sums(piece.reshape(-1, BLOCK))
        if sums is None:
            return None
        partials.append(sums)
    total = np.add.reduce(np.concatenate(partials))  # pairwise, as np.sum
    if whole < flat.size:
        tail = flat[whole:] - m[0]
        total = total + np.add.reduce(tail * tail)
    return np.float32(total)


def scaled_centered(x, mean, factor):
    """``(x - mean) * factor`` for a `usable` ``x`` and float32 numbers ``mean`` and
    ``factor`` as a new array of ``x``'s shape, each step rounded as NumPy rounds it, in one
    pass on every core; None where oneDNN does not run it."""
    runner = _cached(_Centered, x.size, False).runner
    if runner is None:
        return None
    out = np.empty(x.shape, np.float32)
    m, f = np.array([mean], np.float32), np.array([factor], np.float32)
    runner.run(x.reshape(-1), m, out.reshape(-1), f)
    return out
