"""torch._dynamo._trace_wrapped_higher_order_op: ``TransformGetItemToIndex``, the context in
which PyTorch rewrites ``tensor[scalar_tensor]`` as an index op so that function transforms and
flex attention can trace it. Eager ember indexes with a scalar tensor directly and with the same
result, so the context changes nothing."""

import contextlib

__all__ = ["TransformGetItemToIndex"]


class TransformGetItemToIndex(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
