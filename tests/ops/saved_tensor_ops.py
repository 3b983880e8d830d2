"""Ops whose backward reads tensors saved in forward, as op-table rows.

Shared by the in-place detection test (tests/ops/test_saved_tensors.py) and the second
derivative test (tests/nn/test_second_derivatives.py). Each row's ``fn(lib, *tensors)`` runs
the op in ember or torch; float inputs are differentiated, integer inputs (indices) are not.
"""

import numpy as np

from tests.ops.optable import Row
from tests.ops.samples import bools, distinct, pos, prob, r, reseed

reseed(7)

D = dict(double_backward=True)


def _idx(*shape, high):
    return np.random.default_rng(sum(shape) + high).integers(0, high, shape).astype(np.int64)


def _lstm(lib, x, h, c, w_ih, w_hh, b_ih, b_hh):
    mod = lib.nn.LSTM(3, 2)
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    for name, p in zip(names, (w_ih, w_hh, b_ih, b_hh)):
        mod._parameters[name] = p
    return mod(x, (h.unsqueeze(0), c.unsqueeze(0)))[0]


def _gru(lib, x, h, w_ih, w_hh, b_ih, b_hh):
    mod = lib.nn.GRU(3, 2)
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    for name, p in zip(names, (w_ih, w_hh, b_ih, b_hh)):
        mod._parameters[name] = p
    return mod(x, h.unsqueeze(0))[0]


def _rnn(lib, x, h, w_ih, w_hh):
    mod = lib.nn.RNN(3, 2, bias=False)
    for name, p in zip(("weight_ih_l0", "weight_hh_l0"), (w_ih, w_hh)):
        mod._parameters[name] = p
    return mod(x, h.unsqueeze(0))[0]


def _setitem(x, index, value):
    out = x * 1
    out[index] = value
    return out


def _embedding_bag(lib, w, idx, offsets, mode):
    return lib.nn.functional.embedding_bag(idx, w, offsets, mode=mode)


def F(lib):
    return lib.nn.functional


ELEMENTWISE = [
    Row("maximum", lambda lib, a, b: lib.maximum(a, b), [(distinct(3, 4), distinct(4))], **D),
    Row("minimum", lambda lib, a, b: lib.minimum(a, b), [(distinct(3, 4), distinct(4))], **D),
    Row("remainder", lambda lib, a, b: lib.remainder(a, b), [(pos(3, 4) * 3, pos(4) + 0.1)],
        **D),
    Row("fmod", lambda lib, a, b: lib.fmod(a, b), [(pos(3, 4) * 3, pos(4) + 0.1)], **D),
    Row("clamp_tensor", lambda lib, x, lo, hi: lib.clamp(x, lo, hi),
        [(distinct(3, 4), distinct(4) - 0.6, distinct(4) + 0.6)], **D),
    Row("clamp_scalar", lambda lib, x: lib.clamp(x, -0.5, 0.5), [(r(3, 4),)], **D),
    Row("where", lambda lib, c, a, b: lib.where(c > 0, a, b), [(r(3, 4), r(3, 4), r(4))], **D),
    Row("where_mask", lambda lib, c, a, b: lib.where(c, a, b), [(bools(3, 4), r(3, 4), r(4))],
        **D),
    Row("exp", lambda lib, x: lib.exp(x), [(r(3, 4),)], **D),
    Row("mul", lambda lib, a, b: a * b, [(r(3, 4), r(4))], **D),
]  # fmt: skip

REDUCE = [
    Row("prod", lambda lib, x: x.prod(1), [(pos(3, 4),)], **D),
    Row("amax", lambda lib, x: x.amax(1), [(distinct(3, 4),)], **D),
    Row("max_dim", lambda lib, x: x.max(1)[0], [(distinct(3, 4),)], **D),
    Row("cumsum", lambda lib, x: x.cumsum(1), [(r(3, 4),)], **D),
    Row("logsumexp", lambda lib, x: x.logsumexp(1), [(r(3, 4),)], **D),
    Row("cumprod", lambda lib, x: x.cumprod(1), [(pos(3, 4),)], **D),
]  # fmt: skip

