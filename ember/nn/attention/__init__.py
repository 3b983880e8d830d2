"""``nn.attention``: choosing the kernel behind ``F.scaled_dot_product_attention``.

ember has one implementation of scaled dot-product attention (the math backend). Inside an
`sdpa_kernel` block whose selection leaves it out, attention raises, as PyTorch's does when
none of the chosen kernels can run.
"""

import contextlib

from ember.backends import sdp
from ember.backends.sdp import SDPBackend

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block, attention may use only ``backends`` (a backend or a list of them)."""
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise AssertionError("Backend must be an instance of SDPBackend")
    previous = sdp.enabled
    sdp.enabled = frozenset(chosen)
    try:
        yield
    finally:
        sdp.enabled = previous
