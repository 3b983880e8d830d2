"""Image operations on PIL images, NumPy arrays and tensors.

A tensor image is ``(..., C, H, W)``, as in torchvision. A NumPy array image is ``H x W`` or
``H x W x C`` (the layout ``ToTensor`` reads), and comes back in the same layout and dtype.
A PIL image goes through Pillow's own operations where torchvision uses them (resize,
rotate, affine, grayscale), so its results are Pillow's. Integer images are resampled in
float32 and rounded back.
"""

import enum
import math
import numbers

import numpy as np

from ember._tensor import Tensor, wrap
from ember.vision.datasets.vision import pil_or_none


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _is_pil(img):
    Image = pil_or_none()
    return Image is not None and isinstance(img, Image.Image)


def _pil_filter(mode):
    Image = pil_or_none()
    return {
        "nearest": Image.NEAREST, "nearest-exact": Image.NEAREST, "bilinear": Image.BILINEAR,
        "bicubic": Image.BICUBIC, "box": Image.BOX, "hamming": Image.HAMMING,
        "lanczos": Image.LANCZOS,
    }[InterpolationMode(mode).value]  # fmt: skip


def _check_image(img, op):
    if not (_is_pil(img) or isinstance(img, (np.ndarray, Tensor))):
        raise TypeError(f"{op}: expected a PIL image, NumPy array or tensor, got {type(img)}")
    if not _is_pil(img) and img.ndim < 2:
        raise ValueError(f"{op}: an image needs at least 2 dimensions, got shape {img.shape}")


def _to_chw(img):
    """The image as an array whose last two axes are H and W; and a function restoring the
    input's type and layout from such an array."""
    if _is_pil(img):
        Image = pil_or_none()
        a = np.asarray(img)
        mode = img.mode
        chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        return chw, lambda out: Image.fromarray(
            np.ascontiguousarray(out[0] if a.ndim == 2 else out.transpose(1, 2, 0)),
            mode=mode if mode in ("L", "RGB", "RGBA", "I", "F") else None,
        )
    if isinstance(img, Tensor):
        return img._data, lambda out: wrap(np.ascontiguousarray(out))
    if img.ndim == 2:
        return img[None], lambda out: np.ascontiguousarray(out[0])
    return np.moveaxis(img, -1, -3), lambda out: np.ascontiguousarray(np.moveaxis(out, -3, -1))


def get_dimensions(img):
    """``[channels, height, width]``."""
    _check_image(img, "get_dimensions")
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    a, _ = _to_chw(img)
    return [a.shape[-3] if a.ndim >= 3 else 1, a.shape[-2], a.shape[-1]]


def get_image_size(img):
    """``[width, height]``."""
    _, h, w = get_dimensions(img)
    return [w, h]


def _cast_like(out, dtype):
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    return out.astype(dtype, copy=False)


# ------------------------------------------------------------------ conversion


