"""FakeData: torchvision's signature; the same random image and label per index."""

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import transforms
from ember.vision.datasets import FakeData


def pixels(dataset, index):
    return np.asarray(dataset[index][0])


def test_items_are_pil_images_of_the_requested_size():
    data = FakeData(size=6, image_size=(3, 10, 7), num_classes=3)
    assert len(data) == 6
    image, target = data[2]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (7, 10)
    assert isinstance(target, int)
    assert {data[i][1] for i in range(6)} <= {0, 1, 2}
    gray, _ = FakeData(size=1, image_size=(1, 4, 5))[0]
    assert gray.mode == "L" and gray.size == (5, 4)


def test_each_index_is_deterministic_and_leaves_the_global_stream_alone():
    data = FakeData(size=4, image_size=(3, 6, 6))
    ember.manual_seed(0)
    first = [pixels(data, i) for i in range(4)]
    after = ember.rand(3)
    ember.manual_seed(0)
    again = [pixels(data, i) for i in reversed(range(4))][::-1]
    assert ember.equal(ember.rand(3), after)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert np.unique(first[0]).size > 10


def test_random_offset_gives_other_images():
    base = FakeData(size=3, image_size=(3, 8, 8))
    shifted = FakeData(size=3, image_size=(3, 8, 8), random_offset=1)
    np.testing.assert_array_equal(pixels(base, 1), pixels(shifted, 0))
    assert not np.array_equal(pixels(base, 0), pixels(shifted, 0))


def test_transforms_apply_and_batches_load():
    data = FakeData(
        size=5, image_size=(3, 4, 4), num_classes=2,
        transform=transforms.ToTensor(), target_transform=lambda t: t + 10,
    )  # fmt: skip
    image, target = data[0]
    assert tuple(image.shape) == (3, 4, 4) and image.dtype == ember.float32
    assert target in (10, 11)
    images, targets = next(iter(ember.utils.data.DataLoader(data, batch_size=5)))
    assert tuple(images.shape) == (5, 3, 4, 4) and tuple(targets.shape) == (5,)


def test_out_of_range_index():
    with pytest.raises(IndexError, match="FakeData index out of range"):
        FakeData(size=2)[2]
