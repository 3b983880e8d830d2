"""The v2 transforms: v1's image operations, plus masks and boxes moved with the image."""

import numbers

import numpy as np

import ember
from ember._dtype import float32, to_dtype
from ember._tensor import Tensor
from ember.vision import tv_tensors
from ember.vision.ops.boxes import box_convert
from ember.vision.transforms import functional as F
from ember.vision.transforms import transforms as v1
from ember.vision.transforms.functional import InterpolationMode
from ember.vision.transforms.v2._base import Transform, _flatten, is_pure_tensor, query_size


def _plain(x):
    """A tv_tensor's data as a plain tensor (tv_tensors' metadata stays with the caller)."""
    if isinstance(x, tv_tensors.TVTensor):
        return ember.tensor(x.detach().numpy())
    return x


def _apply(x, image_fn, mask_fn=None, box_fn=None, name="transform"):
    """Run the function for ``x``'s kind and re-wrap tv_tensors."""
    if isinstance(x, tv_tensors.BoundingBoxes):
        if box_fn is None:
            raise NotImplementedError(f"{name}: ember does not transform BoundingBoxes this way")
        return box_fn(x)
    if isinstance(x, tv_tensors.Mask):
        out = (mask_fn or image_fn)(_plain(x))
        return tv_tensors.wrap_like(x, out)
    if isinstance(x, tv_tensors.TVTensor):
        return tv_tensors.wrap_like(x, image_fn(_plain(x)))
    return image_fn(x)


def _boxes_xyxy(boxes):
    data = ember.tensor(boxes.detach().numpy().astype(np.float64))
    fmt = boxes.format.value.lower()
    return data if fmt == "xyxy" else box_convert(data, fmt, "xyxy")


def _boxes_like(boxes, xyxy, canvas_size, clamp=True):
    a = xyxy.numpy()
    if clamp:
        h, w = canvas_size
        a = np.stack(
            [a[:, 0].clip(0, w), a[:, 1].clip(0, h), a[:, 2].clip(0, w), a[:, 3].clip(0, h)], 1
        )
    fmt = boxes.format.value.lower()
    out = ember.tensor(a) if fmt == "xyxy" else box_convert(ember.tensor(a), "xyxy", fmt)
    data = out.numpy().astype(boxes.detach().numpy().dtype)
    return tv_tensors.BoundingBoxes(data, format=boxes.format, canvas_size=canvas_size)


def _box_affine(boxes, scale_x, scale_y, shift_x, shift_y, canvas_size, flip_x=None, flip_y=None):
    a = _boxes_xyxy(boxes).numpy()
    x1, y1, x2, y2 = a.T
    if flip_x is not None:
        x1, x2 = flip_x - x2, flip_x - x1
    if flip_y is not None:
        y1, y2 = flip_y - y2, flip_y - y1
    out = np.stack(
        [
            x1 * scale_x + shift_x,
            y1 * scale_y + shift_y,
            x2 * scale_x + shift_x,
            y2 * scale_y + shift_y,
        ],
        1,
    )
    return _boxes_like(boxes, ember.tensor(out), canvas_size)


# ------------------------------------------------------------------ containers


class Compose(Transform):
    def __init__(self, transforms):
        super().__init__()
        if not isinstance(transforms, list | tuple):
            raise TypeError("Argument transforms should be a sequence of callables")
        self.transforms = list(transforms)

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        for t in self.transforms:
            sample = t(sample)
        return sample

    def __repr__(self):
        return "Compose(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class RandomApply(Compose):
    def __init__(self, transforms, p=0.5):
        super().__init__(transforms)
        v1._check_p(p, "RandomApply")
        self.p = p

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        return super().forward(sample) if v1._rand() < self.p else sample


class RandomChoice(Compose):
    def __init__(self, transforms, p=None):
        super().__init__(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError("Length of p doesn't match the number of transforms")
        p = [1.0] * len(self.transforms) if p is None else list(p)
        self.p = [w / sum(p) for w in p]

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        i = int(np.searchsorted(np.cumsum(self.p), v1._rand(), side="right"))
        return self.transforms[min(i, len(self.transforms) - 1)](sample)


class RandomOrder(Compose):
    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        for i in np.argsort([v1._rand() for _ in self.transforms]):
            sample = self.transforms[i](sample)
        return sample


class Identity(Transform):
    def transform(self, inpt, params):
        return inpt


class Lambda(Transform):
    def __init__(self, lambd, *types):
        super().__init__()
        self.lambd, self.types = lambd, types or (object,)

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        leaves, rebuild = _flatten(sample)
        return rebuild([self.lambd(x) if isinstance(x, self.types) else x for x in leaves])


# ------------------------------------------------------------------ conversion


class ToImage(Transform):
    """PIL images, NumPy arrays (H, W, C) and tensors to `tv_tensors.Image`."""

    def transform(self, inpt, params):
        if isinstance(inpt, np.ndarray):
            a = inpt[:, :, None] if inpt.ndim == 2 else inpt
            return tv_tensors.Image(np.ascontiguousarray(a.transpose(2, 0, 1)))
        if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(inpt, tv_tensors.Image):
            return inpt
        return tv_tensors.Image(inpt)


class PILToTensor(Transform):
    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt) if F._is_pil(inpt) else inpt


