"""Which scaled-dot-product-attention backends ``nn.attention.sdpa_kernel`` currently allows.

ember has one implementation, the math backend; `check_math_allowed` is called by
``scaled_dot_product_attention`` so that a selection without it fails as PyTorch's does when
none of the chosen kernels can run.
"""

import enum


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


ALL = frozenset(SDPBackend) - {SDPBackend.ERROR}
enabled = ALL


def check_math_allowed():
    if SDPBackend.MATH not in enabled:
        names = ", ".join(sorted(b.name for b in enabled))
        raise RuntimeError(
            "scaled_dot_product_attention: no available kernel; ember implements only "
            f"SDPBackend.MATH and sdpa_kernel allows {names}"
        )
