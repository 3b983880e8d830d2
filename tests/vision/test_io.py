"""vision.io: images written and read back equal, in every mode, and match Pillow's decoding."""

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import io


def _image(channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (channels, 7, 9), dtype=np.uint8)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_round_trip(tmp_path, channels):
    array = _image(channels)
    path = tmp_path / "x.png"
    io.write_png(ember.tensor(array), str(path), compression_level=9)
    back = io.read_image(str(path))
    assert back.dtype == ember.uint8 and back.shape == (channels, 7, 9)
    np.testing.assert_array_equal(back.numpy(), array)
    # Pillow reads the same pixels from the file ember wrote
    pil = np.asarray(Image.open(path))
    np.testing.assert_array_equal(
        pil if pil.ndim == 3 else pil[:, :, None], array.transpose(1, 2, 0)
    )


def test_modes_convert_as_pillow_does(tmp_path):
    array = _image(4, seed=1)
    path = tmp_path / "x.png"
    Image.fromarray(array.transpose(1, 2, 0), "RGBA").save(path)
    for mode, pil_mode in (
        ("GRAY", "L"),
        ("RGB", "RGB"),
        ("GRAY_ALPHA", "LA"),
        ("RGB_ALPHA", "RGBA"),
    ):
        got = io.read_image(str(path), getattr(io.ImageReadMode, mode)).numpy()
        expected = np.asarray(Image.open(path).convert(pil_mode))
        expected = expected if expected.ndim == 3 else expected[:, :, None]
        np.testing.assert_array_equal(got, expected.transpose(2, 0, 1))


def test_jpeg_round_trip_is_close(tmp_path):
    x = np.linspace(0, 255, 32 * 32 * 3).reshape(3, 32, 32).astype(np.uint8)
    data = io.encode_jpeg(ember.tensor(x), quality=95)
    assert data.dtype == ember.uint8 and data.dim() == 1
    back = io.decode_jpeg(data).numpy().astype(int)
    assert np.abs(back - x.astype(int)).mean() < 3
    io.write_jpeg(ember.tensor(x), str(tmp_path / "x.jpg"))
    assert io.read_image(str(tmp_path / "x.jpg")).shape == (3, 32, 32)


def test_bytes_round_trip_and_errors(tmp_path):
    data = ember.tensor(np.frombuffer(b"not an image", dtype=np.uint8).copy())
    io.write_file(str(tmp_path / "b.bin"), data)
    assert io.read_file(str(tmp_path / "b.bin")).tolist() == data.tolist()
    with pytest.raises(RuntimeError, match="decode_image"):
        io.decode_image(data)
    with pytest.raises(RuntimeError, match="uint8"):
        io.encode_png(ember.zeros(3, 4, 4))
    with pytest.raises(RuntimeError, match=r"\(C, H, W\)"):
        io.encode_png(ember.zeros(4, 4, dtype=ember.uint8))
    with pytest.raises(ValueError, match="quality"):
        io.encode_jpeg(ember.zeros(3, 4, 4, dtype=ember.uint8), quality=0)