class ToPILImage(Transform):
    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.BoundingBoxes | tv_tensors.Mask):
            return inpt
        return inpt if F._is_pil(inpt) else F.to_pil_image(_plain(inpt), self.mode)


class ToPureTensor(Transform):
    def transform(self, inpt, params):
        return _plain(inpt) if isinstance(inpt, Tensor) else inpt


class ToDtype(Transform):
    """Cast to ``dtype`` (one dtype, or a dict by tv_tensor type with an "others" entry);
    ``scale=True`` maps integer images to [0, 1] floats and back, as ``convert_image_dtype``."""

    _repr = ("dtype", "scale")

    def __init__(self, dtype, scale=False):
        super().__init__()
        self.dtype, self.scale = dtype, scale

    def _dtype_for(self, inpt):
        if not isinstance(self.dtype, dict):
            return self.dtype
        for kind, dtype in self.dtype.items():
            if isinstance(kind, type) and isinstance(inpt, kind):
                return dtype
        if is_pure_tensor(inpt) and Tensor in self.dtype:
            return self.dtype[Tensor]
        return self.dtype.get("others")

    def transform(self, inpt, params):
        if F._is_pil(inpt):
            return inpt
        dtype = self._dtype_for(inpt)
        if dtype is None:
            return inpt
        dtype = to_dtype(dtype)
        is_image = isinstance(inpt, tv_tensors.Image | tv_tensors.Video) or is_pure_tensor(inpt)
        if self.scale and is_image:
            return _apply(inpt, lambda t: F.convert_image_dtype(t, dtype))
        return _apply(
            inpt, lambda t: t.to(dtype), box_fn=lambda b: tv_tensors.wrap_like(b, b.to(dtype))
        )


class ConvertImageDtype(ToDtype):
    def __init__(self, dtype=float32):
        super().__init__(dtype, scale=True)


class ToTensor(Transform):
    """v1's ToTensor (deprecated in torchvision in favour of ToImage + ToDtype)."""

    def transform(self, inpt, params):
        if F._is_pil(inpt) or isinstance(inpt, np.ndarray):
            return F.to_tensor(inpt)
        return inpt


# ------------------------------------------------------------------ geometry


class RandomHorizontalFlip(Transform):
    _repr = ("p",)

    def __init__(self, p=0.5):
        super().__init__()
        v1._check_p(p, type(self).__name__)
        self.p = p

    def make_params(self, flat_inputs):
        return {"apply": v1._rand() < self.p, "size": query_size(flat_inputs)}

    def _flip(self, x, size):
        h, w = size
        return _apply(
            x, F.hflip, box_fn=lambda b: _box_affine(b, 1, 1, 0, 0, b.canvas_size, flip_x=w)
        )

    def transform(self, inpt, params):
        return self._flip(inpt, params["size"]) if params["apply"] else inpt


class RandomVerticalFlip(RandomHorizontalFlip):
    def _flip(self, x, size):
        h, w = size
        return _apply(
            x, F.vflip, box_fn=lambda b: _box_affine(b, 1, 1, 0, 0, b.canvas_size, flip_y=h)
        )


class Resize(Transform):
    _repr = ("size", "interpolation", "max_size")

    def __init__(
        self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True
    ):
        super().__init__()
        self.size = [size] if isinstance(size, int) else list(size)
        self.interpolation, self.max_size, self.antialias = (
            InterpolationMode(interpolation),
            max_size,
            antialias,
        )

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        return {"old": (h, w), "new": F._output_size(h, w, self.size, self.max_size)}

    def transform(self, inpt, params):
        (h, w), (nh, nw) = params["old"], params["new"]
        return _apply(
            inpt,
            lambda t: F.resize(t, [nh, nw], self.interpolation, None, self.antialias),
            mask_fn=lambda t: F.resize(t, [nh, nw], InterpolationMode.NEAREST, None, False),
            box_fn=lambda b: _box_affine(b, nw / w, nh / h, 0, 0, (nh, nw)),
        )


