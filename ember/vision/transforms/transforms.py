"""Transform classes, torchvision's names and arguments; each calls ``functional``.

Random draws come from ember's global generator (``ember.manual_seed`` makes them
reproducible); the numbers differ from torchvision's, whose draws come from PyTorch's.
"""

import math
import numbers

import numpy as np

from ember._random import np_generator
from ember._tensor import Tensor, wrap
from ember.vision.transforms import functional as F
from ember.vision.transforms.functional import InterpolationMode


def _rand():
    return float(np_generator().random())


def _randint(low, high):
    """An int in [low, high)."""
    return int(np_generator().integers(low, high))


def _uniform(low, high):
    return float(np_generator().uniform(low, high))


def _check_p(p, name):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p}")


class Compose:
    """Apply ``transforms`` in turn."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class _Simple:
    """A transform whose repr lists the attributes named in ``_repr``."""

    _repr = ()

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr)
        return f"{type(self).__name__}({args})"


class ToTensor(_Simple):
    """PIL image or ``H x W x C`` array to a ``C x H x W`` float tensor in [0, 1] (uint8)."""

    def __call__(self, pic):
        return F.to_tensor(pic)


class PILToTensor(_Simple):
    """PIL image to a ``C x H x W`` tensor of its own dtype, values unchanged."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)


class ToPILImage(_Simple):
    _repr = ("mode",)

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class ConvertImageDtype(_Simple):
    _repr = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)


class Normalize(_Simple):
    """``(x - mean) / std`` per channel."""

    _repr = ("mean", "std")

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Resize(_Simple):
    _repr = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):  # fmt: skip
        if not isinstance(size, (numbers.Number, list, tuple)) or (
            not isinstance(size, numbers.Number) and len(size) not in (1, 2)
        ):
            raise ValueError(f"Resize: size must be an int or (h, w), got {size!r}")
        self.size, self.interpolation = size, InterpolationMode(interpolation)
        self.max_size, self.antialias = max_size, antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Simple):
    _repr = ("size",)

    def __init__(self, size):
        self.size = F._pair(size, "CenterCrop")

    def __call__(self, img):
        return F.center_crop(img, self.size)


class Pad(_Simple):
    _repr = ("padding", "fill", "padding_mode")

    def __init__(self, padding, fill=0, padding_mode="constant"):
        F._pad_amounts(padding)
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(_Simple):
    """Crop a random ``size`` region, after optional ``padding``; ``pad_if_needed`` pads an
    image smaller than ``size``."""

    _repr = ("size", "padding")

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = F._pair(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size):
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: crop size {(th, tw)} is larger than the image {(h, w)}; "
                "use pad_if_needed=True"
            )
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and (w < tw or h < th):
            img = F.pad(img, [max(tw - w, 0), max(th - h, 0)], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))


class RandomResizedCrop(_Simple):
    """Crop a random area fraction ``scale`` and aspect ratio ``ratio``, resized to ``size``."""

    _repr = ("size", "scale", "ratio", "interpolation")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):  # fmt: skip
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(
                f"RandomResizedCrop: scale {scale} and ratio {ratio} must be (min, max)"
            )
        self.size = F._pair(size, "RandomResizedCrop")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.antialias = InterpolationMode(interpolation), antialias

    @staticmethod
    def get_params(img, scale, ratio):
        _, h, w = F.get_dimensions(img)
        area = h * w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return _randint(0, h - ch + 1), _randint(0, w - cw + 1), ch, cw
        # Fall back to the largest central crop within the ratio bounds.
        in_ratio = w / h
        if in_ratio < min(ratio):
            cw, ch = w, int(round(w / min(ratio)))
        elif in_ratio > max(ratio):
            ch, cw = h, int(round(h * max(ratio)))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)


class RandomHorizontalFlip(_Simple):
    _repr = ("p",)

    def __init__(self, p=0.5):
        _check_p(p, type(self).__name__)
        self.p = p

    def __call__(self, img):
        return F.hflip(img) if _rand() < self.p else img


class RandomVerticalFlip(RandomHorizontalFlip):
    def __call__(self, img):
        return F.vflip(img) if _rand() < self.p else img


def _range(value, name, center=0.0, bound=None):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{name}: a single number must be non-negative, got {value}")
        lo, hi = center - value, center + value
    else:
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"{name}: expected a number or (min, max), got {value}")
        lo, hi = float(value[0]), float(value[1])
    if bound is not None:
        lo = max(lo, bound[0])
        if hi > bound[1]:
            raise ValueError(f"{name}: values must lie in {bound}, got {value}")
    return [float(lo), float(hi)]


class RandomRotation(_Simple):
    """Rotate by an angle drawn from ``degrees`` (counter-clockwise)."""

    _repr = ("degrees", "interpolation", "expand", "fill")

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):  # fmt: skip
        self.degrees = _range(degrees, "RandomRotation")
        self.interpolation, self.expand = InterpolationMode(interpolation), expand
        self.center, self.fill = center, fill

    @staticmethod
    def get_params(degrees):
        return _uniform(degrees[0], degrees[1])

    def __call__(self, img):
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)