def to_tensor(pic):
    """PIL image or ``H x W (x C)`` array to a ``C x H x W`` tensor; uint8 becomes float32 in
    [0, 1], other dtypes keep their values."""
    if _is_pil(pic):
        a = np.asarray(pic)
        if pic.mode == "1":
            a = a.astype(np.uint8) * 255
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: expected an array of 2 or 3 dimensions, got {pic.shape}")
        a = pic
    else:
        raise TypeError(f"to_tensor: expected a PIL image or NumPy array, got {type(pic)}")
    a = a[:, :, None] if a.ndim == 2 else a
    chw = np.ascontiguousarray(a.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return wrap(chw.astype(np.float32) / np.float32(255))
    return wrap(chw)


def pil_to_tensor(pic):
    """PIL image to a ``C x H x W`` tensor with the image's own dtype and values."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: expected a PIL image, got {type(pic)}")
    a = np.asarray(pic)
    a = a[:, :, None] if a.ndim == 2 else a
    return wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))


def to_pil_image(pic, mode=None):
    """A ``C x H x W`` tensor or ``H x W (x C)`` array to a PIL image; floats are scaled by 255."""
    Image = pil_or_none()
    if Image is None:
        raise ImportError("to_pil_image needs Pillow: pip install pillow")
    if isinstance(pic, Tensor):
        a = pic._data
        a = a[None] if a.ndim == 2 else a
        a = a.transpose(1, 2, 0)
    else:
        a = pic[:, :, None] if pic.ndim == 2 else pic
    if np.issubdtype(a.dtype, np.floating):
        a = (a * 255).astype(np.uint8)
    a = a[:, :, 0] if a.shape[2] == 1 else a
    return Image.fromarray(np.ascontiguousarray(a), mode=mode)


def _max_value(dtype):
    return np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0


def convert_image_dtype(image, dtype):
    """Convert a tensor image to ``dtype``, rescaling values: integers span [0, max], floats
    [0, 1]."""
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype: expected a tensor, got {type(image)}")
    src, dst = image._data.dtype, np.dtype(dtype.np)
    a = image._data
    if src == dst:
        return image
    src_float, dst_float = np.issubdtype(src, np.floating), np.issubdtype(dst, np.floating)
    if src_float and dst_float:
        return wrap(a.astype(dst))
    if src_float:
        # (max + 1 - eps) maps 1.0 onto max and splits [0, 1] into equal bins.
        return wrap((a * (_max_value(dst) + 1.0 - 1e-3)).astype(dst))
    if dst_float:
        return wrap((a.astype(dst) / _max_value(src)).astype(dst))
    in_max, out_max = int(_max_value(src)), int(_max_value(dst))
    if in_max > out_max:
        factor = (in_max + 1) // (out_max + 1)
        return wrap((a.astype(np.int64) // factor).astype(dst))
    factor = (out_max + 1) // (in_max + 1)
    return wrap((a.astype(np.int64) * factor).astype(dst))


def normalize(tensor, mean, std, inplace=False):
    """``(tensor - mean) / std`` per channel of a float ``(..., C, H, W)`` tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: expected a tensor, got {type(tensor)}")
    a = tensor._data
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"normalize: expected a floating point tensor, got {tensor.dtype}")
    if a.ndim < 3:
        raise ValueError(f"normalize: expected a (..., C, H, W) tensor, got shape {a.shape}")
    mean = np.asarray(mean, dtype=a.dtype).reshape(-1, 1, 1)
    std = np.asarray(std, dtype=a.dtype).reshape(-1, 1, 1)
    if (std == 0).any():
        raise ValueError(f"normalize: std evaluated to zero ({std.ravel().tolist()})")
    if inplace:
        np.subtract(a, mean, out=a)
        np.divide(a, std, out=a)
        tensor._bump_version()
        return tensor
    return wrap((a - mean) / std)


# ------------------------------------------------------------------ geometry


def _output_size(h, w, size, max_size):
    if isinstance(size, numbers.Number) or len(size) == 1:
        s = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"resize: max_size ({max_size}) must exceed size ({s})")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError("resize: max_size applies only when size is a single int")
    return int(size[0]), int(size[1])


def _cubic(x, a):
    x = np.abs(x)
    return np.where(
        x < 1,
        ((a + 2) * x - (a + 3)) * x * x + 1,
        np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0),
    )


def _weights(n_in, n_out, mode, antialias):
    """The ``(n_out, n_in)`` resampling matrix along one axis (pixel-area alignment:
    output pixel i is centred on input coordinate ``(i + 0.5) * n_in / n_out``)."""
    scale = n_in / n_out
    i = np.arange(n_out)
    if mode == "nearest":
        src = np.minimum(np.floor(i * scale).astype(np.int64), n_in - 1)
        m = np.zeros((n_out, n_in), np.float64)
        m[i, src] = 1
        return m
    if mode == "nearest-exact":
        src = np.minimum(np.floor((i + 0.5) * scale).astype(np.int64), n_in - 1)
        m = np.zeros((n_out, n_in), np.float64)
        m[i, src] = 1
        return m
    stretch = max(scale, 1.0) if antialias else 1.0
    if mode == "bilinear":
        support, kernel = 1.0, lambda x: np.maximum(0.0, 1 - np.abs(x))
    else:  # bicubic: Keys' kernel, a = -0.5 with antialias (as Pillow), -0.75 without
        a = -0.5 if antialias else -0.75
        support, kernel = 2.0, lambda x: _cubic(x, a)
    center = (i + 0.5) * scale
    reach = int(math.ceil(support * stretch)) + 1
    j = np.floor(center)[:, None].astype(np.int64) + np.arange(-reach, reach + 1)
    w = kernel((j + 0.5 - center[:, None]) / stretch)
    if antialias:  # out-of-range taps are dropped (and the rest renormalised), as in Pillow
        w = np.where((j >= 0) & (j < n_in), w, 0.0)
    # otherwise they repeat the edge pixel, as PyTorch's interpolate does
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.broadcast_to(i[:, None], j.shape), np.clip(j, 0, n_in - 1)), w)
    return m / m.sum(axis=1, keepdims=True)