INDEX = [
    Row("getitem_tensor_index", lambda lib, x, i: x[i], [(r(5, 3), _idx(4, high=5))], **D),
    Row("getitem_mask", lambda lib, x, m: x[m], [(r(3, 4), bools(3, 4))], **D),
    Row("setitem_tensor_index", lambda lib, x, i, v: _setitem(x, i, v),
        [(r(5, 3), np.array([4, 0, 2]), r(3, 3))], **D),
    Row("gather", lambda lib, x, i: x.gather(1, i), [(r(3, 4), _idx(3, 2, high=4))], **D),
    Row("index_select", lambda lib, x, i: x.index_select(0, i), [(r(5, 3), _idx(4, high=5))],
        **D),
    Row("index_add", lambda lib, x, i, s: x.index_add(0, i, s),
        [(r(5, 3), _idx(4, high=5), r(4, 3))], **D),
    Row("index_fill", lambda lib, x, i: x.index_fill(0, i, 1.5), [(r(5, 3), _idx(2, high=5))],
        **D),
    Row("index_copy", lambda lib, x, i, s: x.index_copy(0, i, s),
        [(r(5, 3), np.array([4, 0]), r(2, 3))], **D),
    Row("scatter_add", lambda lib, x, i, s: x.scatter_add(1, i, s),
        [(r(3, 4), _idx(3, 2, high=4), r(3, 2))], **D),
    Row("scatter", lambda lib, x, i, s: x.scatter(1, i, s),
        [(r(3, 4), np.array([[0, 2], [1, 3], [3, 0]]), r(3, 2))], **D),
    Row("masked_fill", lambda lib, x, m: x.masked_fill(m > 0, 2.0), [(r(3, 4), r(3, 4))], **D),
    Row("masked_fill_mask", lambda lib, x, m: x.masked_fill(m, 2.0), [(r(3, 4), bools(3, 4))],
        **D),
    Row("scatter_reduce_amax", lambda lib, x, i, s: x.scatter_reduce(1, i, s, "amax"),
        [(distinct(3, 4), np.array([[0, 2], [1, 3], [3, 0]]), distinct(3, 2))], **D),
    Row("take_along_dim", lambda lib, x, i: lib.take_along_dim(x, i, 1),
        [(r(3, 4), _idx(3, 2, high=4))], **D),
]  # fmt: skip

ACTIVATION = [
    Row("relu", lambda lib, x: F(lib).relu(x), [(distinct(3, 4) - 0.5,)], **D),
    Row("threshold", lambda lib, x: F(lib).threshold(x, 0.1, -2.0), [(distinct(3, 4) - 0.5,)],
        **D),
    Row("leaky_relu", lambda lib, x: F(lib).leaky_relu(x, 0.2), [(distinct(3, 4) - 0.5,)], **D),
    Row("hardtanh", lambda lib, x: F(lib).hardtanh(x, -0.3, 0.3), [(distinct(3, 4) - 0.5,)],
        **D),
    Row("gelu", lambda lib, x: F(lib).gelu(x), [(r(3, 4),)], **D),
    Row("silu", lambda lib, x: F(lib).silu(x), [(r(3, 4),)], **D),
    Row("softmax", lambda lib, x: F(lib).softmax(x, 1), [(r(3, 4),)], **D),
    Row("log_softmax", lambda lib, x: F(lib).log_softmax(x, 1), [(r(3, 4),)], **D),
    Row("prelu", lambda lib, x, w: F(lib).prelu(x, w), [(distinct(2, 3, 4) - 0.5, pos(3))], **D),
]  # fmt: skip

