"""FakeData: random images and labels, the same ones for the same index on every access."""

from ember._ops.creation import randint, randn
from ember._random import Generator
from ember.vision.datasets.vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random PIL images of ``image_size`` (C, H, W) with labels below ``num_classes``.

    Item ``i`` is drawn from a generator seeded with ``i + random_offset``, so it does not
    depend on the global random state nor change it. The pictures differ from torchvision's
    (ember's random streams are its own) but follow the same recipe: standard normal values
    converted to an 8-bit image as ``ToPILImage`` converts a float tensor.
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):  # fmt: skip
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index):
        from ember.vision.transforms.functional import to_pil_image

        if not -self.size <= index < self.size:
            raise IndexError(f"{type(self).__name__} index out of range")
        index %= self.size
        generator = Generator().manual_seed(index + self.random_offset)
        image = randn(*self.image_size, generator=generator)
        target = int(randint(0, self.num_classes, (1,), generator=generator).item())
        return self._apply(to_pil_image(image), target)

    def __len__(self):
        return self.size