def _resample(a, new_h, new_w, mode, antialias):
    dtype = a.dtype
    x = a.astype(np.float32)
    wh = _weights(a.shape[-2], new_h, mode, antialias).astype(np.float32)
    ww = _weights(a.shape[-1], new_w, mode, antialias).astype(np.float32)
    out = np.matmul(np.matmul(wh, x), ww.T)
    return _cast_like(out, dtype)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` (h, w), or match the smaller edge to an int ``size``."""
    _check_image(img, "resize")
    _, h, w = get_dimensions(img)
    new_h, new_w = _output_size(h, w, size, max_size)
    mode = InterpolationMode(interpolation).value
    if _is_pil(img):
        return img.resize((new_w, new_h), _pil_filter(mode))
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"resize: interpolation {mode!r} is available for PIL images only")
    if (new_h, new_w) == (h, w):
        return img
    a, back = _to_chw(img)
    return back(_resample(a, new_h, new_w, mode, antialias))


def _pad_amounts(padding):
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(f"pad: padding must be an int or 1, 2 or 4 ints, got {padding}")


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: ``padding`` is one int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` constant, edge, reflect or symmetric."""
    _check_image(img, "pad")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode must be constant, edge, reflect or symmetric, "
                         f"got {padding_mode!r}")  # fmt: skip
    left, top, right, bottom = _pad_amounts(padding)
    a, back = _to_chw(img)
    h, w = a.shape[-2:]
    # Negative padding crops, as in torchvision.
    a = a[..., max(-top, 0) : h - max(-bottom, 0), max(-left, 0) : w - max(-right, 0)]
    (t, b), (lt, r) = (max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))
    widths = [(0, 0)] * (a.ndim - 2) + [(t, b), (lt, r)]
    if padding_mode != "constant":
        return back(np.pad(a, widths, mode=padding_mode))
    out = np.pad(a, widths, mode="constant")
    if fill is not None and np.any(np.asarray(fill) != 0):
        border = np.ones(out.shape[-2:], bool)
        border[t : t + a.shape[-2], lt : lt + a.shape[-1]] = False
        out = np.where(border, np.asarray(fill, dtype=out.dtype).reshape(-1, 1, 1), out)
    return back(out)


def crop(img, top, left, height, width):
    """The ``height x width`` region at (top, left); parts outside the image are zero."""
    _check_image(img, "crop")
    _, h, w = get_dimensions(img)
    a, back = _to_chw(img)
    if top < 0 or left < 0 or top + height > h or left + width > w:
        pads = [(0, 0)] * (a.ndim - 2)
        pads += [
            (max(-top, 0), max(top + height - h, 0)),
            (max(-left, 0), max(left + width - w, 0)),
        ]
        a = np.pad(a, pads)
        top, left = max(top, 0), max(left, 0)
    return back(a[..., top : top + height, left : left + width])


def _pair(size, op):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{op}: size must be an int or (h, w), got {size}")
    return int(size[0]), int(size[1])


def center_crop(img, output_size):
    """Crop the centre; an image smaller than ``output_size`` is zero-padded first."""
    th, tw = _pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if th > h or tw > w:
        dw, dh = max(tw - w, 0), max(th - h, 0)
        img = pad(img, [dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2])
        _, h, w = get_dimensions(img)
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return crop(img, top, left, th, tw)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):  # fmt: skip
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    _check_image(img, "hflip")
    a, back = _to_chw(img)
    return back(a[..., ::-1])


def vflip(img):
    _check_image(img, "vflip")
    a, back = _to_chw(img)
    return back(a[..., ::-1, :])


# ------------------------------------------------------------------ affine warps


def _inverse_affine(center, angle, translate, scale, shear):
    """The 2x3 matrix taking output to input coordinates for the warp
    ``x' = c + t + R(angle) S(scale) Shy(sy) Shx(sx) (x - c)`` (angle clockwise on screen)."""
    a, sx, sy = (math.radians(v) for v in (angle, shear[0], shear[1]))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shy = np.array([[1.0, 0.0], [-math.tan(sy), 1.0]])
    shx = np.array([[1.0, -math.tan(sx)], [0.0, 1.0]])
    forward = scale * rot @ shy @ shx
    inv = np.linalg.inv(forward)
    c, t = np.asarray(center, float), np.asarray(translate, float)
    return np.hstack([inv, (c - inv @ (c + t))[:, None]])


