"""Op table: linear and bilinear maps, embeddings, one_hot, attention, distances, and the
channel rearrangements (pixel and channel shuffle)."""

import numpy as np
import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import bools, distinct, labels, nc, r, reseed

reseed(25)

D = dict(double_backward=True)


def F(lib):
    return lib.nn.functional


LINEAR = [
    Row("linear", lambda lib, x, w, b: (F(lib).linear(x, w, b), F(lib).linear(x, w)),
        [(r(2, 3), r(4, 3), r(4)), (r(2, 2, 3), nc(4, 3), r(4)), (r(3), r(4, 3), r(4)),
         (r(0, 3), r(4, 3), r(4))], **D),
    Row("bilinear", lambda lib, a, b, w, bias: (F(lib).bilinear(a, b, w, bias),
                                                F(lib).bilinear(a, b, w)),
        [(r(2, 3), r(2, 4), r(5, 3, 4), r(5)), (r(2, 2, 3), r(2, 2, 4), r(5, 3, 4), r(5))],
        **D),
]  # fmt: skip


def _bag(lib, w, i, o, **kwargs):
    return F(lib).embedding_bag(i, w, o, **kwargs)


EMBEDDING = [
    Row("embedding", lambda lib, w, i: F(lib).embedding(i, w),
        [(r(5, 3), labels(2, 3, classes=5)), (r(5, 3), labels(classes=5)),
         (nc(5, 3), labels(4, classes=5))], **D),
    Row("embedding_padding_idx", lambda lib, w, i: (F(lib).embedding(i, w, padding_idx=1),
                                                    F(lib).embedding(i, w, padding_idx=-1)),
        [(r(5, 3), np.array([[1, 0, 4], [3, 1, 4]]))], gradcheck=False, **D),  # no grad at pad
    Row("embedding_scale_grad_by_freq",
        lambda lib, w, i: F(lib).embedding(i, w, scale_grad_by_freq=True),
        [(r(5, 3), np.array([[1, 0, 1], [3, 1, 4]]))], gradcheck=False, **D),  # not a gradient
    Row("embedding_max_norm", lambda lib, w, i: F(lib).embedding(i, w * 1, max_norm=1.0),
        [(r(5, 3) * 2, np.array([[1, 0, 1], [3, 1, 4]]))], gradcheck=False),  # renorm: no grad
    Row("embedding_bag", lambda lib, w, i, o: tuple(
        _bag(lib, w, i, o, mode=m) for m in ("sum", "mean", "max")),
        [(distinct(5, 3), np.array([0, 3, 1, 4, 2, 0]), np.array([0, 2, 2, 4]))], **D),
    Row("embedding_bag_2d_input", lambda lib, w, i: tuple(
        F(lib).embedding_bag(i, w, mode=m) for m in ("sum", "mean", "max")),
        [(distinct(5, 3), np.array([[0, 3, 1], [4, 2, 2]]))], **D),
    Row("embedding_bag_per_sample_weights", lambda lib, w, i, o, s: _bag(
        lib, w, i, o, mode="sum", per_sample_weights=s, include_last_offset=True),
        [(r(5, 3), np.array([0, 3, 1, 4, 2]), np.array([0, 2, 2, 5]), r(5))]),  # torch: no
    # double backward with per_sample_weights
    Row("embedding_bag_padding_idx", lambda lib, w, i, o: tuple(
        _bag(lib, w, i, o, mode=m, padding_idx=2) for m in ("sum", "mean", "max")),
        [(distinct(5, 3), np.array([0, 2, 1, 4, 2, 2]), np.array([0, 3, 5]))],
        gradcheck=False, **D),  # no grad at the padding row
    Row("one_hot", lambda lib, i: (F(lib).one_hot(i), F(lib).one_hot(i, 6)),
        [(labels(3, 4, classes=5),), (labels(classes=5),)], dtypes=(None,), grad=False),
    Row("one_hot_empty", lambda lib, i: F(lib).one_hot(i, 6), [(labels(0, classes=5),)],
        dtypes=(None,), grad=False),
]  # fmt: skip


def _math_attention(fn):
    """Run ``fn`` on the math attention backend: torch's fused CPU kernel has no double
    backward."""

    def run(lib, *xs):
        with lib.nn.attention.sdpa_kernel(lib.nn.attention.SDPBackend.MATH):
            return fn(lib, *xs)

    return run


def _mha(lib, q, k, v, w_in, b_in, w_out, b_out, **kwargs):
    return F(lib).multi_head_attention_forward(
        q, k, v, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out, training=False, **kwargs
    )  # fmt: skip