def _crop_leaf(x, top, left, height, width):
    return _apply(
        x,
        lambda t: F.crop(t, top, left, height, width),
        box_fn=lambda b: _box_affine(b, 1, 1, -left, -top, (height, width)),
    )


class CenterCrop(Transform):
    _repr = ("size",)

    def __init__(self, size):
        super().__init__()
        self.size = F._pair(size, "CenterCrop")

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        th, tw = self.size
        return {"top": int(round((h - th) / 2.0)), "left": int(round((w - tw) / 2.0))}

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.BoundingBoxes) or (
            params["top"] >= 0 and params["left"] >= 0
        ):
            return _crop_leaf(inpt, params["top"], params["left"], *self.size)
        return _apply(inpt, lambda t: F.center_crop(t, self.size))


class RandomCrop(Transform):
    _repr = ("size", "padding")

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        super().__init__()
        self.size = F._pair(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        left = top = right = bottom = 0
        if self.padding is not None:
            left, top, right, bottom = F._pad_amounts(self.padding)
        h, w = h + top + bottom, w + left + right
        th, tw = self.size
        if self.pad_if_needed:
            extra_w, extra_h = max(tw - w, 0), max(th - h, 0)
            left, right, top, bottom = (
                left + extra_w,
                right + extra_w,
                top + extra_h,
                bottom + extra_h,
            )
            h, w = h + 2 * extra_h, w + 2 * extra_w
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        return {
            "pad": (left, top, right, bottom),
            "top": v1._randint(0, h - th + 1),
            "left": v1._randint(0, w - tw + 1),
        }

    def transform(self, inpt, params):
        left, top, right, bottom = params["pad"]
        if any(params["pad"]):
            inpt = _pad_leaf(inpt, [left, top, right, bottom], self.fill, self.padding_mode)
        return _crop_leaf(inpt, params["top"], params["left"], *self.size)


def _pad_leaf(x, padding, fill, mode):
    left, top, right, bottom = F._pad_amounts(padding)
    return _apply(
        x,
        lambda t: F.pad(t, [left, top, right, bottom], fill, mode),
        box_fn=lambda b: _box_affine(
            b, 1, 1, left, top, (b.canvas_size[0] + top + bottom, b.canvas_size[1] + left + right)
        ),
    )


class Pad(Transform):
    _repr = ("padding", "fill", "padding_mode")

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def transform(self, inpt, params):
        return _pad_leaf(inpt, self.padding, self.fill, self.padding_mode)


class RandomResizedCrop(Transform):
    _repr = ("size", "scale", "ratio", "interpolation")

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):  # fmt: skip
        super().__init__()
        self._v1 = v1.RandomResizedCrop(size, scale, ratio, interpolation, antialias)
        self.size, self.scale, self.ratio = self._v1.size, self._v1.scale, self._v1.ratio
        self.interpolation, self.antialias = self._v1.interpolation, antialias

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        probe = np.zeros((1, h, w), dtype=np.uint8)
        return dict(
            zip(
                ("top", "left", "height", "width"),
                self._v1.get_params(probe, self.scale, self.ratio),
            )
        )

    def transform(self, inpt, params):
        top, left, height, width = params["top"], params["left"], params["height"], params["width"]
        nh, nw = self.size
        return _apply(
            inpt,
            lambda t: F.resized_crop(
                t, top, left, height, width, [nh, nw], self.interpolation, self.antialias
            ),
            mask_fn=lambda t: F.resized_crop(
                t, top, left, height, width, [nh, nw], InterpolationMode.NEAREST, False
            ),
            box_fn=lambda b: _box_affine(
                b, nw / width, nh / height, -left * nw / width, -top * nh / height, (nh, nw)
            ),
        )


class RandomRotation(Transform):
    """Rotation by a random angle; masks rotate with nearest sampling (boxes are refused)."""

    _repr = ("degrees", "interpolation", "expand", "fill")

    def __init__(
        self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0
    ):
        super().__init__()
        self._v1 = v1.RandomRotation(degrees, interpolation, expand, center, fill)
        self.degrees, self.interpolation = self._v1.degrees, self._v1.interpolation
        self.expand, self.center, self.fill = expand, center, fill

    def make_params(self, flat_inputs):
        return {"angle": self._v1.get_params(self.degrees)}

    def transform(self, inpt, params):
        def rot(mode):
            return lambda t: F.rotate(t, params["angle"], mode, self.expand, self.center, self.fill)

        return _apply(
            inpt,
            rot(self.interpolation),
            mask_fn=rot(InterpolationMode.NEAREST),
            name="RandomRotation",
        )


