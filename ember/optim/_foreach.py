"""The multi-tensor ops that the optimizers' update rules are written with.

Each is ``ember._foreach_<name>`` (one Python loop over the list, writing each tensor's memory
directly where nothing is recorded), under the short name a rule reads best with, and doing
nothing on an empty list: rules split their lists (parameters in their first steps, say), and
PyTorch's ops refuse empty ones. Callers choose the grad mode (``no_grad``, or grad enabled for
``differentiable=True``, where the ops fall back to the recorded per-tensor path).
"""

from ember._ops import foreach as _ops


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
scale_add_ = _empty_allowed(_ops.scale_add_)
neg = _empty_allowed(_ops._foreach_neg)
sqrt = _empty_allowed(_ops._foreach_sqrt)
sqrt_ = _empty_allowed(_ops._foreach_sqrt_)
sub = _empty_allowed(_ops._foreach_sub)


def clone(tensors):
    return [t.clone() for t in tensors]
