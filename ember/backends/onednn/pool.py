"""float32 max pooling on oneDNN, for windows that tile the input (``MaxPool2d(2)``).

oneDNN's max pooling records, for each output cell, the position of the maximum inside its
window (a uint8 "workspace", row-major over the kernel): exactly the winners the NumPy kernels
record for tiling windows, in the output's layout, so the NumPy gradient kernels read oneDNN's
winners and the reverse. Contiguous and channels-last arrays are handed over as they are.

oneDNN's maximum skips NaN and starts from the lowest finite float, where PyTorch's takes a
NaN and gives -inf for a window of -inf; an input holding NaN or -inf (its minimum says so,
one pass) is left to the NumPy kernel. Other geometries and layouts decline too, and so does
a CPU where oneDNN has only scalar code for the layout.
"""

import numpy as np

from ember.backends.numpy.pool import windows_tile
from ember.backends.numpy.threads import reduction
from ember.backends.onednn import library as dnnl
from ember.backends.registry import DECLINE, register

_FORWARD_TRAINING = 64
_POOLING_MAX = 0x1FF


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


_plans = {}


def _plan(in_shape, layout, kernel):
    """The cached primitives of this pooling, or None where oneDNN is missing or refuses it."""
    if not dnnl.available() or layout is None or 0 in in_shape or len(in_shape) not in (3, 4, 5):
        return None
    if any(n < k for n, k in zip(in_shape[2:], kernel)):
        return None
    key = (tuple(in_shape), layout, tuple(kernel))
    plan = _plans.get(key, False)
    if plan is False:
        try:
            plan = _Pooling(*key)
        except dnnl.Refused:
            plan = None
        _plans[key] = plan
    return plan


def _no_nan_nor_minus_inf(x):
    return bool(reduction(np.min, x, tuple(range(x.ndim))) > -np.inf)


@register("max_pool", "onednn", dtypes=[np.float32], priority=10)
def max_pool(x, kernel, stride, dilation, pads, out_size):
    """(maximum of each tiling window, its offset in the window), as the NumPy kernel."""
    if not windows_tile(kernel, stride, dilation, pads):
        return DECLINE
    plan = _plan(x.shape, _layout(x), kernel)
    if plan is None or not _no_nan_nor_minus_inf(x):
        return DECLINE
    return plan.run_forward(x)


@register("max_pool_grad", "onednn", dtypes=[np.float32], priority=10)
def max_pool_grad(g, winners, in_shape, geometry):
    """Each value of ``g`` sent to its tiling window's winning cell, zeros elsewhere."""
    if geometry is None or not windows_tile(*geometry):
        return DECLINE
    layout = _layout(winners)
    plan = _plan(tuple(in_shape), layout, geometry[0])
    if plan is None or g.shape != winners.shape:
        return DECLINE
    if _layout(g) != layout:
        copied = _empty(g.shape, layout, np.float32)
        copied[...] = g
        g = copied
    return plan.run_backward(g, winners)
