"""vision.ops: boxes, NMS and RoI pooling against direct loop references; the layers' maths."""

import math

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from ember.vision import ops


def _boxes(n, seed, size=50.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h
            out[i, j] = w * h / union
    return out


def test_box_iou_and_area():
    a, b = _boxes(7, 0), _boxes(5, 1)
    got = ops.box_iou(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_allclose(got, _iou_loop(a, b), rtol=1e-12)
    np.testing.assert_allclose(
        ops.box_area(ember.tensor(a)).numpy(), (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    )


def _giou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - w * h
            hull = (max(p[2], q[2]) - min(p[0], q[0])) * (max(p[3], q[3]) - min(p[1], q[1]))
            out[i, j] = w * h / union - (hull - union) / hull
    return out


def test_generalized_iou_matches_its_definition_and_is_differentiable():
    a, b = _boxes(4, 2), _boxes(3, 3)
    got = ops.generalized_box_iou(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_allclose(got, _giou_loop(a, b), rtol=1e-10)
    ta = ember.tensor(a, requires_grad=True)
    assert gradcheck(lambda x: ops.generalized_box_iou(x, ember.tensor(b)), (ta,))


def test_distance_and_complete_iou_against_their_definitions():
    a, b = _boxes(4, 11), _boxes(3, 12)
    iou = _iou_loop(a, b)
    ca, cb = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
    gap = ((ca[:, None, :] - cb[None, :, :]) ** 2).sum(-1)
    hull_w = np.maximum(a[:, None, 2], b[None, :, 2]) - np.minimum(a[:, None, 0], b[None, :, 0])
    hull_h = np.maximum(a[:, None, 3], b[None, :, 3]) - np.minimum(a[:, None, 1], b[None, :, 1])
    diou = iou - gap / (hull_w**2 + hull_h**2 + 1e-7)
    got = ops.distance_box_iou(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_allclose(got, diou, rtol=1e-10)
    ratio = lambda x: np.arctan((x[:, 2] - x[:, 0]) / (x[:, 3] - x[:, 1]))  # noqa: E731
    v = 4 / np.pi**2 * (ratio(b)[None, :] - ratio(a)[:, None]) ** 2
    ciou = diou - v / (1 - iou + v + 1e-7) * v
    got = ops.complete_box_iou(ember.tensor(a), ember.tensor(b)).numpy()
    np.testing.assert_allclose(got, ciou, rtol=1e-10)


def test_box_convert_round_trips():
    a = ember.tensor(_boxes(6, 4))
    for fmt in ("xywh", "cxcywh"):
        there = ops.box_convert(a, "xyxy", fmt)
        np.testing.assert_allclose(
            ops.box_convert(there, fmt, "xyxy").numpy(), a.numpy(), rtol=1e-12
        )
    wh = ops.box_convert(a, "xyxy", "xywh").numpy()
    np.testing.assert_allclose(wh[:, 2:], a.numpy()[:, 2:] - a.numpy()[:, :2])


def _nms_reference(boxes, scores, threshold):
    """Take the best remaining box, drop every box overlapping it too much, repeat."""
    remaining = list(np.argsort(-scores, kind="stable"))
    keep = []
    while remaining:
        best = remaining.pop(0)
        keep.append(best)
        remaining = [
            i
            for i in remaining
            if _iou_loop(boxes[best : best + 1], boxes[i : i + 1])[0, 0] <= threshold
        ]
    return keep


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.7])
def test_nms_and_batched_nms(threshold):
    boxes = _boxes(40, 5, size=30.0)
    scores = np.random.default_rng(6).permutation(40).astype(np.float32)
    got = ops.nms(ember.tensor(boxes), ember.tensor(scores), threshold)
    assert got.dtype == ember.int64
    assert got.tolist() == _nms_reference(boxes, scores, threshold)
    classes = np.random.default_rng(7).integers(0, 3, 40)
    expected = []
    for c in range(3):
        idx = np.flatnonzero(classes == c)
        expected += [idx[i] for i in _nms_reference(boxes[idx], scores[idx], threshold)]
    expected.sort(key=lambda i: -scores[i])
    got = ops.batched_nms(
        ember.tensor(boxes), ember.tensor(scores), ember.tensor(classes), threshold
    )
    assert got.tolist() == expected


def _bilinear(img, y, x):
    h, w = img.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    ly, lx = y - y0, x - x0
    return (
        (1 - ly) * (1 - lx) * img[y0, x0]
        + (1 - ly) * lx * img[y0, x1]
        + ly * (1 - lx) * img[y1, x0]
        + ly * lx * img[y1, x1]
    )


def _roi_align_reference(x, rois, out, scale, ratio, aligned):
    k_out = np.zeros((len(rois), x.shape[1], out, out))
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - off, y1 * scale - off
        rw, rh = (x2 - x1) * scale, (y2 - y1) * scale
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bw, bh = rw / out, rh / out
        gh = ratio if ratio > 0 else math.ceil(rh / out)
        gw = ratio if ratio > 0 else math.ceil(rw / out)
        for c in range(x.shape[1]):
            for i in range(out):
                for j in range(out):
                    total = 0.0
                    for iy in range(gh):
                        for ix in range(gw):
                            yy = sy + i * bh + (iy + 0.5) * bh / gh
                            xx = sx + j * bw + (ix + 0.5) * bw / gw
                            total += _bilinear(x[int(b), c], yy, xx)
                    k_out[k, c, i, j] = total / max(gh * gw, 1)
    return k_out


@pytest.mark.parametrize(
    "ratio,aligned,scale", [(-1, False, 1.0), (2, True, 0.5), (0, True, 0.25), (3, False, 0.5)]
)
def test_roi_align_matches_the_sampling_definition(ratio, aligned, scale):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 9, 11))
    rois = np.array(
        [
            [0, 1.0, 2.0, 15.0, 12.0],
            [1, -3.0, 0.5, 6.0, 20.0],
            [1, 4.0, 4.0, 4.5, 4.2],
            [0, 20.0, 16.0, 30.0, 24.0],
        ]
    )
    got = ops.roi_align(ember.tensor(x), ember.tensor(rois), 3, scale, ratio, aligned).numpy()
    np.testing.assert_allclose(
        got, _roi_align_reference(x, rois, 3, scale, ratio, aligned), atol=1e-12
    )
    as_list = [ember.tensor(rois[rois[:, 0] == i, 1:]) for i in range(2)]
    order = np.argsort(rois[:, 0], kind="stable")
    np.testing.assert_allclose(
        ops.roi_align(ember.tensor(x), as_list, 3, scale, ratio, aligned).numpy(),
        got[order],
        atol=1e-12,
    )
    xt = ember.tensor(x[:, :1, :5, :6], requires_grad=True)
    assert gradcheck(
        lambda t: ops.roi_align(t, ember.tensor(rois[:2] / 2), 2, 1.0, ratio, aligned), (xt,)
    )


def _roi_pool_reference(x, rois, out, scale):
    res = np.zeros((len(rois), x.shape[1], out, out))
    rnd = lambda v: int(np.sign(v) * np.floor(abs(v) + 0.5))  # noqa: E731
    h, w = x.shape[2:]
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        rw, rh = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
        for i in range(out):
            for j in range(out):
                h0 = min(max(math.floor(i * rh / out) + sh, 0), h)
                h1 = min(max(math.ceil((i + 1) * rh / out) + sh, 0), h)
                w0 = min(max(math.floor(j * rw / out) + sw, 0), w)
                w1 = min(max(math.ceil((j + 1) * rw / out) + sw, 0), w)
                if h1 > h0 and w1 > w0:
                    res[k, :, i, j] = x[int(b), :, h0:h1, w0:w1].max(axis=(1, 2))
    return res


def test_roi_pool_matches_the_max_definition_and_routes_gradients():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 2, 8, 10))
    rois = np.array([[0, 0.0, 0.0, 9.0, 7.0], [1, 2.4, 1.6, 6.5, 5.5], [1, 30.0, 30.0, 40.0, 40.0]])
    xt = ember.tensor(x, requires_grad=True)
    got = ops.roi_pool(xt, ember.tensor(rois), 3, 1.0)
    np.testing.assert_allclose(got.detach().numpy(), _roi_pool_reference(x, rois, 3, 1.0))
    got.sum().backward()
    # each filled bin sends its gradient to exactly one input position
    assert xt.grad.sum().item() == pytest.approx(
        float((_roi_pool_reference(x, rois, 3, 1.0) != 0).sum())
    )


