"""float32 max pooling on oneDNN, for windows that tile the input (``MaxPool2d(2)``).

oneDNN's max pooling records, for each output cell, the position of the maximum inside its
window (a uint8 "workspace", row-major over the kernel): exactly the winners the NumPy kernels
record for tiling windows, in the output's layout, so the NumPy gradient kernels read oneDNN's
winners and the reverse. Contiguous and channels-last arrays are handed over as they are.

oneDNN's maximum skips NaN and starts from the lowest finite float, where PyTorch's takes a
NaN and gives -inf for a window of -inf; an input holding NaN or -inf (its minimum says so,
one pass) is left to the NumPy kernel. Other geometries and layouts decline too, and so does
a layout for which oneDNN has only scalar pooling code, but for contiguous arrays.

Where oneDNN's pooling of contiguous arrays is scalar code (plain layouts on AVX2 CPUs), its
reorders still move the data (`_Gather`, `_Scatter`): the forward gathers the cells of each
window offset into a contiguous plane, over which NumPy takes the maximum, and the gradient is
written back by one reorder. Measured through ember on a 2-core AVX2 machine, (64, 32, 28, 28)
pooled by 2, medians of 8 processes, forward / backward: NumPy's strided views 5.2 / 2.8 ms,
the reorders 2.3 / 1.4, PyTorch 6.1 / 1.2 (oneDNN's scalar kernels alone take 12 / 3.3).
"""

import ctypes
import math
import operator

import numpy as np

from ember.backends.numpy.pool import max_over_offsets, windows_tile
from ember.backends.numpy.threads import reduction
from ember.backends.onednn import library as dnnl
from ember.backends.registry import DECLINE, register

_FORWARD_TRAINING = 64
_POOLING_MAX = 0x1FF
_SRC_SCALES = 4096 | dnnl.ARG_SRC  # DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC
_REFUSED = object()  # cached where oneDNN refused a primitive


def _layout(a):
    """'contiguous', 'channels_last' (4-D arrays) or None for any other layout."""
    if a.flags.c_contiguous:
        return "contiguous"
    if a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous:
        return "channels_last"
    return None


def _empty(shape, layout, dtype):
    if layout == "contiguous":
        return np.empty(shape, dtype)
    n, c, h, w = shape
    return np.empty((n, h, w, c), dtype).transpose(0, 3, 1, 2)


