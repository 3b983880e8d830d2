"""The inference preprocessing that a set of pretrained classification weights expects."""

from ember import float32
from ember.nn import Module
from ember.vision.transforms import functional as F
from ember.vision.transforms.functional import InterpolationMode

__all__ = ["ImageClassification"]


class ImageClassification(Module):
    """Resize the shorter side to ``resize_size``, center-crop ``crop_size``, scale to [0, 1]
    float32 and normalise with ``mean``/``std``, as torchvision's preset of the same name.

    Takes a PIL image or a ``(..., C, H, W)`` tensor and returns a float32 tensor.
    """

    def __init__(self, *, crop_size, resize_size=256, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), interpolation=InterpolationMode.BILINEAR,
                 antialias=True):  # fmt: skip
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img):
        img = F.resize(img, self.resize_size, self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if F._is_pil(img):
            img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, float32)
        return F.normalize(img, self.mean, self.std)

    def __repr__(self):
        lines = [
            f"crop_size={self.crop_size}", f"resize_size={self.resize_size}",
            f"mean={self.mean}", f"std={self.std}", f"interpolation={self.interpolation}",
        ]  # fmt: skip
        return type(self).__name__ + "(\n" + "".join(f"    {line}\n" for line in lines) + ")"