def test_frozen_batch_norm_is_batch_norm_in_eval():
    ember.manual_seed(0)
    bn = ember.nn.BatchNorm2d(4)
    bn(ember.randn(8, 4, 3, 3) * 3 + 1)  # move the running statistics
    with ember.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    frozen = ops.FrozenBatchNorm2d(4)
    frozen.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped
    x = ember.randn(2, 4, 5, 5)
    np.testing.assert_allclose(frozen(x).numpy(), bn.eval()(x).detach().numpy(), atol=1e-5)
    assert list(frozen.parameters()) == [] and repr(frozen) == "FrozenBatchNorm2d(4, eps=1e-05)"


def test_conv_norm_activation_and_mlp_layouts():
    block = ops.Conv2dNormActivation(3, 8, kernel_size=5, dilation=2)
    conv, norm, act = block
    assert conv.padding == (4, 4) and conv.bias is None and isinstance(norm, ember.nn.BatchNorm2d)
    assert isinstance(act, ember.nn.ReLU) and block.out_channels == 8
    assert block(ember.randn(1, 3, 12, 12)).shape == (1, 8, 12, 12)
    plain = ops.Conv2dNormActivation(3, 8, norm_layer=None, activation_layer=None)
    assert len(plain) == 1 and plain[0].bias is not None
    mlp = ops.MLP(6, [16, 16, 4], dropout=0.1)
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Dropout"] * 2 + [
        "Linear",
        "Dropout",
    ]
    se = ops.SqueezeExcitation(8, 2)
    x = ember.randn(2, 8, 4, 4)
    gate = se.scale_activation(se.fc2(se.activation(se.fc1(x.mean(dim=(2, 3), keepdim=True)))))
    np.testing.assert_allclose(se(x).detach().numpy(), (gate * x).detach().numpy(), rtol=1e-5)


