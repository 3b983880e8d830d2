"""Reading and writing images as uint8 (C, H, W) tensors, as torchvision.io does, via Pillow.

Decoding goes through Pillow (PNG, JPEG, GIF, BMP, WebP, TIFF: whatever Pillow reads);
``mode`` converts the channels (GRAY, GRAY_ALPHA, RGB, RGB_ALPHA) or keeps them (UNCHANGED).
A 16-bit PNG decodes to uint16, as torchvision's does.
"""

import enum
import io
import os

import numpy as np
from PIL import Image

from ember._dtype import uint8
from ember._ops.creation import tensor as _tensor
from ember._tensor import Tensor

__all__ = [
    "ImageReadMode",
    "read_file",
    "write_file",
    "decode_image",
    "decode_png",
    "decode_jpeg",
    "encode_png",
    "encode_jpeg",
    "read_image",
    "write_png",
    "write_jpeg",
]


class ImageReadMode(enum.Enum):
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODE = {
    ImageReadMode.GRAY: "L",
    ImageReadMode.GRAY_ALPHA: "LA",
    ImageReadMode.RGB: "RGB",
    ImageReadMode.RGB_ALPHA: "RGBA",
}


def read_file(path):
    """The bytes of a file as a 1-D uint8 tensor."""
    with open(os.fspath(path), "rb") as f:
        return _tensor(np.frombuffer(f.read(), dtype=np.uint8).copy())


def write_file(filename, data):
    """Write a 1-D uint8 tensor's bytes to ``filename``."""
    _check_bytes(data, "write_file")
    with open(os.fspath(filename), "wb") as f:
        f.write(data.numpy().tobytes())


def _check_bytes(data, op):
    if not isinstance(data, Tensor) or data.dtype != uint8 or data.dim() != 1:
        shape = tuple(data.shape) if isinstance(data, Tensor) else type(data).__name__
        dtype = getattr(data, "dtype", None)
        raise RuntimeError(f"{op}: expected a 1-dimensional uint8 tensor, got {shape} {dtype}")


def _mode(mode):
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode must be an ImageReadMode, got {mode!r}")
    return mode


def _to_chw(image, mode, op):
    mode = _mode(mode)
    if mode is not ImageReadMode.UNCHANGED:
        image = image.convert(_PIL_MODE[mode])
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I", "1"):
        image = image.convert("RGB")
    if image.mode == "1":
        image = image.convert("L")
    array = np.asarray(image)
    if image.mode in ("I;16", "I;16B", "I"):
        array = array.astype(np.uint16)
    if array.ndim == 2:
        array = array[:, :, None]
    return _tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode an encoded image (a 1-D uint8 tensor of file bytes, or a path) into (C, H, W)."""
    if isinstance(input, str | os.PathLike):
        input = read_file(input)
    _check_bytes(input, "decode_image")
    try:
        image = Image.open(io.BytesIO(input.numpy().tobytes()))
        image.load()
    except (OSError, SyntaxError) as e:
        raise RuntimeError(f"decode_image: cannot decode the image data ({e})") from None
    if apply_exif_orientation:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
    return _to_chw(image, mode, "decode_image")


def decode_png(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    return decode_image(input, mode, apply_exif_orientation)


def decode_jpeg(input, mode=ImageReadMode.UNCHANGED, device="cpu", apply_exif_orientation=False):
    if isinstance(input, list):
        return [decode_image(x, mode, apply_exif_orientation) for x in input]
    return decode_image(input, mode, apply_exif_orientation)


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """The image at ``path`` as a uint8 (C, H, W) tensor."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _to_pil(input, op):
    if not isinstance(input, Tensor) or input.dim() != 3 or input.shape[0] not in (1, 3, 4):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"{op}: expected a (C, H, W) tensor with C in 1, 3, 4, got {shape}")
    if input.dtype != uint8:
        raise RuntimeError(f"{op}: input tensor dtype should be uint8, got {input.dtype}")
    array = input.numpy().transpose(1, 2, 0)
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else np.ascontiguousarray(array))


def encode_png(input, compression_level=6):
    """The PNG file bytes of a uint8 (C, H, W) tensor, as a 1-D uint8 tensor."""
    if not 0 <= compression_level <= 9:
        raise RuntimeError(
            f"encode_png: compression level must be in [0, 9], got {compression_level}"
        )
    buffer = io.BytesIO()
    _to_pil(input, "encode_png").save(buffer, format="PNG", compress_level=compression_level)
    return _tensor(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def encode_jpeg(input, quality=75):
    """The JPEG file bytes of a uint8 (C, H, W) tensor (C is 1 or 3), as a 1-D uint8 tensor."""
    if isinstance(input, list):
        return [encode_jpeg(x, quality) for x in input]
    if not 1 <= quality <= 100:
        raise ValueError(
            f"Image quality should be a positive number between 1 and 100, got {quality}"
        )
    if input.dim() == 3 and input.shape[0] == 4:
        raise RuntimeError("encode_jpeg: JPEG has no alpha channel; the input must have 1 or 3")
    buffer = io.BytesIO()
    _to_pil(input, "encode_jpeg").save(buffer, format="JPEG", quality=quality)
    return _tensor(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def write_png(input, filename, compression_level=6):
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input, filename, quality=75):
    write_file(filename, encode_jpeg(input, quality))
