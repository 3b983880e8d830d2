"""Boxes as (x1, y1, x2, y2) rows: areas, overlaps and non-maximum suppression.

The overlap measures are written with ember ops, so they are differentiable in the box
coordinates (detection losses use them); `nms` chooses indices and is not.
"""

import numpy as np

import ember
from ember import Tensor, maximum, minimum, stack, tensor

__all__ = [
    "box_area",
    "box_convert",
    "box_iou",
    "generalized_box_iou",
    "distance_box_iou",
    "complete_box_iou",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "nms",
    "batched_nms",
]


def _check_boxes(boxes, op):
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[-1] != 4:
        shape = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(f"{op}: boxes must be a tensor of shape (N, 4), got {shape}")


def box_area(boxes):
    """(x2 - x1) * (y2 - y1) for each row."""
    _check_boxes(boxes, "box_area")
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_convert(boxes, in_fmt, out_fmt):
    """Convert between 'xyxy', 'xywh' (corner + size) and 'cxcywh' (centre + size)."""
    formats = ("xyxy", "xywh", "cxcywh")
    if in_fmt not in formats or out_fmt not in formats:
        raise ValueError(
            f"Unsupported Bounding Box Conversions for given in_fmt and out_fmt: {formats}"
        )
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        a, b, c, d = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    if out_fmt == "xywh":
        a, b, c, d = a, b, c - a, d - b
    elif out_fmt == "cxcywh":
        a, b, c, d = (a + c) / 2, (b + d) / 2, c - a, d - b
    return stack((a, b, c, d), dim=-1)


def _intersection_union(boxes1, boxes2):
    area1, area2 = box_area(boxes1), box_area(boxes2)
    top_left = maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    size = (bottom_right - top_left).clamp(min=0)
    inter = size[..., 0] * size[..., 1]
    return inter, area1[:, None] + area2[None, :] - inter


def box_iou(boxes1, boxes2):
    """The (N, M) intersection-over-union of every pair of boxes."""
    _check_boxes(boxes1, "box_iou")
    _check_boxes(boxes2, "box_iou")
    inter, union = _intersection_union(boxes1, boxes2)
    return inter / union


def _enclosing_extent(boxes1, boxes2):
    top_left = minimum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    return (bottom_right - top_left).clamp(min=0)


def generalized_box_iou(boxes1, boxes2):
    """IoU minus the share of the enclosing box that neither box covers."""
    _check_boxes(boxes1, "generalized_box_iou")
    _check_boxes(boxes2, "generalized_box_iou")
    inter, union = _intersection_union(boxes1, boxes2)
    extent = _enclosing_extent(boxes1, boxes2)
    enclosing = extent[..., 0] * extent[..., 1]
    return inter / union - (enclosing - union) / enclosing


def _centre_distance_terms(boxes1, boxes2, eps):
    extent = _enclosing_extent(boxes1, boxes2)
    diagonal = extent[..., 0] ** 2 + extent[..., 1] ** 2 + eps
    c1 = (boxes1[:, :2] + boxes1[:, 2:]) / 2
    c2 = (boxes2[:, :2] + boxes2[:, 2:]) / 2
    gap = c1[:, None, :] - c2[None, :, :]
    return (gap[..., 0] ** 2 + gap[..., 1] ** 2) / diagonal


def distance_box_iou(boxes1, boxes2, eps=1e-7):
    """IoU minus the squared centre distance over the enclosing box's squared diagonal."""
    _check_boxes(boxes1, "distance_box_iou")
    _check_boxes(boxes2, "distance_box_iou")
    return box_iou(boxes1, boxes2) - _centre_distance_terms(boxes1, boxes2, eps)


def complete_box_iou(boxes1, boxes2, eps=1e-7):
    """Distance IoU minus an aspect-ratio consistency term."""
    _check_boxes(boxes1, "complete_box_iou")
    _check_boxes(boxes2, "complete_box_iou")
    iou = box_iou(boxes1, boxes2)
    diou = iou - _centre_distance_terms(boxes1, boxes2, eps)
    w1, h1 = boxes1[:, 2] - boxes1[:, 0], boxes1[:, 3] - boxes1[:, 1]
    w2, h2 = boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1]
    v = (4 / np.pi**2) * ((w2 / h2).atan()[None, :] - (w1 / h1).atan()[:, None]) ** 2
    with ember.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou - alpha * v


def clip_boxes_to_image(boxes, size):
    """Boxes clipped to an image of ``size`` = (height, width)."""
    height, width = size
    x = boxes[..., 0::2].clamp(min=0, max=width)
    y = boxes[..., 1::2].clamp(min=0, max=height)
    return stack((x, y), dim=-1).reshape(tuple(boxes.shape))


def remove_small_boxes(boxes, min_size):
    """Indices of the boxes whose sides are both at least ``min_size``."""
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return ((widths >= min_size) & (heights >= min_size)).nonzero().flatten()


def _greedy_nms(b, s, threshold):
    order = np.argsort(-s, kind="stable")
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[position + 1 :]
        rest = rest[~suppressed[rest]]
        if not len(rest):
            continue
        w = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[iou > threshold]] = True
    return np.asarray(keep, dtype=np.int64)


def nms(boxes, scores, iou_threshold):
    """Indices of the boxes kept by greedy non-maximum suppression, by decreasing score.

    A box is dropped when its IoU with a higher-scoring kept box exceeds ``iou_threshold``.
    """
    _check_boxes(boxes, "nms")
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0]:
        raise ValueError(
            f"nms: scores must have shape ({boxes.shape[0]},), got {tuple(scores.shape)}"
        )
    b = boxes.detach().numpy().astype(np.float64)
    s = scores.detach().numpy()
    return tensor(_greedy_nms(b, s, float(iou_threshold)))


def batched_nms(boxes, scores, idxs, iou_threshold):
    """`nms` within each category of ``idxs``: boxes of different categories never suppress."""
    _check_boxes(boxes, "batched_nms")
    if boxes.numel() == 0:
        return tensor(np.zeros(0, dtype=np.int64))
    b = boxes.detach().numpy().astype(np.float64)
    offsets = idxs.detach().numpy().astype(np.float64) * (b.max() + 1)
    return tensor(_greedy_nms(b + offsets[:, None], scores.detach().numpy(), float(iou_threshold)))