def _warp(a, matrix, out_h, out_w, mode, fill):
    """Sample ``a`` (..., H, W) at ``matrix`` applied to each output pixel centre."""
    ys, xs = np.mgrid[0:out_h, 0:out_w] + 0.5
    u = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - 0.5
    v = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - 0.5
    h, w = a.shape[-2:]
    fillv = np.asarray(0 if fill is None else fill, np.float32).reshape(-1, 1, 1)
    x = a.astype(np.float32)
    if mode == "nearest":
        ui, vi = np.rint(u).astype(np.int64), np.rint(v).astype(np.int64)
        inside = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
        out = np.where(inside, x[..., np.clip(vi, 0, h - 1), np.clip(ui, 0, w - 1)], fillv)
    elif mode == "bilinear":
        u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        fu, fv = (u - u0).astype(np.float32), (v - v0).astype(np.float32)
        out = 0
        for dv, wv in ((0, 1 - fv), (1, fv)):
            for du, wu in ((0, 1 - fu), (1, fu)):
                uu, vv = u0 + du, v0 + dv
                inside = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
                tap = np.where(inside, x[..., np.clip(vv, 0, h - 1), np.clip(uu, 0, w - 1)], fillv)
                out = out + wu * wv * tap
    else:
        raise ValueError(f"affine warps on arrays support nearest and bilinear, got {mode!r}")
    return _cast_like(np.asarray(out), a.dtype)


def _fill_for_pil(fill):
    if fill is None or isinstance(fill, numbers.Number):
        return fill
    return tuple(int(v) for v in fill)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):  # fmt: skip
    """Rotate by ``angle`` degrees clockwise, translate, scale and shear about ``center``
    (default the image centre)."""
    _check_image(img, "affine")
    if isinstance(shear, numbers.Number):
        shear = (shear, 0.0)
    shear = tuple(shear) + (0.0,) * (2 - len(shear))
    if scale <= 0:
        raise ValueError(f"affine: scale must be positive, got {scale}")
    _, h, w = get_dimensions(img)
    c = (w * 0.5, h * 0.5) if center is None else tuple(center)
    matrix = _inverse_affine(c, angle, translate, scale, shear)
    mode = InterpolationMode(interpolation).value
    if _is_pil(img):
        Image = pil_or_none()
        return img.transform((w, h), Image.AFFINE, tuple(matrix.ravel()), _pil_filter(mode),
                             fillcolor=_fill_for_pil(fill))  # fmt: skip
    a, back = _to_chw(img)
    return back(_warp(a, matrix, h, w, mode, fill))


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):  # fmt: skip
    """Rotate by ``angle`` degrees counter-clockwise; ``expand`` grows the output to hold the
    whole rotated image."""
    _check_image(img, "rotate")
    mode = InterpolationMode(interpolation).value
    if _is_pil(img):
        return img.rotate(angle, _pil_filter(mode), expand, center,
                          fillcolor=_fill_for_pil(fill))  # fmt: skip
    _, h, w = get_dimensions(img)
    c = (w * 0.5, h * 0.5) if center is None else tuple(center)
    matrix = _inverse_affine(c, -angle, (0, 0), 1.0, (0, 0))
    out_h, out_w = h, w
    if expand:
        out_w, out_h = _expanded_size(w, h, angle)
        # Keep the rotated image centred in the larger canvas.
        shift = np.array([(out_w - w) * 0.5, (out_h - h) * 0.5])
        matrix[:, 2] -= matrix[:, :2] @ shift
    a, back = _to_chw(img)
    return back(_warp(a, matrix, out_h, out_w, mode, fill))