NN = [
    Row("linear", lambda lib, x, w, b: F(lib).linear(x, w, b), [(r(2, 3), r(4, 3), r(4))], **D),
    Row("embedding", lambda lib, w, i: F(lib).embedding(i, w), [(r(5, 3), _idx(2, 3, high=5))],
        **D),
    Row("embedding_padding", lambda lib, w, i: F(lib).embedding(i, w, padding_idx=1),
        [(r(5, 3), np.array([[1, 0, 1], [3, 1, 4]]))], gradcheck=False, **D),  # padding: no grad
    Row("conv2d", lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1),
        [(r(1, 2, 4, 4), r(3, 2, 3, 3), r(3))], **D),
    Row("conv2d_float32", lambda lib, x, w: F(lib).conv2d(x.float(), w.float(), stride=2),
        [(r(2, 3, 6, 6), r(4, 3, 3, 3))], dtypes=("float32",), gradcheck=False),
    Row("conv_transpose2d", lambda lib, x, w, b: F(lib).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, dilation=1),
        [(r(1, 2, 3, 3), r(2, 3, 3, 3), r(3))], **D),
    Row("conv_transpose2d_dilated", lambda lib, x, w: F(lib).conv_transpose2d(
        x, w, stride=(1, 2), padding=(0, 1), dilation=2), [(r(2, 2, 3, 4), r(2, 1, 2, 3))], **D),
    Row("conv_transpose1d", lambda lib, x, w: F(lib).conv_transpose1d(x, w, stride=2),
        [(r(1, 2, 4), r(2, 3, 3))], **D),
    Row("conv3d", lambda lib, x, w: F(lib).conv3d(x, w, padding=1),
        [(r(1, 2, 3, 3, 3), r(2, 2, 2, 2, 2))], **D),
    Row("max_pool2d", lambda lib, x: F(lib).max_pool2d(x, 3, 2, padding=1),
        [(distinct(1, 2, 5, 5),)], **D),
    Row("max_pool2d_tiled", lambda lib, x: F(lib).max_pool2d(x, 2),
        [(distinct(1, 2, 4, 4),)], **D),
    Row("max_pool2d_indices", lambda lib, x: F(lib).max_pool2d(x, 2, 1, return_indices=True),
        [(distinct(1, 2, 4, 4),)], **D),
    Row("adaptive_max_pool2d", lambda lib, x: F(lib).adaptive_max_pool2d(x, (2, 3)),
        [(distinct(1, 2, 5, 5),)], **D),
    Row("avg_pool2d", lambda lib, x: F(lib).avg_pool2d(x, 3, 2, padding=1),
        [(r(1, 2, 5, 5),)], **D),
    Row("adaptive_avg_pool2d", lambda lib, x: F(lib).adaptive_avg_pool2d(x, (2, 3)),
        [(r(1, 2, 5, 5),)], **D),
    Row("max_unpool2d", lambda lib, x: F(lib).max_unpool2d(
        *F(lib).max_pool2d(x, 2, return_indices=True), 2), [(distinct(1, 2, 4, 4),)], **D),
    Row("pad_reflect", lambda lib, x: F(lib).pad(x, (1, 2, 2, 1), mode="reflect"),
        [(r(1, 2, 3, 4),)], **D),
    Row("pad_replicate", lambda lib, x: F(lib).pad(x, (1, 2, 2, 1), mode="replicate"),
        [(r(1, 2, 3, 4),)], **D),
    Row("interpolate_bilinear", lambda lib, x: F(lib).interpolate(
        x, scale_factor=2, mode="bilinear", align_corners=False), [(r(1, 2, 3, 3),)], **D),
    Row("interpolate_bicubic", lambda lib, x: F(lib).interpolate(
        x, size=(4, 5), mode="bicubic", align_corners=True), [(r(1, 2, 3, 3),)], **D),
    Row("interpolate_nearest", lambda lib, x: F(lib).interpolate(x, size=(5, 4)),
        [(r(1, 2, 3, 3),)], **D),
    Row("grid_sample", lambda lib, x, g: F(lib).grid_sample(x, g, align_corners=False),
        [(r(1, 2, 4, 4), r(1, 3, 3, 2) * 0.8)], **D),
    Row("grid_sample_bicubic_reflection", lambda lib, x, g: F(lib).grid_sample(
        x, g, mode="bicubic", padding_mode="reflection", align_corners=True),
        [(r(1, 2, 4, 4), r(1, 3, 3, 2) * 1.2)], **D),
    Row("grid_sample_3d_border", lambda lib, x, g: F(lib).grid_sample(
        x, g, padding_mode="border", align_corners=False),
        [(r(1, 2, 3, 3, 3), r(1, 2, 2, 2, 3) * 1.2)], **D),
    Row("layer_norm", lambda lib, x, w, b: F(lib).layer_norm(x, (4,), w, b),
        [(r(3, 4), r(4), r(4))], **D),
    Row("batch_norm_train", lambda lib, x, w, b: F(lib).batch_norm(
        x, None, None, w, b, training=True), [(r(4, 3, 2), r(3), r(3))], **D),
    Row("group_norm", lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b),
        [(r(2, 4, 3), r(4), r(4))], **D),
    Row("cross_entropy", lambda lib, x, t: F(lib).cross_entropy(x, t),
        [(r(4, 5), _idx(4, high=5))], **D),
    Row("cross_entropy_smoothing", lambda lib, x, t: F(lib).cross_entropy(
        x, t, label_smoothing=0.1), [(r(4, 5), _idx(4, high=5))], **D),
    Row("cross_entropy_probabilities", lambda lib, x, t: F(lib).cross_entropy(x, t.softmax(1)),
        [(r(4, 5), r(4, 5))], **D),
    Row("cross_entropy_probabilities_smoothing", lambda lib, x, t: F(lib).cross_entropy(
        x, t.softmax(1), weight=lib.tensor([1.0, 2.0, 0.5, 1.0, 1.5]).to(x.dtype),
        label_smoothing=0.2), [(r(4, 5), r(4, 5))], **D),
    Row("ctc_loss", lambda lib, x: F(lib).ctc_loss(
        x.log_softmax(2), lib.tensor([[1, 2], [2, 2]]), [4, 3], [2, 1]), [(r(4, 2, 3),)]),
    Row("nll_loss", lambda lib, x, t: F(lib).nll_loss(x, t), [(r(4, 5), _idx(4, high=5))], **D),
    Row("binary_cross_entropy", lambda lib, x, t: F(lib).binary_cross_entropy(x, t),
        [(prob(3, 4), prob(3, 4))], **D),
    Row("binary_cross_entropy_weighted", lambda lib, x, t, w: F(lib).binary_cross_entropy(
        x, t, weight=w, reduction="sum"), [(prob(3, 4), prob(3, 4), pos(4))], nondiff_args=(2,),
        **D),
    Row("embedding_bag_sum", lambda lib, w, i, o: _embedding_bag(lib, w, i, o, "sum"),
        [(r(5, 3), _idx(6, high=5), np.array([0, 2, 2]))], **D),
    Row("embedding_bag_max", lambda lib, w, i, o: _embedding_bag(lib, w, i, o, "max"),
        [(distinct(5, 3), np.array([0, 3, 1, 4, 2, 0]), np.array([0, 2, 4]))], **D),
    Row("lstm", _lstm, [(r(3, 1, 3), r(1, 2), r(1, 2), r(8, 3), r(8, 2), r(8), r(8))], **D),
    Row("gru", _gru, [(r(3, 1, 3), r(1, 2), r(6, 3), r(6, 2), r(6), r(6))], **D),
    Row("rnn_tanh", _rnn, [(r(3, 1, 3), r(1, 2), r(2, 3), r(2, 2))], **D),
]  # fmt: skip

LINALG = [
    Row("matmul", lambda lib, a, b: a @ b, [(r(3, 4), r(4, 2))], **D),
    Row("einsum", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [(r(3, 4), r(4, 2))], **D),
    Row("vector_norm", lambda lib, x: lib.linalg.vector_norm(x, dim=1), [(r(3, 4),)], **D),
    Row("svdvals", lambda lib, x: lib.linalg.svdvals(x), [(r(3, 4),), (r(2, 4, 3),)], **D),
    Row("matrix_norm_nuc", lambda lib, x: lib.linalg.matrix_norm(x, "nuc"), [(r(3, 3),)], **D),
    Row("inv", lambda lib, x: lib.linalg.inv(x), [(r(3, 3) + 3 * np.eye(3),)], **D),
    Row("det", lambda lib, x: lib.linalg.det(x), [(r(3, 3),)], **D),
    Row("solve", lambda lib, a, b: lib.linalg.solve(a, b), [(r(3, 3) + 3 * np.eye(3), r(3, 2))],
        **D),
]  # fmt: skip

ROWS = ELEMENTWISE + REDUCE + INDEX + ACTIVATION + NN + LINALG