class _Pooling:
    """The forward and backward max-pooling primitives of one shape, layout and kernel."""

    def __init__(self, in_shape, layout, kernel):
        out_shape = (*in_shape[:2], *(n // k for n, k in zip(in_shape[2:], kernel)))
        self.in_shape, self.out_shape, self.layout = in_shape, out_shape, layout
        self.src = dnnl.Desc.of(_empty(in_shape, layout, np.float32))
        self.dst = dnnl.Desc.of(_empty(out_shape, layout, np.float32))
        winners = dnnl.Desc.of(_empty(out_shape, layout, np.uint8))
        spatial = len(kernel)
        zeros = dnnl.Dims(*(0,) * spatial)
        geometry = (dnnl.Dims(*kernel), dnnl.Dims(*kernel), zeros, zeros, zeros)
        self.forward = dnnl.pooling(
            "forward", _FORWARD_TRAINING, _POOLING_MAX, self.src.handle, self.dst.handle,
            *geometry, None,
        )  # fmt: skip
        if self.forward.scalar_code():  # plain layouts on AVX2: 4x slower than NumPy's
            raise dnnl.Refused("no vectorised oneDNN pooling for this CPU and layout")
        self.workspace = self.forward.md(dnnl.QUERY_WORKSPACE_MD)
        if not dnnl.same_layout(self.workspace, winners.handle):
            raise dnnl.Refused("oneDNN's pooling workspace is not one window offset per cell")
        self.backward = dnnl.pooling(
            "backward", _POOLING_MAX, self.src.handle, self.dst.handle, *geometry,
            self.forward.pd, None,
        )  # fmt: skip

    def run_forward(self, x):
        out = _empty(self.out_shape, self.layout, np.float32)
        winners = _empty(self.out_shape, self.layout, np.uint8)
        self.forward.run(
            [
                (dnnl.ARG_SRC, self.src.handle, x),
                (dnnl.ARG_DST, self.dst.handle, out),
                (dnnl.ARG_WORKSPACE, self.workspace, winners),
            ]
        )
        return out, winners

    def run_backward(self, g, winners):
        dx = _empty(self.in_shape, self.layout, np.float32)
        self.backward.run(
            [
                (dnnl.ARG_DIFF_DST, self.dst.handle, g),
                (dnnl.ARG_WORKSPACE, self.workspace, winners),
                (dnnl.ARG_DIFF_SRC, self.src.handle, dx),
            ]
        )
        return dx


def _cached(cache, make, *key):
    """``make(*key)`` from ``cache`` (a `RecentlyUsed`); None where oneDNN refuses it."""

    def build():
        try:
            return make(*key)
        except dnnl.Refused:
            return _REFUSED

    found = cache.get(key, build)
    return None if found is _REFUSED else found


def _poolable(in_shape, kernel):
    """Whether oneDNN is here and takes this shape: (N, C, *spatial) with 1-3 spatial axes,
    none empty nor shorter than the kernel."""
    return (
        dnnl.available()
        and 0 not in in_shape
        and len(in_shape) in (3, 4, 5)
        and all(n >= k for n, k in zip(in_shape[2:], kernel))
    )


_plans = dnnl.RecentlyUsed(32)


def _plan(in_shape, layout, kernel):
    """The cached primitives of this pooling, or None where oneDNN is missing or refuses it."""
    if layout is None or not _poolable(in_shape, kernel):
        return None
    return _cached(_plans, _Pooling, tuple(in_shape), layout, tuple(kernel))


def _contiguous_strides(shape):
    """Element strides of a C-contiguous array of ``shape``."""
    return [math.prod(shape[i + 1 :]) for i in range(len(shape))]


def _offset_view(in_shape, kernel):
    """A contiguous (N, C, *spatial) array's tiling windows as oneDNN sees them: (dims, the
    array's element strides, those of its offset planes, the planes' shape). The dims are
    (k_1, ..., k_r, N, C, O_1, ..., O_r); the planes, one contiguous (N, C, O_1, ..., O_r)
    array per offset in the window (row-major over the kernel), the cells at that offset."""
    n, c, *spatial = in_shape
    windows = (n, c, *(s // k for s, k in zip(spatial, kernel)))
    steps = _contiguous_strides(in_shape)
    cells = [*steps[2:], *steps[:2], *map(operator.mul, kernel, steps[2:])]
    count = math.prod(windows)
    planes = [*(count * s for s in _contiguous_strides(kernel)), *_contiguous_strides(windows)]
    return [*kernel, *windows], cells, planes, windows


class _Gather:
    """The offset planes of a contiguous input, copied out by one oneDNN reorder."""

    def __init__(self, in_shape, kernel):
        dims, cells, planes, self.windows = _offset_view(in_shape, kernel)
        self.taps = math.prod(kernel)
        self._descs = (dnnl.Desc(dims, cells), dnnl.Desc(dims, planes))  # outlive the runner
        self.runner = _reorder(*self._descs)

    def __call__(self, x):
        """(K, N, C, *out_size) planes of ``x``, plane t the cells at offset t."""
        planes = np.empty((self.taps, *self.windows), np.float32)
        self.runner.run(x, planes)
        return planes


class _Scatter:
    """A max-pooling gradient written into a contiguous input-shaped array by one oneDNN
    reorder. Its source is an offset plane of bytes per offset in the window, 1 where that
    offset won; oneDNN multiplies them by the window's gradient (per-window scales of the
    source) as it writes. A cell whose offset lost so gets 0 times the gradient: a gradient
    holding inf or NaN is left to NumPy, and a negative gradient leaves -0.0 there.

    The scaled dimensions are the last ones, together: oneDNN 3.2's reorder misplaces the
    scales of a mask with a gap, such as (N, C, O_1, k_1, O_2, k_2) scaled over N, C, O_1
    and O_2.
    """

    def __init__(self, in_shape, kernel):
        dims, cells, planes, windows = _offset_view(in_shape, kernel)
        self.in_shape, self.taps = tuple(in_shape), math.prod(kernel)
        self.uncovered = [  # the slabs of cells no window covers
            (slice(None),) * (2 + axis) + (slice(o * k, None),)
            for axis, (n, o, k) in enumerate(zip(in_shape[2:], windows[2:], kernel))
            if n > o * k
        ]
        won = dnnl.Desc(dims, planes, data_type=dnnl.U8)
        scales = dnnl.Desc([math.prod(windows)], [1])
        self._descs = (won, dnnl.Desc(dims, cells), scales)  # outlive the runner
        per_window = sum(1 << axis for axis in range(len(kernel), len(dims)))
        self.runner = _reorder(*self._descs[:2], (per_window, scales))

    def __call__(self, g, winners):
        """The gradient of contiguous ``g``, from the winners `max_pool` recorded."""
        won = np.empty((self.taps, *winners.shape), np.bool_)
        for t, plane in enumerate(won):
            np.equal(winners, t, out=plane)
        dx = np.empty(self.in_shape, np.float32)
        for cells in self.uncovered:
            dx[cells] = 0
        self.runner.run(won, dx, g)
        return dx


def _reorder(src, dst, scales=None):
    """A vectorised oneDNN reorder from ``src`` to ``dst`` (Descs), bound to run on arrays;
    ``scales``: (mask, Desc) of per-element scales of the source."""
    lib, attr = dnnl._lib, ctypes.c_void_p()
    dnnl._check(lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attr_create")
    try:
        if scales is not None:
            status = lib.dnnl_primitive_attr_set_scales_mask(attr, dnnl.ARG_SRC, scales[0])
            dnnl._check(status, "attr_set_scales_mask")
        primitive = dnnl.Primitive(
            lambda out: lib.dnnl_reorder_primitive_desc_create(
                out, src.handle, dnnl._engine, dst.handle, dnnl._engine, attr
            ),
            parks_blas=True,
        )
    finally:
        lib.dnnl_primitive_attr_destroy(attr)
    if primitive.scalar_code():
        raise dnnl.Refused("no vectorised oneDNN reorder between these layouts")
    args = [(dnnl.ARG_SRC, src.handle), (dnnl.ARG_DST, dst.handle)]
    if scales is not None:
        args.append((_SRC_SCALES, scales[1].handle))
    return dnnl.Runner(primitive, args)


_gathers, _scatters = dnnl.RecentlyUsed(32), dnnl.RecentlyUsed(32)


def _finite(a):
    """Whether ``a`` holds no inf nor NaN (its extremes say so: NaN propagates to both)."""
    return all(np.isfinite(extreme.reduce(a, None)) for extreme in (np.minimum, np.maximum))


def _no_nan_nor_minus_inf(x):
    return bool(reduction(np.min, x, tuple(range(x.ndim))) > -np.inf)


@register("max_pool", "onednn", dtypes=[np.float32], priority=10)
def max_pool(x, kernel, stride, dilation, pads, out_size):
    """(maximum of each tiling window, its offset in the window), as the NumPy kernel: by
    oneDNN's pooling where it has vector code for the layout, else, for a contiguous input,
    over the offset planes oneDNN gathers (NumPy's running maximum, on contiguous planes)."""
    if not windows_tile(kernel, stride, dilation, pads):
        return DECLINE
    layout = _layout(x)
    plan = _plan(x.shape, layout, kernel)
    if plan is not None:
        return plan.run_forward(x) if _no_nan_nor_minus_inf(x) else DECLINE
    if layout != "contiguous" or not _poolable(x.shape, kernel):
        return DECLINE
    gather = _cached(_gathers, _Gather, x.shape, tuple(kernel))
    return DECLINE if gather is None else max_over_offsets(list(gather(x)))


@register("max_pool_grad", "onednn", dtypes=[np.float32], priority=10)
def max_pool_grad(g, winners, in_shape, geometry):
    """Each value of ``g`` sent to its tiling window's winning cell, zeros elsewhere: by
    oneDNN's pooling backward where it has vector code for the layout, else, into a
    contiguous result, by oneDNN's scatter of the offset planes."""
    if geometry is None or not windows_tile(*geometry) or g.shape != winners.shape:
        return DECLINE
    layout = _layout(winners)
    plan = _plan(tuple(in_shape), layout, geometry[0])
    if plan is not None:
        if _layout(g) != layout:
            copied = _empty(g.shape, layout, np.float32)
            copied[...] = g
            g = copied
        return plan.run_backward(g, winners)
    if layout == "channels_last" or not _poolable(in_shape, geometry[0]):
        return DECLINE
    scatter = _cached(_scatters, _Scatter, tuple(in_shape), tuple(geometry[0]))
    g = np.ascontiguousarray(g)
    return scatter(g, winners) if scatter is not None and _finite(g) else DECLINE