def _expanded_size(w, h, angle):
    """Width and height of the box holding the image rotated about its centre, measured as
    Pillow does (corners in pixel coordinates, rounded outwards, 1e-4 tolerance)."""
    a = math.radians(angle)
    c = np.array([w, h], float) * 0.5
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float) - c
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = corners @ rot.T + c
    tol = 1e-4
    hi = np.ceil(np.round(pts.max(0) / tol) * tol)
    lo = np.floor(np.round(pts.min(0) / tol) * tol)
    size = hi - lo
    return int(size[0]), int(size[1])


# ------------------------------------------------------------------ colour


def rgb_to_grayscale(img, num_output_channels=1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (ITU-R 601-2; Pillow's own for PIL images),
    repeated to ``num_output_channels`` (1 or 3)."""
    _check_image(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels must be 1 or 3, got "
                         f"{num_output_channels}")  # fmt: skip
    if _is_pil(img):
        grey = img.convert("L")
        return grey if num_output_channels == 1 else grey.convert("RGB")
    a, back = _to_chw(img)
    if a.ndim < 3 or a.shape[-3] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, got shape {img.shape}")
    if a.shape[-3] == 3:
        r, g, b = a[..., 0, :, :], a[..., 1, :, :], a[..., 2, :, :]
        grey = (0.2989 * r.astype(np.float32) + 0.587 * g + 0.114 * b).astype(a.dtype)[
            ..., None, :, :
        ]
    else:
        grey = a
    return back(np.repeat(grey, num_output_channels, axis=-3))


def _blend(a, b, ratio):
    bound = _max_value(a.dtype)
    out = ratio * a.astype(np.float32) + (1.0 - ratio) * np.asarray(b, np.float32)
    return np.clip(out, 0, bound).astype(a.dtype)  # integers truncate, as torchvision's


def _array_op(img, op, fn):
    _check_image(img, op)
    a, back = _to_chw(img)
    return back(fn(a))


def _grey(a):
    if a.shape[-3] == 1:
        return a.astype(np.float32)
    r, g, b = (a[..., i, :, :].astype(np.float32) for i in range(3))
    grey = 0.2989 * r + 0.587 * g + 0.114 * b
    if np.issubdtype(a.dtype, np.integer):
        grey = np.floor(grey)
    return grey[..., None, :, :]


def adjust_brightness(img, brightness_factor):
    return _array_op(img, "adjust_brightness", lambda a: _blend(a, 0.0, brightness_factor))


def adjust_contrast(img, contrast_factor):
    def fn(a):
        mean = _grey(a).mean(axis=(-3, -2, -1), keepdims=True)
        return _blend(a, mean, contrast_factor)

    return _array_op(img, "adjust_contrast", fn)


def adjust_saturation(img, saturation_factor):
    return _array_op(img, "adjust_saturation", lambda a: _blend(a, _grey(a), saturation_factor))


def adjust_hue(img, hue_factor):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]) through HSV."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor must be in [-0.5, 0.5], got {hue_factor}")

    def fn(a):
        x = a.astype(np.float32) / np.float32(_max_value(a.dtype))
        h, s, v = _rgb_to_hsv(x)
        x = _hsv_to_rgb((h + hue_factor) % 1.0, s, v)
        if np.issubdtype(a.dtype, np.integer):  # back as convert_image_dtype does
            return (x * (_max_value(a.dtype) + 1.0 - 1e-3)).astype(a.dtype)
        return x.astype(a.dtype)

    return _array_op(img, "adjust_hue", fn)


def _rgb_to_hsv(x):
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    delta = maxc - minc
    safe = np.where(delta == 0, 1, delta)
    s = delta / np.where(maxc == 0, 1, maxc)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta == 0, 0.0, (h / 6.0) % 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = [np.select([i == k for k in range(6)], [c[ch] for c in choices]) for ch in range(3)]
    return np.stack(rgb, axis=-3)


def erase(img, i, j, h, w, v, inplace=False):
    """Set the ``h x w`` region at (i, j) of a tensor image to ``v``."""
    if not isinstance(img, Tensor):
        raise TypeError(f"erase: expected a tensor, got {type(img)}")
    a = img._data if inplace else img._data.copy()
    a[..., i : i + h, j : j + w] = v._data if isinstance(v, Tensor) else v
    if inplace:
        img._bump_version()
        return img
    return wrap(a)
