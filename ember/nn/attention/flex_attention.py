"""``nn.attention.flex_attention``: attention with user score and mask functions over
block-sparse masks. ember does not implement it: the names exist so that libraries importing
them load (and ``isinstance(x, BlockMask)`` is False), and each call raises
NotImplementedError; ``F.scaled_dot_product_attention`` with a dense mask does the same work.
"""

from typing import NamedTuple

__all__ = ["BlockMask", "AuxRequest", "create_block_mask", "create_mask", "flex_attention"]

_DEFAULT_SPARSE_BLOCK_SIZE = 128


class AuxRequest(NamedTuple):
    """Which auxiliary outputs ``flex_attention`` should return besides the attention."""

    lse: bool = False
    max_scores: bool = False


def _unsupported(name):
    return NotImplementedError(
        f"ember does not implement torch.nn.attention.flex_attention.{name}; use "
        "F.scaled_dot_product_attention with a dense attn_mask (in transformers, "
        'attn_implementation="sdpa" or "eager")'
    )


class BlockMask:
    """A block-sparse attention mask (never built in ember)."""

    def __init__(self, *args, **kwargs):
        raise _unsupported("BlockMask")

    @classmethod
    def from_kv_blocks(cls, *args, **kwargs):
        raise _unsupported("BlockMask.from_kv_blocks")


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, device="cuda", **kwargs):
    raise _unsupported("create_block_mask")


def create_mask(mod_fn, B, H, Q_LEN, KV_LEN, device="cuda"):
    raise _unsupported("create_mask")


def flex_attention(query, key, value, score_mod=None, block_mask=None, **kwargs):
    raise _unsupported("flex_attention")