def test_stochastic_depth_statistics_and_errors():
    ember.manual_seed(0)
    x = ember.ones(20000, 3)
    y = ops.stochastic_depth(x, 0.3, "row")
    rows = y[:, 0].numpy()
    assert np.all(np.isclose(rows, 0.0) | np.isclose(rows, 1 / 0.7))
    assert abs((rows == 0).mean() - 0.3) < 0.02
    assert (y.numpy() == y.numpy()[:, :1]).all()
    assert ops.stochastic_depth(x, 0.3, "row", training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        ops.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="mode"):
        ops.stochastic_depth(x, 0.5, "column")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_sigmoid_focal_loss_against_torch_formula(reduction):
    rng = np.random.default_rng(10)
    logits, targets = (
        rng.standard_normal((5, 4)),
        (rng.uniform(size=(5, 4)) > 0.5).astype(np.float64),
    )
    lt, tt = torch.tensor(logits, requires_grad=True), torch.tensor(targets)
    p = lt.sigmoid()
    ce = torch.nn.functional.binary_cross_entropy_with_logits(lt, tt, reduction="none")
    p_t = p * tt + (1 - p) * (1 - tt)
    ref = (0.25 * tt + 0.75 * (1 - tt)) * ce * (1 - p_t) ** 2
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    le = ember.tensor(logits, requires_grad=True)
    got = ops.sigmoid_focal_loss(le, ember.tensor(targets), reduction=reduction)
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    got.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(le.grad.numpy(), lt.grad.numpy(), rtol=1e-9)