class RandomAffine(_Simple):
    """Random rotation (``degrees``), translation (fractions of width and height), scale and
    shear."""

    _repr = ("degrees", "translate", "scale", "shear")

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):  # fmt: skip
        self.degrees = _range(degrees, "RandomAffine")
        if translate is not None and not all(0.0 <= t <= 1.0 for t in translate):
            raise ValueError(f"RandomAffine: translate values must be in [0, 1], got {translate}")
        if scale is not None and (len(scale) != 2 or scale[0] <= 0 or scale[0] > scale[1]):
            raise ValueError(f"RandomAffine: scale must be (min, max) > 0, got {scale}")
        self.translate, self.scale = translate, scale
        if shear is None or isinstance(shear, numbers.Number) or len(shear) == 2:
            self.shear = None if shear is None else _range(shear, "RandomAffine shear")
        else:
            self.shear = list(shear)
        self.interpolation, self.fill, self.center = InterpolationMode(interpolation), fill, center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        angle = _uniform(degrees[0], degrees[1])
        tx = ty = 0
        if translate is not None:
            max_dx, max_dy = translate[0] * img_size[0], translate[1] * img_size[1]
            tx = int(round(_uniform(-max_dx, max_dx)))
            ty = int(round(_uniform(-max_dy, max_dy)))
        scale = 1.0 if scale_ranges is None else _uniform(*scale_ranges)
        sx = sy = 0.0
        if shears is not None:
            sx = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                sy = _uniform(shears[2], shears[3])
        return angle, (tx, ty), scale, (sx, sy)

    def __call__(self, img):
        size = F.get_image_size(img)
        angle, t, s, sh = self.get_params(
            self.degrees, self.translate, self.scale, self.shear, size
        )
        return F.affine(img, angle, t, s, sh, self.interpolation, self.fill, self.center)


class ColorJitter(_Simple):
    """Random brightness, contrast, saturation and hue changes, applied in a random order."""

    _repr = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._factor(brightness, "brightness")
        self.contrast = self._factor(contrast, "contrast")
        self.saturation = self._factor(saturation, "saturation")
        self.hue = None if hue == 0 else _range(hue, "ColorJitter hue", bound=(-0.5, 0.5))

    @staticmethod
    def _factor(value, name):
        if value == 0:
            return None
        return _range(value, f"ColorJitter {name}", center=1.0, bound=(0.0, math.inf))

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        order = np_generator().permutation(4).tolist()
        draws = [None if r is None else _uniform(r[0], r[1])
                 for r in (brightness, contrast, saturation, hue)]  # fmt: skip
        return (order, *draws)

    def __call__(self, img):
        order, *factors = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for k in order:
            if factors[k] is not None:
                img = ops[k](img, factors[k])
        return img


class Grayscale(_Simple):
    _repr = ("num_output_channels",)

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class Lambda(_Simple):
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


class RandomApply(Compose):
    """Apply all of ``transforms`` with probability ``p``."""

    def __init__(self, transforms, p=0.5):
        super().__init__(transforms)
        _check_p(p, "RandomApply")
        self.p = p

    def __call__(self, img):
        return super().__call__(img) if _rand() < self.p else img


class RandomChoice(Compose):
    """Apply one of ``transforms``, picked with probabilities ``p`` (uniform when None)."""

    def __init__(self, transforms, p=None):
        super().__init__(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(
                f"RandomChoice: {len(p)} probabilities for {len(self.transforms)} transforms"
            )
        self.p = p

    def __call__(self, img):
        weights = None if self.p is None else np.asarray(self.p, float) / sum(self.p)
        pick = int(np_generator().choice(len(self.transforms), p=weights))
        return self.transforms[pick](img)


class RandomOrder(Compose):
    """Apply all of ``transforms`` in a random order."""

    def __call__(self, img):
        for i in np_generator().permutation(len(self.transforms)):
            img = self.transforms[int(i)](img)
        return img


class RandomGrayscale(_Simple):
    """With probability ``p``, grayscale with as many output channels as the input has."""

    _repr = ("p",)

    def __init__(self, p=0.1):
        _check_p(p, "RandomGrayscale")
        self.p = p

    def __call__(self, img):
        if _rand() >= self.p:
            return img
        return F.rgb_to_grayscale(img, F.get_dimensions(img)[0])


class RandomErasing(_Simple):
    """With probability ``p``, set a random rectangle of a tensor image to ``value`` (a
    number, one per channel, or ``"random"`` for standard normal noise)."""

    _repr = ("p", "scale", "ratio", "value")

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        _check_p(p, "RandomErasing")
        if scale[0] > scale[1] or ratio[0] > ratio[1] or scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: bad scale {scale} or ratio {ratio}")
        if not (isinstance(value, (numbers.Number, str, list, tuple))) or (
            isinstance(value, str) and value != "random"
        ):
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', "
                             f"got {value!r}")  # fmt: skip
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        c, h, w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = h * w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            eh = int(round(math.sqrt(target * aspect)))
            ew = int(round(math.sqrt(target / aspect)))
            if not (eh < h and ew < w):
                continue
            if value is None:
                v = wrap(np_generator().standard_normal((c, eh, ew)).astype(img._data.dtype))
            else:
                v = np.asarray(value, dtype=img._data.dtype).reshape(-1, 1, 1)
            return _randint(0, h - eh + 1), _randint(0, w - ew + 1), eh, ew, v
        return 0, 0, h, w, img

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: expected a tensor image, got {type(img)}")
        if _rand() >= self.p:
            return img
        value = None if self.value == "random" else self.value
        if value is not None and not isinstance(value, numbers.Number):
            if len(value) not in (1, img.shape[-3]):
                raise ValueError(f"RandomErasing: {len(value)} values for {img.shape[-3]} channels")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        return F.erase(img, i, j, h, w, v, self.inplace)