def _mha_variants(lib, q, k, v, w_in, b_in, w_out, b_out, bias_k, bias_v, mask):
    plain = _mha(lib, q, k, v, w_in, b_in, w_out, b_out)
    per_head = _mha(lib, q, k, v, w_in, b_in, w_out, b_out, average_attn_weights=False,
                    key_padding_mask=mask)  # fmt: skip
    extra = F(lib).multi_head_attention_forward(
        q, k, v, 4, 2, w_in, b_in, bias_k, bias_v, True, 0.0, w_out, b_out, training=False,
        attn_mask=lib.ones(3, 5, dtype=lib.bool).triu(1))  # fmt: skip
    no_weights = _mha(lib, q, k, v, w_in, b_in, w_out, b_out, need_weights=False)[0]
    return plain, per_head, extra, no_weights


def _mha_separate(lib, q, k, v, wq, wk, wv, b_in, w_out, b_out):
    separate = dict(q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv)
    return F(lib).multi_head_attention_forward(
        q, k, v, 4, 2, None, b_in, None, None, False, 0.0, w_out, b_out, training=False,
        use_separate_proj_weight=True, **separate)  # fmt: skip


MHA = (r(3, 4), r(12, 4), r(12), r(4, 4), r(4))  # embedding, in and out projections

ATTENTION = [
    Row("scaled_dot_product_attention", _math_attention(lambda lib, q, k, v: (
        F(lib).scaled_dot_product_attention(q, k, v),
        F(lib).scaled_dot_product_attention(q, k, v, scale=0.3))),
        [(r(2, 3, 4), r(2, 5, 4), r(2, 5, 3)), (r(1, 2, 3, 4), r(1, 2, 3, 4), r(1, 2, 3, 2))],
        **D),
    Row("scaled_dot_product_attention_masks", _math_attention(lambda lib, q, k, v, m, bias: (
        F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
        F(lib).scaled_dot_product_attention(q, k, v, attn_mask=bias),
        F(lib).scaled_dot_product_attention(q, k, v, is_causal=True))),
        [(r(2, 4, 3), r(2, 4, 3), r(2, 4, 2), bools(4, 4) | np.eye(4, dtype=bool), r(4, 4))],
        **D),
    Row("scaled_dot_product_attention_gqa", _math_attention(lambda lib, q, k, v: (
        F(lib).scaled_dot_product_attention(q, k, v, enable_gqa=True))),
        [(r(1, 4, 3, 2), r(1, 2, 3, 2), r(1, 2, 3, 2))], **D),
    Row("multi_head_attention_forward", _math_attention(_mha_variants),
        [(r(3, 2, 4), r(5, 2, 4), r(5, 2, 4), *MHA[1:], r(1, 1, 4), r(1, 1, 4),
          np.array([[False, False, True, False, True], [False] * 5]))], nondiff_args=(9,),
        gradcheck=False, **D),  # against torch only: finite differences here take seconds
    Row("multi_head_attention_forward_unbatched", _math_attention(lambda lib, q, k, v, *p: _mha(
        lib, q, k, v, *p)), [(r(3, 4), r(5, 4), r(5, 4), *MHA[1:])], **D),
    Row("multi_head_attention_forward_separate", _math_attention(_mha_separate),
        [(r(3, 2, 4), r(5, 2, 3), r(5, 2, 2), r(4, 4), r(4, 3), r(4, 2), r(12), r(4, 4), r(4))],
        **D),
]  # fmt: skip

DISTANCE = [
    Row("cosine_similarity", lambda lib, a, b: (F(lib).cosine_similarity(a, b),
                                                F(lib).cosine_similarity(a, b, dim=-1)),
        [(r(3, 4), r(3, 4)), (r(2, 3, 4), r(3, 1)), (nc(3, 4), r(4))], **D),
    Row("cosine_similarity_eps", lambda lib, a, b: F(lib).cosine_similarity(a, b, 0, eps=0.5),
        [(r(3, 4) * 0.1, r(3, 4))], grad=False),  # torch's gradient fails its own gradcheck
    Row("pairwise_distance", lambda lib, a, b: (
        F(lib).pairwise_distance(a, b), F(lib).pairwise_distance(a, b, p=1, keepdim=True),
        F(lib).pairwise_distance(a, b, p=3, eps=1e-3)),
        [(r(3, 4), r(3, 4)), (r(3, 4), r(4)), (r(4), r(4))], **D),
]  # fmt: skip

SHUFFLE = [
    Row("pixel_shuffle", lambda lib, x: F(lib).pixel_shuffle(x, 2),
        [(r(1, 8, 2, 3),), (r(2, 1, 4, 2, 2),), (nc(4, 2, 3),)], **D),
    Row("pixel_unshuffle", lambda lib, x: F(lib).pixel_unshuffle(x, 2),
        [(r(1, 2, 4, 6),), (r(3, 2, 2),)], **D),
    Row("channel_shuffle", lambda lib, x: F(lib).channel_shuffle(x, 2),
        [(r(2, 6, 3),), (r(1, 6, 2, 2),)], **D),
    Row("native_channel_shuffle", lambda lib, x: F(lib).native_channel_shuffle(x, 3),
        [(r(2, 6, 3),)], grad=False),  # torch: no derivative
]  # fmt: skip

ROWS = LINEAR + EMBEDDING + ATTENTION + DISTANCE + SHUFFLE


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
