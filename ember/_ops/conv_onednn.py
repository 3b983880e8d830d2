"""The float32 2-D convolution on oneDNN's kernels (see `_onednn`), channels-last throughout.

oneDNN computes in NHWC; the result (and the input's gradient) is returned in the input's own
layout, NCHW-contiguous unless the input was channels-last, as PyTorch's convolutions do.
"""

import numpy as np

from ember._ops import _onednn
from ember._ops._util import in_layout_of
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled


def _nhwc(a):
    """(N, C, H, W) array -> C-contiguous (N, H, W, C), copying only when it is not already."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def plan_for(x, w, b, stride, padding, dilation, groups, out_hw):
    """The oneDNN plan for this call, or None where the NumPy path must run it."""
    if x.dtype != np.float32 or w.dtype != np.float32:
        return None
    return _onednn.conv2d_plan(
        tuple(x.shape), tuple(w.shape), b is not None, stride, padding, dilation, groups, out_hw
    )


class Conv2dOneDNN(ArrayFunction):
    @staticmethod
    def forward(ctx, x, w, b, plan, geometry):
        ctx.save_for_backward(x, w, b)
        ctx.plan, ctx.geometry = plan, geometry
        b = None if b is None else np.ascontiguousarray(b)
        out = plan.forward(_nhwc(x), np.ascontiguousarray(w), b).transpose(0, 3, 1, 2)
        return in_layout_of(out, x)

    @staticmethod
    def backward(ctx, grad):
        if is_grad_enabled():
            from ember._ops.conv import reference_conv2d

            return recorded_backward(ctx, reference_conv2d(*ctx.geometry), (grad,))
        x, w = (t._data for t in ctx.saved_tensors[:2])
        x_nhwc, w, plan = _nhwc(x), np.ascontiguousarray(w), ctx.plan
        g = _nhwc(grad._data.astype(x.dtype, copy=False))  # the kernel reads x's dtype
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx = wrap(in_layout_of(plan.backward_data(g, w).transpose(0, 3, 1, 2), x))
        if need_w or need_b:
            dw_arr, db_arr = plan.backward_weights(x_nhwc, g, need_b)
            dw = wrap(dw_arr.reshape(w.shape)) if need_w else None
            db = wrap(db_arr) if need_b else None
        return dx, dw, db, None, None