class RandomAffine(Transform):
    _repr = ("degrees", "translate", "scale", "shear")

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):  # fmt: skip
        super().__init__()
        self._v1 = v1.RandomAffine(degrees, translate, scale, shear, interpolation, fill, center)
        self.degrees, self.translate, self.scale, self.shear = (
            self._v1.degrees,
            self._v1.translate,
            self._v1.scale,
            self._v1.shear,
        )
        self.interpolation, self.fill, self.center = self._v1.interpolation, fill, center

    def make_params(self, flat_inputs):
        h, w = query_size(flat_inputs)
        return {
            "args": self._v1.get_params(
                self.degrees, self.translate, self.scale, self.shear, [w, h]
            )
        }

    def transform(self, inpt, params):
        angle, translate, scale, shear = params["args"]

        def warp(mode):
            return lambda t: F.affine(
                t, angle, list(translate), scale, list(shear), mode, self.fill, self.center
            )

        return _apply(
            inpt,
            warp(self.interpolation),
            mask_fn=warp(InterpolationMode.NEAREST),
            name="RandomAffine",
        )


# ------------------------------------------------------------------ colour and values


def _images_only(x, fn):
    """Colour operations touch images and videos; masks and boxes pass through."""
    if isinstance(x, tv_tensors.Mask | tv_tensors.BoundingBoxes):
        return x
    return _apply(x, fn)


class Normalize(Transform):
    _repr = ("mean", "std")

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = list(mean), list(std), inplace

    def transform(self, inpt, params):
        if F._is_pil(inpt):
            raise TypeError(
                "Normalize does not support PIL images; convert with ToImage and ToDtype first"
            )
        return _images_only(inpt, lambda t: F.normalize(t, self.mean, self.std, self.inplace))


class ColorJitter(Transform):
    _repr = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        super().__init__()
        self._v1 = v1.ColorJitter(brightness or 0, contrast or 0, saturation or 0, hue or 0)
        self.brightness, self.contrast = self._v1.brightness, self._v1.contrast
        self.saturation, self.hue = self._v1.saturation, self._v1.hue

    def make_params(self, flat_inputs):
        return {
            "draw": self._v1.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        }

    def transform(self, inpt, params):
        order, *factors = params["draw"]
        adjust = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)

        def jitter(t):
            for i in order:
                if factors[i] is not None:
                    t = adjust[i](t, factors[i])
            return t

        return _images_only(inpt, jitter)


class Grayscale(Transform):
    _repr = ("num_output_channels",)

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return _images_only(inpt, lambda t: F.rgb_to_grayscale(t, self.num_output_channels))


class RandomGrayscale(Transform):
    _repr = ("p",)

    def __init__(self, p=0.1):
        super().__init__()
        v1._check_p(p, "RandomGrayscale")
        self.p = p

    def make_params(self, flat_inputs):
        return {"apply": v1._rand() < self.p}

    def transform(self, inpt, params):
        if not params["apply"]:
            return inpt
        channels = F.get_dimensions(_plain(inpt) if isinstance(inpt, Tensor) else inpt)[0]
        return _images_only(inpt, lambda t: F.rgb_to_grayscale(t, channels))


class RandomErasing(Transform):
    _repr = ("p", "scale", "ratio", "value")

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        super().__init__()
        self._v1 = v1.RandomErasing(p, scale, ratio, value, inplace)
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        if v1._rand() >= self.p:
            return sample
        return super().forward(sample)

    def make_params(self, flat_inputs):
        image = next(
            x
            for x in flat_inputs
            if isinstance(x, Tensor) and not isinstance(x, tv_tensors.BoundingBoxes)
        )
        value = self.value
        if isinstance(value, numbers.Number):
            value = [value]
        elif value == "random":
            value = None
        return {"box": self._v1.get_params(_plain(image), self.scale, self.ratio, value)}

    def transform(self, inpt, params):
        if F._is_pil(inpt):
            raise TypeError("RandomErasing works on tensors; convert the PIL image with ToImage")
        i, j, h, w, v = params["box"]
        return _images_only(inpt, lambda t: F.erase(t, i, j, h, w, v, self.inplace))


__all__ = [
    name
    for name, value in dict(globals()).items()
    if isinstance(value, type) and issubclass(value, Transform) and not name.startswith("_")
] + ["Transform", "InterpolationMode"]
