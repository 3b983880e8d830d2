"""The multi-tensor ops that the optimizers' update rules are written with.

Each is ``ember._foreach_<name>`` (one Python loop over the list, writing each tensor's memory
directly where nothing is recorded), under the short name a rule reads best with, and doing
nothing on an empty list: rules split their lists (parameters in their first steps, say), and
PyTorch's ops refuse empty ones. Callers choose the grad mode (``no_grad``, or grad enabled for
``differentiable=True``, where the ops fall back to the recorded per-tensor path).
"""

import numpy as np

from ember._ops import foreach as _ops
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.backends.onednn import binary as onednn_binary


def _empty_allowed(op):
    def run(tensors, *args, **kwargs):
        return op(tensors, *args, **kwargs) if tensors else tensors

    run.__name__ = run.__qualname__ = op.__name__
    return run


abs = _empty_allowed(_ops._foreach_abs)
add = _empty_allowed(_ops._foreach_add)
add_ = _empty_allowed(_ops._foreach_add_)
addcdiv_ = _empty_allowed(_ops._foreach_addcdiv_)
addcmul = _empty_allowed(_ops._foreach_addcmul)
addcmul_ = _empty_allowed(_ops._foreach_addcmul_)
copy_ = _empty_allowed(_ops._foreach_copy_)
div = _empty_allowed(_ops._foreach_div)
div_ = _empty_allowed(_ops._foreach_div_)
lerp_ = _empty_allowed(_ops._foreach_lerp_)
maximum_ = _empty_allowed(_ops._foreach_maximum_)
mul_ = _empty_allowed(_ops._foreach_mul_)
neg = _empty_allowed(_ops._foreach_neg)
sqrt = _empty_allowed(_ops._foreach_sqrt)
sqrt_ = _empty_allowed(_ops._foreach_sqrt_)
sub = _empty_allowed(_ops._foreach_sub)


def scale_add_(tensors, factor, others, alpha):
    """tensors[i] = tensors[i] * factor + others[i] * alpha, the bits ``mul_`` then ``add_``
    give (SGD's momentum buffers): large float32 tensors in one pass on oneDNN's threads
    (`onednn_binary.compute`), the others by the two list ops."""
    rest, rest_others = [], []
    for t, o in zip(tensors, others):
        x = t._data
        if (
            GRAD_ENABLED[0]
            or x.__class__ is not np.ndarray
            or o._data.dtype != x.dtype
            or onednn_binary.compute(np.add, x, o._data, out=x, scale=alpha, first_scale=factor)
            is None
        ):
            rest.append(t)
            rest_others.append(o)
        else:
            t._vc[0] += 1
    if rest:
        mul_(rest, factor)
        add_(rest, rest_others, alpha=alpha)
    return tensors


def clone(tensors):
    return [t.clone() for t in tensors]
