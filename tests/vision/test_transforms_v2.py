"""transforms.v2: samples of any structure; masks and boxes move with their image."""

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import transforms as v1
from ember.vision import tv_tensors
from ember.vision.transforms import functional as F
from ember.vision.transforms import v2


def _pil(seed=0, size=(12, 16)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _scene(h=20, w=30):
    """An image with one bright rectangle, the same rectangle as a mask, and its box."""
    image = np.zeros((3, h, w), dtype=np.uint8)
    image[:, 5:11, 8:20] = 200
    mask = (image[0] > 0).astype(np.uint8)[None]
    boxes = tv_tensors.BoundingBoxes([[8, 5, 20, 11]], format="XYXY", canvas_size=(h, w))
    return {
        "image": tv_tensors.Image(image),
        "mask": tv_tensors.Mask(mask),
        "boxes": boxes,
        "label": 3,
    }


def _box_of(mask):
    ys, xs = np.nonzero(mask.numpy()[0])
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_pipeline_equals_v1_on_a_pil_image():
    img = _pil()
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    new = v2.Compose(
        [v2.ToImage(), v2.ToDtype(ember.float32, scale=True), v2.Normalize(mean, std)]
    )(img)
    old = v1.Compose([v1.ToTensor(), v1.Normalize(mean, std)])(img)
    np.testing.assert_allclose(new.numpy(), old.numpy(), atol=1e-6)
    assert isinstance(new, tv_tensors.Image)


def test_labels_pass_through_and_structure_is_kept():
    img = _pil()
    out = v2.Compose([v2.ToImage(), v2.CenterCrop(8)])((img, 7))
    assert isinstance(out, tuple) and out[1] == 7 and out[0].shape == (3, 8, 8)


def test_only_the_first_plain_tensor_is_an_image():
    a, b = ember.zeros(3, 10, 10), ember.ones(3, 10, 10)
    out_a, out_b = v2.Resize((5, 5))(a, b)
    assert out_a.shape == (3, 5, 5) and out_b.shape == (3, 10, 10)


@pytest.mark.parametrize(
    "transform",
    [
        v2.RandomHorizontalFlip(p=1.0),
        v2.RandomVerticalFlip(p=1.0),
        v2.RandomCrop((12, 18)),
        v2.Pad([2, 3, 4, 5]),
        v2.Resize((40, 15), interpolation=v1.InterpolationMode.NEAREST),
        v2.CenterCrop((14, 22)),
        v2.RandomResizedCrop(
            (16, 16), scale=(0.5, 1.0), interpolation=v1.InterpolationMode.NEAREST
        ),
    ],
)
def test_mask_and_boxes_follow_the_image(transform):
    ember.manual_seed(3)
    out = transform(_scene())
    image, mask, boxes = out["image"], out["mask"], out["boxes"]
    assert out["label"] == 3 and isinstance(boxes, tv_tensors.BoundingBoxes)
    assert boxes.canvas_size == tuple(image.shape[-2:]) == tuple(mask.shape[-2:])
    np.testing.assert_array_equal((image.numpy()[0] > 0), mask.numpy()[0] > 0)
    if mask.numpy().any():
        np.testing.assert_allclose(boxes.numpy()[0], _box_of(mask), atol=1.0)


def test_flip_of_an_image_is_hflip_and_boxes_mirror():
    scene = _scene()
    out = v2.RandomHorizontalFlip(p=1.0)(scene)
    np.testing.assert_array_equal(
        out["image"].numpy(), F.hflip(ember.tensor(scene["image"].numpy())).numpy()
    )
    assert out["boxes"].numpy().tolist() == [[10, 5, 22, 11]]


def test_box_formats_are_kept():
    boxes = tv_tensors.BoundingBoxes([[8, 5, 12, 6]], format="XYWH", canvas_size=(20, 30))
    out = v2.RandomHorizontalFlip(p=1.0)(boxes)
    assert out.format == tv_tensors.BoundingBoxFormat.XYWH
    assert out.numpy().tolist() == [[10, 5, 12, 6]]


def test_to_dtype_by_kind():
    scene = _scene()
    out = v2.ToDtype({tv_tensors.Image: ember.float32, "others": None}, scale=True)(scene)
    assert out["image"].dtype == ember.float32 and float(out["image"].max()) == pytest.approx(
        200 / 255
    )
    assert out["mask"].dtype == ember.uint8


def test_colour_transforms_leave_masks_alone():
    scene = _scene()
    out = v2.ColorJitter(brightness=0.5)(scene)
    np.testing.assert_array_equal(out["mask"].numpy(), scene["mask"].numpy())
    out = v2.Grayscale()(scene)
    assert out["image"].shape == (1, 20, 30) and out["mask"].shape == (1, 20, 30)


def test_errors_are_clear():
    with pytest.raises(TypeError, match="PIL"):
        v2.Normalize([0.5], [0.5])(_pil())
    with pytest.raises(NotImplementedError, match="BoundingBoxes"):
        v2.RandomRotation(30)(_scene())
    with pytest.raises(ValueError, match="larger"):
        v2.RandomCrop(50)(_scene())
